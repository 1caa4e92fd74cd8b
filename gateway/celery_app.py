"""Celery side of the gateway's ``celery`` executor.

A job is ``chain(run_step.si(job, "generate") | run_step.si(job, "srl") | … ).on_error(
mark_failed)``; each signature is routed to its queue (``collab``, ``srl``, ``rlvr``, ``eval``,
with ``SRLFORGE_GATEWAY_CELERY_QUEUE_PREFIX`` in front) and has the deterministic task id
``"<job_id>:<step>"``. Arguments are the job id and the step name only: the worker reads the
job's parameters from the gateway database, so no secret or blob travels through the broker.
The ledger decides who works on a step (a redelivered or duplicated task finds it done or busy).

Workers (settings from the same ``SRLFORGE_GATEWAY_*`` environment as the gateway)::

    celery -A gateway.celery_app worker -Q collab -c 1
    celery -A gateway.celery_app worker -Q srl,rlvr,eval -c 1

Settings follow operations.md: acks late, reject on worker lost, prefetch 1, visibility timeout
above the hard time limit.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Celery, chain
from celery.exceptions import Ignore

from gateway.jobs import QUEUES
from gateway.settings import ENV_PREFIX, GatewaySettings, SettingsError, get_settings
from srlforge.telemetry import trace_celery_workers

SOFT_TIME_LIMIT_S = 6 * 3600
HARD_TIME_LIMIT_S = SOFT_TIME_LIMIT_S + 300


class StepFailed(RuntimeError):
    """A step ended the job as failed (the message is the job's error)."""


def make_celery(settings: GatewaySettings | None = None) -> Celery:
    settings = settings or get_settings()
    hard_limit = HARD_TIME_LIMIT_S
    if settings.broker_visibility_timeout_s <= hard_limit:
        # Redis would hand a step that is still running to a second worker.
        raise SettingsError(
            f"{ENV_PREFIX}BROKER_VISIBILITY_TIMEOUT_S={settings.broker_visibility_timeout_s} "
            f"must be above a step's hard time limit ({hard_limit} s); e.g. {hard_limit + 600}"
        )
    visibility = {"visibility_timeout": settings.broker_visibility_timeout_s}
    app = Celery("srlforge_gateway", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_ignore_result=True,
        task_soft_time_limit=SOFT_TIME_LIMIT_S,
        task_time_limit=hard_limit,
        broker_transport_options=visibility,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=f"{settings.celery_queue_prefix}collab",
        broker_connection_retry_on_startup=True,
    )
    _register(app, settings)
    trace_celery_workers("srlforge-gateway-worker")
    return app


def _register(app: Celery, settings: GatewaySettings) -> None:
    cache: dict[str, Any] = {}

    def worker():
        if "worker" not in cache:
            from gateway.db import GatewayDatabase
            from gateway.executors import StepWorker

            cache["worker"] = StepWorker(GatewayDatabase(settings.resolved_db_url()), settings)
        return cache["worker"]

    @app.task(name="gateway.run_step", bind=True, max_retries=None, shared=False)
    def run_step(self, job_id: str, step: str) -> dict[str, str]:
        owner = f"{socket.gethostname()}:{os.getpid()}:{self.request.id}"
        outcome = worker().work(job_id, step, owner)
        if outcome.status == "busy":
            # Another delivery holds the lease; look again once it may have expired.
            raise self.retry(countdown=max(1.0, settings.job_lease_s / 3))
        if outcome.status == "cancelled":
            raise Ignore()  # the chain stops here; the job is already marked cancelled
        if outcome.status == "failed":
            raise StepFailed(outcome.error or f"step {step} failed")
        return {"job_id": job_id, "step": step, "status": outcome.status}

    @app.task(name="gateway.mark_failed", shared=False)
    def mark_failed(*args: Any, job_id: str) -> None:
        """Errback of a job's chain: the job ends failed unless a step already ended it."""
        worker().jobs.finish(job_id, "failed", error="a step of this job failed on a worker")


def job_chain(app: Celery, job_id: str, plan: list[str], queue_prefix: str = ""):
    """The job's steps as a chain of immutable signatures, each routed to its queue."""
    steps = [
        app.signature(
            "gateway.run_step",
            args=(job_id, step),
            immutable=True,
            options={"queue": f"{queue_prefix}{QUEUES[step]}", "task_id": f"{job_id}:{step}"},
        )
        for step in plan
    ]
    return chain(*steps).on_error(app.signature("gateway.mark_failed", kwargs={"job_id": job_id}))


def __getattr__(name: str) -> Celery:
    # ``celery -A gateway.celery_app`` looks up ``app``; build it only when asked for, so that
    # importing this module (the gateway's celery executor, tests) reads no environment.
    if name in ("app", "celery"):
        app = make_celery()
        globals()["app"] = globals()["celery"] = app
        return app
    raise AttributeError(name)
