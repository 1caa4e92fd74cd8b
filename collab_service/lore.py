"""Model A: assemble a LoreBundle for a scenario from the lore store and the species rule data.

Every fact in a bundle keeps its citation. Traits come from the species rule data (cited by the
rule file's table source) and from trait entries in the lore. The consistency check compares each
sourced lore claim with the species rule data and reports every disagreement — and every claim it
could not check — instead of silently preferring one side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from collab_service.lore_store import LoreRecord, LoreStore
from srlforge.rules import RuleFileError, RuleSet
from srlforge.schema import LoreBundle, Scenario

_CATEGORY_FIELD = {
    "weakness": "weaknesses",
    "resistance": "resistances",
    "behaviour": "behaviour_patterns",
}


def scenario_query(scenario: Scenario, limit: int = 400) -> str:
    """Words that describe a scenario: objective, species, state and metadata keys and values."""
    words: list[str] = [scenario.objective, scenario.species or "", scenario.model_type]

    def walk(obj: Any) -> None:
        if len(words) > limit:
            return
        if isinstance(obj, dict):
            for key, value in obj.items():
                words.append(str(key))
                walk(value)
        elif isinstance(obj, list):
            for value in obj[:50]:
                walk(value)
        elif isinstance(obj, str):
            words.append(obj)

    walk(scenario.state)
    walk(scenario.metadata)
    return " ".join(words)


@dataclass
class ConsistencyReport:
    species: str
    rules_version: str
    checked: int = 0
    agreements: int = 0
    disagreements: list[str] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "species": self.species,
            "rules_version": self.rules_version,
            "checked": self.checked,
            "agreements": self.agreements,
            "disagreements": list(self.disagreements),
            "unverifiable": list(self.unverifiable),
        }


def _as_text_items(value: Any) -> list[str]:
    """Flatten a rule-data field into lower-case text items (lists, dicts, scalars)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{k} {v}".lower() for k, v in value.items()]
    if isinstance(value, list | tuple | set):
        return [item for v in value for item in _as_text_items(v)]
    return [str(value).lower()]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        for key in ("walk", "value", "base"):
            if key in value:
                return _number(value[key])
    return None


def check_claim(record: dict[str, Any], claim: dict[str, Any]) -> tuple[bool | None, str]:
    """``(agrees, what the rules say)``; ``agrees`` is None when the rules lack the field."""
    name = str(claim.get("field", ""))
    if name not in record:
        return None, f"the species rules have no field '{name}'"
    have = record[name]
    if "includes" in claim or "excludes" in claim:
        wanted = str(claim.get("includes", claim.get("excludes"))).lower()
        present = any(wanted in item for item in _as_text_items(have))
        agrees = present if "includes" in claim else not present
        return agrees, f"{name} = {have!r}"
    if "is" in claim:
        wanted = claim["is"]
        if isinstance(wanted, bool) or isinstance(have, bool):
            return have is wanted, f"{name} = {have!r}"
        return str(have).lower() == str(wanted).lower(), f"{name} = {have!r}"
    number = _number(have)
    if number is None:
        return None, f"{name} = {have!r} is not a number"
    if "equals" in claim:
        return abs(number - float(claim["equals"])) < 1e-9, f"{name} = {have!r}"
    if "at_least" in claim:
        return number >= float(claim["at_least"]), f"{name} = {have!r}"
    if "at_most" in claim:
        return number <= float(claim["at_most"]), f"{name} = {have!r}"
    return None, f"claim {claim!r} has no comparison (includes/excludes/is/equals/at_least/at_most)"


def _describe(claim: dict[str, Any]) -> str:
    ops = {k: v for k, v in claim.items() if k != "field"}
    return f"{claim.get('field')} {' '.join(f'{k} {v!r}' for k, v in ops.items())}"


