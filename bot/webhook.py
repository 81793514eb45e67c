"""Webhook mode: Telegram POSTs updates to us instead of us long-polling getUpdates.

A small aiohttp endpoint (aiohttp is already the HTTP stack; PTB's own webhook server would
add tornado) that refuses requests without the configured secret token and hands updates to
the Application's queue, exactly where long polling would put them.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import TelegramSettings

log = logging.getLogger("tickerbot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1_000_000


class WebhookServer:
    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        settings: TelegramSettings,
    ) -> None:
        self._application = application
        self._settings = settings
        self._path = urlsplit(settings.webhook_url).path or "/"
        self._runner: web.AppRunner | None = None
        self.port = settings.port

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        app.router.add_post(self._path, self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._settings.listen, self._settings.port)
        await site.start()
        server: Any = site._server
        if server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        # Only the active replica gets here, so only it registers the webhook.
        await self._application.bot.set_webhook(
            url=self._settings.webhook_url,
            secret_token=self._settings.secret_token or None,
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("webhook listening", extra={"path": self._path, "port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        expected = self._settings.secret_token
        if expected and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(), expected.encode()
        ):
            log.warning("webhook request with a wrong secret token refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self._application.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not an update")
        if update is None:
            return web.Response(status=400, text="not an update")
        await self._application.update_queue.put(update)
        return web.Response(text="ok")
