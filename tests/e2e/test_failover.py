"""Two `tickerbot run` replicas on PostgreSQL: the active one is killed mid-broadcast, the
standby takes over within 15 s and finishes from the outbox; every chat gets the entry once
(plus at most the messages in flight at the kill)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

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
from tests.e2e.test_operations import free_port

CHATS = list(range(8000, 8060))


async def _role(http: aiohttp.ClientSession, port: int) -> str | None:
    try:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return str((await response.json())["role"])
    except (aiohttp.ClientError, ValueError, KeyError):
        return None


async def _is_role(http: aiohttp.ClientSession, port: int, role: str) -> bool:
    return await _role(http, port) == role


async def _wait_for_active(http: aiohttp.ClientSession, ports: list[int]) -> int:
    async with asyncio.timeout(30):
        while True:
            for port in ports:
                if await _role(http, port) == "active":
                    return port
            await asyncio.sleep(0.1)


async def test_standby_takes_over_mid_broadcast(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas need PostgreSQL (TICKERBOT_TEST_DATABASE_URL)")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TICKERBOT_DATABASE_URL", None)
    async with (
        TelegramDouble(TOKEN, bot_username=BOT_USERNAME) as double,
        TickerSite() as site,
        aiohttp.ClientSession() as http,
    ):
        for chat in CHATS:
            double.add_private_chat(chat, f"User {chat}")
        site.add("Eröffnung", "Start.")
        storage = Storage.open(database_url)
        await storage.database.upgrade()
        ports = [free_port(), free_port()]
        processes: dict[int, asyncio.subprocess.Process] = {}
        for index, port in enumerate(ports):
            config = write_run_config(
                tmp_path / f"r{index}.toml", double, site, database_url, metrics_port=port
            )
            processes[port] = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "-c",
                str(config),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=(tmp_path / f"r{index}.log").open("wb"),
                env=env,
            )
        try:
            active = await _wait_for_active(http, ports)
            standby = next(p for p in ports if p != active)
            await eventually(lambda: _is_role(http, standby, "standby"))
            await eventually(lambda: source_initialised(storage))
            await start_broadcast(storage, double, site, CHATS, sent=10)
            processes[active].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await processes[active].wait()
            assert await _wait_for_active(http, [standby]) == standby
            takeover = time.monotonic() - killed_at
            print(f"takeover after kill -9: {takeover:.2f} s")
            assert takeover < 15
            for chat in CHATS:
                await double.wait_for(
                    lambda m, c=chat: m.chat_id == c and BROADCAST in m.text, timeout=30
                )
            await asyncio.sleep(1.0)
        finally:
            for process in processes.values():
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                await asyncio.wait_for(process.wait(), timeout=30)
            await storage.close()
        assert_each_got_it_once(double, CHATS)
        assert processes[standby].returncode == 0
