"""Baseline and adversarial actions for the buildings arena (random, saturated, forbidden).

Kept apart from the rules so ``buildings.py`` reads as the verifier; every action here is
schema-valid, so it exercises the rule checks rather than the parser.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from annotated_types import Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from srlforge.arena._buildings_model import Door, RoomParams

if TYPE_CHECKING:
    from srlforge.arena.buildings import BuildingsArena
    from srlforge.schema import Scenario


def _schema_max(model: type[BaseModel], name: str) -> float:
    info: FieldInfo = model.model_fields[name]
    return next(m.le for m in info.metadata if isinstance(m, Le))


def random_action(arena: BuildingsArena, rng: random.Random, state: dict[str, Any]) -> dict:
    """Uniform over the schema's kinds, ids seen in the brief and the known vocabulary."""
    t = arena.t
    kind = rng.choice(["envelope", "room", "room", "corridor", "stairs", "lighting", "lighting"])
    site = state["site"]
    ids = [*state["program"], "annex"]
    parents = [*state["elements"], "entrance"]

    def num(lo: float, hi: float) -> float:
        return round(rng.uniform(lo, hi), 2)

    def words(lo: int, hi: int) -> list[str]:
        return rng.sample(t.vocabulary, rng.randint(lo, hi))

    if kind == "envelope":
        params: dict[str, Any] = {
            "width": num(3.0, site["width"] + 2),
            "depth": num(3.0, site["depth"] + 2),
            "storeys": rng.randint(1, 3),
            "storey_height": num(2.2, 5.0),
            "materials": words(1, 3),
            "features": words(1, 3),
        }
        return {"type": "envelope", "target": "envelope", "params": params}
    if kind == "lighting":
        return {
            "type": "lighting",
            "target": rng.choice([*state["elements"], *ids]),
            "params": {"source": rng.choice(list(t.sources)), "level": num(0.0, 1.0)},
            "timing": {"period": rng.choice(["day", "night"])},
        }
    place = {
        "attach_to": rng.choice(parents),
        "floor": rng.randint(0, 1),
        "x": num(0.0, site["width"]),
        "y": num(0.0, site["depth"]),
    }
    if kind == "stairs":
        params = {
            **place,
            "direction": rng.choice(["north", "south", "east", "west"]),
            "width": num(0.6, 2.0),
            "length": num(1.0, 6.0),
            "risers": rng.randint(2, 24),
            "riser_height": num(0.1, 0.3),
            "tread_depth": num(0.15, 0.5),
            "headroom": num(1.5, 3.0),
        }
        return {"type": "stairs", "target": rng.choice(ids), "params": params}
    params = {
        **place,
        "width": num(0.5, 8.0),
        "depth": num(0.5, 8.0),
        "ceiling_height": num(1.8, 5.0),
        "door": {"width": num(0.5, 1.5), "height": num(1.5, 2.5)},
        "materials": words(1, 3),
    }
    if kind == "room":
        params = {"function": rng.choice(list(t.functions)), **params, "features": words(0, 2)}
    return {"type": kind, "target": rng.choice(ids), "params": params}


def saturated_action(arena: BuildingsArena, scenario: Scenario) -> dict[str, Any]:
    """The brief's first room with every dimension at its schema maximum."""
    program = scenario.state["program"]
    target, brief = next((k, v) for k, v in program.items() if v["kind"] == "room")
    style = arena.t.styles[scenario.state["building"]["style"]]
    top = {n: _schema_max(RoomParams, n) for n in ("x", "y", "width", "depth", "ceiling_height")}
    params = {
        "function": brief["function"],
        "attach_to": "entrance",
        "floor": int(_schema_max(RoomParams, "floor")),
        **top,
        "door": {"width": _schema_max(Door, "width"), "height": _schema_max(Door, "height")},
        "materials": style.materials[:3],
        "features": [f.name for f in style.features][:4],
    }
    return {"type": "room", "target": target, "params": params}


def _done(action: dict[str, Any], state: dict[str, Any]) -> bool:
    if action["type"] == "envelope":
        return state["envelope"] is not None
    if action["type"] == "lighting":
        return f"{action['target']}@{action['timing']['period']}" in state["lighting"]
    return action["target"] in state["elements"]


def forbidden_actions(
    arena: BuildingsArena, scenario: Scenario, state: dict[str, Any]
) -> list[dict[str, Any]]:
    """Near-misses of the expert's next move, each breaking a hard rule in ``state``."""
    actions, _ = arena._plan(scenario)
    doorways = [a for a in actions if a["type"] in ("room", "corridor")]
    if state["envelope"] is None:
        candidates = [doorways[0]]  # a room before the envelope it must stand in
    else:
        template = next((a for a in doorways if not _done(a, state)), doorways[0])
        egress = arena.t.codes.egress_door
        narrow = {**template["params"]["door"], "width": round(egress.min_width_m - 0.2, 2)}
        candidates = [
            actions[0],  # a second envelope
            {**template, "params": {**template["params"], "attach_to": "nowhere"}},
            {**template, "params": {**template["params"], "door": narrow}},
            {
                "type": "lighting",
                "target": "nowhere",
                "params": {"source": "daylight", "level": 0.5},
                "timing": {"period": "night"},
            },
        ]
    out = []
    for action in candidates:
        model, _ = arena.validate_action(action)
        if model is not None and any(
            v.severity == "hard" for v in arena.check_action(state, model)
        ):
            out.append(action)
    return out
