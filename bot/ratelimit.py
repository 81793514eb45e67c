"""Send-rate limiting for the delivery pipeline.

PTB's ``AIORateLimiter`` is not enough for a broadcaster (see TELEGRAM_NOTES.md): it lets a
burst of ~60 messages through in the first second, does not space messages to one private
chat, and releases the global pause after a 429 early. This module replaces it.

It is split in two:

* :class:`SendScheduler` is the pure core. It never reads a clock and never sleeps: every
  method takes the current time, so it is tested deterministically with a fake clock and is
  cheap (O(1) amortised per send, bounded deques; 1000 msgs/s cost microseconds).
* :class:`RateLimiter` is the thin asyncio wrapper the sender uses: it sleeps exactly until
  the computed start time (no polling) and reserves the slot.

Limits enforced (SPEC §3 ``[delivery]``, §6):

* global: never more than ``messages_per_second`` starts in any one-second window, spread
  evenly (no bursts);
* per chat: consecutive starts to one chat at least ``per_chat_seconds`` apart;
* groups and channels: additionally at most ``group_messages_per_minute`` starts in any
  60-second window;
* pauses after a 429 (``retry_after``): global or per chat; a pause is only ever extended,
  never shortened.

"Window" always means a half-open interval ``[t, t + length)``: the guarantee is that for any
``k + 1`` consecutive starts the first and the last are at least ``length`` apart.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = ["ChatKind", "RateLimiter", "SendLimits", "SendScheduler"]

ChatKind = Literal["private", "group", "channel"]

GROUP_WINDOW_SECONDS = 60.0
"""Length of the per-group window for ``group_messages_per_minute``."""

GLOBAL_WINDOW_SECONDS = 1.0
"""Length of the global window for ``messages_per_second``."""


@dataclass(frozen=True, slots=True)
class SendLimits:
    """The ``[delivery]`` limits the scheduler enforces (defaults = SPEC §3 defaults)."""

    messages_per_second: float = 30.0
    per_chat_seconds: float = 1.0
    group_messages_per_minute: int = 20
    # Requests reach Telegram a little later than they start here, by varying amounts; a
    # delayed first send of a window squeezes that window as Telegram sees it. The sender
    # lengthens the windows by this fraction (1 % keeps 99 % of the rate) to absorb it.
    jitter_margin: float = 0.0

    def __post_init__(self) -> None:
        # Fail at construction: a zero or NaN rate would otherwise surface as a division
        # error or an infinite wait deep inside the sender.
        if not (math.isfinite(self.messages_per_second) and self.messages_per_second > 0):
            raise ValueError("messages_per_second must be a positive number")
        if not (math.isfinite(self.per_chat_seconds) and self.per_chat_seconds >= 0):
            raise ValueError("per_chat_seconds must be a non-negative number")
        if self.group_messages_per_minute < 1:
            raise ValueError("group_messages_per_minute must be at least 1")


def _at_least(base: float, gap: float) -> float:
    """Smallest float ``t >= base + gap`` for which ``t - base >= gap`` also holds in floats.

    ``base + gap`` is rounded to the nearest float and may land one ulp short, which would
    let a property check such as ``s[i + n] - s[i] >= 1.0`` fail by 1e-16. Nudging up by an
    ulp or two makes the guarantee exact rather than "exact up to rounding".
    """
    t = base + gap
    while t - base < gap:
        t = math.nextafter(t, math.inf)
    return t


def _append_sorted(window: deque[float], at: float) -> None:
    """Append ``at`` keeping ``window`` sorted; O(1) for the normal in-order case.

    Out-of-order records (a caller recording an earlier start after a later one) are rare;
    they cost O(maxlen) instead of silently breaking the "oldest is at index 0" invariant
    the window checks rely on.
    """
    if not window or at >= window[-1]:
        window.append(at)
        return
    items = sorted([*window, at])
    window.clear()
    window.extend(items[-window.maxlen :] if window.maxlen else items)


class _ChatState:
    """What one chat's recent sends still constrain; dropped by ``forget_idle``."""

    __slots__ = ("last", "window")

    def __init__(self) -> None:
        self.last = -math.inf
        # Only groups/channels get a window: for 100k private chats a deque each would be
        # tens of megabytes for nothing.
        self.window: deque[float] | None = None


