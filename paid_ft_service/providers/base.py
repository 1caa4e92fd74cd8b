"""The one interface every provider adapter implements, and the records it returns.

upload dataset → create job → get job / list events → cancel → resolve the tuned model.
Adapters turn SDK exceptions into ``paid_ft_service.errors`` (scrubbed of secrets) and wrap
every call in the retry policy, so callers see domain errors only.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar

from paid_ft_service.errors import ProviderError, redact
from paid_ft_service.retry import RetryPolicy, call_with_retry

JobStatus = Literal["queued", "running", "paused", "succeeded", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
T = TypeVar("T")


@dataclass
class JobSpec:
    """What to train. Provider-specific parts are optional and read only by their adapter."""

    model: str
    method: str  # supervised | dpo | reinforcement | prompt_optimization
    training_file: str  # what upload_dataset returned
    validation_file: str | None = None
    model_type: str = ""
    suffix: str | None = None
    seed: int | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    grader: dict[str, Any] | None = None  # OpenAI reinforcement
    reward_uri: str | None = None  # Vertex reinforcement (Cloud Run reward endpoint)
    lambda_arn: str | None = None  # Bedrock reinforcement


@dataclass
class ProviderJob:
    provider: str
    job_id: str
    status: JobStatus
    raw_status: str
    model: str = ""
    tuned_model: str | None = None
    error: str | None = None
    trained_tokens: int | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass
class ProviderEvent:
    id: str
    created_at: datetime | None
    level: str
    type: str  # message | metrics
    message: str
    data: dict[str, Any] = field(default_factory=dict)


class Provider(ABC):
    """Base class of one provider adapter."""

    name: ClassVar[str]
    # The file format the provider accepts for uploads.
    upload_suffix: ClassVar[str] = ".jsonl"

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        secrets: list[str] | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._secrets = [s for s in (secrets or []) if s]

    # ----- the interface ----------------------------------------------------------------------

    @abstractmethod
    def upload_dataset(self, data: bytes, filename: str) -> str:
        """Store a JSONL file where the provider reads it; return its reference."""

    @abstractmethod
    def create_job(self, spec: JobSpec) -> ProviderJob: ...

    @abstractmethod
    def get_job(self, job_id: str) -> ProviderJob: ...

    @abstractmethod
    def list_events(self, job_id: str, after: str | None = None) -> list[ProviderEvent]:
        """Events newer than ``after`` (an event id), oldest first."""

    @abstractmethod
    def cancel_job(self, job_id: str) -> ProviderJob: ...

    def resolve_tuned_model(self, job_id: str) -> str | None:
        """The id clients call the tuned model by, once the job has succeeded."""
        job = self.get_job(job_id)
        return job.tuned_model if job.status == "succeeded" else None

    # ----- shared machinery -------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], what: str) -> T:
        """Run an SDK call under the retry policy, translating its exceptions."""

        def once() -> T:
            try:
                return fn()
            except ProviderError:
                raise
            except Exception as exc:  # SDK exception types vary; unknown ones pass through
                translated = self._translate(exc)
                if translated is exc:
                    raise
                raise translated from None

        return call_with_retry(once, self.retry, self.sleep, what=f"{self.name} {what}")

    @abstractmethod
    def _translate(self, exc: Exception) -> Exception:
        """The domain error for an SDK exception (or ``exc`` itself when it is not an API one)."""

    def _clean(self, text: str) -> str:
        return redact(str(text), self._secrets)
