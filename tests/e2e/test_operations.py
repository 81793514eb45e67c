"""Operations: webhook mode, /metrics and /healthz, the single-process guard on SQLite."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.telegram_double import TelegramDouble
from tests.e2e.harness import BOT_USERNAME, TOKEN, running_bot

USER = 111


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_receives_updates_and_refuses_a_wrong_secret(
    database_url: str,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with TelegramDouble(TOKEN, bot_username=BOT_USERNAME) as double:
        double.add_private_chat(USER, "Anna")
        telegram = {
            "mode": "webhook",
            "webhook_url": url,
            "listen": "127.0.0.1",
            "port": port,
            "secret_token": "s3cret-token",
        }
        async with running_bot(database_url, double=double, telegram=telegram) as run:
            assert double.webhook_url == url and double.webhook_secret == "s3cret-token"
            assert not double.calls("getUpdates")
            reply = await run.command(USER, "/help")
            assert "/latest" in reply.text
            async with aiohttp.ClientSession() as http:
                update = {"update_id": 999, "message": {"message_id": 1, "date": 0, "text": "/x"}}
                async with http.post(url, json=update) as response:
                    assert response.status == 403
                headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 403


async def test_metrics_and_healthz(database_url: str) -> None:
    port = free_port()
    metrics = {"listen": f"127.0.0.1:{port}", "max_poll_age_seconds": 2}
    async with running_bot(database_url, metrics=metrics) as run:
        await run.first_poll_done()
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                body = await response.json()
                assert response.status == 200, body
                assert body["ok"] and body["role"] == "active"
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
                assert response.status == 200
                assert 'tickerbot_polls_total{outcome="first_poll",source="test"}' in text
                assert "tickerbot_outbox_pending" in text and "tickerbot_active 1.0" in text
            run.site.status = 500
            for _ in range(100):
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 503:
                        body = await response.json()
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("healthz never reported the failing source")
            assert not body["ok"] and any("test" in p for p in body["problems"])
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
                assert 'tickerbot_polls_total{outcome="http_error",source="test"}' in text


async def test_second_process_on_one_sqlite_file_is_refused(
    tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the single-process guard is about SQLite")
    async with running_bot(database_url) as run:
        config = tmp_path / "second.toml"
        config.write_text(
            f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{run.double.base_url}"\n'
            f'[database]\nurl = "{database_url}"\n'
            f'[[sources]]\nid = "test"\nurl = "{run.site.url}"\n',
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "-c",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 1
        assert "another tickerbot process is using" in err.decode()
        assert "Traceback" not in err.decode()
