"""Tests for bot.render: the SPEC §5 format, escaping, shortening and the 4096 limit."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.render import RenderedEntry, format_time, render_entries, render_plain

BERLIN = ZoneInfo("Europe/Berlin")
AT_1813 = datetime(2025, 11, 3, 17, 13, tzinfo=UTC)  # 18:13 in Berlin
HEADLINE = "Sacharowa: Lage in Krasnoarmeisk belegt bewussten Terror Kiews"
URL = "https://example.org/liveticker#entry-1"


def entry(
    headline: str = HEADLINE,
    body: str = "Die Ereignisse in Krasnoarmeisk (Pokrowsk) bestätigen, dass Kiew Terror betreibt.",
    url: str | None = URL,
    regions: tuple[str, ...] = ("Pokrowsk",),
    speakers: tuple[str, ...] = ("Maria Sacharowa",),
    source_name: str = "Liveticker Ukraine-Krieg",
    source_url: str | None = "https://example.org/liveticker",
    published_at: datetime = AT_1813,
) -> RenderedEntry:
    return RenderedEntry(
        published_at=published_at,
        headline=headline,
        body=body,
        url=url,
        regions=regions,
        speakers=speakers,
        source_name=source_name,
        source_url=source_url,
    )


# --- a small Telegram-HTML checker -------------------------------------------------------

_TAG = re.compile(r'<b>|</b>|<a href="([^"<>]*)">|</a>')
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def _check_entities(text: str) -> None:
    for match in re.finditer("&", text):
        assert _ENTITY.match(text, match.start()), f"bad entity at {match.start()}: {text!r}"


def parse_telegram_html(message: str) -> str:
    """The text Telegram would parse out of ``message``; fails on anything it would reject
    or that we never mean to emit: tags other than b/a, unclosed or crossed tags, nested
    links, raw ``<``/``>``, named entities other than lt/gt/amp/quot."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    while pos < len(message):
        ch = message[pos]
        if ch == "<":
            match = _TAG.match(message, pos)
            assert match, f"unsupported tag at {pos}: {message[pos : pos + 30]!r}"
            token = match.group(0)
            if token.startswith("</"):
                name = token[2]
                assert stack and stack[-1] == name, f"crossed or unopened </{name}>"
                stack.pop()
            else:
                name = token[1]
                assert name not in stack, f"nested <{name}>"
                if name == "a":
                    href = match.group(1)
                    _check_entities(href)
                    assert html.unescape(href).startswith(("http://", "https://"))
                stack.append(name)
            pos = match.end()
        elif ch == "&":
            match = _ENTITY.match(message, pos)
            assert match, f"bad entity at {pos}: {message[pos : pos + 10]!r}"
            out.append(html.unescape(match.group(0)))
            pos = match.end()
        else:
            assert ch != ">", f"raw > at {pos}"
            out.append(ch)
            pos += 1
    assert not stack, f"unclosed tags {stack}"
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def assert_valid(message: str, limit: int = 4096) -> str:
    parsed = parse_telegram_html(message)
    assert len(message) <= limit
    assert len(parsed) <= limit
    assert utf16_len(parsed) <= limit
    return parsed


def test_checker_rejects_broken_html() -> None:
    for bad in ["<i>x</i>", "<b>x", "<b>x</a>", "a &nbsp; b", "a < b", "<b>x</b", "x > y"]:
        with pytest.raises(AssertionError):
            parse_telegram_html(bad)
    assert parse_telegram_html('<a href="https://x?a=1&amp;b">&lt;&#x27;</a>') == "<'"


# --- format ----------------------------------------------------------------------------


def test_spec_example_exactly() -> None:
    message = render_entries([entry(body="Die Ereignisse in Krasnoarmeisk (Pokrowsk).")], BERLIN)
    assert message == (
        "<b>18:13</b> · <b>Sacharowa: Lage in Krasnoarmeisk belegt bewussten Terror Kiews</b>\n"
        "Die Ereignisse in Krasnoarmeisk (Pokrowsk).\n"
        '📍 Pokrowsk · 🗣 Maria Sacharowa · <a href="https://example.org/liveticker#entry-1">'
        "Liveticker Ukraine-Krieg</a>"
    )
    assert_valid(message)


