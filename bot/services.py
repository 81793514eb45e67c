"""What handlers and jobs may use, wired once in bot/app.py and kept in ``bot_data``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from storage import Storage

if TYPE_CHECKING:
    from bot.ratelimit import RateLimiter
    from ticker.extract import Extractor

SERVICES_KEY = "tickerbot.services"


@dataclass(frozen=True)
class PollSummary:
    """One source's poll as operators see it in /poll and logs."""

    source_id: str
    status: str
    new: int = 0
    updated: int = 0
    pushed: int = 0  # new entries going out to subscribers (first polls and backfill: 0)
    error: str | None = None


@dataclass
class Services:
    settings: Settings
    storage: Storage
    extractor: Extractor
    poll_all: Callable[[], Awaitable[list[PollSummary]]]
    wake_sender: Callable[[], None]
    bot_username: str = ""
    limiter: RateLimiter | None = None
    """The sender's limiter: command replies take their turn in it too (None in unit tests)."""
    extra: dict[str, Any] = field(default_factory=dict)


def get_services(bot_data: dict[Any, Any]) -> Services:
    services = bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services
