"""Pose algebra, the catalogue of solvable briefs, and the facial expert's keyframe plan.

Kept apart from ``facial.py`` so the arena module holds the verifier and this one holds what the
generator and the expert know: which (species, display, emotions, bands) have a configuration
the species' rig can perform, and how to time keyframes inside every window at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from srlforge.arena._facial_rules import NEUTRAL, Config, FacialRules, Mode, Rig


def merge(a: dict[str, str], b: dict[str, str], rank: dict[str, int]) -> dict[str, str]:
    """Blend two AU poses: a shared AU keeps the stronger band."""
    out = dict(a)
    for code, band in b.items():
        if code not in out or rank[band] > rank[out[code]]:
            out[code] = band
    return out


def weights_of(fr: FacialRules, pose: dict[str, str]) -> dict[str, float]:
    """Nominal blendshape weights of an AU pose (the strongest driver wins a shared shape)."""
    out: dict[str, float] = {}
    for code, band in pose.items():
        for bs, _lo, _hi, nominal, _unc in fr.expected[(code, band)]:
            if nominal > out.get(bs, 0.0):
                out[bs] = nominal
    return dict(sorted(out.items()))


def lowered(fr: FacialRules, pose: dict[str, str]) -> dict[str, str]:
    """The onset pose: every AU one band below its apex; trace AUs not yet visible."""
    out = {c: fr.bands[fr.rank[b] - 2] for c, b in pose.items() if fr.rank[b] > 1}
    if not out:
        first = next(iter(pose))
        out = {first: pose[first]}
    return out


def risable(fr: FacialRules, pose: dict[str, str]) -> bool:
    """Whether an onset strictly below this apex exists (a lone trace AU has no visible rise)."""
    return len(pose) > 1 or any(fr.rank[b] > 1 for b in pose.values())


def lateral_clash(fr: FacialRules, pose: dict[str, str]) -> bool:
    bare = {c for c in pose if fr.code_base[c] == c}
    return any(fr.code_base[c] in bare for c in pose if fr.code_base[c] != c)


def pick(
    fr: FacialRules, rig: Rig, emotion: str, band: str, use: str, rising: bool
) -> tuple[Config | None, bool]:
    """The expert's configuration: the first certain one the rig can perform.

    Returns ``(config, forced)``; ``forced`` is true when the prototype was usable but the rig
    could not perform it, so a variant had to be chosen.
    """
    forced = False
    for cfg in fr.usable(emotion, band, use):
        if cfg.uncertain or (rising and not risable(fr, cfg.pose)):
            continue
        if rig.allows(cfg.pose, fr.rank, fr.code_base):
            return cfg, forced
        forced = forced or cfg.prototype
    return None, False


@dataclass(frozen=True)
class Brief:
    fields: dict[str, str]  # display, felt, felt_intensity, and shown_*/secondary_* if any
    forced: bool
    conflict: bool


def enumerate_briefs(fr: FacialRules, species: str) -> list[Brief]:
    """Every brief the species' rig can perform, in table order (deterministic)."""
    rig = fr.rig_for(species)
    out: list[Brief] = []
    singles: dict[tuple[str, str], tuple[Config, bool]] = {}
    for emotion in fr.emotions:
        for band in fr.bands:
            cfg, forced = pick(fr, rig, emotion, band, "felt", rising=True)
            if cfg is not None:
                singles[(emotion, band)] = (cfg, forced)
    for mode in fr.modes.values():
        kinds = [p.kind for p in mode.phases]
        if "mask" in kinds:
            for row in fr.masks:
                for band in fr.bands:
                    for band2 in fr.bands:
                        felt = singles.get((row.felt, band))
                        shown, forced2 = pick(fr, rig, row.shown, band2, "posed", rising=False)
                        if felt is None or shown is None:
                            continue
                        shared = {fr.code_base[c] for c in felt[0].pose} & {
                            fr.code_base[c] for c in shown.pose
                        }
                        fields = {"display": mode.name, "felt": row.felt, "felt_intensity": band}
                        fields |= {"shown": row.shown, "shown_intensity": band2}
                        out.append(Brief(fields, felt[1] or forced2, bool(shared)))
        elif "blend" in kinds:
            for row in fr.blends:
                for band in fr.bands:
                    for band2 in fr.bands:
                        a, b = singles.get((row.felt, band)), singles.get((row.secondary, band2))
                        if a is None or b is None:
                            continue
                        merged = merge(a[0].pose, b[0].pose, fr.rank)
                        if lateral_clash(fr, merged):
                            continue
                        clash = any(
                            b[0].pose[c] != x for c, x in a[0].pose.items() if c in b[0].pose
                        )
                        fields = {"display": mode.name, "felt": row.felt, "felt_intensity": band}
                        fields |= {"secondary": row.secondary, "secondary_intensity": band2}
                        out.append(Brief(fields, a[1] or b[1], clash))
        else:
            for (emotion, band), (_cfg, forced) in singles.items():
                fields = {"display": mode.name, "felt": emotion, "felt_intensity": band}
                out.append(Brief(fields, forced, False))
    return out


