"""Validated settings from the TOML file (SPEC §3) plus environment overrides.

Validation collects every problem at once so an operator fixes a config in one round;
``ConfigError.problems`` holds one ``key: message`` line per problem.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ticker.model import PageFormat

DEFAULT_CONFIG_PATH = "config.toml"
ENV_CONFIG = "TICKERBOT_CONFIG"
ENV_TOKEN = "TICKERBOT_TELEGRAM_TOKEN"
ENV_DATABASE_URL = "TICKERBOT_DATABASE_URL"
_SOURCE_ID = re.compile(r"^[a-z0-9-]+$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` are ready to print, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not a URL")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    token: str = ""
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    admins: list[int] = Field(default_factory=list)
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    secret_token: str = ""
    poll_timeout_seconds: float = Field(default=10.0, ge=0, le=60)

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("webhook_url is required when mode = 'webhook'")
        return self


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///tickerbot.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _driver(cls, value: str) -> str:
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class DeliverySettings(_Section):
    messages_per_second: float = Field(default=30, gt=0, le=1000)
    group_messages_per_minute: int = Field(default=20, ge=1, le=600)
    per_chat_seconds: float = Field(default=1.0, ge=0, le=60)
    batch_max_entries: int = Field(default=5, ge=1, le=20)
    edit_window_hours: float = Field(default=48, ge=0)
    allow_paid_broadcast: bool = False
    max_attempts: int = Field(default=8, ge=1, le=100)
    link_previews: bool = False


class DefaultsSettings(_Section):
    language: Literal["de", "en"] = "de"
    timezone: str = "Europe/Berlin"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)


class HttpSettings(_Section):
    timeout_seconds: float = Field(default=20, gt=0, le=600)
    max_bytes: int = Field(default=10_000_000, ge=1024)
    user_agent: str = "tickerbot"


class MetricsSettings(_Section):
    listen: str = ""
    max_poll_age_seconds: float = Field(default=900, gt=0)
    source_alert_after_seconds: float = Field(default=900, gt=0)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^\s:]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5}", value):
            raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9464")
        return value


class LimitsSettings(_Section):
    """Abuse protection and sanity caps for chat input."""

    commands_per_minute: int = Field(default=20, ge=1)
    command_burst: int = Field(default=10, ge=1)
    max_filters_per_chat: int = Field(default=50, ge=1)
    max_filter_length: int = Field(default=64, ge=2)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class SelectorSettings(_Section):
    entry: str = ""
    time: str = ""
    headline: str = ""
    body: str = ""
    id: str = ""


class SourceSettings(_Section):
    id: str
    name: str = ""
    url: str
    format: PageFormat = "auto"
    interval_seconds: float = Field(default=60, ge=1)
    timezone: str = "Europe/Berlin"
    language: Literal["de", "en"] = "de"
    default: bool = True
    end_markers: list[str] = Field(default_factory=list)
    selectors: SelectorSettings = Field(default_factory=SelectorSettings)
    date: dt.date | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _SOURCE_ID.fullmatch(value):
            raise ValueError("must match [a-z0-9-]+")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def selector_map(self) -> dict[str, str]:
        return {k: v for k, v in self.selectors.model_dump().items() if v}


class PlaceSettings(_Section):
    """An operator's addition to the gazetteer."""

    name: str
    kind: Literal["country", "region", "city"] = "region"
    parent: str | None = None
    aliases: list[str] = Field(default_factory=list)


class Settings(_Section):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    defaults: DefaultsSettings = Field(default_factory=DefaultsSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    places: list[PlaceSettings] = Field(default_factory=list)
    sources: Annotated[list[SourceSettings], Field(default_factory=list)]

    @model_validator(mode="after")
    def _unique_sources(self) -> Settings:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"duplicate source id {source.id!r}")
            seen.add(source.id)
        return self

    def source(self, source_id: str) -> SourceSettings | None:
        return next((s for s in self.sources if s.id == source_id), None)

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.defaults.timezone)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-after", "function-before", "function-wrap")):
            continue
        else:
            text += f".{part}" if text else part
    return text or "config"


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required"
        lines.append(f"{_location(tuple(item['loc']))}: {message}")
    return lines


def settings_from_mapping(
    data: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Settings:
    """Validate ``data`` (parsed TOML) with environment overrides applied first."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    if token := env.get(ENV_TOKEN):
        merged.setdefault("telegram", {})
        if isinstance(merged["telegram"], dict):
            merged["telegram"]["token"] = token
    if db_url := env.get(ENV_DATABASE_URL):
        merged.setdefault("database", {})
        if isinstance(merged["database"], dict):
            merged["database"]["url"] = db_url
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None


def resolve_config_path(path: str | None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(path or env.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH)


def load_settings(
    path: str | Path | None, env: Mapping[str, str] | None = None, *, must_exist: bool = True
) -> Settings:
    """Read and validate a config file; raises ConfigError with printable problems."""
    config_path = resolve_config_path(str(path) if path else None, env)
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        if not must_exist:
            return settings_from_mapping({}, env)
        raise ConfigError([f"{config_path}: config file not found"]) from None
    except OSError as exc:
        raise ConfigError([f"{config_path}: cannot read ({exc.strerror})"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{config_path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{config_path}: invalid TOML ({exc})"]) from None
    return settings_from_mapping(data, env)


def require_token(settings: Settings) -> None:
    """The bot cannot start without a token; fetch/today/db commands can."""
    if not settings.telegram.token:
        raise ConfigError([f"telegram.token: required (or set {ENV_TOKEN})"])
