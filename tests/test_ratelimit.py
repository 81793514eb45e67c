"""Tests for bot.ratelimit: the pure scheduler with a fake clock, the async wrapper lightly."""

from __future__ import annotations

import asyncio
import itertools
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ratelimit import ChatKind, RateLimiter, SendLimits, SendScheduler

KINDS: tuple[ChatKind, ...] = ("private", "group", "channel")


def max_in_window(starts: list[float], length: float) -> int:
    """Most starts in any half-open window [t, t + length) (starts sorted)."""
    best = 0
    lo = 0
    for hi, start in enumerate(starts):
        while start - starts[lo] >= length:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def drain(scheduler: SendScheduler, chats: list[tuple[int, ChatKind]], now: float) -> list[float]:
    """Send to each chat in turn as soon as allowed; returns the start times."""
    starts = []
    for chat_id, kind in chats:
        now = scheduler.earliest(chat_id, kind, now)
        scheduler.record(chat_id, kind, now)
        starts.append(now)
    return starts


# --- SendLimits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"messages_per_second": 0},
        {"messages_per_second": math.nan},
        {"per_chat_seconds": -1},
        {"group_messages_per_minute": 0},
    ],
)
def test_limits_reject_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SendLimits(**kwargs)  # type: ignore[arg-type]


# --- global rate -----------------------------------------------------------------------


@pytest.mark.parametrize("rate", [30, 1000, 1, 7])
def test_backlog_to_distinct_chats_achieves_the_rate_without_bursts(rate: int) -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=rate))
    starts = drain(scheduler, [(i, "private") for i in range(10_000)], now=0.0)
    assert max_in_window(starts, 1.0) <= rate
    achieved = (len(starts) - 1) / (starts[-1] - starts[0])
    assert achieved >= 0.97 * rate
    # Smooth: evenly spaced, not `rate` back to back followed by a silent second.
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= (1.0 / rate) * 0.999


def test_first_second_is_not_a_burst() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=30))
    starts = drain(scheduler, [(i, "private") for i in range(60)], now=100.0)
    assert sum(1 for s in starts if s < 101.0) == 30
    assert starts[1] - starts[0] == pytest.approx(1 / 30)


def test_fractional_rate_rounds_down_to_keep_the_window_guarantee() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=2.5))
    starts = drain(scheduler, [(i, "private") for i in range(100)], now=0.0)
    assert max_in_window(starts, 1.0) <= 2
    assert scheduler.effective_rate == 2


def test_rate_below_one_is_spacing() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=0.5))
    starts = drain(scheduler, [(i, "private") for i in range(5)], now=0.0)
    assert starts == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_earliest_is_never_before_now() -> None:
    scheduler = SendScheduler(SendLimits())
    scheduler.record(1, "private", 0.0)
    assert scheduler.earliest(2, "private", 50.0) == 50.0
    assert scheduler.earliest(1, "private", 50.0) == 50.0


# --- per chat and groups ---------------------------------------------------------------


def test_private_chat_spacing() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=30, per_chat_seconds=1.0))
    starts = drain(scheduler, [(7, "private")] * 5, now=0.0)
    assert starts == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_busy_chat_does_not_hold_up_others() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=30, per_chat_seconds=1.0))
    scheduler.record(7, "private", 0.0)
    assert scheduler.earliest(7, "private", 0.0) == 1.0
    assert scheduler.earliest(8, "private", 0.0) == pytest.approx(1 / 30)


@pytest.mark.parametrize("kind", ["group", "channel"])
def test_group_budget_per_minute(kind: ChatKind) -> None:
    limits = SendLimits(messages_per_second=30, per_chat_seconds=1.0, group_messages_per_minute=20)
    scheduler = SendScheduler(limits)
    starts = drain(scheduler, [(-100, kind)] * 45, now=0.0)
    assert starts[:20] == [float(i) for i in range(20)]
    assert starts[20] == 60.0  # the 21st waits until the first leaves the window
    assert max_in_window(starts, 60.0) == 20


def test_private_chats_have_no_minute_budget() -> None:
    scheduler = SendScheduler(SendLimits(per_chat_seconds=1.0, group_messages_per_minute=20))
    starts = drain(scheduler, [(7, "private")] * 30, now=0.0)
    assert starts[-1] == 29.0


