"""Rule set versions as a tenant sees them, and the upload of new ones.

A tenant sees the built-in versions (``srlforge/rules/data``), the operator's
(``SRLFORGE_RULES_DIR``) and its own uploads, and no other tenant's. An upload is validated the
whole way: the envelope by the rule loader, then every arena that owns a file loads its typed
tables and generates a scenario at each difficulty, all in a temporary folder. Only then is it
stored: the YAML goes into the database (the source of truth, so any replica can materialise it)
and into ``<rules_dir>/<tenant>/<version>/``. Identity is the loader's: ``<semver>+<hash12>``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.db import GatewayDatabase
from gateway.keys import Principal
from gateway.orm import RuleUploadRow
from srlforge.arena import ARENAS, DIFFICULTIES, arena_class
from srlforge.rules import DATA_DIR, RuleFileError, RuleSet, load_rule_dir
from srlforge.schema import content_hash

Scope = Literal["builtin", "operator", "tenant"]
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
FILE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\.yaml$")
MAX_FILES = 32
# Errors an arena's loader raises when typed rule data is wrong; anything else is a bug there.
ARENA_DATA_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)


class RulesError(Exception):
    """Base class; the message names the file and the path inside it where one is known."""


class InvalidRules(RulesError):
    """The upload is malformed (422)."""


class VersionConflict(RulesError):
    """The version exists with different content, or is a built-in one (409)."""


class UnknownVersion(RulesError):
    """No such version for this tenant (404)."""


@dataclass(frozen=True)
class RuleVersion:
    version: str
    scope: Scope
    path: Path
    upload_id: str | None = None


@dataclass
class UploadOutcome:
    row: RuleUploadRow
    created: bool
    validated: list[str] = field(default_factory=list)
    not_validated: dict[str, str] = field(default_factory=dict)


def semver_key(version: str) -> tuple[int, int, int]:
    match = SEMVER.match(version)
    if not match:
        raise InvalidRules(f"version {version!r} is not a semantic version like 1.2.0")
    return int(match[1]), int(match[2]), int(match[3])


@lru_cache(maxsize=128)
def _load(path: Path) -> RuleSet:
    # Versions are immutable once stored, so one RuleSet object per folder is correct, and it
    # keeps the arena cache (keyed by RuleSet identity) warm.
    return load_rule_dir(path)


def _folders(base: Path | None) -> dict[str, Path]:
    if base is None or not base.is_dir():
        return {}
    return {p.name: p for p in base.iterdir() if p.is_dir() and SEMVER.match(p.name)}


def _reject_aliases(name: str, text: str) -> None:
    """Refuse YAML anchors/aliases: a few nested aliases expand into gigabytes when the loader
    hashes the data (the 'billion laughs'), and rule data never needs them."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InvalidRules(f"{name}: YAML aliases (*{event.anchor}) are not allowed")
    except yaml.YAMLError as exc:
        raise InvalidRules(f"{name}: not valid YAML: {exc}") from None


def _file_hashes(rules: RuleSet) -> dict[str, str]:
    """Per file, a hash of its parsed content: comments and formatting are not changes."""
    return {f"{name}.yaml": content_hash(data) for name, data in rules.raw.items()}


