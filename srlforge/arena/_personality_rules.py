"""Typed tables of ``personality.yaml`` and the lookups the simulator reads them through.

Everything the personality simulator compares against (noise ranges, thresholds, vocabularies,
hunter strength, difficulty ladder) is validated here once and compiled into plain dicts, so the
hot path does dictionary lookups rather than model attribute walks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from srlforge.rules import RuleFileError, RuleSet
from srlforge.rules.species import Species, load_species

# The simulator implements exactly these action kinds; the data must describe each of them.
ACTION_KINDS = (
    "move",
    "stalk",
    "flee",
    "hide",
    "attack",
    "negotiate",
    "call_pack",
    "use_ability",
    "feed",
    "wait",
)
OBJECTIVE_KINDS = ("reach_refuge", "feed_unseen", "lure", "negotiate_passage", "defend_lair")
TAGS = ("indoors", "private_home", "consecrated", "running_water", "lit", "cover", "garlic")
# Upper bound of timing.turns in the action schema; the rule data may only lower it.
SCHEMA_MAX_TURNS = 12


R = TypeVar("R", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocationRow(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    tags: list[Literal[TAGS]]  # type: ignore[valid-type]


class WeaponRow(_Strict):
    name: str
    damage: int = Field(ge=0, le=50)
    damage_type: str


class HunterLevel(_Strict):
    level: int = Field(ge=1, le=5)
    hp: int = Field(ge=1)
    strikes: int = Field(ge=0)
    save: int = Field(ge=1, le=30)
    resolve: int = Field(ge=0, le=10)


class ActionRow(_Strict):
    name: Literal[ACTION_KINDS]  # type: ignore[valid-type]
    target: Literal["location", "here", "player", "victim"]
    durative: bool
    noise: int = Field(ge=0, le=5)
    conceals: bool


class OfferRow(_Strict):
    name: str = Field(pattern=r"^[a-z_]+$")
    trait: Literal["charisma", "intelligence", "aggression", "survival_instinct", "faction_loyalty"]


class Band(_Strict):
    max: int
    trait: int = Field(ge=1, le=5)


class MoonRow(_Strict):
    name: str
    lights_outdoors: bool
    stirs_moon_bound: bool


class ObjectiveRow(_Strict):
    kind: Literal[OBJECTIVE_KINDS]  # type: ignore[valid-type]
    goal: str
    text: str


class DifficultyRow(_Strict):
    level: int = Field(ge=1, le=5)
    nodes: int = Field(ge=4, le=12)
    extra_edges: int = Field(ge=0, le=6)
    slack: int = Field(ge=0, le=6)
    hunter_level: int = Field(ge=1, le=5)
    bane_chance: float = Field(ge=0.0, le=1.0)
    compound_chance: float = Field(ge=0.0, le=1.0)
    start_distance: int = Field(ge=1, le=6)


class Rows(_Strict, Generic[R]):
    """A table of rows with one citation for all of them."""

    source: str
    rows: list[R] = Field(min_length=1)


class TraitsTable(_Strict):
    source: str
    score_bands: list[Band] = Field(min_length=1)
    jitter: int = Field(ge=0, le=2)


class EmotionsTable(_Strict):
    source: str
    cap: int = Field(ge=1, le=10)
    fear_on_hit: int = Field(ge=0)
    fear_on_threat: int = Field(ge=0)
    fear_calm_distance: int = Field(ge=1)
    rage_on_hit: int = Field(ge=0)
    rage_on_intrusion: int = Field(ge=0)
    curiosity_threshold: int = Field(ge=1)
    curiosity_bonus: int = Field(ge=0)
    rage_limit: int = Field(ge=1)
    flee_fear: int = Field(ge=0)
    hunger_frenzy: int = Field(ge=1)
    panic_at: dict[int, int]
    retreat_fraction: dict[int, float]


class SimulationTable(_Strict):
    source: str
    base_speed_ft: int = Field(ge=5)
    max_turns: int = Field(ge=4, le=12)
    dawn_window: tuple[int, int]
    dawn_margin: int = Field(ge=1, le=6)
    max_action_turns: int = Field(ge=1, le=SCHEMA_MAX_TURNS)
    flee_hops: int = Field(ge=1, le=2)
    repel_turns: int = Field(ge=1)
    pack_reach: int = Field(ge=0, le=2)
    pack_loyalty_min: int = Field(ge=1, le=5)
    dull_intelligence: int = Field(ge=0, le=5)
    timid_aggression: int = Field(ge=0, le=5)
    bane_effect: float = Field(gt=0.0, le=1.0)
    soft_cost: float = Field(gt=0)
    step_cost: float = Field(ge=0, lt=1)
    attempts: int = Field(ge=1, le=20)


@dataclass(frozen=True)
class Config:
    """Compiled personality rules: plain dicts and numbers for the simulator and the search."""

    species: dict[str, Species]
    locations: dict[str, tuple[str, ...]]
    weapons: dict[str, WeaponRow]
    levels: dict[int, HunterLevel]
    actions: dict[str, ActionRow]
    offers: dict[str, str]  # offer -> trait it leans on
    bands: tuple[tuple[int, int], ...]
    jitter: int
    emo: EmotionsTable
    moons: dict[str, MoonRow]
    sim: SimulationTable
    objectives: dict[str, ObjectiveRow]
    goal_objective: dict[str, str]
    difficulty: dict[int, DifficultyRow]
    sources: dict[str, str]  # rule id -> its cited source (for the expert's think text)

    def trait_from_score(self, score: int) -> int:
        for top, trait in self.bands:
            if score <= top:
                return trait
        return self.bands[-1][1]


def _fail(rules: RuleSet, name: str, where: str, message: str) -> RuleFileError:
    return RuleFileError(f"{rules.root / (name + '.yaml')}: at {where}: {message}")


def compile_config(rules: RuleSet) -> Config:
    """Validate ``personality.yaml`` (and its cross-references into ``species.yaml``)."""
    t = "personality"
    locs = rules.table(t, "locations", Rows[LocationRow]).rows
    weapons = rules.table(t, "weapons", Rows[WeaponRow]).rows
    levels = rules.table(t, "hunter_levels", Rows[HunterLevel]).rows
    actions = rules.table(t, "actions", Rows[ActionRow]).rows
    offers = rules.table(t, "offers", Rows[OfferRow]).rows
    moons = rules.table(t, "moon_phases", Rows[MoonRow]).rows
    objectives = rules.table(t, "objectives", Rows[ObjectiveRow]).rows
    ladder = rules.table(t, "difficulty", Rows[DifficultyRow]).rows
    traits = rules.table(t, "traits", TraitsTable)
    emo = rules.table(t, "emotions", EmotionsTable)
    sim = rules.table(t, "simulation", SimulationTable)

    action_map = {a.name: a for a in actions}
    missing = [k for k in ACTION_KINDS if k not in action_map]
    if missing:
        raise _fail(rules, t, "tables.actions.rows", f"missing rows for actions {missing}")
    by_level = {lv.level: lv for lv in levels}
    ladder_map = {d.level: d for d in ladder}
    for name, table, want in (("hunter_levels", by_level, 5), ("difficulty", ladder_map, 5)):
        if sorted(table) != list(range(1, want + 1)):
            raise _fail(rules, t, f"tables.{name}.rows", "needs one row per level 1-5")
    for key in ("panic_at", "retreat_fraction"):
        if sorted(getattr(emo, key)) != [1, 2, 3, 4, 5]:
            raise _fail(rules, t, f"tables.emotions.{key}", "needs keys 1-5 (survival instinct)")
    obj_map = {o.kind: o for o in objectives}
    if sorted(obj_map) != sorted(OBJECTIVE_KINDS):
        raise _fail(rules, t, "tables.objectives.rows", f"needs exactly {OBJECTIVE_KINDS}")
    loc_map = {loc.name: tuple(loc.tags) for loc in locs}
    weapon_map = {w.name: w for w in weapons}
    species = load_species(rules)
    goal_objective = {o.goal: o.kind for o in objectives}
    for name, sp in species.items():
        where = f"tables.species.rows[{name}]"
        if set(sp.weapon_effect) != set(weapon_map):
            raise _fail(
                rules,
                "species",
                f"{where}.weapon_effect",
                f"must list every weapon of personality.yaml: {sorted(weapon_map)}",
            )
        bad = [p for p in sp.resting_places if p not in loc_map]
        if bad:
            raise _fail(rules, "species", f"{where}.resting_places", f"unknown locations {bad}")
        if sp.sunlight == "burns" and not all("indoors" in loc_map[p] for p in sp.resting_places):
            raise _fail(
                rules,
                "species",
                f"{where}.resting_places",
                "a species that burns in sunlight needs indoor resting places",
            )
        bad = [g for g in sp.personal_goals if g not in goal_objective]
        if bad:
            raise _fail(
                rules,
                "species",
                f"{where}.personal_goals",
                f"unknown goals {bad}; known: {sorted(goal_objective)}",
            )
    sources = {c.id: c.source for c in rules.file(t).hard_constraints}
    sources.update({c.id: c.source for c in rules.file(t).soft_constraints})
    return Config(
        species=species,
        locations=loc_map,
        weapons=weapon_map,
        levels=by_level,
        actions=action_map,
        offers={o.name: o.trait for o in offers},
        bands=tuple((b.max, b.trait) for b in traits.score_bands),
        jitter=traits.jitter,
        emo=emo,
        moons={m.name: m for m in moons},
        sim=sim,
        objectives=obj_map,
        goal_objective=goal_objective,
        difficulty=ladder_map,
        sources=sources,
    )
