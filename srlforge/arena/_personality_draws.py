"""The generator's random draws, made in fewer Python frames but from the very same stream.

``random.Random.choice``/``randint``/``shuffle``/``sample`` are pure Python layered over
``_randbelow`` and ``getrandbits``: a ``choice`` runs three frames, a ``randint`` four, and a
personality scenario makes some 60 such draws, about a seventh of its generation time. ``Draws``
makes each of them in one frame, straight from the wrapped RNG's ``getrandbits``, so the RNG ends
in the same state and every draw returns what the RNG's own method would have.

That equivalence is checked, not assumed: at import ``Draws`` is run side by side with this
interpreter's ``random.Random`` (both branches of ``sample`` included), and ``draws_from`` wraps
only an exact ``random.Random`` and only if that check passed. Anywhere else (another Python
whose algorithms differ, a subclass with its own ``random``) the generator draws from the RNG as
given, so scenarios never depend on this module.
"""

from __future__ import annotations

import math
import random
from collections.abc import MutableSequence, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class Draws:
    """``choice``, ``randint``, ``random``, ``sample`` and ``shuffle`` of a ``random.Random``."""

    __slots__ = ("getrandbits", "random")

    def __init__(self, rng: random.Random) -> None:
        self.getrandbits = rng.getrandbits
        self.random = rng.random

    def _below(self, n: int) -> int:  # Random._randbelow_with_getrandbits
        getrandbits = self.getrandbits
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    def choice(self, seq: Sequence[T]) -> T:
        n = len(seq)
        if not n:
            raise IndexError("Cannot choose from an empty sequence")
        getrandbits = self.getrandbits  # _below(), inlined: choice is the most frequent draw
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return seq[r]

    def randint(self, a: int, b: int) -> int:
        width = b + 1 - a
        if width <= 0:
            raise ValueError(f"empty range for randint({a}, {b})")
        getrandbits = self.getrandbits
        k = width.bit_length()
        r = getrandbits(k)
        while r >= width:
            r = getrandbits(k)
        return a + r

    def shuffle(self, x: MutableSequence[Any]) -> None:
        getrandbits = self.getrandbits
        for i in reversed(range(1, len(x))):
            n = i + 1  # j = _below(n), inlined
            k = n.bit_length()
            j = getrandbits(k)
            while j >= n:
                j = getrandbits(k)
            x[i], x[j] = x[j], x[i]

    def sample(self, population: Sequence[T], k: int) -> list[T]:
        n = len(population)
        if not 0 <= k <= n:
            raise ValueError("Sample larger than population or is negative")
        below = self._below
        result: list[Any] = [None] * k
        setsize = 21  # random.Random.sample's choice between a pool list and a selected set
        if k > 5:
            setsize += 4 ** math.ceil(math.log(k * 3, 4))
        if n <= setsize:
            pool = list(population)
            getrandbits = self.getrandbits
            for i in range(k):
                left = n - i  # j = below(left), inlined
                bits = left.bit_length()
                j = getrandbits(bits)
                while j >= left:
                    j = getrandbits(bits)
                result[i] = pool[j]
                pool[j] = pool[left - 1]
        else:
            selected: set[int] = set()
            for i in range(k):
                j = below(n)
                while j in selected:
                    j = below(n)
                selected.add(j)
                result[i] = population[j]
        return result


def _agrees() -> bool:
    """Do ``Draws`` and this interpreter's ``random.Random`` draw alike (and end alike)?"""
    for seed in (0, 1, 12345, 2**61 - 1):
        ours, theirs = random.Random(seed), random.Random(seed)
        mine = Draws(ours)
        for n in (1, 2, 3, 5, 7, 8, 12, 17, 31, 44, 64, 100):
            seq = list(range(n))
            if mine.choice(seq) != theirs.choice(seq):
                return False
            if mine.choice(range(n)) != theirs.choice(range(n)):
                return False
            if mine.randint(-2, n) != theirs.randint(-2, n):
                return False
            a, b = seq[:], seq[:]
            mine.shuffle(a)
            theirs.shuffle(b)
            if a != b:
                return False
            for k in {0, 1, n // 3, n // 2, n - 1, n}:
                if mine.sample(seq, k) != theirs.sample(seq, k):
                    return False
            if mine.random() != theirs.random():
                return False
        if ours.getstate() != theirs.getstate():
            return False
    return True


EXACT = _agrees()


Rng = random.Random | Draws  # what the generator draws from


def draws_from(rng: random.Random) -> Rng:
    """The cheaper stand-in for ``rng`` where it is provably the same, else ``rng`` itself."""
    return Draws(rng) if EXACT and type(rng) is random.Random else rng