class SendScheduler:
    """Pure scheduling core: when may a send to a chat start, given what already started.

    Global window algorithm — even spacing *plus* a strict sliding window:

    * Starts are spaced at least ``1 / n`` seconds apart, where ``n`` is the number of
      sends allowed per one-second window (``floor(messages_per_second)``). This is what
      makes the stream smooth: a backlog drains at a steady ``n`` per second instead of
      ``n`` back to back followed by a silent second (which a bare sliding window does,
      and which Telegram answers with 429s).
    * A strict sliding window (deque of the last ``n`` starts; the next start is at least
      1 s after the oldest) backs the spacing up. Spacing alone gives at most ``n`` per
      window only up to float rounding (30 × 1/30 may sum to 0.99999…); the window makes
      the bound exact and also holds when starts were recorded late or out of order.

    With a backlog this achieves the full configured rate (minus a few ulps), well above
    the required 0.97, and no one-second window ever holds more than the limit. A
    fractional rate is rounded *down* for rates >= 1: the guarantee is a whole number of
    sends per window (2.5/s allows 2 in any second), so ``floor`` is the best any
    algorithm can do without breaking it. Rates below 1/s are pure spacing (0.5/s = one
    send every 2 s).

    Per chat: spacing ``per_chat_seconds``; groups and channels additionally a strict
    sliding window of ``group_messages_per_minute`` per 60 s (a window rather than 3 s
    spacing, so a short burst of entries still goes out at the per-chat pace).

    Callers pass a non-decreasing ``now``/``at``; recording out of order is handled but
    costs O(window). All methods are O(1) amortised.
    """

    def __init__(self, limits: SendLimits) -> None:
        self.limits = limits
        rate = limits.messages_per_second
        self._per_window = max(1, math.floor(rate))
        self._window = GLOBAL_WINDOW_SECONDS * (1.0 + limits.jitter_margin)
        self._spacing = self._window / rate if rate < 1 else self._window / self._per_window
        self._starts: deque[float] = deque(maxlen=self._per_window)
        self._paused_until = -math.inf
        # Insertion order = order of the latest record(), so forget_idle() can pop idle
        # chats from the front without scanning everything. Two queues because the idle
        # horizon differs (private: per_chat_seconds, groups/channels: 60 s): in one queue a
        # group still inside its minute would shield every idle private chat behind it.
        self._private: OrderedDict[int, _ChatState] = OrderedDict()
        self._grouped: OrderedDict[int, _ChatState] = OrderedDict()
        self._chat_pauses: dict[int, float] = {}
        self._pause_expiry: list[tuple[float, int]] = []  # min-heap over _chat_pauses
        self._idle_after = limits.per_chat_seconds
        self._group_window = GROUP_WINDOW_SECONDS * (1.0 + limits.jitter_margin)
        self._group_idle_after = max(limits.per_chat_seconds, self._group_window)

    @property
    def effective_rate(self) -> float:
        """Sends per second actually achievable under the one-second-window guarantee."""
        return 1.0 / self._spacing

    @property
    def tracked_chats(self) -> int:
        """Chats with per-chat state (for metrics and the memory-bound test)."""
        return len(self._private) + len(self._grouped)

    @property
    def paused_until(self) -> float:
        """End of the global pause (``-inf`` if never paused)."""
        return self._paused_until

    def global_ready_at(self, now: float) -> float:
        """Earliest start allowed by the global limits alone (rate, window, global pause)."""
        ready = max(now, self._paused_until)
        starts = self._starts
        if starts:
            ready = max(ready, _at_least(starts[-1], self._spacing))
            if len(starts) >= self._per_window:
                ready = max(ready, _at_least(starts[0], self._window))
        return ready

    def chat_ready_at(self, chat_id: int, kind: ChatKind, now: float) -> float:
        """Earliest start allowed by this chat's own limits (spacing, group window, pause)."""
        ready = max(now, self._chat_pauses.get(chat_id, -math.inf))
        state = self._private.get(chat_id) or self._grouped.get(chat_id)
        if state is not None:
            if state.last > -math.inf:
                ready = max(ready, _at_least(state.last, self.limits.per_chat_seconds))
            window = state.window
            if (
                kind != "private"
                and window is not None
                and len(window) >= self.limits.group_messages_per_minute
            ):
                ready = max(ready, _at_least(window[0], self._group_window))
        return ready

    def earliest(self, chat_id: int, kind: ChatKind, now: float) -> float:
        """Earliest time ``>= now`` a send to ``chat_id`` may start, respecting all limits."""
        return max(self.global_ready_at(now), self.chat_ready_at(chat_id, kind, now))

    def blocked_until(self, chat_id: int) -> float:
        """End of the pause (global or this chat's) that applies to ``chat_id``."""
        return max(self._paused_until, self._chat_pauses.get(chat_id, -math.inf))

    def record(self, chat_id: int, kind: ChatKind, at: float) -> None:
        """Note that a send to ``chat_id`` started (or is reserved to start) at ``at``."""
        _append_sorted(self._starts, at)
        if chat_id in self._grouped:
            state = self._grouped[chat_id]
            self._grouped.move_to_end(chat_id)
        elif kind != "private":
            # New group, or (rarely) a chat first seen as private: it now needs a window.
            state = self._private.pop(chat_id) if chat_id in self._private else _ChatState()
            state.window = deque(maxlen=self.limits.group_messages_per_minute)
            self._grouped[chat_id] = state
        elif chat_id in self._private:
            state = self._private[chat_id]
            self._private.move_to_end(chat_id)
        else:
            state = self._private[chat_id] = _ChatState()
        state.last = max(state.last, at)
        if kind != "private" and state.window is not None:
            _append_sorted(state.window, at)

    def pause_all(self, until: float) -> None:
        """Nothing starts before ``until``; a shorter pause never shortens a longer one."""
        self._paused_until = max(self._paused_until, until)

    def pause_chat(self, chat_id: int, until: float) -> None:
        """Nothing starts to ``chat_id`` before ``until`` (only ever extended)."""
        if until > self._chat_pauses.get(chat_id, -math.inf):
            self._chat_pauses[chat_id] = until
            heapq.heappush(self._pause_expiry, (until, chat_id))

    def forget_idle(self, now: float) -> None:
        """Drop per-chat state that can no longer delay any send at or after ``now``.

        Bounds memory to the chats that sent within the last ``max(per_chat_seconds, 60 s)``
        instead of every chat ever served (100k chats). Chats are kept in order of their
        latest record, so this pops from the front and stops at the first chat that still
        constrains something: O(1) amortised per send, safe to call before every send.
        """
        for chats, horizon in (
            (self._private, self._idle_after),
            (self._grouped, self._group_idle_after),
        ):
            while chats:
                chat_id, state = next(iter(chats.items()))
                if state.last + horizon > now:
                    break
                del chats[chat_id]
        expiry = self._pause_expiry
        while expiry and expiry[0][0] <= now:
            until, chat_id = heapq.heappop(expiry)
            if self._chat_pauses.get(chat_id) == until:
                del self._chat_pauses[chat_id]


