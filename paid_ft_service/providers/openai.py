"""OpenAI fine-tuning: files + fine-tuning jobs; supervised, dpo and reinforcement.

Driven through the official ``openai`` SDK with its own retries off (``max_retries=0``): the
service's retry policy decides, so 429/5xx handling is the same for every provider. For
reinforcement the grader is built from our arena (``paid_ft_service.graders``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from paid_ft_service.errors import (
    AuthFailed,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
)
from paid_ft_service.providers.base import JobSpec, Provider, ProviderEvent, ProviderJob

STATUS = {
    "validating_files": "queued",
    "queued": "queued",
    "running": "running",
    "pausing": "running",
    "paused": "paused",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


class OpenAIProvider(Provider):
    name = "openai"

    def __init__(self, api_key: str, base_url: str | None = None, *, timeout: float = 60.0, **kw):
        super().__init__(secrets=[api_key, *kw.pop("secrets", [])], **kw)
        from openai import OpenAI

        self.client = OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    def upload_dataset(self, data: bytes, filename: str) -> str:
        created = self._call(
            lambda: self.client.files.create(
                file=(filename, data, "application/jsonl"), purpose="fine-tune"
            ),
            "upload",
        )
        return created.id

    def create_job(self, spec: JobSpec) -> ProviderJob:
        method: dict[str, Any] = {"type": spec.method}
        body: dict[str, Any] = {"hyperparameters": dict(spec.hyperparameters)}
        if spec.method == "reinforcement":
            if spec.grader is None:
                raise ValueError("a reinforcement job needs a grader (graders.openai_rft_grader)")
            body["grader"] = spec.grader
        method[spec.method] = body
        optional: dict[str, Any] = {}
        if spec.validation_file:
            optional["validation_file"] = spec.validation_file
        if spec.suffix:
            optional["suffix"] = spec.suffix[:64]
        if spec.seed is not None:
            optional["seed"] = spec.seed
        if spec.metadata:
            optional["metadata"] = spec.metadata
        job = self._call(
            lambda: self.client.fine_tuning.jobs.create(
                model=spec.model, training_file=spec.training_file, method=method, **optional
            ),
            "create job",
        )
        return self._job(job)

    def get_job(self, job_id: str) -> ProviderJob:
        return self._job(self._call(lambda: self.client.fine_tuning.jobs.retrieve(job_id), "get"))

    def cancel_job(self, job_id: str) -> ProviderJob:
        return self._job(self._call(lambda: self.client.fine_tuning.jobs.cancel(job_id), "cancel"))

    def list_events(self, job_id: str, after: str | None = None) -> list[ProviderEvent]:
        # The API lists newest first and pages backwards; read until the last seen id.
        events: list[ProviderEvent] = []
        cursor: str | None = None
        while True:
            page = self._call(
                lambda c=cursor: self.client.fine_tuning.jobs.list_events(
                    job_id, limit=100, **({"after": c} if c else {})
                ),
                "events",
            )
            batch = list(page.data)
            for e in batch:
                if e.id == after:
                    return list(reversed(events))
                events.append(
                    ProviderEvent(
                        id=e.id,
                        created_at=_ts(e.created_at),
                        level=e.level,
                        type=e.type or "message",
                        message=self._clean(e.message),
                        data=dict(e.data or {}),
                    )
                )
            if not page.has_more or not batch:
                return list(reversed(events))
            cursor = batch[-1].id

    def _job(self, job: Any) -> ProviderJob:
        error = None
        if job.error is not None and (job.error.message or job.error.code):
            error = self._clean(f"{job.error.code or 'error'}: {job.error.message}")
        return ProviderJob(
            provider=self.name,
            job_id=job.id,
            status=STATUS.get(job.status, "running"),
            raw_status=job.status,
            model=job.model,
            tuned_model=job.fine_tuned_model,
            error=error,
            trained_tokens=job.trained_tokens,
            created_at=_ts(job.created_at),
            finished_at=_ts(job.finished_at),
            result={"result_files": list(job.result_files or [])},
        )

    def _translate(self, exc: Exception) -> Exception:
        import openai

        if isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = body.get("message") or body.get("error", {}).get("message") or exc.message
            message = self._clean(f"HTTP {exc.status_code}: {detail}")
            if exc.status_code in (401, 403):
                return AuthFailed(self.name, message, status=exc.status_code)
            if exc.status_code == 429:
                retry_after = exc.response.headers.get("retry-after")
                return RateLimited(
                    self.name, message, retry_after=float(retry_after) if retry_after else None
                )
            if exc.status_code >= 500:
                return ProviderUnavailable(self.name, message, status=exc.status_code)
            return ProviderRejected(self.name, message, status=exc.status_code)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderUnavailable(self.name, self._clean(f"connection failed: {exc}"))
        return exc
