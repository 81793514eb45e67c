"""Who may do what: chat admins change group settings, operators see figures.

In groups and supergroups any member can type a command, but only administrators may
change what the whole group receives (SPEC §4, issue 6). Asking Telegram on every command
would cost a getChatMember round trip each time, so answers are cached briefly; a demoted
admin keeps the right for at most ``ttl`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot, ChatMember, ChatMemberAdministrator, Message
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.config import Settings

log = logging.getLogger("tickerbot.handlers.permissions")

ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
ADMIN_CACHE_SECONDS = 60.0
CHANNEL_ADMIN_CACHE_SECONDS = 10.0
"""Managing a channel from a private chat re-checks the user's rights in the channel on each
change; a short TTL keeps a burst of commands to one getChatMember while a demoted admin
loses control within seconds (the private chat gives no other sign that they were demoted)."""
_MAX_CACHED = 10_000


class AdminCache:
    """``(chat, user) -> is admin`` answers from getChatMember, remembered for ``ttl`` s."""

    def __init__(
        self, ttl: float = ADMIN_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._answers: dict[tuple[int, int], tuple[float, bool]] = {}

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        now = self._clock()
        cached = self._answers.get((chat_id, user_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            # Unknown is not "yes": refuse this time, ask again next time (not cached).
            log.warning("getChatMember failed", extra={"chat_id": chat_id, "error": str(exc)})
            return False
        answer = member.status in ADMIN_STATUSES
        self._remember(now, (chat_id, user_id), answer)
        return answer

    def remember(self, chat_id: int, user_id: int, answer: bool) -> None:
        """Store an answer just obtained elsewhere (binding asked Telegram a moment ago)."""
        self._remember(self._clock(), (chat_id, user_id), answer)

    def _remember(self, now: float, key: tuple[int, int], answer: bool) -> None:
        if len(self._answers) >= _MAX_CACHED:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
            if len(self._answers) >= _MAX_CACHED:
                self._answers.clear()
        self._answers[key] = (now + self._ttl, answer)


def is_anonymous_admin(message: Message | None, chat_id: int) -> bool:
    """A message sent "as the group" comes from an anonymous administrator of that group."""
    return bool(
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat_id
    )


def is_operator(settings: Settings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.telegram.admins


@dataclass(frozen=True, slots=True)
class ChannelRights:
    """What binding a channel needs, as Telegram answers it right now (not cached).

    ``None`` means Telegram would not say (the bot cannot see the channel's members, e.g. it
    is not an administrator there): unknown is never treated as "yes".
    """

    bot_is_admin: bool
    bot_can_post: bool
    user_is_admin: bool | None

    @property
    def ok(self) -> bool:
        return self.bot_is_admin and self.bot_can_post and self.user_is_admin is True


async def channel_rights(bot: Bot, channel_id: int, user_id: int) -> ChannelRights:
    """getChatMember for the bot and for the user in a channel (issue 6: both must hold)."""
    bot_member = await _member(bot, channel_id, bot.id)
    user_member = await _member(bot, channel_id, user_id)
    return ChannelRights(
        bot_is_admin=bot_member is not None and bot_member.status in ADMIN_STATUSES,
        bot_can_post=can_post(bot_member),
        user_is_admin=None if user_member is None else user_member.status in ADMIN_STATUSES,
    )


def can_post(member: ChatMember | None) -> bool:
    """An administrator with "Post messages" (the creator may always post)."""
    if member is None:
        return False
    if member.status == ChatMemberStatus.OWNER:
        return True
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)


async def _member(bot: Bot, chat_id: int, user_id: int) -> ChatMember | None:
    """The member, or None when Telegram refuses to say (network errors propagate: they are
    not an answer about rights, and the error handler asks the user to try again)."""
    try:
        return await bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden) as exc:
        log.info("getChatMember failed", extra={"chat_id": chat_id, "error": str(exc)})
        return None
