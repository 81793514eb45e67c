"""Dates, clock times and the walk that gives every bare ``HH:MM`` its calendar day.

German tickers mostly show only a time; the day comes from a heading, the first entry, the
page meta or the caller. Times are local to the source, so everything is localised with
``zoneinfo`` (CET/CEST switch included), never with a fixed offset.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from ticker.parse.raw import DayMark, Item, RawEntry

MIDNIGHT_TOLERANCE = timedelta(minutes=45)
"""Entries are sometimes a few minutes out of order; only a bigger jump means a new day."""

MONTHS: dict[str, int] = {
    "januar": 1, "jan": 1, "january": 1, "jänner": 1, "februar": 2, "feb": 2, "february": 2,
    "märz": 3, "maerz": 3, "mär": 3, "mar": 3, "march": 3, "april": 4, "apr": 4,
    "mai": 5, "may": 5, "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12,
    "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAYS = (
    "Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag|Monday|Tuesday|Wednesday|"
    "Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun|Mo|Di|Mi|Do|Fr|Sa|So"
)
_WD = rf"(?:(?:{_WEEKDAYS})\.?,?\s+)?"


def _by_first_letter(words: Iterable[str]) -> str:
    """Regex alternation of ``words``, one branch per first letter (``m(?:ontag|ärz|…)|…``).

    Matches the same text as ``word|word|…`` under ``re.IGNORECASE``, but the regex engine
    tries branches one by one, so prose is rejected after about ten tests instead of sixty.
    """
    branches: dict[str, list[str]] = {}
    for word in words:
        branches.setdefault(word[0].casefold(), []).append(word[1:])
    alternatives = (f"{first}(?:{'|'.join(rest)})" for first, rest in branches.items())
    return f"(?:{'|'.join(alternatives)})"


WORD_DATE_START = _by_first_letter([*_WEEKDAYS.split("|"), *MONTHS])
"""Regex fragment for ``re.IGNORECASE``: where a date written with words starts (a weekday or
a month name)."""
_DATE_START = re.compile(rf"\d{{1,2}}(?:\.|st|nd|rd|th|\s)|{WORD_DATE_START}", re.I)
"""What every date pattern below needs at its start: one regex call rejects most lines.

