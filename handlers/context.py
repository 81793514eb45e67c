"""One command or button press as handlers see it: the chat, its settings, its language.

The wrappers here do what every handler would otherwise repeat: find (or create) the chat,
pick the language, enforce who may run the command, and answer in Telegram HTML with link
previews off. A handler is then ``async def handler(turn: Turn) -> None``.

Managing a channel (issue 6): a private chat whose ``managing_chat_id`` points at a bound
channel gets a Turn whose ``chat`` is the channel and whose ``origin`` is the private chat.
Handlers change the channel without knowing it; answers go to the private chat, each headed
by the managed channel's name, and the user's admin rights in the channel are re-checked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.i18n import Language, language_or, t, t_plain
from bot.ratelimit import ChatKind, retry_seconds
from bot.services import Services, get_services
from handlers.permissions import (
    CHANNEL_ADMIN_CACHE_SECONDS,
    AdminCache,
    is_anonymous_admin,
    is_operator,
)
from storage import Storage
from storage.records import ChatSettings

log = logging.getLogger("tickerbot.handlers")

ADMIN_CACHE_KEY = "tickerbot.admin_cache"
CHANNEL_ADMIN_CACHE_KEY = "tickerbot.channel_admin_cache"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes; Telegram rejects longer callback_data, PTB does not check
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

Handler = Callable[["Turn"], Awaitable[None]]
PtbCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def fits_callback(data: str) -> bool:
    return len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    """Buttons from (label, callback_data) rows; None when there are none."""
    buttons = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows
    ]
    buttons = [row for row in buttons if row]
    return InlineKeyboardMarkup(buttons) if buttons else None


@dataclass
class Turn:
    """The chat a command acts on and how to answer it."""

    update: Update
    context: ContextTypes.DEFAULT_TYPE
    services: Services
    chat: ChatSettings
    args: list[str] = field(default_factory=list)
    answered: bool = False
    origin: ChatSettings | None = None
    """The private chat the command came from when it manages another chat (a channel);
    None when the command acts on the chat it was sent in."""

    @property
    def managed(self) -> bool:
        return self.origin is not None

    @property
    def reply_chat_id(self) -> int:
        """Where answers go: the private chat when managing, else the chat itself."""
        return self.origin.id if self.origin is not None else self.chat.id

    @property
    def chat_name(self) -> str:
        """How the chat is named to people: its title, else @username, else its id."""
        chat = self.chat
        return chat.title or (f"@{chat.username}" if chat.username else str(chat.id))

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def storage(self) -> Storage:
        return self.services.storage

    @property
    def lang(self) -> Language:
        return language_or(self.chat.language, self.settings.defaults.language)

    @property
    def user_id(self) -> int | None:
        user = self.update.effective_user
        return None if user is None else user.id

    @property
    def query(self) -> CallbackQuery | None:
        return self.update.callback_query

    @property
    def arg_text(self) -> str:
        return " ".join(self.args).strip()

    def text(self, key: str, **values: object) -> str:
        """Catalog text as HTML with ``values`` escaped."""
        return t(self.lang, key, **values)

    def plain(self, key: str, **values: object) -> str:
        """Catalog text for buttons and toasts (not parsed as HTML)."""
        return t_plain(self.lang, key, **values)

    async def reload(self) -> ChatSettings:
        """Re-read the chat after a change, so what is shown is what is stored."""
        chat = await self.storage.chats.get(self.chat.id)
        if chat is not None:
            self.chat = chat
        return self.chat

    async def reply(
        self, key: str, *, markup: InlineKeyboardMarkup | None = None, **values: object
    ) -> None:
        await self.send(self.text(key, **values), markup=markup)

    def managed_header(self) -> str | None:
        """The first line of every answer while managing: which chat the answer is about."""
        return self.text("managed.header", title=self.chat_name) if self.managed else None

    def _framed(self, html_text: str) -> str:
        header = self.managed_header()
        return html_text if header is None else f"{header}\n{html_text}"

    async def send(self, html_text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
        """Send HTML to the chat (in the command's forum topic, if it came from one).

        While managing a channel the answer goes to the private chat, headed by the channel's
        name; a text already at Telegram's limit gets the header as a message of its own
        rather than being cut (cutting HTML could break a tag).
        """
        message = self.update.effective_message
        thread = (
            message.message_thread_id
            if message is not None and getattr(message, "is_topic_message", False)
            else None
        )
        framed = self._framed(html_text)
        header = self.managed_header()
        if header is not None and len(framed) > TEXT_LIMIT:
            await self._send_raw(header, None, thread)
            framed = html_text
        await self._send_raw(framed, markup, thread)

    @property
    def reply_chat_kind(self) -> ChatKind:
        chat = self.origin if self.origin is not None else self.chat
        return chat.kind  # type: ignore[return-value]

    async def _paced(self, send: Callable[[], Awaitable[object]]) -> None:
        """Replies share Telegram's per-chat budget with pushes: they take their turn in the
        same rate limiter, and a 429 that still happens is waited out once, not lost."""
        limiter = self.services.limiter
        if limiter is not None:
            await limiter.acquire(self.reply_chat_id, self.reply_chat_kind)
        try:
            await send()
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            if limiter is not None:
                limiter.pause_chat(self.reply_chat_id, seconds)
            await asyncio.sleep(seconds)
            await send()

    async def _send_raw(
        self, html_text: str, markup: InlineKeyboardMarkup | None, thread: int | None
    ) -> None:
        await self._paced(
            lambda: self.context.bot.send_message(
                chat_id=self.reply_chat_id,
                text=html_text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup,
                message_thread_id=thread,
            )
        )

    async def edit(self, html_text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the pressed button's message (a keyboard that reflects the new state)."""
        query = self.query
        if query is None:
            await self.send(html_text, markup=markup)
            return
        framed = self._framed(html_text)
        try:
            await self._paced(
                lambda: query.edit_message_text(
                    framed if len(framed) <= TEXT_LIMIT else html_text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup,
                )
            )
        except BadRequest as exc:
            # Pressing a button twice quickly leaves the text unchanged: not an error.
            if "not modified" not in str(exc).lower():
                raise

    async def toast(self, key: str | None = None, **values: object) -> None:
        """Answer the pressed button (stops its spinner), optionally with a short notice."""
        if self.query is not None and not self.answered:
            self.answered = True
            await self.query.answer(self.plain(key, **values) if key else None)

    async def may_change(self) -> bool:
        """Private chats belong to their user; in groups only admins change settings.

        A managed channel: the user must still be its creator or an administrator (asked
        again after a short TTL, so a demoted admin loses control within seconds).
        """
        if self.managed:
            user_id = self.user_id
            if user_id is None:
                return False
            cache = channel_admin_cache(self.context)
            return await cache.is_admin(self.context.bot, self.chat.id, user_id)
        if not self.chat.is_group:
            return True
        if self.query is None and is_anonymous_admin(self.update.effective_message, self.chat.id):
            return True
        user_id = self.user_id
        if user_id is None:
            return False
        cache = _cache(self.context, ADMIN_CACHE_KEY, None)
        return await cache.is_admin(self.context.bot, self.chat.id, user_id)


def channel_admin_cache(context: ContextTypes.DEFAULT_TYPE) -> AdminCache:
    """Who administers which channel, remembered for a short TTL (see permissions.py)."""
    return _cache(context, CHANNEL_ADMIN_CACHE_KEY, CHANNEL_ADMIN_CACHE_SECONDS)


def _cache(context: ContextTypes.DEFAULT_TYPE, key: str, ttl: float | None) -> AdminCache:
    """The admin cache kept in ``bot_data`` under ``key`` (tests may put their own there)."""
    cache = context.bot_data.get(key)
    if not isinstance(cache, AdminCache):
        cache = context.bot_data[key] = AdminCache() if ttl is None else AdminCache(ttl)
    return cache


async def _turn_for(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, follow_managed: bool = True
) -> Turn | None:
    """Find or create the chat the update came from; None for chats we do not serve.

    With ``follow_managed``, a private chat that manages a channel yields a Turn on the
    channel (``origin`` = the private chat). The channel is never created or reactivated
    here: only binding and the bot's own membership updates do that.
    """
    chat = update.effective_chat
    if chat is None or chat.type == "channel":
        return None
    services = get_services(context.bot_data)
    stored = await services.storage.chats.get(chat.id)
    if stored is None or not stored.active:
        # A message from a chat proves the bot is there again: (re)activate it.
        stored = await services.storage.chats.ensure(
            chat.id,
            type=chat.type,
            title=chat.title or chat.effective_name or "",
            username=chat.username,
        )
    args = list(context.args or [])
    if follow_managed and chat.type == "private" and stored.managing_chat_id is not None:
        managed = await services.storage.chats.get(stored.managing_chat_id)
        if managed is not None:
            return Turn(update, context, services, managed, args, origin=stored)
    return Turn(update, context, services, stored, args)


async def _allowed(turn: Turn, *, changes: bool, operator: bool) -> bool:
    if operator and not is_operator(turn.settings, turn.user_id):
        await _refuse(turn, "guard.operators_only")
        return False
    if turn.managed:
        # Even reading a channel's settings is its admins' business; and a channel the bot
        # lost cannot be managed (the membership handler usually ends management first).
        if not turn.chat.active:
            await _refuse(turn, "managed.inactive", title=turn.chat_name)
            return False
        if not await turn.may_change():
            await _refuse(turn, "managed.not_admin", title=turn.chat_name)
            return False
        return True
    if changes and not await turn.may_change():
        await _refuse(turn, "guard.admins_only")
        return False
    return True


async def _refuse(turn: Turn, key: str, **values: object) -> None:
    if turn.query is not None:
        await turn.toast(key, **values)
    else:
        await turn.send(turn.text(key, **values))


def as_command(
    handler: Handler, *, changes: bool, operator: bool, follow_managed: bool = True
) -> PtbCallback:
    """A PTB callback running ``handler`` for a command, after the access check.

    ``follow_managed``: in a private chat that manages a channel, act on the channel.
    """

    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        turn = await _turn_for(update, context, follow_managed=follow_managed)
        if turn is not None and await _allowed(turn, changes=changes, operator=operator):
            await handler(turn)

    callback.__name__ = getattr(handler, "__name__", "command")
    return callback


def as_button(handler: Handler, *, changes: bool, follow_managed: bool = True) -> PtbCallback:
    """A PTB callback for an inline button; ``turn.args``: prefix, action, argument."""

    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        turn = await _turn_for(update, context, follow_managed=follow_managed)
        if turn is None:
            await query.answer()
            return
        turn.args = (query.data or "").split(":", 2)
        if await _allowed(turn, changes=changes, operator=False):
            await handler(turn)
        await turn.toast()  # a no-op when the handler already answered

    callback.__name__ = getattr(handler, "__name__", "button")
    return callback


def fit_lines(lines: list[str], limit: int = 4096) -> str:
    """Join whole lines up to Telegram's limit: never cut HTML mid-tag, drop the tail."""
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + 1
        if size > limit - 2:  # room for the "…" line
            kept.append("…")
            break
        kept.append(line)
    return "\n".join(kept)
