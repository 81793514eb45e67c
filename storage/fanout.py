"""Fan-out: from a new entry to one delivery row per subscribed chat whose filters it passes.

Why in pages, after the entry's transaction: with 100,000 subscribers a busy ticker's entry has
~50,000 recipients. Writing all their delivery rows inside ``ingest`` held SQLite's single write
lock for ~290 ms per entry (PostgreSQL ~770 ms, half of it foreign-key checks), stalling every
other writer — command handlers, the sender's group commits — for rows the sender could not use
for many minutes anyway (Telegram allows 30 messages a second). So ``ingest`` writes one
``FanOut`` row with the entry (the outbox guarantee holds: both commit or neither), and the
sender's claim expands it ``PAGE_SUBSCRIPTIONS`` subscriptions at a time while fewer than
``LOW_WATER`` deliveries wait: one INSERT … SELECT per page, in the claim's transaction.

Fan-outs are expanded oldest first, one at a time, so a chat's deliveries are created in
publication order. Who gets the entry is decided when its page is expanded, by the chat's
filters and state then; a chat that subscribed after the entry first appeared never gets it
(SPEC §6: a chat gets what appears after it subscribed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Insert,
    Select,
    and_,
    delete,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    Chat,
    Delivery,
    EntryRow,
    FanOut,
    FilterRow,
    Subscription,
    claimable,
)
from ticker.filters import FilterKind, matching_words, searchable_text
from ticker.text import fold

PAGE_SUBSCRIPTIONS = 2_000
# Expand while fewer due deliveries than this wait: enough to keep a 1000/s sender busy between
# two claim rounds, few enough that the claim's scans of pending rows stay short.
LOW_WATER = 2_000
# A page of a narrowly filtered entry may match nobody: bound the pages one claim expands.
MAX_PAGES_PER_CLAIM = 10


# The distinct values of one filter kind by skipping through the (kind, value) index from one
# value to the next ("loose index scan"): ~500 index seeks instead of reading all ~25,000
# keyword rows of 100,000 chats (1 ms instead of ~10 ms on SQLite). Portable SQL.
_DISTINCT_VALUES = text(
    """
    WITH RECURSIVE found(value) AS (
        SELECT min(value) FROM filters WHERE kind = :kind
        UNION ALL
        SELECT (SELECT min(next.value) FROM filters AS next
                WHERE next.kind = :kind AND next.value > found.value)
        FROM found WHERE found.value IS NOT NULL
    )
    SELECT value FROM found WHERE value IS NOT NULL
    """
)


async def keyword_values(session: AsyncSession) -> list[str]:
    """The distinct keyword and exclude values any chat uses (few: people pick the same words)."""
    values: set[str] = set()
    for kind in (FilterKind.KEYWORD, FilterKind.EXCLUDE):
        values.update((await session.scalars(_DISTINCT_VALUES, {"kind": kind.value})).all())
    return sorted(values)


def queue_fanout(session: AsyncSession, source_id: str, entry_id: int, now: datetime) -> None:
    """Promise the entry to its source's subscribers, in the entry's own transaction."""
    session.add(FanOut(entry_id=entry_id, source_id=source_id, created_at=now))


async def expand_fanouts(
    session: AsyncSession,
    *,
    now: datetime,
    is_sqlite: bool,
    max_pages: int | None = None,
    only_while_queue_short: bool = True,
) -> int:
    """Turn waiting fan-outs into delivery rows while the queue is short; rows written."""
    written = 0
    for _ in range(max_pages or MAX_PAGES_PER_CLAIM):
        oldest = select(FanOut).order_by(FanOut.id).limit(1)
        if not is_sqlite:
            # A second sender (during a leader hand-over) skips it rather than waits.
            oldest = oldest.with_for_update(skip_locked=True)
        fanout = await session.scalar(oldest)
        if fanout is None:
            break
        if only_while_queue_short and await _waiting(session, now) >= LOW_WATER:
            break
        written += await _expand_page(session, fanout, now, is_sqlite)
    return written


async def fanouts_pending(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(FanOut)) or 0)


async def _waiting(session: AsyncSession, now: datetime) -> int:
    due = select(Delivery.id).where(claimable(Delivery, now)).limit(LOW_WATER).subquery()
    return int(await session.scalar(select(func.count()).select_from(due)) or 0)


async def _expand_page(
    session: AsyncSession, fanout: FanOut, now: datetime, is_sqlite: bool
) -> int:
    """Match one page of subscriptions, downwards from the cursor, and move the cursor."""
    entry = await session.get(EntryRow, fanout.entry_id)
    if entry is None:  # deleted since; the cascade removes the fan-out with it
        await session.delete(fanout)
        return 0
    if fanout.matched_words is None:
        # Once per entry, on its first page: reading every keyword in use costs ~10 ms at
        # 100,000 chats, too much for each page and for the poll's transaction.
        text = searchable_text(entry.headline, entry.body)
        fanout.matched_words = sorted(matching_words(text, await keyword_values(session)))
    page: list[ColumnElement[bool]] = [Subscription.source_id == fanout.source_id]
    if fanout.below_chat_id is not None:
        page.append(Subscription.chat_id < fanout.below_chat_id)
    # The lowest chat id of this page: the page is [boundary, cursor), the last one unbounded.
    boundary = await session.scalar(
        select(Subscription.chat_id)
        .where(*page)
        .order_by(Subscription.chat_id.desc())
        .offset(PAGE_SUBSCRIPTIONS - 1)
        .limit(1)
    )
    if boundary is not None:
        page.append(Subscription.chat_id >= boundary)
    chosen = recipients(entry, fanout.matched_words, now, page)
    statement = _insert_ignoring_duplicates(is_sqlite).from_select(
        ["chat_id", "entry_id", "status", "attempts", "not_before", "created_at"], chosen
    )
    result = await session.execute(statement)
    if boundary is None:
        await session.execute(delete(FanOut).where(FanOut.id == fanout.id))
    else:
        fanout.below_chat_id = boundary
    return int(getattr(result, "rowcount", 0) or 0)


def _insert_ignoring_duplicates(is_sqlite: bool) -> Insert:
    """A chat already holding this entry (it migrated into the page still to do) keeps one."""
    if is_sqlite:
        return sqlite.insert(Delivery).on_conflict_do_nothing()
    return postgresql.insert(Delivery).on_conflict_do_nothing()


def recipients(
    entry: EntryRow,
    matched_words: Sequence[str],
    now: datetime,
    page: Sequence[ColumnElement[bool]],
) -> Select[*tuple[Any, ...]]:
    """One set-based query over a page of subscriptions.

    Filter kinds a chat does not use are skipped by flags on the chat, and the filters it does
    use are looked up through uncorrelated IN-subqueries on the (kind, value) index, so a page
    costs one indexed pass over its subscriptions, never a filter scan per chat.
    """
    regions = sorted({fold(region) for region in entry.regions or ()})
    speakers = sorted(set(entry.speaker_keys or ()))
    words = sorted(matched_words)

    def chats_with(kind: FilterKind, values: Sequence[str]) -> Select[Any]:
        query = select(FilterRow.chat_id).where(FilterRow.kind == kind.value)
        return query.where(FilterRow.value.in_(values)) if values else query.where(false())

    conditions = [
        *page,
        Subscription.created_at <= entry.first_seen_at,
        Chat.active == true(),
        Chat.paused == false(),
        or_(
            Chat.has_region_filter == false(),
            Chat.id.in_(chats_with(FilterKind.REGION, regions)),
        ),
        or_(
            Chat.has_speaker_filter == false(),
            Chat.id.in_(chats_with(FilterKind.SPEAKER, speakers)),
        ),
        or_(
            Chat.has_keyword_filter == false(),
            Chat.id.in_(chats_with(FilterKind.KEYWORD, words)),
        ),
    ]
    if words:
        conditions.append(not_(Chat.id.in_(chats_with(FilterKind.EXCLUDE, words))))
    return (
        select(
            Chat.id,
            literal(entry.id),
            literal("pending"),
            literal(0),
            literal(now, Delivery.not_before.type),
            literal(now, Delivery.created_at.type),
        )
        .join(Subscription, Subscription.chat_id == Chat.id)
        .where(and_(*conditions))
    )
