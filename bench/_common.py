"""Shared bench helpers: the "world" process (Bot API double + ticker page) and statistics.

    python bench/_common.py world --global-per-second 30 --chats 10000 --chat-base 1000000

The world runs in its own process so that the bench process holds nothing but the bot, and
``time.process_time()`` there is the bot's own CPU. It starts a
:class:`~bot.sandbox.telegram_double.TelegramDouble` with the given flood limits and the private
chats ``chat_base … chat_base + chats - 1``, a :class:`~bot.sandbox.ticker_site.TickerSite`,
and a small control API, prints one JSON line (``double_url``, ``site_url``, ``control_url``)
and serves until its stdin closes:

* ``POST /add`` ``{"headline", "body"}`` → the entry goes on the ticker page;
  answers ``{"at": monotonic}``.
* ``POST /watch`` ``{"marker"}`` → from now on, record when each sendMessage whose text holds
  ``marker`` was accepted.
* ``GET /wait?marker=…&count=…&timeout=…`` → blocks until ``count`` such messages were accepted
  (or the timeout); answers the accepted times (the double's clock) and counters.
* ``GET /stats`` → 429 answers so far, sendMessage calls by status, the world's own CPU seconds.

All times are ``time.monotonic()`` (the double's ``loop.time()``), which on Linux is the
machine-wide ``CLOCK_MONOTONIC``: comparable with the bench process's ``time.monotonic()``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

try:
    import greenlet as _greenlet
except ImportError:  # pragma: no cover - SQLAlchemy's asyncio extra brings it
    _greenlet = None  # type: ignore[assignment]

TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "tickerbot_bench_bot"
SOURCE_ID = "bench"
SOURCE_NAME = "Liveticker Bench"


# ---- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0…1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most timestamps that fall into any half-open window of length ``window``."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def achieved_rate(times: Sequence[float]) -> float:
    """Messages per second from the first to the last accepted send (n - 1 intervals)."""
    if len(times) < 2:
        return float("nan")
    ordered = sorted(times)
    span = ordered[-1] - ordered[0]
    return (len(ordered) - 1) / span if span > 0 else float("inf")


def machine() -> str:
    """One line for the README: CPU model, cores, Python."""
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import os

    return f"{model}, {os.cpu_count()} cores (nproc), Python {platform.python_version()}"


# ---- a low-overhead sampling profiler ----------------------------------------------------------


class StackSampler:
    """Samples the main thread's Python stack on ``SIGPROF`` (every ``interval`` CPU seconds).

    Deterministic profilers (cProfile, pyinstrument) slow every call by tens of percent, and
    at 1000 sends/s that alone makes PTB's HTTP pool time out: the profile would describe a
    different run. A statistical sampler costs ~nothing between samples. ``ITIMER_PROF``
    counts the whole process's CPU, so a sample taken while the main thread sits in
    ``select`` stands for CPU another thread (aiosqlite's) used.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.samples = 0
        self.inclusive: Counter[str] = Counter()
        self.leaf: Counter[str] = Counter()

    def _handler(self, _signum: int, frame: Any) -> None:
        self.samples += 1
        seen: set[str] = set()
        leaf = True
        greenlet: Any = None
        while frame is not None:
            code = frame.f_code
            name = f"{_short(code.co_filename)}:{code.co_name}"
            if leaf:
                self.leaf[name] += 1
                leaf = False
            if name not in seen:
                seen.add(name)
                self.inclusive[name] += 1
            frame = frame.f_back
            if frame is None and _greenlet is not None:
                # SQLAlchemy's async layer runs the ORM in a child greenlet whose stack ends
                # at the greenlet's root: continue in the suspended parent (the awaiting
                # coroutine) so database work is charged to its caller.
                current = _greenlet.getcurrent() if greenlet is None else greenlet
                greenlet = current.parent
                if greenlet is not None:
                    frame = greenlet.gr_frame

    def start(self) -> None:
        import signal

        signal.signal(signal.SIGPROF, self._handler)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        import signal

        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)

    def report(self, top: int = 40) -> str:
        total = max(self.samples, 1)
        lines = [f"{self.samples} samples of {self.interval * 1000:g} ms CPU", "", "inclusive:"]
        lines += [
            f"  {100 * n / total:5.1f}%  {name}" for name, n in self.inclusive.most_common(top)
        ]
        lines += ["", "self (leaf frame):"]
        lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in self.leaf.most_common(top)]
        return "\n".join(lines)


def _short(filename: str) -> str:
    marker = "site-packages/"
    if marker in filename:
        return filename.split(marker, 1)[1]
    for root in ("/bot/", "/storage/", "/ticker/", "/handlers/", "/bench/"):
        if root in filename:
            return root[1:] + filename.split(root, 1)[1]
    return filename.rsplit("/", 2)[-1] if "/" in filename else filename


# ---- the world process -----------------------------------------------------------------------


@dataclass
class WorldInfo:
    double_url: str
    double_file_url: str
    site_url: str
    control_url: str


