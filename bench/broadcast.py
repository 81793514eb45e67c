"""One entry to N chats through the Bot API double, with the real bot (issue 3, "Speed").

    python bench/broadcast.py                 # 10,000 chats (≈ 20 min: 2 × 5.7 min at 30/s)
    python bench/broadcast.py --quick         # 1,000 chats, a smoke run (≈ 3 min)
    python bench/broadcast.py --chats 3000 --only bot30,bot1000 [--profile FILE] [--tune …]

Phases (each against a Bot API double in its own process, see ``bench/_common.py``, so that
``time.process_time()`` here is the bot's own CPU, aiosqlite's thread included):

* ``bot30``   — ``TickerBot`` (the object ``tickerbot run`` starts) with a temp SQLite db,
  ``messages_per_second = 30``, the double enforcing Telegram's 30/s: achieved rate as a
  fraction of 30 over the broadcast (first to last send as the double saw it), 429 answers.
* ``bot1000`` — the same with ``messages_per_second = 1000`` and the double at 1000/s (paid
  broadcast): the bot's CPU ms per delivered message and the rate.
* ``naive``   — what a naive bot does: PTB with ``AIORateLimiter()`` defaults, the same N
  messages through ``asyncio.gather``, against the 30/s double: rate, 429s, CPU ms/message.
* ``latency`` — ``interval_seconds = 5``: time from an entry appearing on the ticker page to
  its first push at the double, over ``--entries`` entries added at random poll phases.

The chats are subscribed with ``storage.chats.ensure``/``subscribe`` after the source's first
poll (which stores without pushing) and before the entry appears. CPU figures cover the whole
broadcast: poll, fan-out, claiming, rendering, rate limiting, HTTP and recording the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    SOURCE_ID,
    SOURCE_NAME,
    TOKEN,
    StackSampler,
    World,
    achieved_rate,
    machine,
    max_in_window,
    percentile,
)

from bot.app import TickerBot
from bot.config import Settings, settings_from_mapping

CHAT_BASE = 1_000_000
LATENCY_CHATS = 3
INTERVAL_SECONDS = 5.0
PHASES = ("bot30", "bot1000", "naive", "latency")
TUNING: set[str] = set()


class StallWatch:
    """Event-loop stalls and garbage-collector pauses during a phase.

    The rate limiter spaces sends 34 ms apart and allows 25 ms (``SEND_JITTER_MARGIN``) of
    lateness between its clock and the double's: any stall longer than that can squeeze 31
    sends into one of the double's one-second windows, which it answers with a 429.
    """

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.lags: list[float] = []
        self.gc_pauses: list[tuple[int, float]] = []
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append((int(info["generation"]), time.perf_counter() - self._gc_started))

    async def _watch(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.lags.append(time.perf_counter() - began - self.tick)

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def line(self) -> str:
        lags = sorted(self.lags) or [0.0]
        full = [d for g, d in self.gc_pauses if g == 2]
        return (
            f"loop lag p99 {1000 * percentile(lags, 0.99):.1f} ms, max {1000 * lags[-1]:.1f} ms,"
            f" {sum(1 for lag in lags if lag > 0.025)} stalls > 25 ms; gc: "
            f"{len(self.gc_pauses)} collections, {len(full)} full, longest "
            f"{1000 * max((d for _, d in self.gc_pauses), default=0.0):.1f} ms"
        )


def cpu_seconds() -> float:
    """User + system CPU of this whole process (all threads), as getrusage reports it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Broadcast:
    label: str
    chats: int
    limit: float
    delivered: int
    times: list[float]
    flood_429: int
    cpu_seconds: float
    wall_seconds: float
    add_to_first: float
    world_cpu_seconds: float
    errors: Counter[str] = field(default_factory=Counter)
    stalls: str = ""

    @property
    def rate(self) -> float:
        return achieved_rate(self.times)

    @property
    def cpu_ms_per_message(self) -> float:
        return 1000 * self.cpu_seconds / max(self.delivered, 1)

    def lines(self) -> list[str]:
        peak = max_in_window(self.times) if self.times else 0
        out = [
            f"  delivered           {self.delivered:,} / {self.chats:,}",
            f"  achieved rate       {self.rate:.2f}/s = {self.rate / self.limit:.4f} of "
            f"{self.limit:g}/s (first→last send as the double saw it, "
            f"{(max(self.times) - min(self.times)) if self.times else 0:.1f} s)",
            f"  most in any 1 s     {peak} (limit {self.limit:g})",
            f"  429 answers         {self.flood_429}",
            f"  CPU (this process)  {self.cpu_seconds:.2f} s = "
            f"{self.cpu_ms_per_message:.3f} ms per delivered message",
            f"  double's CPU        {1000 * self.world_cpu_seconds / max(self.delivered, 1):.3f}"
            " ms per message (other process, for scale)",
            f"  entry → first send  {self.add_to_first:.2f} s",
        ]
        if self.errors:
            out.append(f"  errors              {dict(self.errors)}")
        if self.stalls:
            out.append(f"  event loop          {self.stalls}")
        return out


