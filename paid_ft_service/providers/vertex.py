"""Google Vertex AI tuning jobs through ``google-genai`` (``vertexai=True``).

Supervised and preference tuning on ``v1``; reinforcement tuning (``v1beta1``) with a Cloud Run
reward scorer pointing at the gateway's ``/v1/rewards/{model_type}``, which serves the arena
verifier. Datasets are uploaded to Cloud Storage with the JSON API's simple upload (one POST,
bearer token), so no extra storage SDK is needed. Credentials are an OAuth access token.
The SDK's own retries are off; the service's policy retries 429/5xx.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any
from urllib.parse import quote

from paid_ft_service.errors import AuthFailed, ProviderRejected, ProviderUnavailable, RateLimited
from paid_ft_service.providers.base import JobSpec, Provider, ProviderEvent, ProviderJob

STATE = {
    "JOB_STATE_QUEUED": "queued",
    "JOB_STATE_PENDING": "queued",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_CANCELLING": "running",
    "JOB_STATE_PAUSED": "paused",
    "JOB_STATE_SUCCEEDED": "succeeded",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
}
METHOD = {
    "supervised": "SUPERVISED_FINE_TUNING",
    "dpo": "PREFERENCE_TUNING",
    "reinforcement": "REINFORCEMENT_TUNING",
}


class VertexProvider(Provider):
    name = "vertex"

    def __init__(
        self,
        *,
        project: str,
        location: str,
        access_token: str,
        bucket: str,
        base_url: str | None = None,
        storage_url: str = "https://storage.googleapis.com",
        timeout: float = 60.0,
        **kw: Any,
    ) -> None:
        super().__init__(secrets=[access_token, *kw.pop("secrets", [])], **kw)
        if not project or not bucket:
            raise ValueError("Vertex needs a project and a GCS bucket (SRLFORGE_PAID_FT_VERTEX_*)")
        self.project, self.location, self.bucket = project, location, bucket
        self.storage_url = storage_url.rstrip("/")
        self._token = access_token
        self._timeout = timeout
        self._clients: dict[str, Any] = {}
        self._base_url = base_url

    def _client(self, api_version: str = "v1") -> Any:
        if api_version not in self._clients:
            from google import genai
            from google.genai import types
            from google.oauth2.credentials import Credentials

            options: dict[str, Any] = {
                "api_version": api_version,
                "retry_options": types.HttpRetryOptions(attempts=1),
                "timeout": int(self._timeout * 1000),
            }
            if self._base_url:
                options["base_url"] = self._base_url
            self._clients[api_version] = genai.Client(
                vertexai=True,
                project=self.project,
                location=self.location,
                credentials=Credentials(token=self._token),
                http_options=types.HttpOptions(**options),
            )
        return self._clients[api_version]

    def upload_dataset(self, data: bytes, filename: str) -> str:
        import httpx

        url = (
            f"{self.storage_url}/upload/storage/v1/b/{quote(self.bucket, safe='')}/o"
            f"?uploadType=media&name={quote('srlforge/' + filename, safe='')}"
        )

        def post() -> None:
            response = httpx.post(
                url,
                content=data,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/jsonl",
                },
                timeout=self._timeout,
            )
            if response.status_code >= 400:
                raise _HTTPFailure(response.status_code, response.text, response.headers)

        self._call(post, "upload")
        return f"gs://{self.bucket}/srlforge/{filename}"

    def create_job(self, spec: JobSpec) -> ProviderJob:
        from google.genai import types

        config: dict[str, Any] = {"method": METHOD[spec.method]}
        if spec.suffix:
            config["tuned_model_display_name"] = spec.suffix
        if spec.validation_file:
            config["validation_dataset"] = types.TuningValidationDataset(
                gcs_uri=spec.validation_file
            )
        hyper = spec.hyperparameters
        if "n_epochs" in hyper:
            config["epoch_count"] = int(hyper["n_epochs"])
        for ours, theirs in (
            ("learning_rate_multiplier", "learning_rate_multiplier"),
            ("adapter_size", "adapter_size"),
            ("samples_per_prompt", "samples_per_prompt"),
            ("beta", "beta"),
        ):
            if ours in hyper:
                config[theirs] = hyper[ours]
        api_version = "v1"
        if spec.method == "reinforcement":
            if not spec.reward_uri:
                raise ValueError("Vertex reinforcement tuning needs a reward endpoint URI")
            config["reward_config"] = types.SingleReinforcementTuningRewardConfig(
                cloud_run_reward_scorer=types.ReinforcementTuningCloudRunRewardScorer(
                    cloud_run_uri=spec.reward_uri
                )
            )
            api_version = "v1beta1"

        def tune() -> Any:
            # google-genai flags its tuning module "experimental" on every call; known, and
            # pinned by the fake's contract tests, so the notice is not repeated in our logs.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*tuning implementation is experimental")
                return self._client(api_version).tunings.tune(
                    base_model=spec.model,
                    training_dataset=types.TuningDataset(gcs_uri=spec.training_file),
                    config=types.CreateTuningJobConfig(**config),
                )

        return self._job(self._call(tune, "create job"))

    def get_job(self, job_id: str) -> ProviderJob:
        return self._job(self._call(lambda: self._client().tunings.get(name=job_id), "get"))

    def cancel_job(self, job_id: str) -> ProviderJob:
        self._call(lambda: self._client().tunings.cancel(name=job_id), "cancel")
        return self.get_job(job_id)

    def list_events(self, job_id: str, after: str | None = None) -> list[ProviderEvent]:
        """Vertex has no job event stream: one event per state the job has been seen in."""
        job = self.get_job(job_id)
        event_id = f"{job_id}:{job.raw_status}"
        if after == event_id:
            return []
        message = f"state {job.raw_status}" + (f": {job.error}" if job.error else "")
        level = "error" if job.status == "failed" else "info"
        return [ProviderEvent(event_id, job.finished_at, level, "message", message)]

    def _job(self, job: Any) -> ProviderJob:
        state = job.state.value if hasattr(job.state, "value") else str(job.state)
        error = None
        if job.error is not None and (job.error.message or job.error.code):
            error = self._clean(f"{job.error.code}: {job.error.message}")
        tuned = job.tuned_model.model if job.tuned_model is not None else None
        return ProviderJob(
            provider=self.name,
            job_id=job.name,
            status=STATE.get(state, "running"),
            raw_status=state,
            model=job.base_model or "",
            tuned_model=tuned,
            error=error,
            created_at=_dt(job.create_time),
            finished_at=_dt(job.end_time),
            result={"endpoint": job.tuned_model.endpoint} if job.tuned_model else {},
        )

    def _translate(self, exc: Exception) -> Exception:
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            status, text, headers = exc.code, f"{exc.status}: {exc.message}", {}
        elif isinstance(exc, _HTTPFailure):
            status, text, headers = exc.status, exc.text, exc.headers
        else:
            import httpx

            if isinstance(exc, httpx.TransportError):
                return ProviderUnavailable(self.name, self._clean(f"connection failed: {exc}"))
            return exc
        message = self._clean(f"HTTP {status}: {text}")
        if status in (401, 403):
            return AuthFailed(self.name, message, status=status)
        if status == 429:
            retry_after = headers.get("retry-after") if headers else None
            return RateLimited(self.name, message, retry_after=_float(retry_after))
        if status >= 500:
            return ProviderUnavailable(self.name, message, status=status)
        return ProviderRejected(self.name, message, status=status)


class _HTTPFailure(Exception):
    def __init__(self, status: int, text: str, headers: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.text, self.headers = status, text, headers


def _dt(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
