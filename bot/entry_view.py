"""A stored entry as the renderer sees it: one mapping for pushes, /latest, /today and inline
articles, so every place shows an entry the same way."""

from __future__ import annotations

from bot.config import Settings
from bot.render import RenderedEntry
from storage.records import StoredEntry


def to_rendered(entry: StoredEntry, settings: Settings) -> RenderedEntry:
    source = settings.source(entry.source_id)
    return RenderedEntry(
        published_at=entry.published_at,
        headline=entry.headline,
        body=entry.body,
        url=entry.url,
        regions=entry.regions,
        speakers=entry.speakers,
        source_name=source.display_name if source is not None else entry.source_id,
        source_url=source.url if source is not None else None,
    )
