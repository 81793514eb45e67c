"""Wiring: the one place that builds storage, fetcher, extractor, Telegram, scheduler, sender.

A process has two halves. ``open()`` does what every replica does (database connection,
getMe, health server); ``start_active()`` / ``stop_active()`` do what only the one active
replica may do (migrate, poll, send, take updates). ``tickerbot run`` alternates them through
the leader election; tests and the demo call ``start()`` / ``stop()``, which do both halves
(on SQLite a process is always the active one).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.alerts import SourceAlerter
from bot.commands import publish_commands, register_handlers
from bot.config import Settings
from bot.health import HealthChecks, HealthServer
from bot.leader import Leadership, Role, leadership_for, serve_while_active
from bot.metrics import Metrics
from bot.poller import Poller
from bot.ratelimit import RateLimiter, SendLimits
from bot.scheduler import PollScheduler
from bot.sender import HTTP_CONCURRENCY, Sender
from bot.services import SERVICES_KEY, PollSummary, Services
from bot.summaries import DigestJob
from bot.telegram_http import AiohttpRequest
from bot.webhook import WebhookServer
from storage import Storage
from storage.sources import SourceConfig
from ticker.extract import Extractor, place_from_config
from ticker.fetch import Fetcher

log = logging.getLogger("tickerbot.app")

# Network jitter between our send start and Telegram's clock: see SendLimits.jitter_margin.
SEND_JITTER_MARGIN = 0.01
ALERT_CHECK_SECONDS = 30.0
DIGEST_CHECK_SECONDS = 30.0

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def build_application(settings: Settings) -> TelegramApp:
    telegram = settings.telegram
    secrets = [telegram.token]
    builder = (
        ApplicationBuilder()
        .token(telegram.token)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        # aiohttp instead of PTB's httpx (bot/telegram_http.py: the same timeouts and errors
        # at a fraction of the CPU). Sends plus command replies share one pool; long polling
        # has its own connection, as with PTB's defaults.
        .request(AiohttpRequest(connection_pool_size=HTTP_CONCURRENCY + 8, secrets=secrets))
        .get_updates_request(
            AiohttpRequest(
                connection_pool_size=1,
                read_timeout=telegram.poll_timeout_seconds + 10,
                secrets=secrets,
            )
        )
    )
    if telegram.mode == "webhook":
        builder = builder.updater(None)
    return builder.build()


def build_extractor(settings: Settings) -> Extractor:
    return Extractor.load(
        extra_places=[place_from_config(place.model_dump()) for place in settings.places]
    )


@dataclass
class TickerBot:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    storage: Storage | None = None
    application: TelegramApp | None = None
    sender: Sender | None = None
    poller: Poller | None = None
    scheduler: PollScheduler | None = None
    leadership: Leadership | None = None
    health: HealthServer | None = None
    webhook: WebhookServer | None = None
    _http: aiohttp.ClientSession | None = None
    _sender_task: asyncio.Task[None] | None = None
    _extractor: Extractor | None = None
    _active: bool = False

    # ---- every replica -------------------------------------------------------------------

    async def open(self) -> None:
        """Connect everything a standby needs too; refuses a second process on one SQLite file."""
        settings = self.settings
        self.leadership = leadership_for(settings.database.url)
        if self.leadership.role == "standby" and settings.database.url.startswith("sqlite"):
            await self.leadership.acquire()  # the single-process guard: raises AlreadyRunning
        self.storage = Storage.open(settings.database.url, echo=settings.database.echo)
        self._extractor = await asyncio.to_thread(build_extractor, settings)
        self._http = Fetcher.create_session(settings.http.user_agent)
        self.application = build_application(settings)
        await self.application.initialize()
        bot = self.application.bot
        limiter = RateLimiter(
            SendLimits(
                messages_per_second=settings.delivery.messages_per_second,
                per_chat_seconds=settings.delivery.per_chat_seconds,
                group_messages_per_minute=settings.delivery.group_messages_per_minute,
                jitter_margin=SEND_JITTER_MARGIN,
            )
        )
        self.sender = Sender(bot, self.storage, settings, limiter, metrics=self.metrics)
        fetcher = Fetcher(
            self._http,
            timeout_seconds=settings.http.timeout_seconds,
            max_bytes=settings.http.max_bytes,
            user_agent=settings.http.user_agent,
        )
        self.poller = Poller(
            settings,
            self.storage,
            fetcher,
            self._extractor,
            on_queued=self.sender.wake,
            metrics=self.metrics,
        )
        self.application.bot_data[SERVICES_KEY] = Services(
            settings=settings,
            storage=self.storage,
            extractor=self._extractor,
            poll_all=self.poll_all,
            wake_sender=self.sender.wake,
            bot_username=bot.username or "",
            limiter=limiter,
        )
        register_handlers(self.application)
        if settings.metrics.listen:
            storage, leadership = self.storage, self.leadership
            self.health = HealthServer(
                settings.metrics.listen,
                self.metrics,
                HealthChecks(
                    db_ping=storage.database.ping,
                    scheduler_running=lambda: self.scheduler is not None and self.scheduler.running,
                    source_states=storage.sources.all,
                    role=lambda: leadership.role,
                    outbox_depth=storage.outbox.pending_count,
                    max_poll_age_seconds=settings.metrics.max_poll_age_seconds,
                    started_at=datetime.now(UTC),
                ),
            )
            await self.health.start()
        # What is built by now lives as long as the process: keep it out of the collector's
        # full passes, whose pauses (up to ~100 ms measured) would bunch sends into bursts.
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        if self.health is not None:
            await self.health.stop()
        if self.application is not None:
            await self.application.shutdown()
        if self._http is not None:
            await self._http.close()
        if self.storage is not None:
            await self.storage.close()
        if self.leadership is not None:
            await self.leadership.release()
        log.info("stopped")

    # ---- the active replica --------------------------------------------------------------

    async def start_active(self) -> None:
        """Migrate, then poll, send and answer updates; only one replica does this at a time."""
        assert self.storage and self.application and self.sender and self.poller
        settings = self.settings
        self._active = True
        await self.storage.database.upgrade()
        await self.storage.sources.sync(
            [SourceConfig(s.id, s.display_name, s.url) for s in settings.sources]
        )
        bot = self.application.bot
        await publish_commands(bot, operators=settings.telegram.admins)
        await self.application.start()
        if settings.telegram.mode == "webhook":
            self.webhook = WebhookServer(self.application, settings.telegram)
            await self.webhook.start()
        else:
            assert self.application.updater is not None
            await bot.delete_webhook()
            await self.application.updater.start_polling(
                poll_interval=0,
                timeout=int(settings.telegram.poll_timeout_seconds),
                allowed_updates=Update.ALL_TYPES,
            )
        self._sender_task = asyncio.create_task(self.sender.run(), name="sender")
        self.scheduler = PollScheduler(self.poller.poll)
        self.scheduler.start(list(settings.sources))
        digests = DigestJob(self.storage, settings, self.sender.wake)
        self.scheduler.add_job(digests.tick, DIGEST_CHECK_SECONDS, "digests")
        if settings.telegram.admins:
            alerter = SourceAlerter(
                sources=self.storage.sources.all,
                send=bot.send_message,
                mark_alerted=self.storage.sources.mark_alerted,
                clear_alerted=self.storage.sources.clear_alerted,
                admins=settings.telegram.admins,
                alert_after_seconds=settings.metrics.source_alert_after_seconds,
                language=settings.defaults.language,
            )

            async def check_sources() -> None:
                await alerter.run_once()

            self.scheduler.add_job(check_sources, ALERT_CHECK_SECONDS, "source-alerts")
        self.metrics.active.set(1)
        log.info("active", extra={"bot": bot.username, "sources": len(settings.sources)})

    async def stop_active(self) -> None:
        """Stop taking new work first, then let in-flight sends finish (or stay queued)."""
        if not self._active:
            return
        self._active = False
        if self.scheduler is not None:
            await self.scheduler.stop()
        app = self.application
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        if self.sender is not None:
            await self.sender.stop()
        if self._sender_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender_task
            self._sender_task = None
        if app is not None and app.running:
            await app.stop()
        self.metrics.active.set(0)
        log.info("standing by")

    async def poll_all(self) -> list[PollSummary]:
        assert self.poller is not None
        return list(
            await asyncio.gather(*(self.poller.poll(source) for source in self.settings.sources))
        )

    # ---- one process, both halves (tests, demo) ------------------------------------------

    async def start(self) -> None:
        await self.open()
        assert self.leadership is not None
        await self.leadership.acquire()
        await self.start_active()

    async def stop(self) -> None:
        await self.stop_active()
        await self.close()

    def set_role(self, role: Role) -> None:
        self.metrics.active.set(1 if role == "active" else 0)
        log.info("role", extra={"role": role})


async def run_until_signalled(bot: TickerBot) -> None:
    """`tickerbot run`: a replica that serves while elected, until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await bot.open()
    try:
        assert bot.leadership is not None
        await serve_while_active(
            bot.leadership,
            start_active=bot.start_active,
            stop_active=bot.stop_active,
            stopping=stop,
            on_role=bot.set_role,
        )
    finally:
        await bot.close()
