"""Plain-text tickers (a page already reduced to lines, like the seed file)."""

from __future__ import annotations

from datetime import date

from ticker.parse import cleanup, timeheaders
from ticker.parse.raw import Item


def parse_text(text: str, reference: date) -> list[Item]:
    """Items from text whose line breaks separate blocks."""
    return timeheaders.parse_lines(cleanup.collapsed_lines(timeheaders.unglue(text)), reference)
