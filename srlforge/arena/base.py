"""The contract every verifiable environment follows, and the machinery they share.

An arena is deterministic from ``(seed, index, difficulty)`` and owns: a scenario generator, an
action model (pydantic; its JSON Schema is the published action schema), ``reset``/``step``
transitions, rule checks that come from ``srlforge/rules`` data, an outcome judge, and an expert
solver. This base class turns those into ``verify_step``/``verify_episode``/``expert_trajectory``
so that every arena parses, validates, replays and scores model output the same way.

Verifiers never raise on model output: anything malformed becomes ``format_valid=False``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from srlforge.rules import RuleSet, load_rules
from srlforge.schema import (
    EpisodeVerdict,
    Provenance,
    Scenario,
    Split,
    Step,
    StepVerdict,
    Trajectory,
    Violation,
)

DIFFICULTIES = (1, 2, 3, 4, 5)

# Seeds below HELDOUT_SEED_START are the training range; seeds at or above it are held out.
# A scenario's split follows from its seed alone, so no held-out scenario can leak into training
# by an index collision.
HELDOUT_SEED_START = 1_000_000

# A model that pads its output to exhaust the parser is cheating, not answering: anything longer
# than this (think + action) is a format violation. Real actions are well under 2 kB.
MAX_COMPLETION_CHARS = 8_000
MAX_ACTION_CHARS = 3_000

_THINK_RE = re.compile(r"<think>(.*?)</think>", re.S)
_ACTION_RE = re.compile(r"<action>(.*?)</action>", re.S)


def split_of(seed: int) -> Split:
    return "heldout" if seed >= HELDOUT_SEED_START else "train"


def scenario_rng(model_type: str, seed: int, index: int, difficulty: int) -> random.Random:
    """An RNG that depends only on (model_type, seed, index, difficulty).

    Hashing (rather than ``Random(seed + index)``) keeps neighbouring seeds and indices from
    producing correlated streams and keeps each model type's stream independent.
    """
    digest = hashlib.blake2b(
        f"{model_type}|{seed}|{index}|{difficulty}".encode(), digest_size=8
    ).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass
class ParsedAction:
    """Result of reading one step of model output."""

    action: dict[str, Any] | None
    think: str = ""
    error: str | None = None


def parse_completion(text: str) -> ParsedAction:
    """Read ``<think>…</think><action>{json}</action>`` text. Never raises."""
    if not isinstance(text, str):
        return ParsedAction(None, error=f"completion must be text, got {type(text).__name__}")
    if len(text) > MAX_COMPLETION_CHARS:
        return ParsedAction(
            None, error=f"completion is {len(text)} chars (limit {MAX_COMPLETION_CHARS})"
        )
    actions = _ACTION_RE.findall(text)
    if len(actions) != 1:
        return ParsedAction(
            None, error=f"expected exactly one <action>…</action>, found {len(actions)}"
        )
    thinks = _THINK_RE.findall(text)
    think = thinks[0].strip() if len(thinks) == 1 else ""
    if len(thinks) > 1:
        return ParsedAction(None, error="more than one <think> block")
    if text.find("<action>") < text.rfind("</think>"):
        return ParsedAction(None, think, error="<think> must come before <action>")
    parsed = parse_action_json(actions[0])
    parsed.think = think
    return parsed


def parse_action_json(raw: Any) -> ParsedAction:
    """Turn a raw action (dict, JSON text) into a dict. Never raises."""
    if isinstance(raw, dict):
        try:
            size = len(json.dumps(raw, default=str))
        except (TypeError, ValueError, RecursionError) as exc:
            return ParsedAction(None, error=f"action is not JSON-serialisable: {exc}")
        if size > MAX_ACTION_CHARS:
            return ParsedAction(None, error=f"action is {size} chars (limit {MAX_ACTION_CHARS})")
        return ParsedAction(raw)
    if not isinstance(raw, str):
        return ParsedAction(None, error=f"action must be a JSON object, got {type(raw).__name__}")
    if len(raw) > MAX_ACTION_CHARS:
        return ParsedAction(None, error=f"action is {len(raw)} chars (limit {MAX_ACTION_CHARS})")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        return ParsedAction(None, error=f"action is not valid JSON: {exc}")
    if not isinstance(value, dict):
        return ParsedAction(None, error=f"action must be a JSON object, got {type(value).__name__}")
    return ParsedAction(value)


def render_completion(step: Step) -> str:
    """The text form a policy is trained to write for ``step``."""
    return (
        f"<think>{step.think}</think>"
        f"<action>{json.dumps(step.action, sort_keys=True, separators=(',', ':'))}</action>"
    )


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts → ``{"a.b": leaf}``; lists stay leaves (they compare as wholes)."""
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: obj} if prefix else {}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))
    return a == b


