"""One poll of one source: fetch → parse → extract → store (and queue pushes), as values.

Every failure becomes a recorded source state; nothing a page does can raise out of here
and stop the scheduler or the other sources.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings, SourceSettings
from bot.metrics import Metrics
from bot.services import PollSummary
from storage import Storage
from ticker.extract import Extractor
from ticker.fetch import Fetcher
from ticker.model import Entry, FetchStatus, ParseOptions
from ticker.parse import parse_page_async

log = logging.getLogger("tickerbot.poller")


def parse_options(source: SourceSettings, page_url: str | None = None) -> ParseOptions:
    return ParseOptions(
        source_id=source.id,
        format=source.format,
        timezone=ZoneInfo(source.timezone),
        page_date=source.date,
        page_url=page_url or source.url,
        end_markers=tuple(source.end_markers),
        selectors=source.selector_map,
    )


class Poller:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        fetcher: Fetcher,
        extractor: Extractor,
        *,
        on_queued: Callable[[], None],
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._storage = storage
        self._fetcher = fetcher
        self._extractor = extractor
        self._on_queued = on_queued
        self._metrics = metrics or Metrics()
        self._locks: dict[str, asyncio.Lock] = {}

    async def poll(self, source: SourceSettings) -> PollSummary:
        """Poll unless a poll of this source is already running (then report "busy")."""
        lock = self._locks.setdefault(source.id, asyncio.Lock())
        if lock.locked():
            return PollSummary(source.id, "busy")
        async with lock:
            started = time.perf_counter()
            summary = await self._poll(source)
            elapsed = time.perf_counter() - started
        self._metrics.polls.labels(source.id, summary.status).inc()
        self._metrics.poll_seconds.labels(source.id).observe(elapsed)
        log.info(
            "poll",
            extra={
                "source": source.id,
                "status": summary.status,
                "new": summary.new,
                "updated": summary.updated,
                "pushed": summary.pushed,
                "ms": round(elapsed * 1000),
                **({"error": summary.error} if summary.error else {}),
            },
        )
        return summary

    async def _poll(self, source: SourceSettings) -> PollSummary:
        try:
            state = await self._storage.sources.get(source.id)
            result = await self._fetcher.fetch(
                source.url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
            )
            if result.status is FetchStatus.NOT_MODIFIED:
                await self._storage.sources.record_success(
                    source.id, status="not_modified", etag=None, last_modified=None
                )
                return PollSummary(source.id, "not_modified")
            if not result.ok or result.text is None:
                return await self._failed(
                    source, result.status.value, result.error or result.status.value
                )
            parsed = await parse_page_async(
                result.text, parse_options(source, result.url), result.content_type
            )
            if not parsed.entries:
                reason = "; ".join(parsed.warnings) or "no ticker entries found on the page"
                return await self._failed(source, "no_entries", reason)
            annotated = await asyncio.to_thread(self._annotate, parsed.entries)
            report = await self._storage.entries.ingest(
                source.id,
                annotated,
                edit_window=timedelta(hours=self._settings.delivery.edit_window_hours),
            )
            await self._storage.sources.record_success(
                source.id, status="ok", etag=result.etag, last_modified=result.last_modified
            )
        except SQLAlchemyError as exc:
            log.error("database error while polling", extra={"source": source.id, "error": exc})
            return PollSummary(source.id, "database_error", error=type(exc).__name__)
        except Exception as exc:
            # The job boundary: a bug in parsing or extraction on one page must not kill
            # this source's schedule, and the operator must see it in /stats and the log.
            log.exception("poll crashed", extra={"source": source.id})
            return await self._failed(source, "internal_error", f"{type(exc).__name__}: {exc}")
        self._metrics.entries.labels(source.id, "new").inc(len(report.new))
        self._metrics.entries.labels(source.id, "updated").inc(len(report.updated))
        self._metrics.source_failures.labels(source.id).set(0)
        if report.pushes_queued or report.edits_queued:
            self._on_queued()
        return PollSummary(
            source.id,
            "first_poll" if report.first_poll else "ok",
            new=len(report.new),
            updated=len(report.updated),
            pushed=report.pushes_queued,
        )

    def _annotate(self, entries: tuple[Entry, ...]) -> list[Entry]:
        return [self._extractor.annotate(entry) for entry in entries]

    async def _failed(self, source: SourceSettings, status: str, error: str) -> PollSummary:
        state = await self._storage.sources.record_failure(source.id, status=status, error=error)
        self._metrics.source_failures.labels(source.id).set(state.consecutive_failures)
        return PollSummary(source.id, status, error=error)
