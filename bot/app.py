"""Wiring: the one place that builds storage, fetcher, extractor, Telegram, scheduler, sender.

``TickerBot.start()`` / ``stop()`` are used by ``tickerbot run``, by ``tickerbot demo`` and
by the end-to-end tests, so all three run the same program.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field

import aiohttp
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.commands import publish_commands, register_handlers
from bot.config import Settings
from bot.metrics import Metrics
from bot.poller import Poller
from bot.ratelimit import RateLimiter, SendLimits
from bot.scheduler import PollScheduler
from bot.sender import Sender
from bot.services import SERVICES_KEY, PollSummary, Services
from storage import Storage
from storage.sources import SourceConfig
from ticker.extract import Extractor, place_from_config
from ticker.fetch import Fetcher

log = logging.getLogger("tickerbot.app")

# Network jitter between our send start and Telegram's clock: see SendLimits.jitter_margin.
SEND_JITTER_MARGIN = 0.025


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    telegram = settings.telegram
    return (
        ApplicationBuilder()
        .token(telegram.token)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .get_updates_read_timeout(telegram.poll_timeout_seconds + 10)
        .build()
    )


def build_extractor(settings: Settings) -> Extractor:
    return Extractor.load(
        extra_places=[place_from_config(place.model_dump()) for place in settings.places]
    )


@dataclass
class TickerBot:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    storage: Storage | None = None
    application: Application | None = None  # type: ignore[type-arg]
    sender: Sender | None = None
    poller: Poller | None = None
    scheduler: PollScheduler | None = None
    _http: aiohttp.ClientSession | None = None
    _sender_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings = self.settings
        self.storage = Storage.open(settings.database.url, echo=settings.database.echo)
        await self.storage.database.upgrade()
        await self.storage.sources.sync(
            [SourceConfig(s.id, s.display_name, s.url) for s in settings.sources]
        )
        extractor = await asyncio.to_thread(build_extractor, settings)
        self._http = Fetcher.create_session(settings.http.user_agent)
        fetcher = Fetcher(
            self._http,
            timeout_seconds=settings.http.timeout_seconds,
            max_bytes=settings.http.max_bytes,
            user_agent=settings.http.user_agent,
        )
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
        self.poller = Poller(
            settings,
            self.storage,
            fetcher,
            extractor,
            on_queued=self.sender.wake,
            metrics=self.metrics,
        )
        self.application.bot_data[SERVICES_KEY] = Services(
            settings=settings,
            storage=self.storage,
            extractor=extractor,
            poll_all=self.poll_all,
            wake_sender=self.sender.wake,
            bot_username=bot.username or "",
        )
        register_handlers(self.application)
        await publish_commands(bot, operators=settings.telegram.admins)
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            poll_interval=0,
            timeout=int(settings.telegram.poll_timeout_seconds),
            allowed_updates=Update.ALL_TYPES,
        )
        self._sender_task = asyncio.create_task(self.sender.run(), name="sender")
        self.scheduler = PollScheduler(self.poller.poll)
        self.scheduler.start(list(settings.sources))
        self.metrics.active.set(1)
        log.info(
            "started",
            extra={"bot": bot.username, "sources": len(settings.sources)},
        )

    async def poll_all(self) -> list[PollSummary]:
        assert self.poller is not None
        return list(
            await asyncio.gather(*(self.poller.poll(source) for source in self.settings.sources))
        )

    async def stop(self) -> None:
        """Reverse order of start; in-flight sends finish, everything else stays queued."""
        if self.scheduler is not None:
            self.scheduler.shutdown()
        app = self.application
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()
        if self.sender is not None:
            await self.sender.stop()
        if self._sender_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender_task
        if app is not None:
            if app.running:
                await app.stop()
            await app.shutdown()
        if self._http is not None:
            await self._http.close()
        if self.storage is not None:
            await self.storage.close()
        self.metrics.active.set(0)
        log.info("stopped")


async def run_until_signalled(bot: TickerBot) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await bot.start()
    try:
        await stop.wait()
    finally:
        await bot.stop()
