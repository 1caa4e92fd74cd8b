"""Versioned rule sets: YAML data under ``data/<semver>/``, one file per model type + species.

A rule set's identity is ``<semver>+<hash12>``: the semantic version of its folder plus the
first 12 hex digits of a SHA-256 over every file's canonical content, so an edited file with a
forgotten version bump is still a different identity.

Every file has the same envelope, checked here; the typed content of ``tables`` is checked by
the arena module that owns the file (``RuleSet.table(...)``), so a malformed file fails with the
file, the path inside it and what was expected.

```yaml
model_type: personality          # must match the file name
description: ...
tables:                          # every table cites its source
  locations: {source: "...", rows: [...]}
hard_constraints:                # become action masks / hard violations
  - {id: ..., description: ..., source: ...}
soft_constraints:                # become reward terms
  - {id: ..., description: ..., source: ..., weight: 0.1}
```
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from srlforge.schema import content_hash

DATA_DIR = Path(__file__).parent / "data"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

M = TypeVar("M", bound=BaseModel)

# libyaml is ~10x faster than the pure-Python parser; rule files are read on every start.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleFileError(ValueError):
    """A rule file is missing or malformed; the message names the file and the path inside it."""


class Constraint(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^[a-z0-9_.]+$")
    description: str = Field(min_length=3)
    source: str = Field(min_length=3)
    weight: float | None = Field(default=None, gt=0.0, le=1.0)


class Table(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str = Field(min_length=3, description="Citation for every row of the table.")


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_type: str
    description: str = ""
    attribution: str | None = None
    tables: dict[str, Table]
    hard_constraints: list[Constraint] = Field(default_factory=list)
    soft_constraints: list[Constraint] = Field(default_factory=list)


def _format_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def validation_message(path: Path | str, prefix: str, exc: ValidationError) -> str:
    lines = [f"{path}: invalid rule data"]
    for err in exc.errors():
        loc = _format_loc([*([prefix] if prefix else []), *err["loc"]])
        got = err.get("input")
        got_text = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"  at {loc}: {err['msg']}{got_text}")
    return "\n".join(lines)


@dataclass(frozen=True, eq=False)  # identity-hashed: arenas are cached per loaded rule set
class RuleSet:
    """One loaded rule set. Immutable; arenas read their typed tables from it."""

    version: str
    content_hash: str
    root: Path
    files: dict[str, RuleFile] = field(repr=False)
    raw: dict[str, dict[str, Any]] = field(repr=False)

    @property
    def identity(self) -> str:
        return f"{self.version}+{self.content_hash[:12]}"

    def file(self, name: str) -> RuleFile:
        try:
            return self.files[name]
        except KeyError:
            raise RuleFileError(
                f"rule set {self.identity} has no '{name}.yaml' in {self.root}; "
                f"it has: {', '.join(sorted(self.files))}"
            ) from None

    def table(self, name: str, table: str, model: type[M]) -> M:
        """Validate ``tables.<table>`` of ``<name>.yaml`` into ``model`` (errors name the path)."""
        rule_file = self.file(name)
        if table not in rule_file.tables:
            raise RuleFileError(
                f"{self.root / (name + '.yaml')}: missing table 'tables.{table}' "
                f"(expected one with a 'source:' and the {model.__name__} fields)"
            )
        data = rule_file.tables[table].model_dump()
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise RuleFileError(
                validation_message(self.root / f"{name}.yaml", f"tables.{table}", exc)
            ) from None

    def constraints(self, name: str, kind: str = "hard") -> dict[str, Constraint]:
        rule_file = self.file(name)
        items = rule_file.hard_constraints if kind == "hard" else rule_file.soft_constraints
        return {c.id: c for c in items}

    def constraint(self, name: str, rule_id: str) -> Constraint:
        """Look a constraint up by id among the hard and soft constraints of ``name``."""
        for kind in ("hard", "soft"):
            found = self.constraints(name, kind).get(rule_id)
            if found is not None:
                return found
        raise RuleFileError(
            f"{self.root / (name + '.yaml')}: no constraint with id '{rule_id}' "
            "(the arena checks it; add it under hard_constraints or soft_constraints)"
        )

    def sources(self) -> dict[str, dict[str, str]]:
        """Every table's citation, by file: what a report shows as 'where the rules come from'."""
        return {n: {t: tab.source for t, tab in f.tables.items()} for n, f in self.files.items()}


