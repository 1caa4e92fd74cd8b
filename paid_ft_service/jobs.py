"""A job row's public view, and how a provider's view of a job is applied to the row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from paid_ft_service import crud
from paid_ft_service.orm import JobRow
from paid_ft_service.providers import ProviderJob


def apply_remote(session: Session, job: JobRow, remote: ProviderJob, now: datetime) -> None:
    """Copy a provider's view of the job into the row; settle the budget on a terminal state."""
    job.status = remote.status
    job.provider_status = remote.raw_status
    if remote.trained_tokens is not None:
        job.trained_tokens = remote.trained_tokens
    if remote.result:
        job.result = {**(job.result or {}), **remote.result}
    if not remote.terminal:
        return
    job.finished_at = remote.finished_at or now
    if remote.status == "succeeded":
        job.tuned_model = remote.tuned_model
        actual = None
        if job.trained_tokens and job.training_tokens and job.estimate_usd:
            # Scale the estimate by what the provider reports it actually trained.
            epochs = job.config.get("epochs", 1) or 1
            actual = job.estimate_usd * job.trained_tokens / (job.training_tokens * epochs)
        job.cost_usd = actual if actual is not None else job.estimate_usd
        crud.commit_hold(session, job.id, job.cost_usd)
    else:
        job.error = remote.error or f"job {remote.status}"
        crud.release_hold(session, job.id)


def job_view(job: JobRow) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": job.id,
        "tenant": job.tenant,
        "provider": job.provider,
        "model": job.model,
        "method": job.method,
        "model_type": job.model_type,
        "status": job.status,
        "provider_status": job.provider_status,
        "provider_job_id": job.provider_job_id,
        "tuned_model": job.tuned_model,
        "label": "prompt_optimization" if job.method == "prompt_optimization" else "fine_tuning",
        "error": job.error,
        "estimate_usd": job.estimate_usd,
        "cost_usd": job.cost_usd,
        "price_confirmed": job.price_confirmed,
        "trained_tokens": job.trained_tokens,
        "dataset_sha256": job.dataset_sha256,
        "result": job.result or {},
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
        "next_poll_at": iso(job.next_poll_at),
    }
