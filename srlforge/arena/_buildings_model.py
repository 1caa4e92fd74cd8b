"""The buildings action schema: one construction step per action.

Vocabulary words (functions, materials, features, light sources) are bounded strings in the
schema and checked against the rule data by the arena, so a new style or material is a data
change; only the action kinds, the stair directions and the day/night periods are fixed here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

# ----- the action schema -------------------------------------------------------------------------

ElementId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Word = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,31}$")]
# Metres. Bounds are far beyond any brief (sites are < 40 m) so absurd values fail the schema
# while every plausible design, good or bad, reaches the rule checks.
Coord = Annotated[float, Field(ge=0.0, le=50.0)]
Span = Annotated[float, Field(ge=0.3, le=50.0)]
Height = Annotated[float, Field(ge=1.5, le=8.0)]
Floor = Annotated[int, Field(ge=0, le=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("list entries must be unique")
    return values


class Door(_Strict):
    width: float = Field(ge=0.5, le=3.0, description="clear width, m")
    height: float = Field(ge=1.5, le=4.0, description="clear height, m")


class EnvelopeParams(_Strict):
    width: Span = Field(description="footprint along x (east), m; anchored at the site origin")
    depth: Span = Field(description="footprint along y (north), m")
    storeys: int = Field(ge=1, le=3)
    storey_height: float = Field(ge=2.2, le=8.0, description="floor-to-floor height, m")
    materials: list[Word] = Field(min_length=1, max_length=4)
    features: list[Word] = Field(min_length=1, max_length=6)

    _u = field_validator("materials", "features")(_unique)


class RoomParams(_Strict):
    function: Word
    attach_to: ElementId = Field(description="a built element, or 'entrance'")
    floor: Floor
    x: Coord
    y: Coord
    width: Span
    depth: Span
    ceiling_height: Height
    door: Door
    materials: list[Word] = Field(min_length=1, max_length=3)
    features: list[Word] = Field(default_factory=list, max_length=4)

    _u = field_validator("materials", "features")(_unique)


class CorridorParams(_Strict):
    attach_to: ElementId
    floor: Floor
    x: Coord
    y: Coord
    width: Span
    depth: Span
    ceiling_height: Height
    door: Door
    materials: list[Word] = Field(min_length=1, max_length=3)

    _u = field_validator("materials")(_unique)


class StairsParams(_Strict):
    attach_to: ElementId
    floor: Floor = Field(description="the floor of the stair's foot")
    x: Coord
    y: Coord
    direction: Literal["north", "south", "east", "west"] = Field(description="direction of ascent")
    width: float = Field(ge=0.5, le=4.0, description="across the flight, m")
    length: Span = Field(description="along the flight, m")
    risers: int = Field(ge=2, le=40)
    riser_height: float = Field(ge=0.1, le=0.3)
    tread_depth: float = Field(ge=0.15, le=0.5)
    headroom: float = Field(ge=1.5, le=4.0)


class LightingParams(_Strict):
    source: Word
    level: float = Field(ge=0.0, le=1.0, description="fraction of the fixture's full output")


class Timing(_Strict):
    period: Literal["day", "night"]


class ActionMetadata(_Strict):
    note: str = Field(default="", max_length=200)


_PARAMS_FOR_TYPE: dict[str, type[BaseModel]] = {
    "envelope": EnvelopeParams,
    "room": RoomParams,
    "corridor": CorridorParams,
    "stairs": StairsParams,
    "lighting": LightingParams,
}


def _params_tag(value: Any) -> str | None:
    """Pick the params model by its distinctive key (a missing key is then a schema error)."""
    if isinstance(value, BaseModel):
        return next((t for t, m in _PARAMS_FOR_TYPE.items() if isinstance(value, m)), None)
    if not isinstance(value, dict):
        return None
    for key, tag in (
        ("storeys", "envelope"),
        ("function", "room"),
        ("risers", "stairs"),
        ("source", "lighting"),
        ("attach_to", "corridor"),
    ):
        if key in value:
            return tag
    return None


Params = Annotated[
    Annotated[EnvelopeParams, Tag("envelope")]
    | Annotated[RoomParams, Tag("room")]
    | Annotated[CorridorParams, Tag("corridor")]
    | Annotated[StairsParams, Tag("stairs")]
    | Annotated[LightingParams, Tag("lighting")],
    Discriminator(_params_tag),
]


class BuildingAction(_Strict):
    """One construction step: the envelope, a room, a corridor, a stair or a lighting variant.

    ``target`` is the id of the element being built ('envelope' for the envelope) or, for
    lighting, the built room it lights; ``timing.period`` says which lighting variant.
    """

    type: Literal["envelope", "room", "corridor", "stairs", "lighting"]
    target: ElementId
    params: Params
    timing: Timing | None = None
    metadata: ActionMetadata | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BuildingAction:
        if not isinstance(self.params, _PARAMS_FOR_TYPE[self.type]):
            raise ValueError(f"params do not match type '{self.type}'")
        if (self.type == "lighting") != (self.timing is not None):
            raise ValueError("timing.period is required for lighting and only for lighting")
        if (self.type == "envelope") != (self.target == "envelope"):
            raise ValueError("target 'envelope' is the envelope's, and only the envelope's")
        if self.type != "lighting" and self.target == "entrance":
            raise ValueError("'entrance' names the front door, not a new element")
        return self
