"""Entries: the upsert that drives pushes and edits, and the read queries on entries.

``ingest`` is the transactional outbox's writer: new entries, the fan-outs that will deliver
them (``storage.fanout``), and the edit rows their corrections cause commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.database import Database
from storage.fanout import queue_fanout
from storage.models import (
    Delivery,
    EntryRow,
    EntryTag,
    MessageEdit,
    SentMessage,
    Source,
    SpeakerName,
    utcnow,
)
from storage.records import IngestReport, StoredEntry
from ticker.filters import ChatFilters, FilterKind
from ticker.model import Entry
from ticker.text import fold

# A "new" entry older than the newest stored one by more than this is history sliding into
# view (an entry above it was deleted, or a pinned block repeats it): store, never push.
BACKFILL_TOLERANCE = timedelta(hours=1)


def to_stored(row: EntryRow) -> StoredEntry:
    return StoredEntry(
        id=row.id,
        source_id=row.source_id,
        key=row.key,
        published_at=row.published_at,
        headline=row.headline,
        body=row.body,
        url=row.url,
        regions=tuple(row.regions or ()),
        speakers=tuple(row.speakers or ()),
        first_seen_at=row.first_seen_at,
        speaker_keys=tuple(row.speaker_keys or ()),
    )


def _tags(entry_id: int, entry: Entry) -> list[dict[str, object]]:
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for region in entry.regions:
        key = (FilterKind.REGION.value, fold(region))
        rows[key] = {"entry_id": entry_id, "kind": key[0], "value": key[1], "display": region}
    for name, speaker_key in zip(entry.speakers, entry.speaker_keys, strict=False):
        key = (FilterKind.SPEAKER.value, speaker_key)
        rows[key] = {"entry_id": entry_id, "kind": key[0], "value": key[1], "display": name}
    return list(rows.values())


class EntryRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def ingest(
        self,
        source_id: str,
        entries: Sequence[Entry],
        *,
        now: datetime | None = None,
        edit_window: timedelta = timedelta(hours=48),
    ) -> IngestReport:
        """Store a poll's entries; queue pushes for new ones and edits for corrected ones.

        The first poll of a source only stores (SPEC §6): subscribers get what appears
        after they subscribed, not the backlog.
        """
        now = now or utcnow()
        async with self._db.session() as session:
            source = await session.get(Source, source_id, with_for_update=True)
            if source is None:
                raise LookupError(f"unknown source {source_id!r}")
            first_poll = not source.initialized
            keys = [entry.key for entry in entries]
            existing = {
                row.key: row
                for row in (
                    await session.scalars(
                        select(EntryRow).where(
                            EntryRow.source_id == source_id, EntryRow.key.in_(keys)
                        )
                    )
                ).all()
            }
            newest_known = await session.scalar(
                select(func.max(EntryRow.published_at)).where(EntryRow.source_id == source_id)
            )
            new_ids: list[int] = []
            updated_ids: list[int] = []
            unchanged = 0
            queued = 0
            edits = 0
            seen: set[str] = set()
            # Oldest first, so that entry ids (and thus delivery order ties) follow publication.
            for entry in sorted(entries, key=lambda e: e.published_at):
                if entry.key in seen:
                    continue
                seen.add(entry.key)
                row = existing.get(entry.key)
                if row is None:
                    entry_id = await self._insert(session, source_id, entry, now)
                    new_ids.append(entry_id)
                    is_backfill = newest_known is not None and (
                        entry.published_at < newest_known - BACKFILL_TOLERANCE
                    )
                    if not first_poll and not is_backfill:
                        queue_fanout(session, source_id, entry_id, now)
                        queued += 1
                elif row.content_hash != entry.content_hash:
                    await self._update(session, row, entry, now)
                    updated_ids.append(row.id)
                    edits += await self._queue_edits(session, row.id, now, edit_window)
                else:
                    unchanged += 1
            await self._remember_speakers(session, entries)
            source.initialized = True
            return IngestReport(
                new=tuple(new_ids),
                updated=tuple(updated_ids),
                unchanged=unchanged,
                pushes_queued=queued,
                edits_queued=edits,
                first_poll=first_poll,
            )

    async def _insert(
        self, session: AsyncSession, source_id: str, entry: Entry, now: datetime
    ) -> int:
        row = EntryRow(
            source_id=source_id,
            key=entry.key,
            published_at=entry.published_at,
            headline=entry.headline,
            body=entry.body,
            url=entry.url,
            content_hash=entry.content_hash,
            regions=list(entry.regions),
            speakers=list(entry.speakers),
            speaker_keys=list(entry.speaker_keys),
            first_seen_at=now,
            last_changed_at=now,
        )
        session.add(row)
        await session.flush()
        tags = _tags(row.id, entry)
        if tags:
            await session.execute(insert(EntryTag), tags)
        return row.id

    async def _update(
        self, session: AsyncSession, row: EntryRow, entry: Entry, now: datetime
    ) -> None:
        row.published_at = entry.published_at
        row.headline = entry.headline
        row.body = entry.body
        row.url = entry.url
        row.content_hash = entry.content_hash
        row.regions = list(entry.regions)
        row.speakers = list(entry.speakers)
        row.speaker_keys = list(entry.speaker_keys)
        row.last_changed_at = now
        await session.execute(delete(EntryTag).where(EntryTag.entry_id == row.id))
        tags = _tags(row.id, entry)
        if tags:
            await session.execute(insert(EntryTag), tags)

    async def _queue_edits(
        self, session: AsyncSession, entry_id: int, now: datetime, window: timedelta
    ) -> int:
        message_ids = (
            await session.scalars(
                select(SentMessage.id)
                .join(Delivery, Delivery.sent_message_id == SentMessage.id)
                .where(
                    Delivery.entry_id == entry_id,
                    Delivery.status == "sent",
                    SentMessage.editable == true(),
                    SentMessage.sent_at >= now - window,
                )
                .distinct()
            )
        ).all()
        if not message_ids:
            return 0
        already = set(
            (
                await session.scalars(
                    select(MessageEdit.sent_message_id).where(
                        MessageEdit.sent_message_id.in_(message_ids),
                        MessageEdit.status == "pending",
                    )
                )
            ).all()
        )
        rows = [
            {"sent_message_id": mid, "status": "pending", "not_before": now, "created_at": now}
            for mid in message_ids
            if mid not in already
        ]
        if rows:
            await session.execute(insert(MessageEdit), rows)
        return len(rows)

    async def _remember_speakers(self, session: AsyncSession, entries: Sequence[Entry]) -> None:
        fullest: dict[str, str] = {}
        for entry in entries:
            for name, key in zip(entry.speakers, entry.speaker_keys, strict=False):
                if len(name) > len(fullest.get(key, "")):
                    fullest[key] = name
        if not fullest:
            return
        known = {
            row.key: row
            for row in (
                await session.scalars(select(SpeakerName).where(SpeakerName.key.in_(fullest)))
            ).all()
        }
        for key, name in fullest.items():
            row = known.get(key)
            if row is None:
                session.add(SpeakerName(key=key, display=name))
            elif len(name) > len(row.display):
                row.display = name

    # ---- reads -------------------------------------------------------------------------

    async def latest(
        self,
        source_ids: Sequence[str],
        limit: int,
        filters: ChatFilters | None = None,
        *,
        scan_limit: int = 500,
    ) -> list[StoredEntry]:
        """The newest entries of these sources that pass ``filters``, newest first."""
        if not source_ids:
            return []
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(EntryRow)
                    .where(EntryRow.source_id.in_(source_ids))
                    .order_by(EntryRow.published_at.desc(), EntryRow.id.desc())
                    .limit(scan_limit if filters and not filters.empty else limit)
                )
            ).all()
        from ticker.filters import entry_passes

        result: list[StoredEntry] = []
        for row in rows:
            if filters is None or filters.empty or entry_passes(_as_entry(row), filters):
                result.append(to_stored(row))
            if len(result) >= limit:
                break
        return result

    async def between(
        self, source_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[StoredEntry]:
        """Entries published in [start, end), newest first (today's summary)."""
        if not source_ids:
            return []
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(EntryRow)
                    .where(
                        EntryRow.source_id.in_(source_ids),
                        EntryRow.published_at >= start,
                        EntryRow.published_at < end,
                    )
                    .order_by(EntryRow.published_at.desc(), EntryRow.id.desc())
                )
            ).all()
        return [to_stored(row) for row in rows]

    async def recent_tags(self, kind: str, since: datetime, limit: int = 20) -> list[str]:
        """Display names of the regions or speakers most present since ``since``."""
        async with self._db.session() as session:
            display: ColumnElement[str] = func.max(EntryTag.display)
            if kind == FilterKind.SPEAKER.value:
                display = func.coalesce(func.max(SpeakerName.display), func.max(EntryTag.display))
            query = (
                select(display, func.count())
                .select_from(EntryTag)
                .join(EntryRow, EntryRow.id == EntryTag.entry_id)
                .outerjoin(SpeakerName, SpeakerName.key == EntryTag.value)
                .where(EntryTag.kind == kind, EntryRow.published_at >= since)
                .group_by(EntryTag.value)
                .order_by(func.count().desc(), display)
                .limit(limit)
            )
            return [str(name) for name, _count in (await session.execute(query)).all()]

    async def tag_seen(self, kind: str, value: str) -> bool:
        async with self._db.session() as session:
            found = await session.scalar(
                select(EntryTag.entry_id)
                .where(EntryTag.kind == kind, EntryTag.value == value)
                .limit(1)
            )
            return found is not None

    async def speaker_display(self, key: str) -> str | None:
        async with self._db.session() as session:
            return await session.scalar(select(SpeakerName.display).where(SpeakerName.key == key))

    async def count(self) -> int:
        async with self._db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(EntryRow)) or 0)


def _as_entry(row: EntryRow) -> Entry:
    return Entry(
        key=row.key,
        published_at=row.published_at,
        headline=row.headline,
        body=row.body,
        url=row.url,
        regions=tuple(row.regions or ()),
        speakers=tuple(row.speakers or ()),
        speaker_keys=tuple(row.speaker_keys or ()),
    )
