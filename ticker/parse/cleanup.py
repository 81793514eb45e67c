"""Text hygiene for entries: markup inside data fields, boilerplate lines, end markers, headlines.

Kept apart from the layers because every layer meets the same junk: JSON-LD bodies with
``&#39;`` and ``<br/>``, teasers and donation asks between entries, a site notice after the last
one.
"""

from __future__ import annotations

import html
import itertools
import re

from ticker.text import fold

_BREAK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|p|li|h[1-6])\b[^>]{0,500}>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]{0,2000}>")

_U = "(?:ü|ue|u)"
_O = "(?:ö|oe|o)"
DENY_PREFIXES: tuple[str, ...] = (
    "lesen sie auch", "lesen sie mehr", "mehr zum thema", "auch interessant", "mehr dazu",
    f"das k{_O}nnte sie auch interessieren", "anzeige", "werbung", "advertisement", "sponsored",
    "read more", "read also", "see also", "related:", "more on this story", "jetzt spenden",
    f"unterst{_U}tzen sie", "support our journalism", "support the guardian", "newsletter",
    "hier abonnieren", "disclaimer", "haftungsausschluss", "zum newsticker",
    "hinweis: diese meldung wird laufend aktualisiert", "dieser ticker wird laufend aktualisiert",
)  # fmt: skip
"""Line starts (regex fragments) that mark ads, teasers, donation asks and disclaimers."""
_DENY = re.compile("(?:" + "|".join(DENY_PREFIXES) + ")", re.IGNORECASE)
_CASEFOLDS_OF = {"i": ("i", "ı", "i\u0307")}
"""What ``casefold`` makes of the characters the case-blind regex takes for a letter, where
that is not the letter itself: the Turkish ``ı`` stays, ``İ`` becomes ``i`` and a dot."""
_DENY_STARTS = frozenset(
    "".join(folded)
    for prefix in DENY_PREFIXES
    for folded in itertools.product(*(_CASEFOLDS_OF.get(char, char) for char in prefix[:2]))
)
"""Casefolded first two letters of the deny-list: a line starting otherwise needs no regex
call (exact, as tested: every character the regex takes for a letter casefolds to one of the
letter's forms here)."""

SUMMARY_HEADINGS: frozenset[str] = frozenset(
    {
        "das wichtigste in kurze", "das wichtigste im uberblick", "das wichtigste",
        "zusammenfassung", "key events", "key points", "highlights", "summary",
        "die wichtigsten entwicklungen", "das wichtigste auf einen blick",
    }
)  # fmt: skip
"""Headings of summary/key-event boxes: what follows repeats entries and is skipped."""

PINNED_LABELS: frozenset[str] = frozenset(
    {"angepinnt", "pinned", "pinned post", "top-meldung", "fixiert", "oben angeheftet"}
)
"""Labels that mark the next entry as a pinned copy of an older one."""
_SUMMARY_INITIALS = frozenset(h[0] for h in SUMMARY_HEADINGS)
_PINNED_INITIALS = frozenset(h[0] for h in PINNED_LABELS)


def markup_to_lines(value: str) -> list[str]:
    """Clean lines from text that may hold entities and tags (JSON-LD, feed summaries)."""
    text = html.unescape(value)
    text = _BREAK_TAGS.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    text = html.unescape(text) if "&" in text else text
    return clean_lines(text.split("\n"))


def clean_lines(lines: list[str]) -> list[str]:
    """Whitespace collapsed (``str.split`` knows Unicode spaces), empty lines dropped."""
    result: list[str] = []
    for line in lines:
        cleaned = collapse(line.replace("\u200b", ""))
        if cleaned:
            result.append(cleaned)
    return result


def collapse(line: str) -> str:
    """``" ".join(line.split())``: whitespace runs as one space, no outer whitespace.

    Most lines are tidy already, and recognising one costs half of splitting and joining it:
    every whitespace character but the space is unprintable, so a printable line without a
    double or outer space has nothing to collapse.
    """
    if line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " ":
        return line
    return " ".join(line.split())


_ODD_SPACES = tuple(char for char in map(chr, range(0x3001)) if char.isspace() and char != " ")
"""Whitespace other than the space: tabs, line breaks, no-break and typographic spaces.

U+3000 is the highest whitespace code point (tested), so the scan at import stays short.
"""


def _has_odd_spaces(text: str, allowed: str) -> bool:
    """True if ``text`` holds whitespace besides spaces and ``allowed``.

    One C-speed ``in`` scan per character, and none at all for characters above the text's
    widest one: about 0.2 ms for a megabyte.
    """
    return any(space in text for space in _ODD_SPACES if space != allowed)


