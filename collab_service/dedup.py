"""Deduplication (exact content hash, near-duplicate action sequences) and coverage tracking.

A near-duplicate is the same kind of scenario solved (almost) the same way: the scenario's
discrete features (species, difficulty, scalar metadata) and step count are equal, and difflib's
``SequenceMatcher`` ratio over the canonical action lists reaches the threshold. The ratio runs
over the actions' leaves (``path=value`` tokens of the canonical JSON) rather than characters:
a changed number then counts as one differing token instead of a few characters, keys shared
by every action cannot inflate the score, and a comparison costs microseconds instead of
milliseconds. Two scenarios of different kinds that happen to share a plan are not duplicates:
the prompts differ, so both teach something.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict, deque
from typing import Any, Literal

from srlforge.arena.base import flatten
from srlforge.schema import Scenario, Trajectory, canonical_json

Outcome = Literal["kept", "failed", "duplicate"]


def action_tokens(actions: list) -> tuple[str, ...]:
    """``step.path=value`` leaves of every action, in order (the unit of near-duplicate ratio)."""
    tokens: list[str] = []
    for i, action in enumerate(actions):
        leaves = flatten(action) if isinstance(action, dict) and action else {"": action}
        for key, value in sorted(leaves.items()):
            # repr is canonical for scalars and several times cheaper than json.dumps
            text = repr(value) if isinstance(value, str | int | float | None) else None
            tokens.append(f"{i}.{key}={text or canonical_json(value)}")
    return tuple(tokens)


class Deduplicator:
    def __init__(
        self, threshold: float = 0.97, window: int = 64, known_hashes: set[str] | None = None
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.window = window
        self._hashes: set[str] = set(known_hashes or ())
        self._buckets: dict[tuple, deque[tuple[str, ...]]] = defaultdict(
            lambda: deque(maxlen=window)
        )
        self.counts: Counter[str] = Counter()

    @staticmethod
    def _bucket(trajectory: Trajectory) -> tuple:
        s = trajectory.scenario
        features = tuple(sorted(scenario_features(s).items(), key=lambda kv: kv[0]))
        return (s.model_type, s.difficulty, len(trajectory.steps), features)

    def check(self, trajectory: Trajectory) -> Literal["unique", "exact", "near"]:
        """Classify ``trajectory`` and, when unique, remember it."""
        digest = trajectory.provenance.content_hash or trajectory.compute_hash()
        if digest in self._hashes:
            self.counts["exact"] += 1
            return "exact"
        bucket = self._bucket(trajectory)
        tokens = action_tokens([s.action for s in trajectory.steps])
        if self._near(bucket, tokens):
            self.counts["near"] += 1
            return "near"
        self._hashes.add(digest)
        self._buckets[bucket].append(tokens)
        self.counts["unique"] += 1
        return "unique"

    def _near(self, bucket: tuple, tokens: tuple[str, ...]) -> bool:
        members = self._buckets.get(bucket)
        if not members:
            return False
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(tokens)  # difflib caches details of seq2; the new one is the fixed side
        for other in members:
            if other == tokens:
                return True
            matcher.set_seq1(other)
            # Cheap upper bounds first: most pairs are ruled out without the full ratio.
            if (
                matcher.real_quick_ratio() >= self.threshold
                and matcher.quick_ratio() >= self.threshold
                and matcher.ratio() >= self.threshold
            ):
                return True
        return False


def scenario_features(scenario: Scenario) -> dict[str, Any]:
    """The discrete features coverage is tracked over: species plus scalar metadata."""
    features: dict[str, Any] = {}
    if scenario.species is not None:
        features["species"] = scenario.species
    for key, value in scenario.metadata.items():
        if key == "source" or isinstance(value, float):
            continue  # provenance, and continuous values that would make every cell unique
        if isinstance(value, str | int | bool):
            features[key] = value
    return features


class Coverage:
    """Counts per (feature = value) × difficulty × outcome, over every scenario attempted."""

    def __init__(self) -> None:
        self._cells: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        self._difficulty: dict[int, Counter[str]] = defaultdict(Counter)

    def add(self, scenario: Scenario, outcome: Outcome) -> None:
        self._difficulty[scenario.difficulty][outcome] += 1
        for key, value in scenario_features(scenario).items():
            self._cells[(f"{key}={value}", scenario.difficulty)][outcome] += 1

    def to_dict(self) -> dict[str, Any]:
        features: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        for (feature, difficulty), counts in sorted(self._cells.items()):
            features[feature][str(difficulty)] = dict(counts)
        attempted = len(self._cells)
        kept = sum(1 for c in self._cells.values() if c["kept"])
        return {
            "difficulty": {str(d): dict(c) for d, c in sorted(self._difficulty.items())},
            "features": dict(features),
            "cells_attempted": attempted,
            "cells_kept": kept,
            "cells_without_kept": sorted(
                f"{f}@{d}" for (f, d), c in self._cells.items() if not c["kept"]
            ),
        }
