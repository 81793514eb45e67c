"""Today's summary for a set of sources: the one service behind /today, the daily digest and
`tickerbot today`, so the three always agree.

It reads entries through storage and hands them to the pure ``ticker.summary`` core; the
optional NAME is resolved as a region first (gazetteer), else as a speaker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Settings
from storage import Storage
from storage.records import StoredEntry
from ticker.summary import Summary, build_summary, day_bounds
from ticker.text import fold

if TYPE_CHECKING:
    from ticker.extract import Extractor

log = logging.getLogger("tickerbot.summaries")


@dataclass(frozen=True, slots=True)
class Focus:
    """A /today NAME resolved to what entries carry."""

    label: str
    region: str | None = None  # folded canonical region
    speaker_key: str | None = None

    def keeps(self, entry: StoredEntry) -> bool:
        if self.region is not None:
            return any(fold(region) == self.region for region in entry.regions)
        return self.speaker_key is not None and self.speaker_key in entry.speaker_keys


async def resolve_focus(storage: Storage, extractor: Extractor, name: str) -> Focus:
    region = extractor.resolve_region(name)
    if region is not None:
        return Focus(label=region, region=fold(region))
    key = extractor.speaker_key(name)
    label = await storage.entries.speaker_display(key) or name.strip()
    return Focus(label=label, speaker_key=key)


def local_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(zone)).astimezone(zone).date()


async def todays_summaries(
    storage: Storage,
    settings: Settings,
    source_ids: Sequence[str],
    *,
    focus: Focus | None = None,
    day: date | None = None,
    now: datetime | None = None,
) -> list[Summary]:
    """One summary per source (in config order), each for that source's calendar day."""
    summaries = []
    for source in settings.sources:
        if source.id not in source_ids:
            continue
        zone = ZoneInfo(source.timezone)
        source_day = day or local_today(zone, now)
        start, end = day_bounds(source_day, zone)
        entries = await storage.entries.between([source.id], start, end)
        if focus is not None:
            entries = [entry for entry in entries if focus.keeps(entry)]
        summaries.append(
            build_summary(
                entries,
                source_name=source.display_name,
                day=source_day,
                zone=zone,
                focus=focus.label if focus else None,
            )
        )
    return summaries


class DigestJob:
    """Every minute on the active replica: queue the digests that are due (one job for all
    chats, not one per chat), then wake the sender."""

    def __init__(
        self, storage: Storage, settings: Settings, wake_sender: Callable[[], None]
    ) -> None:
        self._storage = storage
        self._zone = settings.default_zone
        self._wake = wake_sender

    async def tick(self) -> None:
        """The scheduler's entry point (a coroutine method, so APScheduler awaits it)."""
        await self.run_once()

    async def run_once(self, now: datetime | None = None) -> int:
        local = (now or datetime.now(self._zone)).astimezone(self._zone)
        queued = await self._storage.digests.queue_due(local.date(), local.hour * 60 + local.minute)
        if queued:
            log.info("digests queued", extra={"n": queued})
            self._wake()
        return queued
