"""Model A's store: cited lore entries with full-text retrieval, the rule sets seen, and the
history of training examples already produced.

Retrieval ranks by relevance with the database's own full-text engine: FTS5 + bm25 on SQLite,
``to_tsvector`` + ``ts_rank`` on PostgreSQL (chosen by dialect). Other dialects fall back to
counting matched terms in Python, which is correct but unindexed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, text

from collab_service.db import session_factory
from collab_service.orm import LoreEntry, ProducedExample, RulesVersionRow, utcnow
from srlforge.rules import RuleSet
from srlforge.schema import LoreFact, Trajectory

SEED_PATH = Path(__file__).parent / "data" / "lore.yaml"
CATEGORIES = ("trait", "behaviour", "weakness", "resistance", "faction", "fact")
ANY_SPECIES = "*"

# Words that carry no signal for lore retrieval; the FTS engines would match them everywhere.
_STOPWORDS = frozenset(
    {
        *("the", "and", "for", "with", "that", "this", "from", "into", "over", "under", "are"),
        *("was", "were", "has", "have", "had", "not", "but", "its", "their", "they", "them"),
        *("then", "than", "when", "while", "where", "which", "what", "who", "will", "would"),
        *("can", "could", "should", "each", "every", "any", "all", "one", "two", "per", "via"),
        *("out", "off", "yes", "none", "null", "true", "false"),
    }
)
_MAX_QUERY_TERMS = 48


class LoreDataError(ValueError):
    """The lore seed file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class LoreRecord:
    key: str
    species: str
    category: str
    text: str
    source: str
    tags: list[str] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    confidence: str = "sourced"
    score: float = 0.0  # relevance to the query (higher is better); 0 when not searched

    def fact(self) -> LoreFact:
        return LoreFact(text=self.text, source=self.source, tags=list(self.tags))


def query_terms(*texts: str) -> list[str]:
    """Lower-case alphanumeric terms (3+ chars, no stopwords), first-seen order, deduplicated.

    Only ``[a-z0-9]`` survives, so the terms are safe to splice into an FTS5 or tsquery string.
    """
    seen: dict[str, None] = {}
    for chunk in texts:
        for term in re.findall(r"[a-z0-9]+", chunk.lower()):
            if len(term) >= 3 and term not in _STOPWORDS and not term.isdigit():
                seen.setdefault(term, None)
    return list(seen)[:_MAX_QUERY_TERMS]


def _search_text(category: str, text_: str, tags: Iterable[str]) -> str:
    return " ".join([category, text_, *(t.replace("_", " ") for t in tags)])


