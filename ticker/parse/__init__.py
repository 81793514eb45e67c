"""Pure parsing of ticker pages into :class:`~ticker.model.Entry` values.

``parse_page`` never raises: a poller feeds it whatever a server sent, and one bad page must
not kill a scheduler job. Layers, best first (``format="auto"`` takes the first that yields
entries; an explicit format forces one):

1. ``jsonld`` — schema.org LiveBlogPosting updates (absolute times, publisher ids);
2. ``rss`` / ``atom`` — feeds via feedparser (guid keys, offsets kept);
3. ``selectors`` — per-site CSS selectors from the source config;
4. ``html`` — generic time headers over block lines of the page;
5. ``text`` — the same header grammar over plain text lines.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import date

from ticker.model import ParseOptions, ParseResult
from ticker.parse import blocks, build, feed, jsonld, selectors, text, timeheaders
from ticker.parse.dates import parse_machine_time, today_in
from ticker.parse.raw import Item

__all__ = ["parse_page", "parse_page_async"]

log = logging.getLogger("tickerbot.parse")

_HTML_HINT = re.compile(r"<(?:!doctype|html|body|div|p|article|section|main|span|h[1-6])\b", re.I)
_Layer = Callable[[str, ParseOptions, date], tuple[list[Item], list[str], str]]


def looks_like_html(page: str, content_type: str | None) -> bool:
    if content_type and "html" in content_type.casefold():
        return True
    return bool(_HTML_HINT.search(page[:5000]))


def _reference_day(page: str, options: ParseOptions, is_html: bool) -> date:
    """The day for bare times when the page names none: caller, page meta, or today."""
    if options.page_date is not None:
        return options.page_date
    if is_html:
        for value in blocks.meta_times(page):
            parsed = parse_machine_time(value, options.timezone)
            if parsed is not None:
                return parsed.astimezone(options.timezone).date()
    return today_in(options.timezone)


def _jsonld(page: str, options: ParseOptions, _: date) -> tuple[list[Item], list[str], str]:
    entries, warnings = jsonld.parse_jsonld(page, options.timezone)
    return list(entries), warnings, "jsonld"


def _feed(page: str, options: ParseOptions, _: date) -> tuple[list[Item], list[str], str]:
    entries, warnings, layer = feed.parse_feed(page, options.timezone)
    return list(entries), warnings, layer


def _selectors(page: str, options: ParseOptions, day: date) -> tuple[list[Item], list[str], str]:
    found = selectors.parse_selectors(page, options.selectors, options.timezone, day)
    return list(found), [], "selectors"


def _html(page: str, options: ParseOptions, day: date) -> tuple[list[Item], list[str], str]:
    lines = timeheaders.unglue_lines(blocks.html_to_lines(page))
    items = timeheaders.parse_lines(lines, day)
    stamps = [parse_machine_time(v, options.timezone) for v in blocks.time_attributes(page)]
    machine = [stamp for stamp in stamps if stamp is not None]
    if machine:
        timeheaders.attach_machine_times(items, machine, options.timezone)
    return items, [], "html"


def _text(page: str, _: ParseOptions, day: date) -> tuple[list[Item], list[str], str]:
    return text.parse_text(page, day), [], "text"


def _plan(page: str, options: ParseOptions, content_type: str | None) -> list[_Layer]:
    """Layers to try in order for the requested format."""
    is_html = looks_like_html(page, content_type)
    generic: list[_Layer] = [_selectors, _html] if options.selectors.get("entry") else [_html]
    if options.format == "jsonld":
        return [_jsonld]
    if options.format == "rss":
        return [_feed]
    if options.format == "html":
        return generic
    if options.format == "text":
        return [_text]
    plan: list[_Layer] = []
    if jsonld.has_live_blog(page):
        plan.append(_jsonld)
    if feed.looks_like_feed(page, content_type):
        plan.append(_feed)
    plan.extend(generic if is_html else [_text])
    return plan


def parse_page(text: str, options: ParseOptions, content_type: str | None = None) -> ParseResult:
    """Entries of one ticker page, newest first; problems come back as warnings, never raised."""
    if not isinstance(text, str) or not text.strip():
        return ParseResult((), "none", ("empty page",))
    warnings: list[str] = []
    layer = "none"
    text = text.lstrip("\ufeff")  # a byte-order mark would hide the first header
    try:
        day = _reference_day(text, options, looks_like_html(text, content_type))
        for attempt in _plan(text, options, content_type):
            items, layer_warnings, layer = attempt(text, options, day)
            warnings.extend(layer_warnings)
            entries, finish_warnings = build.finish(items, options, day)
            if entries:
                return ParseResult(entries, layer, (*warnings, *finish_warnings))
    except Exception as error:  # a bug must cost one page, not the poller
        log.exception("parsing failed")
        warnings.append(f"parser error: {type(error).__name__}: {error}")
    if not any(w.startswith("parser error") for w in warnings):
        warnings.append("no ticker entries found")
    return ParseResult((), layer, tuple(warnings))


async def parse_page_async(
    text: str, options: ParseOptions, content_type: str | None = None
) -> ParseResult:
    """``parse_page`` in a worker thread: a megabyte page must not stall the event loop."""
    return await asyncio.to_thread(parse_page, text, options, content_type)
