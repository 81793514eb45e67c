"""schema.org ``LiveBlogPosting`` JSON-LD: the best source of absolute entry times.

Blocks are found with a regex over the raw markup (no DOM needed), parsed with ``json.loads``
and searched for LiveBlogPosting objects at any depth (``@graph``, lists, nesting).
``articleBody`` may still hold entities and tags, so it goes through ``markup_to_lines``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from ticker.parse import cleanup, keys
from ticker.parse.dates import parse_machine_time
from ticker.parse.raw import RawEntry

_SCRIPT_OPEN = re.compile(
    r"<script[^>]{0,300}type\s*=\s*[\"']?application/ld\+json[\"']?[^>]{0,300}>", re.IGNORECASE
)


def _blocks(text: str) -> list[str]:
    """Contents of JSON-LD script elements (a lazy ``.*?`` regex was the slowest step)."""
    found: list[str] = []
    for opening in _SCRIPT_OPEN.finditer(text):
        end = text.find("</script", opening.end())
        if end < 0:
            end = text.find("</SCRIPT", opening.end())
        if end < 0:  # unterminated: take the rest once, never rescan it per opening
            found.append(text[opening.end() :])
            break
        found.append(text[opening.end() : end])
    return found


_MAX_DEPTH = 12


def has_live_blog(text: str) -> bool:
    return "LiveBlogPosting" in text


def _objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            if isinstance(child, dict | list):
                yield from _objects(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child, depth + 1)


def _is_type(obj: dict[str, Any], name: str) -> bool:
    kind = obj.get("@type")
    return kind == name or (isinstance(kind, list) and name in kind)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return " ".join(v for v in value if isinstance(v, str))
    return ""


def parse_jsonld(text: str, zone: ZoneInfo) -> tuple[list[RawEntry], list[str]]:
    """Raw entries of every LiveBlogPosting's ``liveBlogUpdate``, plus warnings."""
    warnings: list[str] = []
    entries: list[RawEntry] = []
    blocks = _blocks(text)
    if not blocks and text.lstrip()[:1] in ("{", "["):
        blocks = [text]  # a bare JSON-LD document (application/ld+json)
    for block in blocks:
        if "LiveBlogPosting" not in block:
            continue
        try:
            data = json.loads(block.strip(), strict=False)
        except ValueError as error:
            warnings.append(f"JSON-LD block not parseable: {error}")
            continue
        for obj in _objects(data):
            if not _is_type(obj, "LiveBlogPosting"):
                continue
            updates = obj.get("liveBlogUpdate")
            if isinstance(updates, dict):
                updates = [updates]
            if not isinstance(updates, list):
                continue
            entries.extend(e for u in updates if isinstance(u, dict) if (e := _entry(u, zone)))
    return entries, warnings


def _entry(update: dict[str, Any], zone: ZoneInfo) -> RawEntry | None:
    stamp = _text(update.get("datePublished")) or _text(update.get("dateCreated"))
    stamp = stamp or _text(update.get("dateModified"))
    when = parse_machine_time(stamp, zone) if stamp else None
    if when is None:
        return None
    body = cleanup.markup_to_lines(
        _text(update.get("articleBody"))
        or _text(update.get("text"))
        or _text(update.get("description"))
    )
    headline_lines = cleanup.markup_to_lines(_text(update.get("headline")))
    url = _text(update.get("url")) or None
    ident = _text(update.get("@id"))
    entry_id = (
        keys.id_from_url(url)
        or keys.id_from_url(ident)
        or (ident if ident and "/" not in ident else None)
    )
    return RawEntry(
        headline=" ".join(headline_lines), body=body, when=when, entry_id=entry_id, url=url
    )
