"""Folded text that remembers where each folded character came from.

Matching runs on folded text (case and accents ignored, "ß" → "ss"), but some decisions
need the original: a place name is a proper noun, so "Island" is Iceland and "island" is not.
``ticker.text.fold`` collapses whitespace and may change the length, so this module folds
each character on its own (whitespace becoming one space) and keeps an offset map.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from ticker.text import fold


class _FoldTable(dict[int, str]):
    """``str.translate`` table that folds each character on first sight and remembers it.

    ``str.translate`` walks the text in C, so after warm-up folding costs no Python call per
    character; that alone doubles extraction throughput.
    """

    def __missing__(self, codepoint: int) -> str:
        ch = chr(codepoint)
        folded = " " if ch.isspace() else fold(ch)
        self[codepoint] = folded
        return folded


_TABLE = _FoldTable()


def word_set(text: str) -> frozenset[str]:
    """Word lists are written as one string per list: easier to read and extend than literals."""
    return frozenset(text.split())


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True, slots=True)
class FoldedText:
    """``text`` folded, plus the map from folded positions back to ``original``.

    Only non-ASCII characters can fold to more or fewer than one character ("ß" → "ss", a
    lone combining accent → ""), so the map stores just those as ``marks``:
    (folded position, original index, folded length), and everything between is 1:1.
    """

    original: str
    text: str
    marks: tuple[tuple[int, int, int], ...]
    _mark_starts: tuple[int, ...]

    @classmethod
    def of(cls, original: str) -> FoldedText:
        folded = original.translate(_TABLE)
        if len(folded) == len(original):
            return cls(original, folded, (), ())
        marks: list[tuple[int, int, int]] = []
        delta = 0  # folded position minus original index
        for match in _NON_ASCII.finditer(original):
            index = match.start()
            length = len(_TABLE[ord(original[index])])
            if length != 1:
                marks.append((index + delta, index, length))
                delta += length - 1
        return cls(original, folded, tuple(marks), tuple(m[0] for m in marks))

    def origin(self, position: int) -> int:
        """Index in ``original`` of the character folded to ``position``."""
        if not self.marks:
            return position
        k = bisect_right(self._mark_starts, position) - 1
        if k < 0:
            return position
        folded_start, index, length = self.marks[k]
        if position < folded_start + length:
            return index
        return index + 1 + position - folded_start - length

    def starts_upper(self, start: int) -> bool:
        """Whether the original character behind folded position ``start`` is upper case."""
        return self.original[self.origin(start)].isupper()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` for the folded ``[start, end)``."""
        return self.origin(start), self.origin(end - 1) + 1

    def word_after(self, end: int) -> str:
        """The folded word starting after ``end`` (skipping spaces), or ``""``."""
        i = end
        n = len(self.text)
        while i < n and self.text[i] == " ":
            i += 1
        start = i
        while i < n and self.text[i].isalnum():
            i += 1
        return self.text[start:i]
