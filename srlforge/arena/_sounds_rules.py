"""Typed rule tables of ``sounds.yaml``, read once into the lookups the sounds arena uses.

Every threshold, vocabulary and generation range the arena applies comes from here, so a rule
file with an edited value changes the verdicts and a malformed one fails naming its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srlforge.rules import RuleFileError, RuleSet

CueType = Literal["effect", "ambience", "music", "sting", "voice", "silence"]
BeatKind = Literal["calm_exploration", "tension_build", "jump_scare", "chase", "aftermath"]
EventKind = Literal["scare", "scream", "line", "door_creak", "engine"]
Location = Literal["exterior", "interior", "rain", "crowd"]
Platform = Literal["console", "portable"]

CUE_TYPES: tuple[str, ...] = ("effect", "ambience", "music", "sting", "voice", "silence")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


Range = tuple[float, float]


def _ordered(value: Range) -> Range:
    if value[0] > value[1]:
        raise ValueError(f"range must be [low, high], got {list(value)}")
    return value


class PlatformRow(_Row):
    name: Platform
    target_lufs: float = Field(le=0.0)
    tolerance_lu: float = Field(gt=0.0)
    alt_targets_lufs: list[float]


class PlatformsTable(_Table):
    rows: list[PlatformRow] = Field(min_length=1)


class LevelsTable(_Table):
    true_peak_max_dbtp: float = Field(le=0.0)
    loudness_range_max_lu: float = Field(gt=0.0)
    silence_max_lufs: float = Field(le=-40.0)


class StartleTable(_Table):
    fast_attack_ms: float = Field(ge=0.0)
    slow_attack_ms: float = Field(gt=0.0)
    max_attack_ms: float = Field(gt=0.0)
    min_burst_s: float = Field(gt=0.0)
    max_burst_s: float = Field(gt=0.0)
    min_broadband_octaves: float = Field(gt=0.0)
    runup_window_s: float = Field(gt=0.0)
    runup_min_s: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _consistent(self) -> StartleTable:
        if not self.fast_attack_ms <= self.max_attack_ms < self.slow_attack_ms:
            raise ValueError("need fast_attack_ms <= max_attack_ms < slow_attack_ms")
        if self.runup_min_s >= self.runup_window_s:
            raise ValueError("runup_min_s must be below runup_window_s")
        return self


class RoughnessTable(_Table):
    am_min_hz: float = Field(gt=0.0)
    am_max_hz: float = Field(gt=0.0)
    expert_am_hz: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _inside(self) -> RoughnessTable:
        if not self.am_min_hz <= self.expert_am_hz <= self.am_max_hz:
            raise ValueError("expert_am_hz must lie in [am_min_hz, am_max_hz]")
        return self


class LoopRow(_Row):
    location: Location
    min_s: float = Field(gt=0.0)
    max_s: float = Field(gt=0.0)
    expert_s: float = Field(gt=0.0)


class LoopsTable(_Table):
    rows: list[LoopRow] = Field(min_length=1)


class DoorTable(_Table):
    resonances_hz: list[float] = Field(min_length=1)
    tolerance_ratio: float = Field(ge=0.0, lt=1.0)


class EngineTable(_Table):
    firing_divisor: float = Field(gt=0.0)
    cylinders: list[int] = Field(min_length=1)
    rpm_min: int = Field(gt=0)
    rpm_max: int = Field(gt=0)
    tolerance_ratio: float = Field(ge=0.0, lt=1.0)
    expert_band_ratio: Range


class VoiceRow(_Row):
    species: str
    form: str
    can_speak: bool
    voiced: bool


class VoicesTable(_Table):
    rows: list[VoiceRow] = Field(min_length=1)


class BusRow(_Row):
    name: str
    types: list[CueType] = Field(min_length=1)
    exclusive: bool


class BusesTable(_Table):
    rows: list[BusRow] = Field(min_length=1)


class CueTypeRow(_Row):
    type: CueType
    looping: Literal["required", "optional", "forbidden"]
    attack_ms: float = Field(ge=0.0)
    lra_lu: float = Field(ge=0.0)
    band_hz: Range


class CueTypesTable(_Table):
    rows: list[CueTypeRow] = Field(min_length=1)


class BeatRow(_Row):
    kind: BeatKind
    cues: list[Literal["ambience", "music"]]
    ambience_only: bool
    events: list[EventKind]
    optional_events: list[EventKind]
    duration_s: Range
    next: list[BeatKind] = Field(min_length=1)


class BeatsTable(_Table):
    rows: list[BeatRow] = Field(min_length=1)


class EventRow(_Row):
    kind: EventKind
    cues: list[CueType] = Field(min_length=1)
    voice: bool
    duration_s: Range
    locations: list[Location] | None = None


class EventsTable(_Table):
    rows: list[EventRow] = Field(min_length=1)


class TimingTable(_Table):
    tolerance_s: float = Field(gt=0.0)
    min_cue_s: float = Field(gt=0.0)
    margin_s: float = Field(ge=0.0)


class LevelRow(_Row):
    difficulty: int = Field(ge=1, le=5)
    beats: tuple[int, int]
    first: list[BeatKind] = Field(min_length=1)
    optional_events: tuple[int, int]
    scares_min: int = Field(ge=1)
    scare_offset_s: Range
    extra_steps: int = Field(ge=0)


class CurriculumTable(_Table):
    rows: list[LevelRow] = Field(min_length=5, max_length=5)


@dataclass(frozen=True)
class SoundRules:
    """Everything the arena reads from ``sounds.yaml``, as ready lookups."""

    platforms: dict[str, PlatformRow]
    levels: LevelsTable
    startle: StartleTable
    roughness: RoughnessTable
    loops: dict[str, LoopRow]
    door: DoorTable
    engine: EngineTable
    voices: dict[tuple[str, str], VoiceRow]
    bus_of: dict[str, str]  # cue type -> bus name
    exclusive_buses: frozenset[str]
    cue_types: dict[str, CueTypeRow]
    beats: dict[str, BeatRow]
    events: dict[str, EventRow]
    timing: TimingTable
    curriculum: dict[int, LevelRow]


def load_sound_rules(rules: RuleSet) -> SoundRules:
    """Validate every table of ``sounds.yaml`` and cross-check the references between them."""

    def table(name, model):
        return rules.table("sounds", name, model)

    where = rules.root / "sounds.yaml"
    buses = table("buses", BusesTable)
    bus_of = {t: row.name for row in buses.rows for t in row.types}
    cue_types = {row.type: row for row in table("cue_types", CueTypesTable).rows}
    missing = [t for t in CUE_TYPES if t not in bus_of or t not in cue_types]
    if missing:
        raise RuleFileError(f"{where}: tables.buses and tables.cue_types must cover {missing}")
    beats = {row.kind: row for row in table("beat_kinds", BeatsTable).rows}
    events = {row.kind: row for row in table("event_kinds", EventsTable).rows}
    for row in beats.values():
        _ordered(row.duration_s)
        unknown = [
            k
            for k in (*row.next, *row.events, *row.optional_events)
            if k not in beats and k not in events
        ]
        if unknown:
            raise RuleFileError(f"{where}: at tables.beat_kinds[{row.kind}]: unknown {unknown}")
    curriculum = {row.difficulty: row for row in table("curriculum", CurriculumTable).rows}
    if sorted(curriculum) != [1, 2, 3, 4, 5]:
        raise RuleFileError(f"{where}: tables.curriculum needs one row per difficulty 1-5")
    voices = {(r.species, r.form): r for r in table("monster_voices", VoicesTable).rows}
    if not any(v.voiced for v in voices.values()):
        raise RuleFileError(f"{where}: tables.monster_voices has no voiced form")
    return SoundRules(
        platforms={row.name: row for row in table("platforms", PlatformsTable).rows},
        levels=table("levels", LevelsTable),
        startle=table("startle", StartleTable),
        roughness=table("roughness", RoughnessTable),
        loops={row.location: row for row in table("ambience_loops", LoopsTable).rows},
        door=table("door_creak", DoorTable),
        engine=table("engine", EngineTable),
        voices=voices,
        bus_of=bus_of,
        exclusive_buses=frozenset(row.name for row in buses.rows if row.exclusive),
        cue_types=cue_types,
        beats=beats,
        events=events,
        timing=table("timing", TimingTable),
        curriculum=curriculum,
    )
