"""The job monitor: poll a provider, store new events, feed the tracker, settle the budget.

``monitor_due`` is the periodic Celery task's body; it refreshes only jobs whose
``next_poll_at`` has come. A failed poll doubles that job's interval (up to
``monitor_max_interval_s``); an auth failure is logged without the key and polled again only
at the backed-off pace, since retrying a bad key sooner cannot help.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from paid_ft_service import crud
from paid_ft_service.errors import AuthFailed, ProviderError
from paid_ft_service.jobs import apply_remote, job_view
from paid_ft_service.orm import JobRow
from paid_ft_service.retry import backoff_delay

if TYPE_CHECKING:
    from paid_ft_service.service import PaidFT

log = logging.getLogger(__name__)
# Provider metrics → tracker metrics (split "train"); others are kept in the job's events only.
TRACKER_METRICS = {"train_loss": "loss", "train_reward_mean": "outcome_reward"}


def refresh_job(ctx: PaidFT, job_id: str) -> dict[str, Any]:
    """Poll the provider once; store events; settle on a terminal state. Idempotent."""
    with ctx.db.session() as session, session.begin():
        job = crud.get_job(session, job_id)
        if job.status in ("succeeded", "failed", "cancelled") or not job.provider_job_id:
            return job_view(job)
        try:
            provider = ctx.provider(job.provider, job.config.get("base_url"))
            remote = provider.get_job(job.provider_job_id)
            events = provider.list_events(job.provider_job_id, after=job.last_event_id)
        except ProviderError as exc:
            job.poll_failures += 1
            delay = backoff_delay(
                job.poll_failures,
                ctx.settings.monitor_interval_s,
                ctx.settings.monitor_max_interval_s,
            )
            job.next_poll_at = ctx.now() + timedelta(seconds=delay)
            job.error = str(exc)
            if isinstance(exc, AuthFailed):
                log.error("paid-ft job %s: %s (not retried until the key is fixed)", job.id, exc)
            return job_view(job)
        crud.add_events(session, job, events)
        _record_metrics(ctx, job, events)
        job.poll_failures = 0
        job.error = (
            None  # a successful poll clears a stale polling error; apply_remote sets real ones
        )
        apply_remote(session, job, remote, ctx.now())
        job.next_poll_at = ctx.now() + timedelta(seconds=ctx.settings.monitor_interval_s)
        return job_view(job)


def tracker_model_id(job: JobRow) -> str:
    return f"paid-ft:{job.id}"


def _register_candidate(ctx: PaidFT, job: JobRow) -> None:
    """The job's model as a tracker candidate (same id + same content: a no-op on repeat)."""
    ctx.tracker.register_model(
        model_type=job.model_type,
        model_id=tracker_model_id(job),
        training_stage=f"paid_ft_{job.method}"[:50],
        run_id=job.id,
        dataset_hash=job.dataset_sha256,
        config={"provider": job.provider, "base_model": job.model, "method": job.method},
    )


def _record_metrics(ctx: PaidFT, job: JobRow, events) -> None:
    if ctx.tracker is None or not job.model_type:
        return
    if any(e.type == "metrics" for e in events):
        _register_candidate(ctx, job)
    for e in events:
        if e.type != "metrics":
            continue
        points = [
            {
                "model_id": tracker_model_id(job),
                "metric": TRACKER_METRICS[k],
                "value": float(v),
                "step": int(e.data.get("step", 0)),
                "split": "train",
                "run_id": job.id,
            }
            for k, v in e.data.items()
            if k in TRACKER_METRICS and isinstance(v, int | float)
        ]
        if points:
            ctx.tracker.record_metrics(points, batch_id=f"paid_ft:{job.id}:{e.id}")


def monitor_due(ctx: PaidFT) -> list[dict[str, Any]]:
    """Refresh every live job whose poll time has come (the periodic task's body)."""
    with ctx.db.session() as session:
        due = [j.id for j in crud.due_jobs(session, ctx.now())]
    return [refresh_job(ctx, job_id) for job_id in due]
