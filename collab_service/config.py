"""What a generation request asks for (``GenerationConfig``), what it reports while running
(``Progress``) and what it produced (``GenerationResult``)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collab_service.strategies import STRATEGIES
from srlforge.arena import DIFFICULTIES
from srlforge.llm import TEACHERS
from srlforge.schema import Trajectory


@dataclass
class GenerationConfig:
    """What to generate. Stored verbatim in the manifest (no secrets live here)."""

    model_type: str
    n: int
    species: str | None = None
    teacher: str = "scripted"
    model: str | None = None
    strategy: str | None = None  # None: synthetic for the scripted teacher, else collaboration
    seed: int = 0
    difficulties: tuple[int, ...] = DIFFICULTIES
    rounds: int = 3
    concurrency: int = 16
    near_duplicate_threshold: float = 0.97
    weaknesses: list[dict[str, Any]] = field(default_factory=list)
    failed_scenario_ids: list[str] = field(default_factory=list)
    skip_produced: bool = False
    judge: str = "none"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        self.difficulties = tuple(self.difficulties)
        targets = bool(self.weaknesses or self.failed_scenario_ids)
        if self.strategy is None:
            if targets:
                self.strategy = "adversarial"
            else:
                self.strategy = "synthetic" if self.teacher == "scripted" else "collaboration"
        if targets and self.strategy != "adversarial":
            raise ValueError(
                f"weaknesses and failed scenario ids are targets of strategy 'adversarial', "
                f"not {self.strategy!r}"
            )
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher {self.teacher!r}; choose one of {', '.join(TEACHERS)}")
        if self.judge not in ("none", "openai"):
            raise ValueError(f"judge {self.judge!r}; choose none or openai")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if self.strategy == "synthetic" and self.teacher != "scripted":
            raise ValueError(
                f"strategy 'synthetic' is solved by the scripted expert; teacher "
                f"{self.teacher!r} needs --strategy collaboration or adversarial"
            )
        bad = [d for d in self.difficulties if d not in DIFFICULTIES]
        if bad or not self.difficulties:
            raise ValueError(f"difficulties must be a non-empty subset of {DIFFICULTIES}: {bad}")
        if not 1 <= self.rounds <= 10:
            raise ValueError(f"rounds must be in 1..10, got {self.rounds}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class Progress:
    request_id: str
    round: int
    attempted: int
    requested: int
    kept: int
    failed: int
    duplicates: int
    message: str = ""


@dataclass
class GenerationResult:
    config: GenerationConfig
    rules_version: str
    teacher_model: str
    kept: list[Trajectory] = field(default_factory=list)
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    failure_examples: dict[str, str] = field(default_factory=dict)
    duplicates: Counter[str] = field(default_factory=Counter)
    rounds_run: int = 0
    attempted: int = 0
    revisions: int = 0
    teacher_requests: int = 0
    cancelled: bool = False
    coverage: dict[str, Any] = field(default_factory=dict)
    consistency: dict[str, Any] = field(default_factory=dict)
    unmatched_targets: list[str] = field(default_factory=list)
    transport: dict[str, Any] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    @property
    def duplicate_total(self) -> int:
        return sum(self.duplicates.values())

    def summary(self) -> dict[str, Any]:
        return {
            "requested": self.config.n,
            "kept": len(self.kept),
            "failed": self.failed,
            "duplicates": self.duplicate_total,
        }