class RateLimiter:
    """Asyncio front of :class:`SendScheduler` for the sender tasks.

    Starts are recorded at the time the caller actually proceeds, not at a time reserved in
    advance: when the event loop stalls (a busy machine, a long database call), callers that
    had reserved slots would otherwise all wake at once and fire together, squeezing many
    sends into one window as Telegram sees them. So callers take the global slot one at a
    time (a FIFO ``asyncio.Lock``: served in the order they became eligible), the head of
    the line sleeps until the computed start, and records the start when it really goes.

    A caller whose *chat* is not ready yet (per-chat spacing, group budget, chat pause)
    first sleeps until it is, *without* holding the global line: one busy chat never delays
    the others. Callers for the same chat take turns in arrival order (a FIFO lock per chat).
    """

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.scheduler = SendScheduler(limits)
        self._clock = clock
        self._line = asyncio.Lock()
        # chat id -> [lock, number of callers using it]; removed when the last one leaves,
        # so the dict only holds chats with an acquire() in progress.
        self._chat_turns: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    async def acquire(self, chat_id: int, kind: ChatKind) -> None:
        """Wait until a send to ``chat_id`` may start, and record that start.

        A pause that arrives while waiting is honoured: every wait ends by re-computing the
        earliest start, so the caller simply goes later. A cancelled caller records nothing.
        """
        scheduler = self.scheduler
        lock, users = self._chat_turns.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                while True:
                    now = self._clock()
                    scheduler.forget_idle(now)
                    chat_ready = scheduler.chat_ready_at(chat_id, kind, now)
                    if chat_ready <= now:
                        break
                    # Computed wait, then re-check: a chat pause may have been added.
                    await self._sleep_until(chat_ready)
                async with self._line:
                    while True:
                        now = self._clock()
                        start = scheduler.earliest(chat_id, kind, now)
                        if start <= now:
                            break
                        await self._sleep_until(start)
                    scheduler.record(chat_id, kind, now)
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._chat_turns[chat_id]

    def chat_ready_at(self, chat_id: int, kind: ChatKind) -> float:
        """Clock time at which the chat's own limits (spacing, group budget, pause) allow a
        send, ignoring the global window that every chat shares."""
        return self.scheduler.chat_ready_at(chat_id, kind, self._clock())

    def ready_at(self, chat_id: int, kind: ChatKind) -> float:
        """Clock time at which ``chat_id`` could start a send (lets the sender pick ready chats)."""
        return self.scheduler.earliest(chat_id, kind, self._clock())

    def pause_all(self, seconds: float) -> None:
        """After a 429 ``retry_after``: no send starts for ``seconds`` (never shortened)."""
        self.scheduler.pause_all(self._clock() + seconds)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """No send to ``chat_id`` starts for ``seconds`` (never shortened)."""
        self.scheduler.pause_chat(chat_id, self._clock() + seconds)

    async def _sleep_until(self, deadline: float) -> None:
        # asyncio may wake a timer up to one clock resolution early; sleeping the
        # remainder keeps "starts no earlier than scheduled" exact. Not a polling loop:
        # each iteration sleeps the computed remaining time.
        remaining = deadline - self._clock()
        while remaining > 0:
            await asyncio.sleep(remaining)
            remaining = deadline - self._clock()


def retry_seconds(error: Exception) -> float:
    """``RetryAfter.retry_after`` as seconds: PTB 22 gives an int (a timedelta from v23)."""
    value = getattr(error, "retry_after", 1)
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
