"""Today's summary (``/today``, the daily digest, ``tickerbot today``), pure: data, then text.

``build_summary`` turns one local day's entries into a ``Summary`` (what an editor would put
on top: how many entries, which regions and speakers were most present, and the entries as
``HH:MM headline`` lines, newest first). The renderers lay that out:

* ``render_summary_html`` for Telegram: at most ``MAX_MESSAGES`` messages, each within
  Telegram's 4096 characters (checked on the markup *and* on the parsed text's UTF-16
  length, like ``bot.render``) and with few formatting entities (Telegram silently drops
  entities past ~100, which would turn later links into plain text). Each line costs one
  entity (its link), the title one. If the day does not fit, the *oldest* lines are folded
  into "… and N more": the newest news is what a reader catching up wants.
* ``render_summary_text`` for the terminal: every line, with its URL.

Only ``<b>`` and ``<a href>`` are emitted; every text is escaped. The few words live in
``_TEXTS`` for now (to move into the message catalog).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ticker.text import collapse_whitespace, fold

__all__ = [
    "MAX_ENTITIES",
    "MAX_MESSAGES",
    "Summary",
    "SummaryLine",
    "TagCount",
    "build_summary",
    "day_bounds",
    "render_summary_html",
    "render_summary_text",
]

TELEGRAM_TEXT_LIMIT = 4096
MAX_MESSAGES = 3
MAX_ENTITIES = 90
"""Per message; Telegram ignores formatting entities beyond about 100."""
MAX_HEADLINE = 300
"""A digest line is an index, not the entry: pathological headlines are cut here."""
MAX_TITLE = 200

_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "entries_one": "1 Eintrag",
        "entries_many": "{n} Einträge",
        "about": "zu {focus}",
        "most_present": "Am häufigsten",
        "none": "Noch keine Einträge.",
        "more": "… und {n} weitere",
        "date": "{weekday}, {day}. {month} {year}",
    },
    "en": {
        "entries_one": "1 entry",
        "entries_many": "{n} entries",
        "about": "about {focus}",
        "most_present": "Most present",
        "none": "No entries yet.",
        "more": "… and {n} more",
        "date": "{weekday}, {day} {month} {year}",
    },
}
_WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


class SummaryEntry(Protocol):
    """What the summary needs of an entry (``storage.records.StoredEntry`` fits)."""

    @property
    def published_at(self) -> datetime: ...
    @property
    def headline(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def regions(self) -> Sequence[str]: ...
    @property
    def speakers(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class TagCount:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class SummaryLine:
    time: str  # HH:MM in the source's zone
    headline: str
    url: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class Summary:
    """One source's day. ``count == 0``: nothing yet (the caller offers the latest)."""

    source_name: str
    day: date
    count: int
    regions: tuple[TagCount, ...]
    speakers: tuple[TagCount, ...]
    lines: tuple[SummaryLine, ...]  # newest first
    focus: str | None = None  # the region or speaker the caller filtered by


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day in UTC (23 or 25 hours on DST change days)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _top(names_per_entry: Iterable[Sequence[str]], limit: int) -> tuple[TagCount, ...]:
    """Most present names, each counted once per entry; spelling variants that fold alike
    are one name, shown in their most frequent spelling (ties: the first seen, i.e. the
    newest when entries come newest first). Ties between names: alphabetical."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for names in names_per_entry:
        seen: set[str] = set()
        for name in names:
            shown = collapse_whitespace(name)
            key = fold(shown)
            if not key or key in seen:
                continue
            seen.add(key)
            counts[key] += 1
            spellings.setdefault(key, Counter())[shown] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: max(0, limit)]
    return tuple(TagCount(spellings[key].most_common(1)[0][0], count) for key, count in ranked)


def build_summary(
    entries: Iterable[SummaryEntry],
    *,
    source_name: str,
    day: date,
    zone: ZoneInfo,
    focus: str | None = None,
    top_regions: int = 5,
    top_speakers: int = 3,
) -> Summary:
    """Summarise ``entries`` published on ``day`` in ``zone`` (others are ignored).

    The caller has already applied a NAME filter (``focus`` only labels the summary).
    """
    start, end = day_bounds(day, zone)
    todays = sorted(
        (e for e in entries if start <= e.published_at < end),
        key=lambda e: e.published_at,
        reverse=True,
    )
    lines = tuple(
        SummaryLine(
            time=e.published_at.astimezone(zone).strftime("%H:%M"),
            headline=collapse_whitespace(e.headline),
            url=e.url,
            published_at=e.published_at,
        )
        for e in todays
    )
    return Summary(
        source_name=collapse_whitespace(source_name),
        day=day,
        count=len(todays),
        regions=_top((e.regions for e in todays), top_regions),
        speakers=_top((e.speakers for e in todays), top_speakers),
        lines=lines,
        focus=collapse_whitespace(focus) if focus else None,
    )


# ---- rendering -----------------------------------------------------------------------------


def _texts(lang: str) -> dict[str, str]:
    return _TEXTS.get(lang, _TEXTS["de"])


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _date_text(day: date, lang: str) -> str:
    key = lang if lang in _WEEKDAYS else "de"
    return _texts(lang)["date"].format(
        weekday=_WEEKDAYS[key][day.weekday()],
        day=day.day,
        month=_MONTHS[key][day.month - 1],
        year=day.year,
    )


def _title(summary: Summary, lang: str) -> str:
    title = f"{_cut(summary.source_name, MAX_TITLE)} – {_date_text(summary.day, lang)}"
    return title if summary.source_name else _date_text(summary.day, lang)


def _overview(summary: Summary, lang: str) -> str:
    """ "23 Einträge zu Belgorod · Am häufigsten: 📍 Belgorod (4), Charkiw (3) · 🗣 Gladkow (2)"."""
    texts = _texts(lang)
    if summary.count == 0:
        return texts["none"]
    count = (
        texts["entries_one"]
        if summary.count == 1
        else texts["entries_many"].format(n=summary.count)
    )
    if summary.focus:
        count += " " + texts["about"].format(focus=_cut(summary.focus, MAX_TITLE))
    tags = []
    if summary.regions:
        tags.append("📍 " + ", ".join(f"{_cut(t.name, 60)} ({t.count})" for t in summary.regions))
    if summary.speakers:
        tags.append("🗣 " + ", ".join(f"{_cut(t.name, 60)} ({t.count})" for t in summary.speakers))
    if not tags:
        return count
    return f"{count} · {texts['most_present']}: " + " · ".join(tags)


def _safe_href(url: str | None) -> str | None:
    """Only http(s) URLs without spaces or control characters become links."""
    if not url:
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or len(html.escape(url)) > 2000:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    return url


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class _Piece:
    """A block of a message as markup and as the text Telegram shows, with its entities."""

    html: str
    text: str
    entities: int


def _line_piece(line: SummaryLine) -> _Piece:
    headline = _cut(line.headline, MAX_HEADLINE) or "…"
    href = _safe_href(line.url)
    if href is None:
        return _Piece(f"{line.time} {_esc(headline)}", f"{line.time} {headline}", 0)
    markup = f'{line.time} <a href="{html.escape(href, quote=True)}">{_esc(headline)}</a>'
    return _Piece(markup, f"{line.time} {headline}", 1)


class _Message:
    def __init__(self, first: _Piece | None = None) -> None:
        self.pieces: list[_Piece] = [first] if first else []

    def cost(self, extra: _Piece | None = None) -> tuple[int, int, int]:
        pieces = self.pieces + ([extra] if extra else [])
        sep = max(0, len(pieces) - 1)  # one "\n" between pieces
        return (
            sum(len(p.html) for p in pieces) + sep,
            sum(_utf16_len(p.text) for p in pieces) + sep,
            sum(p.entities for p in pieces),
        )

    def fits(self, extra: _Piece | None = None) -> bool:
        markup, shown, entities = self.cost(extra)
        return (
            markup <= TELEGRAM_TEXT_LIMIT
            and shown <= TELEGRAM_TEXT_LIMIT
            and entities <= MAX_ENTITIES
        )

    def html(self) -> str:
        return "\n".join(p.html for p in self.pieces)


def render_summary_html(summary: Summary, lang: str = "de") -> list[str]:
    """Telegram HTML messages (1 to ``MAX_MESSAGES``), newest lines first.

    Lines that do not fit are the oldest; they are replaced by one "… and N more" line.
    """
    title = _title(summary, lang)
    overview = _overview(summary, lang)
    head = _Piece(
        f"<b>{_esc(title)}</b>\n{_esc(overview)}\n",  # blank line before the entries
        f"{title}\n{overview}\n",
        1,
    )
    if summary.count == 0:
        head = _Piece(f"<b>{_esc(title)}</b>\n{_esc(overview)}", f"{title}\n{overview}", 1)
    messages = [_Message(head)]
    pieces = [_line_piece(line) for line in summary.lines]
    for index, piece in enumerate(pieces):
        current = messages[-1]
        if current.fits(piece):
            current.pieces.append(piece)
            continue
        if len(messages) < MAX_MESSAGES and current.pieces:
            messages.append(_Message(piece))
            continue
        # The last message is full: fold this and all older lines into "… and N more",
        # giving back lines until that notice fits too.
        left = len(pieces) - index
        while True:
            more = _texts(lang)["more"].format(n=left)
            notice = _Piece(_esc(more), more, 0)
            if current.fits(notice) or len(current.pieces) <= 1:
                current.pieces.append(notice)
                break
            current.pieces.pop()
            left += 1
        break
    return [message.html() for message in messages if message.pieces]


def render_summary_text(summary: Summary, lang: str = "de") -> str:
    """Plain text for the terminal (``tickerbot today``): every line, URLs below."""
    out = [_title(summary, lang), _overview(summary, lang)]
    if summary.lines:
        out.append("")
    for line in summary.lines:
        out.append(f"{line.time}  {line.headline}")
        if line.url:
            out.append(f"       {line.url}")
    return "\n".join(out)
