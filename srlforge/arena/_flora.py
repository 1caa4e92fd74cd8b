"""Shared machinery of the plants and trees arenas: the scene grid, zones, growth-stage height
bands, the brief, and a ``FloraArena`` base that generates, judges and solves scenes.

A scene is a small grid of cells (``c0``… in row-major order) with moisture, soil and features
(a path row and a crypt cell block planting). A brief lists requirements, each one role to fill
with one finished element in a zone of cells. An element is built in dependent steps (a plant is
placed before it is dressed; a tree is planted, shaped, then voiced), so step order is forced by
construction: a step on an element that is not yet there is a hard violation.
"""

from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from srlforge.arena.base import Arena, Judgement, Replay
from srlforge.rules import RuleFileError, RuleSet
from srlforge.schema import Scenario, Step

Moisture = Literal["dry", "moist", "wet"]
Soil = Literal["loam", "sand", "peat", "chalk", "disturbed", "rock"]
ZoneId = Literal["along_path", "near_crypt", "anywhere"]

CELL_PATTERN = r"^c[0-9]{1,2}$"
VOCAB_PATTERN = r"^[a-z_]{1,32}$"

R = TypeVar("R", bound=BaseModel)


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rows(BaseModel, Generic[R]):
    """A cited table of rows; ``extra="forbid"`` so a misspelt key fails with its path."""

    model_config = ConfigDict(extra="forbid")

    source: str
    rows: list[R] = Field(min_length=1)


class StageRow(Row):
    id: str
    # The band edge is factor × the species' min or max mature height (see the stages table).
    lo: tuple[Literal["min", "max"], float]
    hi: tuple[Literal["min", "max"], float]
    alive: bool
    can_flower: bool = False


class LevelRow(Row):
    level: int = Field(ge=1, le=5)
    width: int = Field(ge=3, le=6)
    height: int = Field(ge=3, le=6)
    requirements: int = Field(ge=1, le=6)
    zone_size: int = Field(ge=1, le=8)
    overlap: bool
    slack: int = Field(ge=0, le=6)
    roles: list[str] = Field(min_length=1)
    tone_band: bool = False


class ZoneRow(Row):
    id: ZoneId
    where: str


class ZoneTable(Rows[ZoneRow]):
    blocking_features: list[str]


class SeasonRow(Row):
    id: str
    months: list[int]


class Strict(BaseModel):
    """Base of the action models: unknown keys and NaN/inf are schema errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Timing(Strict):
    month: int = Field(ge=1, le=12)


class Metadata(Strict):
    note: str = Field(default="", max_length=120)


def field_max(model: type[BaseModel], name: str) -> float:
    """The schema's upper bound (``le``) of a numeric field: what a saturated probe writes."""
    return next(m.le for m in model.model_fields[name].metadata if hasattr(m, "le"))


def stage_band(stage: StageRow, lo: float, hi: float) -> tuple[float, float]:
    """Height band of ``stage`` for a species whose mature height range is [lo, hi]."""
    ref = {"min": lo, "max": hi}
    return ref[stage.lo[0]] * stage.lo[1], ref[stage.hi[0]] * stage.hi[1]


