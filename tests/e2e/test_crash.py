"""`tickerbot run` killed with SIGKILL mid-broadcast, then restarted: every chat gets the entry,
none twice beyond the messages that were in flight at the kill (SPEC §6)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.sandbox.telegram_double import TelegramDouble
from bot.sandbox.ticker_site import TickerSite
from storage import Storage
from tests.e2e.harness import (
    BOT_USERNAME,
    BROADCAST,
    TOKEN,
    assert_each_got_it_once,
    eventually,
    source_initialised,
    start_broadcast,
    write_run_config,
)

CHATS = list(range(7000, 7040))


async def _start(config: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TICKERBOT_TELEGRAM_TOKEN", None)
    env.pop("TICKERBOT_DATABASE_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "-c",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )


async def test_kill_mid_broadcast_then_restart(tmp_path: Path, database_url: str) -> None:
    async with TelegramDouble(TOKEN, bot_username=BOT_USERNAME) as double, TickerSite() as site:
        for chat in CHATS:
            double.add_private_chat(chat, f"User {chat}")
        site.add("Eröffnung", "Start.")
        config = write_run_config(tmp_path / "config.toml", double, site, database_url)
        storage = Storage.open(database_url)
        await storage.database.upgrade()
        process = await _start(config)
        try:
            await eventually(lambda: source_initialised(storage))
            await start_broadcast(storage, double, site, CHATS, sent=10)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            delivered_before_restart = len([m for m in double.sent if BROADCAST in m.text])
            assert delivered_before_restart < len(CHATS), "killed too late to test anything"
            process = await _start(config)
            for chat in CHATS:
                await double.wait_for(
                    lambda m, c=chat: m.chat_id == c and BROADCAST in m.text, timeout=30
                )
            # give a restarted sender the chance to (wrongly) repeat more
            await asyncio.sleep(1.5)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=20)
            await storage.close()
        assert_each_got_it_once(double, CHATS)
        assert process.returncode == 0, "SIGTERM must shut down cleanly"
