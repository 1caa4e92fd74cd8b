"""Map topology for the personality generator: a random tree plus chords, drawn by index.

Nodes are numbered in the order the generator shuffled their names, and each draw is made from a
list of the same length, in the same order, as the name-based construction used, so the same
``random.Random`` stream yields the same map. Neighbourhoods are bitmasks (bit ``x`` = node
``x``); the masks stay below 2**30, CPython's one-digit ints, which keeps the bit arithmetic on
its fast path.
"""

from __future__ import annotations

from srlforge.arena._personality_draws import Rng

MAX_NODES = 29  # every mask below fits one 30-bit digit
FULL = (1 << (MAX_NODES + 1)) - 1
BITS = tuple(1 << x for x in range(MAX_NODES + 1))
ABOVE = tuple(FULL ^ ((2 << x) - 1) for x in range(MAX_NODES + 1))  # the nodes numbered > x


def topology(rng: Rng, kinds: list[str], extra: int) -> dict[str, list[str]]:
    """Exits of a random tree on ``kinds`` (at most 3 exits per node as it grows) plus up to
    ``extra`` chords that close cycles of length >= 4 (so no triangles), keyed in ``kinds``
    order. Nodes are worked on by index; the name lists grow alongside (cheaper than
    translating the index lists afterwards)."""
    n = len(kinds)
    if not 1 <= n <= MAX_NODES:
        raise ValueError(f"maps have 1 to {MAX_NODES} locations, not {n}")
    bit = BITS
    adj: list[list[int]] = [[] for _ in range(n)]
    out: list[list[str]] = [[] for _ in range(n)]
    # near[x] / ball[x]: the nodes within one / two steps of x, kept up as leaves are added
    # (a leaf i under p: i is one step from p and two from p's other neighbours).
    near = [1]
    ball = [1]
    growable = [0]  # nodes with fewer than 3 exits, ascending: the list the parent is drawn from
    for i in range(1, n):
        parent = rng.choice(growable or range(i))
        b = bit[i]
        for y in adj[parent]:
            ball[y] |= b
        adj[parent].append(i)
        adj[i].append(parent)
        out[parent].append(kinds[i])
        out[i].append(kinds[parent])
        near[parent] |= b
        ball[parent] |= b
        near.append(b | bit[parent])
        ball.append(near[parent])
        if len(adj[parent]) == 3:
            growable.remove(parent)
        growable.append(i)
    if extra:
        for a, b in _add_chords(rng, adj, near, ball, extra):
            out[a].append(kinds[b])
            out[b].append(kinds[a])
    return dict(zip(kinds, out, strict=True))


def _add_chords(
    rng: Rng, adj: list[list[int]], near: list[int], ball: list[int], extra: int
) -> list[tuple[int, int]]:
    """Up to ``extra`` chords between nodes 3+ steps apart with fewer than 4 exits each, each
    drawn uniformly from the pairs (a, b), a < b, listed a-major as a double loop lists them.
    Adds them to ``adj`` (keeping ``near``/``ball`` up) and returns them in the order drawn."""
    chords = []
    n = len(adj)
    bit = BITS
    room = 0  # nodes with fewer than 4 exits
    for x, ys in enumerate(adj):
        if len(ys) < 4:
            room |= bit[x]
    for _ in range(extra):
        # Each a's partners b > a (3+ steps away, both with room) as a mask; the k-th pair
        # overall is then found by counting, without listing every pair.
        partners = []
        total = 0
        for a in range(n):
            if room & bit[a]:
                cand = room & ABOVE[a] & (FULL ^ ball[a])
                if cand:
                    partners.append((a, cand))
                    total += cand.bit_count()
        if not total:
            break
        k = rng.choice(range(total))  # the very draw rng.choice(list_of_pairs) makes
        for a, cand in partners:  # noqa: B007 - the pair's a is the one the loop stops at
            count = cand.bit_count()
            if k < count:
                break
            k -= count
        for _ in range(k):
            cand &= cand - 1  # drop the lowest partner
        b = (cand & -cand).bit_length() - 1
        chords.append((a, b))
        # The chord brings b within two steps of a's neighbours (and a of b's), and each
        # end's neighbourhood within two steps of the other end.
        for y in adj[a]:
            ball[y] |= bit[b]
        for y in adj[b]:
            ball[y] |= bit[a]
        ball[a] |= near[b]
        ball[b] |= near[a]
        near[a] |= bit[b]
        near[b] |= bit[a]
        adj[a].append(b)
        adj[b].append(a)
        for x in (a, b):
            if len(adj[x]) == 4:
                room ^= bit[x]
    return chords