def _collapse_spaced(parts: list[str]) -> list[str]:
    """``collapse`` for parts known to hold no whitespace but spaces; empty parts dropped."""
    tidy: list[str] = []
    for part in filter(None, parts):
        if "  " in part or part[0] == " " or part[-1] == " ":
            part = " ".join(part.split())
            if not part:
                continue
        tidy.append(part)
    return tidy


def collapsed_parts(text: str, separator: str) -> list[str]:
    """Non-empty ``collapse``d parts of ``text`` split at ``separator`` (a whitespace character).

    A page spaced with nothing but spaces besides the separator (proven once for the whole
    text) only needs its parts with a double or outer space collapsed.
    """
    parts = text.split(separator)
    if _has_odd_spaces(text, separator):
        return [part for part in map(collapse, parts) if part]
    return _collapse_spaced(parts)


def collapsed_lines(text: str) -> list[str]:
    """Non-empty ``collapse``d lines of ``text``, cut as ``str.splitlines`` cuts them.

    ``splitlines`` also breaks at ``\\r``, ``\\v``, ``\\x1c`` … ``\\u2029``, all of them
    whitespace; in a text without any of them it cuts exactly where ``split("\\n")`` does.
    """
    if _has_odd_spaces(text, "\n"):
        return [line for line in map(collapse, text.splitlines()) if line]
    return _collapse_spaced(text.split("\n"))


def is_boilerplate(line: str) -> bool:
    """True for teaser, ad, donation and disclaimer lines from the deny-list."""
    return line[:2].casefold() in _DENY_STARTS and _DENY.match(line) is not None


def is_summary_heading(line: str) -> bool:
    if len(line) >= 60 or line[:1].casefold() not in _SUMMARY_INITIALS:
        return False
    return fold(line).rstrip(":") in SUMMARY_HEADINGS


def is_pinned_label(line: str) -> bool:
    if len(line) >= 30 or line[:1].casefold() not in _PINNED_INITIALS:
        return False
    return fold(line).rstrip(":") in PINNED_LABELS


def drop_boilerplate(lines: list[str]) -> list[str]:
    """Lines without deny-listed ones; a bare label (``Lesen Sie auch``) takes its teaser along."""
    result: list[str] = []
    skip_next = False
    for line in lines:
        if skip_next:
            skip_next = False
            continue
        if is_boilerplate(line):
            skip_next = len(line) < 30
            continue
        result.append(line)
    return result


def cut_at_markers(lines: list[str], markers: tuple[str, ...]) -> list[str]:
    """Lines up to the first end marker; the marker and everything after it are dropped."""
    if not markers:
        return lines
    for index, line in enumerate(lines):
        for marker in markers:
            if marker and marker in line:
                head = line[: line.index(marker)].strip()
                return [*lines[:index], *([head] if head else [])]
    return lines


_SENTENCE_END = re.compile(r"(?<=[a-zäöüß)\"“”»«'’%])([.!?])(?=\s+[\"„“»«A-ZÄÖÜ0-9])")
_ABBREVIATIONS = frozenset({"dr", "prof", "st", "nr", "bzw", "ca", "vgl", "mr", "mrs", "ms", "gen"})
HEADLINE_MAX = 160


def split_headline(text: str) -> tuple[str, str]:
    """(headline, rest) for text without a separate headline line.

    The headline is the text up to a colon (``Sacharowa: …`` style kickers need two words
    before it) or the first sentence, whichever comes first; a long run-on is cut at a word.
    """
    text = text.strip()
    colon = -1
    position = text.find(": ")
    while 0 <= position <= HEADLINE_MAX:
        if position >= 12 and " " in text[:position] and len(text) - position >= 40:
            colon = position
            break
        position = text.find(": ", position + 1)
    sentence = -1
    for found in _SENTENCE_END.finditer(text, 0, HEADLINE_MAX + 40):
        word = text[: found.start()].rsplit(" ", 1)[-1].casefold()
        if word not in _ABBREVIATIONS and found.start() >= 8:
            sentence = found.start()
            break
    if colon >= 0 and (sentence < 0 or colon < sentence):
        return text[:colon].strip(), text[colon + 1 :].strip()
    if sentence >= 0:
        mark = text[sentence]
        head = text[:sentence] + ("" if mark == "." else mark)
        return head.strip(), text[sentence + 1 :].strip()
    if len(text) <= HEADLINE_MAX + 40:
        return text, ""
    cut = text.rfind(" ", 0, HEADLINE_MAX)
    return text[: cut if cut > 0 else HEADLINE_MAX].rstrip(" ,;:-") + " …", text
