"""/sources, /subscribe, /unsubscribe and their buttons: which tickers a chat follows.

Valid source ids are those in the config (the config is the truth about sources). Buttons
carry ``src:<action>:<id>`` (t toggle, s subscribe, u unsubscribe); every press re-renders
the /sources view, so the marks always show what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from telegram import InlineKeyboardMarkup

from bot.config import SourceSettings
from handlers.context import Turn, fits_callback, keyboard

SUBSCRIBED = "✅"
NOT_SUBSCRIBED = "▫️"
BUTTON_PREFIX = "src"


def source_name(turn: Turn, source_id: str) -> str:
    source = turn.settings.source(source_id)
    return source.display_name if source is not None else source_id


def source_names(turn: Turn, source_ids: Iterable[str]) -> str:
    return ", ".join(source_name(turn, source_id) for source_id in source_ids)


def _button(action: str, source: SourceSettings, label: str) -> list[tuple[str, str]]:
    data = f"{BUTTON_PREFIX}:{action}:{source.id}"
    return [(label, data)] if fits_callback(data) else []


def sources_view(turn: Turn) -> tuple[str, InlineKeyboardMarkup | None]:
    subscribed = set(turn.chat.subscriptions)
    sources = turn.settings.sources
    if not sources:
        return turn.text("sources.none"), None
    lines = [turn.text("sources.header")]
    rows = []
    for source in sources:
        mark = SUBSCRIBED if source.id in subscribed else NOT_SUBSCRIBED
        lines.append(turn.text("sources.line", mark=mark, name=source.display_name, id=source.id))
        rows.append(_button("t", source, f"{mark} {source.display_name}"))
    return "\n".join(lines), keyboard(rows)


async def sources(turn: Turn) -> None:
    text, markup = sources_view(turn)
    await turn.send(text, markup=markup)


def _valid_ids(turn: Turn) -> str:
    return ", ".join(source.id for source in turn.settings.sources) or "–"


def _requested(turn: Turn) -> list[str] | None:
    """The ids named in the command, or None when one of them is not a configured source."""
    wanted = [arg.strip().lower() for arg in turn.args]
    if any(turn.settings.source(source_id) is None for source_id in wanted):
        return None
    return list(dict.fromkeys(wanted))


async def subscribe(turn: Turn) -> None:
    if not turn.args:
        choices = [s for s in turn.settings.sources if s.id not in turn.chat.subscriptions]
        if not choices:
            await turn.reply("subscribe.all")
            return
        rows = [_button("s", s, f"{NOT_SUBSCRIBED} {s.display_name}") for s in choices]
        await turn.reply("subscribe.choose", markup=keyboard(rows))
        return
    wanted = _requested(turn)
    if wanted is None:
        await turn.reply("subscribe.usage", ids=_valid_ids(turn))
        return
    added = await turn.storage.chats.subscribe(turn.chat.id, wanted)
    already = [source_id for source_id in wanted if source_id not in added]
    lines = []
    if added:
        lines.append(turn.text("subscribe.done", sources=source_names(turn, added)))
    if already:
        lines.append(turn.text("subscribe.already", sources=source_names(turn, already)))
    await turn.send("\n".join(lines))


async def unsubscribe(turn: Turn) -> None:
    if not turn.args:
        choices = [s for s in turn.settings.sources if s.id in turn.chat.subscriptions]
        if not choices:
            await turn.reply("unsubscribe.nothing")
            return
        rows = [_button("u", s, f"{SUBSCRIBED} {s.display_name}") for s in choices]
        await turn.reply("unsubscribe.choose", markup=keyboard(rows))
        return
    wanted = _requested(turn)
    if wanted is None:
        await turn.reply("unsubscribe.usage", ids=_valid_ids(turn))
        return
    removed = await turn.storage.chats.unsubscribe(turn.chat.id, wanted)
    missing = [source_id for source_id in wanted if source_id not in removed]
    lines = []
    if removed:
        lines.append(turn.text("unsubscribe.done", sources=source_names(turn, removed)))
    if missing:
        lines.append(turn.text("unsubscribe.not_subscribed", sources=source_names(turn, missing)))
    await turn.send("\n".join(lines))


async def source_button(turn: Turn) -> None:
    """``src:t|s|u:<id>``: apply, then show /sources as it now stands."""
    _, action, source_id = [*turn.args, "", "", ""][:3]
    source = turn.settings.source(source_id)
    if source is None or action not in ("t", "s", "u"):
        await turn.toast("toast.source_gone")
        return
    subscribed = source_id in turn.chat.subscriptions
    if action == "s" or (action == "t" and not subscribed):
        await turn.storage.chats.subscribe(turn.chat.id, [source_id])
        await turn.toast("toast.subscribed", name=source.display_name)
    else:
        await turn.storage.chats.unsubscribe(turn.chat.id, [source_id])
        await turn.toast("toast.unsubscribed", name=source.display_name)
    await turn.reload()
    text, markup = sources_view(turn)
    await turn.edit(text, markup=markup)
