"""Log lines: key=value or JSON, one per event, and no bot token in any of them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import REDACTED, configure_logging

TOKEN = "7654321:AAH-secret-token-value-abcdefghijkl"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _capture(fmt: str) -> tuple[io.StringIO, logging.Logger]:
    stream = io.StringIO()
    configure_logging("INFO", fmt, secrets=[TOKEN], stream=stream)
    return stream, logging.getLogger("tickerbot.test")


def test_key_value_lines_carry_the_figures() -> None:
    stream, log = _capture("text")
    log.info("poll", extra={"source": "ukraine", "new": 3, "ms": 41, "error": "HTTP 500 Error"})
    line = stream.getvalue().strip()
    assert "level=info" in line and "msg=poll" in line
    assert "source=ukraine new=3 ms=41" in line and 'error="HTTP 500 Error"' in line


def test_json_lines_are_json() -> None:
    stream, log = _capture("json")
    log.warning("429 from Telegram", extra={"chat": 42, "retry_after": 3.0})
    record = json.loads(stream.getvalue())
    assert record["msg"] == "429 from Telegram" and record["chat"] == 42
    assert record["level"] == "warning" and record["retry_after"] == 3.0


def test_token_is_redacted_everywhere() -> None:
    stream, log = _capture("text")
    log.info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    log.info("url", extra={"url": f"https://api.telegram.org/bot{TOKEN}/sendMessage"})
    other = "1234567:ZZZ-another-token-shaped-value-000"
    log.info("unknown token shape %s", other)
    try:
        raise RuntimeError(f"failed for {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    json_stream, json_log = _capture("json")
    json_log.error("json %s", TOKEN)
    output = stream.getvalue() + json_stream.getvalue()
    assert TOKEN not in output and "secret-token-value" not in output
    assert other not in output
    assert output.count(REDACTED) >= 5
