"""Baseline and adversarial keyframes for the facial arena: random, saturated, forbidden."""

from __future__ import annotations

import random
from typing import Any, get_args

from srlforge.arena._facial_plan import weights_of
from srlforge.arena._facial_rules import NEUTRAL, FacialRules
from srlforge.arena._facial_tables import PhaseKind


def random_keyframe(fr: FacialRules, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid keyframe with every field drawn at random (the random-policy baseline)."""
    codes = sorted(fr.code_base)
    names = sorted(fr.blendshapes)
    start = round(max(0.0, state["time"] + rng.uniform(-0.2, 1.0)), 3)
    return {
        "type": rng.choice(get_args(PhaseKind)),
        "target": rng.choice([*fr.emotions, NEUTRAL]),
        "params": {
            "aus": {rng.choice(codes): rng.choice(fr.bands) for _ in range(rng.randint(0, 5))},
            "blendshapes": {
                rng.choice(names): round(rng.random(), 3) for _ in range(rng.randint(0, 8))
            },
        },
        "timing": {"start": start, "end": round(start + rng.uniform(0.0, 0.5), 3)},
    }


def saturated_keyframe(fr: FacialRules, brief: dict[str, str]) -> dict[str, Any]:
    """Every AU at the top band and every blendshape at 1.0, as the first phase."""
    return {
        "type": fr.modes[brief["display"]].phases[0].kind,
        "target": brief["felt"],
        "params": {
            "aus": {c: fr.bands[-1] for c, base in fr.code_base.items() if c == base},
            "blendshapes": dict.fromkeys(sorted(fr.blendshapes), 1.0),
        },
        "timing": {"start": 0.1, "end": 0.1},
    }


def forbidden_keyframes(fr: FacialRules, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Schema-valid keyframes of the expected phase that each break a hard rule in ``state``.

    In order: an AU the species' rig lacks (or one above its cap), a bilateral coding of each
    unilateral emotion (contempt), a blendshape no AU drives, and time running backwards.
    """
    mode = fr.modes[state["brief"]["display"]]
    kind = mode.phases[min(len(state["marks"]), len(mode.phases) - 1)].kind
    start = round(state["time"] + 0.1, 3)
    felt = state["brief"]["felt"]

    def keyframe(target: str, pose: dict[str, str], extra: dict[str, float] | None = None):
        shapes = {**weights_of(fr, pose), **(extra or {})}
        params = {"aus": pose, "blendshapes": shapes}
        return {
            "type": kind,
            "target": target,
            "params": params,
            "timing": {"start": start, "end": start},
        }

    out = []
    rig = fr.rig_for(state["species"])
    mapped = [c for c, base in fr.code_base.items() if c == base and fr.expected[(c, "A")]]
    missing = [c for c in mapped if c in rig.unsupported]
    capped = [c for c in mapped if rig.caps.get(c, 99) < fr.rank[fr.bands[-1]]]
    if missing:
        out.append(keyframe(felt, {missing[0]: fr.bands[0]}))
    elif capped:
        out.append(keyframe(felt, {capped[0]: fr.bands[-1]}))
    for emotion, codes in fr.unilateral.items():
        out.append(keyframe(emotion, {c: fr.bands[0] for c in codes}))
    undriven = sorted(fr.blendshapes - {bs for v in fr.expected.values() for bs, *_ in v})
    out.append(keyframe(felt, {}, {undriven[0]: 0.8}))
    # The pose would be reached no later than the previous hold ends.
    out.append({**keyframe(NEUTRAL, {}), "timing": {"start": state["time"], "end": 10.0}})
    return out