@settings(max_examples=60, deadline=None)
@given(
    rate=st.one_of(st.integers(1, 40).map(float), st.floats(0.2, 40.0)),
    per_chat=st.sampled_from([0.0, 0.3, 1.0, 2.5]),
    group_budget=st.integers(1, 25),
    requests=st.lists(
        st.tuples(
            st.integers(0, 12),  # chat id; the kind is a function of the id
            st.floats(0.0, 0.5),  # gap before the request arrives
            st.sampled_from(["send", "send", "send", "pause_all", "pause_chat", "forget"]),
            st.floats(0.0, 5.0),  # pause length
        ),
        min_size=1,
        max_size=300,
    ),
)
def test_simulated_sends_respect_every_limit(
    rate: float,
    per_chat: float,
    group_budget: int,
    requests: list[tuple[int, float, str, float]],
) -> None:
    limits = SendLimits(
        messages_per_second=rate, per_chat_seconds=per_chat, group_messages_per_minute=group_budget
    )
    scheduler = SendScheduler(limits)
    starts: list[float] = []
    by_chat: dict[int, list[float]] = {}
    global_pauses: list[tuple[float, float]] = []
    chat_pauses: dict[int, list[tuple[float, float]]] = {}
    clock = 0.0
    for chat_id, gap, action, length in requests:
        kind = KINDS[chat_id % 3]
        clock += gap
        if action == "pause_all":
            scheduler.pause_all(clock + length)
            global_pauses.append((clock, clock + length))
        elif action == "pause_chat":
            scheduler.pause_chat(chat_id, clock + length)
            chat_pauses.setdefault(chat_id, []).append((clock, clock + length))
        elif action == "forget":
            scheduler.forget_idle(clock)
        else:
            start = scheduler.earliest(chat_id, kind, clock)
            assert start >= clock
            scheduler.record(chat_id, kind, start)
            starts.append(start)
            by_chat.setdefault(chat_id, []).append(start)
            # A send may not start inside any pause that was announced before it was
            # scheduled (which, sequentially, is every pause so far).
            for since, until in global_pauses + chat_pauses.get(chat_id, []):
                assert not (since <= start < until)
            clock = start  # the simulated sender waits for its slot

    assert starts == sorted(starts)
    assert max_in_window(starts, 1.0) <= max(1, math.floor(rate))
    if rate < 1:
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(g >= 1 / rate - 1e-9 for g in gaps)
    for chat_id, chat_starts in by_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(chat_starts)]
        assert all(g >= per_chat for g in gaps)
        if KINDS[chat_id % 3] != "private":
            assert max_in_window(chat_starts, 60.0) <= group_budget


# --- pauses ------------------------------------------------------------------------------


def test_pause_all_holds_and_is_never_shortened() -> None:
    scheduler = SendScheduler(SendLimits())
    scheduler.pause_all(10.0)
    assert scheduler.earliest(1, "private", 0.0) == 10.0
    scheduler.pause_all(5.0)  # a later, shorter 429
    assert scheduler.earliest(1, "private", 0.0) == 10.0
    assert scheduler.earliest(2, "group", 9.99) == 10.0
    scheduler.forget_idle(9.0)
    assert scheduler.earliest(1, "private", 9.0) == 10.0
    scheduler.pause_all(20.0)  # a longer one extends it
    assert scheduler.earliest(1, "private", 0.0) == 20.0
    assert scheduler.earliest(1, "private", 25.0) == 25.0


def test_pause_chat_holds_only_that_chat_and_is_never_shortened() -> None:
    scheduler = SendScheduler(SendLimits())
    scheduler.pause_chat(1, 10.0)
    scheduler.pause_chat(1, 3.0)
    assert scheduler.earliest(1, "private", 0.0) == 10.0
    assert scheduler.earliest(2, "private", 0.0) == 0.0
    scheduler.forget_idle(5.0)  # pause still running: must survive
    assert scheduler.earliest(1, "private", 5.0) == 10.0
    scheduler.forget_idle(10.0)
    assert scheduler.earliest(1, "private", 10.0) == 10.0
    scheduler.pause_chat(1, 12.0)  # after expiry a new pause applies again
    assert scheduler.earliest(1, "private", 10.0) == 12.0


# --- memory bound ------------------------------------------------------------------------


def test_forget_idle_drops_only_state_that_no_longer_constrains() -> None:
    limits = SendLimits(per_chat_seconds=1.0, group_messages_per_minute=2)
    scheduler = SendScheduler(limits)
    scheduler.record(-5, "group", 0.0)
    scheduler.record(-5, "group", 1.0)
    scheduler.record(3, "private", 1.5)
    scheduler.forget_idle(30.0)
    # The group's minute budget is still used up; the private chat is free again.
    assert scheduler.earliest(-5, "group", 30.0) == 60.0
    assert scheduler.earliest(3, "private", 30.0) == 30.0
    scheduler.forget_idle(61.0)
    assert scheduler.tracked_chats == 0
    assert scheduler.earliest(-5, "group", 61.0) == 61.0


