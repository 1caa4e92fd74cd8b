"""Process-wide settings for the embedded default (env prefix ``SRLFORGE_``).

Each service has its own ``settings.py`` with prefix ``SRLFORGE_<SERVICE>_``; this object holds
what all of them share: where local state lives and which rule set is in force.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SRLFORGE_", extra="ignore")

    home: Path = Field(
        default=Path(".srlforge"),
        description="Folder for embedded state: SQLite databases, artifacts, tokenizers.",
    )
    runs_dir: Path = Field(default=Path("runs"), description="Where `runs/<run_id>/` folders go.")
    rules_version: str = Field(
        default="latest",
        description="Rule set version in srlforge/rules/data ('latest' = highest semver).",
    )
    rules_dir: Path | None = Field(
        default=None,
        description="Extra folder of rule set versions (<dir>/<version>/*.yaml) searched first.",
    )
    log_level: str = "INFO"
    otel_exporter: Literal["", "none", "console", "otlp"] = Field(
        default="",
        description="Tracing exporter (srlforge/telemetry.py): none, console or otlp; empty means "
        "otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set, else off.",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(
                f"SRLFORGE_LOG_LEVEL={value!r} is not a logging level; "
                "use DEBUG, INFO, WARNING, ERROR or CRITICAL"
            )
        return upper

    def default_db_url(self, name: str) -> str:
        """SQLite URL of the embedded database ``name`` under ``home`` (created on demand)."""
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / f'{name}.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
