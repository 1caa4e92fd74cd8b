"""Reads and writes of jobs, events, budgets and holds (functions of a Session).

Budget holds: ``hold`` reserves a job's estimated cost against the tenant's limit and refuses
when it does not fit (counting every other live hold and every committed cost); ``commit``
turns a hold into spent money (the actual cost when known); ``release`` frees it (a failed or
cancelled job costs nothing here; a provider that bills partial work is reconciled by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paid_ft_service.errors import BudgetExceeded, JobNotFound
from paid_ft_service.orm import BudgetHoldRow, BudgetRow, JobEventRow, JobRow, utcnow
from paid_ft_service.providers.base import ProviderEvent

LIVE = ("submitting", "queued", "running", "paused")


def get_job(session: Session, job_id: str, tenant: str | None = None) -> JobRow:
    row = session.get(JobRow, job_id)
    if row is None or (tenant is not None and row.tenant != tenant):
        raise JobNotFound(f"no paid fine-tuning job '{job_id}'")
    return row


def find_by_idempotency_key(session: Session, tenant: str, key: str) -> JobRow | None:
    return session.scalar(
        select(JobRow).where(JobRow.tenant == tenant, JobRow.idempotency_key == key)
    )


def list_jobs(
    session: Session, tenant: str | None = None, statuses: Sequence[str] | None = None
) -> list[JobRow]:
    query = select(JobRow).order_by(JobRow.created_at.desc())
    if tenant is not None:
        query = query.where(JobRow.tenant == tenant)
    if statuses:
        query = query.where(JobRow.status.in_(list(statuses)))
    return list(session.scalars(query))


def due_jobs(session: Session, now: datetime) -> list[JobRow]:
    """Live jobs whose next poll time has come."""
    query = select(JobRow).where(
        JobRow.status.in_(LIVE[1:]),
        (JobRow.next_poll_at.is_(None)) | (JobRow.next_poll_at <= now),
    )
    return list(session.scalars(query))


def add_events(session: Session, job: JobRow, events: Sequence[ProviderEvent]) -> int:
    """Store events not seen before (keyed by the provider's event id); returns how many."""
    seen = set(
        session.scalars(select(JobEventRow.provider_event_id).where(JobEventRow.job_id == job.id))
    )
    added = 0
    for e in events:
        if e.id in seen:
            continue
        session.add(
            JobEventRow(
                job_id=job.id,
                provider_event_id=e.id,
                created_at=e.created_at,
                level=e.level,
                type=e.type,
                message=e.message,
                data=e.data,
            )
        )
        seen.add(e.id)
        job.last_event_id = e.id
        added += 1
    return added


def job_events(session: Session, job_id: str) -> list[JobEventRow]:
    return list(
        session.scalars(
            select(JobEventRow).where(JobEventRow.job_id == job_id).order_by(JobEventRow.id)
        )
    )


# ----- budgets -----------------------------------------------------------------------------


def set_budget(session: Session, tenant: str, limit_usd: float) -> None:
    if limit_usd < 0:
        raise ValueError(f"a budget must be >= 0 USD, got {limit_usd}")
    row = session.get(BudgetRow, tenant)
    if row is None:
        session.add(BudgetRow(tenant=tenant, limit_usd=limit_usd))
    else:
        row.limit_usd = limit_usd


def budget_status(session: Session, tenant: str, default_limit: float = 0.0) -> dict[str, Any]:
    row = session.get(BudgetRow, tenant)
    limit = row.limit_usd if row else default_limit

    def total(state: str) -> float:
        return float(
            session.scalar(
                select(func.coalesce(func.sum(BudgetHoldRow.amount_usd), 0.0)).where(
                    BudgetHoldRow.tenant == tenant, BudgetHoldRow.state == state
                )
            )
        )

    held, spent = total("held"), total("committed")
    return {
        "tenant": tenant,
        "limit_usd": limit,
        "held_usd": held,
        "spent_usd": spent,
        "available_usd": limit - held - spent,
    }


def hold(
    session: Session, tenant: str, job_id: str, amount_usd: float, default_limit: float = 0.0
) -> BudgetHoldRow:
    """Reserve ``amount_usd`` for ``job_id``; ``BudgetExceeded`` if it does not fit."""
    status = budget_status(session, tenant, default_limit)
    if amount_usd > status["available_usd"] + 1e-9:
        raise BudgetExceeded(
            f"tenant '{tenant}': job needs an estimated ${amount_usd:.4f} but only "
            f"${max(0.0, status['available_usd']):.4f} of ${status['limit_usd']:.2f} is left "
            f"(${status['held_usd']:.4f} held, ${status['spent_usd']:.4f} spent)"
        )
    row = BudgetHoldRow(tenant=tenant, job_id=job_id, amount_usd=amount_usd)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise ValueError(f"job {job_id} already has a budget hold") from None
    return row


def _hold_of(session: Session, job_id: str) -> BudgetHoldRow | None:
    return session.scalar(select(BudgetHoldRow).where(BudgetHoldRow.job_id == job_id))


def commit_hold(session: Session, job_id: str, actual_usd: float | None = None) -> None:
    row = _hold_of(session, job_id)
    if row is None or row.state != "held":
        return  # idempotent: a second monitor pass over a finished job changes nothing
    if actual_usd is not None:
        row.amount_usd = actual_usd
    row.state = "committed"
    row.updated_at = utcnow()


def release_hold(session: Session, job_id: str) -> None:
    row = _hold_of(session, job_id)
    if row is None or row.state != "held":
        return
    row.state = "released"
    row.updated_at = utcnow()


def hold_state(session: Session, job_id: str) -> str | None:
    row = _hold_of(session, job_id)
    return row.state if row else None