def load_seed(path: Path = SEED_PATH) -> tuple[str, list[dict[str, Any]]]:
    """Read and check the seed file: ``(attribution, entries)``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LoreDataError(f"{path}: cannot read lore seed data: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
        raise LoreDataError(f"{path}: expected a mapping with an 'entries' list")
    entries = []
    keys: set[str] = set()
    for i, item in enumerate(raw["entries"]):
        where = f"{path}: entries[{i}]"
        if not isinstance(item, dict):
            raise LoreDataError(f"{where}: expected a mapping")
        for name in ("key", "species", "category", "text", "source"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                raise LoreDataError(f"{where}.{name}: required text (every fact needs a source)")
        if item["category"] not in CATEGORIES:
            raise LoreDataError(f"{where}.category: {item['category']!r} not in {CATEGORIES}")
        if item["key"] in keys:
            raise LoreDataError(f"{where}.key: {item['key']!r} is repeated")
        keys.add(item["key"])
        entries.append(item)
    return str(raw.get("attribution", "")), entries


class LoreStore:
    """Lore, rules versions and produced-example history in one database (SQLite or PostgreSQL)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._sessions = session_factory(db_url)
        self.dialect = self._sessions.kw["bind"].dialect.name

    # ----- seeding ---------------------------------------------------------------------------

    def seed(self, path: Path = SEED_PATH) -> int:
        """Upsert the packaged entries by key; returns how many rows were added or changed."""
        _, items = load_seed(path)
        changed = 0
        with self._sessions.begin() as session:
            existing = {e.key: e for e in session.scalars(select(LoreEntry))}
            for item in items:
                values = {
                    "species": item["species"],
                    "category": item["category"],
                    "text": item["text"].strip(),
                    "source": item["source"].strip(),
                    "tags": list(item.get("tags") or []),
                    "claims": list(item.get("claims") or []),
                    "data": {k: item[k] for k in ("trait", "relations") if k in item},
                    "confidence": item.get("confidence", "sourced"),
                }
                values["search_text"] = _search_text(
                    values["category"], values["text"], values["tags"]
                )
                row = existing.get(item["key"])
                if row is None:
                    session.add(LoreEntry(key=item["key"], updated_at=utcnow(), **values))
                    changed += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at = utcnow()
                    changed += 1
        return changed

    def ensure_seeded(self) -> None:
        with self._sessions() as session:
            if session.scalars(select(LoreEntry.id).limit(1)).first() is None:
                self.seed()

    def register_rules(self, rules: RuleSet) -> None:
        with self._sessions.begin() as session:
            if session.get(RulesVersionRow, rules.identity) is None:
                session.add(
                    RulesVersionRow(
                        identity=rules.identity,
                        version=rules.version,
                        content_hash=rules.content_hash,
                        sources=rules.sources(),
                        registered_at=utcnow(),
                    )
                )

    def rules_versions(self) -> list[str]:
        with self._sessions() as session:
            return list(session.scalars(select(RulesVersionRow.identity)))

    # ----- reading ---------------------------------------------------------------------------

    @staticmethod
    def _record(row: LoreEntry, score: float = 0.0) -> LoreRecord:
        return LoreRecord(
            key=row.key,
            species=row.species,
            category=row.category,
            text=row.text,
            source=row.source,
            tags=list(row.tags or []),
            claims=list(row.claims or []),
            data=dict(row.data or {}),
            confidence=row.confidence,
            score=score,
        )

    def entries(self, species: str | None = None) -> list[LoreRecord]:
        """Every entry for ``species`` (and the ``*`` entries), or all entries."""
        with self._sessions() as session:
            query = select(LoreEntry).order_by(LoreEntry.key)
            if species is not None:
                query = query.where(LoreEntry.species.in_([species, ANY_SPECIES]))
            return [self._record(r) for r in session.scalars(query)]

    def species(self) -> list[str]:
        with self._sessions() as session:
            rows = session.scalars(select(LoreEntry.species).distinct())
            return sorted(s for s in rows if s != ANY_SPECIES)

    def search(self, query: str, species: str | None = None, k: int = 8) -> list[LoreRecord]:
        """The ``k`` entries most relevant to ``query`` (best first), for ``species`` and ``*``."""
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        if self.dialect == "sqlite":
            ranked = self._search_sqlite(terms, species, k)
        elif self.dialect == "postgresql":
            ranked = self._search_postgres(terms, species, k)
        else:
            ranked = self._search_portable(terms, species, k)
        if not ranked:
            return []
        ids = [i for i, _ in ranked]
        with self._sessions() as session:
            rows = {
                r.id: r for r in session.scalars(select(LoreEntry).where(LoreEntry.id.in_(ids)))
            }
        return [self._record(rows[i], score) for i, score in ranked if i in rows]

    def _species_filter(self, species: str | None) -> tuple[str, dict[str, Any]]:
        if species is None:
            return "", {}
        return " AND e.species IN (:species, :any)", {"species": species, "any": ANY_SPECIES}

    def _search_sqlite(self, terms: list[str], species: str | None, k: int) -> list[tuple]:
        where, params = self._species_filter(species)
        match = " OR ".join(f'"{t}"' for t in terms)
        # bm25() is lower-is-better; negate so every backend reports higher-is-better.
        sql = text(
            "SELECT e.id, -bm25(collab_lore_fts) AS score FROM collab_lore_fts "
            "JOIN collab_lore_entries e ON e.id = collab_lore_fts.rowid "
            f"WHERE collab_lore_fts MATCH :match{where} ORDER BY score DESC, e.key LIMIT :k"
        )
        with self._sessions() as session:
            rows = session.execute(sql, {"match": match, "k": k, **params})
            return [(r[0], float(r[1])) for r in rows]

    def _search_postgres(self, terms: list[str], species: str | None, k: int) -> list[tuple]:
        where, params = self._species_filter(species)
        sql = text(
            "SELECT e.id, ts_rank(to_tsvector('english', e.search_text), q) AS score "
            "FROM collab_lore_entries e, to_tsquery('english', :tsq) q "
            f"WHERE to_tsvector('english', e.search_text) @@ q{where} "
            "ORDER BY score DESC, e.key LIMIT :k"
        )
        with self._sessions() as session:
            rows = session.execute(sql, {"tsq": " | ".join(terms), "k": k, **params})
            return [(r[0], float(r[1])) for r in rows]

    def _search_portable(self, terms: list[str], species: str | None, k: int) -> list[tuple]:
        with self._sessions() as session:
            query = select(LoreEntry.id, LoreEntry.search_text, LoreEntry.key)
            if species is not None:
                query = query.where(LoreEntry.species.in_([species, ANY_SPECIES]))
            scored = []
            for id_, search_text, key in session.execute(query):
                words = set(query_terms(search_text))
                hits = sum(1 for t in terms if t in words)
                if hits:
                    scored.append((-hits, key, id_))
        return [(id_, float(-neg)) for neg, _, id_ in sorted(scored)[:k]]

    # ----- produced-example history ------------------------------------------------------------

    def record_produced(
        self, request_id: str, trajectories: Iterable[Trajectory], dataset_hash: str
    ) -> int:
        """Remember what a request produced (idempotent per request and content hash)."""
        added = 0
        with self._sessions.begin() as session:
            known = set(
                session.scalars(
                    select(ProducedExample.content_hash).where(
                        ProducedExample.request_id == request_id
                    )
                )
            )
            for t in trajectories:
                digest = t.provenance.content_hash
                if digest in known:
                    continue
                known.add(digest)
                session.add(
                    ProducedExample(
                        request_id=request_id,
                        content_hash=digest,
                        trajectory_id=t.id,
                        model_type=t.model_type,
                        species=t.species,
                        difficulty=t.scenario.difficulty,
                        rules_version=t.scenario.rules_version,
                        teacher=t.provenance.teacher,
                        model=t.provenance.model,
                        dataset_hash=dataset_hash,
                        created_at=utcnow(),
                    )
                )
                added += 1
        return added

    def produced_hashes(self, model_type: str, rules_version: str | None = None) -> set[str]:
        with self._sessions() as session:
            query = select(ProducedExample.content_hash).where(
                ProducedExample.model_type == model_type
            )
            if rules_version is not None:
                query = query.where(ProducedExample.rules_version == rules_version)
            return set(session.scalars(query))

    def produced_count(self, request_id: str | None = None) -> int:
        with self._sessions() as session:
            query = select(ProducedExample.id)
            if request_id is not None:
                query = query.where(ProducedExample.request_id == request_id)
            return len(session.scalars(query).all())
