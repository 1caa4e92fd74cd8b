"""Footprint geometry and the generator's reference layouts for the buildings arena.

Rectangles are ``(x, y, width, depth)`` with x east and y north. The verifier works in metres
(floats, with the rule data's tolerance); the generator works in integer decimetres so that its
layouts are exact and print as short decimals.

A reference layout is a plan the brief is derived from, so every brief is known to be buildable:
a central hall or corridor runs north from the front door, strips of rooms line both sides
(some split into suites: an outer room on the corridor and an inner room behind it), a row of
rooms closes the north end, and a two-storey plan continues the corridor as a north-bound stair
whose head lands on an upper corridor lined with rooms. Each floor's door tree is a BFS over
shared walls long enough for a door, from the element at the front door or the stair head.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

Rect = tuple[float, float, float, float]

# direction of ascent -> (side of the stair's rectangle at its foot, side at its head)
STAIR_EDGES = {
    "north": ("south", "north"),
    "south": ("north", "south"),
    "east": ("west", "east"),
    "west": ("east", "west"),
}


def stair_rect(x: float, y: float, direction: str, width: float, length: float) -> Rect:
    """The footprint of a flight: ``width`` across the flight, ``length`` along it."""
    if direction in ("north", "south"):
        return (x, y, width, length)
    return (x, y, length, width)


def overlaps(a: Rect, b: Rect, tol: float) -> bool:
    """Interiors intersect (touching walls is not overlapping)."""
    return (
        a[0] < b[0] + b[2] - tol
        and b[0] < a[0] + a[2] - tol
        and a[1] < b[1] + b[3] - tol
        and b[1] < a[1] + a[3] - tol
    )


def _span(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def shared_wall(a: Rect, b: Rect, tol: float) -> float:
    """Length of the wall two touching rectangles share (0 when they don't touch)."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    if abs(ax1 - b[0]) <= tol or abs(bx1 - a[0]) <= tol:
        return _span(a[1], ay1, b[1], by1)
    if abs(ay1 - b[1]) <= tol or abs(by1 - a[1]) <= tol:
        return _span(a[0], ax1, b[0], bx1)
    return 0.0


def edge_contact(rect: Rect, other: Rect, side: str, tol: float) -> float:
    """Length of ``rect``'s ``side`` edge that ``other`` touches from outside."""
    x, y, w, d = rect
    ox, oy, ow, od = other
    if side == "south" and abs(oy + od - y) <= tol:
        return _span(x, x + w, ox, ox + ow)
    if side == "north" and abs(oy - (y + d)) <= tol:
        return _span(x, x + w, ox, ox + ow)
    if side == "west" and abs(ox + ow - x) <= tol:
        return _span(y, y + d, oy, oy + od)
    if side == "east" and abs(ox - (x + w)) <= tol:
        return _span(y, y + d, oy, oy + od)
    return 0.0


def inside(rect: Rect, width: float, depth: float, tol: float) -> bool:
    x, y, w, d = rect
    return x >= -tol and y >= -tol and x + w <= width + tol and y + d <= depth + tol


def on_exterior_wall(rect: Rect, width: float, depth: float, tol: float) -> bool:
    x, y, w, d = rect
    return x <= tol or y <= tol or x + w >= width - tol or y + d >= depth - tol


# ----- the reference layout (integer decimetres) --------------------------------------------------


def dm(metres: float) -> int:
    return round(metres * 10)


def dm_up(metres: float) -> int:
    """Smallest whole decimetre that is >= ``metres`` (so a code minimum is met)."""
    return math.ceil(metres * 10 - 1e-9)


def _rand_dm(rng: random.Random, bounds: tuple[float, float]) -> int:
    return rng.randint(dm(bounds[0]), dm(bounds[1]))


def split_total(rng: random.Random, total: int, parts: int, minimum: int) -> list[int]:
    """``parts`` integers >= ``minimum`` summing to ``total`` (total >= parts * minimum)."""
    extra = total - parts * minimum
    cuts = sorted(rng.randint(0, extra) for _ in range(parts - 1))
    edges = [0, *cuts, extra]
    return [minimum + edges[i + 1] - edges[i] for i in range(parts)]


@dataclass
class PlanElement:
    key: str
    kind: str  # room | corridor | stairs
    floor: int
    rect: tuple[int, int, int, int]  # dm
    parent: str = ""
    function: str | None = None
    ceiling: int = 0  # dm


@dataclass
class StairSpec:
    risers: int
    riser_height: float  # m
    tread: float  # m
    run: int  # dm, the flight's length along its direction


@dataclass
class Layout:
    width: int  # dm
    depth: int
    storeys: int
    entrance_x: float  # m, on the south wall
    central: str  # key of the element behind the front door
    elements: list[PlanElement] = field(default_factory=list)  # build order: parents first
    stair: StairSpec | None = None


@dataclass
class LayoutSpec:
    """The generator's knobs, already resolved from the difficulty and layout tables."""

    corridor: bool
    storeys: int
    side_rooms: tuple[int, int]
    top_rooms: tuple[int, int]
    suites: tuple[int, int]
    upper_side_rooms: tuple[int, int]
    room_span: tuple[int, int]  # dm
    strip_width: tuple[float, float]  # m
    suite_strip_width: tuple[float, float]
    central_width: int  # dm: the corridor's (from the code and occupancy) or the hall's
    top_depth: tuple[float, float]
    storey_height: int  # dm
    max_riser: float  # m
    tread: tuple[float, float]  # m
    min_shared_wall: int  # dm


def _strip(
    rng: random.Random, side: str, count: int, x0: int, width: int, y0: int, length: int,
    floor: int, suites: list[tuple[str, int]], spec: LayoutSpec,
) -> list[PlanElement]:  # fmt: skip
    """Rooms stacked along y in the strip [x0, x0+width]; suites split off an inner room."""
    out: list[PlanElement] = []
    if count == 0:
        return out
    lo = dm(spec.strip_width[0])
    y = y0
    for i, h in enumerate(split_total(rng, length, count, spec.room_span[0])):
        if (side, i) in suites:
            outer = rng.randint(lo, width - lo)
            # the outer room faces the central strip; the inner one sits against the façade
            ox = x0 + width - outer if side == "l" else x0
            ix = x0 if side == "l" else x0 + outer
            out.append(PlanElement(f"{side}{floor}_{i}", "room", floor, (ox, y, outer, h)))
            out.append(PlanElement(f"{side}{floor}_{i}i", "room", floor, (ix, y, width - outer, h)))
        else:
            out.append(PlanElement(f"{side}{floor}_{i}", "room", floor, (x0, y, width, h)))
        y += h
    return out


def _tree(rng: random.Random, root: PlanElement, nodes: list[PlanElement], min_wall: int) -> list:
    """BFS door tree over shared walls from ``root``; returns reached nodes in BFS order."""
    order = [root]
    seen = {root.key}
    queue = deque([root])
    while queue:
        here = queue.popleft()
        near = [
            n for n in nodes if n.key not in seen and shared_wall(here.rect, n.rect, 0) >= min_wall
        ]
        rng.shuffle(near)
        for n in near:
            n.parent = here.key
            seen.add(n.key)
            order.append(n)
            queue.append(n)
    return order


def reference_layout(rng: random.Random, spec: LayoutSpec) -> Layout:
    corridor = spec.corridor
    kl, kr = rng.randint(*spec.side_rooms), rng.randint(*spec.side_rooms)
    if corridor:
        kl, kr = max(kl, 1), max(kr, 1)
    slots = [("l", i) for i in range(kl)] + [("r", i) for i in range(kr)]
    suites = rng.sample(slots, min(rng.randint(*spec.suites), len(slots)))

    def strip_width(side: str, count: int) -> int:
        if count == 0:
            return 0
        wide = any(s == side for s, _ in suites)
        return _rand_dm(rng, spec.suite_strip_width if wide else spec.strip_width)

    wl, wr = strip_width("l", kl), strip_width("r", kr)
    cw = spec.central_width
    span_lo, span_hi = spec.room_span
    k = max(kl, kr, 1)
    length = rng.randint(k * span_lo, k * span_hi)
    stair = None
    if spec.storeys > 1:
        storey_m = spec.storey_height / 10
        risers = math.ceil(storey_m / spec.max_riser - 1e-9)
        tread_cm = rng.randint(round(spec.tread[0] * 100), round(spec.tread[1] * 100))
        run = math.ceil((risers - 1) * tread_cm / 10 - 1e-9)
        stair = StairSpec(risers, storey_m / risers, tread_cm / 100, run)
        # the corridor below the stair must stay long enough to serve a room
        length = max(length, run + span_lo)
    ku_l = ku_r = 0
    top_depth = _rand_dm(rng, spec.top_depth)
    if stair is not None:
        ku_l, ku_r = (max(1, rng.randint(*spec.upper_side_rooms)) for _ in range(2))
        top_depth = max(top_depth, max(ku_l, ku_r) * span_lo)
    width, depth = wl + cw + wr, length + top_depth
    strip_lo = dm(spec.strip_width[0])
    kt = max(1, min(rng.randint(*spec.top_rooms), width // strip_lo))

    lc = length - (stair.run if stair else 0)
    central = PlanElement("c", "corridor" if corridor else "room", 0, (wl, 0, cw, lc), "entrance")
    ground = [
        *_strip(rng, "l", kl, 0, wl, 0, length, 0, suites, spec),
        *_strip(rng, "r", kr, wl + cw, wr, 0, length, 0, suites, spec),
    ]
    x = 0
    for i, tw in enumerate(split_total(rng, width, kt, strip_lo)):
        ground.append(PlanElement(f"t0_{i}", "room", 0, (x, length, tw, top_depth)))
        x += tw
    order = _tree(rng, central, ground, spec.min_shared_wall)
    if stair is not None:
        flight = PlanElement("s", "stairs", 0, (wl, lc, cw, stair.run), "c")
        landing = PlanElement("u", "corridor", 1, (wl, length, cw, top_depth), "s")
        upper = [
            *_strip(rng, "l", ku_l, 0, wl, length, top_depth, 1, [], spec),
            *_strip(rng, "r", ku_r, wl + cw, wr, length, top_depth, 1, [], spec),
        ]
        order += [flight, *_tree(rng, landing, upper, spec.min_shared_wall)]
    return Layout(
        width=width,
        depth=depth,
        storeys=spec.storeys,
        entrance_x=(2 * wl + cw) / 20,
        central="c",
        elements=order,
        stair=stair,
    )
