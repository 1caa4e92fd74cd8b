"""Gateway settings (env prefix ``SRLFORGE_GATEWAY_``).

The API-key HMAC secret is a ``SecretStr`` and the process refuses to start with a placeholder
(``changeme``, ``<secret>``, anything shorter than 32 characters). Only the embedded default
(SQLite + the local executor) may do without one: it generates a random secret once and keeps
it in a 0600 file under ``$SRLFORGE_HOME``, so ``srlforge keys create`` and ``srlforge serve``
on the same machine agree. A deployment (PostgreSQL or the celery executor) has several
replicas that must share the secret, so there it must be set explicitly.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from srlforge.settings import get_settings as get_shared_settings

ENV_PREFIX = "SRLFORGE_GATEWAY_"
MIN_SECRET_CHARS = 32
# Words that mark a value copied from an example file instead of generated.
_PLACEHOLDER = re.compile(
    r"change[-_ ]?me|placeholder|example|replace[-_ ]?me|your[-_ ]|secret[-_ ]?here|"
    r"^<.*>$|^x+$|^\*+$|^(password|secret|test|dummy|default|todo)$",
    re.IGNORECASE,
)


class SettingsError(ValueError):
    """Settings that cannot work; the message names the variable and the fix, never a value."""


def check_secret(label: str, value: str) -> str:
    """Refuse placeholder or short secrets; the message never repeats the value."""
    if _PLACEHOLDER.search(value.strip()) or len(value) < MIN_SECRET_CHARS:
        raise SettingsError(
            f"{label} looks like a placeholder or is shorter than "
            f"{MIN_SECRET_CHARS} characters; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return value


class GatewaySettings(BaseSettings):
    # hide_input_in_errors: a rejected secret must not be echoed in the validation error.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", hide_input_in_errors=True
    )

    # --- state ---------------------------------------------------------------------------------
    # URLs may carry passwords: repr=False keeps them out of any logged settings object.
    db_url: str | None = Field(
        default=None,
        repr=False,
        description="SQLAlchemy URL; unset means the embedded SQLite file under SRLFORGE_HOME.",
    )
    rules_dir: Path | None = Field(
        default=None,
        description="Where uploaded rule sets are stored (<dir>/<tenant>/<version>/); "
        "unset: $SRLFORGE_HOME/gateway/rules. Shared storage when several replicas run.",
    )
    # --- security ------------------------------------------------------------------------------
    key_secret: SecretStr | None = Field(
        default=None,
        description="Server secret the API keys are HMAC-ed with. Required outside the "
        "embedded default; never logged.",
    )
    key_cache_ttl_s: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key is remembered per process (its HMAC, not the "
        "key): a revoked key still works for at most this long. 0: every request asks the "
        "database.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger request bodies get 413."
    )
    rate_limit_backend: Literal["memory", "redis"] = Field(
        default="memory",
        description="memory: one process (embedded); redis: shared by every replica.",
    )
    redis_url: str | None = Field(
        default=None, repr=False, description="Redis for the rate limiter."
    )
    rate_limit_per_s: float = Field(default=10.0, gt=0, description="Tokens refilled per second.")
    rate_limit_burst: int = Field(default=40, ge=1, description="Bucket capacity per tenant.")
    rate_limit_key_prefix: str = Field(
        default="srlforge:gateway:ratelimit:",
        min_length=1,
        description="Redis key prefix; separate deployments sharing one Redis need their own.",
    )
    # --- executors and dependencies ------------------------------------------------------------
    executor: Literal["local", "celery"] = Field(
        default="local",
        description="local: pipeline jobs run in worker threads of this process; celery: a "
        "chain of tasks on the broker, run by `celery -A gateway.celery_app worker`.",
    )
    local_workers: int = Field(
        default=1, ge=1, le=64, description="Threads of the local executor (jobs at once)."
    )
    max_concurrent_jobs: int = Field(
        default=2, ge=1, description="Queued + running jobs per tenant; more is a 429."
    )
    runs_dir: Path | None = Field(
        default=None,
        description="Where jobs write runs/<job_id>/ (shared storage for celery workers); "
        "unset: the shared SRLFORGE_RUNS_DIR.",
    )
    artifacts_url: str | None = Field(
        default=None,
        repr=False,
        description="Where job steps exchange runs/<job_id>/ pieces (dataset, checkpoints, "
        "report): a path, file:///path or s3://bucket/prefix. Unset: workers share RUNS_DIR. "
        "S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, never the URL.",
    )
    artifacts_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint for ARTIFACTS_URL (MinIO: http://minio:9000)."
    )
    job_lease_s: float = Field(
        default=600.0, gt=0, description="Lease of a running step; renewed every third of it."
    )
    job_max_attempts: int = Field(default=3, ge=1, description="Per step, in the ledger.")
    job_events_poll_s: float = Field(
        default=0.5, gt=0, description="How often the SSE stream looks for progress."
    )
    celery_queue_prefix: str = Field(
        default="",
        description="Prepended to the queue names collab, srl, rlvr, eval (separate "
        "deployments or tests sharing one broker).",
    )
    broker_url: str | None = Field(
        default=None, repr=False, description="Celery broker; /readyz checks it."
    )
    broker_visibility_timeout_s: int = Field(
        default=6 * 3600 + 300 + 600,
        gt=0,
        description="Redis redelivers a task not acked within this many seconds, even while it "
        "still runs; must be above a step's hard time limit (celery_app.HARD_TIME_LIMIT_S).",
    )
    tracker: Literal["embedded", "grpc", "off"] = Field(
        default="embedded",
        description="Where the model registry and retrain triggers live: embedded (the "
        "tracker's database, in-process), grpc (tracker_target) or off.",
    )
    tracker_db_url: str | None = Field(
        default=None,
        repr=False,
        description="For tracker=embedded; unset: SRLFORGE_TRACKER_DB_URL/default.",
    )
    tracker_target: str | None = Field(default=None, description="host:port of tracker gRPC.")
    collab_target: str | None = Field(default=None, description="host:port of collab gRPC.")
    grpc_timeout_s: float = Field(default=5.0, gt=0, description="Deadline per gRPC call.")
    readiness_timeout_s: float = Field(default=2.0, gt=0, description="Per dependency check.")
    retrain_on_rules_upload: bool = Field(
        default=True,
        description="Ask the tracker for a retrain trigger for each model type a rules upload "
        "changes (the tracker fires only when a second retrain condition also holds).",
    )
    registry_admin_tenants: list[str] = Field(
        default=[],
        description="Tenants whose keys may promote and roll back registry models (403 for "
        "every other tenant). The registry is one per deployment, so by default nobody may.",
    )
    # --- serving -------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # --- model selection (POST /v1/models:select) ----------------------------------------------
    select_weight_capability: float = Field(default=0.40, ge=0)
    select_weight_responsibility: float = Field(default=0.30, ge=0)
    select_weight_cost: float = Field(default=0.15, ge=0)
    select_weight_latency: float = Field(default=0.15, ge=0)
    select_capability_metrics: list[str] = Field(
        default=["accuracy", "quality", "success_rate"],
        description="Evaluation metrics in [0, 1] whose mean is a candidate's capability.",
    )
    select_cost_scale_per_token: float = Field(
        default=2e-6,
        gt=0,
        description="USD per token at which the cost score is 0.5 (score = s / (s + cost)).",
    )
    select_latency_scale_ms: float = Field(
        default=250.0, gt=0, description="Latency at which the latency score is 0.5."
    )

    @field_validator("db_url", "redis_url", "broker_url", "tracker_db_url", "artifacts_url")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("set a value or unset the variable; an empty string is ambiguous")
        return value

    @field_validator("artifacts_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        if value is not None and "@" in value.split("/")[2 if "://" in value else 0]:
            raise ValueError(
                "must not carry credentials; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            )
        return value

    @field_validator("db_url", "tracker_db_url")
    @classmethod
    def _sqlalchemy_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                make_url(value)
            except ArgumentError:
                # Not repeated: a malformed URL may still hold a password.
                raise ValueError(
                    "not a SQLAlchemy URL; e.g. postgresql+psycopg://user:pass@host/db"
                ) from None
        return value

    @field_validator("key_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret(f"{ENV_PREFIX}KEY_SECRET", value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GatewaySettings:
        if self.rate_limit_backend == "redis" and not self.redis_url:
            raise SettingsError(
                f"{ENV_PREFIX}RATE_LIMIT_BACKEND=redis needs {ENV_PREFIX}REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/2)"
            )
        if self.tracker == "grpc" and not self.tracker_target:
            raise SettingsError(
                f"{ENV_PREFIX}TRACKER=grpc needs {ENV_PREFIX}TRACKER_TARGET (host:port)"
            )
        if self.key_secret is None and not self.is_embedded:
            raise SettingsError(
                f"{ENV_PREFIX}KEY_SECRET is required with a database server or the celery "
                "executor: every replica must hash API keys with the same secret"
            )
        if self.executor == "celery" and not self.broker_url:
            raise SettingsError(
                f"{ENV_PREFIX}EXECUTOR=celery needs {ENV_PREFIX}BROKER_URL "
                "(e.g. redis://127.0.0.1:6379/0)"
            )
        weights = self.selection_weights()
        if sum(weights.values()) <= 0:
            raise SettingsError(
                f"the {ENV_PREFIX}SELECT_WEIGHT_* weights are all zero; give at least one a "
                "positive weight"
            )
        return self

    @property
    def is_embedded(self) -> bool:
        """SQLite and the in-process executor: one machine, nothing shared."""
        backend = "sqlite" if self.db_url is None else make_url(self.db_url).get_backend_name()
        return backend == "sqlite" and self.executor == "local"

    def resolved_db_url(self) -> str:
        return self.db_url or get_shared_settings().default_db_url("gateway")

    def resolved_runs_dir(self) -> Path:
        return self.runs_dir or get_shared_settings().runs_dir

    def resolved_rules_dir(self) -> Path:
        return self.rules_dir or get_shared_settings().home / "gateway" / "rules"

    def selection_weights(self) -> dict[str, float]:
        return {
            "capability": self.select_weight_capability,
            "responsibility": self.select_weight_responsibility,
            "cost": self.select_weight_cost,
            "latency": self.select_weight_latency,
        }

    def hmac_secret(self) -> bytes:
        """The API-key HMAC secret: configured, or the embedded default's generated file."""
        if self.key_secret is not None:
            return self.key_secret.get_secret_value().encode()
        path = get_shared_settings().home / "gateway-key-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting at once must not each write a different secret.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(secrets.token_urlsafe(48))
        value = path.read_text(encoding="utf-8").strip()
        return check_secret(f"the generated secret file {path}", value).encode()


@lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    return GatewaySettings()
