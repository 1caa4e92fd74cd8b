"""The sounds arena's scene model: which cues a brief requires, and the scene generator.

A brief is a list of consecutive beats and timed events. Each beat kind and event kind asks for
cue types (``beat_kinds.cues``, ``event_kinds.cues``); each such (target, type) pair is one
``Requirement`` with anchored times. Times are seconds rounded to 0.01 so that the anchors a
policy computes from the brief are exact decimals.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

from srlforge.arena._sounds_rules import LevelRow, SoundRules

# Rejection sampling draws a fresh scene when a draw breaks a structural need (a scare, an
# ambience-only beat, a voice, distinct cue starts); this bounds it when rule data makes those
# needs unsatisfiable, so bad data fails loudly instead of looping.
MAX_DRAWS = 500


@dataclass(frozen=True, slots=True)
class Requirement:
    """One cue the brief needs: ``type`` on ``target`` over [start, end).

    ``mode`` is "span" (covers a beat), "event" (starts at an event, lasts its duration) or
    "runup" (a silence that ends at a scare; ``start`` is where the full run-up window begins).
    """

    key: str
    type: str
    target: str
    mode: str
    start: float
    end: float
    node: dict[str, Any]
    clipped: bool = False


def _node(items: list[dict[str, Any]], target: str) -> tuple[int, dict[str, Any] | None]:
    """Ids are ``b1..bN`` / ``e1..eN`` in list order, so the index is read off the id."""
    try:
        index = int(target[1:]) - 1
    except ValueError:
        return -1, None
    if 0 <= index < len(items) and items[index]["id"] == target:
        return index, items[index]
    return -1, None


def runup_start(rules: SoundRules, event: dict[str, Any]) -> float:
    return round(event["time_s"] - rules.startle.runup_window_s, 3)


def span_end(rules: SoundRules, state: dict[str, Any], index: int) -> tuple[float, bool]:
    """Where the span cue of beat ``index`` ends: its beat's end, or earlier where the next
    beat's run-up window begins (nothing may sound under a silence)."""
    beats = state["beats"]
    end = beats[index]["end_s"]
    if index + 1 < len(beats):
        next_id = beats[index + 1]["id"]
        for event in state["events"]:
            if event["beat"] == next_id and "silence" in rules.events[event["kind"]].cues:
                runup = runup_start(rules, event)
                if runup < end:
                    return runup, True
    return end, False


def find_requirement(
    rules: SoundRules, state: dict[str, Any], target: str, cue_type: str
) -> tuple[Requirement | None, dict[str, Any] | None]:
    """The requirement for ``cue_type`` on ``target`` (None if the kind doesn't ask for it),
    and the beat or event ``target`` names (None if it names nothing in the brief)."""
    if target.startswith("b"):
        index, beat = _node(state["beats"], target)
        if beat is None or cue_type not in rules.beats[beat["kind"]].cues:
            return None, beat
        end, clipped = span_end(rules, state, index)
        req = Requirement(
            f"{target}:{cue_type}", cue_type, target, "span", beat["start_s"], end, beat, clipped
        )
        return req, beat
    _, event = _node(state["events"], target)
    if event is None or cue_type not in rules.events[event["kind"]].cues:
        return None, event
    key = f"{target}:{cue_type}"
    if cue_type == "silence":
        return Requirement(
            key, cue_type, target, "runup", runup_start(rules, event), event["time_s"], event
        ), event
    end = round(event["time_s"] + event["duration_s"], 3)
    return Requirement(key, cue_type, target, "event", event["time_s"], end, event), event


def requirements(rules: SoundRules, state: dict[str, Any]) -> list[Requirement]:
    """Every cue the brief needs, in the order of their start times (the expert's order)."""
    out = []
    for beat in state["beats"]:
        for cue_type in rules.beats[beat["kind"]].cues:
            out.append(find_requirement(rules, state, beat["id"], cue_type)[0])
    for event in state["events"]:
        for cue_type in rules.events[event["kind"]].cues:
            out.append(find_requirement(rules, state, event["id"], cue_type)[0])
    out.sort(key=lambda r: r.start)
    return out


def _r2(x: float) -> float:
    return round(x, 2)


def _beat_kinds(rng: random.Random, rules: SoundRules, level: LevelRow) -> list[str] | None:
    n = rng.randint(*level.beats)
    kinds = [rng.choice(level.first)]
    while len(kinds) < n:
        kinds.append(rng.choice(rules.beats[kinds[-1]].next))
    scares = sum(1 for k in kinds if "scare" in rules.beats[k].events)
    if scares < level.scares_min or not any(rules.beats[k].ambience_only for k in kinds):
        return None
    return kinds


def _place(rng: random.Random, rules: SoundRules, kind: str, lo: float, hi: float):
    """An event of ``kind`` inside [lo, hi] (margins applied): (time, duration) or None."""
    duration = _r2(rng.uniform(*rules.events[kind].duration_s))
    margin = rules.timing.margin_s
    latest = hi - margin - duration
    if latest < lo + margin:
        return None
    return _r2(rng.uniform(lo + margin, latest)), duration


