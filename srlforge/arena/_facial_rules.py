"""The facial arena's rule data: the lookups compiled from ``facial.yaml``'s typed tables.

Everything the facial checks compare against (bands, AU vocabulary, AU -> blendshape intervals,
EMFACS configurations, rig limits, timing windows, phase sequences) is read here once, so the
verifier's hot path is dictionary lookups. Cross-references between tables are checked too, and
a bad reference fails with the file and the table it sits in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from srlforge.arena._facial_tables import (
    AuTable,
    BandRow,
    BandsTable,
    BlendRow,
    BlendshapeTable,
    BlendTable,
    ContextTable,
    DifficultyRow,
    DifficultyTable,
    EmotionTable,
    MappingTable,
    MaskRow,
    MaskTable,
    ModeTable,
    Motion,
    PhaseRow,
    RigTable,
    TimingClassTable,
    UncertainTiming,
)
from srlforge.rules import RuleFileError, RuleSet

NEUTRAL = "neutral"  # the `shows` value of a phase that returns the face to rest
SIDES = {"L": "Left", "R": "Right"}


@dataclass(frozen=True)
class Config:
    """One EMFACS configuration resolved at a target band: the exact AU pose it asks for."""

    emotion: str
    name: str
    pose: dict[str, str]
    optional: dict[str, int]  # AU code -> highest rank it may be added at
    use: str
    uncertain: bool
    prototype: bool


@dataclass(frozen=True)
class Rig:
    species: str
    persona: str
    unsupported: frozenset[str]
    caps: dict[str, int]  # base AU -> highest rank

    def allows(self, pose: dict[str, str], rank: dict[str, int], base: dict[str, str]) -> bool:
        return all(
            base[c] not in self.unsupported and rank[b] <= self.caps.get(base[c], 99)
            for c, b in pose.items()
        )


@dataclass(frozen=True)
class Mode:
    name: str
    phases: list[PhaseRow]
    windows: dict[str, tuple[str, float, float]]  # phase kind -> (class, min_s, max_s)
    micro_onset: bool
    felt_smile: bool
    beat: bool


@dataclass
class FacialRules:
    """Compiled lookups; built once per rule set by ``compile_rules``."""

    bands: list[str]
    rank: dict[str, int]
    band_rows: dict[str, BandRow]
    code_base: dict[str, str]  # every valid AU code ("12", "R12") -> its base AU ("12")
    code_names: dict[str, str]
    blendshapes: frozenset[str]
    off: float
    uncertain_only: frozenset[str]  # blendshapes only ⚠ mapping rows drive
    # (code, band) -> [(blendshape, low, high, nominal, uncertain)]
    expected: dict[tuple[str, str], list[tuple[str, float, float, float, bool]]]
    emotions: list[str]
    configs: dict[tuple[str, str], list[Config]]
    onset_caps: dict[tuple[str, str], dict[str, int]]
    unilateral: dict[str, tuple[str, ...]]
    rigs: dict[str, Rig]
    modes: dict[str, Mode]
    timing: dict[str, tuple[float, float]]
    uncertain_timing: UncertainTiming
    motion: Motion
    masks: list[MaskRow]
    blends: list[BlendRow]
    contexts: dict[str, list[str]]
    difficulty: dict[int, DifficultyRow]
    beat_earliest_s: float
    species: list[str] = field(default_factory=list)

    def rig_for(self, species: str | None) -> Rig:
        return self.rigs.get(species or "", self.rigs["default"])

    def usable(self, emotion: str, band: str, use: str) -> list[Config]:
        return [c for c in self.configs.get((emotion, band), ()) if c.use in (use, "any")]


def _fail(rules: RuleSet, table: str, message: str) -> RuleFileError:
    return RuleFileError(f"{rules.root / 'facial.yaml'}: at tables.{table}: {message}")


def compile_rules(rules: RuleSet) -> FacialRules:
    def table(name, model):
        return rules.table("facial", name, model)

    bands_t = table("intensity_bands", BandsTable)
    bands = [r.band for r in bands_t.rows]
    rank = {b: i + 1 for i, b in enumerate(bands)}
    band_rows = {r.band: r for r in bands_t.rows}

    aus = table("action_units", AuTable)
    arkit = table("arkit_blendshapes", BlendshapeTable)
    names = frozenset(arkit.names)
    mapping = table("au_blendshapes", MappingTable)
    base_codes = {r.au: r.name for r in aus.rows}
    code_base = {c: c for c in base_codes}
    code_names = dict(base_codes)
    shapes: dict[str, list[tuple[str, float, bool]]] = {}
    driven_certain: set[str] = set()
    driven_any: set[str] = set()
    for row in mapping.rows:
        if row.au not in base_codes:
            raise _fail(rules, "au_blendshapes", f"AU {row.au!r} is not in tables.action_units")
        for bs in row.blendshapes:
            if bs not in names:
                raise _fail(rules, "au_blendshapes", f"{bs!r} is not an ARKit blendshape name")
            (driven_any if row.uncertain else driven_certain).add(bs)
        shapes[row.au] = [(bs, row.scale, row.uncertain) for bs in row.blendshapes]
        # An AU is lateralisable where every blendshape it drives comes in a Left/Right pair.
        if all(bs.endswith(("Left", "Right")) for bs in row.blendshapes):
            for prefix, suffix in SIDES.items():
                code = prefix + row.au
                code_base[code] = row.au
                code_names[code] = f"{row.au} on the subject's {suffix.lower()}"
                shapes[code] = [s for s in shapes[row.au] if s[0].endswith(suffix)]

    expected = {}
    for code in code_base:
        for band, b in band_rows.items():
            expected[(code, band)] = [
                (bs, b.low * sc, b.high * sc, round(b.weight * sc, 3), unc)
                for bs, sc, unc in shapes.get(code, ())
            ]

    emo_t = table("emotions", EmotionTable)
    configs: dict[tuple[str, str], list[Config]] = {}
    onset_caps: dict[tuple[str, str], dict[str, int]] = {}
    unilateral: dict[str, tuple[str, ...]] = {}
    for row in emo_t.rows:
        for code in [*row.optional, *row.unilateral]:
            if code not in code_base:
                raise _fail(rules, "emotions", f"{row.emotion}: unknown AU code {code!r}")
        if row.unilateral:
            unilateral[row.emotion] = tuple(row.unilateral)
        for band in bands:
            resolved = []
            for i, cfg in enumerate(row.configs):
                if cfg.intensities is not None and band not in cfg.intensities:
                    continue
                pose = {}
                for code, b in cfg.aus.items():
                    if code not in code_base:
                        raise _fail(rules, "emotions", f"{cfg.name}: unknown AU code {code!r}")
                    if b != "*" and b not in rank:
                        raise _fail(rules, "emotions", f"{cfg.name}: band {b!r} is not A-E or *")
                    pose[code] = band if b == "*" else b
                optional = {c: rank[band] for c in row.optional}
                resolved.append(
                    Config(row.emotion, cfg.name, pose, optional, cfg.use, cfg.uncertain, i == 0)
                )
            # Certain configurations first, so a match reports the undisputed reading.
            resolved.sort(key=lambda c: c.uncertain)
            configs[(row.emotion, band)] = resolved
            caps: dict[str, int] = {}
            for c in resolved:
                for code, b in [*c.pose.items()]:
                    caps[code] = max(caps.get(code, 0), rank[b])
                for code, r in c.optional.items():
                    caps[code] = max(caps.get(code, 0), r)
            onset_caps[(row.emotion, band)] = caps
    emotions = [r.emotion for r in emo_t.rows]

    rig_t = table("rigs", RigTable)
    rigs = {}
    for row in rig_t.rows:
        for code in [*row.unsupported, *row.caps]:
            if code not in base_codes:
                raise _fail(rules, "rigs", f"{row.species}: unknown AU {code!r}")
        caps_rank = {c: rank[b] for c, b in row.caps.items()}
        rigs[row.species] = Rig(row.species, row.persona, frozenset(row.unsupported), caps_rank)
    if "default" not in rigs:
        raise _fail(rules, "rigs", "a row with species: default is required")

    classes = {r.name: (r.min_s, r.max_s) for r in table("timing_classes", TimingClassTable).rows}
    modes = {}
    for row in table("display_modes", ModeTable).rows:
        windows = {}
        for kind, cls in row.windows.items():
            if cls not in classes:
                raise _fail(rules, "display_modes", f"{row.mode}: unknown timing class {cls!r}")
            windows[kind] = (cls, *classes[cls])
        if row.beat and "offset" not in windows:
            raise _fail(rules, "display_modes", f"{row.mode}: a beat needs an offset window")
        if row.phases[-1].shows != NEUTRAL:
            raise _fail(rules, "display_modes", f"{row.mode}: the last phase must show neutral")
        modes[row.mode] = Mode(
            row.mode, row.phases, windows, row.micro_onset, row.felt_smile, row.beat
        )

    masks = table("masks", MaskTable).rows
    blends = table("blends", BlendTable).rows
    for pair in [*((m.felt, m.shown) for m in masks), *((b.felt, b.secondary) for b in blends)]:
        for emotion in pair:
            if emotion not in emotions:
                raise _fail(rules, "masks/blends", f"unknown emotion {emotion!r}")
    contexts: dict[str, list[str]] = {}
    for row in table("contexts", ContextTable).rows:
        contexts.setdefault(row.mode, []).append(row.text)
    diff_t = table("difficulty", DifficultyTable)
    for row in diff_t.rows:
        for mode in row.modes:
            if mode not in modes or mode not in contexts:
                raise _fail(rules, "difficulty", f"level {row.level}: mode {mode!r} lacks a row")

    return FacialRules(
        bands=bands,
        rank=rank,
        band_rows=band_rows,
        code_base=code_base,
        code_names=code_names,
        blendshapes=names,
        off=arkit.off_threshold,
        uncertain_only=frozenset(driven_any - driven_certain),
        expected=expected,
        emotions=emotions,
        configs=configs,
        onset_caps=onset_caps,
        unilateral=unilateral,
        rigs=rigs,
        modes=modes,
        timing=classes,
        uncertain_timing=table("uncertain_timing", UncertainTiming),
        motion=table("motion", Motion),
        masks=masks,
        blends=blends,
        contexts=contexts,
        difficulty={r.level: r for r in diff_t.rows},
        beat_earliest_s=diff_t.beat_earliest_s,
        species=_species_names(rules, rigs),
    )


def _species_names(rules: RuleSet, rigs: dict[str, Rig]) -> list[str]:
    """Species from the shared catalogue (species.yaml tables.species), else the rig rows.

    A catalogue species without a rig row gets the ``default`` rig, so adding a species is a
    data change in species.yaml alone.
    """
    if "species" in rules.files:
        table = rules.raw["species"].get("tables", {}).get("species", {})
        rows = table.get("rows") if isinstance(table, dict) else None
        names = [r.get("name") for r in rows or [] if isinstance(r, dict)]
        if names and all(isinstance(n, str) for n in names):
            return names
    return [s for s in rigs if s != "default"]
