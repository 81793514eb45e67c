"""/latest [N]: the newest entries of the chat's sources that pass its filters.

Entries are rendered by bot/render.py, the same code as pushes, so /latest looks exactly like
what the chat receives; shown oldest first like a chat history, newest at the bottom.
"""

from __future__ import annotations

from bot.entry_view import to_rendered
from bot.render import TELEGRAM_TEXT_LIMIT, RenderedEntry, render_entries
from handlers.context import Turn
from handlers.parsing import parse_count
from storage.records import StoredEntry

DEFAULT_COUNT = 5
MAX_COUNT = 20


def rendered(turn: Turn, entry: StoredEntry) -> RenderedEntry:
    return to_rendered(entry, turn.settings)


async def latest(turn: Turn) -> None:
    count = parse_count(turn.args, default=DEFAULT_COUNT, maximum=MAX_COUNT)
    if count is None:
        await turn.reply("latest.usage", max=MAX_COUNT, default=DEFAULT_COUNT)
        return
    if not turn.chat.subscriptions:
        await turn.reply("latest.no_subscriptions")
        return
    entries = await turn.storage.entries.latest(
        turn.chat.subscriptions, count, turn.chat.chat_filters
    )
    if not entries:
        await turn.reply("latest.empty")
        return
    header = turn.text("latest.header", count=len(entries))
    body = render_entries(
        [rendered(turn, entry) for entry in reversed(entries)],
        turn.settings.default_zone,
        limit=TELEGRAM_TEXT_LIMIT - len(header) - 2,
    )
    await turn.send(f"{header}\n\n{body}")
