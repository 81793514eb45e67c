"""Generic time-header parser: block lines → day headings and entries.

Works on any ticker that prints a clock time per entry, in the shapes seen on German and
English pages (``18:13 Uhr`` alone, ``11.04 Uhr: Headline``, ``23:39 Uhr | Headline``,
``+++ 23:27 Headline +++``, ``23.59 Uhr, Headline: body``, ``Update vom 22. März, 14.30 Uhr:``,
``11:48 GMT``). Lines are matched with anchored regexes only, so a 1 MB page stays cheap, and
most lines are settled by one cheap check (``_PROSE`` for body text, ``_LEAD`` for lines that
cannot open a header) before the specific patterns run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from ticker.parse import cleanup
from ticker.parse.blocks import ID_MARK
from ticker.parse.dates import WORD_DATE_START, complete_date, match_date, zone_for
from ticker.parse.raw import DayMark, Item, RawEntry

_UHR = re.compile(r"Uhr\b")
_TRIPLE_PLUS = re.compile(r"\+\+\+")
_CLOCK_BEFORE = re.compile(r"\d{1,2}[:.]\d{2}\s?$")
_CLOCK_AFTER_PLUS = re.compile(r"\+\+\+\s*\d{1,2}[:.]\d{2}(?!\d)")
_SENTENCE_MARKS = frozenset(".!?…")
_CLOSING_QUOTES = frozenset('"“”»«’)')
_GLUE_MARKS = (".", *sorted((_SENTENCE_MARKS | _CLOSING_QUOTES) - {"."}))
"""Without one of these (or ``+++``) no header in a text can be glued, see ``_glued_at``; the
full stop, in nearly every longer text, comes first to end the search early."""


def _glued_at(text: str, start: int) -> bool:
    """Was the header at ``start`` glued to the previous sentence when a page lost its breaks?

    Only after sentence punctuation or a closing quote, never after a digit and dot (a date:
    ``18. 7.11.04 Uhr``) and never after a space (prose: ``um 12.30 Uhr trat er``). ``+++``
    always opens an entry.
    """
    if start == 0:
        return False
    if text[start] == "+":
        return text[start - 1] != "\n"
    before = text[start - 1]
    if before in _CLOSING_QUOTES:
        return True
    if before in _SENTENCE_MARKS and start >= 2:
        previous = text[start - 2]
        return not previous.isdigit() and not previous.isspace()
    return False


_REL = (
    r"(?:\d{1,3}\s*(?:mins?|minutes?|hrs?|hours?|secs?|seconds?|h|m)\s+ago"
    r"|vor\s+\d{1,3}\s+(?:Minuten|Minute|Stunden|Stunde|Sekunden|Tagen|Tag)"
    r"|just now|gerade eben)"
)
_REL_CLOSERS = ("ago", "now", "eben", "Minuten", "Minute", "Stunden", "Stunde", "Sekunden", "Tag")
_REL_OPENERS = frozenset({"vor ", "just", "gera"})
_REL_START = re.compile(rf"^{_REL}\s*(?=\d|$)", re.IGNORECASE)
_REL_END = re.compile(rf"(?<=\d)\s*{_REL}$", re.IGNORECASE)

_LEAD = re.compile(
    r"(?>(?P<plus>\+\+\+\s*)?(?:(?:Update|Aktualisierung|Nachtrag)\s+(?:vom|from|am|on)\s+)?)"
    rf"(?=\d|{WORD_DATE_START})",
    re.IGNORECASE,
)
"""What may open a header: ``+++``, then ``Update vom``, each optional; then a date or a clock.

The group is atomic, so it ends exactly where matching ``+++`` and then ``Update vom`` one
after the other would. The lookahead makes this one call reject most lines that are no header:
a header's date or clock starts with a digit, a weekday or a month.
"""
_DATE_SEP = re.compile(r"\s*(?:,|um|at|-|–|/|\|)?\s*", re.IGNORECASE)
_CLOCK = re.compile(
    r"(?P<hour>[01]?\d|2[0-3])(?P<mark>[:.])(?P<minute>[0-5]\d)(?!\d)"
    r"(?:\s*(?P<suffix>Uhr|h|GMT|UTC|BST|CET|CEST|MEZ|MESZ|ET|EST|EDT|PT|PST|PDT)\b)?"
    r"(?:\s*(?P<meridiem>[ap])\.?m\b\.?)?"
    r"(?P<separator>\s*(?:[:|–—-]|,|\+\+\+)?\s*)",
    re.IGNORECASE,
)
"""A clock with its optional suffix (``Uhr``, a zone, ``pm``) and the separator after it.

