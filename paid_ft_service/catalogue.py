"""The provider catalogue as typed data, and the up-front check that refuses a doomed job.

``check_submittable`` runs before any upload: a retired model, a model past its last day for new
jobs, an unknown model or an unsupported method is refused with the reason and the source.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paid_ft_service.errors import NotAvailable

Method = Literal["supervised", "dpo", "reinforcement", "prompt_optimization"]
METHODS: tuple[str, ...] = ("supervised", "dpo", "reinforcement", "prompt_optimization")
DEFAULT_PATH = Path(__file__).with_name("catalogue.yaml")


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Prices(_Row):
    training_per_1m_tokens: float | None = Field(default=None, ge=0)
    training_per_hour: float | None = Field(default=None, ge=0)
    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)
    confirmed: bool
    source: str = Field(min_length=3)
    as_of: date


class ModelEntry(_Row):
    model: str
    methods: list[Method]
    new_jobs_until: date | None = None
    shutdown_date: date | None = None
    available: bool = True
    source: str = Field(min_length=3)
    as_of: date
    prices: Prices

    def unavailable_reason(self, today: date) -> str | None:
        """Why no new job can start on ``today`` (None when one can)."""
        if not self.available:
            return f"{self.model} is marked unavailable (source: {self.source})"
        if self.shutdown_date is not None and today >= self.shutdown_date:
            return (
                f"{self.model} was retired on {self.shutdown_date.isoformat()} "
                f"(source: {self.source}, as of {self.as_of.isoformat()})"
            )
        if self.new_jobs_until is not None and today > self.new_jobs_until:
            return (
                f"{self.model} accepts no new fine-tuning jobs after "
                f"{self.new_jobs_until.isoformat()} (source: {self.source})"
            )
        return None


class ProviderEntry(_Row):
    display: str
    methods: list[Method]
    status: Literal["available", "winding_down", "no_fine_tuning", "retired"]
    notes: str = ""
    source: str
    as_of: date
    models: list[ModelEntry]

    def model(self, name: str) -> ModelEntry | None:
        """The row of model id ``name`` (exact match), or None."""
        for entry in self.models:
            if entry.model == name:
                return entry
        return None


class Catalogue(_Row):
    catalogue_version: str
    providers: dict[str, ProviderEntry]

    def provider(self, name: str) -> ProviderEntry:
        try:
            return self.providers[name]
        except KeyError:
            raise NotAvailable(
                f"unknown provider '{name}'; choose one of: {', '.join(self.providers)}"
            ) from None

    def check_submittable(
        self, provider: str, model: str, method: str, today: date | None = None
    ) -> ModelEntry:
        """The catalogue row for a job that may be submitted; ``NotAvailable`` saying why not."""
        today = today or date.today()
        entry = self.provider(provider)
        if method not in METHODS:
            raise NotAvailable(f"unknown method '{method}'; choose one of: {', '.join(METHODS)}")
        if method not in entry.methods:
            hint = (
                " (it has no fine-tuning API; use method prompt_optimization)"
                if entry.status == "no_fine_tuning"
                else ""
            )
            raise NotAvailable(
                f"{provider} does not support method '{method}'{hint}; "
                f"it supports: {', '.join(entry.methods)}"
            )
        row = entry.model(model)
        if row is None:
            known = ", ".join(m.model for m in entry.models)
            raise NotAvailable(f"{provider} has no catalogued model '{model}'; known: {known}")
        if method not in row.methods:
            raise NotAvailable(
                f"{provider} model {model} does not support '{method}'; it supports: "
                f"{', '.join(row.methods)} (source: {row.source})"
            )
        reason = row.unavailable_reason(today)
        if reason:
            raise NotAvailable(f"{provider}: {reason}")
        return row

    def listing(self, today: date | None = None) -> list[dict]:
        """The ``providers --json`` shape: provider, methods, models with availability."""
        today = today or date.today()
        out = []
        for name, entry in self.providers.items():
            models = [
                {
                    "model": m.model,
                    "methods": list(m.methods),
                    "available": m.unavailable_reason(today) is None,
                    "shutdown_date": m.shutdown_date.isoformat() if m.shutdown_date else None,
                    "new_jobs_until": m.new_jobs_until.isoformat() if m.new_jobs_until else None,
                    "source": m.source,
                    "as_of": m.as_of.isoformat(),
                    "prices": m.prices.model_dump(mode="json"),
                }
                for m in entry.models
            ]
            out.append(
                {
                    "provider": name,
                    "methods": list(entry.methods),
                    "status": entry.status,
                    "notes": entry.notes,
                    "models": models,
                }
            )
        return out


def load_catalogue(path: Path | None = None) -> Catalogue:
    return _load(Path(path) if path else DEFAULT_PATH)


@lru_cache(maxsize=8)
def _load(path: Path) -> Catalogue:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the provider catalogue: {exc}") from None
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: at {where}: {first['msg']}") from None
