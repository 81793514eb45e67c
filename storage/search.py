"""Full-text search over entries with each database's own trigram machinery.

One *search document* per entry (``ticker.search_query.search_document``) lives in the
table ``entry_search`` created by migration 0002:

* SQLite: an FTS5 table with the ``trigram`` tokenizer (rowid = entries.id). The SQLite
  shipped here (3.40) has no ``remove_diacritics`` for trigram (3.45+), and no tokenizer
  expands ``ß`` or applies Python's ``casefold`` — so documents hold text already folded
  by ``ticker.text.fold``, the same folding filters and queries use.
* PostgreSQL: a plain table with a GIN ``gin_trgm_ops`` index (pg_trgm); ``LIKE '%term%'``
  on the folded document is answered from that index.

Keeping it in sync: folding is Python, which a trigger cannot call, so the documents are
written *in the same transaction* as the entry, from SQLAlchemy flush events on
``EntryRow`` registered when this module is imported (insert and corrected text alike).
Deletes are handled by the database (a trigger on SQLite, ``ON DELETE CASCADE`` on
PostgreSQL). Rows written with Core ``insert(EntryRow)`` bypass flush events: such bulk loads write
the documents themselves (the benchmark does) or call ``SearchRepository.reindex``.

User input never reaches SQL as text: terms are reduced to ``[\\w ]`` by the parser, are
quoted for FTS5 (doubled quotes) or LIKE-escaped, and are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Text,
    bindparam,
    column,
    event,
    func,
    inspect,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.elements import ColumnElement

from storage.database import Database
from storage.entries import to_stored
from storage.models import EntryRow
from storage.records import StoredEntry
from ticker.search_query import ParsedQuery, search_document, term_pattern

__all__ = ["MAX_LIMIT", "MAX_OFFSET", "SearchRepository", "fts5_match", "like_pattern"]

MAX_LIMIT = 50
"""Upper bound for one page (``/search`` shows 10, inline mode 20)."""
MAX_OFFSET = 1000
"""Deeper paging is refused (an inline ``next_offset`` is user-controlled input)."""

# PostgreSQL's side table as a lightweight construct: it is not an ORM model because on
# SQLite the same name is an FTS5 virtual table with a different shape.
_ENTRY_SEARCH = table("entry_search", column("entry_id", BigInteger), column("document", Text))
_FTS_TABLE = table("entry_search", column("rowid", Integer), column("document", Text))

# Per search transaction on PostgreSQL, both measured on 100k entries (bench/search.py):
# * custom plans: asyncpg prepares statements, and after five runs of the same SQL text the
#   server may switch to a generic plan that cannot see the LIKE patterns, i.e. how
#   selective they are (2 ms → 140 ms for "verletzt in");
# * no parallel plan: a Gather Merge over the backward published_at walk cannot stop early,
#   its workers scan to the end (130 ms → 16 ms for a rare pair of words).
_PG_SEARCH_SETTINGS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)

_SQLITE_WRITE = (
    text("DELETE FROM entry_search WHERE rowid = :id"),
    text("INSERT INTO entry_search (rowid, document) VALUES (:id, :document)"),
)
_PG_WRITE = text(
    "INSERT INTO entry_search (entry_id, document) VALUES (:id, :document) "
    "ON CONFLICT (entry_id) DO UPDATE SET document = excluded.document"
)


def _fts5_string(pattern: str) -> str:
    return '"' + pattern.replace('"', '""') + '"'


def fts5_match(query: ParsedQuery) -> str:
    """The FTS5 MATCH expression: every include as a quoted string, excludes behind NOT.

    With the trigram tokenizer a quoted string matches as a substring of the document.
    """
    expression = "(" + " AND ".join(_fts5_string(term_pattern(t)) for t in query.includes) + ")"
    if query.excludes:
        expression += (
            " NOT (" + " OR ".join(_fts5_string(term_pattern(t)) for t in query.excludes) + ")"
        )
    return expression


def like_pattern(term: str) -> str:
    """``%term%`` for LIKE with ``\\`` as the escape character (``_`` is a word char)."""
    escaped = term_pattern(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def write_document(connection: Connection, entry_id: int, headline: str, body: str) -> None:
    """Insert or replace the search document of one entry, on ``connection``'s transaction."""
    params = {"id": entry_id, "document": search_document(headline, body)}
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_WRITE:
            connection.execute(statement, params)
    else:
        connection.execute(_PG_WRITE, params)


@event.listens_for(EntryRow, "after_insert")
def _index_inserted(_mapper: Mapper[Any], connection: Connection, target: EntryRow) -> None:
    write_document(connection, target.id, target.headline, target.body)


