"""The buildings expert: the reference layout written out as actions, each with its reason.

The plan is optimal in steps by construction: one envelope, one step per programme element (in
door-tree order, parents first) and one per required lighting variant, which is the least any
successful episode can take. Every value it writes clears the rule data (doors from the layout
table, stairs sized from the storey height and the riser/tread limits), and each ``think`` cites
the rule that fixed the choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from srlforge.arena._buildings_layout import Layout, PlanElement, on_exterior_wall
from srlforge.arena._buildings_tables import Tables, ceiling_min, corridor_min_width


def _m(v: int) -> float:
    return v / 10


def _label(word: str) -> str:
    return word.replace("_", " ")


def expert_plan(
    t: Tables,
    state: dict[str, Any],
    lay: Layout,
    storey: int,
    env_materials: list[str],
    facade: list[str],
    room_feats: Callable[[PlanElement], list[str]],
) -> tuple[list[dict[str, Any]], list[str]]:
    b, program = state["building"], state["program"]
    codes, door = t.codes, t.layout.door
    W, D, S = _m(lay.width), _m(lay.depth), _m(storey)
    structure = t.geometry.floor_structure_m
    actions: list[dict[str, Any]] = [
        {
            "type": "envelope",
            "target": "envelope",
            "params": {
                "width": W,
                "depth": D,
                "storeys": lay.storeys,
                "storey_height": S,
                "materials": env_materials,
                "features": facade,
            },
        }
    ]
    thinks = [
        f"Envelope first: every room, stair and light must lie inside it. {W} x {D} m fits the "
        f"{state['site']['width']} x {state['site']['depth']} m site; {lay.storeys} x {S} m "
        f"storeys stay under the {b['height_limit']} m limit and leave {round(S - structure, 2)}"
        f" m for ceilings. {_label(b['style']).title()} vocabulary: "
        f"{', '.join(map(_label, facade))} in {', '.join(map(_label, env_materials))}."
    ]
    finishes = [env_materials[0], t.neutral[0]]
    egress = f"egress door >= {codes.egress_door.min_width_m} x {codes.egress_door.min_height_m} m"
    for e in lay.elements:
        x, y, w, d = map(_m, e.rect)
        brief = program[e.key]
        where = "the front door" if e.parent == "entrance" else e.parent
        if e.kind == "stairs":
            stair = lay.stair
            assert stair is not None  # a stairs element exists only in a two-storey layout
            params: dict[str, Any] = {
                "attach_to": e.parent,
                "floor": e.floor,
                "x": x,
                "y": y,
                "direction": "north",
                "width": w,
                "length": d,
                "risers": stair.risers,
                "riser_height": stair.riser_height,
                "tread_depth": stair.tread,
                "headroom": t.layout.stair_headroom_m,
            }
            thinks.append(
                f"Stairs north from {where}'s end: {stair.risers} risers x "
                f"{stair.riser_height:.4f} m = the {S} m storey (riser <= "
                f"{codes.stairs.max_riser_m} m); {stair.risers - 1} treads x {stair.tread} m fit "
                f"the {d} m flight (tread >= {codes.stairs.min_tread_m} m); {w} m wide >= "
                f"{codes.stairs.min_width_m} m, headroom {t.layout.stair_headroom_m} m >= "
                f"{codes.stairs.min_headroom_m} m."
            )
            actions.append({"type": "stairs", "target": e.key, "params": params})
            continue
        params = {
            "attach_to": e.parent,
            "floor": e.floor,
            "x": x,
            "y": y,
            "width": w,
            "depth": d,
            "ceiling_height": _m(e.ceiling),
            "door": {"width": door.width_m, "height": door.height_m},
            "materials": finishes,
        }
        c_min = ceiling_min(t, b["code"], e.kind, e.function)
        opening = (
            f"opens off {where} through a {door.width_m} x {door.height_m} m door ({egress}); "
            f"ceiling {_m(e.ceiling)} m >= {c_min} m ({b['code']}) and fits the {S} m storey"
        )
        if e.kind == "corridor":
            need = corridor_min_width(t, b["occupants"])
            thinks.append(
                f"Corridor {e.key} {opening}; {min(w, d)} m wide >= {need} m for "
                f"{b['occupants']} occupants (IBC 1020.2), so the rooms beside it can open off it."
            )
            actions.append({"type": "corridor", "target": e.key, "params": params})
            continue
        feats = room_feats(e)[: brief["min_features"]]
        params = {"function": e.function, **params, "features": feats}
        row = t.functions[e.function]
        reasons = [f"{e.key} ({_label(e.function)}) {opening}"]
        area = round(w * d, 2)
        if row.habitable and not row.area_exempt:
            reasons.append(
                f"{w} x {d} m = {area} m2 >= the brief's {brief['min_area']} and the habitable "
                f"{codes.habitable_min_area_m2} m2, sides >= {codes.habitable_min_dimension_m} m"
            )
        else:
            reasons.append(f"{w} x {d} m = {area} m2 >= the brief's {brief['min_area']} m2")
        if brief["daylit"] or feats:
            reasons.append("on an exterior wall for daylight and windows")
        if feats:
            reasons.append(f"shows {', '.join(map(_label, feats))} from the façade's style")
        thinks.append("; ".join(reasons) + ".")
        actions.append({"type": "room", "target": e.key, "params": params})

    elements = {e.key: e for e in lay.elements}
    below = b["below_grade"]
    era = t.era_source[b["style"]]
    for item in state["lighting_brief"]:
        e, period = elements[item["target"]], item["period"]
        window = not below and on_exterior_wall(
            tuple(map(_m, e.rect)), W, D, t.geometry.tolerance_m
        )
        if period == "day" and window:
            source, level = "daylight", t.lighting.expert_day_level
            why = "an exterior wall lets daylight in"
        else:
            source = era
            level = (
                t.lighting.expert_day_level if period == "day" else t.lighting.expert_night_level
            )
            why = (
                f"{_label(era)} fits the {_label(b['style'])} era"
                + (", no window to light it by day" if period == "day" else "")
                + (
                    f"; dim (<= {t.lighting.max_night_level}) so the dark does the work"
                    if period == "night"
                    else ""
                )
            )
        actions.append(
            {
                "type": "lighting",
                "target": e.key,
                "params": {"source": source, "level": level},
                "timing": {"period": period},
            }
        )
        thinks.append(f"{period.title()} variant of {e.key} now that it exists: {source}; {why}.")
    return actions, thinks
