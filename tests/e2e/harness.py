"""The whole bot in-process against the Bot API double and a local ticker site.

``TickerBot`` is the object ``tickerbot run`` starts, so these tests exercise the product's
own wiring: scheduler → poller → storage outbox → sender → real PTB → HTTP → double.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import TickerBot
from bot.config import Settings, settings_from_mapping
from bot.sandbox.telegram_double import SentMessage, TelegramDouble
from bot.sandbox.ticker_site import TickerSite
from storage import Storage

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "tickerbot_test_bot"
SOURCE_ID = "test"
SOURCE_NAME = "Liveticker Test"


def bot_settings(
    double: TelegramDouble, site: TickerSite, database_url: str, **sections: dict[str, Any]
) -> Settings:
    data: dict[str, Any] = {
        "telegram": {
            "token": TOKEN,
            "base_url": double.base_url,
            "base_file_url": double.base_file_url,
            "poll_timeout_seconds": 1,
            "admins": [9000],
        },
        "database": {"url": database_url},
        "limits": {"command_burst": 1000, "commands_per_minute": 6000},
        "sources": [{"id": SOURCE_ID, "name": SOURCE_NAME, "url": site.url, "interval_seconds": 1}],
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return settings_from_mapping(data, env={})


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    """Wait for another process's state (over HTTP or the database), which no in-process
    event can announce: a bounded poll every 100 ms."""
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            if await check():
                return
            await asyncio.sleep(0.1)


def write_run_config(
    path: Path,
    double: TelegramDouble,
    site: TickerSite,
    database_url: str,
    metrics_port: int | None = None,
) -> Path:
    """A config file for `tickerbot run` in a subprocess, against the double and the site."""
    metrics = f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n' if metrics_port else ""
    path.write_text(
        f"""
[telegram]
token = "{TOKEN}"
base_url = "{double.base_url}"
base_file_url = "{double.base_file_url}"
poll_timeout_seconds = 1

[database]
url = "{database_url}"

{metrics}
[[sources]]
id = "{SOURCE_ID}"
name = "{SOURCE_NAME}"
url = "{site.url}"
interval_seconds = 1
""",
        encoding="utf-8",
    )
    return path


BROADCAST = "Eilmeldung an alle"


async def source_initialised(storage: Storage) -> bool:
    state = await storage.sources.get(SOURCE_ID)
    return state is not None and state.initialized


async def start_broadcast(
    storage: Storage, double: TelegramDouble, site: TickerSite, chats: list[int], sent: int
) -> None:
    """Subscribe ``chats`` behind the bot's back, publish one entry, and return once ``sent``
    of its messages went out (the moment the crash tests kill the sender)."""
    for chat in chats:
        await storage.chats.ensure(chat, type="private")
        await storage.chats.subscribe(chat, [SOURCE_ID])
    site.add(BROADCAST, "Der Rundruf.")
    await double.wait_for(
        lambda _m: len([m for m in double.sent if BROADCAST in m.text]) >= sent, timeout=30
    )


def assert_each_got_it_once(double: TelegramDouble, chats: list[int], in_flight: int = 3) -> None:
    """Every chat got the broadcast; repeats only up to the messages in flight at a kill."""
    per_chat = Counter(m.chat_id for m in double.sent if BROADCAST in m.text)
    assert set(per_chat) == set(chats)
    repeats = sum(count - 1 for count in per_chat.values())
    print(f"repeated after the kill: {repeats}")
    assert repeats <= in_flight, per_chat


@dataclass
class Running:
    bot: TickerBot
    double: TelegramDouble
    site: TickerSite
    settings: Settings

    async def first_poll_done(self) -> None:
        """Wait for the initial poll (which stores without pushing)."""
        assert self.bot.storage is not None
        async with asyncio.timeout(30):
            while True:
                state = await self.bot.storage.sources.get(SOURCE_ID)
                if state is not None and state.initialized:
                    return
                # "busy" while the scheduled first poll runs: then wait for it a moment
                summaries = await self.bot.poll_all()
                if any(s.status == "busy" for s in summaries):
                    await asyncio.sleep(0.05)

    async def command(self, chat_id: int, text: str, user_id: int | None = None) -> SentMessage:
        before = len(self.double.messages_to(chat_id))
        self.double.send_text(chat_id, chat_id if user_id is None else user_id, text)
        messages = await self.double.wait_for_messages(chat_id, before + 1, timeout=10)
        return messages[before]

    def pushes(self, chat_id: int, marker: str) -> list[SentMessage]:
        return [m for m in self.double.messages_to(chat_id) if marker in m.text]


@asynccontextmanager
async def running_bot(
    database_url: str, double: TelegramDouble | None = None, **sections: dict[str, Any]
) -> AsyncIterator[Running]:
    own_double = double is None
    double = double or TelegramDouble(TOKEN, bot_username=BOT_USERNAME)
    if own_double:
        await double.start()
    site = TickerSite(SOURCE_NAME)
    await site.start()
    site.add("Eröffnung des Tickers", "Willkommen zum Liveticker.")
    settings = bot_settings(double, site, database_url, **sections)
    bot = TickerBot(settings)
    await bot.start()
    try:
        yield Running(bot, double, site, settings)
    finally:
        await bot.stop()
        await site.stop()
        if own_double:
            await double.stop()
