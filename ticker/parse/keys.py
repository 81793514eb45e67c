"""Stable entry keys.

A publisher's own entry id survives edits of text and even time, so it is preferred. Without
one the key hashes what identifies an entry to a reader. The page URL is never part of a key:
long-running tickers change their slug daily while keeping their entries.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import urlsplit

from ticker.text import fold

_ENTRY_ID = re.compile(
    r"^(?:block-[0-9a-f]{6,}|\d{4,}|(?:live|post|entry|update|liveblog|ticker|lb)[-_][\w-]*\d[\w-]*)$",
    re.IGNORECASE,
)


def looks_like_entry_id(value: str) -> bool:
    """True for ids publishers give entries (``block-6789abcd``, ``751105``, ``live-…``).

    Prefixed ids need a digit: ``post-content`` or ``live-ticker`` name wrappers, not entries.
    """
    return bool(_ENTRY_ID.match(value))


def id_from_url(url: str | None) -> str | None:
    """The fragment of an entry URL (``…#block-abc`` → ``block-abc``), if it names an entry."""
    if not url:
        return None
    fragment = urlsplit(url).fragment.strip()
    return fragment or None


def hash_key(source_id: str, published_at: datetime, headline: str) -> str:
    """Key for entries without a publisher id: source, resolved time and folded headline."""
    digest = hashlib.sha256()
    for part in (source_id, published_at.isoformat(), fold(headline)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return "h" + digest.hexdigest()[:31]


def anchor_url(page_url: str | None, entry_id: str | None) -> str | None:
    """``page_url#entry_id`` where both exist, else the page URL (which may be None)."""
    if page_url and entry_id:
        return f"{page_url.split('#', 1)[0]}#{entry_id}"
    return page_url
