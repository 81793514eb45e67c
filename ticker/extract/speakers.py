"""Finding the people whose statements an entry reports.

Two steps, both rule-based because ticker prose is formulaic and rules are fast, explainable
and testable without a model:

1. Person mentions: a first name followed by a surname ("Maria Sacharowa"), a role noun
   followed by a name ("Außenminister Tajani", "Kremlsprecher Peskow"), a surname from the
   variant table ("Selenskij"), and later bare uses of a surname already seen in the entry.
2. Attribution: a mention is a speaker when a cue ties it to a statement in the same sentence
   — a speech verb with the person as subject before it ("Gladkow meldet …") or inverted after
   it ("…, erklärte Sljusar"), "laut X", "nach Angaben von X", "X zufolge", ", so X",
   "according to X", or a headline prefix "Sacharowa: …". Quoted text is blanked first: a
   name inside a quote is talked about, not talking. A mention governed by a preposition
   ("Treffen mit Macron", "unter Teilnahme von …") is never the subject of a cue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ticker.extract.folded import word_set
from ticker.extract.names import NameData, name_data, speaker_key, surname_key
from ticker.text import fold

_QUOTES = re.compile(r'„[^“”"\n]*[“”"]|“[^”"\n]*[”"]|"[^"\n]*"|«[^»\n]*»|»[^«\n]*«')
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|\n|[^\w\s]")
_POSSESSIVE = re.compile(r"['’]s$")
_PARTICLE_SURNAME = re.compile(r"^(?:al|el|as|ad|ash|bin|ibn)-\w", re.IGNORECASE)
_NAME_PARTICLES = frozenset({"von", "van", "der", "de", "da", "di", "bin", "ibn", "al", "el", "du"})
_ABBREVIATIONS = frozenset({"st", "dr", "prof", "mr", "mrs", "ms", "gen", "lt", "col", "nr", "jr"})
_SENTENCE_END = frozenset({".", "!", "?", ";", ":", "\n"})

_GERMAN_VERBS = word_set(
    """sagte sagt sagten gesagt erklarte erklart erklarten erklaerte betonte betont betonten
    teilte teilt mitteilt mitteilte mitgeteilt meldet meldete meldeten gemeldet berichtet
    berichtete berichteten schrieb schreibt warnte warnt gewarnt forderte fordert gefordert
    aufgefordert kundigte kundigt angekundigt ankundigte bestatigte bestatigt kritisierte
    kritisiert sprach spricht außerte ausserte außert aussert geaussert bezeichnete bezeichnet
    versicherte versichert raumte wies drohte droht gedroht verkundete unterstrich erganzte
    fugte bestritt bestreitet behauptete behauptet rief ruft aufgerufen appellierte nannte
    nennt wirft warf vorgeworfen erinnerte meinte meint hofft hoffte beschuldigte beklagte
    verwies bekannt lehnt lehnte zitiert bekraftigte sicherte zugesagt gebeten bat begrundete
    begrundet"""
)
_ENGLISH_VERBS = word_set(
    """said says told tells stated added warned warns wrote writes announced claimed claims
    accused accuses urged urges called calls vowed vows denied denies insisted stressed noted
    argued confirmed posted threatened threatens reported"""
)
_INVERSION_VERBS = frozenset({"said", "says", "added", "wrote", "told"})
_STATEMENT_NOUNS = frozenset(
    {"angaben", "worten", "einschatzung", "ansicht", "aussage", "aussagen", "darstellung"}
)
_NOT_SUBJECT_BEFORE = word_set(
    """mit von vom gegen uber an fur zu zum zur vor gegenuber zwischen trifft traf empfing
    empfangt getroffen treffen amtskollegen kollegen teilnahme beisein with to against about for
    by on from between meet meets met visit counterpart of"""
)
_ENGLISH_ADVERBS = frozenset(
    {"also", "later", "has", "had", "have", "then", "again", "previously", "earlier"}
)
_PRONOUNS = frozenset({"er", "sie", "he", "she"})
_STOP_AFTER = frozenset({"dass", "that", "ob", "weil", "because", "if", "whether"})


@dataclass(frozen=True, slots=True)
class Mention:
    """A person named in the text: token span, key, and the name as written."""

    first: int
    last: int  # exclusive
    key: str
    name: str
    full: bool  # written with a first name


@dataclass(frozen=True, slots=True)
class FoundSpeaker:
    key: str
    name: str


class _Token:
    """One word or punctuation mark; plain slots class because entries have ~200 of them."""

    __slots__ = ("capitalised", "end", "folded", "start", "text")

    def __init__(self, text: str, start: int) -> None:
        if "'" in text or "’" in text:
            text = _POSSESSIVE.sub("", text) or text
        self.text = text
        self.folded = _fold_word(text)
        self.start = start
        self.end = start + len(text)
        self.capitalised = text[0].isupper() or (
            "-" in text and bool(_PARTICLE_SURNAME.match(text))
        )


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    """Tickers repeat their vocabulary; folding each distinct word once saves a third."""
    return fold(word)


def _blank_quotes(text: str) -> str:
    return _QUOTES.sub(lambda m: " " * len(m.group(0)), text)


class SpeakerFinder:
    """Stateless apart from its word lists; ``find`` is safe to call from any thread."""

    def __init__(self, data: NameData | None = None) -> None:
        self._data = data or name_data()
        self._orgs = frozenset(fold(o) for o in self._data.organisations)

    def find(
        self, text: str, headline_end: int, place_spans: Sequence[tuple[int, int]]
    ) -> tuple[list[FoundSpeaker], list[tuple[int, int]]]:
        """Speakers in order of attribution, and the character spans of all person mentions.

        ``text`` is headline, newline, body; ``headline_end`` is the headline's length.
        ``place_spans`` keeps place names out of person names ("Präsident Russlands").
        """
        tokens = [_Token(m.group(0), m.start()) for m in _TOKEN.finditer(_blank_quotes(text))]
        placed = bytearray(len(text) + 1)
        for s, e in place_spans:
            placed[s:e] = b"\x01" * (e - s)
        in_place = [bool(placed[t.start]) for t in tokens]
        mentions = self._mentions(tokens, in_place)
        found: list[Mention] = []
        sentences = self._sentences(tokens)
        previous_subject: Mention | None = None
        for number, (s_start, s_end) in enumerate(sentences):
            sentence_mentions = [m for m in mentions if s_start <= m.first < s_end]
            last = tokens[s_end - 1]
            if number == 0 and last.text == ":" and last.start < headline_end:
                found.extend(sentence_mentions[:1])  # headline prefix "Sacharowa: …"
            found.extend(
                self._attributed(tokens, s_start, s_end, sentence_mentions, previous_subject)
            )
            subjects = [m for m in sentence_mentions if not self._governed(tokens, m)]
            if subjects:
                previous_subject = subjects[0]
        speakers = self._merge(found, mentions)
        spans = [(tokens[m.first].start, tokens[m.last - 1].end) for m in mentions]
        return speakers, spans

    # -- mentions -----------------------------------------------------------------------

    def _name_token(self, token: _Token, placed: bool) -> bool:
        return (
            token.capitalised
            and not placed
            and token.text[0].isalpha()
            and token.folded not in self._data.not_names
            and token.folded not in self._orgs
            and not self._data.is_role(token.folded)
        )

    def _mentions(self, tokens: list[_Token], in_place: list[bool]) -> list[Mention]:
        data = self._data
        mentions: list[Mention] = []
        i = 0
        n = len(tokens)
        while i < n:
            token = tokens[i]
            if not token.capitalised:
                i += 1
                continue
            end = 0
            full = False
            if self._first_name(token) and self._name_token(token, in_place[i]):
                end = self._extend_name(tokens, in_place, i + 1, 3, allow_places=True)
                full = end > i + 1
                if not full:
                    end = 0  # a first name alone ("Marine") is no mention
            elif i > 0 and data.is_role(tokens[i - 1].folded) and token.capitalised:
                # "Verteidigungsminister Israel Katz": the first word may look like a place.
                placed_first = in_place[i] and i + 1 < n and self._name_token(tokens[i + 1], False)
                if placed_first or self._name_token(token, in_place[i]):
                    end = self._extend_name(tokens, in_place, i + 1, 2)
                    full = end > i + 1 and self._first_name(token)
            if not end and self._known(token.folded) and self._name_token(token, in_place[i]):
                end = i + 1
            if end:
                words = [t.text for t in tokens[i:end]]
                words[-1] = self._strip_genitive(words[-1])
                mentions.append(Mention(i, end, speaker_key(words[-1]), " ".join(words), full))
                i = end
            else:
                i += 1
        seen = {m.key for m in mentions}
        covered = {k for m in mentions for k in range(m.first, m.last)}
        for index, token in enumerate(tokens):
            if not token.capitalised or index in covered:
                continue
            if not self._name_token(token, in_place[index]):
                continue
            bare = self._strip_genitive(token.text)
            key = surname_key(bare)
            if key in seen:
                mentions.append(Mention(index, index + 1, key, bare, False))
        mentions.sort(key=lambda m: m.first)
        return mentions

    def _first_name(self, token: _Token) -> bool:
        """ "Maria", and hyphenated "Abdul-Malik" or "Jean-Noël" by their first part."""
        first = self._data.first_names
        return token.folded in first or token.folded.split("-", 1)[0] in first

    def _extend_name(
        self,
        tokens: list[_Token],
        in_place: list[bool],
        j: int,
        limit: int,
        allow_places: bool = False,
    ) -> int:
        """End (exclusive) of the name words from ``j``: up to ``limit`` more, particles free.

        After a first name a surname may look like a place ("Oleg Nikolajew").
        """
        taken = 0
        end = j
        while j < len(tokens) and taken < limit:
            token = tokens[j]
            placed = in_place[j] and not (allow_places and taken == 0)
            if token.folded in _NAME_PARTICLES and j + 1 < len(tokens):
                nxt = tokens[j + 1]
                if nxt.folded in _NAME_PARTICLES or self._name_token(nxt, in_place[j + 1]):
                    j += 1
                    continue
            if not self._name_token(token, placed):
                break
            taken += 1
            j += 1
            end = j
        return end

    def _known(self, folded: str) -> bool:
        variants = self._data.variants
        return folded in variants or (folded.endswith("s") and folded[:-1] in variants)

    def _strip_genitive(self, word: str) -> str:
        """ "Putins" → "Putin" when the shorter form is a known surname."""
        if word.endswith("s") and len(word) > 3 and fold(word[:-1]) in self._data.variants:
            return word[:-1]
        return word

    # -- attribution --------------------------------------------------------------------

    def _sentences(self, tokens: list[_Token]) -> list[tuple[int, int]]:
        bounds: list[tuple[int, int]] = []
        start = 0
        for i, token in enumerate(tokens):
            if token.text not in _SENTENCE_END:
                continue
            if token.text == "." and i > 0:
                before = tokens[i - 1]
                after = tokens[i + 1] if i + 1 < len(tokens) else None
                if (
                    before.folded in _ABBREVIATIONS
                    or len(before.text) == 1
                    or before.text.isdigit()
                    or (after is not None and after.text[0].islower())
                ):
                    continue
            bounds.append((start, i + 1))
            start = i + 1
        if start < len(tokens):
            bounds.append((start, len(tokens)))
        return bounds

    @staticmethod
    def _governed(tokens: list[_Token], mention: Mention) -> bool:
        """Whether a preposition or meeting verb governs the mention ("mit Macron")."""
        i = mention.first - 1
        # Skip a role phrase: "mit dem französischen Präsidenten Emmanuel Macron".
        steps = 0
        while i >= 0 and steps < 4 and tokens[i].folded not in _NOT_SUBJECT_BEFORE:
            if tokens[i].text in {",", ".", ":", ";", "\n"} or tokens[i].folded in _ALL_VERBS:
                return False
            i -= 1
            steps += 1
        if i < 0 or tokens[i].folded not in _NOT_SUBJECT_BEFORE:
            return False
        # "chief of staff Gergely Gulyas": "of" governs only the word right after it.
        return tokens[i].folded != "of" or steps == 0

    def _attributed(
        self,
        tokens: list[_Token],
        start: int,
        end: int,
        mentions: list[Mention],
        previous_subject: Mention | None,
    ) -> list[Mention]:
        result: list[Mention] = []
        free = [m for m in mentions if not self._governed(tokens, m)]

        def after(index: int, window: int, skip_governed: bool = True) -> Mention | None:
            for m in mentions:
                if index < m.first <= index + window:
                    stop = any(
                        tokens[k].folded in _STOP_AFTER or tokens[k].folded in _PRONOUNS
                        for k in range(index + 1, m.first)
                    )
                    if stop:
                        return None
                    if skip_governed and m not in free:
                        continue
                    return m
            return None

        def before(index: int, window: int = 40) -> Mention | None:
            candidates = [m for m in free if m.last <= index and index - m.last < window]
            return candidates[-1] if candidates else None

        for i in range(start, end):
            word = tokens[i].folded
            found: Mention | None = None
            if word == "laut":
                found = after(i, 6, skip_governed=False)
            elif word == "according" and i + 1 < end and tokens[i + 1].folded == "to":
                found = after(i + 1, 8, skip_governed=False)
            elif word in _STATEMENT_NOUNS and any(
                tokens[k].folded == "nach" for k in range(max(start, i - 2), i)
            ):
                own = tokens[i - 1].folded == "eigenen"
                found = before(i) if own else after(i, 10, skip_governed=False)
            elif word == "zufolge":
                own = i >= 2 and tokens[i - 2].folded == "eigenen"
                found = before(i, 40 if own else 8)
            elif word == "so" and i > start and tokens[i - 1].text == ",":
                found = after(i, 4, skip_governed=False)
            elif word in _GERMAN_VERBS or word in _ENGLISH_VERBS:
                english = word in _ENGLISH_VERBS and word not in _GERMAN_VERBS
                inverted = not english or (
                    word in _INVERSION_VERBS and i > start and tokens[i - 1].text == ","
                )
                if inverted:
                    found = after(i, 12)
                    if found is None and i + 1 < end and tokens[i + 1].folded in _PRONOUNS:
                        found = before(i) or previous_subject
                if found is None and english:
                    # English keeps the subject next to its verb: "Peskov (also) told".
                    found = before(i, 3)
                    if found is not None and any(
                        tokens[k].folded not in _ENGLISH_ADVERBS for k in range(found.last, i)
                    ):
                        found = None
                elif found is None:
                    found = before(i)
                if found is None and any(
                    tokens[k].folded in _PRONOUNS for k in range(max(start, i - 3), i)
                ):
                    found = previous_subject  # "Sie sprach von …" after a named subject
            if found is None:
                continue
            for mention in self._coordinated(tokens, mentions, found):
                if mention not in result:
                    result.append(mention)
        return result

    @staticmethod
    def _coordinated(
        tokens: list[_Token], mentions: list[Mention], found: Mention
    ) -> list[Mention]:
        """``found`` plus people joined to it by "und"/"and": "Lawrow und Rubio erklärten"."""
        group = [found]
        by_last = {m.last: m for m in mentions}
        by_first = {m.first: m for m in mentions}
        current = found
        while current.first >= 2 and tokens[current.first - 1].folded in {"und", "and"}:
            previous = by_last.get(current.first - 1)
            if previous is None:
                break
            group.insert(0, previous)
            current = previous
        current = found
        while current.last + 1 < len(tokens) and tokens[current.last].folded in {"und", "and"}:
            following = by_first.get(current.last + 1)
            if following is None:
                break
            group.append(following)
            current = following
        return group

    @staticmethod
    def _merge(found: list[Mention], mentions: list[Mention]) -> list[FoundSpeaker]:
        """One speaker per key, named by the fullest form the entry uses."""
        order: list[str] = []
        for mention in found:
            if mention.key not in order:
                order.append(mention.key)
        speakers: list[FoundSpeaker] = []
        for key in order:
            forms = [m for m in mentions if m.key == key]
            best = max(forms, key=lambda m: (m.full, m.last - m.first, len(m.name)))
            speakers.append(FoundSpeaker(key, best.name))
        return speakers


_ALL_VERBS = _GERMAN_VERBS | _ENGLISH_VERBS