def species_rule_data(rules: RuleSet) -> tuple[dict[str, dict[str, Any]], str]:
    """``({species: record}, citation)`` from the rule set's species catalogue."""
    from srlforge.rules.species import load_species

    catalogue = {name: s.model_dump() for name, s in load_species(rules).items()}
    source = rules.sources().get("species", {}).get("species", "species rule data")
    return catalogue, f"{rules.identity} species.yaml: {' '.join(source.split())}"


class LoreRetriever:
    """Builds LoreBundles; one per (species, model type, scenario)."""

    def __init__(self, store: LoreStore, rules: RuleSet, top_k: int = 8) -> None:
        self.store = store
        self.rules = rules
        self.top_k = top_k
        store.ensure_seeded()
        store.register_rules(rules)
        self._reports: dict[str, ConsistencyReport] = {}
        self._entries: dict[str, list[LoreRecord]] = {}

    @cached_property
    def _species(self) -> tuple[dict[str, dict[str, Any]], str]:
        try:
            return species_rule_data(self.rules)
        except RuleFileError as exc:
            return {}, f"no species catalogue: {exc}"

    def _species_entries(self, species: str) -> list[LoreRecord]:
        if species not in self._entries:
            self._entries[species] = self.store.entries(species)
        return self._entries[species]

    def consistency(self, species: str) -> ConsistencyReport:
        if species in self._reports:
            return self._reports[species]
        catalogue, citation = self._species
        report = ConsistencyReport(species, self.rules.identity)
        record = catalogue.get(species)
        entries = self._species_entries(species)
        if record is None:
            report.unverifiable.append(
                f"species '{species}' is not in the rule set {self.rules.identity} ({citation})"
            )
        if not [e for e in entries if e.species == species]:
            report.unverifiable.append(f"no lore entries for species '{species}'")
        for entry in entries:
            if entry.confidence != "sourced" or record is None:
                continue  # folklore is context, not evidence against the rules
            for claim in entry.claims:
                agrees, said = check_claim(record, claim)
                line = f"lore '{entry.key}' ({entry.source}) says {_describe(claim)}"
                if agrees is None:
                    report.unverifiable.append(f"{line}; cannot check: {said}")
                    continue
                report.checked += 1
                if agrees:
                    report.agreements += 1
                else:
                    report.disagreements.append(f"{line}; rules ({citation}) have {said}")
        self._reports[species] = report
        return report

    def traits(self, species: str) -> dict[str, Any]:
        catalogue, citation = self._species
        traits: dict[str, Any] = {}
        for name, value in (catalogue.get(species) or {}).items():
            if isinstance(value, str | int | float | bool | list | dict) and value not in ("", []):
                traits[name] = {"value": value, "source": citation}
        for entry in self._species_entries(species):
            trait = entry.data.get("trait")
            if entry.category == "trait" and isinstance(trait, dict) and "name" in trait:
                traits.setdefault(
                    trait["name"], {"value": trait.get("value"), "source": entry.source}
                )
        return traits

    def bundle(
        self, species: str, model_type: str, scenario: Scenario | None = None, query: str = ""
    ) -> LoreBundle:
        text = " ".join(filter(None, [query, scenario_query(scenario) if scenario else species]))
        relevant = self.store.search(text, species, self.top_k)
        rank = {r.key: i for i, r in enumerate(relevant)}
        entries = sorted(
            self._species_entries(species), key=lambda e: (rank.get(e.key, len(rank)), e.key)
        )
        grouped: dict[str, list] = {v: [] for v in _CATEGORY_FIELD.values()}
        relations: dict[str, str] = {}
        for entry in entries:
            if entry.category in _CATEGORY_FIELD:
                grouped[_CATEGORY_FIELD[entry.category]].append(entry.fact())
            for target, stance in (entry.data.get("relations") or {}).items():
                relations.setdefault(str(target), f"{stance} (source: {entry.source})")
        return LoreBundle(
            species=species,
            model_type=model_type,
            rules_version=self.rules.identity,
            traits=self.traits(species),
            faction_relations=relations,
            facts=[r.fact() for r in relevant],
            consistency=self.consistency(species).disagreements,
            **grouped,
        )
