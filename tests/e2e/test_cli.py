"""The CLI verbs as a user runs them (subprocesses), against the double and local files."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bot.sandbox.telegram_double import TelegramDouble
from tests.conftest import FIXTURES
from tests.e2e.harness import BOT_USERNAME, TOKEN


async def _tickerbot(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _config(tmp_path: Path, double: TelegramDouble, token: str, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[telegram]\ntoken = "{token}"\nbase_url = "{double.base_url}"\n'
        f'base_file_url = "{double.base_file_url}"\n[database]\nurl = "{database_url}"\n'
        '[[sources]]\nid = "t"\nurl = "http://127.0.0.1:9/ticker"\n',
        encoding="utf-8",
    )
    return path


async def test_check_migrates_and_calls_get_me(tmp_path: Path, database_url: str) -> None:
    async with TelegramDouble(TOKEN, bot_username=BOT_USERNAME) as double:
        config = _config(tmp_path, double, TOKEN, database_url)
        code, out, err = await _tickerbot("check", "-c", str(config))
        assert code == 0, err
        assert f"@{BOT_USERNAME}" in out and "database is up to date" in out
        assert double.calls("getMe")


async def test_check_with_a_wrong_token_fails_without_printing_it(
    tmp_path: Path, database_url: str
) -> None:
    wrong = "999999:WRONG-token-abcdefghijklmnopqrstuvwxyz"
    async with TelegramDouble(TOKEN, bot_username=BOT_USERNAME) as double:
        config = _config(tmp_path, double, wrong, database_url)
        code, out, err = await _tickerbot("check", "-c", str(config))
    assert code == 1
    assert "telegram.token: rejected" in err
    assert wrong not in out + err and "WRONG-token" not in out + err


async def test_db_upgrade_is_idempotent(tmp_path: Path, database_url: str) -> None:
    async with TelegramDouble(TOKEN) as double:
        config = _config(tmp_path, double, TOKEN, database_url)
        for _ in range(2):
            code, out, err = await _tickerbot("db", "upgrade", "-c", str(config))
            assert code == 0, err
            assert "up to date" in out


async def test_env_token_wins_over_config(tmp_path: Path, database_url: str) -> None:
    async with TelegramDouble(TOKEN, bot_username=BOT_USERNAME) as double:
        config = _config(tmp_path, double, "1:file-token-that-is-wrong", database_url)
        code, _out, err = await _tickerbot(
            "check", "-c", str(config), env={"TICKERBOT_TELEGRAM_TOKEN": TOKEN}
        )
        assert code == 0, err


async def test_fetch_seed_as_json() -> None:
    code, out, err = await _tickerbot(
        "fetch", str(FIXTURES / "liveticker_seed_de.txt"), "--json", "--timezone", "Europe/Berlin"
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 10
    assert [r["published_at"][11:16] for r in rows][:2] == ["18:13", "17:37"]
    assert rows[-1]["published_at"] == "2026-01-21T13:30:00+01:00"
    assert {"key", "published_at", "headline", "body", "url", "regions", "speakers"} <= set(rows[0])
    assert rows[0]["speakers"] == ["Maria Sacharowa"] and "Pokrowsk" in rows[0]["regions"]


async def test_fetch_reports_missing_file_and_bad_arguments(tmp_path: Path) -> None:
    code, _out, err = await _tickerbot("fetch", str(tmp_path / "nope.html"))
    assert code == 1 and "no such file" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _out, err = await _tickerbot("fetch", str(empty))
    assert code == 1 and err.strip()
    code, _out, err = await _tickerbot("fetch", str(empty), "--date", "21.01.2026")
    assert code == 2 and "--date" in err
    code, _out, err = await _tickerbot("fetch", str(empty), "--timezone", "Mars/Base")
    assert code == 2 and "--timezone" in err


async def test_today_prints_the_summary(tmp_path: Path, database_url: str) -> None:
    from datetime import UTC, datetime

    from storage import Storage
    from storage.sources import SourceConfig
    from ticker.model import Entry

    async with TelegramDouble(TOKEN) as double:
        config = _config(tmp_path, double, TOKEN, database_url)
    storage = Storage.open(database_url)
    try:
        await storage.database.upgrade()
        await storage.sources.sync([SourceConfig("t", "Ticker T", "http://127.0.0.1:9/ticker")])
        entry = Entry("k1", datetime.now(UTC), "Heutige Schlagzeile", "Text.", None)
        await storage.entries.ingest("t", [entry])
    finally:
        await storage.close()
    code, out, err = await _tickerbot("today", "-c", str(config), "--source", "t")
    assert code == 0, err
    assert "Heutige Schlagzeile" in out and "1 Eintrag" in out
    code, _out, err = await _tickerbot("today", "-c", str(config), "--source", "nope")
    assert code == 2 and "unknown source 'nope'" in err
