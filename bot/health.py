"""``[metrics].listen``: ``/metrics`` (Prometheus exposition) and ``/healthz`` (JSON).

Everything the checks need comes in as small callables (``HealthChecks``), so the server is
tested without a bot, a scheduler or Telegram, and ``bot/app.py`` decides what to pass. The
server runs in every replica, active or standby: a load balancer or Docker HEALTHCHECK must be
able to tell "standby and fine" (200, ``role: standby``) from "broken" (503).

``/healthz`` rules:

* the database answers ``db_ping`` within ``db_timeout_seconds`` (every role);
* active only: the poll scheduler runs, and every source had a successful poll within
  ``max_poll_age_seconds``. A source gets one full age window after the process started before
  it counts as stale (it may not have been polled yet, and a replica restarted after downtime
  must not report 503 for the seconds until its first poll), so the reference is the later of
  its last success and the process start. The message still gives the real age.

``/metrics`` refreshes the outbox depth gauge on each scrape (the outbox is shared by all
replicas, so every replica reports the same value: aggregate with ``max``, not ``sum``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import Metrics
from storage.records import SourceState

log = logging.getLogger("tickerbot.health")

DB_TIMEOUT_SECONDS = 3.0
OUTBOX_TIMEOUT_SECONDS = 3.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class HealthChecks:
    """What ``/healthz`` and ``/metrics`` ask; each callable is cheap and side-effect free.

    ``role`` returns ``"active"`` or ``"standby"``; ``outbox_depth`` returns
    ``(pending deliveries, pending edits)``.
    """

    db_ping: Callable[[], Awaitable[object]]
    scheduler_running: Callable[[], bool]
    source_states: Callable[[], Awaitable[Sequence[SourceState]]]
    role: Callable[[], str]
    outbox_depth: Callable[[], Awaitable[tuple[int, int]]] | None = None
    max_poll_age_seconds: float = 900.0
    started_at: datetime = field(default_factory=_utcnow)
    db_timeout_seconds: float = DB_TIMEOUT_SECONDS
    clock: Callable[[], datetime] = _utcnow


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    role: str
    problems: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "role": self.role, "problems": self.problems}


def _seconds(value: float) -> str:
    return f"{int(value)} s"


def source_problems(
    states: Sequence[SourceState],
    *,
    now: datetime,
    max_age_seconds: float,
    started_at: datetime,
) -> list[str]:
    """One line per source without a successful poll within the window (pure: tested alone)."""
    problems: list[str] = []
    for state in states:
        last = state.last_success_at
        reference = started_at if last is None or last < started_at else last
        if (now - reference).total_seconds() <= max_age_seconds:
            continue
        if last is None:
            what = (
                f"no successful poll since start {_seconds((now - started_at).total_seconds())} ago"
            )
        else:
            what = f"no successful poll for {_seconds((now - last).total_seconds())}"
        error = state.last_error or state.last_status
        suffix = f" (last error: {error})" if error else ""
        problems.append(f"source {state.id}: {what}{suffix}")
    return problems


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def evaluate(checks: HealthChecks) -> HealthReport:
    """Run the checks; never raises (a failing check is a problem line, not a 500)."""
    role = checks.role()
    problems: list[str] = []
    try:
        await asyncio.wait_for(checks.db_ping(), timeout=checks.db_timeout_seconds)
    except TimeoutError:
        problems.append(f"database: no answer within {checks.db_timeout_seconds:g} s")
    except Exception as exc:  # noqa: BLE001 - any failure of the probe is the answer "unhealthy"
        problems.append(f"database: {_describe(exc)}")
    if problems or role != "active":
        return HealthReport(ok=not problems, role=role, problems=problems)
    if not checks.scheduler_running():
        problems.append("scheduler: not running")
    try:
        states = await asyncio.wait_for(checks.source_states(), timeout=checks.db_timeout_seconds)
    except TimeoutError:
        problems.append("sources: state not readable within the timeout")
    except Exception as exc:  # noqa: BLE001 - reported as a problem line, never a 500
        problems.append(f"sources: {_describe(exc)}")
    else:
        problems += source_problems(
            states,
            now=checks.clock(),
            max_age_seconds=checks.max_poll_age_seconds,
            started_at=checks.started_at,
        )
    return HealthReport(ok=not problems, role=role, problems=problems)


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT`` (validated by config) → (host, port)."""
    match = re.fullmatch(r"\[([0-9a-fA-F:]+)\]:(\d{1,5})|([^\s:]+):(\d{1,5})", listen)
    if match is None:
        raise ValueError(f"expected HOST:PORT, got {listen!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    return host, port


class HealthServer:
    """The aiohttp server behind ``[metrics].listen``; ``port`` is the bound one (0 → chosen)."""

    def __init__(self, listen: str, metrics: Metrics, checks: HealthChecks) -> None:
        self.host, self.port = parse_listen(listen)
        self.metrics = metrics
        self.checks = checks
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self.handle_metrics)
        app.router.add_get("/healthz", self.handle_healthz)
        return app

    async def start(self) -> None:
        # No access log: a scrape every few seconds would drown the operator's log.
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        bound = self._runner.addresses
        if bound:
            self.port = int(bound[0][1])
        log.info("health server listening", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def refresh_outbox_depth(self) -> None:
        """Set the outbox gauge; on a database problem keep the last values and log."""
        depth = self.checks.outbox_depth
        if depth is None:
            return
        try:
            deliveries, edits = await asyncio.wait_for(depth(), timeout=OUTBOX_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail on a gauge
            log.warning("outbox depth unavailable", extra={"error": _describe(exc)})
            return
        self.metrics.outbox_depth.labels(kind="deliveries").set(deliveries)
        self.metrics.outbox_depth.labels(kind="edits").set(edits)

    async def handle_metrics(self, _request: web.Request) -> web.Response:
        await self.refresh_outbox_depth()
        body = generate_latest(self.metrics.registry)
        response = web.Response(body=body)
        # CONTENT_TYPE_LATEST carries a charset; aiohttp's content_type= refuses that form.
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def handle_healthz(self, _request: web.Request) -> web.Response:
        report = await evaluate(self.checks)
        return web.Response(
            text=json.dumps(report.as_json(), ensure_ascii=False),
            status=200 if report.ok else 503,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
