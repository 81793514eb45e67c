"""The last resort: an unexpected exception in a handler still gets the user an answer."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import language_or, t, t_plain
from bot.services import SERVICES_KEY, Services

log = logging.getLogger("tickerbot.handlers")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure and say so in the chat (SPEC §4: never silence)."""
    log.error("handler failed", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    services = context.bot_data.get(SERVICES_KEY)
    default = services.settings.defaults.language if isinstance(services, Services) else "en"
    lang = language_or(None, default)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t_plain(lang, "error.generic"))
        elif update.effective_message is not None and update.effective_chat.type != "channel":
            await update.effective_message.reply_text(
                t(lang, "error.generic"), parse_mode=ParseMode.HTML, do_quote=False
            )
    except TelegramError:
        log.warning("could not report the failure to the chat", exc_info=True)
