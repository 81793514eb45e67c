"""Chats, their subscriptions, settings and filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database
from storage.models import (
    ChannelAdmin,
    Chat,
    Delivery,
    FilterRow,
    SentMessage,
    Subscription,
    utcnow,
)
from storage.records import ChannelLink, ChatSettings, FilterItem
from ticker.filters import FilterKind

_FLAG_BY_KIND = {
    FilterKind.REGION.value: "has_region_filter",
    FilterKind.SPEAKER.value: "has_speaker_filter",
    FilterKind.KEYWORD.value: "has_keyword_filter",
}


class FilterLimitReached(Exception):
    """The chat already has the configured maximum number of filters."""


async def load_settings(session: AsyncSession, chat: Chat) -> ChatSettings:
    subscriptions = (
        await session.scalars(
            select(Subscription.source_id)
            .where(Subscription.chat_id == chat.id)
            .order_by(Subscription.source_id)
        )
    ).all()
    filters = (
        await session.scalars(
            select(FilterRow).where(FilterRow.chat_id == chat.id).order_by(FilterRow.id)
        )
    ).all()
    return settings_of(chat, subscriptions, filters)


def settings_of(
    chat: Chat, subscriptions: Sequence[str], filters: Sequence[FilterRow]
) -> ChatSettings:
    return ChatSettings(
        id=chat.id,
        type=chat.type,
        title=chat.title,
        username=chat.username,
        language=chat.language,
        active=chat.active,
        paused=chat.paused,
        quiet_start=chat.quiet_start,
        quiet_end=chat.quiet_end,
        digest_minute=chat.digest_minute,
        last_digest_on=chat.last_digest_on,
        managing_chat_id=chat.managing_chat_id,
        subscriptions=tuple(subscriptions),
        filters=tuple(FilterItem(f.id, f.kind, f.value, f.display) for f in filters),
    )


class ChatRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def ensure(
        self,
        chat_id: int,
        *,
        type: str,
        title: str = "",
        username: str | None = None,
        reactivate: bool = True,
    ) -> ChatSettings:
        """Create the chat on first contact; refresh its name; a returning user is active."""
        async with self._db.session() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None:
                chat = Chat(id=chat_id, type=type, title=title, username=username, active=True)
                session.add(chat)
                await session.flush()
            else:
                chat.type = type
                chat.title = title or chat.title
                chat.username = username or chat.username
                if reactivate and not chat.active:
                    chat.active = True
                    chat.deactivated_at = None
                    chat.deactivated_reason = None
            return await load_settings(session, chat)

    async def get(self, chat_id: int) -> ChatSettings | None:
        async with self._db.session() as session:
            chat = await session.get(Chat, chat_id)
            return None if chat is None else await load_settings(session, chat)

    async def update_settings(self, chat_id: int, **values: Any) -> ChatSettings:
        """Set plain columns (paused, language, quiet_start/end, digest_minute, …)."""
        allowed = {
            "paused",
            "language",
            "quiet_start",
            "quiet_end",
            "digest_minute",
            "last_digest_on",
            "managing_chat_id",
        }
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not a chat setting: {', '.join(sorted(unknown))}")
        async with self._db.session() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None:
                raise LookupError(f"unknown chat {chat_id}")
            for name, value in values.items():
                setattr(chat, name, value)
            if values.get("paused"):
                # "nothing is queued while paused": what waits now would arrive on /resume.
                await _drop_pending(session, chat_id, "paused")
            return await load_settings(session, chat)

    async def subscribe(self, chat_id: int, source_ids: Sequence[str]) -> list[str]:
        """Subscribe to the given sources; returns those that were newly added."""
        async with self._db.session() as session:
            have = set(
                (
                    await session.scalars(
                        select(Subscription.source_id).where(Subscription.chat_id == chat_id)
                    )
                ).all()
            )
            added = [s for s in source_ids if s not in have]
            for source_id in added:
                session.add(Subscription(chat_id=chat_id, source_id=source_id))
            return added

    async def unsubscribe(self, chat_id: int, source_ids: Sequence[str] | None = None) -> list[str]:
        """Unsubscribe from the given sources (all when None); returns those removed."""
        async with self._db.session() as session:
            query = select(Subscription.source_id).where(Subscription.chat_id == chat_id)
            if source_ids is not None:
                query = query.where(Subscription.source_id.in_(source_ids))
            removed = list((await session.scalars(query)).all())
            if removed:
                await session.execute(
                    delete(Subscription).where(
                        Subscription.chat_id == chat_id, Subscription.source_id.in_(removed)
                    )
                )
            return removed

    async def add_filter(
        self, chat_id: int, kind: str, value: str, display: str, *, max_filters: int
    ) -> bool:
        """Add a filter; False when it was already there. Raises FilterLimitReached."""
        async with self._db.session() as session:
            exists = await session.scalar(
                select(FilterRow.id).where(
                    FilterRow.chat_id == chat_id, FilterRow.kind == kind, FilterRow.value == value
                )
            )
            if exists is not None:
                return False
            count = await session.scalar(
                select(func.count()).select_from(FilterRow).where(FilterRow.chat_id == chat_id)
            )
            if (count or 0) >= max_filters:
                raise FilterLimitReached
            session.add(FilterRow(chat_id=chat_id, kind=kind, value=value, display=display))
            await session.flush()
            await _refresh_flags(session, chat_id)
            return True

    async def remove_filter(self, chat_id: int, filter_id: int) -> FilterItem | None:
        async with self._db.session() as session:
            row = await session.get(FilterRow, filter_id)
            if row is None or row.chat_id != chat_id:
                return None
            item = FilterItem(row.id, row.kind, row.value, row.display)
            await session.delete(row)
            await session.flush()
            await _refresh_flags(session, chat_id)
            return item

    async def clear_filters(self, chat_id: int) -> int:
        async with self._db.session() as session:
            result = await session.execute(delete(FilterRow).where(FilterRow.chat_id == chat_id))
            await _refresh_flags(session, chat_id)
            return int(getattr(result, "rowcount", 0) or 0)

    async def deactivate(self, chat_id: int, reason: str) -> int:
        """Mark a chat gone (blocked, kicked, deleted) and drop what was queued for it."""
        async with self._db.session() as session:
            return await _deactivate(session, chat_id, reason)

    async def migrate(self, old_id: int, new_id: int) -> None:
        """Follow a group that became a supergroup: settings, subscriptions, filters, queue."""
        async with self._db.session() as session:
            old = await session.get(Chat, old_id)
            if old is None:
                return
            new = await session.get(Chat, new_id)
            if new is None:
                new = Chat(
                    id=new_id,
                    type="supergroup",
                    title=old.title,
                    username=old.username,
                    language=old.language,
                    active=True,
                    paused=old.paused,
                    quiet_start=old.quiet_start,
                    quiet_end=old.quiet_end,
                    digest_minute=old.digest_minute,
                    last_digest_on=old.last_digest_on,
                    has_region_filter=old.has_region_filter,
                    has_speaker_filter=old.has_speaker_filter,
                    has_keyword_filter=old.has_keyword_filter,
                )
                session.add(new)
                await session.flush()
            have_subs = set(
                (
                    await session.scalars(
                        select(Subscription.source_id).where(Subscription.chat_id == new_id)
                    )
                ).all()
            )
            for sub in (
                await session.scalars(select(Subscription).where(Subscription.chat_id == old_id))
            ).all():
                if sub.source_id not in have_subs:
                    # Subscribed since then: entries still being fanned out reach it once.
                    session.add(
                        Subscription(
                            chat_id=new_id, source_id=sub.source_id, created_at=sub.created_at
                        )
                    )
            have_filters = {
                (f.kind, f.value)
                for f in (
                    await session.scalars(select(FilterRow).where(FilterRow.chat_id == new_id))
                ).all()
            }
            await session.flush()
            for row in (
                await session.scalars(select(FilterRow).where(FilterRow.chat_id == old_id))
            ).all():
                if (row.kind, row.value) in have_filters:
                    await session.delete(row)
                else:
                    row.chat_id = new_id
            # Sent deliveries move too: the fan-out of an entry still in progress then finds
            # the supergroup already served and does not send the entry to it a second time.
            entries_on_new = set(
                (
                    await session.scalars(
                        select(Delivery.entry_id).where(Delivery.chat_id == new_id)
                    )
                ).all()
            )
            for delivery in (
                await session.scalars(select(Delivery).where(Delivery.chat_id == old_id))
            ).all():
                if delivery.entry_id not in entries_on_new:
                    delivery.chat_id = new_id
                elif delivery.status == "pending":
                    delivery.status = "dropped"
            await session.execute(
                update(SentMessage).where(SentMessage.chat_id == old_id).values(editable=False)
            )
            await session.execute(
                update(Chat).where(Chat.managing_chat_id == old_id).values(managing_chat_id=new_id)
            )
            await session.execute(delete(Subscription).where(Subscription.chat_id == old_id))
            old.active = False
            old.deactivated_at = utcnow()
            old.deactivated_reason = f"migrated to {new_id}"
            await session.flush()
            await _refresh_flags(session, new_id)

    async def counts(self) -> tuple[int, int, int]:
        """(active chats, inactive chats, subscriptions)."""
        async with self._db.session() as session:
            active = await session.scalar(
                select(func.count()).select_from(Chat).where(Chat.active.is_(True))
            )
            inactive = await session.scalar(
                select(func.count()).select_from(Chat).where(Chat.active.is_(False))
            )
            subs = await session.scalar(select(func.count()).select_from(Subscription))
            return int(active or 0), int(inactive or 0), int(subs or 0)

    # --- channels (issue 6) -------------------------------------------------------------------
    # A channel is a ``chats`` row of type "channel"; ``channel_admins`` remembers who added the
    # bot there and who bound it; the binding admin's private chat points at the channel through
    # ``managing_chat_id`` (private chat id == user id in Telegram).

    async def bind_channel(
        self,
        channel_id: int,
        *,
        user_id: int,
        title: str,
        username: str | None,
        source_ids: Sequence[str],
    ) -> tuple[ChatSettings, list[str]]:
        """Bind a channel for ``user_id`` in one transaction.

        Creates or reactivates the channel's chat row, subscribes it to ``source_ids`` (returns
        the newly added ones), marks the user as binding admin and points their private chat at
        the channel — all or nothing, so a failure never leaves a channel receiving pushes that
        nobody manages.
        """
        async with self._db.session() as session:
            chat = await _active_channel_row(session, channel_id, title, username)
            have = set(
                (
                    await session.scalars(
                        select(Subscription.source_id).where(Subscription.chat_id == channel_id)
                    )
                ).all()
            )
            added = [s for s in dict.fromkeys(source_ids) if s not in have]
            for source_id in added:
                session.add(Subscription(chat_id=channel_id, source_id=source_id))
            link = await session.get(ChannelAdmin, (channel_id, user_id))
            if link is None:
                link = ChannelAdmin(channel_id=channel_id, user_id=user_id)
                session.add(link)
            link.bound = True
            link.told_gone = False
            await session.execute(
                update(Chat).where(Chat.id == user_id).values(managing_chat_id=channel_id)
            )
            await session.flush()
            return await load_settings(session, chat), added

    async def channel_links(self, user_id: int) -> list[ChannelLink]:
        """The channels this user bound or added the bot to, oldest first (for ``/channel``)."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(ChannelAdmin, Chat)
                    .join(Chat, Chat.id == ChannelAdmin.channel_id)
                    .where(
                        ChannelAdmin.user_id == user_id,
                        (ChannelAdmin.bound.is_(True)) | (ChannelAdmin.added_bot.is_(True)),
                    )
                    .order_by(ChannelAdmin.created_at, ChannelAdmin.channel_id)
                )
            ).all()
            return [
                ChannelLink(
                    channel=await load_settings(session, chat),
                    user_id=link.user_id,
                    added_bot=link.added_bot,
                    bound=link.bound,
                )
                for link, chat in rows
            ]

    async def channel_link(self, channel_id: int, user_id: int) -> ChannelLink | None:
        async with self._db.session() as session:
            link = await session.get(ChannelAdmin, (channel_id, user_id))
            chat = await session.get(Chat, channel_id)
            if link is None or chat is None:
                return None
            return ChannelLink(
                channel=await load_settings(session, chat),
                user_id=user_id,
                added_bot=link.added_bot,
                bound=link.bound,
            )

    async def find_channel(self, reference: int | str) -> ChatSettings | None:
        """A known channel by id or by ``@username`` (case-insensitive, "@" optional).

        Works when the bot can no longer see the channel (removed): unbinding must still work.
        """
        async with self._db.session() as session:
            query = select(Chat).where(Chat.type == "channel")
            if isinstance(reference, int):
                query = query.where(Chat.id == reference)
            else:
                name = reference.removeprefix("@").lower()
                query = query.where(func.lower(Chat.username) == name)
            chat = (await session.scalars(query.limit(1))).first()
            return None if chat is None else await load_settings(session, chat)

    async def channel_bound(self, channel_id: int) -> bool:
        """Whether any administrator has the channel bound."""
        async with self._db.session() as session:
            found = await session.scalar(
                select(ChannelAdmin.user_id)
                .where(ChannelAdmin.channel_id == channel_id, ChannelAdmin.bound.is_(True))
                .limit(1)
            )
            return found is not None

    async def unbind_channel(self, channel_id: int, reason: str = "unbound") -> list[str]:
        """``/channel remove``: the channel's subscriptions end, nothing more is posted there.

        Returns the sources it was subscribed to. Queued deliveries are dropped and the chat is
        marked inactive; every binding ends and every private chat managing it manages itself
        again. Filters and settings stay, and ``added_bot`` stays so ``/channel`` still offers it.
        """
        async with self._db.session() as session:
            removed = list(
                (
                    await session.scalars(
                        select(Subscription.source_id)
                        .where(Subscription.chat_id == channel_id)
                        .order_by(Subscription.source_id)
                    )
                ).all()
            )
            await session.execute(delete(Subscription).where(Subscription.chat_id == channel_id))
            await _deactivate(session, channel_id, reason)
            await session.execute(
                update(ChannelAdmin)
                .where(ChannelAdmin.channel_id == channel_id)
                .values(bound=False, told_gone=False, updated_at=utcnow())
            )
            await session.execute(
                update(Chat)
                .where(Chat.managing_chat_id == channel_id)
                .values(managing_chat_id=None)
            )
            return removed

    async def record_bot_added(
        self, channel_id: int, user_id: int | None, *, title: str, username: str | None
    ) -> bool:
        """The bot became an administrator that may post in a channel (my_chat_member).

        Creates or reactivates the channel row (a re-added bot resumes the channel's existing
        subscriptions), remembers who added it, and re-arms "tell once" for the binding admins.
        Returns whether the channel is bound by anyone.
        """
        async with self._db.session() as session:
            await _active_channel_row(session, channel_id, title, username)
            if user_id is not None:
                link = await session.get(ChannelAdmin, (channel_id, user_id))
                if link is None:
                    link = ChannelAdmin(channel_id=channel_id, user_id=user_id)
                    session.add(link)
                link.added_bot = True
                await session.flush()
            await session.execute(
                update(ChannelAdmin)
                .where(ChannelAdmin.channel_id == channel_id)
                .values(told_gone=False, updated_at=utcnow())
            )
            bound = await session.scalar(
                select(ChannelAdmin.user_id)
                .where(ChannelAdmin.channel_id == channel_id, ChannelAdmin.bound.is_(True))
                .limit(1)
            )
            return bound is not None

    async def channel_lost(self, channel_id: int, reason: str) -> list[int]:
        """The bot was removed from a channel or may no longer post there (my_chat_member).

        Deactivates the channel and drops its pending deliveries, points every private chat that
        managed it back at itself, and returns the binding admins not told yet — marking them
        told in the same transaction, so a repeated update or a second bot instance never tells
        anyone twice. Subscriptions and bindings stay: re-adding the bot resumes the channel.
        """
        async with self._db.session() as session:
            await _deactivate(session, channel_id, reason)
            await session.execute(
                update(Chat)
                .where(Chat.managing_chat_id == channel_id)
                .values(managing_chat_id=None)
            )
            users = list(
                (
                    await session.scalars(
                        select(ChannelAdmin.user_id)
                        .where(
                            ChannelAdmin.channel_id == channel_id,
                            ChannelAdmin.bound.is_(True),
                            ChannelAdmin.told_gone.is_(False),
                        )
                        .order_by(ChannelAdmin.user_id)
                    )
                ).all()
            )
            if users:
                await session.execute(
                    update(ChannelAdmin)
                    .where(ChannelAdmin.channel_id == channel_id, ChannelAdmin.user_id.in_(users))
                    .values(told_gone=True, updated_at=utcnow())
                )
            return users


