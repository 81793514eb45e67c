"""Plain-text tickers (a page already reduced to lines, like the seed file)."""

from __future__ import annotations

from datetime import date

from ticker.parse import timeheaders
from ticker.parse.raw import Item


def parse_text(text: str, reference: date) -> list[Item]:
    """Items from text whose line breaks separate blocks."""
    lines = [" ".join(line.split()) for line in timeheaders.unglue(text).splitlines()]
    return timeheaders.parse_lines([line for line in lines if line], reference)