def test_format_time_uses_the_zone() -> None:
    assert format_time(AT_1813, BERLIN) == "18:13"
    assert format_time(AT_1813, ZoneInfo("Asia/Kolkata")) == "22:43"
    summer = datetime(2025, 7, 1, 5, 4, tzinfo=UTC)
    assert format_time(summer, BERLIN) == "07:04"
    assert format_time(datetime(2025, 7, 1, 5, 4), BERLIN) == "07:04"  # naive = UTC


def test_footer_parts_are_omitted_when_empty() -> None:
    message = render_entries([entry(regions=(), speakers=(), body="")], BERLIN)
    assert message.splitlines()[-1] == f'<a href="{URL}">Liveticker Ukraine-Krieg</a>'
    message = render_entries([entry(speakers=())], BERLIN)
    assert message.splitlines()[-1].startswith("📍 Pokrowsk · <a ")
    message = render_entries([entry(regions=())], BERLIN)
    assert message.splitlines()[-1].startswith("🗣 Maria Sacharowa · <a ")


def test_several_regions_and_speakers_are_joined_with_commas() -> None:
    message = render_entries(
        [entry(regions=("Charkiw", "Pokrowsk"), speakers=("Selenskyj", "Putin"))], BERLIN
    )
    assert "📍 Charkiw, Pokrowsk · 🗣 Selenskyj, Putin · <a " in message


def test_link_falls_back_to_source_url_then_to_plain_name() -> None:
    message = render_entries([entry(url=None)], BERLIN)
    assert '<a href="https://example.org/liveticker">Liveticker Ukraine-Krieg</a>' in message
    message = render_entries([entry(url=None, source_url=None)], BERLIN)
    assert "<a" not in message
    assert message.endswith("🗣 Maria Sacharowa · Liveticker Ukraine-Krieg")
    message = render_entries([entry(url="javascript:alert(1)", source_url=None)], BERLIN)
    assert "<a" not in message


def test_everything_is_escaped() -> None:
    message = render_entries(
        [
            entry(
                headline='<script> & "quotes"',
                body="a < b > c & d <b>not bold</b>",
                url='https://x.org/?a=1&b="2"',
                regions=("<R>",),
                source_name="A & B",
            )
        ],
        BERLIN,
    )
    assert '<b>&lt;script&gt; &amp; "quotes"</b>' in message
    assert "a &lt; b &gt; c &amp; d &lt;b&gt;not bold&lt;/b&gt;" in message
    assert '<a href="https://x.org/?a=1&amp;b=&quot;2&quot;">A &amp; B</a>' in message
    parsed = assert_valid(message)
    assert "a < b > c & d <b>not bold</b>" in parsed


def test_paragraphs_keep_single_newlines() -> None:
    message = render_entries([entry(body="Erster Absatz.\n\n\n  Zweiter   Absatz.  \n")], BERLIN)
    assert message.splitlines()[1:3] == ["Erster Absatz.", "Zweiter Absatz."]


def test_empty_headline_and_body() -> None:
    message = render_entries([entry(headline="  ", body="")], BERLIN)
    assert message.splitlines()[0] == "<b>18:13</b>"
    assert_valid(message)


def test_no_entries() -> None:
    assert render_entries([], BERLIN) == ""


# --- shortening ----------------------------------------------------------------------------


def test_long_body_is_cut_at_a_word_boundary_and_the_headline_kept() -> None:
    body = " ".join(f"Wort{i}" for i in range(2000))
    message = render_entries([entry(body=body)], BERLIN)
    parsed = assert_valid(message)
    assert len(message) > 4000  # the budget is used, not wasted
    lines = parsed.splitlines()
    assert lines[0] == f"18:13 · {HEADLINE}"
    assert lines[1].endswith(" …")
    kept = lines[1].removesuffix(" …")
    assert body.startswith(kept + " ")  # whole words only


def test_body_that_fits_exactly_is_not_cut() -> None:
    full = render_entries([entry()], BERLIN)
    assert render_entries([entry()], BERLIN, limit=len(full)) == full
    shorter = render_entries([entry()], BERLIN, limit=len(full) - 1)
    assert len(shorter) <= len(full) - 1
    assert "Terror …" in shorter


