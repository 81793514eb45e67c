"""Plain records the repositories return: no ORM objects leak past storage/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ticker.filters import ChatFilters


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    source_id: str
    key: str
    published_at: datetime
    headline: str
    body: str
    url: str | None
    regions: tuple[str, ...]
    speakers: tuple[str, ...]
    first_seen_at: datetime
    speaker_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one poll changed: new and updated entry ids, and what was queued for chats."""

    new: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    unchanged: int = 0
    pushes_queued: int = 0  # new entries queued for fan-out to their subscribers
    edits_queued: int = 0
    first_poll: bool = False


@dataclass(frozen=True, slots=True)
class SourceState:
    id: str
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    initialized: bool
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    failing_since: datetime | None
    failure_alerted: bool
    entry_count: int = 0


@dataclass(frozen=True, slots=True)
class FilterItem:
    id: int
    kind: str
    value: str
    display: str


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Everything set for one chat, as handlers and the sender need it."""

    id: int
    type: str
    title: str
    username: str | None
    language: str | None
    active: bool
    paused: bool
    quiet_start: int | None
    quiet_end: int | None
    digest_minute: int | None
    last_digest_on: date | None
    managing_chat_id: int | None
    subscriptions: tuple[str, ...] = ()
    filters: tuple[FilterItem, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @property
    def kind(self) -> str:
        """Rate-limit class: private, group or channel."""
        if self.type == "channel":
            return "channel"
        return "group" if self.is_group else "private"

    @property
    def chat_filters(self) -> ChatFilters:
        return ChatFilters.from_pairs((f.kind, f.value) for f in self.filters)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    delivery_id: int
    entry: StoredEntry


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """Pending deliveries for one chat that go out as one message, oldest first."""

    chat: ChatSettings
    items: tuple[OutboxEntry, ...]
    attempts: int = 0

    @property
    def delivery_ids(self) -> tuple[int, ...]:
        return tuple(item.delivery_id for item in self.items)


@dataclass(frozen=True, slots=True)
class PendingEdit:
    edit_id: int
    sent_message_id: int
    chat: ChatSettings
    telegram_message_id: int
    entries: tuple[StoredEntry, ...]
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Stats:
    chats_active: int
    chats_inactive: int
    subscriptions: int
    entries: int
    pending_deliveries: int
    pending_edits: int
    sent_last_hour: int
    sources: tuple[SourceState, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ChannelLink:
    """A channel as one of its administrators sees it in ``/channel`` (issue 6)."""

    channel: ChatSettings
    user_id: int
    added_bot: bool
    bound: bool
