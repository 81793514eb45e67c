"""/settings and /lang: what is set for a chat, and the language the bot speaks there."""

from __future__ import annotations

from bot.i18n import is_language
from handlers.context import Turn
from handlers.parsing import format_minute
from handlers.subscriptions import source_names
from storage.records import ChatSettings, FilterItem
from ticker.filters import FilterKind


def filter_label(turn: Turn, item: FilterItem) -> tuple[str, str]:
    """(kind name, shown value) of a filter, in the chat's language."""
    kind = item.kind if item.kind in set(FilterKind) else FilterKind.KEYWORD.value
    return turn.plain(f"kind.{kind}"), item.display or item.value


def settings_text(turn: Turn, chat: ChatSettings) -> str:
    none, off = turn.plain("settings.none"), turn.plain("settings.off")
    filters = "; ".join(
        f"{kind}: {value}" for kind, value in (filter_label(turn, f) for f in chat.filters)
    )
    quiet = off
    if chat.quiet_start is not None and chat.quiet_end is not None:
        quiet = f"{format_minute(chat.quiet_start)}–{format_minute(chat.quiet_end)}"
    digest = off if chat.digest_minute is None else format_minute(chat.digest_minute)
    name = (
        chat.title
        if (chat.is_group or chat.type == "channel") and chat.title
        else turn.plain("settings.this_chat")
    )
    lines = [
        turn.text("settings.header", chat=name),
        turn.text("settings.subscriptions", value=source_names(turn, chat.subscriptions) or none),
        turn.text("settings.filters", value=filters or none),
        turn.text("settings.pushes_paused" if chat.paused else "settings.pushes_on"),
        turn.text("settings.quiet", value=quiet),
        turn.text("settings.digest", value=digest),
        turn.text("settings.language", value=turn.plain(f"language.{turn.lang}")),
    ]
    return "\n".join(lines)


async def settings(turn: Turn) -> None:
    await turn.send(settings_text(turn, turn.chat))


async def lang(turn: Turn) -> None:
    choice = turn.args[0].lower() if len(turn.args) == 1 else ""
    if not is_language(choice):
        await turn.reply("lang.usage")
        return
    await turn.storage.chats.update_settings(turn.chat.id, language=choice)
    await turn.reload()
    await turn.reply("lang.set")