The separator always matches, possibly empty, so the clock part matches exactly as it would
alone; one call instead of two per header line.
"""
_HEADLINE_INLINE_MAX = 160


class Header(NamedTuple):
    """A matched entry header (a named tuple: one is built per header line, and cheaply)."""

    clock: time
    day: date | None
    zone: ZoneInfo | None
    rest: str
    plus: bool


def _glue_anchors(text: str) -> Sequence[re.Match[str]]:
    """Every ``Uhr`` and ``+++`` in ``text``, in page order.

    Two scans for a literal each: the regex engine skips ahead at C speed only to a literal
    prefix, so they take a fifth of the time one ``Uhr\\b|\\+\\+\\+`` scan took on a 1 MB page.
    """
    anchors = list(_UHR.finditer(text))
    if "+++" in text:
        anchors.extend(_TRIPLE_PLUS.finditer(text))
        anchors.sort(key=lambda found: found.start())
    return anchors


def unglue(text: str) -> str:
    """Insert line breaks before headers glued to the previous sentence."""
    if not any(mark in text for mark in _GLUE_MARKS) and "+++" not in text:
        return text  # nothing to be glued to: the common bare header line ("18:13 Uhr")
    parts: list[str] = []
    last = 0
    for found in _glue_anchors(text):
        start = found.start()
        if found[0] == "Uhr":
            window = text[max(0, start - 7) : start]
            clock = _CLOCK_BEFORE.search(window)
            if clock is None:
                continue
            start -= len(window) - clock.start()
        elif not _CLOCK_AFTER_PLUS.match(text, start):
            continue
        if start > last and _glued_at(text, start):
            parts.append(text[last:start].rstrip(" \t"))
            parts.append("\n")
            last = start
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def unglue_lines(lines: list[str]) -> list[str]:
    """``unglue`` applied to block lines; only lines with ``Uhr`` or ``+++`` can need it."""
    result: list[str] = []
    for line in lines:
        if "Uhr" not in line and "+++" not in line:
            result.append(line)
            continue
        unglued = unglue(line)
        if "\n" in unglued:
            result.extend(part for part in unglued.split("\n") if part)
        else:
            result.append(unglued)  # not empty: it holds "Uhr" or "+++"
    return result


def strip_relative(line: str) -> str:
    """``21 mins ago11:48`` → ``11:48``; ``18:13 vor 5 Minuten`` → ``18:13``."""
    if line[:1].isdigit() or line[:4].casefold() in _REL_OPENERS:
        opening = _REL_START.match(line)
        if opening:
            line = line[opening.end() :]
    if len(line) < 60 and line.endswith(_REL_CLOSERS):
        line = _REL_END.sub("", line)
    return line


def match_header(line: str, reference: date) -> Header | None:
    """The header at the start of ``line``, or None for prose, dates and numbers."""
    lead = _LEAD.match(line)
    if lead is None:
        return None
    pos = lead.end()
    plus = lead["plus"] is not None
    day: date | None = None
    found_date = match_date(line, pos)
    if found_date:
        day = complete_date(found_date[0], found_date[1], found_date[2], reference)
        sep = _DATE_SEP.match(line, found_date[3])
        pos = sep.end() if sep else found_date[3]
    clock = _CLOCK.match(line, pos)
    if not clock:
        return None
    hour_digits, mark, minute_digits, suffix, meridiem, separator = clock.groups()
    hour, minute = int(hour_digits), int(minute_digits)
    if meridiem:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if meridiem.casefold() == "p" else 0)
    strong = bool(suffix or meridiem or plus or day)
    if not strong and mark != ":":
        return None  # "1.50 Euro", "14.30 Meter": a dot number without "Uhr" is no time
    rest = line[clock.end() :]
    has_separator = bool(separator.strip())
    if rest and not has_separator and (rest[0].islower() or rest[0].isdigit()):
        return None  # "12.30 Uhr trat er vor die Presse"
    zone = zone_for(suffix) if suffix else None
    return Header(time(hour, minute), day, zone, rest.strip(), plus)


def match_day_heading(line: str, reference: date) -> date | None:
    """The date of a line that is only a day heading (``Dienstag, 27. August 2024``)."""
    if len(line) > 48:
        return None
    candidate = line.rstrip(" :.") if not line.endswith(".") else line.rstrip(" :")
    found = match_date(candidate)
    if not found or found[3] < len(candidate.rstrip(". ")):
        return None
    return complete_date(found[0], found[1], found[2], reference)


_DIGIT = re.compile(r"\d")
_PROSE = re.compile(r"[A-Za-zÄÖÜäöüß]\D{27}.{32}", re.DOTALL)
"""A long line opening with a letter and no digit among its first 28 characters: body text.

