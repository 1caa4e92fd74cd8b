"""Actions of the sounds arena: the expert's, and the random / saturated / forbidden probes.

The expert places one cue per requirement, in start-time order, every value from the data. The
brief's requirements are exactly the cues a sheet needs (each fills a slot no other cue
can), so placing each one once, timed to its anchors, is optimal: no step is wasted and none
can be dropped. Each ``think`` names the rule or lore that set the cue's values.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from srlforge.arena._sounds_rules import CUE_TYPES
from srlforge.arena._sounds_sim import Requirement, requirements
from srlforge.schema import Scenario, Step

if TYPE_CHECKING:
    from srlforge.arena.sounds import SoundsArena


def _band(arena: SoundsArena, req: Requirement) -> tuple[float, float]:
    sr = arena.sr
    kind = req.node["kind"] if req.mode != "span" else None
    if kind == "door_creak":
        low, high = min(sr.door.resonances_hz), max(sr.door.resonances_hz)
        slack = sr.door.tolerance_ratio
        return round(low * (1 - slack), 1), round(high * (1 + slack), 1)
    if kind == "engine":
        firing = arena.firing_hz(req.node)
        below, above = sr.engine.expert_band_ratio
        return max(20.0, round(firing * below, 1)), min(20000.0, round(firing * above, 1))
    low, high = sr.cue_types[req.type].band_hz
    return float(low), float(high)


def expert_action(arena: SoundsArena, state: dict[str, Any], req: Requirement) -> dict[str, Any]:
    sr = arena.sr
    row = sr.cue_types[req.type]
    kind = req.node["kind"] if req.mode != "span" else None
    if req.type == "silence":
        loudness = peak = sr.levels.silence_max_lufs
    else:
        loudness = sr.platforms[state["platform"]].target_lufs
        peak = sr.levels.true_peak_max_dbtp
    looping = row.looping == "required"
    voice = sr.voices[(state["monster"]["species"], state["monster"]["form"])]
    low, high = _band(arena, req)
    params = {
        "loudness_lufs": float(loudness),
        "true_peak_dbtp": float(peak),
        "loudness_range_lu": float(row.lra_lu),
        "duration_s": round(req.end - req.start, 3),
        "attack_ms": float(sr.startle.fast_attack_ms if req.type == "sting" else row.attack_ms),
        "band_low_hz": low,
        "band_high_hz": high,
        "looping": looping,
        "loop_length_s": float(sr.loops[state["location"]].expert_s) if looping else 0.0,
        "am_rate_hz": float(sr.roughness.expert_am_hz) if kind == "scream" else 0.0,
        "speech": kind == "line" and voice.can_speak,
    }
    timing = {"start_s": float(req.start), "end_s": float(req.end)}
    return {"type": req.type, "target": req.target, "params": params, "timing": timing}


def _think(arena: SoundsArena, state: dict[str, Any], req: Requirement, action: dict) -> str:
    sr, p = arena.sr, action["params"]
    plat = (
        f"{p['loudness_lufs']} LUFS for {state['platform']} (ASWG-R001), "
        f"peak {p['true_peak_dbtp']} dBTP"
    )
    span = f"{req.start}-{req.end} s"
    if req.mode == "span":
        kind = req.node["kind"]
        cut = " (cut where the next scare's run-up window begins)" if req.clipped else ""
        if req.type == "ambience":
            band = sr.loops[state["location"]]
            return (
                f"{req.target} ({kind}) is an ambience-only state: a looping "
                f"{state['location']} bed ({band.min_s}-{band.max_s} s loops) over {span}"
                f"{cut}, {plat}."
            )
        return f"{req.target} ({kind}) needs music over {span}{cut}, {plat}."
    kind = req.node["kind"]
    monster = state["monster"]
    if req.type == "silence":
        return (
            f"Scare {req.target} hits at {req.end} s: silence from {req.start} s so no "
            f"prepulse in the {sr.startle.runup_window_s} s run-up blunts the startle."
        )
    if req.type == "sting":
        return (
            f"Sting for {req.target} at {span}: {p['attack_ms']} ms attack and a "
            f"{p['band_low_hz']:.0f}-{p['band_high_hz']:.0f} Hz broadband burst startle "
            f"most, {plat}."
        )
    if kind == "scream":
        return (
            f"The {monster['species']} screams at {span}: AM at {p['am_rate_hz']} Hz gives "
            f"the {sr.roughness.am_min_hz:.0f}-{sr.roughness.am_max_hz:.0f} Hz roughness of "
            f"screams, no words, {plat}."
        )
    if kind == "line":
        form = f"{monster['species']} ({monster['form']} form)"
        how = "speaks it with words" if p["speech"] else "can't speak (SRD 5.1), so it is wordless"
        return f"The {form} has a line at {span} and {how}, {plat}."
    if kind == "door_creak":
        return (
            f"Door creak {req.target} at {span}: band {p['band_low_hz']}-{p['band_high_hz']}"
            f" Hz holds the door resonances {min(sr.door.resonances_hz)}-"
            f"{max(sr.door.resonances_hz)} Hz, {plat}."
        )
    firing = arena.firing_hz(req.node)
    return (
        f"Engine {req.target} at {span}: {req.node['cylinders']} cylinders at "
        f"{req.node['rpm']} RPM fire at F = cyl x RPM / {sr.engine.firing_divisor:.0f} = "
        f"{firing:.1f} Hz, inside the {p['band_low_hz']}-{p['band_high_hz']} Hz band, "
        f"{plat}."
    )


def expert_steps(arena: SoundsArena, scenario: Scenario) -> list[Step]:
    state = arena.initial_state(scenario)
    steps = []
    for req in requirements(arena.sr, state):
        action = expert_action(arena, state, req)
        model = arena.action_model.model_validate(action, strict=True)
        state, delta = arena.apply(state, model)
        steps.append(
            Step(think=_think(arena, state, req, action), action=action, expected_state_delta=delta)
        )
    return steps


def random_cue(rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid cue with every field drawn uniformly (the random-policy baseline)."""
    ids = [b["id"] for b in state["beats"]] + [e["id"] for e in state["events"]]
    start = round(rng.uniform(0.0, state["scene_length_s"]), 2)
    end = round(min(600.0, start + rng.uniform(0.01, 20.0)), 2)
    low, high = sorted(round(rng.uniform(20.0, 20000.0), 1) for _ in range(2))
    looping = rng.random() < 0.5
    params = {
        "loudness_lufs": round(rng.uniform(-90.0, 0.0), 1),
        "true_peak_dbtp": round(rng.uniform(-90.0, 0.0), 1),
        "loudness_range_lu": round(rng.uniform(0.0, 40.0), 1),
        "duration_s": round(end - start, 3),
        "attack_ms": round(rng.uniform(0.0, 2000.0), 1),
        "band_low_hz": low,
        "band_high_hz": high,
        "looping": looping,
        "loop_length_s": round(rng.uniform(0.1, 300.0), 1) if looping else 0.0,
        "am_rate_hz": round(rng.uniform(0.0, 1000.0), 1),
        "speech": rng.random() < 0.5,
    }
    return {
        "type": rng.choice(CUE_TYPES),
        "target": rng.choice(ids),
        "params": params,
        "timing": {"start_s": start, "end_s": end},
    }


