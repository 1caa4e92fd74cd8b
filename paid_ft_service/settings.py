"""Paid fine-tuning settings (env prefix ``SRLFORGE_PAID_FT_``).

API keys are ``SecretStr``: their ``repr`` and ``str`` print ``**********``, and adapters read
the value only where they build a client. A placeholder key ("changeme", "<your key>") fails
at load time instead of at the provider.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from srlforge.settings import get_settings as get_shared_settings

_PLACEHOLDERS = {"changeme", "change-me", "xxx", "todo", "your-key", "your_api_key", "none", "key"}

SECRET_FIELDS = (
    "openai_api_key",
    "together_api_key",
    "anthropic_api_key",
    "vertex_access_token",
    "aws_access_key_id",
    "aws_secret_access_key",
)


class PaidFTSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SRLFORGE_PAID_FT_", extra="ignore")

    db_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means $SRLFORGE_HOME/paid_ft.db."
    )
    catalogue_path: Path | None = Field(
        default=None, description="Provider catalogue YAML; unset means the packaged one."
    )
    # --- OpenAI --------------------------------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = Field(default=None, description="Unset: api.openai.com/v1.")
    # --- Google Vertex AI ----------------------------------------------------------------------
    vertex_project: str | None = None
    vertex_location: str = "us-central1"
    vertex_access_token: SecretStr | None = Field(
        default=None, description="OAuth access token (e.g. `gcloud auth print-access-token`)."
    )
    vertex_base_url: str | None = Field(default=None, description="Unset: {loc}-aiplatform.")
    vertex_storage_url: str = "https://storage.googleapis.com"
    vertex_bucket: str | None = Field(default=None, description="GCS bucket for datasets.")
    # --- Amazon Bedrock ------------------------------------------------------------------------
    aws_region: str = "us-east-1"
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    bedrock_endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    bedrock_bucket: str | None = Field(default=None, description="S3 bucket for datasets/output.")
    bedrock_role_arn: str | None = Field(default=None, description="Role Bedrock assumes.")
    bedrock_grader_lambda_arn: str | None = Field(
        default=None, description="A deployed Lambda grader; unset: deploy one per job."
    )
    bedrock_lambda_role_arn: str | None = Field(
        default=None, description="Execution role for a Lambda grader the service deploys."
    )
    bedrock_lambda_layers: list[str] = Field(
        default_factory=list, description="Layer ARNs for the grader (one must provide pydantic)."
    )
    # --- Together AI ---------------------------------------------------------------------------
    together_api_key: SecretStr | None = None
    together_base_url: str = "https://api.together.xyz/v1"
    # --- Anthropic (prompt optimisation) -------------------------------------------------------
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    # --- Celery ---------------------------------------------------------------------------------
    broker_url: str = "redis://localhost:6379/0"
    result_backend: str = "redis://localhost:6379/1"
    queue: str = "paid_ft"
    monitor_tick_s: float = Field(default=30.0, gt=0, description="Beat period of the monitor.")
    # --- the rest ------------------------------------------------------------------------------
    reward_endpoint_base: str = Field(
        default="http://localhost:8000",
        description="Gateway base URL; Vertex reinforcement tuning calls /v1/rewards/{type}.",
    )
    gpu_hour_usd: float = Field(default=2.5, gt=0, description="Self-hosted price per GPU hour.")
    max_retries: int = Field(default=4, ge=0, description="Retries on 429/5xx per call.")
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    monitor_interval_s: float = Field(default=60.0, gt=0, description="First poll delay.")
    monitor_max_interval_s: float = Field(default=900.0, gt=0, description="Backoff ceiling.")
    default_budget_usd: float = Field(
        default=0.0, ge=0, description="Budget of a tenant with none set (0 refuses paid jobs)."
    )

    @field_validator(*SECRET_FIELDS)
    @classmethod
    def _not_placeholder(cls, value: SecretStr | None, info) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not raw or raw.lower() in _PLACEHOLDERS or (raw.startswith("<") and raw.endswith(">")):
            env = f"SRLFORGE_PAID_FT_{info.field_name.upper()}"
            raise ValueError(f"{env} is empty or a placeholder; set the real value or unset it")
        return value

    def resolved_db_url(self) -> str:
        return self.db_url or get_shared_settings().default_db_url("paid_ft")

    def secret_values(self) -> list[str]:
        """Every configured secret, for scrubbing messages (never for printing)."""
        out = []
        for name in SECRET_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out.append(value.get_secret_value())
        return out


@lru_cache(maxsize=1)
def get_settings() -> PaidFTSettings:
    return PaidFTSettings()