def test_cut_counts_escaped_length() -> None:
    body = " ".join(["&&&"] * 2000)  # 3 characters, 15 in HTML
    message = render_entries([entry(body=body)], BERLIN)
    assert_valid(message)
    assert len(message) > 4000


def test_body_without_spaces_is_cut_inside_the_word() -> None:
    message = render_entries([entry(body="x" * 10_000)], BERLIN)
    parsed = assert_valid(message)
    assert parsed.splitlines()[1].endswith("x…")


def test_astral_characters_count_twice_in_utf16() -> None:
    body = " ".join(["😀😀😀"] * 2000)
    message = render_entries([entry(body=body)], BERLIN)
    parsed = assert_valid(message)
    assert utf16_len(parsed) > 4000
    assert "\ud83d" not in message  # never half an emoji (no lone surrogates)


def test_cut_does_not_split_a_zwj_sequence() -> None:
    family = "👨\u200d👩\u200d👧"
    for limit in range(400, 410):
        message = render_entries([entry(body=family * 3000)], BERLIN, limit=limit)
        parsed = assert_valid(message, limit=limit)
        body_line = parsed.splitlines()[1]
        assert body_line.endswith(family + "…")


def test_headline_is_never_cut_while_it_fits_the_body_is_dropped() -> None:
    headline = " ".join(["Überschrift"] * 330)  # about 3900 characters
    message = render_entries([entry(headline=headline, body="Text " * 100)], BERLIN)
    parsed = assert_valid(message)
    assert f"18:13 · {headline}\n📍" in parsed  # whole headline, no body line


def test_headline_is_cut_only_as_last_resort() -> None:
    headline = " ".join(["Überschrift"] * 500)  # 6000 characters: cannot fit
    message = render_entries([entry(headline=headline)], BERLIN)
    parsed = assert_valid(message)
    first = parsed.splitlines()[0]
    assert first.endswith(" …")
    assert headline.startswith(first.removeprefix("18:13 · ").removesuffix(" …"))
    assert parsed.splitlines()[1].startswith("📍 Pokrowsk")  # footer kept


def test_absurd_footer_degrades_to_plain_text() -> None:
    message = render_entries([entry(regions=tuple(f"Ort{i}" for i in range(2000)))], BERLIN)
    parsed = assert_valid(message)
    assert "<" not in message
    assert parsed.startswith(f"18:13 · {HEADLINE}")


# --- batches -------------------------------------------------------------------------------


def test_batch_keeps_order_and_separates_with_a_blank_line() -> None:
    first = entry(headline="Erstens", body="Eins.")
    second = entry(headline="Zweitens", body="Zwei.", published_at=AT_1813.replace(minute=20))
    message = render_entries([first, second], BERLIN)
    blocks = message.split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].startswith("<b>18:13</b> · <b>Erstens</b>\nEins.")
    assert blocks[1].startswith("<b>18:20</b> · <b>Zweitens</b>\nZwei.")
    assert_valid(message)


def test_batch_shares_the_body_budget_fairly() -> None:
    long_body = " ".join(["lang"] * 3000)
    short = entry(headline="Kurz", body="Nur ein Satz.")
    message = render_entries(
        [entry(headline="A", body=long_body), short, entry(headline="B", body=long_body)], BERLIN
    )
    parsed = assert_valid(message)
    assert len(message) > 4000
    blocks = parsed.split("\n\n")
    assert blocks[1].splitlines()[1] == "Nur ein Satz."  # small bodies stay whole
    a_body, b_body = blocks[0].splitlines()[1], blocks[2].splitlines()[1]
    assert a_body.endswith(" …") and b_body.endswith(" …")
    assert abs(len(a_body) - len(b_body)) <= 10
    assert "A" in blocks[0] and "B" in blocks[2]  # headlines whole


def test_batch_of_twenty_long_entries_fits() -> None:
    entries = [entry(headline=f"Meldung {i}", body="Text " * 500) for i in range(20)]
    message = render_entries(entries, BERLIN)
    parsed = assert_valid(message)
    assert all(f"Meldung {i}\n" in parsed for i in range(20))


