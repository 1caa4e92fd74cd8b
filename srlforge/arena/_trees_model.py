"""The trees arena's schemas: typed rows of ``trees.yaml`` and the action model.

Table models forbid unknown keys, so a misspelt field in the rule file fails with its path;
the action model is validated strictly, so "3" for a number or an unknown key is a format error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from srlforge.arena import _flora as fl

Leaves = Literal["bare", "budding", "full", "autumn"]
Role = Literal["landmark", "cover", "hazard", "backdrop"]


# ----- rule tables -------------------------------------------------------------------------------


class BiomeRow(fl.Row):
    id: str
    label: str
    moisture: list[fl.Moisture] = Field(min_length=1)
    soils: list[fl.Soil] = Field(min_length=1)


class SpeciesRow(fl.Row):
    id: str
    biomes: list[str] = Field(min_length=1)
    phenology: str
    layer: str
    needs_shade: bool = False
    poisonous: bool = False
    knees: bool = False
    height_m: tuple[float, float]
    height_uncertain: bool = False
    autumn_colours: list[str] = Field(default_factory=list)
    moisture: list[fl.Moisture] = Field(min_length=1)
    soils: list[fl.Soil] = Field(min_length=1)


class LeafRow(fl.Row):
    id: str
    expected: list[Leaves] = Field(min_length=12, max_length=12)
    accepted: list[list[Leaves]] = Field(min_length=12, max_length=12)


class LeafTable(fl.Rows[LeafRow]):
    leaf_colours: dict[Leaves, list[str]]


class StructureTable(fl.Row):
    source: str
    slenderness: tuple[float, float]
    crown_ratio: tuple[float, float]
    root_ratio: tuple[float, float]
    default_twig_m: float = Field(gt=0.0)


class AeolianTable(fl.Row):
    source: str
    strouhal: float = Field(gt=0.0)
    rel_tol: float = Field(gt=0.0, lt=1.0)
    wind_ms: tuple[float, float]
    wind_match_ms: float = Field(gt=0.0)
    tone_twig_m: tuple[float, float]
    tone_band_half: float = Field(gt=0.0, lt=1.0)


class LayerRow(fl.Row):
    id: str
    rank: int = Field(ge=1)


class LayerTable(fl.Rows[LayerRow]):
    shade_min_crown_m: float = Field(gt=0.0)


class RoleRow(fl.Row):
    id: Role
    zone: fl.ZoneId
    stages: list[str] = Field(min_length=1)
    min_height_m: float = 0.0
    min_crown_m: float = 0.0
    needs_leaves: bool = False
    poisonous: bool = False


# ----- the action --------------------------------------------------------------------------------


class PlantParams(fl.Strict):
    species: str = Field(max_length=32, pattern=fl.VOCAB_PATTERN)
    stage: str = Field(max_length=32, pattern=fl.VOCAB_PATTERN)
    height_m: float = Field(ge=0.01, le=60.0)
    trunk_diameter_m: float = Field(ge=0.001, le=4.0)
    role: Role


class ShapeParams(fl.Strict):
    crown_radius_m: float = Field(ge=0.0, le=25.0)
    branch_diameter_m: float = Field(ge=0.001, le=1.0)
    root_spread_m: float = Field(ge=0.0, le=50.0)
    root_form: Literal["lateral", "knees"]
    leaves: Leaves
    leaf_colour: str = Field(max_length=32, pattern=fl.VOCAB_PATTERN)


class VoiceParams(fl.Strict):
    wind_speed_ms: float = Field(ge=0.0, le=40.0)
    frequency_hz: float = Field(ge=1.0, le=20000.0)


_PARAMS = {"plant": PlantParams, "shape": ShapeParams, "voice": VoiceParams}


class TreeAction(fl.Strict):
    """``plant`` a tree in a cell, ``shape`` it for the month, then ``voice`` its wind tone."""

    type: Literal["plant", "shape", "voice"]
    target: str = Field(pattern=fl.CELL_PATTERN, description="Cell id, e.g. 'c4'.")
    params: PlantParams | ShapeParams | VoiceParams
    timing: fl.Timing | None = None
    metadata: fl.Metadata | None = None

    @model_validator(mode="after")
    def _params_match_type(self) -> TreeAction:
        if not isinstance(self.params, _PARAMS[self.type]):
            raise ValueError(f"{self.type} takes {_PARAMS[self.type].__name__} fields")
        if (self.type == "shape") != (self.timing is not None):
            raise ValueError("shape (and only shape) carries timing.month")
        return self
