"""Today's summary: data (counts, order, day bounds) and rendering (limits, valid HTML)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.records import StoredEntry
from ticker.summary import (
    MAX_ENTITIES,
    MAX_MESSAGES,
    Summary,
    TagCount,
    build_summary,
    day_bounds,
    render_summary_html,
    render_summary_text,
)

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 29)  # a Sunday


@dataclass(frozen=True)
class E:
    published_at: datetime
    headline: str
    url: str | None = "https://example.org/t#1"
    regions: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()


def at(hh: int, mm: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def sample() -> Summary:
    entries = [
        E(at(8, 5), "Angriff auf Belgorod", regions=("Belgorod",), speakers=("Gladkow",)),
        E(at(9, 30), "Charkiw unter Beschuss", regions=("Charkiw", "Belgorod")),
        E(at(18, 13), "Gladkow: Lage in Belgorod", regions=("Belgorod",), speakers=("Gladkow",)),
        E(at(12, 0), "Chárkiw meldet Treffer", regions=("Charkiw", "Chárkiw")),
        E(at(23, 59), "Spät am Abend", regions=("Kiew",), speakers=("Selenskyj",)),
        E(at(0, 0), "Mitternacht", regions=("Belgorod",)),
        E(at(0, 0, DAY + timedelta(days=1)), "Schon morgen", regions=("Kiew",)),
        E(at(23, 59, DAY - timedelta(days=1)), "Noch gestern"),
    ]
    return build_summary(entries, source_name="Liveticker Ukraine-Krieg", day=DAY, zone=BERLIN)


class _Checker(HTMLParser):
    """Telegram's rules as far as we use them: only <b> and <a href>, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.entities = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ("b", "a"), tag
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
            assert (attrs[0][1] or "").startswith(("http://", "https://"))
        assert not self.stack, "no nesting needed"
        self.stack.append(tag)
        self.entities += 1

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_message(message: str) -> tuple[str, int]:
    assert re.fullmatch(r"[^&]*(&(lt|gt|amp|quot|#x27);[^&]*)*", message, re.S), message
    checker = _Checker()
    checker.feed(message)
    checker.close()
    assert not checker.stack
    text = "".join(checker.text)
    assert len(message) <= 4096
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert checker.entities <= MAX_ENTITIES
    return text, checker.entities


def test_counts_and_order() -> None:
    summary = sample()
    assert summary.count == 6
    assert [line.time for line in summary.lines] == [
        "23:59",
        "18:13",
        "12:00",
        "09:30",
        "08:05",
        "00:00",
    ]
    assert summary.regions == (
        TagCount("Belgorod", 4),
        TagCount("Charkiw", 2),  # "Chárkiw" and "Charkiw" in one entry count once
        TagCount("Kiew", 1),
    )
    assert summary.speakers == (TagCount("Gladkow", 2), TagCount("Selenskyj", 1))


def test_top_limits_and_ties_alphabetical() -> None:
    entries = [E(at(10, i), f"E{i}", regions=(f"R{i}",)) for i in range(8)]
    summary = build_summary(entries, source_name="T", day=DAY, zone=BERLIN, top_regions=3)
    assert [t.name for t in summary.regions] == ["R0", "R1", "R2"]


def test_day_bounds_follow_dst() -> None:
    start, end = day_bounds(date(2026, 3, 29), BERLIN)
    assert end - start == timedelta(hours=23)
    start, end = day_bounds(date(2026, 10, 25), BERLIN)
    assert end - start == timedelta(hours=25)
    assert day_bounds(DAY, BERLIN)[0] == datetime(2026, 11, 28, 23, 0, tzinfo=UTC)


def test_html_reads_like_a_digest() -> None:
    messages = render_summary_html(sample(), "en")
    assert len(messages) == 1
    check_message(messages[0])
    lines = messages[0].split("\n")
    assert lines[0] == "<b>Liveticker Ukraine-Krieg – Sunday, 29 November 2026</b>"
    assert lines[1] == (
        "6 entries · Most present: 📍 Belgorod (4), Charkiw (2), Kiew (1)"
        " · 🗣 Gladkow (2), Selenskyj (1)"
    )
    assert lines[2] == ""
    assert lines[3] == '23:59 <a href="https://example.org/t#1">Spät am Abend</a>'
    assert "Sonntag, 29. November 2026" in render_summary_html(sample(), "de")[0]
    assert "6 Einträge · Am häufigsten: 📍 Belgorod (4)" in render_summary_html(sample())[0]


def test_focus_and_singular() -> None:
    summary = build_summary(
        [E(at(9, 0), "Eins", regions=("Belgorod",))],
        source_name="T",
        day=DAY,
        zone=BERLIN,
        focus="Belgorod",
    )
    assert "1 Eintrag zu Belgorod ·" in render_summary_html(summary)[0]
    assert "1 entry about Belgorod ·" in render_summary_text(summary, "en")


