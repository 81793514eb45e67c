"""Finding the places an entry names.

Library choice: pyahocorasick. One pass over the folded text finds every one of the ~3,000
surface forms of the gazetteer in time linear in the text, independent of gazetteer size,
and it is a maintained C extension (already a project dependency). A regex alternation of
3,000 names backtracks and is one to two orders slower; flashtext matches whole tokens only
(no "ß"/accent folding of its own, no multi-word overlap control) and has been unmaintained
since 2018.

What counts: a place named as a noun, in any case ("in der Ukraine", "Russlands", "des Gebiets
Belgorod"). Not counted: adjectives ("ukrainischen", "Kiewer" — they simply do not match
at a word boundary), compound modifiers ("Ukraine-Krieg", "US-Präsident", English "U.S.
envoy"), and place words inside media names ("New York Times"). A capital used for its
government ("Kiew fordert", "Moskau und Kiew beschuldigen sich") counts as its country;
used as a location ("in Kiew", "Angriff auf Kiew") it is the city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from ticker.extract.folded import FoldedText, word_set
from ticker.extract.gazetteer import Gazetteer, surface_forms
from ticker.text import fold

# Media and bodies whose names contain a place; a hit inside one of these is no place.
_BLOCKERS = (
    "New York Times",
    "New York Post",
    "Washington Post",
    "Washington Examiner",
    "Jerusalem Post",
    "Times of Israel",
    "Kyiv Independent",
    "Kyiv Post",
    "Kiev Independent",
    "Moscow Times",
    "Rossija Sewodnja",
    "Russia Today",
    "Radio Free Europe",
    "Voice of America",
    "Islamischer Staat",
    "Islamic State",
    "Ukrajinska Prawda",
    "Ukrainska Pravda",
    "Tehran Times",
    "Deutsche Welle",
    "Golan Heights Winery",
    "Hamas",  # not the genitive of the Syrian city Hama
)

# A capital preceded by one of these words is a location, not the government.
_LOCATIVE = word_set(
    "in im nach auf uber bei um nahe vor rund naher unweit stadt hauptstadt raum "
    "grossraum near on over around outside across city capital at "
    # verbs of travel and attack take the city: "besucht Berlin", "missile hits Kyiv"
    "besucht besuchte besuchen erreicht erreichte erschuttern erschutterten bombardiert "
    "visit visits visited hit hits struck strike strikes attacked shelled"
)
# "Moscow Mayor …", "Kyiv region": the city, not the government.
_CITY_NEXT = word_set("mayor burgermeister region oblast airport airports flughafen")
# "travel to Washington" is a trip, "ties to Moscow" is politics.
_TRAVEL = word_set("travel travels traveled travelled fly flies flew trip return returned go")
# "… von Kiew" / "… of Kyiv" is a location after these nouns ("Bürgermeister von Kiew").
_LOCATIVE_NOUNS = word_set(
    "zentrum stadtzentrum burgermeister umgebung stadtrand vororten vororte rand bewohner "
    "einwohner mayor outskirts centre center suburbs residents city streets"
)
_COORDINATION = frozenset({"und", "and", "oder", "or", "sowie"})
# English "Kyiv Mayor …" is a location, but "U.S. envoy", "Ukraine settlement" modify a noun.
_ATTRIBUTIVE_NEXT = word_set(
    "president envoy envoys officials official military forces troops army government "
    "embassy delegation authorities defense defence foreign security intelligence navy "
    "media news secretary administration leader leadership talks settlement conflict "
    "crisis deal policy aid strategy counterpart negotiators senate congress nuclear crown "
    "children"
    # not "war", "plant", "state": German "Russland war …", "Iran plant …"
)
_REGION_WORD = r"(?:Gebiet(?:s|es)?|Oblast|Region|Provinz|Republik)"
_NAME_WORD = r"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ]?[a-zäöüß]+)*"
_REGION_BEFORE = re.compile(rf"\b{_REGION_WORD}\s+({_NAME_WORD})")
_REGION_AFTER = re.compile(rf"\b({_NAME_WORD})\s+(?:region|Region|oblast|Oblast|province)\b")
_NOT_A_REGION = word_set(
    "der die das den dem des ein eine the this that whole entire border frontline front "
    "capital ost west nord sud mitte europa nahost asien afrika middle east asia pacific "
    "arctic kreml kremlin hauptstadt grenze"
)
_REGION_PREFIX = re.compile(
    r"^(?:(?:des|dem|den|der|im|in|the)\s+)?(?:gebiet(?:s|es)?|oblast|region)\s+"
)
_REGION_SUFFIX = re.compile(r"\s+(?:oblast|region|province)$")


@dataclass(frozen=True, slots=True)
class PlaceHit:
    """A place found in the text: original character span and canonical name."""

    start: int
    end: int
    name: str


@dataclass(frozen=True, slots=True)
class _Form:
    length: int
    name: str  # canonical name; "" for a blocker
    country: str | None  # set when the form is a bare capital name


class PlaceMatcher:
    """Built once from a gazetteer; ``find`` is then cheap and thread-safe."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._automaton = ahocorasick.Automaton()
        self._index: dict[str, str] = {}
        forms: dict[str, _Form] = {}
        for place in gazetteer.places:
            country = gazetteer.capitals.get(place.name)
            for written in (place.name, *place.aliases):
                bare = country is not None and " " not in written and "-" not in written
                for form in surface_forms(written):
                    self._index.setdefault(form, place.name)
                    # First claim wins: the shipped data lists countries before cities.
                    forms.setdefault(form, _Form(len(form), place.name, country if bare else None))
        for blocker in _BLOCKERS:
            form = fold(blocker)
            forms[form] = _Form(len(form), "", None)
        for form, payload in forms.items():
            self._automaton.add_word(form, payload)
        self._automaton.make_automaton()

    def resolve(self, name: str) -> str | None:
        """Canonical name for user input ("Gebiet Charkow", "kharkiv"), or None."""
        folded = fold(name)
        for candidate in (folded, _REGION_SUFFIX.sub("", _REGION_PREFIX.sub("", folded))):
            found = self._index.get(candidate)
            if found is not None:
                return found
        return None

    def find(self, text: FoldedText) -> list[PlaceHit]:
        """Places named in ``text`` in order, metonymic capitals already mapped to countries."""
        folded = text.text
        n = len(folded)
        candidates: list[tuple[int, int, _Form]] = []
        for end_index, form in self._automaton.iter(folded):
            start = end_index - form.length + 1
            end = end_index + 1
            if start > 0 and folded[start - 1].isalnum():
                continue
            if end < n:
                after = folded[end]
                if after.isalnum():
                    continue
                if after == "-" and end + 1 < n and folded[end + 1].isalnum():
                    continue  # compound modifier: "Ukraine-Krieg", "US-Präsident"
            if form.name and not text.starts_upper(start):
                continue  # proper nouns only: "Island" is a country, "island" is not
            candidates.append((start, end, form))
        candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        hits: list[PlaceHit] = []
        last_end = -1
        previous: tuple[int, bool] | None = None  # (end, locative) of the last capital hit
        for start, end, form in candidates:
            if start < last_end:
                continue
            last_end = end
            if not form.name:
                continue
            if text.word_after(end) in _ATTRIBUTIVE_NEXT:
                continue
            name = form.name
            if form.country is not None:
                locative = self._is_locative(text, start, end, previous)
                previous = (end, locative)
                if not locative:
                    name = form.country
            o_start, o_end = text.original_span(start, end)
            hits.append(PlaceHit(o_start, o_end, name))
        return hits

    @staticmethod
    def _is_locative(
        text: FoldedText,
        start: int,
        end: int,
        previous: tuple[int, bool] | None,
    ) -> bool:
        """Whether a bare capital names the city (location) rather than the government."""
        if text.text[end : end + 1] == ":":
            return True  # dateline "Kiew: Luftalarm"
        if text.word_after(end) in _CITY_NEXT:
            return True
        words = re.findall(r"[\w.]+", text.text[max(0, start - 60) : start])
        last = words[-1] if words else ""
        if last in _LOCATIVE:
            return True
        if len(words) >= 2 and last in {"von", "of"} and words[-2] in _LOCATIVE_NOUNS:
            return True
        if len(words) >= 2 and last == "to" and words[-2] in _TRAVEL:
            return True
        if last in _COORDINATION and previous is not None:
            gap = text.text[previous[0] : start]
            if len(gap) <= len(last) + 3:
                return previous[1]
        return False

    def find_patterns(self, original: str, known: set[str]) -> list[PlaceHit]:
        """Regions the gazetteer lacks, from "Gebiet X", "Oblast X", "X region"."""
        hits: list[PlaceHit] = []
        for pattern in (_REGION_BEFORE, _REGION_AFTER):
            for match in pattern.finditer(original):
                written = match.group(1)
                folded = fold(written)
                if folded in _NOT_A_REGION or self._index.get(folded) in known:
                    continue
                resolved = self._index.get(folded)
                hits.append(PlaceHit(match.start(1), match.end(1), resolved or written))
        return hits
