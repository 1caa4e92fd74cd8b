"""The job-step ledger: a step of a pipeline job runs at most once at a time, and is redone
(up to ``max_attempts``) when its worker dies.

Celery with ``acks_late`` redelivers a step whose worker died, and Redis re-queues any delivery
older than the visibility timeout even while it still runs (operations.md: four copies of one
20 s task). So the broker does not decide who works; this table does:

- ``claim`` is one conditional UPDATE (queued, or running with an expired lease, attempts left,
  no cancel requested): of any number of concurrent deliveries exactly one wins;
- the winner renews its lease with ``heartbeat``, which also tells it when a cancel was asked
  for (cooperative cancel between steps or epochs);
- ``complete`` and ``fail`` only succeed for the current lease owner, so a worker that lost its
  lease (it stalled, and another took the step over) cannot overwrite the newer attempt;
- ``reap`` finds running steps whose heartbeat went stale and puts them back in the queue, or
  fails them when they are out of attempts: a pod killed with SIGKILL raises nothing, so the
  attempt count lives here, not in the broker.

Times are the application's clock (UTC); workers and the reaper need synchronised clocks, and
leases should be long (minutes) compared with any skew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.db import GatewayDatabase
from gateway.orm import JobStepRow, utcnow

StepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ClaimStatus = Literal["claimed", "busy", "done", "failed", "cancelled", "unknown"]


@dataclass(frozen=True)
class Claim:
    status: ClaimStatus
    attempt: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Heartbeat:
    owned: bool  # False: the lease was lost; stop without writing anything
    cancel_requested: bool = False


@dataclass(frozen=True)
class StepState:
    job_id: str
    step: str
    status: StepStatus
    attempt: int
    max_attempts: int
    lease_owner: str | None
    lease_until: datetime | None
    cancel_requested: bool
    error: str | None


class JobStepLedger:
    def __init__(self, db: GatewayDatabase) -> None:
        self.db = db

    def enqueue(
        self, tenant_id: int, job_id: str, steps: Sequence[str], *, max_attempts: int = 3
    ) -> bool:
        """Record a job's steps as queued. Idempotent: False when the job is already there."""
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        if len(set(steps)) != len(steps) or not steps:
            raise ValueError(f"steps must be distinct and non-empty, got {list(steps)}")
        now = utcnow()
        try:
            with self.db.session() as session:
                if session.get(JobStepRow, (job_id, steps[0])) is not None:
                    return False
                session.add_all(
                    JobStepRow(
                        job_id=job_id,
                        step=step,
                        tenant_id=tenant_id,
                        position=i,
                        status="queued",
                        attempt=0,
                        max_attempts=max_attempts,
                        cancel_requested=False,
                        created_at=now,
                        updated_at=now,
                    )
                    for i, step in enumerate(steps)
                )
        except IntegrityError:
            return False  # the same job enqueued concurrently: that one stands
        return True

    def claim(self, job_id: str, step: str, owner: str, lease_s: float) -> Claim:
        """Take the step for ``lease_s`` seconds, or say why not (busy, done, failed ...)."""
        now = utcnow()
        with self.db.session() as session:
            won = session.execute(
                update(JobStepRow)
                .where(
                    JobStepRow.job_id == job_id,
                    JobStepRow.step == step,
                    JobStepRow.cancel_requested.is_(False),
                    JobStepRow.attempt < JobStepRow.max_attempts,
                    or_(
                        JobStepRow.status == "queued",
                        and_(JobStepRow.status == "running", JobStepRow.lease_until < now),
                    ),
                )
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s),
                    heartbeat_at=now,
                    attempt=JobStepRow.attempt + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
        row = self._row(job_id, step)
        if row is None:
            return Claim("unknown")
        if won == 1:
            return Claim("claimed", row.attempt)
        if row.status == "succeeded":
            return Claim("done", row.attempt, result=row.result)
        if row.status in ("failed", "cancelled"):
            return Claim(row.status, row.attempt, error=row.error)
        if row.cancel_requested:
            return Claim("cancelled", row.attempt)
        if row.attempt >= row.max_attempts and _expired(row.lease_until, now):
            # Its last worker died: nobody may take it, the reaper will mark it failed.
            return Claim("failed", row.attempt, error="out of attempts")
        return Claim("busy", row.attempt)

    def heartbeat(self, job_id: str, step: str, owner: str, lease_s: float) -> Heartbeat:
        now = utcnow()
        owned = self._owned_update(
            job_id, step, owner, lease_until=now + timedelta(seconds=lease_s), heartbeat_at=now
        )
        if not owned:
            return Heartbeat(False)
        row = self._row(job_id, step)
        return Heartbeat(True, cancel_requested=bool(row and row.cancel_requested))

    def complete(self, job_id: str, step: str, owner: str, result: dict[str, Any]) -> bool:
        """Record the result; False (and nothing written) when ``owner`` lost the lease."""
        return self._owned_update(
            job_id, step, owner, status="succeeded", result=result, lease_until=None
        )

    def fail(self, job_id: str, step: str, owner: str, error: str, *, retry: bool) -> bool:
        """Give the step up: back to the queue when ``retry`` and attempts remain, else failed."""
        row = self._row(job_id, step)
        if row is None:
            return False
        again = retry and row.attempt < row.max_attempts and not row.cancel_requested
        return self._owned_update(
            job_id,
            step,
            owner,
            status="queued" if again else "failed",
            error=error[:2000],
            lease_owner=None,
            lease_until=None,
        )

    def cancelled(self, job_id: str, step: str, owner: str) -> bool:
        """The owner stopped at a cancel request; the step ends cancelled."""
        return self._owned_update(job_id, step, owner, status="cancelled", lease_until=None)

    def request_cancel(self, tenant_id: int, job_id: str) -> int | None:
        """Cancel a tenant's job: queued steps at once, running ones at their next heartbeat.

        Returns how many steps will not run to completion; None when the tenant has no such job
        (another tenant's job included: the caller answers 404).
        """
        now = utcnow()
        scope = (JobStepRow.tenant_id == tenant_id, JobStepRow.job_id == job_id)
        with self.db.session() as session:
            if session.scalar(select(JobStepRow.step).where(*scope).limit(1)) is None:
                return None
            queued = session.execute(
                update(JobStepRow)
                .where(*scope, JobStepRow.status == "queued")
                .values(status="cancelled", cancel_requested=True, updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            running = session.execute(
                update(JobStepRow)
                .where(*scope, JobStepRow.status == "running")
                .values(cancel_requested=True, updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            return queued + running

    def reap(self) -> list[tuple[str, str]]:
        """Re-queue running steps whose lease expired; fail those out of attempts and end
        those with a cancel request as cancelled.

        Returns the (job_id, step) pairs this call put back in the queue, for the caller to
        send again; of several reapers racing (gateway replicas), only one gets each pair.
        """
        now = utcnow()
        stale = and_(JobStepRow.status == "running", JobStepRow.lease_until < now)
        ended = {"lease_owner": None, "lease_until": None, "updated_at": now}
        with self.db.session() as session:
            session.execute(
                update(JobStepRow)
                .where(stale, JobStepRow.cancel_requested.is_(True))
                .values(status="cancelled", **ended)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(JobStepRow)
                .where(stale, JobStepRow.attempt >= JobStepRow.max_attempts)
                .values(status="failed", error="worker lost with no attempts left", **ended)
                .execution_options(synchronize_session=False)
            )
            candidates = session.execute(
                select(JobStepRow.job_id, JobStepRow.step).where(stale)
            ).all()
            requeued = []
            for job_id, step in candidates:
                # Conditional again: a worker may have renewed the lease since the select, or
                # another reaper re-queued the step first.
                won = session.execute(
                    update(JobStepRow)
                    .where(JobStepRow.job_id == job_id, JobStepRow.step == step, stale)
                    .values(status="queued", **ended)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if won == 1:
                    requeued.append((job_id, step))
        return requeued

    def steps(self, tenant_id: int, job_id: str) -> list[StepState]:
        """A tenant's job, step by step in order; [] for a job of another tenant."""
        with self.db.session() as session:
            rows = session.scalars(
                select(JobStepRow)
                .where(JobStepRow.tenant_id == tenant_id, JobStepRow.job_id == job_id)
                .order_by(JobStepRow.position)
            ).all()
            return [
                StepState(
                    job_id=r.job_id,
                    step=r.step,
                    status=r.status,  # type: ignore[arg-type]
                    attempt=r.attempt,
                    max_attempts=r.max_attempts,
                    lease_owner=r.lease_owner,
                    lease_until=r.lease_until,
                    cancel_requested=r.cancel_requested,
                    error=r.error,
                )
                for r in rows
            ]

    def _row(self, job_id: str, step: str) -> JobStepRow | None:
        with self.db.session() as session:
            return session.get(JobStepRow, (job_id, step))

    def _owned_update(self, job_id: str, step: str, owner: str, **values: Any) -> bool:
        """Update the step only while ``owner`` still holds it.

        An expired lease is still held until someone else claims the step or the reaper
        re-queues it; both change the row first, so a late writer finds it gone, never both.
        """
        now = utcnow()
        with self.db.session() as session:
            return (
                session.execute(
                    update(JobStepRow)
                    .where(
                        JobStepRow.job_id == job_id,
                        JobStepRow.step == step,
                        JobStepRow.status == "running",
                        JobStepRow.lease_owner == owner,
                    )
                    .values(updated_at=now, **values)
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )


def _expired(lease_until: datetime | None, now: datetime) -> bool:
    if lease_until is None:
        return True
    if lease_until.tzinfo is None:  # SQLite returns naive datetimes (stored as UTC)
        return lease_until < now.replace(tzinfo=None)
    return lease_until < now
