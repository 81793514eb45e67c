"""The poller against a local site: every bad page becomes a recorded state, never an exception,
and never loses or corrupts what was stored before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.config import SourceSettings, settings_from_mapping
from bot.metrics import Metrics
from bot.poller import Poller
from bot.scheduler import MAX_BACKOFF_SECONDS, backoff_seconds
from storage import Storage
from storage.sources import SourceConfig
from tests.conftest import FIXTURES
from ticker.extract import Extractor
from ticker.fetch import Fetcher


class Site:
    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = (FIXTURES / "liveticker_seed_de.txt").read_bytes()
        self.content_type = "text/plain; charset=utf-8"

    async def handle(self, _request: web.Request) -> web.Response:
        return web.Response(
            status=self.status, body=self.body, headers={"Content-Type": self.content_type}
        )


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, str]]:
    state = Site()
    app = web.Application()
    app.router.add_get("/ticker", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    yield state, f"http://127.0.0.1:{port}/ticker"
    await runner.cleanup()


async def _poller(
    storage: Storage, url: str, http: aiohttp.ClientSession
) -> tuple[Poller, SourceSettings]:
    settings = settings_from_mapping(
        {"sources": [{"id": "seed", "url": url, "format": "text"}], "http": {"max_bytes": 50000}},
        env={},
    )
    await storage.sources.sync([SourceConfig("seed", "Seed", url)])
    fetcher = Fetcher(http, timeout_seconds=5, max_bytes=50000, user_agent="test")
    poller = Poller(
        settings, storage, fetcher, Extractor.load(), on_queued=lambda: None, metrics=Metrics()
    )
    return poller, settings.sources[0]


async def test_bad_pages_are_recorded_and_nothing_stored_is_lost(
    storage: Storage, site: tuple[Site, str]
) -> None:
    state, url = site
    async with aiohttp.ClientSession() as http:
        poller, source = await _poller(storage, url, http)
        first = await poller.poll(source)
        assert (first.status, first.new) == ("first_poll", 10)
        cases = [
            (500, b"oops", "text/plain", "http_error"),
            (404, b"", "text/plain", "http_error"),
            (200, b"", "text/plain", "no_entries"),
            (200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "image/png", "unparseable"),
            (200, b"x" * 60000, "text/plain", "too_large"),
            (200, "Nur Text ohne Uhrzeiten. Ä".encode("latin-1"), "text/plain", "no_entries"),
        ]
        for failures, (status, body, content_type, expected) in enumerate(cases, start=1):
            state.status, state.body, state.content_type = status, body, content_type
            summary = await poller.poll(source)
            assert summary.status == expected, (expected, summary)
            recorded = await storage.sources.get("seed")
            assert recorded is not None
            assert recorded.last_status == expected and recorded.last_error
            assert recorded.consecutive_failures == failures
        assert await storage.entries.count() == 10
        state.status = 200
        state.body = (FIXTURES / "liveticker_seed_de.txt").read_bytes()
        state.content_type = "text/plain; charset=utf-8"
        back = await poller.poll(source)
        assert back.status == "ok" and back.new == 0
        recovered = await storage.sources.get("seed")
        assert recovered is not None and recovered.consecutive_failures == 0


def test_backoff_doubles_and_is_capped() -> None:
    assert backoff_seconds(60, 0) == 60
    assert backoff_seconds(60, 1) == 120
    assert backoff_seconds(60, 3) == 480
    assert backoff_seconds(60, 30) == MAX_BACKOFF_SECONDS
    assert backoff_seconds(3600, 5) == 3600  # never shorter than the normal interval
