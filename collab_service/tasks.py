"""Celery adapter: task ``collab.generate`` on queue ``collab``.

The task takes a request id (and, on first submission, the request's small parameter dict — no
secrets, no blobs), runs it through the ledger so that a redelivered or duplicated message does
the work at most once, and returns the dataset location and counts. Worker:
``celery -A collab_service.tasks worker -Q collab -c 1``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Celery

from collab_service.service import run_request
from collab_service.settings import CollabSettings, get_settings
from srlforge.telemetry import trace_celery_workers

TASK_NAME = "collab.generate"


def make_app(settings: CollabSettings | None = None) -> Celery:
    settings = settings or get_settings()
    hard_limit = settings.task_soft_time_limit_s + 300
    # Redis re-queues any unacked message older than the visibility timeout, even one still
    # running; keep it above the hard time limit (and the ledger catches the rest).
    visibility = {"visibility_timeout": hard_limit + 600}
    app = Celery("collab_service", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        result_extended=True,
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=hard_limit,
        broker_transport_options=visibility,
        result_backend_transport_options=visibility,
        task_default_queue=settings.queue,
        task_routes={TASK_NAME: {"queue": settings.queue}},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
    )
    trace_celery_workers("srlforge-collab-worker")
    return app


app = make_app()


@app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)
def generate(self, request_id: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    owner = f"{socket.gethostname()}:{os.getpid()}:{self.request.id}"
    return run_request(request_id, params, owner=owner)


def submit(request_id: str, params: dict[str, Any], celery_app: Celery | None = None):
    """Enqueue a request; the task id is the request id, so a resubmission is recognisable."""
    return (celery_app or app).send_task(
        TASK_NAME, args=[request_id, params], task_id=request_id, queue=get_settings().queue
    )
