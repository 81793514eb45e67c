"""/healthz and /metrics with injected checks: a real aiohttp server on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from bot.health import HealthChecks, HealthServer, evaluate, parse_listen, source_problems
from bot.metrics import Metrics
from storage.records import SourceState

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
START = NOW - timedelta(hours=2)


def state(
    source_id: str = "ukraine",
    *,
    success_ago: float | None = 10,
    error: str | None = None,
    status: str | None = None,
) -> SourceState:
    return SourceState(
        id=source_id,
        name=source_id,
        url="https://example.org/t",
        etag=None,
        last_modified=None,
        initialized=True,
        last_polled_at=NOW,
        last_success_at=None if success_ago is None else NOW - timedelta(seconds=success_ago),
        last_status=status,
        last_error=error,
        consecutive_failures=1 if error else 0,
        failing_since=None,
        failure_alerted=False,
    )


class Fake:
    """Mutable stand-ins for the bot's parts."""

    def __init__(self) -> None:
        self.db_error: Exception | None = None
        self.db_delay = 0.0
        self.running = True
        self.role = "active"
        self.states: list[SourceState] = [state()]
        self.depth = (3, 1)
        self.outbox_error: Exception | None = None

    async def ping(self) -> bool:
        await asyncio.sleep(self.db_delay)
        if self.db_error is not None:
            raise self.db_error
        return True

    async def sources(self) -> Sequence[SourceState]:
        return self.states

    async def outbox(self) -> tuple[int, int]:
        if self.outbox_error is not None:
            raise self.outbox_error
        return self.depth

    def checks(self, started_at: datetime = START) -> HealthChecks:
        return HealthChecks(
            db_ping=self.ping,
            scheduler_running=lambda: self.running,
            source_states=self.sources,
            role=lambda: self.role,
            outbox_depth=self.outbox,
            max_poll_age_seconds=900,
            started_at=started_at,
            db_timeout_seconds=0.2,
            clock=lambda: NOW,
        )


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    with pytest.raises(ValueError):
        parse_listen("9464")


def test_source_problems_window_and_grace() -> None:
    fresh = state("fresh", success_ago=100)
    stale = state("stale", success_ago=1234, error="HTTP 500")
    never = state("never", success_ago=None, status="timeout")
    assert source_problems([fresh], now=NOW, max_age_seconds=900, started_at=START) == []
    assert source_problems([stale, never], now=NOW, max_age_seconds=900, started_at=START) == [
        "source stale: no successful poll for 1234 s (last error: HTTP 500)",
        "source never: no successful poll since start 7200 s ago (last error: timeout)",
    ]
    # Within the first window after start nothing is stale yet, whatever the history says.
    just_started = NOW - timedelta(seconds=60)
    assert (
        source_problems([stale, never], now=NOW, max_age_seconds=900, started_at=just_started) == []
    )


async def test_evaluate_active_healthy_and_problems() -> None:
    fake = Fake()
    report = await evaluate(fake.checks())
    assert report.ok and report.role == "active" and report.problems == []

    fake.running = False
    fake.states = [state(), state("gaza", success_ago=5000, error="HTTP 500")]
    report = await evaluate(fake.checks())
    assert not report.ok
    assert report.problems == [
        "scheduler: not running",
        "source gaza: no successful poll for 5000 s (last error: HTTP 500)",
    ]


async def test_evaluate_database_down_or_slow() -> None:
    fake = Fake()
    fake.db_error = ConnectionRefusedError(111, "Connect call failed")
    report = await evaluate(fake.checks())
    assert not report.ok
    assert report.problems == ["database: ConnectionRefusedError: [Errno 111] Connect call failed"]

    fake.db_error = None
    fake.db_delay = 1.0
    report = await evaluate(fake.checks())
    assert report.problems == ["database: no answer within 0.2 s"]


async def test_standby_only_needs_the_database() -> None:
    fake = Fake()
    fake.role = "standby"
    fake.running = False
    fake.states = [state(success_ago=99999, error="HTTP 500")]
    report = await evaluate(fake.checks())
    assert report.ok and report.role == "standby"
    fake.db_error = OSError("down")
    report = await evaluate(fake.checks())
    assert not report.ok and report.role == "standby"


@pytest.fixture
async def served() -> AsyncIterator[tuple[Fake, Metrics, str]]:
    fake, metrics = Fake(), Metrics()
    server = HealthServer("127.0.0.1:0", metrics, fake.checks())
    await server.start()
    assert server.port != 0
    try:
        yield fake, metrics, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_http_healthz_200_and_503(served: tuple[Fake, Metrics, str]) -> None:
    fake, _metrics, base = served
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            assert await response.json() == {"ok": True, "role": "active", "problems": []}
        fake.states = [state("ukraine", success_ago=1234, error="HTTP 500")]
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 503
            assert await response.json() == {
                "ok": False,
                "role": "active",
                "problems": [
                    "source ukraine: no successful poll for 1234 s (last error: HTTP 500)"
                ],
            }
        fake.role = "standby"
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["role"] == "standby"


async def test_http_metrics_refreshes_outbox_depth(served: tuple[Fake, Metrics, str]) -> None:
    fake, metrics, base = served
    metrics.polls.labels(source="ukraine", outcome="ok").inc()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
            text = await response.text()
        assert 'tickerbot_outbox_pending{kind="deliveries"} 3.0' in text
        assert 'tickerbot_outbox_pending{kind="edits"} 1.0' in text
        assert 'tickerbot_polls_total{outcome="ok",source="ukraine"} 1.0' in text
        fake.depth = (0, 0)
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
        assert 'tickerbot_outbox_pending{kind="deliveries"} 0.0' in text

        # A broken database keeps the last values and still serves the scrape.
        fake.outbox_error = OSError("down")
        async with http.get(f"{base}/metrics") as response:
            assert response.status == 200
            assert 'tickerbot_outbox_pending{kind="deliveries"} 0.0' in await response.text()