@event.listens_for(EntryRow, "after_update")
def _index_updated(_mapper: Mapper[Any], connection: Connection, target: EntryRow) -> None:
    state = inspect(target)
    if state.attrs.headline.history.has_changes() or state.attrs.body.history.has_changes():
        write_document(connection, target.id, target.headline, target.body)


class SearchRepository:
    """Keyword search (``/search``, inline mode) and the inline mode's empty-query list.

    Two plans. On SQLite one is chosen per query by a cheap exact probe (the matching ids,
    read up to ``common_threshold``, which then serve as the indexed plan's result set). On
    PostgreSQL the cost-based planner chooses between the same two shapes itself, planning
    with the actual patterns (``_PG_SEARCH_SETTINGS``); the same probe there was measured
    slower (a GIN bitmap over common trigrams costs up to 150 ms). Its one weak case: words
    that are each common but (almost) never occur together ("brücke luftalarm" in the
    benchmark) — it guesses them independent and walks all entries (~240 ms on 100k), so
    the walk runs under a ``pg_walk_timeout_ms`` timeout, and the query is then answered
    from the trigram index (``_pg_guarded``).

    * *indexed* (selective queries): the trigram index finds all matches, which are then
      ordered by time. Cost grows with the number of matches.
    * *scan* (common queries, ``kiew``, ``in``): walk entries newest first through the
      ``published_at`` index and test each document by plain substring search
      (``instr``/``strpos``, which cannot use the trigram index — deliberately), stopping
      after ``offset + limit`` hits. When at least ``common_threshold`` documents match,
      hits are dense and the walk is short, where the indexed plan would have to collect
      and sort every one of them.

    Both plans implement ``ticker.search_query.matches`` exactly; tests run each.
    """

    def __init__(
        self, database: Database, *, common_threshold: int = 1000, pg_walk_timeout_ms: int = 60
    ) -> None:
        self._db = database
        self._common_threshold = common_threshold
        self._pg_walk_timeout_ms = max(1, pg_walk_timeout_ms)

    def _indexed_conditions(self, query: ParsedQuery) -> tuple[ColumnElement[bool], ...]:
        if self._db.is_sqlite:
            ids = (
                text("SELECT rowid FROM entry_search WHERE entry_search MATCH :match")
                .bindparams(bindparam("match", fts5_match(query)))
                .columns(column("rowid", Integer))
            )
            return (EntryRow.id.in_(ids),)
        document = _ENTRY_SEARCH.c.document
        return tuple(
            document.like(bindparam(f"inc{i}", like_pattern(term)), escape="\\")
            for i, term in enumerate(query.includes)
        ) + tuple(
            document.not_like(bindparam(f"exc{i}", like_pattern(term)), escape="\\")
            for i, term in enumerate(query.excludes)
        )

    def _scan_statement(self, query: ParsedQuery) -> Select[EntryRow]:
        if self._db.is_sqlite:
            fts, key, position = _FTS_TABLE, _FTS_TABLE.c.rowid, func.instr
        else:
            fts, key, position = _ENTRY_SEARCH, _ENTRY_SEARCH.c.entry_id, func.strpos
        document = fts.c.document
        conditions = [
            position(document, bindparam(f"inc{i}", term_pattern(term))) > 0
            for i, term in enumerate(query.includes)
        ] + [
            position(document, bindparam(f"exc{i}", term_pattern(term))) == 0
            for i, term in enumerate(query.excludes)
        ]
        # A correlated EXISTS, not a join: with entries the only table in FROM, SQLite's
        # planner has to walk them in published_at order (a join let it start from the
        # FTS table and sort everything).
        matching = select(literal(1)).select_from(fts).where(key == EntryRow.id, *conditions)
        return select(EntryRow).where(matching.exists())

    async def _probe(self, session: AsyncSession, query: ParsedQuery) -> list[int] | None:
        """SQLite: the ids of all matching entries if fewer than ``common_threshold``, else
        None (the query is common: use the scan plan).

        FTS5 produces matches incrementally, so stopping at the cap costs little, and a
        selective query's ids are reused instead of evaluating the full-text query twice.
        """
        probe = select(_FTS_TABLE.c.rowid).where(
            text("entry_search MATCH :match").bindparams(match=fts5_match(query))
        )
        ids = (await session.scalars(probe.limit(self._common_threshold))).all()
        return [int(i) for i in ids] if len(ids) < self._common_threshold else None

    async def search(
        self,
        query: ParsedQuery,
        *,
        source_ids: Sequence[str] | None,
        limit: int = 10,
        offset: int = 0,
        plan: Literal["auto", "indexed", "scan"] = "auto",
    ) -> list[StoredEntry]:
        """Entries matching ``query`` (see ``ticker.search_query.matches``), newest first.

        ``source_ids=None`` searches every source; an empty sequence finds nothing.
        ``limit`` and ``offset`` are clamped to sane bounds instead of failing. ``plan``
        forces one of the two query plans (tests and benchmarks only).
        """
        limit = max(0, min(limit, MAX_LIMIT))
        offset = max(0, offset)
        if limit == 0 or offset > MAX_OFFSET or not query.includes:
            return []
        if source_ids is not None and not source_ids:
            return []
        async with self._db.session() as session:
            if not self._db.is_sqlite:
                await session.execute(_PG_SEARCH_SETTINGS)
            if plan == "scan":
                statement = self._scan_statement(query)
            elif plan == "auto" and self._db.is_sqlite:
                ids = await self._probe(session, query)
                if ids is None:
                    statement = self._scan_statement(query)
                elif not ids:
                    return []
                else:
                    statement = select(EntryRow).where(EntryRow.id.in_(ids))
            else:
                statement = select(EntryRow).where(*self._indexed_conditions(query))
                if not self._db.is_sqlite:
                    statement = statement.join(
                        _ENTRY_SEARCH, _ENTRY_SEARCH.c.entry_id == EntryRow.id
                    )
            if source_ids is not None:
                statement = statement.where(EntryRow.source_id.in_(list(source_ids)))
            statement = (
                statement.order_by(EntryRow.published_at.desc(), EntryRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            if plan == "auto" and not self._db.is_sqlite:
                rows = await self._pg_guarded(session, statement)
            else:
                rows = (await session.scalars(statement)).all()
            return [to_stored(row) for row in rows]

    async def _pg_guarded(
        self, session: AsyncSession, statement: Select[EntryRow]
    ) -> Sequence[EntryRow]:
        """Run the planner's choice under a short timeout; if it is the slow walk (words
        common alone but rare together), run it again from the trigram index instead.

        The timeout and its rollback are confined to a savepoint, so the transaction
        stays usable; ``SET LOCAL``-style settings made inside are undone with it.
        """
        try:
            async with session.begin_nested():
                await session.execute(
                    text("SELECT set_config('statement_timeout', :ms, true)"),
                    {"ms": str(self._pg_walk_timeout_ms)},
                )
                rows = (await session.scalars(statement)).all()
                await session.execute(text("SELECT set_config('statement_timeout', '0', true)"))
                return rows
        except DBAPIError as error:
            if _sqlstate(error) != "57014":  # query_canceled
                raise
        await session.execute(text("SELECT set_config('enable_indexscan', 'off', true)"))
        return (await session.scalars(statement)).all()

    async def latest_for_inline(
        self, limit: int = 20, offset: int = 0, *, source_ids: Sequence[str] | None = None
    ) -> list[StoredEntry]:
        """The newest entries (inline mode with an empty query), newest first, paged."""
        limit = max(0, min(limit, MAX_LIMIT))
        offset = max(0, offset)
        if limit == 0 or offset > MAX_OFFSET:
            return []
        if source_ids is not None and not source_ids:
            return []
        statement = select(EntryRow)
        if source_ids is not None:
            statement = statement.where(EntryRow.source_id.in_(list(source_ids)))
        statement = (
            statement.order_by(EntryRow.published_at.desc(), EntryRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._db.session() as session:
            rows = (await session.scalars(statement)).all()
            return [to_stored(row) for row in rows]

    async def reindex(self, *, batch_size: int = 2000) -> int:
        """Rewrite every entry's search document; returns how many.

        For repairs and after bulk Core inserts that bypassed the flush events. Runs in
        batches of ``batch_size`` entries, one transaction each.
        """
        done = 0
        last_id = 0
        while True:
            async with self._db.session() as session:
                rows = (
                    await session.execute(
                        select(EntryRow.id, EntryRow.headline, EntryRow.body)
                        .where(EntryRow.id > last_id)
                        .order_by(EntryRow.id)
                        .limit(batch_size)
                    )
                ).all()
                if not rows:
                    return done
                params = [
                    {"id": row.id, "document": search_document(row.headline, row.body)}
                    for row in rows
                ]
                if self._db.is_sqlite:
                    await session.execute(
                        text("DELETE FROM entry_search WHERE rowid = :id"), params
                    )
                    await session.execute(_SQLITE_WRITE[1], params)
                else:
                    await session.execute(_PG_WRITE, params)
                done += len(rows)
                last_id = rows[-1].id
