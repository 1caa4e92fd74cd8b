"""Trainer settings (env prefix ``SRLFORGE_TRAINER_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrainerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SRLFORGE_TRAINER_", extra="ignore")

    device: Literal["cpu", "cuda"] = Field(
        default="cpu", description="Default device of pipelines and tasks: cpu | cuda."
    )
    threads: int | None = Field(
        default=None, ge=1, description="Default torch CPU threads of pipelines (unset: 1)."
    )
    tracker_db_url: str | None = Field(
        default=None, description="Tracker database; unset: the tracker's embedded default."
    )
    # Celery worker settings (operations.md): one task per GPU worker, acks late.
    broker_url: str = "redis://127.0.0.1:6379/0"
    result_backend: str = "redis://127.0.0.1:6379/1"
    task_soft_time_limit_s: int = Field(default=6 * 3600, ge=60)


@lru_cache(maxsize=1)
def get_settings() -> TrainerSettings:
    return TrainerSettings()