def bot_settings(world: World, database_url: str, rate: float) -> Settings:
    assert world.info is not None
    return settings_from_mapping(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": world.info.double_url,
                "base_file_url": world.info.double_file_url,
            },
            "database": {"url": database_url},
            "delivery": {"messages_per_second": rate},
            "sources": [
                {
                    "id": SOURCE_ID,
                    "name": SOURCE_NAME,
                    "url": world.info.site_url,
                    "interval_seconds": INTERVAL_SECONDS,
                }
            ],
        },
        env={},
    )


@contextlib.asynccontextmanager
async def running_bot(world: World, rate: float) -> AsyncIterator[TickerBot]:
    with tempfile.TemporaryDirectory(prefix="tickerbot-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        bot = TickerBot(bot_settings(world, url, rate))
        await bot.start()
        if "gcfreeze" in TUNING:
            gc.collect()
            gc.freeze()
        try:
            yield bot
        finally:
            await bot.stop()


async def first_poll_done(bot: TickerBot) -> None:
    """The source's first poll stores the page without pushing anything (SPEC §6)."""
    assert bot.storage is not None
    for _ in range(200):
        state = await bot.storage.sources.get(SOURCE_ID)
        if state is not None and state.initialized:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the source was never polled")


async def subscribe(bot: TickerBot, chat_ids: Sequence[int]) -> float:
    """ensure + subscribe every chat, in concurrent chunks; returns the seconds it took."""
    assert bot.storage is not None
    chats = bot.storage.chats
    started = time.perf_counter()

    async def one(chat_id: int) -> None:
        await chats.ensure(chat_id, type="private", title=f"User {chat_id}")
        await chats.subscribe(chat_id, [SOURCE_ID])

    for i in range(0, len(chat_ids), 50):
        await asyncio.gather(*(one(c) for c in chat_ids[i : i + 50]))
    return time.perf_counter() - started


async def wait_outbox_empty(bot: TickerBot, limit_seconds: float = 120) -> None:
    """Until every delivery's result is recorded (the sender's group commit is done)."""
    assert bot.storage is not None
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        pending, _ = await bot.storage.outbox.pending_count()
        if pending == 0:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("outbox not drained")


async def bot_broadcast(
    world: World, chats: int, rate: float, label: str, profile: Path | None
) -> Broadcast:
    chat_ids = list(range(CHAT_BASE, CHAT_BASE + chats))
    async with running_bot(world, rate) as bot:
        await first_poll_done(bot)
        took = await subscribe(bot, chat_ids)
        print(f"  ({label}: {chats:,} chats subscribed in {took:.1f} s)", flush=True)
        marker = f"R{uuid.uuid4().hex[:10]}"
        await world.watch(marker)
        before = await world.stats()
        profiler = start_profiler() if profile else None
        watch = StallWatch()
        watch.start()
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        added = await world.add(f"Rundruf {marker}", "Eine Meldung an alle Abonnenten.")
        result = await world.wait(marker, chats, seconds=chats / rate * 1.5 + 120)
        await wait_outbox_empty(bot)
        cpu1, wall1 = cpu_seconds(), time.monotonic()
        await watch.stop()
        if profiler is not None and profile is not None:
            stop_profiler(profiler, profile)
    times = [float(t) for t in result["times"]]
    errors = Counter(
        {
            status: result["send_status"].get(status, 0) - before["send_status"].get(status, 0)
            for status in result["send_status"]
            if status != "200"
        }
    )
    return Broadcast(
        label=label,
        chats=chats,
        limit=rate,
        delivered=len(times),
        times=times,
        flood_429=int(result["flood_429"]) - int(before["flood_429"]),
        cpu_seconds=cpu1 - cpu0,
        wall_seconds=wall1 - wall0,
        add_to_first=(min(times) - added) if times else float("nan"),
        world_cpu_seconds=float(result["world_cpu"]) - float(before["world_cpu"]),
        errors=+errors,
        stalls=watch.line(),
    )


async def naive_broadcast(world: World, chats: int) -> Broadcast:
    """PTB's AIORateLimiter with its defaults and asyncio.gather: what a naive bot does."""
    from telegram.constants import ParseMode
    from telegram.error import RetryAfter
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    assert world.info is not None
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(world.info.double_url)
        .base_file_url(world.info.double_file_url)
        .rate_limiter(AIORateLimiter())
        .build()
    )
    await application.initialize()
    marker = f"N{uuid.uuid4().hex[:10]}"
    await world.watch(marker)
    before = await world.stats()
    text = f"<b>12:00</b> · <b>Rundruf {marker}</b>\n\nEine Meldung an alle Abonnenten."
    bot = application.bot
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    outcomes = await asyncio.gather(
        *(
            bot.send_message(chat_id=chat_id, text=text, parse_mode=ParseMode.HTML)
            for chat_id in range(CHAT_BASE, CHAT_BASE + chats)
        ),
        return_exceptions=True,
    )
    cpu1, wall1 = cpu_seconds(), time.monotonic()
    await application.shutdown()
    errors: Counter[str] = Counter(
        "RetryAfter (429)" if isinstance(o, RetryAfter) else type(o).__name__
        for o in outcomes
        if isinstance(o, BaseException)
    )
    delivered = len(outcomes) - sum(errors.values())
    result = await world.wait(marker, delivered, seconds=10)
    times = [float(t) for t in result["times"]]
    return Broadcast(
        label="naive",
        chats=chats,
        limit=30,
        delivered=len(times),
        times=times,
        flood_429=int(result["flood_429"]) - int(before["flood_429"]),
        cpu_seconds=cpu1 - cpu0,
        wall_seconds=wall1 - wall0,
        add_to_first=float("nan"),
        world_cpu_seconds=float(result["world_cpu"]) - float(before["world_cpu"]),
        errors=errors,
    )


