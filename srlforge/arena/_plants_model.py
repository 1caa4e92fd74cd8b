"""The plants arena's schemas: typed rows of ``plants.yaml`` and the action model.

Table models forbid unknown keys, so a misspelt field in the rule file fails with its path;
the action model is validated strictly, so "3" for a number or an unknown key is a format error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from srlforge.arena import _flora as fl

Light = Literal["open", "partial", "shade"]
Foliage = Literal["green", "autumn", "dormant", "grey", "dead"]
Role = Literal["hazard", "cover", "resource", "ambience"]


# ----- rule tables -------------------------------------------------------------------------------


class BiomeRow(fl.Row):
    id: str
    label: str
    moisture: list[fl.Moisture]
    soils: list[fl.Soil]
    scene_trees: list[str]
    tree_chance: float = Field(ge=0.0, le=1.0)
    wall_chance: float = Field(ge=0.0, le=1.0)


class SceneTreeRow(fl.Row):
    id: str
    habit: Literal["deciduous", "evergreen"]
    height_m: float = Field(gt=0.0)


class LightTable(fl.Row):
    source: str
    levels: list[Light] = Field(min_length=2)
    canopy_closed_months: list[int]
    wall_height_m: float = Field(gt=0.0)


class LayerRow(fl.Row):
    id: str
    rank: int = Field(ge=1)
    shades_below: bool


class HostRow(fl.Row):
    kinds: list[Literal["wall", "tree"]] = Field(min_length=1)
    tree_species: list[str]


class SpeciesRow(fl.Row):
    id: str
    biomes: list[str] = Field(min_length=1)
    habit: str
    layer: str
    height_m: tuple[float, float]
    height_lo_assumed: bool
    flower_months: list[int]
    fruit_months: list[int]
    flower_uncertain: list[int]
    fruit_uncertain: list[int]
    poisonous: bool
    needs_canopy: Literal["deciduous", "evergreen"] | None = None
    host: HostRow | None = None
    moisture: list[fl.Moisture]
    light: list[Light]
    soils: list[fl.Soil]
    max_per_cell: int = Field(ge=1)


class FoliageRow(fl.Row):
    habit: str
    certain: bool
    by_month: list[Foliage] = Field(min_length=12, max_length=12)


class RoleRow(fl.Row):
    id: Role
    zone: fl.ZoneId
    poisonous: bool = False
    visible: bool = False
    in_bloom: bool = False
    min_height_m: float = 0.0
    dead_ok: bool = False


class RoleTable(fl.Rows[RoleRow]):
    visible_foliage: list[Foliage]


# ----- the action --------------------------------------------------------------------------------


class PlaceParams(fl.Strict):
    species: str = Field(max_length=32, pattern=fl.VOCAB_PATTERN)
    stage: str = Field(max_length=32, pattern=fl.VOCAB_PATTERN)
    height_m: float = Field(ge=0.0, le=30.0)
    count: int = Field(ge=1, le=500)
    role: Role
    host: Literal["none", "wall", "tree"]


class DressParams(fl.Strict):
    species: str = Field(max_length=32, pattern=fl.VOCAB_PATTERN)
    bloom: Literal["none", "flowering", "fruiting"]
    foliage: Foliage


class PlantAction(fl.Strict):
    """``place`` a plant in a cell, then ``dress`` it for the month (``timing.month``)."""

    type: Literal["place", "dress"]
    target: str = Field(pattern=fl.CELL_PATTERN, description="Cell id, e.g. 'c4'.")
    params: PlaceParams | DressParams
    timing: fl.Timing | None = None
    metadata: fl.Metadata | None = None

    @model_validator(mode="after")
    def _params_match_type(self) -> PlantAction:
        if (self.type == "place") != isinstance(self.params, PlaceParams):
            raise ValueError("place takes place params, dress takes dress params")
        if (self.type == "dress") != (self.timing is not None):
            raise ValueError("dress (and only dress) carries timing.month")
        return self


# ----- the arena ---------------------------------------------------------------------------------
