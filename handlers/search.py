"""/search QUERY: the newest matching entries, matches highlighted.

Query syntax (all words, "a phrase", -word) is parsed by ticker/search_query.py; the database
does the matching (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) through storage/search.py.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.context import Turn, fit_lines
from storage.records import StoredEntry
from ticker.search_query import ParsedQuery, QueryUsage, highlight, parse_query

MAX_RESULTS = 10


def highlighted(text: str, query: ParsedQuery) -> str:
    """Telegram HTML of ``text`` with the query's matches in bold (everything escaped)."""
    return "".join(
        f"<b>{html.escape(part)}</b>" if hit else html.escape(part)
        for part, hit in highlight(text, query)
    )


def result_line(entry: StoredEntry, query: ParsedQuery, zone: ZoneInfo, today: datetime) -> str:
    local = entry.published_at.astimezone(zone)
    when = f"{local:%H:%M}" if local.date() == today.date() else f"{local:%d.%m.} {local:%H:%M}"
    line = f"<b>{when}</b> · {highlighted(entry.headline, query)}"
    if entry.url and entry.url.startswith(("http://", "https://")):
        line += f' · <a href="{html.escape(entry.url, quote=True)}">↗</a>'
    return line


async def search(turn: Turn) -> None:
    parsed = parse_query(turn.arg_text)
    if isinstance(parsed, QueryUsage):
        await turn.reply("search.usage")
        return
    results = await turn.storage.search.search(parsed, source_ids=None, limit=MAX_RESULTS)
    if not results:
        await turn.reply("search.nothing", query=parsed.describe())
        return
    zone = turn.settings.default_zone
    now = datetime.now(zone)
    header = turn.text("search.header", count=len(results), query=parsed.describe())
    lines = [header, ""] + [result_line(entry, parsed, zone, now) for entry in results]
    if parsed.truncated:
        lines.append(turn.text("search.truncated"))
    await turn.send(fit_lines(lines))