async def latency(world: World, entries: int) -> list[float]:
    """Entry on the page → first push at the double, with a 5 s poll interval."""
    chat_ids = list(range(CHAT_BASE, CHAT_BASE + LATENCY_CHATS))
    results: list[float] = []
    async with running_bot(world, 30) as bot:
        await first_poll_done(bot)
        await subscribe(bot, chat_ids)
        rng = random.Random(7)
        for n in range(entries):
            # A random phase relative to the poll schedule: the wait for the next poll is
            # anything from 0 to the interval (plus the scheduler's jitter).
            await asyncio.sleep(rng.uniform(0, INTERVAL_SECONDS))
            marker = f"L{uuid.uuid4().hex[:10]}"
            await world.watch(marker)
            added = await world.add(f"Eilmeldung {n + 1} {marker}", "Neue Lage im Gebiet.")
            result = await world.wait(marker, 1, seconds=60)
            if not result["times"]:
                raise RuntimeError(f"entry {n + 1} was never pushed")
            results.append(min(float(t) for t in result["times"]) - added)
            print(f"  entry {n + 1:2d}: {results[-1]:.2f} s", flush=True)
    return results


def start_profiler() -> StackSampler:
    sampler = StackSampler()
    sampler.start()
    return sampler


def stop_profiler(sampler: StackSampler, path: Path) -> None:
    sampler.stop()
    path.write_text(sampler.report(250) + "\n")
    print(f"  profile written to {path}", flush=True)


def apply_tuning(spec: str) -> list[str]:
    """Experiments for the analysis, off by default: each emulates a one-line change.

    * ``sniffio`` — make ``import sniffio`` succeed (as adding it to the dependencies would):
      httpcore 1.0 calls ``current_async_library()`` on every request and lock, which
      imports sniffio each time; anyio 4.16 no longer depends on it, so every call is a
      failed import that walks ``sys.path``.
    * ``lowwater`` — the sender claims again only when half its in-flight slots are free,
      instead of after every finished send (``Sender._start``'s done callback sets
      ``_wake`` unconditionally; each wake runs ``claim_batches``, whose GROUP BY over all
      pending deliveries costs O(pending): ~14 ms CPU at 10,000 pending), and the idle wait
      ignores the per-chat cooling deadlines while more than half the slots are busy.
    * ``gcfreeze`` — ``gc.collect(); gc.freeze()`` after ``TickerBot.start()``: the start-up
      heap (gazetteer, SQLAlchemy, PTB) leaves the generations a full collection walks.
    * ``pool=N`` — build the bot's Application with ``connection_pool_size(N)`` instead of
      PTB's default 256: httpcore scans every pooled connection (``has_expired`` → a
      ``select``/``getpeername`` per socket) on each request and response.
    """
    applied: list[str] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if item == "sniffio":
            import types

            stub = types.ModuleType("sniffio")
            stub.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
            sys.modules.setdefault("sniffio", stub)
        elif item == "lowwater":
            from bot.sender import Sender

            def start(self: Sender, chat_id: int, job: object) -> None:
                assert asyncio.iscoroutine(job)
                task = asyncio.create_task(job)
                self._in_flight[chat_id] = task

                def done(_: asyncio.Task[None], chat_id: int = chat_id) -> None:
                    self._in_flight.pop(chat_id, None)
                    self._slot_freed.set()
                    if len(self._in_flight) <= self._max_in_flight // 2:
                        self._wake.set()

                task.add_done_callback(done)

            original_idle = Sender._idle_timeout

            async def idle_timeout(self: Sender, original_idle: Any = original_idle) -> float:
                # Per-chat cooling deadlines (one per chat just sent, each ~1/rate apart)
                # would otherwise wake a claim round per send anyway.
                if len(self._in_flight) > self._max_in_flight // 2:
                    return 5.0
                return await original_idle(self)

            Sender._start = start  # type: ignore[method-assign]
            Sender._idle_timeout = idle_timeout  # type: ignore[method-assign]
        elif item == "gcfreeze":
            TUNING.add("gcfreeze")
        elif item.startswith("pool="):
            import bot.app as app_module

            size = int(item.split("=", 1)[1])
            original = app_module.build_application

            def build(settings: Settings, size: int = size) -> Any:
                telegram = settings.telegram
                from telegram.ext import ApplicationBuilder

                return (
                    ApplicationBuilder()
                    .token(telegram.token)
                    .base_url(telegram.base_url)
                    .base_file_url(telegram.base_file_url)
                    .get_updates_read_timeout(telegram.poll_timeout_seconds + 10)
                    .connection_pool_size(size)
                    .build()
                )

            assert original is not None
            app_module.build_application = build
        else:
            raise SystemExit(f"unknown tuning {item!r}")
        applied.append(item)
    return applied


