"""/channel: bind a channel from a private chat, list and switch, stop managing, unbind.

Issue 6 / SPEC §4. A channel has no chat to type commands in, so its admins manage it from
their private chat: ``/channel @NAME`` (or ``-100…``) binds it when both hold — the bot is an
administrator there that may post, and the user is its creator or an administrator — and
points the private chat's ``managing_chat_id`` at it. From then on ``handlers/context.py``
runs the ordinary commands on the channel. Both conditions are asked from Telegram at binding
time (never cached) and each failing one is named with how to fix it.

Buttons: ``chn:m:<id>`` manage a bound channel, ``chn:b:<id>`` bind one the user added the
bot to, ``chn:off`` manage the private chat again.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden

from handlers.context import Turn, channel_admin_cache, fit_lines, fits_callback, keyboard
from handlers.permissions import channel_rights
from handlers.start import default_source_ids
from handlers.subscriptions import source_names
from storage.records import ChannelLink, ChatSettings

BUTTON_PREFIX = "chn"
_NAME = r"([A-Za-z][A-Za-z0-9_]{3,31})"
_USERNAME = re.compile(rf"@{_NAME}")
_LINK = re.compile(rf"(?:https?://)?(?:t|telegram)\.me/{_NAME}/?")
_CHAT_ID = re.compile(r"-\d{1,20}")
_OFF = ("off", "aus")
_REMOVE = ("remove", "entfernen")


def parse_reference(text: str) -> int | str | None:
    """``@name``, a t.me link or a negative chat id; None for anything else (usage hint)."""
    text = text.strip()
    match = _USERNAME.fullmatch(text) or _LINK.fullmatch(text)
    if match is not None:
        return f"@{match[1]}"
    if _CHAT_ID.fullmatch(text):
        return int(text)
    return None


def display_name(chat: ChatSettings) -> str:
    return chat.title or (f"@{chat.username}" if chat.username else str(chat.id))


async def channel(turn: Turn) -> None:
    """``/channel`` with its forms; only in private chats (a group manages itself)."""
    if turn.chat.type != ChatType.PRIVATE or turn.user_id is None:
        await turn.reply("channel.private_only")
        return
    args = turn.args
    first = args[0].lower() if args else ""
    if not args:
        await _list(turn)
    elif len(args) == 1 and first in _OFF:
        await _off(turn)
    elif len(args) == 2 and first in _REMOVE and (ref := parse_reference(args[1])) is not None:
        await _remove(turn, ref)
    elif len(args) == 1 and (ref := parse_reference(args[0])) is not None:
        await bind(turn, ref)
    else:
        await turn.reply("channel.usage")


async def bind(turn: Turn, ref: int | str) -> None:
    """Check both conditions with Telegram, then bind in one storage transaction."""
    user_id = turn.user_id
    assert user_id is not None
    bot = turn.context.bot
    try:
        found = await bot.get_chat(ref)
    except Forbidden:
        await turn.reply("channel.no_access", ref=str(ref))
        return
    except BadRequest:
        await turn.reply("channel.not_found", ref=str(ref))
        return
    title = found.title or (f"@{found.username}" if found.username else str(found.id))
    if found.type != ChatType.CHANNEL:
        await turn.reply("channel.not_channel", title=title)
        return
    rights = await channel_rights(bot, found.id, user_id)
    if not rights.ok:
        lines = [turn.text("channel.refused", title=title)]
        if not rights.bot_is_admin:
            lines.append(turn.text("channel.bot_not_admin", bot=bot.username))
        elif not rights.bot_can_post:
            lines.append(turn.text("channel.bot_cannot_post"))
        if rights.user_is_admin is False:
            lines.append(turn.text("channel.user_not_admin"))
        elif rights.user_is_admin is None and rights.bot_is_admin:
            lines.append(turn.text("channel.user_unknown"))
        await turn.send("\n".join(lines))
        return
    chat, _ = await turn.storage.chats.bind_channel(
        found.id,
        user_id=user_id,
        title=found.title or "",
        username=found.username,
        source_ids=default_source_ids(turn),
    )
    channel_admin_cache(turn.context).remember(found.id, user_id, True)
    subscribed = source_names(turn, chat.subscriptions) or turn.plain("settings.none")
    await turn.reply("channel.bound", title=display_name(chat), sources=subscribed)


def _list_view(
    turn: Turn, links: list[ChannelLink], managing: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [turn.text("channel.list_header")]
    rows: list[list[tuple[str, str]]] = []
    for link in links:
        chat = link.channel
        name = display_name(chat)
        if link.bound and not chat.active:
            lines.append(turn.text("channel.line_inactive", name=name))
        elif link.bound and chat.id == managing:
            lines.append(turn.text("channel.line_managed", name=name))
        elif link.bound:
            lines.append(turn.text("channel.line_bound", name=name))
            rows.append(_button(turn.plain("channel.button_manage", title=name), "m", chat.id))
        else:
            lines.append(turn.text("channel.line_added", name=name))
            rows.append(_button(turn.plain("channel.button_bind", title=name), "b", chat.id))
    if managing is not None:
        rows.append([(turn.plain("channel.button_off"), f"{BUTTON_PREFIX}:off")])
    lines += ["", turn.text("channel.list_hint")]
    return fit_lines(lines), keyboard(rows)


def _button(label: str, action: str, chat_id: int) -> list[tuple[str, str]]:
    data = f"{BUTTON_PREFIX}:{action}:{chat_id}"
    return [(label, data)] if fits_callback(data) else []


async def _links(turn: Turn) -> list[ChannelLink]:
    assert turn.user_id is not None
    return await turn.storage.chats.channel_links(turn.user_id)


async def _list(turn: Turn) -> None:
    links = await _links(turn)
    if not links:
        await turn.reply("channel.none")
        return
    text, markup = _list_view(turn, links, turn.chat.managing_chat_id)
    await turn.send(text, markup=markup)


async def _off(turn: Turn) -> None:
    if turn.chat.managing_chat_id is None:
        await turn.reply("channel.off_already")
        return
    await turn.storage.chats.update_settings(turn.chat.id, managing_chat_id=None)
    await turn.reply("channel.off")


async def _remove(turn: Turn, ref: int | str) -> None:
    """Unbind: allowed to a current admin of the channel, or — when Telegram can no longer
    tell (the bot was removed) — to an admin who bound it."""
    user_id = turn.user_id
    assert user_id is not None
    chats = turn.storage.chats
    known = await chats.find_channel(ref)
    if known is None and isinstance(ref, str):
        try:  # renamed since it was bound: its id is still ours
            found = await turn.context.bot.get_chat(ref)
        except (BadRequest, Forbidden):
            found = None
        if found is not None:
            known = await chats.find_channel(found.id)
    if known is None or not await chats.channel_bound(known.id):
        await turn.reply("channel.not_bound", ref=str(ref))
        return
    link = await chats.channel_link(known.id, user_id)
    rights = await channel_rights(turn.context.bot, known.id, user_id)
    bound_by_user = link is not None and link.bound
    if rights.user_is_admin is False or (rights.user_is_admin is None and not bound_by_user):
        await turn.reply("channel.remove_not_admin", title=display_name(known))
        return
    was_managing = turn.chat.managing_chat_id == known.id
    removed = await chats.unbind_channel(known.id)
    ended = source_names(turn, removed) or turn.plain("settings.none")
    lines = [turn.text("channel.removed", title=display_name(known), sources=ended)]
    if was_managing:
        lines.append(turn.text("channel.back_here"))
    await turn.send("\n".join(lines))


async def channel_button(turn: Turn) -> None:
    """``chn:m:<id>`` manage, ``chn:b:<id>`` bind, ``chn:off`` back to this chat."""
    _, action, argument = [*turn.args, "", "", ""][:3]
    user_id = turn.user_id
    if turn.chat.type != ChatType.PRIVATE or user_id is None:
        await turn.toast("channel.gone_toast")
        return
    chats = turn.storage.chats
    if action == "b" and _CHAT_ID.fullmatch(argument):
        await turn.toast()
        await bind(turn, int(argument))
        return
    if action == "off":
        if turn.chat.managing_chat_id is not None:
            await chats.update_settings(turn.chat.id, managing_chat_id=None)
        await turn.toast("channel.off_toast")
    elif action == "m" and _CHAT_ID.fullmatch(argument):
        link = await chats.channel_link(int(argument), user_id)
        if link is None or not link.bound or not link.channel.active:
            await turn.toast("channel.gone_toast")
        elif not await channel_admin_cache(turn.context).is_admin(
            turn.context.bot, link.channel.id, user_id
        ):
            await turn.toast("managed.not_admin", title=display_name(link.channel))
        else:
            await chats.update_settings(turn.chat.id, managing_chat_id=link.channel.id)
            await turn.toast("channel.managing_toast", title=display_name(link.channel))
    else:
        await turn.toast("channel.gone_toast")
    chat = await turn.reload()
    links = await _links(turn)
    if links:
        text, markup = _list_view(turn, links, chat.managing_chat_id)
        await turn.edit(text, markup=markup)
