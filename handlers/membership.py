"""The bot's own membership: added, removed, demoted, and groups that became supergroups.

Issue 6. ``my_chat_member`` is the only sign Telegram gives that the bot's place in a chat
changed, so acting on it at once keeps the outbox from sending into chats that would answer
403 (or, in a channel the bot may no longer post in, 400):

* groups: added → a short greeting saying how to start; removed or kicked → inactive at once
  (pending deliveries dropped), nothing more is sent there.
* channels: became an administrator that may post → the channel row and who added the bot
  are recorded, so ``/channel`` offers it to that admin; removed or lost "post messages" →
  inactive, pending deliveries dropped, each binding admin told once in private.
* private chats: the user blocked the bot → inactive (the next command reactivates it).

``migrate_to_chat_id`` / ``migrate_from_chat_id`` service messages move a group's settings to
its new supergroup id; the sender does the same on a ``ChatMigrated`` error, whichever comes
first — ``ChatRepository.migrate`` is safe to run twice.
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, ChatMemberRestricted, InlineKeyboardMarkup, Update, User
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import language_or, t, t_plain
from bot.services import Services, get_services
from handlers.channels import BUTTON_PREFIX
from handlers.context import NO_PREVIEW, keyboard
from handlers.permissions import can_post

log = logging.getLogger("tickerbot.handlers.membership")

_PRESENT = frozenset(
    {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


def is_present(member: ChatMember) -> bool:
    """In the chat: a member, an admin, or restricted but still a member."""
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status in _PRESENT


async def my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change is None:
        return
    services = get_services(context.bot_data)
    chat = change.chat
    old, new = change.old_chat_member, change.new_chat_member
    if chat.type == ChatType.CHANNEL:
        if can_post(new) and not can_post(old):
            await _channel_gained(context, services, chat, change.from_user)
        elif can_post(old) and not can_post(new):
            await _channel_lost(context, services, chat.id, chat.title or "", new.status)
    elif chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        if is_present(new) and not is_present(old):
            await _group_joined(context, services, chat.id, chat.type, chat.title, chat.username)
        elif is_present(old) and not is_present(new):
            dropped = await services.storage.chats.deactivate(chat.id, f"bot {new.status}")
            log.info("removed from group", extra={"chat": chat.id, "dropped": dropped})
    elif chat.type == ChatType.PRIVATE and new.status == ChatMemberStatus.BANNED:
        await services.storage.chats.deactivate(chat.id, "blocked the bot")


async def _group_joined(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    chat_id: int,
    chat_type: str,
    title: str | None,
    username: str | None,
) -> None:
    """Greet once with how to start; in privacy mode only ``/start@bot`` surely reaches us."""
    stored = await services.storage.chats.ensure(
        chat_id, type=chat_type, title=title or "", username=username
    )
    lang = language_or(stored.language, services.settings.defaults.language)
    bot = context.bot.username or services.bot_username
    try:
        await context.bot.send_message(
            chat_id,
            t(lang, "group.greeting", bot=bot),
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        )
    except TelegramError as exc:  # e.g. added without the right to write
        log.info("no greeting", extra={"chat": chat_id, "error": str(exc)})


async def _channel_gained(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    chat: Chat,
    by: User | None,
) -> None:
    """Record the channel and who added the bot; tell that admin how to bind it.

    The hint goes only to someone who already has a private chat with the bot: writing first
    to a user who never started it would fail (403) and is not ours to do.
    """
    adder = None if by is None or by.is_bot else by.id
    chats = services.storage.chats
    bound = await chats.record_bot_added(
        chat.id, adder, title=chat.title or "", username=chat.username
    )
    services.wake_sender()
    if adder is None:
        return
    private = await chats.get(adder)
    if private is None or not private.active or private.type != ChatType.PRIVATE:
        return
    lang = language_or(private.language, services.settings.defaults.language)
    title = chat.title or (f"@{chat.username}" if chat.username else str(chat.id))
    if bound:
        text, markup = t(lang, "channel.back", title=title), None
    else:
        label = t_plain(lang, "channel.button_bind", title=title)
        text = t(lang, "channel.added", title=title)
        markup = keyboard([[(label, f"{BUTTON_PREFIX}:b:{chat.id}")]])
    await _tell(context, adder, text, markup)


async def _channel_lost(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    channel_id: int,
    title: str,
    status: str,
) -> None:
    """Deactivate, drop the queue, tell each binding admin once (storage marks them told)."""
    chats = services.storage.chats
    users = await chats.channel_lost(channel_id, f"bot {status} in channel")
    log.info("channel lost", extra={"chat": channel_id, "told": len(users)})
    known = await chats.get(channel_id)
    name = title or (known.title if known else "") or str(channel_id)
    for user_id in users:
        private = await chats.get(user_id)
        lang = language_or(
            private.language if private else None, services.settings.defaults.language
        )
        await _tell(context, user_id, t(lang, "channel.lost", title=name), None)


async def _tell(
    context: ContextTypes.DEFAULT_TYPE,
    user_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    try:
        await context.bot.send_message(
            user_id,
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup,
        )
    except TelegramError as exc:  # blocked the bot meanwhile: nothing else to do
        log.info("could not tell admin", extra={"user": user_id, "error": str(exc)})


async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: follow it to the new id with its subscriptions."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:
        return
    services = get_services(context.bot_data)
    await services.storage.chats.migrate(old_id, new_id)
    services.wake_sender()  # pending deliveries now wait under the new id
    log.info("group migrated", extra={"chat": old_id, "new_chat": new_id})
