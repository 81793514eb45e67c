"""Parser shortcuts must agree with the plain code they replace, on any input.

Each shortcut in ``ticker.parse`` and ``ticker.text.fold`` skips work when a cheap test proves
the result; these properties hold every one of them to the straightforward version.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ticker.parse import cleanup, dates, timeheaders
from ticker.text import _fold_unicode, fold

_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_PIECES = [*_SPACES, "a", "Ä", "1", "x y", "\u200b", "`", "ß", "é", "e\u0301", "’", "Uhr", ":"]
_TEXT = st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=30).map("".join)


def _plain_collapse(text: str) -> str:
    return " ".join(text.split())


def test_odd_spaces_are_every_whitespace_but_the_space() -> None:
    assert set(cleanup._ODD_SPACES) == set(_SPACES) - {" "}


@settings(max_examples=400)
@given(_TEXT)
def test_collapse_matches_split_and_join(text: str) -> None:
    assert cleanup.collapse(text) == _plain_collapse(text)


@settings(max_examples=400)
@given(_TEXT, st.sampled_from(["\x1e", "\n", "\t"]))
def test_collapsed_parts_match_split_and_join(text: str, separator: str) -> None:
    expected = [part for part in map(_plain_collapse, text.split(separator)) if part]
    assert cleanup.collapsed_parts(text, separator) == expected


@settings(max_examples=400)
@given(_TEXT)
def test_collapsed_lines_match_splitlines(text: str) -> None:
    expected = [line for line in map(_plain_collapse, text.splitlines()) if line]
    assert cleanup.collapsed_lines(text) == expected


@settings(max_examples=400)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40) | _TEXT)
def test_headline_folding_matches_fold(headline: str) -> None:
    assert fold(headline) == _fold_unicode(headline)


_DATE_PIECES = [
    "Dienstag, ", "Di. ", "Mo ", "sunday ", "27. ", "18.", " 7.", "2024", "24", "3rd ", "1st ",
    "März", "MÄRZ ", "Sept. ", "june ", "12 ", "31", "00", "9", ".", ",", " ", "x", "St", "ſt",
]  # fmt: skip


@settings(max_examples=600)
@given(st.lists(st.sampled_from(_DATE_PIECES), max_size=6).map("".join), st.integers(0, 3))
def test_date_start_check_rejects_no_date(text: str, pos: int) -> None:
    """The one-call pre-check only ever rejects text that none of the date patterns match."""
    if dates._DATE_START.match(text, pos) is None:
        patterns = (dates._NUM_DATE, dates._DE_DATE, dates._EN_DMY, dates._EN_MDY)
        assert all(pattern.match(text, pos) is None for pattern in patterns)


_HEADER_PIECES = [
    *_DATE_PIECES, "+++", "+++ ", "++", "Update ", "update  vom ", "Nachtrag am ", "from ", "on ",
    "18:13", "11.04 ", "Uhr", " Uhr: ", "GMT", "3:15pm", "Meldung", "\n", "\t", "…", '"',
]  # fmt: skip
_HEADERISH = st.lists(st.sampled_from(_HEADER_PIECES), max_size=8).map("".join)
_PLUS = re.compile(r"\+\+\+\s*")
_UPDATE = re.compile(r"(?:Update|Aktualisierung|Nachtrag)\s+(?:vom|from|am|on)\s+", re.I)


@settings(max_examples=600)
@given(_HEADERISH)
def test_header_lead_ends_where_plus_and_update_end(line: str) -> None:
    """One atomic ``_LEAD`` call is ``+++`` and then ``Update vom`` matched one after the other."""
    plus = _PLUS.match(line)
    pos = plus.end() if plus else 0
    update = _UPDATE.match(line, pos)
    pos = update.end() if update else pos
    lead = timeheaders._LEAD.match(line)
    if lead is not None:
        assert (lead.end(), lead["plus"] is not None) == (pos, plus is not None)
    else:  # rejected: neither a date nor a clock can follow
        assert dates.match_date(line, pos) is None
        assert not line[pos : pos + 1].isdecimal()


@settings(max_examples=400)
@given(_HEADERISH)
def test_glue_anchors_are_the_alternation_matches(text: str) -> None:
    anchors = [(found.start(), found[0]) for found in timeheaders._glue_anchors(text)]
    assert anchors == [(found.start(), found[0]) for found in re.finditer(r"Uhr\b|\+\+\+", text)]


def test_deny_starts_cover_every_line_start_the_deny_list_accepts() -> None:
    """``is_boilerplate`` skips the regex for other starts: none of them may match."""
    letters = {letter for prefix in cleanup.DENY_PREFIXES for letter in prefix[:2]}
    assert all(letter.isalpha() and letter.islower() for letter in letters)
    any_letter = re.compile("[" + "".join(sorted(letters)) + "]", re.IGNORECASE)
    accepted = [chr(c) for c in range(0x110000) if any_letter.fullmatch(chr(c))]
    for letter in letters:
        forms = cleanup._CASEFOLDS_OF.get(letter, letter)
        taken = [char for char in accepted if re.fullmatch(letter, char, re.IGNORECASE)]
        assert all(char.casefold() in forms for char in taken), letter
    assert cleanup.is_boilerplate("HİNWEIS: diese Meldung wird laufend aktualisiert")
    assert cleanup.is_boilerplate("DıSCLAIMER")


_LINE_PIECES = [*_HEADER_PIECES, "Nach Angaben der Behörden ", "x" * 40, "²", "٣", "Ä", "ſ", "\x01"]


@settings(max_examples=600)
@given(st.lists(st.sampled_from(_LINE_PIECES) | st.text(max_size=8), max_size=12).map("".join))
def test_prose_check_only_vouches_for_body_paragraphs(line: str) -> None:
    """A line ``_PROSE`` takes for body text is one the full classification takes for it."""
    assert timeheaders._PROSE.match("Nach Angaben der Behörden flogen in der Nacht Drohnen heran.")
    if timeheaders._PROSE.match(line):
        assert not line.startswith(timeheaders.ID_MARK)
        assert not timeheaders._could_be_header(line)
        assert len(line) >= 60