def build_grid(
    rng: random.Random, level: LevelRow, moisture: Sequence[str], soils: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """A grid with one path row and one crypt cell; returns (cells, zone → plantable cell ids)."""
    w, h = level.width, level.height
    path_row = rng.randint(1, h - 2)
    crypt = rng.choice([(x, y) for y in range(h) for x in range(w) if y != path_row])
    cells: list[dict[str, Any]] = []
    for y in range(h):
        for x in range(w):
            features = ["path"] if y == path_row else (["crypt"] if (x, y) == crypt else [])
            cells.append(
                {
                    "id": f"c{len(cells)}",
                    "x": x,
                    "y": y,
                    "moisture": rng.choice(moisture),
                    "soil": rng.choice(soils),
                    "features": features,
                }
            )
    plantable = [c for c in cells if not c["features"]]
    zones = {
        "anywhere": [c["id"] for c in plantable],
        "along_path": [c["id"] for c in plantable if abs(c["y"] - path_row) == 1],
        "near_crypt": [
            c["id"] for c in plantable if max(abs(c["x"] - crypt[0]), abs(c["y"] - crypt[1])) == 1
        ],
    }
    return cells, zones


def neighbours4(cell: dict[str, Any], cells: Sequence[dict[str, Any]], width: int) -> list[str]:
    x, y, height = cell["x"], cell["y"], len(cells) // width
    return [
        cells[(y + dy) * width + x + dx]["id"]
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
        if 0 <= x + dx < width and 0 <= y + dy < height
    ]


def pick_zone(
    rng: random.Random, zones: dict[str, list[str]], zone_id: str, used: set[str], level: LevelRow
) -> tuple[str, str, list[str]] | None:
    """Choose (zone id, hidden target cell, zone cells) for a requirement; fall back to anywhere.

    The zone in the brief is the target plus distractor cells; only overlapping levels let the
    distractors include cells another requirement needs, so requirements compete for them.
    """
    for zid in (zone_id, "anywhere"):
        free = [c for c in zones[zid] if c not in used]
        if not free:
            continue
        target = rng.choice(free)
        pool = [c for c in zones[zid] if c != target and (level.overlap or c not in used)]
        extra = rng.sample(pool, min(len(pool), level.zone_size - 1))
        return zid, target, sorted([target, *extra], key=lambda c: int(c[1:]))
    return None


def match_brief(
    brief: Sequence[dict[str, Any]], keys: Sequence[str], fills: Callable[[dict, str], bool]
) -> dict[str, str]:
    """Requirement id → a distinct element key that fills it (augmenting-path matching)."""
    options = {r["id"]: [k for k in keys if fills(r, k)] for r in brief}
    owner: dict[str, str] = {}

    def augment(rid: str, seen: set[str]) -> bool:
        for key in options[rid]:
            if key not in seen:
                seen.add(key)
                if key not in owner or augment(owner[key], seen):
                    owner[key] = rid
                    return True
        return False

    for r in brief:
        augment(r["id"], set())
    return {rid: key for key, rid in owner.items()}


def backtrack(options: Sequence[Sequence[tuple[str, Any]]]) -> list[Any] | None:
    """One option per requirement with no slot used twice (first fit, in the given order)."""
    chosen: list[Any] = []
    used: set[str] = set()

    def go(i: int) -> bool:
        if i == len(options):
            return True
        for slot, payload in options[i]:
            if slot not in used:
                used.add(slot)
                chosen.append(payload)
                if go(i + 1):
                    return True
                used.discard(slot)
                chosen.pop()
        return False

    return chosen if go(0) else None


class FloraArena(Arena):
    """Generation, judging and the expert shared by plants and trees; subclasses add species.

    Subclass hooks: ``_load_species`` (tables), ``_scene`` (cells + state extras),
    ``_role_species`` / ``_fit_cell`` / ``_fits`` (what can fill a role where),
    ``_decorate`` (extra requirement fields), ``_element_actions`` (the expert's steps for one
    element), ``_complete`` and ``_fills`` (judging a finished element).
    """

    steps_per_element: ClassVar[int]

    def load_rules(self, rules: RuleSet) -> None:
        t = self.model_type
        self.stages = {s.id: s for s in rules.table(t, "stages", Rows[StageRow]).rows}
        self.levels = {r.level: r for r in rules.table(t, "levels", Rows[LevelRow]).rows}
        missing = sorted(set(range(1, 6)) - self.levels.keys())
        if missing:
            raise RuleFileError(f"{rules.root / t}.yaml: tables.levels lacks levels {missing}")
        zones = rules.table(t, "zones", ZoneTable)
        self.zone_where = {z.id: z.where for z in zones.rows}
        self.blocking = frozenset(zones.blocking_features)
        seasons = rules.table(t, "seasons", Rows[SeasonRow]).rows
        self.season_of = {m: s.id for s in seasons for m in s.months}
        self._load_species(rules)

    @abstractmethod
    def _load_species(self, rules: RuleSet) -> None:
        """Read the species, biome and role tables (sets ``biome_ids``, ``biome_species``)."""

    def _where(self, path: str, bad: Any) -> RuleFileError:
        return RuleFileError(f"{self.rules.root / self.model_type}.yaml: at {path}: unknown {bad}")

    # ----- scenario --------------------------------------------------------------------------

    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        level = self.levels[difficulty]
        biome = rng.choice(self.biome_ids)
        month = rng.randint(1, 12)
        state = self._scene(rng, level, biome, month)
        cells, zones = state["cells"], state.pop("_zones")
        brief: list[dict[str, Any]] = []
        used: set[str] = set()
        for _ in range(level.requirements):
            roles = [r for r in level.roles if self._role_species(biome, r, month)]
            if not roles:
                break
            role = rng.choice(roles)
            picked = pick_zone(rng, zones, self.roles[role].zone, used, level)
            if picked is None:
                break
            zid, target, zone = picked
            cell = cells[int(target[1:])]
            candidates = self._role_species(biome, role, month)
            for sp in rng.sample(candidates, len(candidates)):
                before = dict(cell)
                self._fit_cell(rng, cell, sp, biome, month)
                if self._fits(cell, sp, role, month):
                    break
                cell.clear()
                cell.update(before)
            else:
                continue
            used.add(target)
            req = {"id": f"r{len(brief) + 1}", "role": role, "where": self.zone_where[zid]}
            req["zone"] = zone
            self._decorate(rng, req, level, state)
            brief.append(req)
        state["brief"] = brief
        state["placed"] = {}
        claims: dict[str, int] = {}
        for r in brief:
            for c in r["zone"]:
                claims[c] = claims.get(c, 0) + 1
        roles_text = ", ".join(f"{r['role']} {r['where']}" for r in brief)
        return {
            "species": None,
            "objective": f"Fill the brief ({roles_text}) for {biome} in month {month}.",
            "state": state,
            "max_steps": len(brief) * self.steps_per_element + level.slack,
            "metadata": {
                "difficulty": difficulty,
                "biome": biome,
                "month": month,
                "season": self.season_of[month],
                "cells": len(cells),
                "requirements": len(brief),
                "roles": sorted(r["role"] for r in brief),
                "zone_cells": sum(len(r["zone"]) for r in brief),
                "contested_cells": sum(1 for n in claims.values() if n > 1),
                "tone_bands": sum(1 for r in brief if "tone_hz" in r),
            },
        }

    def initial_state(self, scenario: Scenario) -> dict[str, Any]:
        # Shallow: apply() never mutates, it builds a new top level and a new `placed` map.
        return {**scenario.state, "placed": dict(scenario.state.get("placed", {}))}

    # ----- judging ---------------------------------------------------------------------------

    def judge(self, scenario: Scenario, replay: Replay) -> Judgement:
        state = replay.states[-1]
        placed = state["placed"]
        brief = state["brief"]
        incomplete = sorted(k for k, e in placed.items() if not self._complete(e))
        matched = match_brief(
            brief, sorted(placed), lambda r, k: k not in incomplete and self._fills(r, k, state)
        )
        clutter = sorted(set(placed) - set(matched.values()))
        violations = [
            self.violation("brief.clutter", f"{k} fills no brief requirement") for k in clutter
        ]
        accepted = sum(1 for v in replay.verdicts if v.format_valid and not v.hard_violation)
        optimal = len(brief) * self.steps_per_element
        return Judgement(
            objective_met=bool(brief) and not incomplete and len(matched) == len(brief),
            suboptimal_moves=max(0, accepted - optimal),
            violations=violations,
            details={
                "matched": matched,
                "unmet": [r["id"] for r in brief if r["id"] not in matched],
                "incomplete": incomplete,
            },
        )

    # ----- the expert ------------------------------------------------------------------------

    def solve(self, scenario: Scenario) -> list[Step]:
        state = self.initial_state(scenario)
        month, biome, cells = state["month"], state["biome"], state["cells"]
        options = [
            [
                (cid, (req, cells[int(cid[1:])], sp))
                for cid in req["zone"]
                for sp in self.biome_species[biome]
                if self._fits(cells[int(cid[1:])], sp, req["role"], month)
            ]
            for req in state["brief"]
        ]
        plan = backtrack(options)
        if plan is None:
            raise RuntimeError(f"{scenario.id}: no assignment fills the brief")
        # Layered construction: higher layers (canopy, shrubs) are built before lower ones.
        plan.sort(key=lambda item: self._rank(item[2]))
        steps: list[Step] = []
        for req, cell, sp in plan:
            for think, action in self._element_actions(state, req, cell, sp):
                model = self.action_model.model_validate(action, strict=True)
                state, delta = self.apply(state, model)
                steps.append(Step(think=think, action=action, expected_state_delta=delta))
        return steps

    # ----- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def _scene(self, rng, level: LevelRow, biome: str, month: int) -> dict[str, Any]:
        """The scene state without a brief; ``_zones`` holds zone → plantable cell ids."""

    @abstractmethod
    def _role_species(self, biome: str, role: str, month: int) -> list[Any]:
        """Species of ``biome`` that can fill ``role`` this month, wherever they stand."""

    @abstractmethod
    def _fit_cell(self, rng, cell: dict, sp: Any, biome: str, month: int) -> None:
        """Make a hidden target cell suit ``sp`` (so every generated brief is solvable)."""

    @abstractmethod
    def _fits(self, cell: dict, sp: Any, role: str, month: int) -> bool:
        """Can ``sp`` fill ``role`` in the empty ``cell`` with no hard or soft violation?"""

    def _decorate(self, rng, req: dict, level: LevelRow, state: dict) -> None:
        """Add arena-specific fields to a requirement (default: none)."""

    @abstractmethod
    def _rank(self, sp: Any) -> int:
        """Layer rank of ``sp``: lower ranks are built first."""

    @abstractmethod
    def _element_actions(self, state, req, cell, sp) -> list[tuple[str, dict[str, Any]]]:
        """The expert's (think, action) steps that build one element."""

    @abstractmethod
    def _complete(self, element: dict[str, Any]) -> bool:
        """Is the element fully built?"""

    @abstractmethod
    def _fills(self, req: dict[str, Any], key: str, state: dict[str, Any]) -> bool:
        """Does finished element ``key`` fill requirement ``req``?"""