def test_memory_stays_bounded_with_100k_chats() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=1000))
    now = 0.0
    peak = 0
    for chat_id in range(100_000):
        kind: ChatKind = "group" if chat_id % 10 == 0 else "private"
        now = scheduler.earliest(chat_id, kind, now)
        scheduler.record(chat_id, kind, now)
        if chat_id % 1000 == 0:
            scheduler.forget_idle(now)
            peak = max(peak, scheduler.tracked_chats)
    # 1000/s: private chats idle after 1 s, groups after 60 s.
    assert peak < 1000 + 6000 + 2000
    scheduler.forget_idle(now + 61)
    assert scheduler.tracked_chats == 0


def test_out_of_order_record_keeps_the_window_exact() -> None:
    scheduler = SendScheduler(SendLimits(messages_per_second=2, per_chat_seconds=0))
    scheduler.record(1, "private", 0.3)
    scheduler.record(2, "private", 0.9)
    scheduler.record(3, "private", 0.5)  # recorded late
    # spacing after the latest (0.9 + 0.5) and the window of the two latest (0.5 + 1.0)
    assert scheduler.earliest(4, "private", 0.95) == 1.5


# --- async wrapper -----------------------------------------------------------------------


async def test_concurrent_acquires_are_serialised_in_fifo_order() -> None:
    rate = 500.0
    limiter = RateLimiter(SendLimits(messages_per_second=rate, per_chat_seconds=1.0))
    done: list[tuple[int, float]] = []
    t0 = time.monotonic()

    async def send(chat_id: int) -> None:
        await limiter.acquire(chat_id, "private")
        done.append((chat_id, time.monotonic()))

    await asyncio.gather(*(send(i) for i in range(50)))
    assert [chat_id for chat_id, _ in done] == list(range(50))
    for i, (_, at) in enumerate(done):
        assert at - t0 >= i / rate - 1e-6  # slot i never starts before i/rate
    assert max_in_window([at for _, at in done], 1.0) <= rate


async def test_same_chat_acquires_take_turns() -> None:
    limiter = RateLimiter(SendLimits(messages_per_second=1000, per_chat_seconds=0.05))
    t0 = time.monotonic()
    order: list[int] = []

    async def send(n: int) -> None:
        await limiter.acquire(42, "private")
        order.append(n)

    await asyncio.gather(*(send(n) for n in range(4)))
    assert order == [0, 1, 2, 3]
    assert time.monotonic() - t0 >= 0.15
    assert limiter._chat_turns == {}


async def test_busy_chat_does_not_block_acquire_for_others() -> None:
    limiter = RateLimiter(SendLimits(messages_per_second=1000, per_chat_seconds=0.5))
    await limiter.acquire(1, "private")
    t0 = time.monotonic()
    blocked = asyncio.create_task(limiter.acquire(1, "private"))
    await asyncio.sleep(0)
    await limiter.acquire(2, "private")
    assert time.monotonic() - t0 < 0.1
    assert limiter.ready_at(1, "private") > time.monotonic()
    assert limiter.ready_at(3, "private") <= time.monotonic() + 0.01
    blocked.cancel()


async def test_pause_during_wait_voids_the_reservation() -> None:
    limiter = RateLimiter(SendLimits(messages_per_second=10, per_chat_seconds=0))
    await limiter.acquire(1, "private")
    t0 = time.monotonic()
    waiting = asyncio.create_task(limiter.acquire(2, "private"))  # slot ~0.1 s ahead
    await asyncio.sleep(0.01)
    limiter.pause_all(0.25)
    limiter.pause_all(0.01)  # shorter: ignored
    await waiting
    assert time.monotonic() - t0 >= 0.25


async def test_pause_chat_delays_only_that_chat() -> None:
    limiter = RateLimiter(SendLimits(messages_per_second=1000, per_chat_seconds=0))
    limiter.pause_chat(1, 0.2)
    t0 = time.monotonic()
    await limiter.acquire(2, "private")
    assert time.monotonic() - t0 < 0.1
    await limiter.acquire(1, "private")
    assert time.monotonic() - t0 >= 0.2
