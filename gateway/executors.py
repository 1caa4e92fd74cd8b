"""The two executors of pipeline jobs, and the step worker both of them use.

``StepWorker.work(job_id, step, owner)`` is one step under the ledger: it checks the job's
cancel flag, claims the step (a duplicate delivery sees ``done`` or ``busy`` and does nothing),
renews the lease while the step runs, records the result, and ends the job when the step was
the last one or failed. Errors end the job ``failed`` with a message naming the step and the
exception (credentials in URLs masked); nothing is lost silently.

- ``LocalExecutor``: a bounded pool of threads in the gateway process; a job's steps run in
  order on one thread, with the cancel flag checked before each step.
- ``CeleryExecutor``: a chain of immutable ``gateway.run_step(job_id, step)`` signatures routed
  to the queues collab/srl/rlvr/eval (``gateway.celery_app``); the arguments are ids only, the
  parameters are read from the job row by the worker. Its ``StepReaper`` thread puts back the
  steps of workers that died (SIGKILL, a lost node): a stale lease is re-queued in the ledger
  and the rest of the job's chain sent again, since Redis would redeliver the dead worker's
  message only after the visibility timeout (hours, above the task time limit).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import select

from gateway.db import GatewayDatabase
from gateway.jobs import ACTIVE, TERMINAL, JobStore, public_error, run_step
from gateway.ledger import JobStepLedger
from gateway.orm import JobRow, JobStepRow
from gateway.settings import GatewaySettings
from srlforge.artifacts import ArtifactStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOutcome:
    status: Literal["succeeded", "failed", "cancelled", "busy"]
    error: str | None = None


class _Heartbeat:
    """Renews the step's lease every third of it while the step runs."""

    def __init__(self, ledger: JobStepLedger, job_id: str, step: str, owner: str, lease_s: float):
        self._args = (job_id, step, owner, lease_s)
        self._ledger = ledger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"hb-{job_id}")

    def _beat(self) -> None:
        while not self._stop.wait(self._args[3] / 3):
            try:
                self._ledger.heartbeat(*self._args)
            except Exception as exc:  # a database hiccup must not kill the step
                log.warning("heartbeat of %s/%s failed: %s", *self._args[:2], type(exc).__name__)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class StepWorker:
    def __init__(self, db: GatewayDatabase, settings: GatewaySettings) -> None:
        self.jobs = JobStore(db)
        self.ledger = JobStepLedger(db)
        self.db = db
        self.settings = settings
        self.artifacts = (
            ArtifactStore(settings.artifacts_url, endpoint_url=settings.artifacts_endpoint_url)
            if settings.artifacts_url
            else None
        )

    def work(self, job_id: str, step: str, owner: str) -> StepOutcome:
        job = self.jobs.get(job_id)
        if job is None:
            return StepOutcome("failed", f"no job {job_id}")
        if job.status in TERMINAL:
            return StepOutcome("failed" if job.status == "failed" else "cancelled", job.error)
        if job.cancel_requested:
            return self._cancelled(job)
        claim = self.ledger.claim(job_id, step, owner, self.settings.job_lease_s)
        if claim.status == "done":
            return StepOutcome("succeeded")  # a duplicate delivery: the work is already done
        if claim.status == "busy":
            return StepOutcome("busy")
        if claim.status == "cancelled":
            return self._cancelled(job)
        if claim.status != "claimed":
            error = claim.error or f"step {step} cannot run ({claim.status})"
            self.jobs.finish(job_id, "failed", error=error)
            return StepOutcome("failed", error)
        self.jobs.mark_running(job_id)
        runs_dir = self.settings.resolved_runs_dir()
        with _Heartbeat(self.ledger, job_id, step, owner, self.settings.job_lease_s):
            try:
                # Without a store the call keeps its four arguments (tests wrap run_step so).
                extra = {"artifacts": self.artifacts} if self.artifacts else {}
                result = run_step(job_id, step, self._params(job), runs_dir, **extra)
            except Exception as exc:
                error = public_error(step, exc)
                log.warning("job %s step %s failed (%s)", job_id, step, type(exc).__name__)
                self.ledger.fail(job_id, step, owner, error, retry=False)
                self.jobs.finish(job_id, "failed", error=error)
                return StepOutcome("failed", error)
        report = result.pop("report", None)
        if not self.ledger.complete(job_id, step, owner, result):
            return StepOutcome("busy")  # lost the lease: the attempt that replaced us decides
        if step == job.plan[-1]:
            self.jobs.finish(job_id, "succeeded", report=report or self._report(job))
        return StepOutcome("succeeded")

    def _params(self, job: JobRow) -> dict[str, object]:
        """The job's parameters plus this deployment's: with the gateway's tracker off the
        evaluate step does not register; otherwise it registers where the trainer's settings
        say (``SRLFORGE_TRAINER_TRACKER_DB_URL``), never through a URL in the job."""
        return {**job.params, "register_model": self.settings.tracker != "off"}

    def _cancelled(self, job: JobRow) -> StepOutcome:
        self.ledger.request_cancel(job.tenant_id, job.id)
        self.jobs.finish(job.id, "cancelled", error="cancelled on request")
        return StepOutcome("cancelled")

    def _report(self, job: JobRow) -> dict[str, Any]:
        """The report of a job without an evaluate step: what each step produced."""
        with self.db.session() as session:
            rows = session.scalars(
                select(JobStepRow).where(JobStepRow.job_id == job.id).order_by(JobStepRow.position)
            ).all()
            results = {r.step: r.result for r in rows}
        run_dir = self.settings.resolved_runs_dir() / job.id
        return {"run_id": job.id, "run_dir": str(run_dir), "steps": results}


