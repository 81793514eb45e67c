"""/start, /help, /stop and the hint for unknown commands: getting in and out."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes

from bot.i18n import language_or, t
from bot.services import get_services
from handlers.context import Turn
from handlers.permissions import is_operator
from handlers.subscriptions import source_names


def default_source_ids(turn: Turn) -> list[str]:
    return [source.id for source in turn.settings.sources if source.default]


async def start(turn: Turn) -> None:
    """Greet, subscribe to the default sources (idempotent), show the help.

    In a group a non-admin gets the greeting and the help, but nothing changes.
    """
    lines = [turn.text("start.greeting")]
    if await turn.may_change():
        await turn.storage.chats.subscribe(turn.chat.id, default_source_ids(turn))
        chat = await turn.reload()
    else:
        chat = turn.chat
        lines.append(turn.text("start.group_readonly"))
    if chat.subscriptions:
        lines.append(turn.text("start.subscribed", sources=source_names(turn, chat.subscriptions)))
    else:
        lines.append(turn.text("start.no_sources"))
    lines.append("")
    lines.append(help_text(turn))
    await turn.send("\n".join(lines))


def help_text(turn: Turn) -> str:
    # Imported here: bot.commands imports the handler modules to build its table.
    from bot.commands import help_text as render_help

    return render_help(turn.lang, operator=is_operator(turn.settings, turn.user_id))


async def help_command(turn: Turn) -> None:
    await turn.send(help_text(turn))


async def stop(turn: Turn) -> None:
    """Unsubscribe from everything; filters and settings stay for a later /start."""
    removed = await turn.storage.chats.unsubscribe(turn.chat.id)
    await turn.reply("stop.done" if removed else "stop.nothing")


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A private chat's /command that no handler knows: point to /help.

    Runs in a late handler group, so it checks itself whether any CommandHandler of the
    application (ours or other modules') claims the command.
    """
    message = update.effective_message
    if message is None or not message.text:
        return
    name = message.text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()
    for handlers in context.application.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler) and name in handler.commands:
                return
    services = get_services(context.bot_data)
    chat = update.effective_chat
    stored = None if chat is None else await services.storage.chats.get(chat.id)
    lang = language_or(stored.language if stored else None, services.settings.defaults.language)
    await message.reply_text(t(lang, "unknown.command"), parse_mode=ParseMode.HTML, do_quote=False)