class World:
    """Client side: starts ``bench/_common.py world`` and talks to its control API."""

    def __init__(self, *, global_per_second: int, chats: int, chat_base: int) -> None:
        self._args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "world",
            "--global-per-second",
            str(global_per_second),
            "--chats",
            str(chats),
            "--chat-base",
            str(chat_base),
        ]
        self._process: subprocess.Popen[str] | None = None
        self.info: WorldInfo | None = None
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> World:
        self._process = subprocess.Popen(  # noqa: ASYNC220 - started once, returns at once
            self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = await asyncio.to_thread(self._process.stdout.readline)
        if not line:
            raise RuntimeError("world process did not start")
        self.info = WorldInfo(**json.loads(line))
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()  # the world exits when its stdin closes
            try:
                await asyncio.to_thread(self._process.wait, 10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        assert self._http is not None and self.info is not None
        async with self._http.request(method, self.info.control_url + path, **kwargs) as reply:
            reply.raise_for_status()
            data: dict[str, Any] = await reply.json()
            return data

    async def add(self, headline: str, body: str) -> float:
        """Publish an entry on the ticker page; returns when (world's monotonic clock)."""
        data = await self._call("POST", "/add", json={"headline": headline, "body": body})
        return float(data["at"])

    async def watch(self, marker: str) -> None:
        await self._call("POST", "/watch", json={"marker": marker})

    async def wait(self, marker: str, count: int, seconds: float) -> dict[str, Any]:
        """Until ``count`` sends carrying ``marker`` were accepted, or ``seconds`` passed."""
        return await self._call(
            "GET", "/wait", params={"marker": marker, "count": count, "timeout": seconds}
        )

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "/stats")


async def _serve_world(global_per_second: int, chats: int, chat_base: int) -> None:
    from bot.sandbox.telegram_double import SentMessage, TelegramDouble
    from bot.sandbox.ticker_site import TickerSite

    double = TelegramDouble(
        TOKEN,
        bot_username=BOT_USERNAME,
        global_per_second=global_per_second,
        max_request_log=2000,
    )
    await double.start()
    for chat_id in range(chat_base, chat_base + chats):
        double.add_private_chat(chat_id, f"User {chat_id}")
    site = TickerSite(SOURCE_NAME)
    await site.start()
    site.add("Eröffnung des Tickers", "Willkommen zum Liveticker.")

    watched: dict[str, list[float]] = {}
    waiters: dict[str, tuple[int, asyncio.Event]] = {}
    statuses: Counter[int] = Counter()

    def on_event(kind: str, message: SentMessage) -> None:
        if kind != "sent":
            return
        for marker, times in watched.items():
            if marker in message.text:
                times.append(message.sent_at)
                waiter = waiters.get(marker)
                if waiter is not None and len(times) >= waiter[0]:
                    waiter[1].set()
        # The bench only needs the timestamps: keep the double's memory flat on long runs.
        double.sent.clear()
        double._by_chat.clear()
        double._events.clear()

    double.listeners.append(on_event)
    original_log = double._log

    def log(method: str, params: dict[str, Any], status: int, description: str | None) -> None:
        if method == "sendMessage":
            statuses[status] += 1
        original_log(method, params, status, description)

    double._log = log  # type: ignore[method-assign]

    async def add(request: web.Request) -> web.Response:
        body = await request.json()
        site.add(str(body["headline"]), str(body["body"]))
        return web.json_response({"at": time.monotonic()})

    async def watch(request: web.Request) -> web.Response:
        body = await request.json()
        watched.setdefault(str(body["marker"]), [])
        return web.json_response({"ok": True})

    async def wait(request: web.Request) -> web.Response:
        marker = request.query["marker"]
        count = int(request.query["count"])
        timeout = float(request.query.get("timeout", "60"))
        times = watched.setdefault(marker, [])
        if len(times) < count:
            event = asyncio.Event()
            waiters[marker] = (count, event)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
            waiters.pop(marker, None)
        return web.json_response({"times": list(times), **_stats()})

    def _stats() -> dict[str, Any]:
        return {
            "flood_429": double.flood_429_count,
            "send_status": {str(k): v for k, v in statuses.items()},
            "world_cpu": time.process_time(),
        }

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(_stats())

    app = web.Application()
    app.router.add_post("/add", add)
    app.router.add_post("/watch", watch)
    app.router.add_get("/wait", wait)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    control = web.TCPSite(runner, "127.0.0.1", 0)
    await control.start()
    server = control._server
    assert server is not None
    port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    info = WorldInfo(
        double_url=double.base_url,
        double_file_url=double.base_file_url,
        site_url=site.url,
        control_url=f"http://127.0.0.1:{port}",
    )
    print(json.dumps(info.__dict__), flush=True)
    # Serve until the parent closes our stdin (or dies).
    await asyncio.to_thread(sys.stdin.read)
    await runner.cleanup()
    await site.stop()
    await double.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    world = sub.add_parser("world", help="serve the Bot API double and a ticker page")
    world.add_argument("--global-per-second", type=int, default=30)
    world.add_argument("--chats", type=int, default=10_000)
    world.add_argument("--chat-base", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.command == "world":
        asyncio.run(_serve_world(args.global_per_second, args.chats, args.chat_base))


if __name__ == "__main__":
    main()
