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

from telegram import Bot, Message
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.config import Settings

log = logging.getLogger("tickerbot.handlers.permissions")

ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
ADMIN_CACHE_SECONDS = 60.0
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
