"""/today [NAME]: today's summary of the chat's sources, optionally for one region or speaker.

The summary is built by bot/summaries.py (shared with the daily digest and `tickerbot today`)
and rendered by ticker/summary.py; this handler only picks sources and answers.
"""

from __future__ import annotations

from bot.render import TELEGRAM_TEXT_LIMIT, render_entries
from bot.summaries import resolve_focus, todays_summaries
from handlers.context import Turn
from handlers.latest import rendered
from ticker.summary import render_summary_html

MAX_NAME_LENGTH = 100
LATEST_WHEN_EMPTY = 3


def reading_sources(turn: Turn) -> list[str]:
    """The chat's subscriptions, or every source for a chat that subscribed to none
    (reading commands are open to anyone, also in groups that never ran /start)."""
    return list(turn.chat.subscriptions) or [source.id for source in turn.settings.sources]


async def today(turn: Turn) -> None:
    name = turn.arg_text
    if len(name) > MAX_NAME_LENGTH:
        await turn.reply("today.usage")
        return
    storage = turn.storage
    focus = await resolve_focus(storage, turn.services.extractor, name) if name else None
    source_ids = reading_sources(turn)
    summaries = await todays_summaries(storage, turn.settings, source_ids, focus=focus)
    pages = [page for s in summaries if s.count for page in render_summary_html(s, turn.lang)]
    if pages:
        for page in pages:
            await turn.send(page)
        return
    latest = await storage.entries.latest(source_ids, LATEST_WHEN_EMPTY)
    if not latest:
        await turn.reply(
            "today.empty_nothing" if focus is None else "today.empty_focus",
            name=focus.label if focus else "",
        )
        return
    intro = (
        turn.text("today.empty_latest")
        if focus is None
        else turn.text("today.empty_focus_latest", name=focus.label)
    )
    body = render_entries(
        [rendered(turn, entry) for entry in reversed(latest)],
        turn.settings.default_zone,
        limit=TELEGRAM_TEXT_LIMIT - len(intro) - 2,
    )
    await turn.send(f"{intro}\n\n{body}")
