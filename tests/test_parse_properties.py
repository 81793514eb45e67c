"""Property tests: whatever a server sends, parse_page returns well-formed entries or none."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticker.model import ParseOptions, ParseResult
from ticker.parse import parse_page

_FORMATS = ("auto", "html", "jsonld", "rss", "text")
_PIECES = [
    "18:13 Uhr", "11.04 Uhr: ", "+++ 23:27 ", " +++", "23:39 Uhr | ", "Dienstag, 27. August 2024",
    "Donnerstag, 18. 7.", "21.01.2026 18:13 Uhr", "vor 5 Minuten", "21 mins ago", "11:48 GMT",
    "<p>", "</p>", "<div id=\"block-abcdef12\">", "</div>", "<br/>", "<h2>", "</h2>", "<main>",
    "<script type=\"application/ld+json\">", "</script>", '{"@type":"LiveBlogPosting",',
    '"liveBlogUpdate":[{"datePublished":"2024-01-01T10:00:00Z","headline":"x"}]}', "<?xml ",
    "<rss><channel><item><title>", "</title><guid>g</guid><pubDate>", "</pubDate></item>",
    "Das Wichtigste in Kürze", "Angepinnt", "Lesen Sie auch", ".", '"', "\n", " ", "Text",
    "Russland greift an", "um 12.30 Uhr trat er", "&#39;", "&amp;", "ä", "\x00", "\ufffd",
]  # fmt: skip
_HTMLISH = st.lists(st.sampled_from(_PIECES) | st.text(max_size=12), max_size=40).map("".join)
_OPTIONS = st.builds(
    ParseOptions,
    format=st.sampled_from(_FORMATS),
    page_date=st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    end_markers=st.sampled_from([(), ("Text",), ("",)]),
)


def _check(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    assert not [w for w in result.warnings if w.startswith("parser error")], result.warnings
    keys = [entry.key for entry in result.entries]
    assert len(keys) == len(set(keys))
    times = [entry.published_at for entry in result.entries]
    assert times == sorted(times, reverse=True)
    for entry in result.entries:
        assert entry.headline.strip() == entry.headline and entry.headline
        assert entry.key
        assert entry.published_at.utcoffset() is not None
        assert entry.body == entry.body.strip()
        assert "" not in entry.body.split("\n") or entry.body == ""
        assert entry.content_hash == entry.content_hash
    if not result.entries:
        assert result.warnings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), options=_OPTIONS)
def test_arbitrary_text_never_raises(text: str, options: ParseOptions) -> None:
    _check(parse_page(text, options))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_HTMLISH,
    options=_OPTIONS,
    content_type=st.sampled_from([None, "text/html", "application/rss+xml"]),
)
def test_htmlish_never_raises(text: str, options: ParseOptions, content_type: str | None) -> None:
    result = parse_page(text, options, content_type)
    _check(result)
    again = parse_page(text, options, content_type)
    assert [e.content_hash for e in again.entries] == [e.content_hash for e in result.entries]
    assert [e.key for e in again.entries] == [e.key for e in result.entries]