async def _refresh_flags(session: AsyncSession, chat_id: int) -> None:
    kinds = set(
        (
            await session.scalars(
                select(FilterRow.kind).where(FilterRow.chat_id == chat_id).distinct()
            )
        ).all()
    )
    await session.execute(
        update(Chat)
        .where(Chat.id == chat_id)
        .values({flag: kind in kinds for kind, flag in _FLAG_BY_KIND.items()})
    )


async def _deactivate(session: AsyncSession, chat_id: int, reason: str) -> int:
    """Mark the chat gone and drop its queue; returns how many deliveries were dropped."""
    await session.execute(
        update(Chat)
        .where(Chat.id == chat_id)
        .values(active=False, deactivated_at=utcnow(), deactivated_reason=reason[:500])
    )
    return await _drop_pending(session, chat_id, reason)


async def _drop_pending(session: AsyncSession, chat_id: int, reason: str) -> int:
    result = await session.execute(
        update(Delivery)
        .where(Delivery.chat_id == chat_id, Delivery.status == "pending")
        .values(status="dropped", last_error=reason[:500])
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _active_channel_row(
    session: AsyncSession, channel_id: int, title: str, username: str | None
) -> Chat:
    """The channel's chat row, created or reactivated (a re-bound channel keeps its settings)."""
    chat = await session.get(Chat, channel_id)
    if chat is None:
        chat = Chat(id=channel_id, type="channel", title=title, username=username)
        session.add(chat)
        await session.flush()
        return chat
    chat.type = "channel"
    chat.title = title or chat.title
    chat.username = username or chat.username
    chat.active = True
    chat.deactivated_at = None
    chat.deactivated_reason = None
    return chat
