"""Sources: configured tickers and their fetch state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storage.database import Database
from storage.models import EntryRow, Source, utcnow
from storage.records import SourceState


@dataclass(frozen=True, slots=True)
class SourceConfig:
    id: str
    name: str
    url: str


def _state(row: Source, entry_count: int = 0) -> SourceState:
    return SourceState(
        id=row.id,
        name=row.name,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        initialized=row.initialized,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_status=row.last_status,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        failing_since=row.failing_since,
        failure_alerted=row.failure_alerted,
        entry_count=entry_count,
    )


class SourceRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def sync(self, sources: Sequence[SourceConfig]) -> None:
        """Make the table mirror the config; a changed URL forgets the HTTP validators."""
        async with self._db.session() as session:
            for config in sources:
                row = await session.get(Source, config.id)
                if row is None:
                    session.add(Source(id=config.id, name=config.name, url=config.url))
                    continue
                if row.url != config.url:
                    row.etag = None
                    row.last_modified = None
                row.name = config.name
                row.url = config.url

    async def get(self, source_id: str) -> SourceState | None:
        async with self._db.session() as session:
            row = await session.get(Source, source_id)
            return None if row is None else _state(row)

    async def all(self) -> list[SourceState]:
        async with self._db.session() as session:
            counts = dict(
                (
                    await session.execute(
                        select(EntryRow.source_id, func.count()).group_by(EntryRow.source_id)
                    )
                ).all()
            )
            rows = (await session.scalars(select(Source).order_by(Source.id))).all()
            return [_state(row, int(counts.get(row.id, 0))) for row in rows]

    async def record_success(
        self,
        source_id: str,
        *,
        status: str,
        etag: str | None,
        last_modified: str | None,
        now: datetime | None = None,
    ) -> SourceState:
        """A good poll (200 or 304): clear the failure streak, keep the validators."""
        now = now or utcnow()
        async with self._db.session() as session:
            row = await session.get(Source, source_id)
            if row is None:
                raise LookupError(f"unknown source {source_id!r}")
            previous = _state(row)
            row.last_polled_at = now
            row.last_success_at = now
            row.last_status = status
            row.last_error = None
            row.consecutive_failures = 0
            row.failing_since = None
            # failure_alerted stays set until the alert job has told operators of the
            # recovery (clear_alerted): a takeover in between must not lose that message.
            if etag is not None or last_modified is not None:
                row.etag = etag
                row.last_modified = last_modified
            return previous

    async def record_failure(
        self, source_id: str, *, status: str, error: str, now: datetime | None = None
    ) -> SourceState:
        now = now or utcnow()
        async with self._db.session() as session:
            row = await session.get(Source, source_id)
            if row is None:
                raise LookupError(f"unknown source {source_id!r}")
            row.last_polled_at = now
            row.last_status = status
            row.last_error = error[:1000]
            row.consecutive_failures += 1
            row.failing_since = row.failing_since or now
            return _state(row)

    async def mark_alerted(self, source_id: str) -> None:
        await self._set_alerted(source_id, True)

    async def clear_alerted(self, source_id: str) -> None:
        await self._set_alerted(source_id, False)

    async def _set_alerted(self, source_id: str, alerted: bool) -> None:
        async with self._db.session() as session:
            row = await session.get(Source, source_id)
            if row is not None:
                row.failure_alerted = alerted
