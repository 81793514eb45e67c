"""User search queries (``/search``, inline mode), pure: parsing, matching rule, highlighting.

A query is turned into *normalised terms*: folded (``ticker.text.fold``: case, accents, ß)
and reduced to word characters separated by single spaces. Entries are indexed in the same
form (``search_document``), padded with a space on both sides. Why this shape:

* Everything that could mean something to a query language — ``"``, ``*``, ``:``, ``(``,
  ``^``, ``NEAR``, quotes, SQL comments — is either consumed by our own tiny grammar or
  reduced to plain word characters, so the storage layer only ever sees ``[\\w ]`` strings
  (still bound as parameters and quoted/escaped there; this is defence in depth).
* A term of 3 or more characters matches as a *substring* (``drohne`` finds
  ``drohnenangriffe``: German compounds match on their parts). That is what trigram indexes
  (SQLite FTS5 ``trigram``, PostgreSQL ``pg_trgm``) answer directly.
* A term shorter than 3 characters (``EU``, ``UN``, ``F``) cannot use a trigram index and
  would be noise as a substring (``eu`` is in ``neue``, ``heute``). It matches as a whole
  word instead: the pattern becomes ``" eu "``, 4 characters, which the trigram index can
  answer after all thanks to the padding — no unindexed ``LIKE`` scan is needed.
* Punctuation is a word separator on both sides, so ``"F-16"`` finds ``F-16-Kampfjets`` and a
  phrase matches across a comma.

``matches`` is the reference rule both storage backends must agree with (tests compare).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ticker.text import fold

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "ParsedQuery",
    "QueryUsage",
    "highlight",
    "matches",
    "normalize",
    "parse_query",
    "search_document",
    "term_pattern",
]

MAX_QUERY_CHARS = 300
"""Longer input is cut here: nobody types more, and it bounds the SQL we build."""
MAX_TERMS = 10
"""At most this many terms (words, phrases and excludes together) are used."""
SHORT_TERM = 3
"""Terms shorter than this match whole words only (see module docstring)."""

_NON_WORD = re.compile(r"[^\w]+")
_OPENING_QUOTES = '"„“«'
_CLOSING_FOR = {'"': '"', "„": '“”"', "“": '”“"', "«": '»"', "”": '”"'}
_DASHES = "-–—‐−"


def normalize(text: str) -> str:
    """Folded ``text`` reduced to word characters and single spaces, no padding."""
    return _NON_WORD.sub(" ", fold(text)).strip()


def search_document(headline: str, body: str) -> str:
    """The indexed form of an entry: normalised headline and body, padded with spaces.

    The padding lets short terms match as whole words (``" eu "``) through the same
    trigram index as long ones.
    """
    return f" {normalize(headline + chr(10) + body)} "


def term_pattern(term: str) -> str:
    """The substring to look for in a ``search_document`` for a normalised ``term``."""
    return f" {term} " if len(term) < SHORT_TERM else term


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A searchable query: every word and phrase must occur, no exclude may.

    All terms are normalised (``normalize``); a word typed with inner punctuation
    (``F-16``, ``a:b``) becomes a two-part term that matches like a phrase.
    """

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def includes(self) -> tuple[str, ...]:
        """Words and phrases together: the terms that must all match."""
        return self.words + self.phrases

    def describe(self) -> str:
        """A compact echo of the query for answers like "nothing found for …"."""
        parts = [*self.words, *(f'"{p}"' for p in self.phrases), *(f"-{e}" for e in self.excludes)]
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class QueryUsage:
    """Nothing searchable was left: the handler answers with its usage line.

    ``reason`` is ``"empty"`` (no word characters at all: empty input, only emoji or
    punctuation) or ``"only_excludes"`` (``-word`` alone cannot be answered sensibly).
    """

    reason: Literal["empty", "only_excludes"]


def _tokens(raw: str) -> list[tuple[str, bool, bool]]:
    """Split into (text, is_phrase, is_exclude); quotes may be unbalanced."""
    tokens: list[tuple[str, bool, bool]] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch.isspace():
            i += 1
            continue
        exclude = False
        if ch in _DASHES and i + 1 < n and not raw[i + 1].isspace():
            exclude = True
            i += 1
            ch = raw[i]
        if ch in _OPENING_QUOTES or ch == "”":
            closers = _CLOSING_FOR.get(ch, '"')
            end = i + 1
            while end < n and raw[end] not in closers:
                end += 1
            # An unclosed quote runs to the end of the input: the user meant a phrase.
            tokens.append((raw[i + 1 : end], True, exclude))
            i = end + 1
            continue
        end = i
        while end < n and not raw[end].isspace():
            end += 1
        tokens.append((raw[i:end], False, exclude))
        i = end
    return tokens