class Executor(Protocol):
    name: str

    def submit(self, job: JobRow) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Jobs on a bounded pool of threads in this process (the embedded default)."""

    name = "local"

    def __init__(self, db: GatewayDatabase, settings: GatewaySettings) -> None:
        self.worker = StepWorker(db, settings)
        self._pool = ThreadPoolExecutor(
            max_workers=settings.local_workers, thread_name_prefix="srlforge-job"
        )
        self._closing = threading.Event()
        self._resubmit_queued(db)

    def _resubmit_queued(self, db: GatewayDatabase) -> None:
        """Jobs a previous process accepted, or stopped between steps, run now."""
        with db.session() as session:
            queued = session.scalars(
                select(JobRow).where(JobRow.status == "queued", JobRow.executor == self.name)
            ).all()
        for job in queued:
            self.submit(job)

    def submit(self, job: JobRow) -> None:
        self._pool.submit(self._run, job.id, list(job.plan))

    def _run(self, job_id: str, plan: list[str]) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{job_id}"
        try:
            for step in plan:
                if self._closing.is_set():
                    # Shutting down between steps: the next start resumes from this step
                    # (finished steps are found done in the ledger and not run again).
                    self.worker.jobs.requeue(job_id)
                    return
                if self.worker.work(job_id, step, owner).status != "succeeded":
                    return
        except Exception as exc:  # the database itself failed: still end the job
            log.exception("local executor: job %s broke down", job_id)
            try:
                self.worker.jobs.finish(job_id, "failed", error=public_error("executor", exc))
            except Exception:
                log.exception("local executor: could not record the failure of %s", job_id)

    def close(self) -> None:
        """Stop taking work: queued jobs stay queued, a running job stops after its current
        step (requeued); both are resubmitted by the next start on the same database."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


class StepReaper:
    """Finds steps whose worker died and gets their jobs going again.

    ``reap_once`` re-queues every running step whose lease expired (``ledger.reap``: one
    reaper wins each step, however many gateway replicas run one) and sends the job's chain
    again from that step; the ledger's claim lets exactly one delivery redo it, as attempt
    n + 1. A job whose step the ledger gave up on (out of attempts, or cancelled while its
    worker was dead) is ended here, since no worker is left to end it.
    """

    def __init__(
        self, db: GatewayDatabase, resend: Callable[[JobRow, list[str]], None], interval_s: float
    ) -> None:
        self.db = db
        self.jobs = JobStore(db)
        self.ledger = JobStepLedger(db)
        self.resend = resend
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="srlforge-reaper")

    def start(self) -> StepReaper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.reap_once()
            except Exception as exc:  # a database or broker hiccup: try again next round
                log.warning("step reaper: %s", type(exc).__name__)

    def reap_once(self) -> list[tuple[str, str]]:
        requeued = self.ledger.reap()
        for job_id, step in requeued:
            job = self.jobs.get(job_id)
            if job is None or job.status in TERMINAL or step not in job.plan:
                continue
            log.warning("step reaper: %s/%s lost its worker; sending it again", job_id, step)
            self.resend(job, list(job.plan[job.plan.index(step) :]))
        self._end_abandoned_jobs()
        return requeued

    def _end_abandoned_jobs(self) -> None:
        """Active jobs with a failed or cancelled step and none running end the same way."""
        with self.db.session() as session:
            rows = session.execute(
                select(JobRow.id, JobStepRow.status, JobStepRow.error, JobStepRow.step)
                .join(JobStepRow, JobStepRow.job_id == JobRow.id)
                .where(JobRow.status.in_(ACTIVE), JobStepRow.status.in_(("failed", "cancelled")))
                .order_by(JobStepRow.position)
            ).all()
            if not rows:
                return
            running = set(
                session.scalars(
                    select(JobStepRow.job_id).where(
                        JobStepRow.job_id.in_({r.id for r in rows}), JobStepRow.status == "running"
                    )
                )
            )
        ended: set[str] = set()
        for job_id, status, error, step in rows:
            if job_id in running or job_id in ended:
                continue
            ended.add(job_id)
            if status == "failed":
                self.jobs.finish(job_id, "failed", error=f"step {step} failed: {error}")
            else:
                self.jobs.finish(job_id, "cancelled", error="cancelled on request")


class CeleryExecutor:
    """Jobs as Celery chains on the broker; ``celery -A gateway.celery_app worker`` runs them.

    With the gateway's database it also runs the ``StepReaper``, every third of the step lease
    (at most a minute).
    """

    name = "celery"

    def __init__(self, settings: GatewaySettings, db: GatewayDatabase | None = None) -> None:
        from gateway.celery_app import make_celery

        self.settings = settings
        self.app = make_celery(settings)
        self.reaper = (
            StepReaper(db, self.send, min(60.0, max(0.5, settings.job_lease_s / 3))).start()
            if db is not None
            else None
        )

    def submit(self, job: JobRow) -> None:
        self.send(job, list(job.plan))

    def send(self, job: JobRow, steps: list[str]) -> None:
        """The chain of ``steps`` (the job's plan, or what is left of it) on the broker."""
        from gateway.celery_app import job_chain

        job_chain(self.app, job.id, steps, self.settings.celery_queue_prefix).apply_async()

    def close(self) -> None:
        if self.reaper is not None:
            self.reaper.stop()
        self.app.close()


def make_executor(db: GatewayDatabase, settings: GatewaySettings) -> Executor:
    if settings.executor == "celery":
        return CeleryExecutor(settings, db)
    return LocalExecutor(db, settings)
