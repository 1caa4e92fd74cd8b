"""The buildings brief + expert plan drawn from a reference layout.

``design`` turns one RNG draw into the scenario the policy sees (the brief: site, entrance,
style, code, occupants, programme of elements, lighting variants) and the expert's actions with
a rationale each. The brief keeps only requirements (minimum areas with slack, the doors it
insists on, daylight, style features, ceilings), so the policy must still design the geometry.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from srlforge.arena._buildings_expert import expert_plan
from srlforge.arena._buildings_layout import (
    Layout,
    LayoutSpec,
    PlanElement,
    dm,
    dm_up,
    on_exterior_wall,
    reference_layout,
)
from srlforge.arena._buildings_tables import KindRow, Tables, ceiling_min, corridor_min_width


@dataclass
class Design:
    spec: dict[str, Any]  # what Arena.generate returns
    actions: list[dict[str, Any]]
    thinks: list[str]


def _m(v: int) -> float:
    return v / 10


def _assign_functions(t: Tables, kind: KindRow, lay: Layout) -> PlanElement:
    """Name rooms by function (largest = the kind's main room); returns the main room."""
    rooms = [e for e in lay.elements if e.kind == "room" and e.key != lay.central]
    ground = sorted(
        (e for e in rooms if e.floor == 0), key=lambda e: -e.rect[2] * e.rect[3]
    )  # stable: ties keep build order
    n_service = 0 if len(ground) < 3 else 1 if len(ground) < 6 else 2
    for i, e in enumerate(ground):
        if i == 0:
            e.function = kind.main_function
        elif i >= len(ground) - n_service:
            e.function = kind.service_functions[(len(ground) - 1 - i) % len(kind.service_functions)]
        else:
            e.function = kind.functions[(i - 1) % len(kind.functions)]
    for i, e in enumerate(e for e in rooms if e.floor == 1):
        e.function = kind.upper_functions[i % len(kind.upper_functions)]
    central = next(e for e in lay.elements if e.key == lay.central)
    if central.kind == "room":
        central.function = kind.entry_function
    # ids name the function (bedroom, bedroom_2, ...); circulation keeps fixed names
    names = {"c": "corridor", "s": "stairs", "u": "landing"}
    count: dict[str, int] = {}
    for e in lay.elements:
        base = names.get(e.key, "") if e.kind != "room" else e.function or ""
        count[base] = count.get(base, 0) + 1
        names[e.key] = base if count[base] == 1 else f"{base}_{count[base]}"
    for e in lay.elements:
        e.key, e.parent = names[e.key], names.get(e.parent, e.parent)
    lay.central = names["c"]
    return ground[0]


def design(t: Tables, rng: random.Random, difficulty: int, expert: bool = False) -> Design:
    """A scenario spec; with ``expert`` also the reference actions (sampling skips them)."""
    level = t.levels[difficulty]
    lt, tol = t.layout, t.geometry.tolerance_m
    kind = rng.choice(t.kinds)
    style = rng.choice(list(t.styles))
    occupants = rng.randint(*level.occupants)
    storeys = min(level.storeys, kind.max_storeys)
    code = t.codes.ceilings[kind.code]
    floor_lo = max(dm(kind.ceiling_m[0]), dm_up(code["habitable"]), dm_up(code["service"]))
    top = rng.randint(floor_lo, max(floor_lo, dm(kind.ceiling_m[1])))
    storey = top + dm_up(t.geometry.floor_structure_m)
    corridor = level.plan == "corridor" or storeys > 1
    central_w = (
        dm_up(corridor_min_width(t, occupants)) + rng.randint(*map(dm, lt.corridor_extra_width_m))
        if corridor
        else rng.randint(*map(dm, lt.hall_width_m))
    )
    spec = LayoutSpec(
        corridor=corridor,
        storeys=storeys,
        side_rooms=level.side_rooms,
        top_rooms=level.top_rooms,
        suites=level.suites,
        upper_side_rooms=level.upper_side_rooms,
        room_span=(dm(lt.room_span_m[0]), dm(lt.room_span_m[1])),
        strip_width=lt.strip_width_m,
        suite_strip_width=lt.suite_strip_width_m,
        central_width=central_w,
        top_depth=lt.top_depth_m,
        storey_height=storey,
        max_riser=t.codes.stairs.max_riser_m,
        tread=lt.tread_m,
        min_shared_wall=dm_up(lt.min_shared_wall_m),
    )
    lay = reference_layout(rng, spec)
    main = _assign_functions(t, kind, lay)
    for e in lay.elements:
        if e.kind != "stairs":
            lo = max(dm_up(ceiling_min(t, kind.code, e.kind, e.function)), dm(kind.ceiling_m[0]))
            e.ceiling = top if e is main else rng.randint(min(lo, top), top)
    W, D = _m(lay.width), _m(lay.depth)

    rooms = [e for e in lay.elements if e.kind == "room"]
    outside = {e.key for e in rooms if on_exterior_wall(tuple(map(_m, e.rect)), W, D, tol)}

    def exterior(e: PlanElement) -> bool:
        return e.key in outside

    style_row = t.styles[style]
    inner_feats = [f for f in style_row.features if f.scope == "both"]
    windows = not kind.below_grade

    def room_feats(e: PlanElement) -> list[str]:
        return [f.name for f in inner_feats if not f.window or (windows and exterior(e))]

    daylit_pool = [] if kind.below_grade else [e for e in rooms if exterior(e)]
    daylit = rng.sample(daylit_pool, min(level.daylit_rooms, len(daylit_pool)))
    feat_pool = [e for e in rooms if t.functions[e.function].habitable and room_feats(e)]
    featured = rng.sample(feat_pool, min(level.feature_rooms, len(feat_pool)))
    others = [e for e in rooms if e is not main]
    extra = rng.sample(others, min(max(level.ceiling_rooms - 1, 0), len(others)))
    ceiling_rooms = [main, *extra][: level.ceiling_rooms]
    periods = [(e, p) for e in rooms for p in ("day", "night")]
    lit = rng.sample(periods, min(rng.randint(*level.lighting_variants), len(periods)))
    order = {e.key: i for i, e in enumerate(lay.elements)}
    lit.sort(key=lambda ep: (order[ep[0].key], ep[1]))

    facade_n = min(level.facade_features, len(style_row.features))
    facade = [f.name for f in rng.sample(style_row.features, facade_n)]
    for e in featured:  # a window seen inside must be on the façade too
        used = room_feats(e)[0]
        if t.features[style][used].window and used not in facade:
            facade.append(used)
    facade.sort(key=[f.name for f in style_row.features].index)
    env_materials = rng.sample(style_row.materials, min(2, len(style_row.materials)))
    site_w = round(W + _m(rng.randint(*map(dm, level.site_margin_m))), 1)
    site_d = round(D + _m(rng.randint(*map(dm, level.site_margin_m))), 1)
    height_limit = round(storeys * _m(storey) + _m(rng.randint(0, dm(level.height_margin_m))), 1)

    daylit_keys = {e.key for e in daylit}
    featured_keys = {e.key for e in featured}
    ceiling_keys = {e.key for e in ceiling_rooms}
    program: dict[str, dict[str, Any]] = {}
    for e in lay.elements:
        w, d = e.rect[2], e.rect[3]
        program[e.key] = {
            "kind": e.kind,
            "function": e.function,
            "floor": e.floor,
            "min_area": math.floor(w * d / 100 * (1 - level.area_slack) * 2) / 2
            if e.kind == "room"
            else None,
            "opens_off": e.parent
            if e.kind != "room" or e.key == lay.central or rng.random() < level.opens_off_fraction
            else None,
            "daylit": e.key in daylit_keys,
            "min_features": 1 if e.key in featured_keys else 0,
            "min_ceiling": _m(e.ceiling) if e.key in ceiling_keys else None,
        }
    state = {
        "building": {
            "kind": kind.kind,
            "style": style,
            "code": kind.code,
            "below_grade": kind.below_grade,
            "occupants": occupants,
            "storeys": storeys,
            "height_limit": height_limit,
        },
        "site": {"width": site_w, "depth": site_d},
        "entrance": {"side": "south", "x": lay.entrance_x},
        "facade": {"min_features": facade_n},
        "program": program,
        "lighting_brief": [{"target": e.key, "period": p} for e, p in lit],
        "envelope": None,
        "elements": {},
        "lighting": {},
    }
    actions, thinks = (
        expert_plan(t, state, lay, storey, env_materials, facade, room_feats)
        if expert
        else ([], [])
    )
    optimal = 1 + len(program) + len(lit)  # one step per element and per lighting variant
    label = style.replace("_", " ").title()
    objective = (
        f"Build a {storeys}-storey {label} {kind.kind.replace('_', ' ')} ({kind.code}, "
        f"{occupants} occupants) on the {site_w} x {site_d} m site: the envelope first, then "
        f"every programme element through a door onto a built element or the front door at "
        f"x = {lay.entrance_x} m, meeting code minimums and the brief; add the listed day/night "
        "lighting variants."
    )
    metadata = {
        "difficulty": difficulty,
        "kind": kind.kind,
        "style": style,
        "code": kind.code,
        "storeys": storeys,
        "plan": "corridor" if corridor else "hall",
        "elements": len(program),
        "rooms": len(rooms),
        "rooms_behind_rooms": sum(
            1 for e in rooms if e.parent not in (lay.central, "entrance", "landing")
        ),
        "lighting_variants": len(lit),
        "daylit_rooms": len(daylit),
        "feature_rooms": len(featured),
        "required_doors": sum(1 for p in program.values() if p["opens_off"]),
        "area_slack": level.area_slack,
        "wide_corridor": corridor and occupants >= t.codes.corridor.reduced_below_occupants,
        "optimal_steps": optimal,
    }
    spec_out = {
        "species": None,
        "objective": objective,
        "state": state,
        "max_steps": optimal + level.step_slack,
        "metadata": metadata,
    }
    return Design(spec_out, actions, thinks)
