"""Domain types shared by fetching, parsing, extraction, storage and delivery.

They are plain frozen dataclasses so that every layer can pass them around without
knowing about Telegram, HTTP or SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

PageFormat = Literal["auto", "html", "jsonld", "rss", "text"]
PAGE_FORMATS: tuple[PageFormat, ...] = ("auto", "html", "jsonld", "rss", "text")


def content_hash(published_at: datetime, headline: str, body: str) -> str:
    """Hash of what a reader sees; a change means the publisher corrected the entry.

    sha256 rather than ``hash()``: the built-in is salted per process and would make every
    entry look changed after a restart.
    """
    digest = hashlib.sha256()
    for part in (published_at.isoformat(), headline, body):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Entry:
    """One ticker entry as parsed from a page.

    ``published_at`` is always timezone-aware. ``regions`` and ``speakers`` hold canonical
    display names filled in by ``ticker.extract``; parsers leave them empty.
    """

    key: str
    published_at: datetime
    headline: str
    body: str
    url: str | None
    regions: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    speaker_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None or self.published_at.utcoffset() is None:
            raise ValueError("Entry.published_at must be timezone-aware")

    @property
    def content_hash(self) -> str:
        return content_hash(self.published_at, self.headline, self.body)

    def with_annotations(
        self, regions: tuple[str, ...], speakers: tuple[str, ...], speaker_keys: tuple[str, ...]
    ) -> Entry:
        return replace(self, regions=regions, speakers=speakers, speaker_keys=speaker_keys)


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Everything a parser needs to know about a source beyond the page bytes."""

    source_id: str = "fetch"
    format: PageFormat = "auto"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))
    page_date: date | None = None
    page_url: str | None = None
    end_markers: tuple[str, ...] = ()
    selectors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Entries newest first, the layer that produced them, and problems worth reporting."""

    entries: tuple[Entry, ...]
    layer: str
    warnings: tuple[str, ...] = ()


class FetchStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    NETWORK_ERROR = "network_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    UNPARSEABLE = "unparseable"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Outcome of one HTTP fetch as a value: callers branch on ``status``, never on exceptions."""

    status: FetchStatus
    url: str
    text: str | None = None
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    error: str | None = None
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return self.status is FetchStatus.OK
