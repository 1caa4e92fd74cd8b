"""Typed tables of ``animals.yaml`` and the lookups the animals checks are built from.

``Ecology`` validates every table with pydantic through ``RuleSet.table`` (so a malformed file
fails naming the file and the path inside it), cross-checks the names tables share, and turns
the rows into dicts and frozensets once per rule set: the checks in ``_animals_rules`` then only
do lookups, which keeps ``verify_step`` fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srlforge.rules import RuleFileError, RuleSet

Slot = Literal["dawn", "day", "dusk", "night"]
Season = Literal["winter", "spring", "summer", "autumn"]
Size = Literal["Tiny", "Small", "Medium", "Large", "Huge"]
Unit = Literal[
    "solitary", "pair", "family", "pack", "herd", "sounder", "colony", "roost", "sow_with_cubs",
    "swarm",
]  # fmt: skip
PlayerResponse = Literal[
    "flee", "avoid", "wary", "tolerate", "approach", "bluff_charge", "defensive", "aggressive"
]
MonsterResponse = Literal["none", "flee", "wary", "ally"]

Group = dict[str, Any]
Found = list[tuple[str, str]]  # (rule id, message)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


Band = tuple[int, int]


def _ordered(band: Band | None) -> Band | None:
    if band is not None and band[0] > band[1]:
        raise ValueError(f"range {list(band)} has its low end above its high end")
    return band


class SlotRow(_Row):
    slot: Slot
    sun_up: bool


class TimeSlots(_Table):
    rows: list[SlotRow] = Field(min_length=1)


class ActivityPatterns(_Table):
    patterns: dict[str, list[Slot]]


class Seasons(_Table):
    months: dict[Season, list[int]]


class TerrainRow(_Row):
    terrain: str = Field(pattern=r"^[a-z_]+$")
    outdoors: bool


class Terrains(_Table):
    rows: list[TerrainRow]


class SizeLoad(_Table):
    loads: dict[Size, float]


class UnitSpec(_Row):
    count: Band
    band: Band | None = None
    size: Size | None = None
    summoned_only: bool = False

    @model_validator(mode="after")
    def _ranges(self) -> UnitSpec:
        _ordered(self.count)
        _ordered(self.band)
        return self


class SrdStats(_Row):
    block: str
    size: Size
    speed: dict[str, int]
    senses: dict[str, int]


class SpeciesRow(_Row):
    species: str = Field(pattern=r"^[a-z_]+$")
    srd: SrdStats
    habitat: list[str] = Field(min_length=1)
    activity: list[str] = Field(min_length=1)
    activity_uncertain: bool = False
    units: dict[Unit, UnitSpec] = Field(min_length=1)
    responses: list[PlayerResponse] = Field(min_length=1)
    responses_uncertain: bool = False
    dormant: list[Season] = Field(default_factory=list)


class SpeciesTable(_Table):
    rows: list[SpeciesRow]


class DietRow(_Row):
    predator: str
    prey: list[str] = Field(min_length=1)


class Diet(_Table):
    rows: list[DietRow]


class SeasonalResponse(_Row):
    species: str
    months: list[int] = Field(min_length=1)
    during: list[PlayerResponse]
    otherwise: list[PlayerResponse]
    rule: str


class SeasonalResponses(_Table):
    rows: list[SeasonalResponse]


class SeasonalUnit(_Row):
    species: str
    seasons: list[Season]
    units: list[Unit]
    rule: str


class SeasonalUnits(_Table):
    rows: list[SeasonalUnit]


class Summon(_Row):
    species: str
    unit: Unit
    count: Band
    outdoors_only: bool = False


class MonsterRow(_Row):
    species: str
    undead: bool
    active: list[Slot]
    lair_terrains: list[str] = Field(min_length=1)
    summons: list[Summon] = Field(default_factory=list)


class Monsters(_Table):
    rows: list[MonsterRow]


class MonsterResponses(_Table):
    undead: list[MonsterResponse]
    living: list[MonsterResponse]
    absent: list[MonsterResponse]


class BriefVocabulary(_Table):
    omen_species: list[str]
    threat_responses: list[PlayerResponse]


class Level(_Row):
    patches: int = Field(ge=3, le=10)
    extra_edges: int = Field(ge=0, le=6)
    window: list[int] = Field(min_length=1)
    plan: list[Literal["chain", "presence", "omen", "threat", "summon"]] = Field(min_length=1)
    monster_p: float = Field(ge=0.0, le=1.0)
    hunt_p: float = Field(ge=0.0, le=1.0)
    slack: Band
    vague: bool


class Difficulty(_Table):
    levels: dict[int, Level]


@dataclass(frozen=True)
class SpeciesInfo:
    name: str
    habitat: frozenset[str]
    hard_slots: frozenset[str]  # every slot when the activity row is uncertain
    usual_slots: frozenset[str]
    activity_uncertain: bool
    units: dict[str, UnitSpec]
    unit_load: dict[str, float]  # 5-ft squares per individual
    responses: tuple[str, ...]
    responses_uncertain: bool
    dormant: frozenset[str]
    size: str


@dataclass(frozen=True)
class MonsterInfo:
    name: str
    undead: bool
    active: tuple[str, ...]
    lair_terrains: tuple[str, ...]
    summons: dict[str, Summon]


class Ecology:
    """Every animals table, validated and turned into lookups (built once per rule set)."""

    def __init__(self, rules: RuleSet) -> None:
        def table(name: str, model: type[BaseModel]) -> Any:
            return rules.table("animals", name, model)

        path = rules.root / "animals.yaml"
        slots = table("time_slots", TimeSlots)
        self.slots: tuple[str, ...] = tuple(r.slot for r in slots.rows)
        self.sun_up = {r.slot: r.sun_up for r in slots.rows}
        patterns = table("activity_patterns", ActivityPatterns).patterns
        seasons = table("seasons", Seasons).months
        self.season_of = {m: s for s, months in seasons.items() for m in months}
        if sorted(self.season_of) != list(range(1, 13)):
            raise RuleFileError(f"{path}: at tables.seasons.months: every month 1-12 exactly once")
        self.outdoors = {r.terrain: r.outdoors for r in table("terrains", Terrains).rows}
        self.terrains: tuple[str, ...] = tuple(self.outdoors)
        loads = table("size_load", SizeLoad).loads
        self.species: dict[str, SpeciesInfo] = {}
        for i, row in enumerate(table("species", SpeciesTable).rows):
            where = f"{path}: at tables.species.rows[{i}]"
            unknown = [t for t in row.habitat if t not in self.outdoors]
            unknown += [p for p in row.activity if p not in patterns]
            if unknown:
                raise RuleFileError(f"{where}: unknown terrain or activity pattern {unknown}")
            usual = frozenset(s for p in row.activity for s in patterns[p])
            self.species[row.species] = SpeciesInfo(
                name=row.species,
                habitat=frozenset(row.habitat),
                hard_slots=frozenset(self.slots) if row.activity_uncertain else usual,
                usual_slots=usual,
                activity_uncertain=row.activity_uncertain,
                units=dict(row.units),
                unit_load={u: loads[spec.size or row.srd.size] for u, spec in row.units.items()},
                responses=tuple(row.responses),
                responses_uncertain=row.responses_uncertain,
                dormant=frozenset(row.dormant),
                size=row.srd.size,
            )
        self.prey_of: dict[str, frozenset[str]] = {}
        for i, row in enumerate(table("diet", Diet).rows):
            self._known([row.predator, *row.prey], f"{path}: at tables.diet.rows[{i}]")
            self.prey_of[row.predator] = frozenset(row.prey)
        self.predators_of: dict[str, frozenset[str]] = {
            prey: frozenset(p for p, preys in self.prey_of.items() if prey in preys)
            for prey in self.species
        }
        known_rules = {c.id for c in rules.file("animals").hard_constraints} | {
            c.id for c in rules.file("animals").soft_constraints
        }
        self.seasonal_responses: dict[str, list[SeasonalResponse]] = {}
        for i, row in enumerate(table("seasonal_responses", SeasonalResponses).rows):
            self._known([row.species], f"{path}: at tables.seasonal_responses.rows[{i}]")
            self._rule(row.rule, known_rules, f"{path}: at tables.seasonal_responses.rows[{i}]")
            self.seasonal_responses.setdefault(row.species, []).append(row)
        self.seasonal_units: dict[str, list[SeasonalUnit]] = {}
        for i, row in enumerate(table("seasonal_units", SeasonalUnits).rows):
            self._known([row.species], f"{path}: at tables.seasonal_units.rows[{i}]")
            self._rule(row.rule, known_rules, f"{path}: at tables.seasonal_units.rows[{i}]")
            self.seasonal_units.setdefault(row.species, []).append(row)
        self.monsters: dict[str, MonsterInfo] = {}
        for i, row in enumerate(table("monsters", Monsters).rows):
            self._known([s.species for s in row.summons], f"{path}: at tables.monsters.rows[{i}]")
            self.monsters[row.species] = MonsterInfo(
                row.species,
                row.undead,
                tuple(row.active),
                tuple(row.lair_terrains),
                {s.species: s for s in row.summons},
            )
        responses = table("monster_responses", MonsterResponses)
        self.monster_responses = {
            "undead": tuple(responses.undead),
            "living": tuple(responses.living),
            "absent": tuple(responses.absent),
        }
        brief = table("brief", BriefVocabulary)
        self._known(brief.omen_species, f"{path}: at tables.brief.omen_species")
        self.omen_species = tuple(brief.omen_species)
        self.threat_responses = frozenset(brief.threat_responses)
        self.levels = table("difficulty", Difficulty).levels

    def _known(self, names: list[str], where: str) -> None:
        unknown = [n for n in names if n not in self.species]
        if unknown:
            raise RuleFileError(f"{where}: species {unknown} are not in tables.species")

    @staticmethod
    def _rule(rule: str, known: set[str], where: str) -> None:
        if rule not in known:
            raise RuleFileError(f"{where}: rule '{rule}' is not a hard or soft constraint id")

    # ----- derived facts the checks and the solver share ---------------------------------------

    def monster_class(self, monster: dict[str, Any] | None) -> str:
        if monster is None:
            return "absent"
        info = self.monsters.get(monster["species"])
        return "undead" if info is None or info.undead else "living"

    def player_responses(self, species: str, month: int) -> list[tuple[str, str]]:
        """(response, rule it would break or '') for every response the species may show."""
        info = self.species[species]
        out = []
        for response in info.responses:
            broken = ""
            for row in self.seasonal_responses.get(species, ()):
                allowed = row.during if month in row.months else row.otherwise
                if response not in allowed:
                    broken = row.rule
            out.append((response, broken))
        return out

    def count_range(self, species: str, unit: str, summon: Summon | None) -> Band:
        """Sizes a group of ``unit`` may have without breaking a hard or soft rule."""
        spec = self.species[species].units[unit]
        lo, hi = spec.count
        if spec.band is not None:
            lo, hi = max(lo, spec.band[0]), min(hi, spec.band[1])
        if summon is not None:
            lo, hi = max(lo, summon.count[0]), min(hi, summon.count[1])
        return lo, hi

    def summon_of(self, monster: dict[str, Any] | None, species: str) -> Summon | None:
        if monster is None:
            return None
        info = self.monsters.get(monster["species"])
        return info.summons.get(species) if info else None
