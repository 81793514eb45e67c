"""RSS 2.0 and Atom through feedparser, keeping each item's own UTC offset.

feedparser's ``*_parsed`` values are UTC ``struct_time``s; the offset the publisher wrote is
kept by parsing ``published``/``updated`` ourselves. The key is the guid/id, so an item whose
title changes under the same guid is the same entry with a new content hash.
"""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser

from ticker.parse import cleanup
from ticker.parse.dates import parse_machine_time
from ticker.parse.raw import RawEntry


def looks_like_feed(text: str, content_type: str | None) -> bool:
    """True for XML feeds, by content type or by the first bytes of the document."""
    if content_type and any(t in content_type.casefold() for t in ("rss", "atom", "xml")):
        return "html" not in content_type.casefold()
    head = text.lstrip()[:1000].casefold()
    return head.startswith("<?xml") or "<rss" in head or "<feed" in head or "<rdf:rdf" in head


def _when(item: Any, zone: ZoneInfo) -> datetime | None:
    for field in ("published", "updated", "created"):
        value = item.get(field)
        if isinstance(value, str):
            parsed = parse_machine_time(value, zone)
            if parsed is not None:
                return parsed
    for field in ("published_parsed", "updated_parsed"):
        value = item.get(field)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def parse_feed(text: str, zone: ZoneInfo) -> tuple[list[RawEntry], list[str], str]:
    """Raw entries in feed order, warnings, and the layer name (``rss`` or ``atom``)."""
    # A stream, never the string: feedparser.parse(str) opens URLs and local file paths.
    # The text is already decoded, so the header pins UTF-8 over the XML declaration.
    # Tags are stripped by markup_to_lines anyway; feedparser's sanitiser would double the cost.
    parsed = feedparser.parse(
        io.BytesIO(text.encode("utf-8", "replace")),
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    warnings: list[str] = []
    if parsed.get("bozo") and not parsed.entries:
        warnings.append(f"feed not parseable: {parsed.get('bozo_exception')}")
    layer = "atom" if str(parsed.get("version", "")).startswith("atom") else "rss"
    entries: list[RawEntry] = []
    for item in parsed.entries:
        when = _when(item, zone)
        if when is None:
            warnings.append("feed item without a date skipped")
            continue
        content = item.get("content")
        body_html = content[0].get("value", "") if content else item.get("summary", "")
        link = item.get("link") or None
        entries.append(
            RawEntry(
                headline=" ".join(cleanup.markup_to_lines(item.get("title", ""))),
                body=cleanup.markup_to_lines(str(body_html)),
                when=when,
                entry_id=item.get("id") or link,
                url=link,
            )
        )
    return entries, warnings, layer
