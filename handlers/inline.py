"""Inline mode: `@bot QUERY` in any chat answers with matching entries as articles.

Each article posts the entry rendered exactly like a push. Twenty per page with
``next_offset`` paging; a short cache time because the ticker moves by the minute. An empty
query shows the latest entries.
"""

from __future__ import annotations

import logging

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.entry_view import to_rendered
from bot.render import render_entries
from bot.services import Services, get_services
from storage.records import StoredEntry
from ticker.search_query import QueryUsage, parse_query

log = logging.getLogger("tickerbot.inline")

PAGE_SIZE = 20
CACHE_SECONDS = 10
DESCRIPTION_LENGTH = 120


def article(services: Services, entry: StoredEntry) -> InlineQueryResultArticle:
    zone = services.settings.default_zone
    text = render_entries([to_rendered(entry, services.settings)], zone)
    local = entry.published_at.astimezone(zone)
    body = " ".join(entry.body.split())
    if len(body) > DESCRIPTION_LENGTH:
        body = body[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0] + "…"
    return InlineQueryResultArticle(
        id=str(entry.id),
        title=entry.headline[:200] or f"{local:%H:%M}",
        description=f"{local:%d.%m. %H:%M} · {body}",
        input_message_content=InputTextMessageContent(
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    if query is None:
        return
    services = get_services(context.bot_data)
    offset = int(query.offset) if query.offset.isdigit() else 0
    text = query.query.strip()
    if not text:
        entries = await services.storage.search.latest_for_inline(PAGE_SIZE, offset)
    else:
        parsed = parse_query(text)
        entries = (
            []
            if isinstance(parsed, QueryUsage)
            else await services.storage.search.search(
                parsed, source_ids=None, limit=PAGE_SIZE, offset=offset
            )
        )
    next_offset = str(offset + PAGE_SIZE) if len(entries) == PAGE_SIZE else ""
    try:
        await query.answer(
            [article(services, entry) for entry in entries],
            cache_time=CACHE_SECONDS,
            is_personal=False,
            next_offset=next_offset,
        )
    except BadRequest as exc:
        # The user typed on and Telegram dropped this query: nothing to answer any more.
        if "query is too old" not in exc.message.lower():
            raise
        log.info("inline query expired", extra={"query_id": query.id})