def _draw(rng: random.Random, rules: SoundRules, level: LevelRow) -> dict[str, Any] | None:
    kinds = _beat_kinds(rng, rules, level)
    if kinds is None:
        return None
    startle = rules.startle
    beats, scares, t = [], {}, 0.0
    for i, kind in enumerate(kinds):
        length = _r2(rng.uniform(*rules.beats[kind].duration_s))
        if "scare" in rules.beats[kind].events:
            offset = _r2(rng.uniform(*level.scare_offset_s))
            burst = _r2(rng.uniform(*rules.events["scare"].duration_s))
            length = max(length, _r2(offset + burst + rules.timing.margin_s))
            scares[i] = (_r2(t + offset), burst)
        beats.append({"id": f"b{i + 1}", "kind": kind, "start_s": t, "end_s": _r2(t + length)})
        t = _r2(t + length)
    # Where events may sit: inside the beat, and before the next beat's run-up window.
    usable = []
    for i, beat in enumerate(beats):
        end = beat["end_s"]
        if i + 1 in scares:
            end = min(end, scares[i + 1][0] - startle.runup_window_s)
        usable.append((beat["start_s"], end))
    raw: list[tuple[float, str, int, float]] = []  # (time, kind, beat index, duration)
    buses_used: dict[int, set[str]] = {i: set() for i in range(len(beats))}
    for i, (time, burst) in scares.items():
        raw.append((time, "scare", i, burst))
    for i, beat in enumerate(beats):
        for kind in rules.beats[beat["kind"]].events:
            if kind == "scare":
                continue
            placed = _place(rng, rules, kind, *usable[i])
            if placed is None:
                return None
            raw.append((placed[0], kind, i, placed[1]))
            buses_used[i].update(rules.bus_of[c] for c in rules.events[kind].cues)
    has_voice = any(rules.events[k].voice for _, k, _, _ in raw)
    candidates = [i for i, b in enumerate(beats) if rules.beats[b["kind"]].optional_events]
    rng.shuffle(candidates)
    wanted = rng.randint(*level.optional_events)
    location = rng.choice(sorted(rules.loops))
    for i in candidates[:wanted]:
        options = []
        for kind in rules.beats[beats[i]["kind"]].optional_events:
            row = rules.events[kind]
            if row.locations is not None and location not in row.locations:
                continue
            if any(rules.bus_of[c] in buses_used[i] for c in row.cues):
                continue
            if not has_voice and not row.voice:
                continue  # the monster's voice is the point of the brief: the first optional
            options.append(kind)  # event is a voice when no mandatory one gave it
        if not options:
            continue
        kind = rng.choice(options)
        placed = _place(rng, rules, kind, *usable[i])
        if placed is None:
            continue
        raw.append((placed[0], kind, i, placed[1]))
        buses_used[i].update(rules.bus_of[c] for c in rules.events[kind].cues)
        has_voice = has_voice or rules.events[kind].voice
    if not has_voice:
        return None
    raw.sort()
    events = []
    engine = rules.engine
    for n, (time, kind, i, duration) in enumerate(raw):
        event = {
            "id": f"e{n + 1}",
            "kind": kind,
            "beat": beats[i]["id"],
            "time_s": time,
            "duration_s": duration,
        }
        if kind == "engine":
            event["cylinders"] = rng.choice(engine.cylinders)
            event["rpm"] = rng.randint(engine.rpm_min // 50, engine.rpm_max // 50) * 50
        events.append(event)
    return {"beats": beats, "events": events, "location": location}


def generate_scene(rng: random.Random, rules: SoundRules, difficulty: int) -> dict[str, Any]:
    """A scene for ``difficulty``: ``{species, objective, state, max_steps, metadata}``."""
    level = rules.curriculum[difficulty]
    voiced = sorted(k for k, v in rules.voices.items() if v.voiced)
    for _ in range(MAX_DRAWS):
        drawn = _draw(rng, rules, level)
        if drawn is None:
            continue
        species, form = rng.choice(voiced)
        platform = rng.choice(sorted(rules.platforms))
        state = {
            "platform": platform,
            "location": drawn["location"],
            "monster": {"species": species, "form": form},
            "scene_length_s": drawn["beats"][-1]["end_s"],
            "beats": drawn["beats"],
            "events": drawn["events"],
            "playhead_s": 0.0,
            "bus_free_at": dict.fromkeys(sorted(set(rules.bus_of.values())), 0.0),
            "covered": [],
        }
        reqs = requirements(rules, state)
        starts = [r.start for r in reqs]
        # Distinct, separated starts make the timeline order of the sheet unique.
        if any(b - a <= rules.timing.tolerance_s for a, b in itertools.pairwise(starts)):
            continue
        if any(r.end - r.start < rules.timing.min_cue_s for r in reqs):
            continue
        return _package(rules, state, reqs, difficulty, level)
    raise RuntimeError(
        f"sounds.yaml curriculum level {difficulty} produced no valid scene in {MAX_DRAWS} draws"
    )


def _package(rules, state, reqs, difficulty, level) -> dict[str, Any]:
    monster = state["monster"]
    voice = rules.voices[(monster["species"], monster["form"])]
    objective = (
        f"Write the cue sheet for this {state['scene_length_s']:.2f} s {state['location']} scene "
        f"on {state['platform']}: give every beat and event the cues its kind needs, timed to "
        "the brief and added in start-time order, at the platform's loudness, with a quiet "
        f"run-up before each sting and the {monster['species']}'s voice ({monster['form']} "
        "form) where it is heard."
    )
    return {
        "species": monster["species"],
        "objective": objective,
        "state": state,
        "max_steps": len(reqs) + level.extra_steps,
        "metadata": {
            "difficulty": difficulty,
            "platform": state["platform"],
            "location": state["location"],
            "form": monster["form"],
            "form_can_speak": voice.can_speak,
            "n_beats": len(state["beats"]),
            "n_events": len(state["events"]),
            "n_cues": len(reqs),
            "n_scares": sum(1 for e in state["events"] if e["kind"] == "scare"),
            "runup_cuts": sum(1 for r in reqs if r.clipped),
            "beat_kinds": [b["kind"] for b in state["beats"]],
            "event_kinds": sorted({e["kind"] for e in state["events"]}),
        },
    }
