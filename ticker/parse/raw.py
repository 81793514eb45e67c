"""Intermediate values between a layer and the finished :class:`~ticker.model.Entry`.

Layers differ in what they know: a feed item has an absolute time, a line-based ticker only a
clock time that needs a day from a heading somewhere else on the page. Collecting that as a
``RawEntry`` lets one resolver (``dates.resolve``) and one finisher (``build.finish``) serve all
layers, so day arithmetic and boilerplate rules are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


@dataclass(slots=True)
class RawEntry:
    """An entry as found on the page, before its time is resolved and its text cleaned."""

    headline: str = ""
    body: list[str] = field(default_factory=list)
    when: datetime | None = None
    """Absolute, timezone-aware time when the page states one (JSON-LD, feeds, attributes)."""
    clock: time | None = None
    """Local time of day when only that is shown (``18:13 Uhr``)."""
    day: date | None = None
    """Day given on the entry itself (``21.01.2026 18:13 Uhr``)."""
    zone: ZoneInfo | None = None
    """Zone named next to the clock (``11:48 GMT``); ``None`` means the source's zone."""
    entry_id: str | None = None
    url: str | None = None
    derive_headline: bool = False
    """True when the headline is not separate and must be cut from the body text."""


@dataclass(frozen=True, slots=True)
class DayMark:
    """A day heading (``Dienstag, 27. August 2024``) or a date stamp with a clock time."""

    day: date
    clock: time | None = None


Item = RawEntry | DayMark
