"""Regions and speakers of ticker entries, under canonical names.

Pure code: no Telegram, no SQL. ``Extractor.load()`` builds the matchers once (the default
one is cached per process); ``extract``/``annotate`` are then cheap (thousands of entries
per second) and safe to call from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ticker.extract.folded import FoldedText
from ticker.extract.gazetteer import Gazetteer, Place, PlaceKind, load_default, merge
from ticker.extract.gazetteer import place_from_config as place_from_config
from ticker.extract.names import speaker_key as _speaker_key
from ticker.extract.places import PlaceMatcher
from ticker.extract.speakers import SpeakerFinder
from ticker.model import Entry

__all__ = [
    "Extraction",
    "Extractor",
    "Place",
    "PlaceKind",
    "Speaker",
    "place_from_config",
]


@dataclass(frozen=True, slots=True)
class Speaker:
    """``key``: folded surname after variant mapping; ``name``: fullest form in the entry."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Extraction:
    regions: tuple[str, ...]
    speakers: tuple[Speaker, ...]


class Extractor:
    """Finds the places an entry names and the people whose statements it reports."""

    _default: ClassVar[Extractor | None] = None

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._places = PlaceMatcher(gazetteer)
        self._speakers = SpeakerFinder()

    @classmethod
    def load(cls, extra_places: Sequence[Place] = ()) -> Extractor:
        """The shipped gazetteer plus operator places; without extras a cached instance.

        Building the automaton takes tens of milliseconds, so callers should keep the
        instance rather than load per entry.
        """
        if not extra_places:
            if cls._default is None:
                cls._default = cls(load_default())
            return cls._default
        return cls(merge(load_default(), extra_places))

    def extract(self, headline: str, body: str) -> Extraction:
        text = f"{headline}\n{body}"
        folded = FoldedText.of(text)
        hits = self._places.find(folded)
        speakers, person_spans = self._speakers.find(
            text, len(headline), [(h.start, h.end) for h in hits]
        )
        regions: list[str] = []
        for hit in hits:
            inside_person = any(s <= hit.start < e for s, e in person_spans)
            if not inside_person and hit.name not in regions:
                regions.append(hit.name)
        for hit in self._places.find_patterns(text, set(regions)):
            inside_person = any(s <= hit.start < e for s, e in person_spans)
            if not inside_person and hit.name not in regions:
                regions.append(hit.name)
        return Extraction(
            regions=tuple(regions),
            speakers=tuple(Speaker(s.key, s.name) for s in speakers),
        )

    def annotate(self, entry: Entry) -> Entry:
        """``entry`` with regions, speaker names and speaker keys filled in."""
        result = self.extract(entry.headline, entry.body)
        return entry.with_annotations(
            result.regions,
            tuple(s.name for s in result.speakers),
            tuple(s.key for s in result.speakers),
        )

    def resolve_region(self, name: str) -> str | None:
        """Canonical display name for user input ("charkiw", "Kharkiv", "Gebiet Charkow")."""
        return self._places.resolve(name)

    def speaker_key(self, name: str) -> str:
        """Key shared by all spellings: "Maria Sacharowa", "sacharowa", "Zakharova"."""
        return _speaker_key(name)
