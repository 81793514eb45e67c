from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, settings_from_mapping

ROOT = Path(__file__).parent.parent


def test_example_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.sources[0].id == "ukraine"
    assert settings.delivery.messages_per_second == 30
    assert settings.defaults.timezone == "Europe/Berlin"


def test_env_overrides_token_and_database() -> None:
    settings = settings_from_mapping(
        {"telegram": {"token": "from-file"}},
        env={
            "TICKERBOT_TELEGRAM_TOKEN": "123:env",
            "TICKERBOT_DATABASE_URL": "sqlite+aiosqlite://",
        },
    )
    assert settings.telegram.token == "123:env"
    assert settings.database.url == "sqlite+aiosqlite://"


def test_every_problem_is_reported_with_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(
            {
                "sources": [
                    {"id": "ok", "url": "https://example.org"},
                    {"id": "Bad Id", "url": "not a url", "interval_seconds": 0},
                    {"name": "missing id and url"},
                ],
                "delivery": {"messages_per_second": 0},
                "defaults": {"timezone": "Mars/Olympus"},
                "typo": 1,
            },
            env={},
        )
    problems = caught.value.problems
    assert "sources[1].url: not a URL" in problems
    assert "sources[1].id: must match [a-z0-9-]+" in problems
    assert any(p.startswith("sources[1].interval_seconds:") for p in problems)
    assert "sources[2].id: required" in problems
    assert "sources[2].url: required" in problems
    assert any(p.startswith("delivery.messages_per_second:") for p in problems)
    assert "defaults.timezone: unknown time zone 'Mars/Olympus'" in problems
    assert "typo: unknown key" in problems


def test_duplicate_source_ids_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(
            {"sources": [{"id": "a", "url": "https://x.org"}, {"id": "a", "url": "https://y.org"}]},
            env={},
        )
    assert any("duplicate source id 'a'" in p for p in caught.value.problems)


def test_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nid = "x"\nurl = "ftp://nope"\n[database]\nurl = "mysql://"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert "sources[0].url: not a URL" in lines
    assert any(line.startswith("database.url:") for line in lines)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[telegram\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(broken, env={})
    assert "invalid TOML" in caught.value.problems[0]
    with pytest.raises(ConfigError) as missing:
        load_settings(tmp_path / "nope.toml", env={})
    assert "config file not found" in missing.value.problems[0]