def verdict(ok: bool) -> str:
    return "meets the aim" if ok else "MISSES the aim"


async def run(args: argparse.Namespace) -> int:
    chats: int = args.chats
    phases = set(args.only.split(",")) if args.only else set(PHASES)
    unknown = phases - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phase(s): {', '.join(sorted(unknown))}")
    print(f"broadcast bench: {chats:,} chats · {machine()}")
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), flush=True)
    if args.tune:
        print(f"EXPERIMENT, not the product as shipped: {', '.join(apply_tuning(args.tune))}")
    failed = False
    if phases & {"bot30", "naive", "latency"}:
        async with World(global_per_second=30, chats=chats, chat_base=CHAT_BASE) as world:
            if "bot30" in phases:
                print("\n[bot30] TickerBot, messages_per_second = 30, double at 30/s", flush=True)
                profile30 = Path(f"{args.profile}.bot30") if args.profile else None
                b30 = await bot_broadcast(world, chats, 30, "bot30", profile30)
                print("\n".join(b30.lines()))
                ok = b30.rate / 30 >= 0.97 and b30.flood_429 == 0 and b30.delivered == chats
                failed |= not ok
                print(f"  → rate ≥ 0.97 × 30/s, no 429, all delivered: {verdict(ok)}", flush=True)
                await asyncio.sleep(2)  # let the double's windows empty before the next phase
            if "naive" in phases:
                print("\n[naive] PTB AIORateLimiter() defaults + asyncio.gather, double at 30/s")
                naive = await naive_broadcast(world, chats)
                print("\n".join(naive.lines()), flush=True)
                await asyncio.sleep(2)
            if "latency" in phases:
                print(f"\n[latency] interval {INTERVAL_SECONDS:g} s, {args.entries} entries")
                lat = await latency(world, args.entries)
                median, worst = statistics.median(lat), max(lat)
                ok = worst < INTERVAL_SECONDS + 1
                failed |= not ok
                print(
                    f"  page → first push: median {median:.2f} s, p90 {percentile(lat, 0.9):.2f} s,"
                    f" max {worst:.2f} s, min {min(lat):.2f} s"
                )
                print(f"  → max < {INTERVAL_SECONDS + 1:g} s: {verdict(ok)}", flush=True)
    if "bot1000" in phases:
        async with World(global_per_second=1000, chats=chats, chat_base=CHAT_BASE) as world:
            print("\n[bot1000] TickerBot, messages_per_second = 1000, double at 1000/s", flush=True)
            profile = Path(args.profile) if args.profile else None
            b1000 = await bot_broadcast(world, chats, 1000, "bot1000", profile)
            print("\n".join(b1000.lines()))
            ok = b1000.cpu_ms_per_message < 1 and b1000.delivered == chats
            failed |= not ok
            print(f"  → < 1 ms CPU per message: {verdict(ok)}", flush=True)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 chats, 5 latency entries")
    parser.add_argument("--entries", type=int, default=10, help="entries for the latency phase")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument(
        "--profile", metavar="FILE", help="sample the bot phases' stacks (bot30: FILE.bot30)"
    )
    parser.add_argument(
        "--tune", default="", help="lowwater,gcfreeze,sniffio,pool=N (see apply_tuning)"
    )
    args = parser.parse_args()
    if args.quick:
        args.chats = 1_000
        args.entries = min(args.entries, 5)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