@dataclass
class Keyframe:
    kind: str
    target: str
    pose: dict[str, str]
    weights: dict[str, float]
    start: float
    end: float
    config: Config | None


def _poses(fr: FacialRules, mode: Mode, brief: dict[str, str], rig: Rig) -> list[Keyframe]:
    frames: list[Keyframe] = []
    pose: dict[str, str] = {}
    for phase in mode.phases:
        target = NEUTRAL if phase.shows == NEUTRAL else brief[phase.shows]
        cfg = None
        if phase.kind == "offset":
            pose = {}
        else:
            band = brief[phase.shows + "_intensity"]
            rising = phase.kind in ("onset", "apex")
            cfg, _ = pick(fr, rig, target, band, phase.use, rising)
            if cfg is None:
                raise ValueError(f"no {phase.use} configuration of {target} at {band} fits {rig}")
            if phase.kind == "onset":
                pose = lowered(fr, cfg.pose)
            elif phase.kind == "blend":
                pose = merge(pose, cfg.pose, fr.rank)
            else:
                pose = dict(cfg.pose)
        frames.append(Keyframe(phase.kind, target, pose, weights_of(fr, pose), 0.0, 0.0, cfg))
    return frames


def expert_keyframes(fr: FacialRules, state: dict[str, Any]) -> list[Keyframe]:
    """Poses per phase, then times: the fastest smooth ramps, stretched to the beat's middle.

    All arithmetic is in whole milliseconds so rounding can never push a ramp over the rate
    limit or a pose across a window edge.
    """
    brief = state["brief"]
    mode = fr.modes[brief["display"]]
    frames = _poses(fr, mode, brief, fr.rig_for(state["species"]))
    rate = fr.motion.max_rate_per_s * fr.motion.expert_rate_share
    min_ramp = math.ceil(fr.motion.expert_min_ramp_s * 1000)
    ramps, holds, prev = [], [], {}
    for f in frames:
        keys = {*f.weights, *prev}
        delta = max((abs(f.weights.get(k, 0.0) - prev.get(k, 0.0)) for k in keys), default=0.0)
        ramps.append(max(min_ramp, math.ceil(delta / rate * 1000)))
        holds.append(round(fr.motion.expert_apex_hold_s * 1000) if f.kind == "apex" else 0)
        prev = f.weights
    # A segment may stretch only after the last mid-expression pose that has its own window
    # (the mask of a masked leak must land inside the micro window).
    windowed = [i for i, f in enumerate(frames[:-1]) if f.kind in mode.windows]
    frozen = max(windowed, default=-1)
    total = sum(ramps) + sum(holds)
    beat = state.get("beat")
    if mode.beat and beat:
        lo_s, hi_s = beat["min_s"], beat["max_s"]
        window = mode.windows.get("offset")
        if window:
            lo_s, hi_s = max(lo_s, window[1]), min(hi_s, window[2])
        timing = fr.uncertain_timing
        if mode.felt_smile and timing.smile_emotion in (brief["felt"], brief.get("secondary")):
            lo_s, hi_s = max(lo_s, timing.felt_smile_min_s), min(hi_s, timing.felt_smile_max_s)
        target_ms = max(total, round((lo_s + hi_s) / 2 * 1000))
        shares = []
        for i, f in enumerate(frames):
            ramp_w = 1 if i > frozen else 0
            hold_w = 2 if i >= frozen and f.kind in ("apex", "blend", "mask") else 0
            shares.append((ramp_w, hold_w))
        weight = sum(r + h for r, h in shares)
        extra = target_ms - total
        for i, (rw, hw) in enumerate(shares):
            ramps[i] += extra * rw // weight
            holds[i] += extra * hw // weight
        ramps[-1] += target_ms - (sum(ramps) + sum(holds))
    t = 0
    for f, ramp, hold in zip(frames, ramps, holds, strict=True):
        t += ramp
        f.start = t / 1000
        t += hold
        f.end = t / 1000
    return frames
