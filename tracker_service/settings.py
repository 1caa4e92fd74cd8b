"""Tracker settings (env prefix ``SRLFORGE_TRACKER_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from srlforge.settings import get_settings as get_shared_settings


class TrackerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SRLFORGE_TRACKER_", extra="ignore")

    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means the embedded SQLite file under SRLFORGE_HOME.",
    )
    target: str | None = Field(
        default=None,
        description="host:port of a tracker service for client.connect(); unset = embedded.",
    )
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50053, ge=0, le=65535)
    grpc_workers: int = Field(default=8, ge=1)
    grpc_timeout_s: float = Field(default=10.0, gt=0, description="Client deadline per call.")
    regression_threshold: float = Field(
        default=0.05, gt=0, description="Minimum relative change (worse) that counts as regression."
    )
    regression_alpha: float = Field(
        default=0.01, gt=0, lt=1, description="One-sided Mann-Whitney p-value a regression needs."
    )
    baseline_window: int = Field(default=100, ge=3, description="Points in the baseline window.")
    recent_window: int = Field(default=20, ge=3, description="Points in the recent window.")
    trend_window: int = Field(default=10_000, ge=1, description="Points a trend reads by default.")
    weakness_window: int = Field(
        default=20, ge=1, description="Latest points averaged when judging a metric for weaknesses."
    )
    promotion_gate_metrics: list[str] = Field(
        default=["accuracy", "quality", "latency_ms"],
        description="Metrics a candidate must not lose on (and win at least one) to be promoted.",
    )
    retrain_min_new_examples: int = Field(
        default=500, ge=1, description="New verified examples that count as 'enough new data'."
    )
    retrain_error_rate_rise: float = Field(default=0.10, gt=0)

    @field_validator("db_url")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "SRLFORGE_TRACKER_DB_URL is empty; unset it for the embedded SQLite file "
                "or give a URL such as postgresql+psycopg://user@host/db"
            )
        return value

    def resolved_db_url(self) -> str:
        return self.db_url or default_db_url()


def default_db_url() -> str:
    """The embedded SQLite file (``$SRLFORGE_HOME/tracker.db``)."""
    return get_shared_settings().default_db_url("tracker")


@lru_cache(maxsize=1)
def get_settings() -> TrackerSettings:
    return TrackerSettings()
