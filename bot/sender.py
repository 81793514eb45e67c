"""Drains the outbox: claim due batches → render → rate limit → Bot API → record the result.

One long-running task. Sends run concurrently (so the global rate can be reached) but a chat
never has two messages in flight, keeping each chat's messages in publication order. Results
are written by a group-commit writer: at 1000 messages/s one transaction per message would
make the database, not Telegram, the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from bot.config import Settings
from bot.entry_view import to_rendered
from bot.metrics import Metrics
from bot.ratelimit import RateLimiter, retry_seconds
from bot.render import render_entries
from bot.summaries import todays_summaries
from storage import Storage
from storage.digests import PendingDigest
from storage.outbox import SendOutcome
from storage.records import ChatSettings, OutboxBatch, PendingEdit, StoredEntry
from ticker.summary import render_summary_html

log = logging.getLogger("tickerbot.sender")

MAX_BACKOFF = timedelta(minutes=5)
IDLE_WAIT_SECONDS = 5.0
HTTP_CONCURRENCY = 32
RENDER_CACHE_SIZE = 256


def in_quiet_hours(chat: ChatSettings, now: datetime, zone: ZoneInfo) -> bool:
    """Quiet windows are local minutes-of-day and may cross midnight (22:00-07:00)."""
    if chat.quiet_start is None or chat.quiet_end is None:
        return False
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = chat.quiet_start, chat.quiet_end
    if start == end:
        return False
    return start <= minute < end if start < end else (minute >= start or minute < end)


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


_CHAT_GONE = (
    "chat not found",
    "peer_id_invalid",
    "user not found",
    # a channel where the bot lost its admin rights or the right to post
    "need administrator rights",
    "not enough rights to send",
)


def _is_chat_gone(error: BadRequest) -> bool:
    text = error.message.lower()
    return any(reason in text for reason in _CHAT_GONE)


class Sender:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        settings: Settings,
        limiter: RateLimiter,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._bot = bot
        self._storage = storage
        self._settings = settings
        self._limiter = limiter
        self._metrics = metrics or Metrics()
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._cooling: dict[int, float] = {}
        self._outcomes: asyncio.Queue[SendOutcome] = asyncio.Queue()
        self._writer_idle = asyncio.Event()
        self._writer_idle.set()
        self._source_zones = {s.id: ZoneInfo(s.timezone) for s in settings.sources}
        self._default_zone = settings.default_zone
        delivery = settings.delivery
        self._max_in_flight = max(4, min(int(delivery.messages_per_second * 2), 2000))
        self._low_water = self._max_in_flight // 2
        # Requests in flight stay below the HTTP pool's size (build_application), so a send
        # never waits for a connection there, where the pool timeout would fail it.
        self._http_slots = asyncio.Semaphore(HTTP_CONCURRENCY)
        # sendMessage parameters that are the same for every push: the dict is what PTB sends
        # for LinkPreviewOptions(is_disabled=…); a None parameter is left out of the request.
        self._link_preview = {"is_disabled": not delivery.link_previews}
        self._paid_broadcast = delivery.allow_paid_broadcast or None
        # do_api_request warns on every call for endpoints PTB has a method for; using it for
        # sendMessage on purpose (see _deliver), so that one warning is silenced.
        warnings.filterwarnings(
            "ignore", message=r"Please use 'Bot\.sendMessage' instead", category=PTBUserWarning
        )
        self._rendered: dict[tuple[StoredEntry, ...], str] = {}
        self._sent_ok = self._metrics.deliveries.labels("sent", "ok")
        self.sent = 0

    # ---- control -------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: look at the outbox now instead of at the next deadline."""
        self._wake.set()

    async def run(self) -> None:
        await self._storage.outbox.reset_claims()
        writer = asyncio.create_task(self._write_outcomes(), name="outbox-writer")
        try:
            while not self._stopping:
                # Cleared before looking, so a wake() during the round is not lost.
                self._wake.clear()
                try:
                    claimed = await self._dispatch_round()
                except SQLAlchemyError as exc:
                    log.error("outbox unavailable", extra={"error": type(exc).__name__})
                    claimed = 0
                    await self._wait(IDLE_WAIT_SECONDS)
                    continue
                if claimed == 0:
                    await self._wait(await self._idle_timeout())
        finally:
            await self._drain_in_flight()
            await self._outcomes.join()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def stop(self) -> None:
        """Stop claiming; in-flight sends finish and are recorded, the rest stays queued."""
        self._stopping = True
        self._wake.set()
        self._slot_freed.set()

    async def _wait(self, seconds: float) -> None:
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(seconds, 0.0))

    async def _idle_timeout(self) -> float:
        now = time.monotonic()
        deadlines = (
            [ready - now for ready in self._cooling.values()]
            if self._capacity >= self._low_water
            else []
        )
        for next_due in (
            await self._storage.outbox.next_due(),
            await self._storage.digests.next_due(),
        ):
            if next_due is not None:
                deadlines.append((next_due - datetime.now(UTC)).total_seconds())
        if self._in_flight:
            deadlines.append(0.5)
        return min([IDLE_WAIT_SECONDS, *deadlines]) if deadlines else IDLE_WAIT_SECONDS

    async def _drain_in_flight(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    # ---- claiming ------------------------------------------------------------------------

    @property
    def _capacity(self) -> int:
        return self._max_in_flight - len(self._in_flight)

    async def _dispatch_round(self) -> int:
        """Claim in bulk: while a broadcast is under way, wait until half the slots are free
        instead of running a claim query for every message that finishes."""
        capacity = self._capacity
        if capacity < self._low_water:
            self._slot_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slot_freed.wait(), timeout=IDLE_WAIT_SECONDS)
            return 1
        now = time.monotonic()
        self._cooling = {c: t for c, t in self._cooling.items() if t > now}
        busy = [*self._in_flight, *self._cooling]
        token, batches = await self._storage.outbox.claim_batches(
            max_chats=capacity,
            batch_max_entries=self._settings.delivery.batch_max_entries,
            exclude_chats=busy,
        )
        for batch in batches:
            self._start(batch.chat.id, self._deliver(token, batch))
        edits_claimed = 0
        if len(self._in_flight) < self._max_in_flight:
            edit_token, edits = await self._storage.outbox.claim_edits(
                limit=max(1, min(capacity - len(batches), 50))
            )
            for edit in edits:
                if edit.chat.id in self._in_flight:
                    await self._storage.outbox.finish_edit(
                        edit.edit_id, edit_token, done=False, retry_at=datetime.now(UTC)
                    )
                    continue
                edits_claimed += 1
                self._start(edit.chat.id, self._edit(edit_token, edit))
        digests_claimed = 0
        if len(self._in_flight) < self._max_in_flight:
            digest_token, digests = await self._storage.digests.claim(
                limit=10, exclude_chats=list(self._in_flight)
            )
            for digest in digests:
                digests_claimed += 1
                self._start(digest.chat.id, self._digest(digest_token, digest))
        return len(batches) + edits_claimed + digests_claimed

    def _start(self, chat_id: int, job: object) -> None:
        assert asyncio.iscoroutine(job)
        task = asyncio.create_task(job)
        self._in_flight[chat_id] = task

        def done(_: asyncio.Task[None], chat_id: int = chat_id) -> None:
            self._in_flight.pop(chat_id, None)
            if self._capacity >= self._low_water:
                self._slot_freed.set()
                self._wake.set()

        task.add_done_callback(done)

    # ---- sending -------------------------------------------------------------------------

    def _render(self, entries: Sequence[StoredEntry]) -> str:
        """The message for these entries; a broadcast renders it once, not once per chat.

        Keyed by the entries themselves (every field, so an edited entry renders anew); the
        text depends on nothing else that can change while the sender runs.
        """
        key = tuple(entries)
        text = self._rendered.get(key)
        if text is None:
            zone = self._source_zones.get(entries[0].source_id, self._default_zone)
            text = render_entries([to_rendered(e, self._settings) for e in entries], zone)
            if len(self._rendered) >= RENDER_CACHE_SIZE:
                self._rendered.clear()
            self._rendered[key] = text
        return text

    async def _deliver(self, token: str, batch: OutboxBatch) -> None:
        chat = batch.chat
        entries = [item.entry for item in batch.items]
        ids = batch.delivery_ids
        now = datetime.now(UTC)
        silent = in_quiet_hours(chat, now, self._default_zone)
        text = self._render(entries)
        outcome: SendOutcome
        try:
            await self._limiter.acquire(chat.id, chat.kind)  # type: ignore[arg-type]
            async with self._http_slots:
                # The raw answer, not a telegram.Message: building one costs as much CPU as the
                # whole HTTP request, and only its message_id is kept. Same request, same errors
                # (RetryAfter, Forbidden, ChatMigrated, BadRequest …) as bot.send_message.
                message = await self._bot.do_api_request(
                    "sendMessage",
                    api_kwargs={
                        "chat_id": chat.id,
                        "text": text,
                        "parse_mode": ParseMode.HTML,
                        "disable_notification": silent,
                        "link_preview_options": self._link_preview,
                        "allow_paid_broadcast": self._paid_broadcast,
                    },
                )
        except RetryAfter as exc:
            outcome = self._on_retry_after(token, ids, chat.id, exc)
        except ChatMigrated as exc:
            await self._storage.chats.migrate(chat.id, exc.new_chat_id)
            log.info("chat migrated", extra={"chat": chat.id, "new_chat": exc.new_chat_id})
            self._metrics.deliveries.labels("retried", "migrated").inc()
            outcome = SendOutcome(ids, token, count_attempt=False)
        except Forbidden as exc:
            await self._chat_gone(chat.id, exc.message)
            outcome = SendOutcome(ids, token, failed=f"forbidden: {exc.message}")
        except BadRequest as exc:
            if _is_chat_gone(exc):
                await self._chat_gone(chat.id, exc.message)
                outcome = SendOutcome(ids, token, failed=f"chat gone: {exc.message}")
            else:
                log.error(
                    "message rejected",
                    extra={
                        "chat": chat.id,
                        "entries": ",".join(f"{e.source_id}/{e.key}" for e in entries),
                        "error": exc.message,
                        "length": len(text),
                    },
                )
                self._metrics.deliveries.labels("failed", "bad_request").inc()
                outcome = SendOutcome(ids, token, failed=f"bad request: {exc.message}")
        except (InvalidToken, EndPointNotFound):
            # do_api_request reports a rejected token (404/401) as EndPointNotFound
            log.critical("Telegram rejected the token or base_url; stopping the sender")
            outcome = SendOutcome(ids, token, count_attempt=False)
            self._stopping = True
        except (TimedOut, NetworkError) as exc:
            outcome = self._on_network_error(token, ids, batch.attempts, chat.id, exc)
        except TelegramError as exc:
            outcome = self._on_network_error(token, ids, batch.attempts, chat.id, exc)
        else:
            self._cool(chat)
            self.sent += 1
            sent_at = datetime.now(UTC)
            self._sent_ok.inc(len(ids))
            latency = self._metrics.send_latency
            for entry in entries:
                latency.observe((sent_at - entry.first_seen_at).total_seconds())
            outcome = SendOutcome(
                ids,
                token,
                telegram_message_id=int(message["message_id"]),
                chat_id=chat.id,
                silent=silent,
                sent_at=sent_at,
            )
        self._outcomes.put_nowait(outcome)

    def _cool(self, chat: ChatSettings) -> None:
        """Remember when the chat's own limits let it have its next message (the global
        slot is not the chat's business: counting it would wake the sender every 1/rate)."""
        ready = self._limiter.chat_ready_at(chat.id, chat.kind)  # type: ignore[arg-type]
        if ready > time.monotonic():
            self._cooling[chat.id] = ready

    def _on_retry_after(
        self, token: str, ids: tuple[int, ...], chat_id: int, exc: RetryAfter
    ) -> SendOutcome:
        seconds = retry_seconds(exc)
        self._limiter.pause_all(seconds)
        self._metrics.rate_limited.inc()
        self._metrics.deliveries.labels("retried", "429").inc()
        log.warning("429 from Telegram", extra={"chat": chat_id, "retry_after": seconds})
        return SendOutcome(
            ids,
            token,
            retry_at=datetime.now(UTC) + timedelta(seconds=seconds),
            count_attempt=False,
        )

    def _on_network_error(
        self, token: str, ids: tuple[int, ...], attempts: int, chat_id: int, exc: TelegramError
    ) -> SendOutcome:
        reason = "timeout" if isinstance(exc, TimedOut) else "network"
        if attempts + 1 >= self._settings.delivery.max_attempts:
            log.error(
                "giving up", extra={"chat": chat_id, "error": exc.message, "attempts": attempts + 1}
            )
            self._metrics.deliveries.labels("failed", reason).inc()
            return SendOutcome(ids, token, failed=f"{reason}: {exc.message}")
        self._metrics.deliveries.labels("retried", reason).inc()
        log.warning("send failed, will retry", extra={"chat": chat_id, "error": exc.message})
        return SendOutcome(ids, token, retry_at=datetime.now(UTC) + _backoff(attempts + 1))

    async def _chat_gone(self, chat_id: int, reason: str) -> None:
        dropped = await self._storage.chats.deactivate(chat_id, reason)
        self._metrics.deliveries.labels("failed", "chat_gone").inc()
        log.info("chat inactive", extra={"chat": chat_id, "reason": reason, "dropped": dropped})

    async def _edit(self, token: str, edit: PendingEdit) -> None:
        outbox = self._storage.outbox
        if not edit.entries:
            await outbox.finish_edit(edit.edit_id, token, done=True)
            return
        chat = edit.chat
        try:
            await self._limiter.acquire(chat.id, chat.kind)  # type: ignore[arg-type]
            await self._bot.edit_message_text(
                chat_id=chat.id,
                message_id=edit.telegram_message_id,
                text=self._render(edit.entries),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(
                    is_disabled=not self._settings.delivery.link_previews
                ),
            )
        except RetryAfter as exc:
            outcome = self._on_retry_after(token, (), chat.id, exc)
            await outbox.finish_edit(edit.edit_id, token, done=False, retry_at=outcome.retry_at)
        except BadRequest as exc:
            text = exc.message.lower()
            if "message is not modified" in text:
                await outbox.finish_edit(edit.edit_id, token, done=True)
            elif "message to edit not found" in text or "message can't be edited" in text:
                await outbox.finish_edit(
                    edit.edit_id, token, done=False, error=exc.message, message_gone=True
                )
            else:
                log.error("edit rejected", extra={"chat": chat.id, "error": exc.message})
                await outbox.finish_edit(edit.edit_id, token, done=False, error=exc.message)
        except Forbidden as exc:
            await self._chat_gone(chat.id, exc.message)
            await outbox.finish_edit(edit.edit_id, token, done=False, error=exc.message)
        except TelegramError as exc:
            retry_at = None
            if edit.attempts + 1 < self._settings.delivery.max_attempts:
                retry_at = datetime.now(UTC) + _backoff(edit.attempts + 1)
            await outbox.finish_edit(
                edit.edit_id, token, done=False, error=exc.message, retry_at=retry_at
            )
        else:
            self._cool(chat)
            self._metrics.deliveries.labels("edited", "ok").inc()
            await outbox.finish_edit(edit.edit_id, token, done=True)

    async def _digest(self, token: str, digest: PendingDigest) -> None:
        """A daily digest: today's summary per subscribed source, each page rate limited."""
        chat = digest.chat
        language = chat.language or self._settings.defaults.language
        summaries = await todays_summaries(
            self._storage, self._settings, chat.subscriptions, day=digest.day
        )
        with_entries = [s for s in summaries if s.count] or summaries[:1]
        pages = [page for s in with_entries for page in render_summary_html(s, language)]
        try:
            for page in pages:
                await self._limiter.acquire(chat.id, chat.kind)  # type: ignore[arg-type]
                await self._bot.send_message(
                    chat_id=chat.id,
                    text=page,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except RetryAfter as exc:
            outcome = self._on_retry_after(token, (), chat.id, exc)
            assert outcome.retry_at is not None
            await self._storage.digests.finish(
                digest.digest_id,
                token,
                sent=False,
                error="429",
                retry_after=outcome.retry_at - datetime.now(UTC),
            )
        except Forbidden as exc:
            await self._chat_gone(chat.id, exc.message)
            await self._storage.digests.finish(
                digest.digest_id, token, sent=False, error=exc.message
            )
        except BadRequest as exc:
            if _is_chat_gone(exc):
                await self._chat_gone(chat.id, exc.message)
            log.error("digest rejected", extra={"chat": chat.id, "error": exc.message})
            await self._storage.digests.finish(
                digest.digest_id, token, sent=False, error=exc.message
            )
        except TelegramError as exc:
            retry = _backoff(digest.attempts + 1)
            give_up = digest.attempts + 1 >= self._settings.delivery.max_attempts
            await self._storage.digests.finish(
                digest.digest_id,
                token,
                sent=False,
                error=exc.message,
                retry_after=None if give_up else retry,
            )
        else:
            self._cool(chat)
            self._metrics.deliveries.labels("sent", "digest").inc()
            await self._storage.digests.finish(digest.digest_id, token, sent=True)

    # ---- recording -----------------------------------------------------------------------

    async def _write_outcomes(self) -> None:
        """Group commit: everything that finished since the last write goes in one transaction."""
        while True:
            first = await self._outcomes.get()
            batch = [first]
            while not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            started = time.perf_counter()
            try:
                await self._storage.outbox.record_outcomes(batch)
                sent = sum(1 for o in batch if o.telegram_message_id is not None)
                failed = sum(1 for o in batch if o.failed is not None)
                log.info(
                    "send batch",
                    extra={
                        "messages": sent,
                        "entries": sum(
                            len(o.delivery_ids) for o in batch if o.telegram_message_id is not None
                        ),
                        "failed": failed,
                        "retry": len(batch) - sent - failed,
                        "record_ms": round((time.perf_counter() - started) * 1000),
                    },
                )
            except SQLAlchemyError as exc:
                # The sends happened; if their rows stay claimed the lease expires and they
                # repeat. Log loudly: that is the only path to a duplicate beyond in-flight.
                log.error(
                    "could not record sends", extra={"error": type(exc).__name__, "n": len(batch)}
                )
            finally:
                for _ in batch:
                    self._outcomes.task_done()
            if any(o.telegram_message_id is None and o.failed is None for o in batch):
                self._wake.set()  # something is due again (a retry); sends need no wake-up
