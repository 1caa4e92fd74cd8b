"""Typed models of the tables in ``facial.yaml`` (validated via ``RuleSet.table``).

A malformed row fails with the file, the table path and what was expected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Band = Literal["A", "B", "C", "D", "E"]
PhaseKind = Literal["onset", "apex", "blend", "mask", "offset"]
Shows = Literal["felt", "shown", "secondary", "neutral"]
Use = Literal["felt", "posed", "any"]
Feature = Literal["variant_forced", "conflict"]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BandRow(_Row):
    band: Band
    label: str
    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)
    weight: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> BandRow:
        if not self.low <= self.weight <= self.high:
            raise ValueError(f"band {self.band}: need low <= weight <= high")
        return self


class BandsTable(_Table):
    rows: list[BandRow] = Field(min_length=1)


class AuRow(_Row):
    au: str = Field(pattern=r"^[1-9][0-9]?$")
    name: str


class AuTable(_Table):
    rows: list[AuRow] = Field(min_length=1)


class BlendshapeTable(_Table):
    names: list[str] = Field(min_length=1)
    off_threshold: float = Field(ge=0.0, le=0.5)


class MappingRow(_Row):
    au: str
    blendshapes: list[str] = Field(min_length=1)
    scale: float = Field(default=1.0, gt=0.0, le=1.0)
    uncertain: bool = False


class MappingTable(_Table):
    rows: list[MappingRow]


class ConfigRow(_Row):
    name: str
    aus: dict[str, str] = Field(min_length=1)
    use: Use = "any"
    intensities: list[Band] | None = None
    uncertain: bool = False


class EmotionRow(_Row):
    emotion: str = Field(pattern=r"^[a-z]{3,16}$")
    optional: list[str] = Field(default_factory=list)
    unilateral: list[str] = Field(default_factory=list)
    configs: list[ConfigRow] = Field(min_length=1)


class EmotionTable(_Table):
    rows: list[EmotionRow] = Field(min_length=1)


class TimingClassRow(_Row):
    name: str
    min_s: float = Field(ge=0.0)
    max_s: float = Field(gt=0.0)


class TimingClassTable(_Table):
    rows: list[TimingClassRow] = Field(min_length=1)


class UncertainTiming(_Table):
    micro_onset_max_s: float = Field(gt=0.0)
    smile_emotion: str
    felt_smile_min_s: float = Field(ge=0.0)
    felt_smile_max_s: float = Field(gt=0.0)


class Motion(_Table):
    max_rate_per_s: float = Field(gt=0.0)
    expert_rate_share: float = Field(gt=0.0, le=1.0)
    expert_min_ramp_s: float = Field(gt=0.0)
    expert_apex_hold_s: float = Field(ge=0.0)


class PhaseRow(_Row):
    kind: PhaseKind
    shows: Shows
    use: Literal["felt", "posed"] = "felt"


class ModeRow(_Row):
    mode: str
    phases: list[PhaseRow] = Field(min_length=2)
    windows: dict[PhaseKind, str] = Field(default_factory=dict)
    micro_onset: bool = False
    felt_smile: bool = False
    beat: bool


class ModeTable(_Table):
    rows: list[ModeRow] = Field(min_length=1)


class MaskRow(_Row):
    felt: str
    shown: str


class MaskTable(_Table):
    rows: list[MaskRow]


class BlendRow(_Row):
    felt: str
    secondary: str


class BlendTable(_Table):
    rows: list[BlendRow]


class RigRow(_Row):
    species: str
    persona: str = ""
    unsupported: list[str] = Field(default_factory=list)
    caps: dict[str, Band] = Field(default_factory=dict)


class RigTable(_Table):
    rows: list[RigRow] = Field(min_length=1)


class ContextRow(_Row):
    mode: str
    text: str = Field(min_length=3)


class ContextTable(_Table):
    rows: list[ContextRow] = Field(min_length=1)


class DifficultyRow(_Row):
    level: int = Field(ge=1, le=5)
    modes: list[str] = Field(min_length=1)
    intensities: list[Band] = Field(min_length=1)
    beat_width_s: float = Field(gt=0.0)
    prefer: list[Feature] = Field(default_factory=list)


class DifficultyTable(_Table):
    rows: list[DifficultyRow] = Field(min_length=5, max_length=5)
    beat_earliest_s: float = Field(ge=0.0)
