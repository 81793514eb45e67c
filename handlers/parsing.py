"""Argument parsing shared by handlers: clock times, windows, counts. Pure functions."""

from __future__ import annotations

import re

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WINDOW = re.compile(r"^(\S+)\s*[-–—]\s*(\S+)$")
MINUTES_PER_DAY = 24 * 60


def parse_minute(text: str) -> int | None:
    """``HH:MM`` (or ``H:MM``) as minutes after midnight; None if it is not a clock time."""
    match = _HHMM.fullmatch(text.strip())
    return None if match is None else int(match[1]) * 60 + int(match[2])


def parse_window(text: str) -> tuple[int, int] | None:
    """``HH:MM-HH:MM`` as (start, end) minutes; may cross midnight, may not be empty."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        return None
    start, end = parse_minute(match[1]), parse_minute(match[2])
    if start is None or end is None or start == end:
        return None
    return start, end


def format_minute(minute: int) -> str:
    minute %= MINUTES_PER_DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_count(args: list[str], *, default: int, maximum: int) -> int | None:
    """An optional count in 1..maximum; None for anything else (the caller shows usage)."""
    if not args:
        return default
    if len(args) != 1 or not args[0].isascii() or not args[0].isdigit():
        return None
    value = int(args[0])
    return value if 1 <= value <= maximum else None


def is_off(args: list[str]) -> bool:
    return len(args) == 1 and args[0].lower() in ("off", "aus")