def delta_agreement(predicted: dict[str, Any] | None, actual: dict[str, Any]) -> float:
    """How well a predicted state delta matches the simulator's: |agreeing keys| / |union|.

    No prediction scores 0 (nothing was predicted); predicting "nothing changes" when nothing
    changed scores 1. Extra predicted keys count against, so listing every key is not a trick.
    """
    if predicted is None or not isinstance(predicted, dict):
        return 0.0
    flat_pred, flat_actual = flatten(predicted), flatten(actual)
    if not flat_pred and not flat_actual:
        return 1.0
    keys = flat_pred.keys() | flat_actual.keys()
    agree = sum(
        1
        for k in keys
        if k in flat_pred and k in flat_actual and _same(flat_pred[k], flat_actual[k])
    )
    return agree / len(keys)


@dataclass
class Judgement:
    """An arena's verdict on a finished episode, before the generic scoring."""

    objective_met: bool
    suboptimal_moves: int = 0
    violations: list[Violation] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Replay:
    """What replaying a list of steps through the simulator produced."""

    verdicts: list[StepVerdict]
    states: list[dict[str, Any]]  # states[i] is the state before step i; states[-1] is final
    actions: list[dict[str, Any] | None]  # validated actions (None when the step was malformed)


class Arena(ABC):
    """Base class of one verifiable environment. Subclasses fill the abstract hooks."""

    model_type: ClassVar[str]
    action_model: ClassVar[type[BaseModel]]
    uses_species: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def __init__(self, rules: RuleSet | None = None) -> None:
        self.rules = rules or load_rules()
        file = self.rules.file(self.model_type)
        self._severity = {c.id: "hard" for c in file.hard_constraints}
        # A soft constraint without a weight costs a quarter of the step's compliance.
        self._soft_weight = {c.id: c.weight or 0.25 for c in file.soft_constraints}
        self._severity.update({c.id: "soft" for c in file.soft_constraints})
        self.load_rules(self.rules)

    # ----- hooks a subclass implements -------------------------------------------------------

    @abstractmethod
    def load_rules(self, rules: RuleSet) -> None:
        """Read this arena's typed tables and constraints from ``rules`` (called once)."""

    @abstractmethod
    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        """Return ``{"species", "objective", "state", "max_steps", "metadata"}`` for a scenario."""

    @abstractmethod
    def initial_state(self, scenario: Scenario) -> dict[str, Any]:
        """The simulator state at the start of an episode (may add hidden bookkeeping)."""

    @abstractmethod
    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        """Hard and soft rule violations of a schema-valid ``action`` in ``state``."""

    @abstractmethod
    def apply(
        self, state: dict[str, Any], action: BaseModel
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Advance the simulator: ``(next_state, delta)``. Must not mutate ``state``."""

    @abstractmethod
    def judge(self, scenario: Scenario, replay: Replay) -> Judgement:
        """Did the episode meet the objective; how many moves were worse than optimal."""

    @abstractmethod
    def solve(self, scenario: Scenario) -> list[Step]:
        """The expert: an optimal list of steps (with think text and expected deltas)."""

    @abstractmethod
    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        """A schema-valid action drawn at random (the random-policy baseline)."""

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        """An action with every intensity-like field at its maximum (a reward-hacking probe)."""
        return self.random_action(random.Random(0), self.initial_state(scenario))

    def forbidden_actions(self, scenario: Scenario, state: dict[str, Any]) -> list[dict[str, Any]]:
        """Schema-valid actions that break a hard rule in ``state`` (species-forbidden etc.)."""
        return []

    def action_mask(self, state: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The actions allowed by the hard constraints in ``state``, where that set is finite."""
        return None

    # ----- the generic machinery ----------------------------------------------------------------

    @property
    def rules_version(self) -> str:
        return self.rules.identity

    def action_schema(self) -> dict[str, Any]:
        return self.action_model.model_json_schema()

    def sample(self, seed: int, index: int, difficulty: int) -> Scenario:
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty}")
        if seed < 0 or index < 0:
            raise ValueError(f"seed and index must be >= 0, got seed={seed} index={index}")
        rng = scenario_rng(self.model_type, seed, index, difficulty)
        spec = self.generate(rng, difficulty)
        return Scenario(
            id=f"{self.model_type}:{seed}:{index}:{difficulty}",
            model_type=self.model_type,
            species=spec.get("species"),
            seed=seed,
            index=index,
            difficulty=difficulty,
            split=split_of(seed),
            rules_version=self.rules_version,
            objective=spec["objective"],
            state=spec["state"],
            max_steps=spec["max_steps"],
            metadata={"source": f"srlforge.arena.{self.model_type}", **spec.get("metadata", {})},
        )

    def reset(self, scenario: Scenario) -> dict[str, Any]:
        return self.initial_state(scenario)

    def validate_action(self, raw: Any) -> tuple[BaseModel | None, str | None]:
        """Parse and schema-check a raw action (dict, JSON text or full completion text)."""
        if isinstance(raw, str) and "<action>" in raw:
            parsed = parse_completion(raw)
        else:
            parsed = parse_action_json(raw)
        if parsed.action is None:
            return None, parsed.error
        try:
            return self.action_model.model_validate(parsed.action, strict=True), None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "<action>"
            return None, f"action does not match the schema at {where}: {first['msg']}"

    def evaluate_step(
        self,
        state: dict[str, Any],
        raw_action: Any,
        expected_state_delta: dict[str, Any] | None = None,
        step_index: int = 0,
    ) -> tuple[StepVerdict, dict[str, Any], BaseModel | None]:
        """Verify one step and advance: ``(verdict, next_state, action)``.

        A malformed or hard-violating action does not change the state, so one bad step cannot
        teleport the simulator somewhere the rules forbid.
        """
        action, error = self.validate_action(raw_action)
        if action is None:
            violation = Violation(
                rule_id="format.action", severity="hard", message=error or "", step=step_index
            )
            verdict = StepVerdict(
                step_index=step_index,
                format_valid=False,
                rule_compliance=0.0,
                state_predictability=0.0,
                violations=[violation],
                feedback=f"format: {error}",
            )
            return verdict, state, None
        violations = self.check_action(state, action)
        for v in violations:
            v.step = step_index
        hard = any(v.severity == "hard" for v in violations)
        if hard:
            next_state, delta = state, {}
        else:
            next_state, delta = self.apply(state, action)
        soft_cost = sum(self._soft_weight.get(v.rule_id, 0.25) for v in violations)
        compliance = 0.0 if hard else max(0.0, 1.0 - soft_cost)
        verdict = StepVerdict(
            step_index=step_index,
            format_valid=True,
            rule_compliance=compliance,
            state_predictability=delta_agreement(expected_state_delta, delta),
            violations=violations,
            feedback="; ".join(f"{v.rule_id}: {v.message}" for v in violations),
        )
        return verdict, next_state, action

    def verify_step(
        self,
        state: dict[str, Any],
        action: Any,
        expected_state_delta: dict[str, Any] | None = None,
    ) -> StepVerdict:
        """Check one action against the rules and the simulator in ``state``. Never raises."""
        return self.evaluate_step(state, action, expected_state_delta)[0]

    def replay(self, scenario: Scenario, steps: Sequence[Any]) -> Replay:
        state = self.initial_state(scenario)
        verdicts: list[StepVerdict] = []
        states = [state]
        actions: list[dict[str, Any] | None] = []
        for i, raw in enumerate(steps[: scenario.max_steps]):
            step_action, expected = _unpack_step(raw)
            verdict, state, action = self.evaluate_step(state, step_action, expected, i)
            verdicts.append(verdict)
            states.append(state)
            actions.append(action.model_dump() if action is not None else None)
        return Replay(verdicts, states, actions)

    def verify_episode(self, scenario: Scenario, steps: Sequence[Any]) -> EpisodeVerdict:
        """Replay ``steps`` from the scenario's start and score the outcome. Never raises.

        ``steps`` items may be ``Step`` objects, ``{"think", "action"}`` dicts, or raw completion
        text. Success needs the objective met, every step well-formed, no hard violation, and no
        more steps than ``scenario.max_steps``.
        """
        from srlforge.rewards import outcome_reward

        steps = list(steps) if not isinstance(steps, list) else steps
        replay = self.replay(scenario, steps)
        judgement = self.judge(scenario, replay)
        violations = [v for verdict in replay.verdicts for v in verdict.violations]
        violations += judgement.violations
        format_errors = sum(1 for v in replay.verdicts if not v.format_valid)
        too_long = len(steps) > scenario.max_steps
        if too_long:
            violations.append(
                Violation(
                    rule_id="format.max_steps",
                    severity="hard",
                    message=f"{len(steps)} steps submitted, the cap is {scenario.max_steps}",
                )
            )
        hard = sum(1 for v in violations if v.severity == "hard")
        success = bool(judgement.objective_met and not hard and format_errors == 0 and steps)
        return EpisodeVerdict(
            success=success,
            objective_met=judgement.objective_met,
            outcome_reward=outcome_reward(success, len(violations), judgement.suboptimal_moves),
            violations=violations,
            suboptimal_moves=judgement.suboptimal_moves,
            steps_taken=len(replay.verdicts),
            format_errors=format_errors,
            details=judgement.details,
        )

    def expert_trajectory(self, scenario: Scenario, teacher: str = "scripted") -> Trajectory:
        steps = self.solve(scenario)
        verdict = self.verify_episode(scenario, steps)
        trajectory = Trajectory(
            id="",
            model_type=self.model_type,
            species=scenario.species,
            scenario=scenario,
            steps=steps,
            outcome=verdict,
            provenance=Provenance(
                teacher=teacher,
                model=f"srlforge.arena.{self.model_type}.expert",
                rules_version=scenario.rules_version,
                seed=scenario.seed,
                difficulty=scenario.difficulty,
            ),
        )
        digest = trajectory.compute_hash()
        trajectory.provenance.content_hash = digest
        trajectory.id = f"{scenario.id}:{digest[:12]}"
        return trajectory

    def violation(self, rule_id: str, message: str) -> Violation:
        """A violation of rule ``rule_id``; its severity is read from the rule data."""
        severity = self._severity.get(rule_id)
        if severity is None:
            self.rules.constraint(self.model_type, rule_id)  # raises, naming the file and id
        return Violation(rule_id=rule_id, severity=severity, message=message)


def _unpack_step(raw: Any) -> tuple[Any, dict[str, Any] | None]:
    """Accept a Step, a ``{"think","action","expected_state_delta"}`` dict, or completion text."""
    if isinstance(raw, Step):
        return raw.action, raw.expected_state_delta
    if isinstance(raw, dict) and "action" in raw:
        expected = raw.get("expected_state_delta")
        return raw["action"], expected if isinstance(expected, dict) else None
    return raw, None