def test_empty_day() -> None:
    summary = build_summary([], source_name="T", day=DAY, zone=BERLIN)
    assert summary.count == 0 and summary.lines == ()
    messages = render_summary_html(summary, "en")
    assert messages == ["<b>T – Sunday, 29 November 2026</b>\nNo entries yet."]
    assert render_summary_text(summary) == "T – Sonntag, 29. November 2026\nNoch keine Einträge."


def test_everything_is_escaped_and_bad_urls_are_not_links() -> None:
    entries = [
        E(at(10, 0), "<script>alert(1)</script> & Co", url="javascript:alert(1)"),
        E(at(11, 0), "Quote \" and ' in <b>", url='https://x.org/?a=1&b="2"'),
        E(at(12, 0), "Space in URL", url="https://x.org/a b"),
        E(at(13, 0), "No URL", url=None),
    ]
    summary = build_summary(entries, source_name="<Ticker & Co>", day=DAY, zone=BERLIN, focus="<i>")
    (message,) = render_summary_html(summary, "de")
    text, entities = check_message(message)
    assert entities == 2  # title, the one valid link
    assert "<script>" in text and "&lt;script&gt;" in message
    assert 'href="https://x.org/?a=1&amp;b=&quot;2&quot;"' in message
    assert "&lt;Ticker &amp; Co&gt;" in message


def many(n: int, headline: str = "Meldung", url_len: int = 40) -> Summary:
    entries = [
        E(
            at(0, 0) + timedelta(minutes=i),
            f"{headline} {i}",
            url="https://example.org/" + "x" * url_len + f"#{i}",
        )
        for i in range(n)
    ]
    return build_summary(entries, source_name="T", day=DAY, zone=BERLIN)


def test_busy_day_splits_into_messages_within_limits() -> None:
    messages = render_summary_html(many(80), "de")
    assert 1 < len(messages) <= MAX_MESSAGES
    seen = []
    for message in messages:
        text, _ = check_message(message)
        seen += re.findall(r"Meldung (\d+)", text)
    assert [int(i) for i in seen] == list(range(79, -1, -1))
    assert "weitere" not in "".join(messages)


def test_oldest_lines_fold_into_and_n_more() -> None:
    summary = many(1000, headline="Eine ziemlich lange Schlagzeile über die Lage an der Front")
    messages = render_summary_html(summary, "en")
    assert len(messages) == MAX_MESSAGES
    shown = []
    for message in messages:
        text, _ = check_message(message)
        shown += [int(i) for i in re.findall(r"Front (\d+)", text)]
    assert shown == list(range(999, 999 - len(shown), -1))  # the newest, in order
    last = messages[-1].split("\n")[-1]
    assert last == f"… and {1000 - len(shown)} more"


def test_entity_limit_splits_short_lines() -> None:
    messages = render_summary_html(many(250, headline="X", url_len=0), "de")
    for message in messages:
        _, entities = check_message(message)
        assert entities <= MAX_ENTITIES
    assert len(messages) == MAX_MESSAGES and "und" in messages[-1].split("\n")[-1]


def test_pathological_sizes_stay_valid() -> None:
    entries = [
        E(at(10, i % 60), "ä&<" * 3000, url="https://x.org/" + "&" * 3000, regions=("R" * 500,))
        for i in range(30)
    ]
    summary = build_summary(entries, source_name="S" * 10_000, day=DAY, zone=BERLIN)
    for message in render_summary_html(summary, "de"):
        check_message(message)


def test_plain_text_has_every_line() -> None:
    text = render_summary_text(many(300), "en")
    assert text.count("Meldung") == 300
    assert "https://example.org/" in text and "<" not in text


def test_works_with_stored_entries() -> None:
    stored = StoredEntry(
        id=1,
        source_id="u",
        key="k",
        published_at=at(7, 7),
        headline="Stored",
        body="",
        url=None,
        regions=("Kiew",),
        speakers=(),
        first_seen_at=at(7, 8),
    )
    summary = build_summary([stored], source_name="T", day=DAY, zone=BERLIN)
    assert summary.count == 1 and summary.lines[0].time == "07:07"


@given(
    st.lists(
        st.tuples(
            st.integers(0, 24 * 60 - 1),
            st.text(max_size=400),
            st.one_of(st.none(), st.text(max_size=100).map(lambda s: "https://e.org/" + s)),
            st.lists(st.text(max_size=30), max_size=4),
        ),
        max_size=300,
    ),
    st.sampled_from(["de", "en", "fr"]),
)
@settings(max_examples=60, deadline=None)
def test_any_input_renders_valid_messages(
    rows: list[tuple[int, str, str | None, list[str]]], lang: str
) -> None:
    entries = [
        E(at(0, 0) + timedelta(minutes=m), h, url=u, regions=tuple(r)) for m, h, u, r in rows
    ]
    summary = build_summary(entries, source_name="Ticker", day=DAY, zone=BERLIN)
    messages = render_summary_html(summary, lang)
    assert 1 <= len(messages) <= MAX_MESSAGES
    for message in messages:
        check_message(message)
    render_summary_text(summary, lang)