def parse_query(raw: str) -> ParsedQuery | QueryUsage:
    """Parse what a user typed; never raises, whatever the input.

    ``word`` must occur, ``"a phrase"`` must occur as written (ignoring case, accents and
    punctuation), ``-word`` / ``-"a phrase"`` must not occur. Input is cut at
    ``MAX_QUERY_CHARS`` and to ``MAX_TERMS`` terms (``truncated`` tells).
    """
    truncated = len(raw) > MAX_QUERY_CHARS
    words: list[str] = []
    phrases: list[str] = []
    excludes: list[str] = []
    seen: set[tuple[str, bool]] = set()
    for text, is_phrase, is_exclude in _tokens(raw[:MAX_QUERY_CHARS]):
        term = normalize(text)
        if not term or (term, is_exclude) in seen:
            continue
        if len(words) + len(phrases) + len(excludes) >= MAX_TERMS:
            truncated = True
            break
        seen.add((term, is_exclude))
        if is_exclude:
            excludes.append(term)
        elif is_phrase:
            phrases.append(term)
        else:
            words.append(term)
    if not words and not phrases:
        return QueryUsage("only_excludes" if excludes else "empty")
    return ParsedQuery(tuple(words), tuple(phrases), tuple(excludes), truncated)


def matches(query: ParsedQuery, headline: str, body: str) -> bool:
    """The reference matching rule (what the SQL of both backends implements)."""
    document = search_document(headline, body)
    if any(term_pattern(term) not in document for term in query.includes):
        return False
    return not any(term_pattern(term) in document for term in query.excludes)


# ---- highlighting --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One original character in normalised form: folded word characters, or a space."""
    if ch.isspace():
        return " "
    # fold() strips surrounding whitespace, but a character whose decomposition starts or
    # ends with a space (e.g. U+00A8 DIAERESIS) is a separator in the folded whole text.
    decomposed = unicodedata.normalize("NFKD", ch)
    folded = fold(ch)
    if decomposed[:1].isspace():
        folded = " " + folded
    if decomposed[-1:].isspace():
        folded += " "
    return "".join(c if (c.isalnum() or c == "_") else " " for c in folded)


def _normalized_with_positions(text: str) -> tuple[str, list[int]]:
    """``" " + normalize(text) + " "`` and, per character of it, the original index.

    Padding spaces and collapsed separators map to the nearest original position; they are
    never part of a highlighted span (see ``highlight``).
    """
    out: list[str] = [" "]
    positions: list[int] = [0]
    for index, ch in enumerate(text):
        for c in _fold_char(ch):
            if c == " ":
                if out[-1] != " ":
                    out.append(" ")
                    positions.append(index)
            else:
                out.append(c)
                positions.append(index)
    if out[-1] != " ":
        out.append(" ")
        positions.append(len(text))
    return "".join(out), positions


def highlight(text: str, query: ParsedQuery) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, is_match) covering it exactly, in order.

    Matches of the query's words and phrases are found case-, accent- and
    punctuation-insensitively, by the same rule as the search, and mapped back onto the
    original characters, so ``Chárkiw`` is highlighted for ``charkiw`` and ``Straße`` for
    ``strasse``. Excludes are never highlighted (they do not occur in results).
    """
    if not text:
        return []
    normalized, positions = _normalized_with_positions(text)
    marked = [False] * len(text)
    for term in query.includes:
        pattern = term_pattern(term)
        strip_left = 1 if pattern.startswith(" ") else 0
        strip_right = 1 if pattern.endswith(" ") else 0
        start = normalized.find(pattern)
        while start != -1:
            first = start + strip_left
            last = start + len(pattern) - 1 - strip_right
            if first <= last:
                begin, end = positions[first], positions[last] + 1
                # Take along combining marks that follow the last matched character.
                while end < len(text) and _fold_char(text[end]) == "":
                    end += 1
                for k in range(begin, min(end, len(text))):
                    marked[k] = True
            start = normalized.find(pattern, start + 1)
    segments: list[tuple[str, bool]] = []
    begin = 0
    for k in range(1, len(text) + 1):
        if k == len(text) or marked[k] != marked[begin]:
            segments.append((text[begin:k], marked[begin]))
            begin = k
    return segments