class RulesStore:
    def __init__(self, db: GatewayDatabase, root: Path, operator_dir: Path | None) -> None:
        self.db = db
        self.root = root
        self.operator_dir = operator_dir

    # --- reading -------------------------------------------------------------------------------

    def versions(self, principal: Principal) -> list[RuleVersion]:
        """Every version the tenant may use, oldest first."""
        found: dict[str, RuleVersion] = {
            v: RuleVersion(v, "builtin", p) for v, p in _folders(DATA_DIR).items()
        }
        for v, p in _folders(self.operator_dir).items():
            found[v] = RuleVersion(v, "operator", p)
        with self.db.session() as session:
            rows = session.execute(
                select(RuleUploadRow.id, RuleUploadRow.version).where(
                    RuleUploadRow.tenant_id == principal.tenant_id
                )
            ).all()
        for upload_id, version in rows:
            found[version] = RuleVersion(
                version, "tenant", self._tenant_dir(principal) / version, upload_id
            )
        return sorted(found.values(), key=lambda rv: semver_key(rv.version))

    def load(self, rv: RuleVersion) -> RuleSet:
        if rv.scope == "tenant" and not rv.path.is_dir():
            self._materialise(rv)
        return _load(rv.path)

    def resolve(self, principal: Principal, version: str | None, default: str) -> RuleSet:
        """A version by name; ``None`` means ``default`` ('latest' = highest semver)."""
        versions = self.versions(principal)
        wanted = version or default
        if wanted == "latest":
            return self.load(versions[-1])
        for rv in versions:
            if rv.version == wanted:
                return self.load(rv)
        raise UnknownVersion(
            f"rule set version {wanted!r} does not exist for this tenant; "
            f"available: {', '.join(rv.version for rv in versions)}"
        )

    def by_identity(self, principal: Principal, identity: str) -> RuleSet:
        """The rule set whose identity (``<semver>+<hash12>``) a scenario records."""
        version = identity.split("+", 1)[0]
        for rv in self.versions(principal):
            if rv.version == version:
                rules = self.load(rv)
                if rules.identity == identity:
                    return rules
        raise UnknownVersion(
            f"the scenario was generated under rules {identity!r}, which this server does not "
            "have (or has with different content); sample a fresh scenario with "
            "GET /v1/arena/{model_type}/sample"
        )

    def upload_row(self, principal: Principal, upload_id: str) -> RuleUploadRow:
        with self.db.session() as session:
            row = session.scalar(
                select(RuleUploadRow).where(
                    RuleUploadRow.id == upload_id, RuleUploadRow.tenant_id == principal.tenant_id
                )
            )
        if row is None:
            raise UnknownVersion(f"no rules upload {upload_id!r}")
        return row

    def upload_rows(self, principal: Principal) -> list[RuleUploadRow]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(RuleUploadRow)
                    .where(RuleUploadRow.tenant_id == principal.tenant_id)
                    .order_by(RuleUploadRow.created_at)
                )
            )

    # --- writing -------------------------------------------------------------------------------

    def upload(
        self,
        principal: Principal,
        version: str,
        files: dict[str, str],
        base_version: str | None,
        default: str,
    ) -> UploadOutcome:
        """Validate ``files`` over ``base_version``'s and store them as ``version``."""
        semver_key(version)
        if not files:
            raise InvalidRules("files: upload at least one <name>.yaml")
        if len(files) > MAX_FILES:
            raise InvalidRules(f"files: at most {MAX_FILES} files per upload, got {len(files)}")
        for name, text in files.items():
            if not FILE_NAME.match(name):
                raise InvalidRules(
                    f"files.{name}: a file name is <lowercase name>.yaml, e.g. personality.yaml"
                )
            _reject_aliases(name, text)
        versions = {rv.version: rv for rv in self.versions(principal)}
        existing = versions.get(version)
        if existing is not None and existing.scope != "tenant":
            raise VersionConflict(
                f"version {version} is a {existing.scope} rule set; upload a new version number"
            )
        base = self.resolve(principal, base_version, default)
        merged = {p.name: p.read_text(encoding="utf-8") for p in sorted(base.root.glob("*.yaml"))}
        merged.update(files)
        with tempfile.TemporaryDirectory(prefix="srlforge-rules-") as tmp:
            folder = Path(tmp) / version
            folder.mkdir()
            for name, text in merged.items():
                (folder / name).write_text(text, encoding="utf-8")
            candidate, validated, skipped = self._validate(folder)
            contents = {name: (folder / name).read_text(encoding="utf-8") for name in merged}
        if existing is not None:
            row = self.upload_row(principal, existing.upload_id or "")
            if row.content_hash != candidate.content_hash:
                raise VersionConflict(
                    f"version {version} already exists with different content "
                    f"({row.identity}); upload it under a new version number"
                )
            return UploadOutcome(row, created=False, validated=validated, not_validated=skipped)
        before, after = _file_hashes(base), _file_hashes(candidate)
        changed = sorted(n for n in after if before.get(n) != after[n])
        row = RuleUploadRow(
            id=uuid.uuid4().hex,
            tenant_id=principal.tenant_id,
            version=version,
            identity=candidate.identity,
            content_hash=candidate.content_hash,
            base_identity=base.identity,
            files={n: {"sha256": after[n], "uploaded": n in files} for n in sorted(after)},
            contents=contents,
            affected_model_types=_affected(changed),
            retrain={},
        )
        try:
            with self.db.session() as session:
                session.add(row)
        except IntegrityError:
            # A concurrent upload of the same version won; compare with what it stored.
            winner = self._row_for_version(principal, version)
            if winner is None:
                raise
            if winner.content_hash != candidate.content_hash:
                raise VersionConflict(
                    f"version {version} was just stored with different content "
                    f"({winner.identity}); upload it under a new version number"
                ) from None
            return UploadOutcome(winner, created=False, validated=validated, not_validated=skipped)
        path = self._tenant_dir(principal) / version
        self._materialise(RuleVersion(version, "tenant", path, row.id))
        return UploadOutcome(row, created=True, validated=validated, not_validated=skipped)

    def _row_for_version(self, principal: Principal, version: str) -> RuleUploadRow | None:
        with self.db.session() as session:
            return session.scalar(
                select(RuleUploadRow).where(
                    RuleUploadRow.tenant_id == principal.tenant_id,
                    RuleUploadRow.version == version,
                )
            )

    def record_retrain(self, upload_id: str, retrain: dict[str, Any]) -> RuleUploadRow:
        with self.db.session() as session:
            row = session.get_one(RuleUploadRow, upload_id)
            row.retrain = retrain
            return row

    def _validate(self, folder: Path) -> tuple[RuleSet, list[str], dict[str, str]]:
        """Load ``folder`` as a rule set and through every arena whose file it holds."""
        prefix = str(folder.parent) + "/"
        try:
            rules = load_rule_dir(folder)
        except RuleFileError as exc:
            raise InvalidRules(str(exc).replace(prefix + folder.name + "/", "")) from None
        validated: list[str] = []
        skipped: dict[str, str] = {}
        for model_type in ARENAS:
            if model_type not in rules.files:
                continue
            try:
                cls = arena_class(model_type)
            except ImportError:
                skipped[model_type] = "arena module not available in this build"
                continue
            try:
                arena = cls(rules)
                for difficulty in DIFFICULTIES:
                    arena.sample(0, 0, difficulty)
            except ARENA_DATA_ERRORS as exc:
                text = str(exc).replace(prefix + folder.name + "/", "")
                raise InvalidRules(
                    f"{model_type}.yaml: the {model_type} arena cannot use this rule data: "
                    f"{type(exc).__name__}: {text}"
                ) from None
            validated.append(model_type)
        return rules, validated, skipped

    def _tenant_dir(self, principal: Principal) -> Path:
        return self.root / principal.tenant

    def _materialise(self, rv: RuleVersion) -> None:
        """Write a stored upload to disk atomically (temp folder, then rename)."""
        if rv.path.is_dir():
            return
        with self.db.session() as session:
            row = session.get(RuleUploadRow, rv.upload_id or "")
        if row is None:
            raise UnknownVersion(f"rules upload for {rv.version} vanished from the database")
        rv.path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{rv.version}-", dir=rv.path.parent))
        try:
            for name, text in row.contents.items():
                (staging / name).write_text(text, encoding="utf-8")
            staging.rename(rv.path)
        except OSError:
            if not rv.path.is_dir():  # another replica renamed first: theirs is identical
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _affected(changed_files: list[str]) -> list[str]:
    """Model types whose rules changed; species data changes every arena that reads it."""
    affected = {name.removesuffix(".yaml") for name in changed_files} & set(ARENAS)
    if "species.yaml" in changed_files:
        for model_type in ARENAS:
            try:
                if arena_class(model_type).uses_species:
                    affected.add(model_type)
            except ImportError:
                continue
    return sorted(affected)