A day number is followed by a dot (``21.01.``, ``18. Juli``), an English ordinal or a space
(``3rd May``, ``3 May``); otherwise a weekday (``Dienstag, …``) or month (``March 3``) opens.
"""
# 21.01.2026 / 18. 7. / 18.7.24 — the year must not be the start of a clock time (18. 7.11.04)
_NUM_DATE = re.compile(
    rf"{_WD}(\d{{1,2}})\.\s?(\d{{1,2}})\.(?:\s?(\d{{4}}|\d{{2}})(?![\d.:]))?", re.I
)
_DE_DATE = re.compile(rf"{_WD}(\d{{1,2}})\.\s*({_MONTH})\.?(?:\s+(\d{{4}}))?(?![\w])", re.I)
_EN_DMY = re.compile(
    rf"{_WD}(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?(?:,?\s+(\d{{4}}))?(?!\w)", re.I
)
_EN_MDY = re.compile(
    rf"{_WD}({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?(?!\w)", re.I
)

NAMED_ZONES: dict[str, str] = {
    "gmt": "UTC", "utc": "UTC", "bst": "Europe/London", "cet": "Europe/Berlin",
    "cest": "Europe/Berlin", "mez": "Europe/Berlin", "mesz": "Europe/Berlin",
    "et": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
}  # fmt: skip


def zone_for(token: str) -> ZoneInfo | None:
    """The zone a clock suffix names (``GMT``, ``CEST``); ``Uhr`` and ``h`` name none."""
    name = NAMED_ZONES.get(token.casefold())
    return ZoneInfo(name) if name else None


def match_date(text: str, pos: int = 0) -> tuple[int, int, int | None, int] | None:
    """(day, month, year or None, end) of a date starting exactly at ``pos``, else None."""
    if not _DATE_START.match(text, pos):
        return None  # most lines: clock times, prose
    for pattern in (_NUM_DATE, _DE_DATE, _EN_DMY):
        found = pattern.match(text, pos)
        if found:
            day, month = int(found[1]), _month(found[2])
            if 1 <= day <= 31 and 1 <= month <= 12:
                return day, month, _year(found[3]), found.end()
    found = _EN_MDY.match(text, pos)
    if found:
        day, month = int(found[2]), _month(found[1])
        if 1 <= day <= 31:
            return day, month, _year(found[3]), found.end()
    return None


def _month(token: str) -> int:
    return int(token) if token.isdigit() else MONTHS.get(token.casefold().rstrip("."), 0)


def _year(token: str | None) -> int | None:
    if not token:
        return None
    value = int(token)
    return value + 2000 if value < 100 else value


def complete_date(day: int, month: int, year: int | None, reference: date) -> date | None:
    """A real date; a missing year is the one that keeps the date from lying in the future.

    ``31. 12.`` read on 1 January belongs to the previous year.
    """
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(reference.year, month, day)
        if candidate > reference + timedelta(days=2):
            candidate = date(reference.year - 1, month, day)
        return candidate
    except ValueError:
        return None


def parse_machine_time(value: str, zone: ZoneInfo) -> datetime | None:
    """An aware datetime from ISO 8601, RFC 2822 or epoch seconds/milliseconds, else None.

    Offsets are kept as written; a value without one is local to ``zone``.
    """
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        seconds = number / 1000 if number > 10**11 else number
        try:
            return datetime.fromtimestamp(seconds, UTC).astimezone(zone)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if parsed.tzinfo is None:  # "-0000" means "UTC, offset unknown" in RFC 2822
            return parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone)
    return parsed


def _minutes(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _newest_first(entries: Sequence[RawEntry]) -> bool:
    """True unless clock times mostly rise down the page (an oldest-first ticker).

    Jumps of half a day or more are midnight crossings, not evidence of direction.
    """
    rising = falling = 0
    clocks = [_minutes(e.clock) for e in entries if e.clock is not None]
    for before, after in itertools.pairwise(clocks):
        if 0 < after - before < 720:
            rising += 1
        elif 0 < before - after < 720:
            falling += 1
    return rising <= falling


def _heading_days(items: Sequence[Item]) -> dict[int, date]:
    """Day per entry index from headings, deciding whether headings open or close a day."""
    heads = [i for i, item in enumerate(items) if isinstance(item, DayMark) and item.clock is None]
    entries = [i for i, item in enumerate(items) if isinstance(item, RawEntry)]
    if not heads or not entries:
        return {}
    closing = entries[0] < heads[0] and heads[-1] > entries[-1]
    result: dict[int, date] = {}
    current: date | None = None
    indices = range(len(items) - 1, -1, -1) if closing else range(len(items))
    for index in indices:
        item = items[index]
        if isinstance(item, DayMark):
            if item.clock is None:
                current = item.day
        elif current is not None:
            result[index] = current
    return result


def _step(day: date, clock: time, previous: time, newest_first: bool) -> date:
    """The day of ``clock`` given the entry before it on the page was ``previous`` on ``day``."""
    delta = timedelta(minutes=_minutes(clock) - _minutes(previous))
    if newest_first and delta > MIDNIGHT_TOLERANCE:
        return day - timedelta(days=1)
    if not newest_first and -delta > MIDNIGHT_TOLERANCE:
        return day + timedelta(days=1)
    return day


def resolve(
    items: Sequence[Item], zone: ZoneInfo, fallback_day: date
) -> list[tuple[RawEntry, datetime]]:
    """Give every entry an aware time, walking the page in order.

    Headings fix the day of their group. Elsewhere a clock later than the previous entry's
    (newest first) by more than the tolerance means the list crossed midnight. Entries before
    the first dated item are dated backwards from it; with no dated item at all the walk
    starts from ``fallback_day`` (caller's date, page meta, or today).
    """
    entries = [item for item in items if isinstance(item, RawEntry)]
    newest_first = _newest_first(entries)
    group_days = _heading_days(items)
    days: dict[int, date] = {}
    anchors: dict[int, tuple[date, time]] = {}
    pending: list[int] = []
    current: date | None = None
    previous: time | None = None
    for index, item in enumerate(items):
        if isinstance(item, DayMark):
            if item.clock is not None:
                current, previous = item.day, item.clock
                anchors[index] = (current, previous)
            continue
        if item.when is not None:
            local = item.when.astimezone(zone)
            current, previous = local.date(), local.time()
            anchors[index] = (current, previous)
            continue
        if item.clock is None:
            continue
        anchored = group_days.get(index) or item.day
        if anchored is not None:
            current = anchored
        elif current is None:
            pending.append(index)
            previous = item.clock
            continue
        elif previous is not None:
            current = _step(current, item.clock, previous, newest_first)
        days[index] = current
        previous = item.clock
        anchors[index] = (current, previous)
    if pending:
        _date_backwards(items, pending, days, anchors, newest_first, fallback_day)
    resolved: list[tuple[RawEntry, datetime]] = []
    for index, item in enumerate(items):
        if not isinstance(item, RawEntry):
            continue
        if item.when is not None:
            resolved.append((item, item.when))
        elif item.clock is not None and index in days:
            tz = item.zone or zone
            resolved.append((item, datetime.combine(days[index], item.clock, tzinfo=tz)))
    return resolved


def _date_backwards(
    items: Sequence[Item],
    pending: list[int],
    days: dict[int, date],
    anchors: dict[int, tuple[date, time]],
    newest_first: bool,
    fallback_day: date,
) -> None:
    """Date the leading undated entries from the first dated one after them, or the fallback."""
    later = [i for i in anchors if i > pending[-1]]
    if not later:
        day, previous = fallback_day, None
        for index in pending:
            clock = _clock(items[index])
            if previous is not None:
                day = _step(day, clock, previous, newest_first)
            days[index] = day
            previous = clock
        return
    anchor = min(later)
    day, following = anchors[anchor]
    for index in reversed(pending):
        clock = _clock(items[index])
        # walking up the page: reverse the direction of the step
        day = _step(day, clock, following, not newest_first)
        days[index] = day
        following = clock


def _clock(item: Item) -> time:
    assert isinstance(item, RawEntry) and item.clock is not None
    return item.clock


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()
