"""Where scenarios come from: ``synthetic`` and ``collaboration`` walk the procedural generator;
``adversarial`` aims at supplied weaknesses (feature dicts) or failed scenario ids.

Every source hands out fresh scenarios on each call (the regeneration rounds ask for the
shortfall again and must not get the same scenarios back), and every scenario is still a pure
function of ``(seed, index, difficulty)``, so a dataset can be rebuilt from its manifest.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from srlforge.arena.base import Arena
from srlforge.schema import Scenario

STRATEGIES = ("synthetic", "collaboration", "adversarial")

# How many generator draws one wanted scenario may cost before the source gives up on it. A
# species filter accepts about one draw in five; a narrow weakness may accept far fewer.
SPECIES_TRIES = 500
WEAKNESS_TRIES = 5_000


class ScenarioSearchError(ValueError):
    """No scenario satisfies the request (an unknown species, an impossible weakness)."""


def matches(scenario: Scenario, features: dict[str, Any]) -> bool:
    """Does ``scenario`` have every feature? A list value means any of its members."""
    for key, wanted in features.items():
        if key == "difficulty":
            have: Any = scenario.difficulty
        elif key == "species":
            have = scenario.species
        elif key == "model_type":
            have = scenario.model_type
        else:
            have = scenario.metadata.get(key, scenario.state.get(key))
        options = wanted if isinstance(wanted, list) else [wanted]
        if have not in options:
            return False
    return True


def parse_scenario_id(scenario_id: str) -> tuple[str, int, int, int]:
    """``'<model_type>:<seed>:<index>:<difficulty>'`` → its parts (ValueError names the id)."""
    parts = scenario_id.split(":")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts[1:]):
        raise ValueError(
            f"scenario id {scenario_id!r} is not '<model_type>:<seed>:<index>:<difficulty>'"
        )
    return parts[0], int(parts[1]), int(parts[2]), int(parts[3])


@dataclass
class ScenarioSource:
    """Hands out scenarios for one generation request."""

    arena: Arena
    strategy: str
    seed: int
    difficulties: tuple[int, ...]
    species: str | None = None
    weaknesses: list[dict[str, Any]] = field(default_factory=list)
    failed_scenario_ids: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if self.strategy == "adversarial" and not (self.weaknesses or self.failed_scenario_ids):
            raise ValueError(
                "strategy 'adversarial' needs --weakness or --failed-scenario (what to aim at)"
            )
        self._index = itertools.count()
        self._targets = self._adversarial_targets() if self.strategy == "adversarial" else None
        self._seen: set[str] = set()

    def _species_ok(self, scenario: Scenario) -> bool:
        return (
            self.species is None or not self.arena.uses_species or scenario.species == self.species
        )

    def _walk(self, difficulties: tuple[int, ...]) -> Iterator[Scenario]:
        """Fresh scenarios round-robin over ``difficulties`` (shared index counter)."""
        for index in self._index:
            yield self.arena.sample(self.seed, index, difficulties[index % len(difficulties)])

    def _take(self, features: dict[str, Any], tries: int) -> Scenario | None:
        wanted_d = features.get("difficulty")
        options = wanted_d if isinstance(wanted_d, list) else [wanted_d]
        diffs = tuple(d for d in self.difficulties if wanted_d is None or d in options)
        diffs = diffs or tuple(d for d in options if isinstance(d, int))
        for scenario in itertools.islice(self._walk(diffs or self.difficulties), tries):
            if scenario.id in self._seen or not self._species_ok(scenario):
                continue
            if matches(scenario, features):
                self._seen.add(scenario.id)
                return scenario
        return None

    def _adversarial_targets(self) -> list[dict[str, Any]]:
        targets: list[dict[str, Any]] = []
        for scenario_id in self.failed_scenario_ids:
            model_type, seed, index, difficulty = parse_scenario_id(scenario_id)
            if model_type != self.arena.model_type:
                self.unmatched.append(f"{scenario_id}: not a {self.arena.model_type} scenario")
                continue
            failed = self.arena.sample(seed, index, difficulty)
            # Aim at the failed scenario itself first, then at its neighbourhood: same
            # difficulty, species and discrete features.
            neighbourhood: dict[str, Any] = {"difficulty": failed.difficulty}
            if failed.species is not None:
                neighbourhood["species"] = failed.species
            neighbourhood.update(
                {
                    k: v
                    for k, v in failed.metadata.items()
                    if k != "source" and isinstance(v, str | bool | int)
                }
            )
            targets.append({"exact": failed, "features": neighbourhood, "label": scenario_id})
        probe = self.arena.sample(self.seed, 0, self.difficulties[0])
        known = {"difficulty", "species", "model_type", *probe.metadata, *probe.state}
        for i, weakness in enumerate(self.weaknesses):
            if not isinstance(weakness, dict) or not weakness:
                raise ValueError(f"weakness #{i} must be a non-empty object of features")
            label = ",".join(f"{k}={v}" for k, v in sorted(weakness.items()))
            unknown = sorted(set(weakness) - known)
            if unknown:
                # No scenario can match a feature the generator never sets; say so at once
                # instead of searching thousands of scenarios.
                self.unmatched.append(
                    f"{label}: {unknown} are not features of {self.arena.model_type} scenarios "
                    f"(known: {sorted(known)})"
                )
                continue
            targets.append({"exact": None, "features": dict(weakness), "label": label})
        return targets

    def next_batch(self, n: int) -> list[Scenario]:
        """``n`` scenarios not handed out before (fewer only when a search ran dry)."""
        if self._targets is None:
            return self._plain_batch(n)
        return self._adversarial_batch(n)

    def _plain_batch(self, n: int) -> list[Scenario]:
        out: list[Scenario] = []
        misses = 0
        for scenario in self._walk(self.difficulties):
            if len(out) >= n:
                break
            if self._species_ok(scenario):
                out.append(scenario)
                misses = 0
                continue
            misses += 1
            if misses >= SPECIES_TRIES:
                raise ScenarioSearchError(
                    f"species {self.species!r} did not appear in {SPECIES_TRIES} "
                    f"{self.arena.model_type} scenarios; check the name against the rules"
                )
        return out

    def _adversarial_batch(self, n: int) -> list[Scenario]:
        out: list[Scenario] = []
        live = [t for t in self._targets or [] if not t.get("dry")]
        while len(out) < n and live:
            for target in list(live):
                if len(out) >= n:
                    break
                exact = target.pop("exact", None)
                if exact is not None and exact.id not in self._seen:
                    self._seen.add(exact.id)
                    out.append(exact)
                    continue
                found = self._take(target["features"], WEAKNESS_TRIES)
                if found is None:
                    target["dry"] = True
                    live.remove(target)
                    self.unmatched.append(f"{target['label']}: no further matching scenario")
                else:
                    out.append(found)
        return out