Proves in one call what ``_could_be_header`` (false) and the length test of the body fast path
would; most lines of a page are such paragraphs.
"""


def _could_be_header(line: str) -> bool:
    """Cheap pre-check: headers start with a digit, ``+++`` or a date word followed by digits."""
    first = line[0]
    if first.isdigit() or first == "+":
        return True
    return first.isalpha() and _DIGIT.search(line, 0, 28) is not None


def _summary_ends(lines: list[str], index: int, header: Header, reference: date) -> bool:
    """A summary box ends where a real entry starts: a bare header or one with a body."""
    if not header.rest:
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return len(following) >= 80 and match_header(following, reference) is None


def parse_lines(lines: list[str], reference: date) -> list[Item]:
    """Day marks and raw entries in page order."""
    items: list[Item] = []
    current: RawEntry | None = None
    expect_headline = False
    in_summary = False
    pin_next = False
    pending_id: str | None = None
    for index, original in enumerate(lines):
        if current is not None and not (expect_headline or in_summary) and _PROSE.match(original):
            current.body.append(original)  # fast path: a body paragraph
            continue
        if original.startswith(ID_MARK):
            pending_id = original[1:]
            in_summary = False  # an entry container ends any summary box
            continue
        maybe_header = _could_be_header(original)
        plain = not (maybe_header or expect_headline or in_summary)
        if plain and current is not None and len(original) >= 60:
            current.body.append(original)  # a body paragraph _PROSE could not vouch for
            continue
        line = strip_relative(original)
        if not line:
            continue
        if maybe_header and line is not original:
            maybe_header = _could_be_header(line)  # "vor 5 Minuten18:13 Uhr" lost its start
        heading = match_day_heading(line, reference) if maybe_header else None
        if heading is not None:
            items.append(DayMark(heading))
            current, expect_headline, in_summary = None, False, False
            continue
        header = match_header(line, reference) if maybe_header else None
        if header is not None:
            if in_summary and not _summary_ends(lines, index, header, reference):
                continue
            in_summary = False
            current = _start_entry(header, pending_id)
            pending_id = None
            expect_headline = not header.rest
            if pin_next:
                pin_next = False  # a pinned copy: parsed, never emitted
            else:
                items.append(current)
            continue
        if cleanup.is_summary_heading(line):
            in_summary, current = True, None
            continue
        if in_summary or current is None:
            continue
        if cleanup.is_pinned_label(line):
            pin_next, current = True, None
            continue
        if expect_headline:
            expect_headline = False
            current.headline = line
            current.derive_headline = len(line) > _HEADLINE_INLINE_MAX  # a paragraph, no title
        else:
            current.body.append(line)
    return _settle(items)


def _start_entry(header: Header, entry_id: str | None) -> RawEntry:
    entry = RawEntry(clock=header.clock, day=header.day, zone=header.zone, entry_id=entry_id)
    rest = header.rest
    if header.plus and "+++" in rest:
        head, _, tail = rest.partition("+++")
        entry.headline = head.strip()
        if tail.strip(" +"):
            entry.body.append(tail.strip(" +"))
    elif rest:
        entry.headline = rest.rstrip(" +")
        entry.derive_headline = len(rest) > _HEADLINE_INLINE_MAX
    return entry


def _settle(items: list[Item]) -> list[Item]:
    """Content-less headers become date stamps (``21.01.2026 18:13 Uhr`` above the first entry).

    An inline headline with no body after it is cut into headline and body
    (``23.59 Uhr, Headline: body``).
    """
    _trust_ids([item for item in items if isinstance(item, RawEntry)])
    settled: list[Item] = []
    for item in items:
        if isinstance(item, RawEntry) and not item.headline and not item.body:
            if item.day is not None and item.clock is not None:
                settled.append(DayMark(item.day, item.clock))
            continue
        if isinstance(item, RawEntry) and item.headline and not item.body:
            item.derive_headline = True
        settled.append(item)
    return settled


MACHINE_LOOKAHEAD = 3
"""How many unused ``<time datetime>`` values an entry may skip to find its own."""


def attach_machine_times(items: list[Item], stamps: list[datetime], zone: ZoneInfo) -> None:
    """Give entries the absolute time of the ``<time datetime>`` showing their clock.

    Stamps and entries are walked in page order; a stamp is taken only when its local clock is
    the entry's clock, so stray ``<time>`` elements (in bodies, teasers) are skipped safely.
    """
    position = 0
    for item in items:
        if not isinstance(item, RawEntry) or item.clock is None:
            continue
        for offset, stamp in enumerate(stamps[position : position + MACHINE_LOOKAHEAD]):
            local = stamp.astimezone(item.zone or zone)
            if (local.hour, local.minute) == (item.clock.hour, item.clock.minute):
                item.when = stamp.astimezone(zone)
                position += offset + 1
                break


ID_COVERAGE = 0.8
"""Share of entries that must carry distinct ids before any id is used as a key."""


def _trust_ids(entries: list[RawEntry]) -> None:
    """Drop ids unless (nearly) every entry has its own.

    An id seen by only some entries is usually a wrapper's (``id="liveblog-123"`` around the
    whole list): keyed on it, every new top entry would look like an edit of the old one.
    """
    ids = [entry.entry_id for entry in entries if entry.entry_id]
    if entries and len(ids) >= ID_COVERAGE * len(entries) and len(set(ids)) == len(ids):
        return
    for entry in entries:
        entry.entry_id = None
