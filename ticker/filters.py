"""Does an entry pass a chat's filters? The pure rule behind pushes, /latest and batching.

Kinds combine with AND, values within a kind with OR, and an exclude vetoes (SPEC §4).
Storage evaluates the same rule in SQL for fan-out; tests check both agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ticker.model import Entry
from ticker.text import fold


class FilterKind(StrEnum):
    REGION = "region"
    SPEAKER = "speaker"
    KEYWORD = "keyword"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class ChatFilters:
    """Comparable filter values: folded region names, speaker keys, folded keywords."""

    regions: frozenset[str] = frozenset()
    speakers: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    excludes: frozenset[str] = frozenset()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> ChatFilters:
        by_kind: dict[str, set[str]] = {kind.value: set() for kind in FilterKind}
        for kind, value in pairs:
            by_kind.setdefault(kind, set()).add(value)
        return cls(
            regions=frozenset(by_kind[FilterKind.REGION]),
            speakers=frozenset(by_kind[FilterKind.SPEAKER]),
            keywords=frozenset(by_kind[FilterKind.KEYWORD]),
            excludes=frozenset(by_kind[FilterKind.EXCLUDE]),
        )

    @property
    def empty(self) -> bool:
        return not (self.regions or self.speakers or self.keywords or self.excludes)


def searchable_text(headline: str, body: str) -> str:
    """Folded headline and body: keywords match inside compounds by plain containment."""
    return fold(f"{headline}\n{body}")


def keyword_value(word: str) -> str:
    """The stored form of a keyword or phrase a user typed (quotes dropped, folded)."""
    return fold(word.strip().strip("\"'„“”«»"))


def matching_words(text: str, words: Iterable[str]) -> set[str]:
    """Which of ``words`` (folded) occur in ``text`` (folded)."""
    return {word for word in words if word and word in text}


def entry_passes(entry: Entry, filters: ChatFilters) -> bool:
    if filters.empty:
        return True
    text = searchable_text(entry.headline, entry.body)
    if matching_words(text, filters.excludes):
        return False
    if filters.regions and not filters.regions.intersection(fold(r) for r in entry.regions):
        return False
    if filters.speakers and not filters.speakers.intersection(entry.speaker_keys):
        return False
    return not (filters.keywords and not matching_words(text, filters.keywords))
