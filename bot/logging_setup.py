"""Logging: key=value or JSON lines, and a filter that keeps the bot token out of every line.

httpx logs each request URL at INFO and Bot API URLs contain the token, so httpx is lowered
to WARNING and, belt and braces, every record passes through ``TokenRedactor``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
REDACTED = "[REDACTED]"


class TokenRedactor(logging.Filter):
    """Replaces known secrets and anything shaped like a bot token in the final message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key not in _RESERVED and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


def _kv(value: Any) -> str:
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False) if (not text or re.search(r"[\s\"=]", text)) else text
    )


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [
            f"ts={stamp[:-4]}Z",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_kv(record.getMessage())}",
        ]
        parts += [f"{key}={_kv(value)}" for key, value in _extras(record).items()]
        line = " ".join(parts)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in _extras(record).items()})
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(
    level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (), stream: Any = None
) -> TokenRedactor:
    """Install one handler on the root logger; returns the redactor to add secrets later."""
    redactor = TokenRedactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_tickerbot", False):
            root.removeHandler(old)
    handler._tickerbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor
