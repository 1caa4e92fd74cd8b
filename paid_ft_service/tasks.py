"""Celery adapter: queue ``paid_ft``; a periodic monitor plus refresh/cancel/submit tasks.

Tasks carry ids and small parameter dicts (a dataset *path*, never rows; never a key) and call
the functions in ``service``. The monitor runs every ``monitor_tick_s`` (beat) and refreshes
only jobs whose ``next_poll_at`` has come; each job's poll interval backs off exponentially on
provider failures (``refresh_job``), so a flaky provider is polled less, not hammered.
Worker: ``celery -A paid_ft_service.tasks worker -Q paid_ft -B``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

from paid_ft_service import service
from paid_ft_service.settings import PaidFTSettings, get_settings

MONITOR, REFRESH, CANCEL, SUBMIT = (
    "paid_ft.monitor",
    "paid_ft.refresh",
    "paid_ft.cancel",
    ("paid_ft.submit"),
)


def make_app(settings: PaidFTSettings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("paid_ft_service", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.queue,
        task_routes={
            name: {"queue": settings.queue} for name in (MONITOR, REFRESH, CANCEL, SUBMIT)
        },
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        beat_schedule={
            "paid-ft-monitor": {"task": MONITOR, "schedule": settings.monitor_tick_s},
        },
    )
    return app


app = make_app()


@lru_cache(maxsize=1)
def context() -> service.PaidFT:
    """The worker's service context (one per process)."""
    return service.PaidFT()


@app.task(name=MONITOR, acks_late=True)
def monitor() -> list[dict[str, Any]]:
    return [
        {"id": j["id"], "status": j["status"], "next_poll_at": j["next_poll_at"]}
        for j in service.monitor_due(context())
    ]


@app.task(name=REFRESH, acks_late=True)
def refresh(job_id: str) -> dict[str, Any]:
    return service.refresh_job(context(), job_id)


@app.task(name=CANCEL, acks_late=True)
def cancel(job_id: str, tenant: str | None = None) -> dict[str, Any]:
    return service.cancel_job(context(), job_id, tenant)


@app.task(name=SUBMIT, bind=True, acks_late=True)
def submit(self, params: dict[str, Any]) -> dict[str, Any]:
    """``params``: provider, model, method, dataset (path), model_type, unit, tenant,
    idempotency_key, epochs. The idempotency key makes a redelivered message a no-op."""
    from paid_ft_service.datasets import read_source

    examples = read_source(
        params["dataset"], params.get("unit", "episode"), with_rejected=params["method"] == "dpo"
    )
    request = service.SubmitRequest(
        params["provider"],
        params["model"],
        params["method"],
        examples,
        model_type=params.get("model_type", ""),
        epochs=int(params.get("epochs", 3)),
    )
    return service.submit_job(
        context(),
        request,
        tenant=params.get("tenant", "default"),
        idempotency_key=params.get("idempotency_key") or f"task:{self.request.id}",
    )
