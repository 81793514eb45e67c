"""/stats and /poll: what operators (``telegram.admins``) need to see the bot is healthy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.context import Turn, fit_lines
from storage.records import SourceState

_TIME_FORMAT = "%Y-%m-%d %H:%M"


def _when(turn: Turn, moment: datetime | None) -> str:
    if moment is None:
        return turn.plain("stats.never")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(turn.settings.default_zone).strftime(_TIME_FORMAT)


def _source_lines(turn: Turn, source: SourceState) -> list[str]:
    lines = [
        turn.text(
            "stats.source",
            id=source.id,
            polled=_when(turn, source.last_polled_at),
            status=source.last_status or "–",
            failures=source.consecutive_failures,
        )
    ]
    if source.last_error:
        lines.append(turn.text("stats.source_error", error=source.last_error[:300]))
    return lines


async def stats(turn: Turn) -> None:
    storage = turn.storage
    active, inactive, subscriptions = await storage.chats.counts()
    deliveries, edits = await storage.outbox.pending_count()
    sent = await storage.outbox.sent_since(datetime.now(UTC) - timedelta(hours=1))
    lines = [
        turn.text("stats.header"),
        turn.text("stats.chats", active=active, inactive=inactive),
        turn.text("stats.subscriptions", count=subscriptions),
        turn.text("stats.entries", count=await storage.entries.count()),
        turn.text(
            "stats.queue",
            deliveries=deliveries,
            edits=edits,
            fanouts=await storage.outbox.fanouts_pending(),
        ),
        turn.text("stats.sent", count=sent),
    ]
    sources = await storage.sources.all()
    if sources:
        lines.append("")
        lines.append(turn.text("stats.sources"))
        for source in sources:
            lines.extend(_source_lines(turn, source))
    await turn.send(fit_lines(lines))


async def poll(turn: Turn) -> None:
    summaries = await turn.services.poll_all()
    if not summaries:
        await turn.reply("poll.none")
        return
    lines = [turn.text("poll.header")]
    for summary in summaries:
        lines.append(
            turn.text(
                "poll.line",
                id=summary.source_id,
                status=summary.status,
                new=summary.new,
                updated=summary.updated,
                pushed=summary.pushed,
            )
        )
        if summary.error:
            lines.append(turn.text("poll.error", error=summary.error[:300]))
    await turn.send(fit_lines(lines))
