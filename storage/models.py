"""SQLAlchemy 2 typed models. Every schema change comes with an Alembic migration.

All timestamps are stored in UTC (``UTCDateTime``); local time exists only in rendered text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    SQLite has no time zone type and would silently hand back naive values; this keeps the
    "UTC in the database" rule enforced at the boundary instead of in every query.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A configured ticker and its fetch state (conditional GET validators, health)."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    initialized: Mapped[bool] = mapped_column(Boolean, default=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_alerted: Mapped[bool] = mapped_column(Boolean, default=False)


class EntryRow(Base):
    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("source_id", "key"),
        Index("ix_entries_source_published", "source_id", "published_at"),
        Index("ix_entries_published", "published_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    headline: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    speakers: Mapped[list[str]] = mapped_column(JSON, default=list)
    speaker_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntryTag(Base):
    """Regions and speakers of an entry as rows, so SQL can count and filter by them."""

    __tablename__ = "entry_tags"
    __table_args__ = (Index("ix_entry_tags_kind_value", "kind", "value"),)

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    display: Mapped[str] = mapped_column(String(200))


class Chat(Base):
    """A private chat, group, supergroup or channel the bot talks to, with its settings."""

    __tablename__ = "chats"
    # The id is a BIGINT key, not SQLite's rowid: without this covering index the fan-out
    # would look up each subscriber twice (key index, then table row) to read its flags.
    __table_args__ = (
        Index(
            "ix_chats_fanout",
            "id",
            "active",
            "paused",
            "has_region_filter",
            "has_speaker_filter",
            "has_keyword_filter",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16), default="private")
    title: Mapped[str] = mapped_column(String(255), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    digest_minute: Mapped[int | None] = mapped_column(Integer)
    last_digest_on: Mapped[Any | None] = mapped_column(Date)
    managing_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # Denormalised "has at least one filter of this kind" flags keep fan-out one set-based
    # query over subscriptions instead of a filter scan per chat.
    has_region_filter: Mapped[bool] = mapped_column(Boolean, default=False)
    has_speaker_filter: Mapped[bool] = mapped_column(Boolean, default=False)
    has_keyword_filter: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)


class Subscription(Base):
    __tablename__ = "subscriptions"
    # Covers the fan-out's pass over a source's subscribers, created_at included (SPEC §6).
    __table_args__ = (Index("ix_subscriptions_source", "source_id", "chat_id", "created_at"),)

    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    source_id: Mapped[str] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FilterRow(Base):
    """One filter of a chat. ``value`` is the comparable form (canonical region, speaker key,
    folded keyword); ``display`` is what the user sees."""

    __tablename__ = "filters"
    __table_args__ = (
        UniqueConstraint("chat_id", "kind", "value"),
        Index("ix_filters_kind_value", "kind", "value", "chat_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    display: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SentMessage(Base):
    """A Telegram message the bot pushed; corrections edit it in place."""

    __tablename__ = "sent_messages"
    __table_args__ = (Index("ix_sent_messages_chat", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    editable: Mapped[bool] = mapped_column(Boolean, default=True)
    silent: Mapped[bool] = mapped_column(Boolean, default=False)


class Delivery(Base):
    """The outbox: one row per (chat, entry) to push, written by the fan-out (``FanOut``).

    ``status``: pending → sent (with ``sent_message_id``) | dropped (chat gone) | failed.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("chat_id", "entry_id"),
        Index("ix_deliveries_due", "status", "not_before"),
        Index("ix_deliveries_sent_message", "sent_message_id"),
        Index("ix_deliveries_entry", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("sent_messages.id", ondelete="SET NULL")
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    # A claim is a lease: a sender that dies leaves it to expire, and the delivery goes out
    # again (the in-flight repeat SPEC §6 allows). The token stops a stale sender's update.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FanOut(Base):
    """A new entry still to be fanned out to its subscribers, page by page.

    ``ingest`` writes one row in the entry's transaction (the outbox guarantee: the entry and
    the promise to deliver it commit together); the sender expands it into ``deliveries``
    while its queue runs low. ``below_chat_id`` is the cursor: subscriptions of chats with
    ids below it are still to be matched (``None``: none matched yet). Pages go downwards
    because a group that migrates to a supergroup gets a *lower* id: it can only move into
    the part still to do, where the unique key on deliveries refuses a second row.
    """

    __tablename__ = "fanouts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), unique=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    below_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # The keyword and exclude filter values in use that the entry's text contains, found on
    # the first page (``None`` until then) and kept, not looked up again for every page.
    matched_words: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageEdit(Base):
    """Outbox for corrections: re-render ``sent_message_id`` with its entries' current text."""

    __tablename__ = "message_edits"
    __table_args__ = (Index("ix_message_edits_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sent_message_id: Mapped[int] = mapped_column(ForeignKey("sent_messages.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


def claimable(model: type[Delivery] | type[MessageEdit], now: datetime) -> ColumnElement[bool]:
    """Due and not leased: a claim is a lease that expires (see ``Delivery``)."""
    return and_(
        model.status == "pending",
        model.not_before <= now,
        or_(model.claimed_until.is_(None), model.claimed_until < now),
    )


class SpeakerName(Base):
    """Fullest display form seen per speaker key ("Sacharowa" → "Maria Sacharowa")."""

    __tablename__ = "speaker_names"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    display: Mapped[str] = mapped_column(String(200))


class ChannelAdmin(Base):
    """A user the bot knows as an administrator of a channel (issue 6).

    ``added_bot``: this user added the bot there, so ``/channel`` offers the channel to them as a
    button. ``bound``: this user bound it with ``/channel`` and may be managing it.
    ``told_gone``: they were already told that the bot lost the channel — the "told once" of
    the issue survives a repeated my_chat_member update or a restart; re-adding resets it.
    """

    __tablename__ = "channel_admins"
    __table_args__ = (Index("ix_channel_admins_user", "user_id"),)

    channel_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    bound: Mapped[bool] = mapped_column(Boolean, default=False)
    told_gone: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DigestDelivery(Base):
    """Outbox for daily digests: one row per chat and local day, so a digest goes out at most
    once a day, also across restarts (the unique key refuses a second row)."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("chat_id", "day"),
        Index("ix_digest_deliveries_due", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    day: Mapped[Any] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
