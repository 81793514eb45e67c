"""Parsing layer: the seed page, every layer, and the pitfalls listed in TICKER_FORMATS.md."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ticker.model import PAGE_FORMATS, Entry, ParseOptions
from ticker.parse import parse_page, parse_page_async
from ticker.parse.cleanup import split_headline
from ticker.parse.timeheaders import match_header, unglue

FIXTURES = Path(__file__).parent / "fixtures"
PARSE = FIXTURES / "parse"
BERLIN = ZoneInfo("Europe/Berlin")
REF = date(2026, 1, 21)


def _read(name: str) -> str:
    return (PARSE / name).read_text(encoding="utf-8")


def _parse(text: str, **options: object) -> list[Entry]:
    result = parse_page(text, ParseOptions(**options))  # type: ignore[arg-type]
    return list(result.entries)


def _times(entries: list[Entry]) -> list[str]:
    return [e.published_at.isoformat() for e in entries]


# --- the seed page -------------------------------------------------------------------------


def test_seed_gives_ten_entries_on_the_first_entry_date(seed_text: str) -> None:
    result = parse_page(seed_text, ParseOptions(format="text", timezone=BERLIN))
    clocks = ["18:13", "17:37", "17:05", "16:32", "16:04", "15:27", "14:55", "14:26", "13:53"]
    clocks.append("13:30")
    assert result.layer == "text"
    assert [e.published_at.strftime("%H:%M") for e in result.entries] == clocks
    for entry in result.entries:
        assert entry.published_at.date() == date(2026, 1, 21)
        assert entry.published_at.utcoffset() == timedelta(hours=1)
    first, before_last, last = result.entries[0], result.entries[-2], result.entries[-1]
    assert first.headline == "Sacharowa: Lage in Krasnoarmeisk belegt bewussten Terror Kiews"
    assert before_last.body.endswith('zerfallen würden."')
    assert last.headline == (
        "L’AntiDiplomatico: Angst vor den USA treibt Europa zum Dialog mit Russland"
    )
    assert all("Liveticker Ukraine-Krieg" not in e.headline for e in result.entries)
    assert "erkannt.Am meisten" in last.body
    assert "Durch die Sperrung von RT" in last.body  # no end marker configured


def test_seed_auto_format_and_end_marker(seed_text: str) -> None:
    result = parse_page(seed_text, ParseOptions(end_markers=("Durch die Sperrung von RT",)))
    assert result.layer == "text"
    assert len(result.entries) == 10
    last = result.entries[-1]
    assert "Durch die Sperrung" not in last.body
    assert "Am 24. Februar" not in last.body
    assert "Tausende Ukrainer" not in last.body
    assert last.body.endswith('"die europäischen Pläne vollständig zerstöre".')
    assert "erkannt.Am meisten" in last.body
    for entry in result.entries:
        assert entry.body == entry.body.strip()
        assert all(line.strip() == line and line for line in entry.body.split("\n"))


def test_seed_keys_are_stable_and_unique(seed_text: str) -> None:
    one = parse_page(seed_text, ParseOptions(source_id="rt"))
    two = parse_page(seed_text, ParseOptions(source_id="rt", page_url="https://x.example/a"))
    assert [e.key for e in one.entries] == [e.key for e in two.entries]
    assert len({e.key for e in one.entries}) == 10
    assert all(e.url is None for e in one.entries)
    assert all(e.url == "https://x.example/a" for e in two.entries)


async def test_async_wrapper(seed_text: str) -> None:
    result = await parse_page_async(seed_text, ParseOptions())
    assert len(result.entries) == 10
    assert asyncio.get_running_loop() is not None


# --- generic HTML / text time headers --------------------------------------------------------


def test_nzz_multi_day_headings_before_entries() -> None:
    result = parse_page(
        _read("nzz_multiday_de.html"), ParseOptions(page_url="https://nzz.example/t")
    )
    assert result.layer == "html"
    assert _times(list(result.entries)) == [
        "2024-08-27T11:04:00+02:00",
        "2024-08-27T02:59:00+02:00",
        "2024-08-26T23:15:00+02:00",
        "2024-08-26T08:30:00+02:00",
    ]
    first, second = result.entries[0], result.entries[1]
    assert first.key == "block-4f3a9c21"
    assert first.url == "https://nzz.example/t#block-4f3a9c21"
    assert first.headline == "Russland greift Kiew mit über 100 Drohnen an"
    assert "um 12.30 Uhr trat er vor die Presse" in first.body  # prose time: no split
    # the summary box repeats the 11.04 entry and the ad/teaser are gone
    assert sum(e.headline.startswith("Russland greift Kiew") for e in result.entries) == 1
    assert "Anzeige" not in " ".join(e.body for e in result.entries)
    assert "Lesen Sie auch" not in second.body
    assert "Warum die Ukraine Kursk" not in second.body
    assert second.body.endswith("sagte Selenski in seiner Videoansprache.")


def test_headings_after_entries_close_their_day() -> None:
    entries = _parse(_read("headings_after_de.txt"), page_date=date(2024, 7, 20))
    assert _times(entries) == [
        "2024-07-16T18:10:00+02:00",
        "2024-07-16T09:45:00+02:00",
        "2024-07-15T22:30:00+02:00",
        "2024-07-15T07:05:00+02:00",
    ]


def test_year_less_heading_near_new_year_belongs_to_previous_year() -> None:
    entries = _parse(_read("newyear_de.txt"), page_date=date(2025, 1, 1))
    assert _times(entries) == ["2025-01-01T00:20:00+01:00", "2024-12-31T23:10:00+01:00"]


def test_midnight_crossing_without_headings_uses_page_meta_date() -> None:
    result = parse_page(_read("mdr_midnight_de.html"), ParseOptions())
    assert result.layer == "html"
    assert _times(list(result.entries)) == [
        "2025-03-02T00:41:00+01:00",
        "2025-03-02T00:05:00+01:00",
        "2025-03-01T23:50:00+01:00",  # a few minutes out of order: same day, sorted
        "2025-03-01T23:39:00+01:00",
        "2025-03-01T21:12:00+01:00",
    ]
    assert result.entries[1].headline == "Feuer in Magdeburger Altstadt"
    assert result.entries[-1].headline == "Damit beenden wir für heute den Live-Ticker"


def test_midnight_crossing_with_caller_date_and_dst() -> None:
    text = "Ticker\n01:10 Uhr\nNach der Zeitumstellung\nText.\n23:40 Uhr\nVor Mitternacht\nText.\n"
    entries = _parse(text, page_date=date(2025, 3, 30))
    assert _times(entries) == ["2025-03-30T01:10:00+01:00", "2025-03-29T23:40:00+01:00"]
    summer = _parse("10:00 Uhr\nSommerzeit\nText.", page_date=date(2025, 3, 30))
    assert _times(summer) == ["2025-03-30T10:00:00+02:00"]


def test_flattened_headers_after_quotes_and_punctuation() -> None:
    entries = _parse(_read("flattened_de.txt"), page_date=date(2024, 7, 20))
    assert [e.headline for e in entries] == [
        "Selenski trifft Starmer in London",
        "Explosionen in Odessa",
        "Luftalarm in der ganzen Ukraine",
        "Parlament verlängert Kriegsrecht",
    ]
    assert _times(entries)[:3] == [
        "2024-07-18T11:04:00+02:00",  # "18. 7.11.04 Uhr": the date, then 11.04 — never 7.11
        "2024-07-18T06:20:00+02:00",
        "2024-07-18T00:45:00+02:00",
    ]
    assert "sprechen.Der Besuch war nicht angekündigt worden." in entries[0].body
    assert entries[1].body.endswith('sagte der Gouverneur."')
    assert "Gegen 22.10 Uhr hieß es" in entries[2].body
    assert "Um 12.30 Uhr trat er vor die Presse." in entries[2].body


@pytest.mark.parametrize(
    "text",
    [
        "um 12.30 Uhr trat er vor die Presse",
        "Er sagte, um 12.30 Uhr trat er vor die Presse.",
        "Donnerstag, 18. 7.",
        "2.500 Soldaten wurden verlegt.",
        "1.50 Euro kostet das Brot.",
    ],
)
def test_not_a_header(text: str) -> None:
    assert match_header(text, REF) is None


@pytest.mark.parametrize(
    ("line", "clock", "rest"),
    [
        ("18:13 Uhr", "18:13", ""),
        ("11.04 Uhr: Headline", "11:04", "Headline"),
        ("2.59 Uhr: Nachts", "02:59", "Nachts"),
        ("23:39 Uhr | Headline", "23:39", "Headline"),
        ("+++ 22.45 Uhr: Text +++", "22:45", "Text +++"),
        ("+++ 23:27 Headline +++", "23:27", "Headline +++"),
        ("23.59 Uhr, Headline: body", "23:59", "Headline: body"),
        ("Update vom 22. März, 14.30 Uhr: Neues", "14:30", "Neues"),
        ("11:48 GMT", "11:48", ""),
        ("3:15pm Rally starts", "15:15", "Rally starts"),
    ],
)
def test_header_shapes(line: str, clock: str, rest: str) -> None:
    header = match_header(line, REF)
    assert header is not None
    assert header.clock.strftime("%H:%M") == clock
    assert header.rest == rest


def test_unglue_splits_only_after_sentence_ends() -> None:
    assert unglue('würden."13:30 Uhr') == 'würden."\n13:30 Uhr'
    assert unglue("Israel.06.20 Uhr: X") == "Israel.\n06.20 Uhr: X"
    assert unglue("Donnerstag, 18. 7.11.04 Uhr") == "Donnerstag, 18. 7.11.04 Uhr"
    assert unglue("um 12.30 Uhr trat er") == "um 12.30 Uhr trat er"
    assert unglue("erkannt.Am meisten") == "erkannt.Am meisten"


def test_ntv_plus_headers() -> None:
    entries = _parse(_read("ntv_de.txt"), page_date=date(2024, 5, 2))
    assert [e.headline for e in entries] == [
        "Selenskyj: Brauchen mehr Patriot-Systeme",
        "Explosionen in Charkiw",
        "Russland meldet Abschuss von Drohnen",
        "Kreml: Gespräche nur ohne Vorbedingungen",
    ]
    assert [e.published_at.strftime("%H:%M") for e in entries] == [
        "23:27", "22:45", "21:45", "21:10",
    ]  # fmt: skip
    assert entries[1].body == "Der Bürgermeister meldet mehrere Einschläge."  # "Werbung" dropped
    assert entries[2].body.startswith("Das Verteidigungsministerium in Moskau")


def test_inline_headline_without_body_is_split() -> None:
    text = "10.00 Uhr: Damit beenden wir für heute den Live-Ticker. Morgen früh geht es weiter."
    (entry,) = _parse(text, page_date=date(2024, 1, 2))
    assert entry.headline == "Damit beenden wir für heute den Live-Ticker"
    assert entry.body == "Morgen früh geht es weiter."
    assert split_headline("Kurz") == ("Kurz", "")


def test_pinned_container_and_boilerplate_blocks() -> None:
    result = parse_page(_read("pinned_de.html"), ParseOptions(page_date=date(2024, 9, 10)))
    assert [e.key for e in result.entries] == ["751107", "751106", "751105"]
    assert _times(list(result.entries))[0] == "2024-09-10T14:20:00+02:00"
    bodies = " ".join(e.body for e in result.entries)
    assert "spenden" not in bodies
    assert "Mehr zum Thema" not in bodies


def test_old_entry_repeated_at_top_is_emitted_once_in_its_place() -> None:
    entries = _parse(_read("repeated_top_de.txt"), page_date=date(2024, 9, 1))
    assert [e.published_at.strftime("%H:%M") for e in entries] == ["16:40", "14:02", "10:15"]
    assert all(e.published_at.date() == date(2024, 9, 1) for e in entries)


def test_english_live_blog_with_zone_suffix_and_relative_spans() -> None:
    result = parse_page(_read("english_gmt.html"), ParseOptions(timezone=ZoneInfo("Europe/London")))
    assert result.layer == "html"
    assert [e.key for e in result.entries] == ["post-7781", "post-7779", "post-7770"]
    assert _times(list(result.entries)) == [
        "2024-07-05T01:48:00+01:00",
        "2024-07-04T23:58:00+01:00",
        "2024-07-04T22:00:00+01:00",
    ]
    assert result.entries[0].body == "Labour has passed the 326 seats needed for a majority."
    assert result.entries[1].body == "Sunderland is traditionally the first to declare."


# --- JSON-LD, feeds, selectors ---------------------------------------------------------------


def test_jsonld_live_blog_with_entities_and_breaks() -> None:
    result = parse_page(_read("jsonld_en.html"), ParseOptions(timezone=ZoneInfo("Europe/London")))
    assert result.layer == "jsonld"
    assert len(result.entries) == 5  # more than the two the HTML shows
    first = result.entries[0]
    assert first.key == "live-update-5"
    assert first.url == "https://news.example.com/live/storm#live-update-5"
    assert first.published_at == datetime.fromisoformat("2025-01-24T11:48:00+00:00")
    assert first.body == (
        "The Met Office has extended its red warning.\nGusts of up to 100mph are expected.\n"
        "It's the strongest storm in a decade."
    )
    assert "&amp;" not in result.entries[1].body and "&" in result.entries[1].body
    assert result.entries[-1].headline == "Good morning and welcome to our live coverage"
    forced = parse_page(_read("jsonld_en.html"), ParseOptions(format="html"))
    assert forced.layer == "html" and len(forced.entries) == 2


def test_rss_same_guid_changed_title_keeps_key_changes_hash() -> None:
    one = parse_page(_read("rss_v1.xml"), ParseOptions(), "application/rss+xml")
    two = parse_page(_read("rss_v2.xml"), ParseOptions(format="rss"))
    assert one.layer == two.layer == "rss"
    assert (
        [e.key for e in one.entries]
        == [e.key for e in two.entries]
        == [
            "ticker-102",
            "ticker-101",
        ]
    )
    assert one.entries[0].published_at.isoformat() == "2024-08-27T14:05:00+02:00"
    assert one.entries[0].content_hash != two.entries[0].content_hash
    assert one.entries[1].content_hash == two.entries[1].content_hash
    assert one.entries[0].body == "Beide Seiten haben einer Waffenruhe zugestimmt."


def test_atom_feed_keeps_offsets() -> None:
    result = parse_page(_read("atom.xml"), ParseOptions())
    assert result.layer == "atom"
    assert [e.key for e in result.entries] == ["urn:uuid:entry-3", "urn:uuid:entry-2"]
    assert result.entries[0].published_at.isoformat() == "2024-11-06T01:35:00-05:00"
    assert result.entries[0].body == "The Associated Press called Pennsylvania.\nIt's a key state."
    assert result.entries[0].url == "https://ex.com/live#entry-3"


def test_selectors_read_machine_times_first() -> None:
    selectors = {
        "entry": ".lb-post",
        "time": ".lb-time",
        "headline": ".lb-title",
        "body": ".lb-body",
        "id": "data-post-id",
    }
    result = parse_page(
        _read("selectors_de.html"),
        ParseOptions(selectors=selectors, page_url="https://ex.org/lb"),
    )
    assert result.layer == "selectors"
    assert [e.key for e in result.entries] == ["9001", "9000", "8999"]
    assert _times(list(result.entries)) == [
        "2024-08-27T14:05:00+02:00",  # data-post-time in ms, shown as "vor 5 Minuten"
        "2024-08-27T11:00:00+02:00",
        "2024-08-27T07:15:00+02:00",
    ]
    assert result.entries[0].body == (
        "Bundeskanzler Scholz ist zu Gesprächen in Paris eingetroffen.\n"
        "Themen sind die Ukraine und der Haushalt."
    )
    assert result.entries[0].url == "https://ex.org/lb#9001"


def test_data_sort_time_in_seconds() -> None:
    page = '<div class="e" id="post-1" data-sort-time="1724760300"><h4>Titel</h4><p>Text.</p></div>'
    result = parse_page(page, ParseOptions(selectors={"entry": ".e", "headline": "h4"}))
    assert result.entries[0].published_at.isoformat() == "2024-08-27T14:05:00+02:00"
    assert result.entries[0].body == "Text."


# --- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        "",
        "   ",
        "\x00\x01\x02binary\xff",
        "<html><body><div>18:13 Uhr",
        '<script type=\'application/ld+json\'>{"@type":"LiveBlogPosting", broken',
        '<?xml version="1.0"?><rss><channel><item><title>x',
        "18:13 Uhr\n",
        "99:99 Uhr\nX",
    ],
)
def test_garbage_never_raises(page: str) -> None:
    for fmt in PAGE_FORMATS:
        result = parse_page(page, ParseOptions(format=fmt))
        for entry in result.entries:
            assert entry.headline
        if not result.entries:
            assert result.warnings


@pytest.mark.parametrize(
    "page",
    [
        "<script " * 20_000,
        '<script type="application/ld+json">{"@type":"LiveBlogPosting"' * 5_000,
        "<br " * 50_000,
        "<div class=" * 30_000,
        "12:30 Uhr: " * 30_000,
        "+++ 12:30 " * 30_000,
        "Dienstag, 27. August 2024\n" * 20_000,
        "a" * 500_000,
        "<p>" + "x. 1" * 100_000,
    ],
)
def test_pathological_pages_stay_fast(page: str) -> None:
    started = time.perf_counter()
    for fmt in PAGE_FORMATS:
        parse_page(page, ParseOptions(format=fmt))
    assert time.perf_counter() - started < 5


def test_feed_text_is_never_opened_as_path_or_url() -> None:
    path = str(PARSE / "rss_v1.xml")
    assert not parse_page(path, ParseOptions(format="rss")).entries
    assert not parse_page("http://127.0.0.1:9/feed.xml", ParseOptions(format="rss")).entries


def test_oldest_first_page_steps_forward_over_midnight() -> None:
    text = "Ticker\n22:10 Uhr\nA\nText a.\n23:30 Uhr\nB\nText b.\n00:20 Uhr\nC\nText c.\n"
    entries = _parse(text, page_date=date(2024, 5, 1))
    assert [e.headline for e in entries] == ["C", "B", "A"]
    assert _times(entries) == [
        "2024-05-02T00:20:00+02:00",
        "2024-05-01T23:30:00+02:00",
        "2024-05-01T22:10:00+02:00",
    ]


def test_update_header_with_date_and_html_breaks() -> None:
    page = (
        "<html><body><main><p>Update vom 22. März, 14.30 Uhr: Regierung tritt zurück</p>"
        "<p>Der Premier hat seinen Rücktritt erklärt.<br>Neuwahlen sind geplant.</p>"
        "</main></body></html>"
    )
    (entry,) = _parse(page, page_date=date(2025, 3, 23))
    assert entry.published_at.isoformat() == "2025-03-22T14:30:00+01:00"
    assert entry.headline == "Regierung tritt zurück"
    assert entry.body == "Der Premier hat seinen Rücktritt erklärt.\nNeuwahlen sind geplant."


def test_no_date_anywhere_uses_today_in_zone() -> None:
    (entry,) = _parse("09:15 Uhr\nMorgenlage\nAlles ruhig.", timezone=ZoneInfo("Asia/Tokyo"))
    assert entry.published_at.tzinfo == ZoneInfo("Asia/Tokyo")
    assert entry.published_at.date() == datetime.now(ZoneInfo("Asia/Tokyo")).date()


def test_bare_jsonld_document() -> None:
    document = (
        '{"@type": ["LiveBlogPosting"], "liveBlogUpdate": {"@type": "BlogPosting", '
        '"@id": "update-77", "datePublished": "2024-03-01T09:00:00", "headline": "Start", '
        '"articleBody": "Guten Morgen."}}'
    )
    result = parse_page(document, ParseOptions(page_url="https://ex.org/p"), "application/ld+json")
    (entry,) = result.entries
    assert result.layer == "jsonld"
    assert entry.key == "update-77"
    assert entry.url == "https://ex.org/p#update-77"
    assert entry.published_at.isoformat() == "2024-03-01T09:00:00+01:00"  # naive: source zone


def test_generic_html_prefers_time_datetime_attributes() -> None:
    page = (
        "<html><body><main>"
        '<div id="post-3"><time datetime="2024-10-27T00:30:00Z">2:30</time> Uhr'
        "<h3>Nach der Zeitumstellung</h3><p>Die Uhren wurden zurückgestellt.</p>"
        '<p>Treffen um <time datetime="2024-10-26T12:00:00+02:00">12:00</time> Uhr.</p></div>'
        '<div id="post-2"><p><time datetime="2024-10-26T21:05:00+02:00">21:05 Uhr</time></p>'
        "<h3>Abendlage</h3><p>Alles ruhig.</p></div>"
        '<div id="post-1"><p>08:00 Uhr</p><h3>Morgenlage</h3><p>Guten Morgen.</p></div>'
        "</main></body></html>"
    )
    entries = _parse(page)
    assert [e.key for e in entries] == ["post-3", "post-2", "post-1"]
    assert _times(entries) == [
        "2024-10-27T02:30:00+02:00",  # the ambiguous hour, told apart by the attribute
        "2024-10-26T21:05:00+02:00",
        "2024-10-26T08:00:00+02:00",  # no attribute: dated from the entry above it
    ]
    assert entries[0].body == "Die Uhren wurden zurückgestellt.\nTreffen um 12:00 Uhr."


def test_bare_header_followed_by_paragraph_gets_first_sentence_as_headline() -> None:
    paragraph = (
        "Die Bundesregierung hat am Mittag neue Hilfen für die Ukraine angekündigt. Das Paket "
        "umfasst Luftabwehrsysteme, Munition und Mittel für den Wiederaufbau der Energienetze, "
        "wie ein Sprecher in Berlin sagte."
    )
    (entry,) = _parse(f"12:40 Uhr\n{paragraph}\nZweiter Absatz.", page_date=date(2024, 6, 3))
    assert (
        entry.headline
        == "Die Bundesregierung hat am Mittag neue Hilfen für die Ukraine angekündigt"
    )
    assert entry.body.startswith("Das Paket umfasst")
    assert entry.body.endswith("\nZweiter Absatz.")


def test_summary_box_ends_at_next_entry_container() -> None:
    page = (
        "<main><div><h2>Das Wichtigste in Kürze</h2><ul><li>10.00 Uhr: Gipfel beginnt</li></ul>"
        "</div>"
        '<div id="block-0a0b0c0d"><p>10.00 Uhr: Gipfel beginnt</p><p>Kurz.</p></div></main>'
    )
    (entry,) = _parse(page, page_date=date(2024, 6, 3))
    assert entry.key == "block-0a0b0c0d"
    assert entry.body == "Kurz."


def test_byte_order_mark_and_crlf() -> None:
    (entry,) = _parse("\ufeff18:13 Uhr\r\nTitel\r\nText.\r\n", page_date=date(2024, 1, 5))
    assert entry.headline == "Titel" and entry.body == "Text."


def test_wrapper_id_is_not_an_entry_key() -> None:
    page = (
        '<main><div id="liveblog-2024"><div id="post-content">'
        + "".join(f"<p>{h}:00 Uhr</p><h3>Meldung {h}</h3><p>Text {h}.</p>" for h in (12, 11, 10))
        + "</div></div></main>"
    )
    entries = _parse(page, page_date=date(2024, 6, 3), page_url="https://ex.org/t")
    assert len(entries) == 3
    assert all(e.key.startswith("h") and e.url == "https://ex.org/t" for e in entries)
