"""Per-site adapter: entries picked with CSS selectors from the source config.

Config keys: ``entry`` (container, required), ``time``, ``headline``, ``body`` and ``id``
(an attribute name on the container, default ``id``). Machine times in attributes are read
before visible text because visible text is relative ("vor 5 Minuten") or lacks the day.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ticker.parse import blocks, timeheaders
from ticker.parse.dates import parse_machine_time
from ticker.parse.raw import RawEntry

_TIME_ATTRIBUTES: tuple[str, ...] = (
    "datetime",
    "data-post-time",
    "data-sort-time",
    "data-timestamp",
    "data-time",
    "data-datetime",
)
"""Epoch values in seconds or milliseconds are told apart by magnitude (``parse_machine_time``)."""


def _attribute_time(node: LexborNode, zone: ZoneInfo) -> datetime | None:
    attributes = node.attributes
    for name in _TIME_ATTRIBUTES:
        value = attributes.get(name)
        if not value:
            continue
        parsed = parse_machine_time(value, zone)
        if parsed is not None:
            return parsed
    return None


def _lines(node: LexborNode) -> list[str]:
    return [line for line in blocks.html_to_lines(node.html or "") if line[:1] != blocks.ID_MARK]


def parse_selectors(
    text: str, selectors: dict[str, str], zone: ZoneInfo, reference: date
) -> list[RawEntry]:
    """Raw entries from the configured containers, in page order."""
    entry_selector = selectors.get("entry")
    if not entry_selector:
        return []
    tree = LexborHTMLParser(text)
    id_attribute = selectors.get("id", "id").lstrip("@")
    entries: list[RawEntry] = []
    for container in tree.css(entry_selector):
        raw = RawEntry(entry_id=container.attributes.get(id_attribute) or None)
        time_node = container.css_first(selectors.get("time") or "time")
        candidates = [n for n in (time_node, container) if n is not None]
        candidates += [n for n in container.css("[data-post-time], [data-sort-time]")]
        for node in candidates:
            raw.when = _attribute_time(node, zone)
            if raw.when is not None:
                break
        if raw.when is None and time_node is not None:
            visible = timeheaders.strip_relative(" ".join(time_node.text(separator=" ").split()))
            header = timeheaders.match_header(visible, reference)
            if header is not None:
                raw.clock, raw.day, raw.zone = header.clock, header.day, header.zone
        headline_node = (
            container.css_first(selectors["headline"]) if "headline" in selectors else None
        )
        if headline_node is not None:
            raw.headline = " ".join(headline_node.text(separator=" ").split())
        body_selector = selectors.get("body")
        body_nodes = container.css(body_selector) if body_selector else [container]
        for node in body_nodes:
            raw.body.extend(_lines(node))
        raw.body = [
            line for line in raw.body if line != raw.headline and not _is_bare_time(line, reference)
        ]
        entries.append(raw)
    return entries


def _is_bare_time(line: str, reference: date) -> bool:
    """A line that only shows the entry's time (the container's own time element)."""
    header = timeheaders.match_header(timeheaders.strip_relative(line), reference)
    return header is not None and not header.rest
