"""The species catalogue (``species.yaml``): SRD 5.1 stat-block facts plus behaviour data.

Every service that reasons about a monster reads it from here, and simulators read only these
fields, never a species name: adding a species is adding a row. Each row keeps the SRD facts
(index, type, hit points, speed, Int/Wis/Cha, senses, languages, resistances, abilities by their
SRD names) next to the behaviour flags a simulator acts on (sunlight, invitation, running water,
pack call, guarded phylactery, weapon effects, folklore marked as the weaker source it is).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srlforge.rules import RuleFileError, RuleSet

TRAITS = ("aggression", "survival_instinct", "faction_loyalty")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attack(_Strict):
    name: str = Field(min_length=2, description="SRD action name.")
    damage: int = Field(ge=1, le=100, description="Average damage per round (SRD).")


class Ability(_Strict):
    """An SRD action the simulator can play as ``use_ability`` (the rest stay descriptive)."""

    name: str = Field(min_length=2, description="SRD name, as the policy must write it.")
    effect: Literal["charm", "frighten", "paralyze"]
    range_hops: int = Field(ge=0, le=2, description="0: same location; 1: adjacent too.")
    save_dc: int = Field(ge=1, le=30, description="SRD saving-throw DC.")
    duration_turns: int | None = Field(
        default=None, ge=1, le=20, description="None: lasts the whole encounter."
    )
    target_must_see: bool = False
    night_only: bool = False


class Regeneration(_Strict):
    hp: int = Field(ge=1, le=100)
    blocked_by: list[Literal["sunlight", "running_water", "radiant"]]


class Fortitude(_Strict):
    max_damage: int = Field(ge=1, le=100, description="Largest hit the save still survives.")
    bypassed_by: list[str]


class FolkloreFact(_Strict):
    text: str = Field(min_length=3)
    source: str = Field(min_length=3)
    strength: Literal["weak", "disputed"] = "weak"


class Species(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    srd_index: str
    srd_forms: list[str] = Field(default_factory=list)
    creature_type: str
    hit_points: int = Field(ge=1, le=1000)
    speed_ft: int = Field(ge=5, le=120)
    intelligence: int = Field(ge=1, le=30)
    wisdom: int = Field(ge=1, le=30)
    charisma: int = Field(ge=1, le=30)
    senses: dict[str, str | int]
    languages: str
    can_speak: bool
    damage_resistances: list[str]
    damage_immunities: list[str]
    condition_immunities: list[str]
    special_abilities: list[str] = Field(description="SRD special-ability names.")
    attack: Attack
    abilities: list[Ability] = Field(default_factory=list)
    strengths: list[str]
    weaknesses: list[str]
    activity: Literal["nocturnal", "crepuscular", "diurnal", "any"]
    social: Literal["solitary", "pack", "horde", "commands_lesser_undead"]
    harmed_by: list[str]
    weapon_effect: dict[str, float] = Field(
        description="Damage multiplier per hunter weapon: 0 immune, 0.5 resistant, 1 full."
    )
    sunlight: Literal["burns", "sensitive", "none"]
    needs_invitation: bool
    running_water: Literal["blocked", "harmed", "none"]
    running_water_damage: int = Field(default=0, ge=0, le=100)
    pack_call: Literal["night", "always", "never"]
    pack_ability: str | None = None
    guards: Literal["phylactery"] | None = None
    feeds_on: str | None = None
    hunger_every: int | None = Field(default=None, ge=1, le=12)
    regeneration: Regeneration | None = None
    undead_fortitude: Fortitude | None = None
    resting_places: list[str] = Field(min_length=1)
    folklore: list[FolkloreFact] = Field(default_factory=list)
    folklore_avoids: list[str] = Field(
        default_factory=list, description="Map tags folklore says it shuns (soft, weak source)."
    )
    moon_bound: bool = False
    trait_ranges: dict[str, tuple[int, int]]
    personal_goals: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Species:
        if self.pack_call != "never" and not self.pack_ability:
            raise ValueError(f"pack_call={self.pack_call!r} needs the pack_ability that does it")
        if self.feeds_on and self.hunger_every is None:
            raise ValueError("a species that feeds needs hunger_every")
        missing = [t for t in TRAITS if t not in self.trait_ranges]
        if missing:
            raise ValueError(f"trait_ranges lacks {missing}")
        for trait, (lo, hi) in self.trait_ranges.items():
            if not 1 <= lo <= hi <= 5:
                raise ValueError(f"trait_ranges.{trait} must be 1 <= lo <= hi <= 5")
        names = [a.name for a in self.abilities]
        if len(set(names)) != len(names):
            raise ValueError(f"ability names repeat: {names}")
        return self

    def ability(self, name: str) -> Ability | None:
        return next((a for a in self.abilities if a.name == name), None)


class SpeciesTable(_Strict):
    source: str
    rows: list[Species] = Field(min_length=1)


@lru_cache(maxsize=16)
def load_species(rules: RuleSet) -> dict[str, Species]:
    """The catalogue of ``rules`` by species name (validated; errors name file and path)."""
    table = rules.table("species", "species", SpeciesTable)
    out: dict[str, Species] = {}
    for row in table.rows:
        if row.name in out:
            raise RuleFileError(
                f"{rules.root / 'species.yaml'}: tables.species.rows: species "
                f"'{row.name}' appears twice"
            )
        out[row.name] = row
    if not rules.file("species").attribution:
        raise RuleFileError(
            f"{rules.root / 'species.yaml'}: at attribution: the SRD 5.1 attribution is required"
        )
    return out