# --- plain ---------------------------------------------------------------------------------


def test_render_plain() -> None:
    plain = render_plain([entry(body="a < b & c"), entry(url=None, source_url=None)], BERLIN)
    assert plain.split("\n\n")[0] == (
        f"18:13 · {HEADLINE}\na < b & c\n"
        f"📍 Pokrowsk · 🗣 Maria Sacharowa · Liveticker Ukraine-Krieg <{URL}>"
    )
    assert plain.split("\n\n")[1].endswith("Liveticker Ukraine-Krieg")


# --- properties ----------------------------------------------------------------------------

_SPECIAL = st.sampled_from(list("<>&\"' \n\t…·📍😀\u200d\u0301ß𝄞"))
_TEXT_CHARS = st.one_of(st.characters(exclude_categories=["Cs"]), _SPECIAL)
_PIECES = st.one_of(
    st.text(_TEXT_CHARS, min_size=1, max_size=12),
    st.sampled_from(["&amp;", "</b>", '<a href="x">', "👍🏽", "👨\u200d👩", "e\u0301"]),
)


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Arbitrary text, and word-like text (pieces joined by spaces or glued together)."""
    return st.one_of(
        st.text(_TEXT_CHARS, max_size=max_size),
        st.lists(_PIECES, max_size=max(1, max_size // 6)).map(" ".join),
        st.lists(_PIECES, max_size=max(1, max_size // 6)).map("".join),
    )


_URLS = st.one_of(
    st.none(),
    st.just("https://example.org/a?b=1&c=2"),
    texts(40).map(lambda s: "https://x.org/" + s),
    texts(20),
)

_ENTRIES = st.builds(
    RenderedEntry,
    published_at=st.datetimes(timezones=st.sampled_from([UTC, BERLIN])),
    headline=texts(300),
    body=st.one_of(texts(400), texts(6000)),
    url=_URLS,
    regions=st.lists(texts(30), max_size=4).map(tuple),
    speakers=st.lists(texts(30), max_size=4).map(tuple),
    source_name=texts(40),
    source_url=_URLS,
)


@settings(max_examples=150, deadline=None)
@given(
    entries=st.lists(_ENTRIES, min_size=1, max_size=6),
    tz=st.sampled_from([BERLIN, ZoneInfo("America/St_Johns"), ZoneInfo("UTC")]),
    limit=st.one_of(st.just(4096), st.integers(1, 4096)),
)
@example(entries=[entry(body="😀 " * 3000)], tz=BERLIN, limit=4096)
@example(entries=[entry(headline="&" * 5000)], tz=BERLIN, limit=4096)
def test_any_input_renders_valid_html_within_the_limit(
    entries: list[RenderedEntry], tz: ZoneInfo, limit: int
) -> None:
    message = render_entries(entries, tz, limit=limit)
    parsed = assert_valid(message, limit)
    # Headlines are whole whenever the message without bodies fits.
    bare = render_entries([_without_body(e) for e in entries], tz, limit=10**9)
    if len(bare) <= limit and utf16_len(parse_telegram_html(bare)) <= limit:
        for e in entries:
            assert " ".join(e.headline.split()) in parsed


def _without_body(e: RenderedEntry) -> RenderedEntry:
    return RenderedEntry(
        e.published_at, e.headline, "", e.url, e.regions, e.speakers, e.source_name, e.source_url
    )


@settings(max_examples=60, deadline=None)
@given(body=texts(6000), limit=st.integers(150, 4096))
def test_shortened_body_is_a_prefix_of_the_body(body: str, limit: int) -> None:
    e = entry(headline="H", body=body, regions=(), speakers=(), url=None, source_url=None)
    parsed = assert_valid(render_entries([e], BERLIN, limit=limit), limit)
    normalised = "\n".join(" ".join(line.split()) for line in body.splitlines() if line.split())
    shown = parsed.removeprefix("18:13 · H").removesuffix("Liveticker Ukraine-Krieg").strip("\n")
    if shown == normalised:
        return
    kept = shown.removesuffix("…").removesuffix(" ")
    assert shown.endswith("…")
    assert normalised.startswith(kept)
