"""Abuse protection: a token bucket per user in front of every command and button.

Registered in handler group -1, so a throttled update never reaches a command handler
(``ApplicationHandlerStop``). The bucket holds ``command_burst`` tokens and refills at
``commands_per_minute``; the first refused command of a throttled period gets one
"slow down" reply, the rest are dropped silently so the bot cannot be used to spam the chat.
Other users have their own buckets and are not slowed down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Update
from telegram.constants import MessageEntityType, ParseMode
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.i18n import language_or, t, t_plain
from bot.services import get_services

THROTTLE_KEY = "tickerbot.throttle"
_MAX_USERS = 50_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class Throttle:
    """Token buckets per user; ``take`` says whether to process and whether to warn."""

    def __init__(
        self,
        burst: int,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def take(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, warn): warn is True once per throttled period, on its first refusal."""
        now = self._clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            self._prune(now)
            bucket = self._buckets[user_id] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn

    def _prune(self, now: float) -> None:
        """Forget users whose bucket has refilled: they are indistinguishable from new ones."""
        if len(self._buckets) < _MAX_USERS:
            return
        full_after = self._burst / self._rate
        self._buckets = {
            user: b for user, b in self._buckets.items() if now - b.updated < full_after
        }


def _is_our_command(update: Update, bot_username: str) -> bool:
    """A /command for this bot; ``/cmd@otherbot`` in a group is not ours to count."""
    message = update.message
    if message is None or not message.text or not message.entities:
        return False
    first = message.entities[0]
    if first.type != MessageEntityType.BOT_COMMAND or first.offset != 0:
        return False
    _, _, addressee = message.text[1 : first.length].partition("@")
    return not addressee or addressee.lower() == bot_username.lower()


def _sender_key(update: Update) -> int | None:
    """Anonymous admins all share one Telegram user id; count them per group instead."""
    message = update.message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id
    user = update.effective_user
    return None if user is None else user.id


def _throttle(context: ContextTypes.DEFAULT_TYPE) -> Throttle:
    throttle = context.bot_data.get(THROTTLE_KEY)
    if not isinstance(throttle, Throttle):
        limits = get_services(context.bot_data).settings.limits
        throttle = Throttle(limits.command_burst, limits.commands_per_minute)
        context.bot_data[THROTTLE_KEY] = throttle
    return throttle


async def throttle_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group -1 gate: let the update through, or stop it (telling the user once)."""
    if not isinstance(update, Update):
        return
    is_button = update.callback_query is not None
    if not is_button and not _is_our_command(update, context.bot.username):
        return
    key = _sender_key(update)
    if key is None:
        return
    allowed, warn = _throttle(context).take(key)
    if allowed:
        return
    if warn:
        services = get_services(context.bot_data)
        chat = update.effective_chat
        stored = None if chat is None else await services.storage.chats.get(chat.id)
        lang = language_or(stored.language if stored else None, services.settings.defaults.language)
        if update.callback_query is not None:
            await update.callback_query.answer(t_plain(lang, "throttle.slow_down"))
        elif update.message is not None:
            await update.message.reply_text(
                t(lang, "throttle.slow_down"), parse_mode=ParseMode.HTML, do_quote=False
            )
    elif update.callback_query is not None:
        # Stop the button's spinner; a second toast would be the spam we are preventing.
        await update.callback_query.answer()
    raise ApplicationHandlerStop
