"""Together AI fine-tuning (SFT and DPO, LoRA or full) over its REST API with ``httpx``.

Together's Python SDK is a large dependency for five calls; the REST API is documented and
plain JSON, so the adapter speaks it directly: ``POST /files/upload`` (multipart),
``POST /fine-tunes``, ``GET /fine-tunes/{id}``, ``GET /fine-tunes/{id}/events``,
``POST /fine-tunes/{id}/cancel``. Errors come as ``{"error": {message, type, code}}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paid_ft_service.errors import AuthFailed, ProviderRejected, ProviderUnavailable, RateLimited
from paid_ft_service.providers.base import JobSpec, Provider, ProviderEvent, ProviderJob

STATUS = {
    "pending": "queued",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "running",
    "completed": "succeeded",
    "error": "failed",
    "user_error": "failed",
    "cancelled": "cancelled",
}
METHOD = {"supervised": "sft", "dpo": "dpo"}


class _HTTPFailure(Exception):
    def __init__(self, status: int, body: Any, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.retry_after = status, body, retry_after


class TogetherProvider(Provider):
    name = "together"

    def __init__(
        self, api_key: str, base_url: str = "https://api.together.xyz/v1", *, timeout=60.0, **kw
    ):
        super().__init__(secrets=[api_key, *kw.pop("secrets", [])], **kw)
        import httpx

        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    def _request(self, method: str, path: str, what: str, **kw: Any) -> Any:
        def once() -> Any:
            response = self.http.request(method, path, **kw)
            if response.status_code >= 400:
                try:
                    body = response.json()
                except ValueError:
                    body = {"error": {"message": response.text[:500]}}
                raise _HTTPFailure(response.status_code, body, response.headers.get("retry-after"))
            return response.json()

        return self._call(once, what)

    def upload_dataset(self, data: bytes, filename: str) -> str:
        created = self._request(
            "POST",
            "/files/upload",
            "upload",
            files={"file": (filename, data, "application/jsonl")},
            data={"file_name": filename, "purpose": "fine-tune"},
        )
        return created["id"]

    def create_job(self, spec: JobSpec) -> ProviderJob:
        if spec.method not in METHOD:
            raise ValueError(f"Together has no '{spec.method}' fine-tuning")
        hyper = spec.hyperparameters
        body: dict[str, Any] = {
            "training_file": spec.training_file,
            "model": spec.model,
            "n_epochs": int(hyper.get("n_epochs", 3)),
            "training_method": {"method": METHOD[spec.method]},
            "training_type": {"type": hyper.get("training_type", "Lora")},
        }
        for key in ("batch_size", "learning_rate", "n_checkpoints", "warmup_ratio"):
            if key in hyper:
                body[key] = hyper[key]
        if spec.method == "dpo" and "beta" in hyper:
            body["training_method"]["dpo_beta"] = hyper["beta"]
        if spec.validation_file:
            body["validation_file"] = spec.validation_file
        if spec.suffix:
            body["suffix"] = spec.suffix[:40]
        return self._job(self._request("POST", "/fine-tunes", "create job", json=body))

    def get_job(self, job_id: str) -> ProviderJob:
        return self._job(self._request("GET", f"/fine-tunes/{job_id}", "get"))

    def cancel_job(self, job_id: str) -> ProviderJob:
        return self._job(self._request("POST", f"/fine-tunes/{job_id}/cancel", "cancel"))

    def list_events(self, job_id: str, after: str | None = None) -> list[ProviderEvent]:
        data = self._request("GET", f"/fine-tunes/{job_id}/events", "events").get("data", [])
        events = [
            ProviderEvent(
                id=str(e.get("hash") or e.get("id") or i),
                created_at=_dt(e.get("created_at")),
                level=e.get("level") or "info",
                type="metrics" if e.get("type") == "metrics" else "message",
                message=self._clean(e.get("message", "")),
                data=e.get("data") or {},
            )
            for i, e in enumerate(data)
        ]
        ids = [e.id for e in events]
        return events[ids.index(after) + 1 :] if after in ids else events

    def _job(self, job: dict[str, Any]) -> ProviderJob:
        status = job.get("status", "pending")
        error = job.get("error") or job.get("message") if STATUS.get(status) == "failed" else None
        return ProviderJob(
            provider=self.name,
            job_id=job["id"],
            status=STATUS.get(status, "running"),
            raw_status=status,
            model=job.get("model", ""),
            tuned_model=job.get("output_name") if status == "completed" else None,
            error=self._clean(str(error)) if error else None,
            trained_tokens=job.get("total_tokens"),
            created_at=_dt(job.get("created_at")),
            finished_at=_dt(job.get("updated_at")) if STATUS.get(status) == "succeeded" else None,
        )

    def _translate(self, exc: Exception) -> Exception:
        import httpx

        if isinstance(exc, httpx.TransportError):
            return ProviderUnavailable(self.name, self._clean(f"connection failed: {exc}"))
        if not isinstance(exc, _HTTPFailure):
            return exc
        error = exc.body.get("error") if isinstance(exc.body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else str(exc.body)[:300]
        message = self._clean(f"HTTP {exc.status}: {detail}")
        if exc.status in (401, 403):
            return AuthFailed(self.name, message, status=exc.status)
        if exc.status == 429:
            retry = float(exc.retry_after) if exc.retry_after else None
            return RateLimited(self.name, message, retry_after=retry)
        if exc.status >= 500:
            return ProviderUnavailable(self.name, message, status=exc.status)
        return ProviderRejected(self.name, message, status=exc.status)


def _dt(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None
