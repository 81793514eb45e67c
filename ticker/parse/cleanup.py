"""Text hygiene for entries: markup inside data fields, boilerplate lines, end markers, headlines.

Kept apart from the layers because every layer meets the same junk: JSON-LD bodies with
``&#39;`` and ``<br/>``, teasers and donation asks between entries, a site notice after the last
one.
"""

from __future__ import annotations

import html
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
        cleaned = " ".join(line.replace("\u200b", "").split())
        if cleaned:
            result.append(cleaned)
    return result


def is_boilerplate(line: str) -> bool:
    """True for teaser, ad, donation and disclaimer lines from the deny-list."""
    return _DENY.match(line) is not None


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
