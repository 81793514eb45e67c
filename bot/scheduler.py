"""Polling schedule: one APScheduler job per source, jittered, never overlapping, backing off.

A failing source is polled less and less often (interval × 2ⁿ, capped at 30 min) so that a
dead site is not hammered, and returns to its interval on the first good poll.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import SourceSettings
from bot.services import PollSummary

log = logging.getLogger("tickerbot.scheduler")

MAX_BACKOFF_SECONDS = 30 * 60
HEALTHY = frozenset({"ok", "not_modified", "first_poll", "busy"})
# A page that parsed to nothing is reported but not backed off: a ticker before its event
# starts looks exactly like that, and its first entries must not wait 30 minutes.
NO_BACKOFF = frozenset({"no_entries"})

# A poll is bounded by the fetch timeout and one transaction; a stop waits that long for it.
STOP_GRACE_SECONDS = 30.0


def backoff_seconds(interval: float, failures: int) -> float:
    if failures <= 0:
        return interval
    return float(min(interval * 2 ** min(failures, 20), max(MAX_BACKOFF_SECONDS, interval)))


class PollScheduler:
    def __init__(self, poll: Callable[[SourceSettings], Awaitable[PollSummary]]) -> None:
        self._poll = poll
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._failures: dict[str, int] = {}
        self._jobs_running: set[asyncio.Task[object]] = set()
        self.last_tick: datetime | None = None

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self, sources: list[SourceSettings]) -> None:
        now = datetime.now(UTC)
        for source in sources:
            interval = source.interval_seconds
            self._scheduler.add_job(
                self._tracked(self._run),
                IntervalTrigger(seconds=interval, jitter=min(interval * 0.1, 5.0)),
                args=[source],
                id=f"poll:{source.id}",
                name=f"poll {source.id}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(int(interval), 30),
                next_run_time=now,
            )
        self._scheduler.start()

    def add_job(self, func: Callable[[], Awaitable[None]], seconds: float, job_id: str) -> None:
        """A further periodic job (digests, health alerts) on the same scheduler."""
        self._scheduler.add_job(
            self._tracked(func),
            IntervalTrigger(seconds=seconds),
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(int(seconds), 30),
            next_run_time=datetime.now(UTC) + timedelta(seconds=1),
        )

    async def _run(self, source: SourceSettings) -> None:
        self.last_tick = datetime.now(UTC)
        summary = await self._poll(source)
        if summary.status in HEALTHY or summary.status in NO_BACKOFF:
            self._failures.pop(source.id, None)
            return
        failures = self._failures.get(source.id, 0) + 1
        self._failures[source.id] = failures
        delay = backoff_seconds(source.interval_seconds, failures)
        self._scheduler.modify_job(
            f"poll:{source.id}", next_run_time=datetime.now(UTC) + timedelta(seconds=delay)
        )
        log.info("backing off", extra={"source": source.id, "failures": failures, "delay": delay})

    def _tracked(self, func: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """The job as a task ``stop`` can wait for: APScheduler's asyncio executor cancels
        running jobs when it shuts down, which would cut a poll off mid-transaction."""

        @functools.wraps(func)
        async def job(*args: object) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._jobs_running.add(task)
            try:
                await func(*args)
            finally:
                self._jobs_running.discard(task)

        return job

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """No new runs; running polls and jobs finish (within ``grace_seconds``), then stop."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        if self._jobs_running:
            await asyncio.wait(set(self._jobs_running), timeout=grace_seconds)
        self._scheduler.shutdown(wait=False)
