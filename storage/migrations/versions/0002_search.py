"""full-text search over entries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:10:00

One search document per entry (``ticker.search_query.search_document``: folded, punctuation
reduced to spaces, space-padded), in a trigram index:

* SQLite: an FTS5 table ``entry_search`` with the ``trigram`` tokenizer, rowid = entries.id.
  A trigger removes the document when its entry is deleted (also on cascades from sources).
* PostgreSQL: a table ``entry_search`` (FK to entries, ON DELETE CASCADE) with a GIN
  ``gin_trgm_ops`` index, so ``LIKE '%term%'`` is an index lookup. Without the pg_trgm
  extension (not installed, no privilege) the table is still created and search still works,
  by sequential scan.

Documents are written by ``storage.search`` in the same transaction as the entry (ORM flush
events), because folding is Python (``fold``) and a trigger cannot call it. Existing entries
are backfilled here with the same function.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ticker.search_query import search_document

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def _backfill(bind: sa.engine.Connection, insert_sql: str) -> None:
    last_id = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, headline, body FROM entries WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last_id, "n": BATCH},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text(insert_sql),
            [{"id": row.id, "document": search_document(row.headline, row.body)} for row in rows],
        )
        last_id = rows[-1].id


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE entry_search USING fts5(document, tokenize = 'trigram')")
        op.execute(
            "CREATE TRIGGER entry_search_delete AFTER DELETE ON entries BEGIN "
            "DELETE FROM entry_search WHERE rowid = old.id; END"
        )
        _backfill(bind, "INSERT INTO entry_search (rowid, document) VALUES (:id, :document)")
        return
    has_trgm = False
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar()
    if available:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            has_trgm = True
        except sa.exc.DBAPIError:
            has_trgm = False
    op.create_table(
        "entry_search",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
            name=op.f("fk_entry_search_entry_id_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_entry_search")),
    )
    _backfill(bind, "INSERT INTO entry_search (entry_id, document) VALUES (:id, :document)")
    if has_trgm:
        op.execute(
            "CREATE INDEX ix_entry_search_document_trgm ON entry_search "
            "USING gin (document gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS entry_search_delete")
        op.execute("DROP TABLE IF EXISTS entry_search")
        return
    # pg_trgm stays: other objects may use it, and it is harmless.
    op.drop_table("entry_search")
