"""Initial collab schema: lore entries (+ full-text index), rules versions, produced examples,
generation-request ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Types are spelled out here rather than imported from ``orm`` so this revision keeps creating the
same schema when the ORM changes later. The full-text index is dialect-specific: an external-
content FTS5 table kept in sync by triggers on SQLite (ranked with bm25), a GIN expression index
over ``to_tsvector('english', search_text)`` on PostgreSQL (ranked with ts_rank).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)

_SQLITE_FTS = [
    # porter stemming so "burns" finds "burn"; unicode61 folds case and diacritics.
    """CREATE VIRTUAL TABLE collab_lore_fts USING fts5(
        search_text, content='collab_lore_entries', content_rowid='id',
        tokenize='porter unicode61')""",
    """CREATE TRIGGER collab_lore_ai AFTER INSERT ON collab_lore_entries BEGIN
        INSERT INTO collab_lore_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER collab_lore_ad AFTER DELETE ON collab_lore_entries BEGIN
        INSERT INTO collab_lore_fts(collab_lore_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER collab_lore_au AFTER UPDATE ON collab_lore_entries BEGIN
        INSERT INTO collab_lore_fts(collab_lore_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO collab_lore_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
]


def upgrade() -> None:
    op.create_table(
        "collab_lore_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("species", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collab_lore_entries"),
        sa.UniqueConstraint("key", name="uq_collab_lore_entries_key"),
    )
    op.create_index(
        "ix_collab_lore_entries_species", "collab_lore_entries", ["species"], unique=False
    )
    op.create_table(
        "collab_rules_versions",
        sa.Column("identity", sa.String(100), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("registered_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("identity", name="pk_collab_rules_versions"),
    )
    op.create_table(
        "collab_produced_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("trajectory_id", sa.String(300), nullable=False),
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("species", sa.String(64)),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.String(100), nullable=False),
        sa.Column("teacher", sa.String(32), nullable=False),
        sa.Column("model", sa.String(300)),
        sa.Column("dataset_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collab_produced_examples"),
        sa.UniqueConstraint(
            "request_id", "content_hash", name="uq_collab_produced_examples_request_id"
        ),
    )
    op.create_index(
        "ix_collab_produced_examples_request_id", "collab_produced_examples", ["request_id"]
    )
    op.create_index(
        "ix_collab_produced_examples_content_hash", "collab_produced_examples", ["content_hash"]
    )
    op.create_table(
        "collab_generation_requests",
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", UTC_DATETIME),
        sa.Column("result", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_collab_generation_requests"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_collab_lore_entries_fts ON collab_lore_entries "
            "USING gin (to_tsvector('english', search_text))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("collab_lore_ai", "collab_lore_ad", "collab_lore_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS collab_lore_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_collab_lore_entries_fts")
    op.drop_table("collab_generation_requests")
    op.drop_index("ix_collab_produced_examples_content_hash", "collab_produced_examples")
    op.drop_index("ix_collab_produced_examples_request_id", "collab_produced_examples")
    op.drop_table("collab_produced_examples")
    op.drop_table("collab_rules_versions")
    op.drop_index("ix_collab_lore_entries_species", "collab_lore_entries")
    op.drop_table("collab_lore_entries")
