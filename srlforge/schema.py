"""The data contracts every service shares (pydantic v2), with JSON Schema export.

A ``Step.action`` is typed ``Any`` on purpose: it carries whatever a model produced, and the
arena's verifiers decide whether it is valid. Everything else is strict.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"

Split = Literal["train", "heldout"]
Severity = Literal["hard", "soft"]


def canonical_json(obj: Any) -> str:
    """Stable JSON text: sorted keys, no spaces. The basis of content hashes and similarity."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Violation(_Model):
    rule_id: str = Field(description="Id of the rule in the rule set (or 'format.*' for parsing).")
    severity: Severity
    message: str
    step: int | None = None


class Scenario(_Model):
    id: str = Field(description="'<model_type>:<seed>:<index>:<difficulty>'; unique and stable.")
    model_type: str
    species: str | None = None
    seed: int
    index: int
    difficulty: int = Field(ge=1, le=5)
    split: Split
    rules_version: str
    objective: str = Field(description="What a successful episode achieves, in words.")
    state: dict[str, Any] = Field(description="The initial world state the policy observes.")
    max_steps: int = Field(ge=1)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Step(_Model):
    think: str = ""
    action: Any = None
    expected_state_delta: dict[str, Any] | None = None


class StepVerdict(_Model):
    step_index: int = 0
    format_valid: bool
    rule_compliance: float = Field(ge=0.0, le=1.0)
    state_predictability: float = Field(ge=0.0, le=1.0)
    violations: list[Violation] = Field(default_factory=list)
    feedback: str = ""

    @property
    def hard_violation(self) -> bool:
        return any(v.severity == "hard" for v in self.violations)


class EpisodeVerdict(_Model):
    success: bool
    objective_met: bool
    outcome_reward: float = Field(ge=0.0, le=1.0)
    violations: list[Violation] = Field(default_factory=list)
    suboptimal_moves: int = 0
    steps_taken: int = 0
    format_errors: int = 0
    details: dict[str, Any] = Field(default_factory=dict)


class Provenance(_Model):
    teacher: str
    model: str | None = None
    rules_version: str
    seed: int
    difficulty: int
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    content_hash: str = ""


class Trajectory(_Model):
    id: str
    model_type: str
    species: str | None = None
    scenario: Scenario
    steps: list[Step]
    outcome: EpisodeVerdict | None = None
    provenance: Provenance

    def compute_hash(self) -> str:
        """Hash of what was decided (scenario id, rules, actions), not of when or by whom."""
        return content_hash(
            {
                "scenario": self.scenario.id,
                "rules": self.scenario.rules_version,
                "actions": [s.action for s in self.steps],
            }
        )


class LoreFact(_Model):
    text: str
    source: str = Field(description="Citation: where this fact comes from.")
    tags: list[str] = Field(default_factory=list)


class LoreBundle(_Model):
    species: str
    model_type: str
    rules_version: str
    traits: dict[str, Any] = Field(default_factory=dict)
    behaviour_patterns: list[LoreFact] = Field(default_factory=list)
    weaknesses: list[LoreFact] = Field(default_factory=list)
    resistances: list[LoreFact] = Field(default_factory=list)
    faction_relations: dict[str, str] = Field(default_factory=dict)
    facts: list[LoreFact] = Field(default_factory=list)
    consistency: list[str] = Field(
        default_factory=list, description="Disagreements found between lore and the rules."
    )


EXPORTED_MODELS: dict[str, type[BaseModel]] = {
    "Scenario": Scenario,
    "Step": Step,
    "Trajectory": Trajectory,
    "StepVerdict": StepVerdict,
    "EpisodeVerdict": EpisodeVerdict,
    "LoreBundle": LoreBundle,
    "Violation": Violation,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every exported model, keyed by name."""
    return {name: model.model_json_schema() for name, model in EXPORTED_MODELS.items()}
