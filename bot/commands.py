"""The one table of chat commands: it drives handler registration, /help and the menu.

A row says what a command is called, which handler runs it, how it is described (catalog
key, so the menu exists in German and English), whether it changes the chat's settings (then
only admins may run it in groups), whether only operators may run it (then it is not in
the public menu) and whether it follows a private chat to the channel it manages (issue 6).
Adding a command is adding a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import LANGUAGES, t, t_plain
from handlers import (
    channels,
    inline,
    latest,
    membership,
    operators,
    pushes,
    search,
    settings,
    start,
    subscriptions,
    today,
)
from handlers import filters as filter_commands
from handlers.context import Handler, as_button, as_command
from handlers.errors import on_error
from handlers.throttle import throttle_update

log = logging.getLogger("tickerbot.commands")

THROTTLE_GROUP = -1
COMMAND_GROUP = 0
UNKNOWN_GROUP = 100  # after every other module's handlers; it checks who claims a command
MENU_DEFAULT_LANGUAGE = "en"  # Telegram shows the default scope to every other language


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    changes: bool = True
    """Changes what the chat gets: in groups only admins may run it."""
    operator: bool = False
    """Only ``telegram.admins`` may run it; not in the public menu."""
    follow_managed: bool = True
    """In a private chat that manages a channel (``/channel``), act on that channel."""

    @property
    def description_key(self) -> str:
        return f"cmd.{self.name}"


@dataclass(frozen=True, slots=True)
class Button:
    """Inline buttons whose callback_data starts with ``prefix:``."""

    prefix: str
    handler: Handler
    changes: bool = True
    follow_managed: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("start", start.start, changes=False),  # checks itself: non-admins only get greeted
    Command("help", start.help_command, changes=False, follow_managed=False),
    Command("latest", latest.latest, changes=False),
    Command("today", today.today, changes=False),
    Command("search", search.search, changes=False, follow_managed=False),
    Command("sources", subscriptions.sources),
    Command("subscribe", subscriptions.subscribe),
    Command("unsubscribe", subscriptions.unsubscribe),
    Command("region", filter_commands.region),
    Command("speaker", filter_commands.speaker),
    Command("keyword", filter_commands.keyword),
    Command("exclude", filter_commands.exclude),
    Command("filters", filter_commands.filters),
    Command("clear", filter_commands.clear),
    Command("pause", pushes.pause),
    Command("resume", pushes.resume),
    Command("quiet", pushes.quiet),
    Command("digest", pushes.digest),
    Command("lang", settings.lang),
    Command("settings", settings.settings),
    Command("channel", channels.channel, changes=False, follow_managed=False),
    Command("stop", start.stop),
    Command("stats", operators.stats, changes=False, operator=True, follow_managed=False),
    Command("poll", operators.poll, changes=False, operator=True, follow_managed=False),
)

BUTTONS: tuple[Button, ...] = (
    Button(subscriptions.BUTTON_PREFIX, subscriptions.source_button),
    Button(filter_commands.BUTTON_PREFIX, filter_commands.filter_button),
    Button(channels.BUTTON_PREFIX, channels.channel_button, changes=False, follow_managed=False),
)


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Throttle first (group -1), then every command and button, then the /help hint."""
    application.add_handler(TypeHandler(Update, throttle_update), group=THROTTLE_GROUP)
    for command in COMMANDS:
        application.add_handler(
            CommandHandler(
                command.name,
                as_command(
                    command.handler,
                    changes=command.changes,
                    operator=command.operator,
                    follow_managed=command.follow_managed,
                ),
                # Edited commands would run twice; channel posts are not commands for us.
                filters=filters.UpdateType.MESSAGE,
            ),
            group=COMMAND_GROUP,
        )
    for button in BUTTONS:
        application.add_handler(
            CallbackQueryHandler(
                as_button(
                    button.handler, changes=button.changes, follow_managed=button.follow_managed
                ),
                pattern=rf"^{button.prefix}:",
            ),
            group=COMMAND_GROUP,
        )
    application.add_handler(InlineQueryHandler(inline.inline_query), group=COMMAND_GROUP)
    # The bot's own membership and group→supergroup service messages (issue 6).
    application.add_handler(
        ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        group=COMMAND_GROUP,
    )
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, membership.migrated), group=COMMAND_GROUP
    )
    application.add_handler(
        MessageHandler(
            filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
            start.unknown_command,
        ),
        group=UNKNOWN_GROUP,
    )
    application.add_error_handler(on_error)


def help_text(lang: str, *, operator: bool = False) -> str:
    """/help: the public commands, and for operators their own ones too."""
    lines = [t(lang, "help.header")]
    lines += [_help_line(lang, c) for c in COMMANDS if not c.operator]
    if operator:
        lines += ["", t(lang, "help.operators")]
        lines += [_help_line(lang, c) for c in COMMANDS if c.operator]
    return "\n".join(lines)


def _help_line(lang: str, command: Command) -> str:
    return t(
        lang, "help.line", name=command.name, description=t_plain(lang, command.description_key)
    )


def menu(lang: str, *, operator: bool = False) -> list[BotCommand]:
    return [
        BotCommand(c.name, t_plain(lang, c.description_key))
        for c in COMMANDS
        if operator or not c.operator
    ]


async def publish_commands(bot: Bot, operators: tuple[int, ...] | list[int] = ()) -> None:
    """setMyCommands: English by default, German for German clients; operators see more.

    An operator's private menu fails if they never opened a chat with the bot; that only
    costs them the menu entries, so it is logged, not raised.
    """
    for lang in LANGUAGES:
        language_code = None if lang == MENU_DEFAULT_LANGUAGE else lang
        await bot.set_my_commands(
            menu(lang), scope=BotCommandScopeDefault(), language_code=language_code
        )
    for user_id in operators:
        for lang in LANGUAGES:
            language_code = None if lang == MENU_DEFAULT_LANGUAGE else lang
            try:
                await bot.set_my_commands(
                    menu(lang, operator=True),
                    scope=BotCommandScopeChat(user_id),
                    language_code=language_code,
                )
            except TelegramError as exc:
                log.warning("operator menu not set", extra={"user": user_id, "error": str(exc)})