def _semver_key(version: str) -> tuple[int, int, int]:
    match = _SEMVER.match(version)
    if not match:
        raise RuleFileError(f"rule set folder '{version}' is not a semantic version like 1.0.0")
    return int(match[1]), int(match[2]), int(match[3])


def _search_dirs(extra: Path | None) -> list[Path]:
    return [d for d in (extra, DATA_DIR) if d is not None and d.is_dir()]


def available_versions(extra_dir: Path | None = None) -> list[str]:
    found: set[str] = set()
    for base in _search_dirs(extra_dir):
        found.update(p.name for p in base.iterdir() if p.is_dir() and _SEMVER.match(p.name))
    return sorted(found, key=_semver_key)


def load_rule_dir(root: Path) -> RuleSet:
    """Load and check every ``*.yaml`` in ``root`` (a ``<semver>`` folder)."""
    version = root.name
    _semver_key(version)
    files: dict[str, RuleFile] = {}
    raw: dict[str, dict[str, Any]] = {}
    paths = sorted(root.glob("*.yaml"))
    if not paths:
        raise RuleFileError(f"{root}: no *.yaml rule files found")
    for path in paths:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except yaml.YAMLError as exc:
            raise RuleFileError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise RuleFileError(f"{path}: expected a mapping at the top level, got {type(data)}")
        try:
            parsed = RuleFile.model_validate(data)
        except ValidationError as exc:
            raise RuleFileError(validation_message(path, "", exc)) from None
        if parsed.model_type != path.stem:
            raise RuleFileError(
                f"{path}: at model_type: expected '{path.stem}' (the file name), "
                f"got '{parsed.model_type}'"
            )
        ids = [c.id for c in (*parsed.hard_constraints, *parsed.soft_constraints)]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise RuleFileError(f"{path}: constraint ids must be unique; repeated: {dupes}")
        files[path.stem] = parsed
        raw[path.stem] = data
    return RuleSet(version, content_hash(raw), root, files, raw)


# Many threads (a gRPC pool, a thread-pooled teacher) may ask for the rules at the same moment;
# the lock makes the first one load them and the rest wait for that copy instead of each parsing
# every file again.
_LOAD_LOCK = threading.Lock()


def _load_cached(version: str, extra_dir: Path | None) -> RuleSet:
    with _LOAD_LOCK:
        return _load_unlocked(version, extra_dir)


@lru_cache(maxsize=16)
def _load_unlocked(version: str, extra_dir: Path | None) -> RuleSet:
    for base in _search_dirs(extra_dir):
        if (base / version).is_dir():
            return load_rule_dir(base / version)
    raise RuleFileError(
        f"unknown rule set version '{version}'; available: {available_versions(extra_dir)}"
    )


def load_rules(version: str | None = None, extra_dir: Path | None = None) -> RuleSet:
    """Load a rule set by version ('latest' or None = highest). Cached per (version, dir)."""
    if version is None or version == "latest":
        from srlforge.settings import get_settings

        settings = get_settings()
        extra_dir = extra_dir or settings.rules_dir
        wanted = settings.rules_version if version is None else "latest"
        if wanted == "latest":
            versions = available_versions(extra_dir)
            if not versions:
                raise RuleFileError(f"no rule sets found under {DATA_DIR}")
            wanted = versions[-1]
        version = wanted
    return _load_cached(version, extra_dir)
