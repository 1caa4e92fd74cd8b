"""Typed rule tables of ``buildings.yaml``, validated once in ``load_rules``.

``load_tables`` also checks the cross-references between tables (a building kind naming an
unknown function, a style without an era light source), so a bad edit fails at load time with
the file named, not mid-episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from srlforge.rules import RuleFileError, RuleSet

MODEL_TYPE = "buildings"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EgressDoor(_Row):
    min_width_m: float = Field(gt=0)
    min_height_m: float = Field(gt=0)


class StairCode(_Row):
    min_width_m: float = Field(gt=0)
    max_riser_m: float = Field(gt=0)
    min_tread_m: float = Field(gt=0)
    min_headroom_m: float = Field(gt=0)


class CorridorCode(_Row):
    min_width_m: float = Field(gt=0)
    reduced_min_width_m: float = Field(gt=0)
    reduced_below_occupants: int = Field(ge=1)


class CodesTable(_Table):
    habitable_min_area_m2: float = Field(gt=0)
    habitable_min_dimension_m: float = Field(gt=0)
    egress_door: EgressDoor
    stairs: StairCode
    corridor: CorridorCode
    ceilings: dict[str, dict[Literal["habitable", "service"], float]]


class GeometryTable(_Table):
    tolerance_m: float = Field(gt=0, le=0.05)
    floor_structure_m: float = Field(ge=0, le=1.0)
    stair_rise_tolerance_m: float = Field(gt=0, le=0.1)


class FunctionRow(_Row):
    function: str
    habitable: bool
    area_exempt: bool
    ceiling_class: Literal["habitable", "service"]


class FunctionsTable(_Table):
    rows: list[FunctionRow] = Field(min_length=1)


class KindRow(_Row):
    kind: str
    code: str
    below_grade: bool
    max_storeys: int = Field(ge=1, le=3)
    entry_function: str
    main_function: str
    functions: list[str] = Field(min_length=1)
    service_functions: list[str] = Field(min_length=1)
    upper_functions: list[str]
    ceiling_m: tuple[float, float]


class KindsTable(_Table):
    rows: list[KindRow] = Field(min_length=1)


class FeatureRow(_Row):
    name: str
    scope: Literal["exterior", "both"]
    window: bool


class StyleRow(_Row):
    style: str
    materials: list[str] = Field(min_length=1)
    features: list[FeatureRow] = Field(min_length=1)


class StylesTable(_Table):
    rows: list[StyleRow] = Field(min_length=1)


class NeutralTable(_Table):
    materials: list[str]


class LightRow(_Row):
    source: str
    natural: bool
    styles: list[str]


class LightSourcesTable(_Table):
    rows: list[LightRow] = Field(min_length=1)


class LightingTable(_Table):
    max_night_level: float = Field(ge=0, le=1)
    expert_day_level: float = Field(ge=0, le=1)
    expert_night_level: float = Field(ge=0, le=1)


class LayoutDoor(_Row):
    width_m: float = Field(gt=0)
    height_m: float = Field(gt=0)


Range = tuple[float, float]


class LayoutTable(_Table):
    room_span_m: Range
    strip_width_m: Range
    suite_strip_width_m: Range
    hall_width_m: Range
    corridor_extra_width_m: Range
    top_depth_m: Range
    tread_m: Range
    stair_headroom_m: float
    door: LayoutDoor
    min_shared_wall_m: float


class LevelRow(_Row):
    level: int = Field(ge=1, le=5)
    plan: Literal["hall", "corridor"]
    storeys: int = Field(ge=1, le=2)
    side_rooms: tuple[int, int]
    top_rooms: tuple[int, int]
    suites: tuple[int, int]
    upper_side_rooms: tuple[int, int]
    area_slack: float = Field(ge=0, lt=1)
    site_margin_m: Range
    height_margin_m: float = Field(ge=0)
    opens_off_fraction: float = Field(ge=0, le=1)
    lighting_variants: tuple[int, int]
    daylit_rooms: int = Field(ge=0)
    feature_rooms: int = Field(ge=0)
    facade_features: int = Field(ge=0)
    ceiling_rooms: int = Field(ge=0)
    occupants: tuple[int, int]
    step_slack: int = Field(ge=1)


class DifficultyTable(_Table):
    rows: list[LevelRow] = Field(min_length=5, max_length=5)


@dataclass
class Tables:
    codes: CodesTable
    geometry: GeometryTable
    functions: dict[str, FunctionRow]
    kinds: list[KindRow]
    styles: dict[str, StyleRow]
    features: dict[str, dict[str, FeatureRow]]  # style -> name -> row
    style_materials: dict[str, frozenset[str]]
    neutral: list[str]
    sources: dict[str, LightRow]
    era_source: dict[str, str]  # style -> the first artificial source of its era
    lighting: LightingTable
    layout: LayoutTable
    levels: dict[int, LevelRow]
    vocabulary: list[str]  # every known word: what a random policy may write


def load_tables(rules: RuleSet) -> Tables:
    def get(name, model):
        return rules.table(MODEL_TYPE, name, model)

    codes = get("codes", CodesTable)
    kinds = get("building_kinds", KindsTable).rows
    functions = {r.function: r for r in get("room_functions", FunctionsTable).rows}
    styles = {r.style: r for r in get("styles", StylesTable).rows}
    sources = {r.source: r for r in get("light_sources", LightSourcesTable).rows}
    path = rules.root / f"{MODEL_TYPE}.yaml"
    for kind in kinds:
        named = [kind.entry_function, kind.main_function, *kind.functions]
        named += [*kind.service_functions, *kind.upper_functions]
        unknown = sorted({f for f in named if f not in functions})
        if unknown or kind.code not in codes.ceilings:
            raise RuleFileError(
                f"{path}: building kind '{kind.kind}' names unknown functions {unknown} or a code "
                f"'{kind.code}' missing from tables.codes.ceilings"
            )
    era = {}
    for style in styles:
        fitting = [s for s, r in sources.items() if not r.natural and style in r.styles]
        if not fitting:
            raise RuleFileError(f"{path}: no artificial light source lists style '{style}'")
        era[style] = fitting[0]
    neutral = get("neutral_materials", NeutralTable).materials
    words = {*functions, *neutral, *sources}
    for row in styles.values():
        words.update(row.materials)
        words.update(f.name for f in row.features)
    return Tables(
        codes=codes,
        geometry=get("geometry", GeometryTable),
        functions=functions,
        kinds=kinds,
        styles=styles,
        features={s: {f.name: f for f in r.features} for s, r in styles.items()},
        style_materials={s: frozenset(r.materials) for s, r in styles.items()},
        neutral=neutral,
        sources=sources,
        era_source=era,
        lighting=get("lighting", LightingTable),
        layout=get("layout", LayoutTable),
        levels={r.level: r for r in get("difficulty", DifficultyTable).rows},
        vocabulary=sorted(words),
    )


def corridor_min_width(t: Tables, occupants: int) -> float:
    c = t.codes.corridor
    return c.reduced_min_width_m if occupants < c.reduced_below_occupants else c.min_width_m


def ceiling_min(t: Tables, code: str, kind: str, function: str | None) -> float:
    """Corridors take the habitable minimum (IRC hallways, IBC corridors)."""
    klass = t.functions[function].ceiling_class if kind == "room" and function else "habitable"
    return t.codes.ceilings[code][klass]