def saturated_cue(state: dict[str, Any]) -> dict[str, Any]:
    """The first scare's sting, on time, with every level-like field at its schema maximum."""
    scare = next(e for e in state["events"] if e["kind"] == "scare")
    end = round(scare["time_s"] + scare["duration_s"], 3)
    params = {
        "loudness_lufs": 0.0,
        "true_peak_dbtp": 0.0,
        "loudness_range_lu": 40.0,
        "duration_s": round(end - scare["time_s"], 3),
        "attack_ms": 0.0,
        "band_low_hz": 20.0,
        "band_high_hz": 20000.0,
        "looping": False,
        "loop_length_s": 0.0,
        "am_rate_hz": 1000.0,
        "speech": False,
    }
    timing = {"start_s": scare["time_s"], "end_s": end}
    return {"type": "sting", "target": scare["id"], "params": params, "timing": timing}


def forbidden_cues(arena: SoundsArena, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Expert cues with one hard rule broken in ``state``: the next cue half a dB over the
    true-peak ceiling, a sting with the study's slow attack, and a cue that starts before the
    previous one (once there is a previous one)."""
    sr = arena.sr
    reqs = requirements(sr, state)
    covered = set(state["covered"])
    pending = [r for r in reqs if r.key not in covered]
    out = []
    if pending:
        hot = expert_action(arena, state, pending[0])
        hot["params"]["true_peak_dbtp"] = min(0.0, sr.levels.true_peak_max_dbtp + 0.5)
        out.append(hot)
    sting = next((r for r in pending if r.type == "sting"), None)
    sting = sting or next(r for r in reqs if r.type == "sting")
    slow = expert_action(arena, state, sting)
    slow["params"]["attack_ms"] = sr.startle.slow_attack_ms
    out.append(slow)
    earlier = [r for r in reqs if r.start < state["playhead_s"]]
    if earlier:
        out.append(expert_action(arena, state, earlier[-1]))
    return out
