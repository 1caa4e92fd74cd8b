"""Collaboration service settings (env prefix ``SRLFORGE_COLLAB_``).

Secrets are ``SecretStr`` and travel only from here into the backend that needs them; they are
never put into task arguments, gRPC messages, manifests or log lines.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from srlforge.settings import get_settings as get_shared_settings


class CollabSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SRLFORGE_COLLAB_", extra="ignore")

    # --- state -------------------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means the embedded SQLite file under SRLFORGE_HOME.",
    )
    artifact_dir: Path | None = Field(
        default=None, description="Where datasets are written; unset: $SRLFORGE_HOME/artifacts."
    )
    # --- teacher (Model B) ---------------------------------------------------------------------
    teacher: str = Field(default="scripted", description="scripted | openai | hf")
    openai_api_key: SecretStr | None = Field(
        default=None, description="Key for teacher 'openai'; OPENAI_API_KEY also works."
    )
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL; OPENAI_BASE_URL also works."
    )
    openai_model: str = "gpt-4.1-mini"
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, description="Tries per request (1 = no retry).")
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=20.0, ge=0)
    breaker_failure_threshold: int = Field(default=8, ge=1)
    breaker_reset_s: float = Field(default=30.0, ge=0)
    hf_model_path: str | None = Field(default=None, description="Folder for teacher 'hf'.")
    hf_max_new_tokens: int = Field(default=256, ge=1)
    concurrency: int = Field(
        default=16, ge=1, description="Episodes (and so LLM requests) in flight at once."
    )
    # --- verifier (Model C) --------------------------------------------------------------------
    judge: str = Field(
        default="none", description="Optional LLM judge that may only lower scores: none | openai"
    )
    judge_min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    # --- orchestrator --------------------------------------------------------------------------
    rounds: int = Field(default=3, ge=1, le=10, description="Generate rounds for the shortfall.")
    near_duplicate_threshold: float = Field(default=0.97, gt=0.0, le=1.0)
    lore_top_k: int = Field(default=8, ge=1, le=100)
    # --- service surfaces ----------------------------------------------------------------------
    broker_url: str = "redis://127.0.0.1:6379/0"
    result_backend: str = "redis://127.0.0.1:6379/0"
    queue: str = "collab"
    task_soft_time_limit_s: int = Field(default=3600, ge=1)
    lease_s: int = Field(
        default=120,
        ge=3,
        description="Ledger lease, renewed every 10 s while a request runs; a dead worker's "
        "request can be taken over this long after its last renewal.",
    )
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50052, ge=0, le=65535)
    grpc_workers: int = Field(default=8, ge=1)

    @field_validator("database_url", "openai_base_url", "hf_model_path")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("set a value or unset the variable; an empty string is ambiguous")
        return value

    @field_validator("teacher")
    @classmethod
    def _known_teacher(cls, value: str) -> str:
        from srlforge.llm import TEACHERS

        if value not in TEACHERS:
            raise ValueError(
                f"SRLFORGE_COLLAB_TEACHER={value!r}; choose one of {', '.join(TEACHERS)}"
            )
        return value

    @field_validator("judge")
    @classmethod
    def _known_judge(cls, value: str) -> str:
        if value not in {"none", "openai"}:
            raise ValueError(f"SRLFORGE_COLLAB_JUDGE={value!r}; choose none or openai")
        return value

    def resolved_database_url(self) -> str:
        return self.database_url or get_shared_settings().default_db_url("collab")

    def resolved_artifact_dir(self) -> Path:
        return self.artifact_dir or get_shared_settings().home / "artifacts"


@lru_cache(maxsize=1)
def get_settings() -> CollabSettings:
    return CollabSettings()
