"""/region, /speaker, /keyword, /exclude, /filters, /clear and their buttons.

Stored values are the comparable forms the fan-out matches on (ticker/filters.py): folded
canonical region names, speaker keys, folded keywords. ``display`` keeps what a person
should read. Buttons: ``flt:rm:<id>`` removes, ``flt:r:<name>`` / ``flt:s:<name>`` add a
region or speaker offered by ``/region`` or ``/speaker`` alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.context import Turn, fit_lines, fits_callback, keyboard
from handlers.settings import filter_label
from storage.chats import FilterLimitReached
from ticker.filters import FilterKind, keyword_value
from ticker.text import collapse_whitespace, fold

RECENT = timedelta(days=7)
RECENT_LIMIT = 20
BUTTON_PREFIX = "flt"
_ADD_CODES = {"r": FilterKind.REGION, "s": FilterKind.SPEAKER}
_CODE_OF = {kind: code for code, kind in _ADD_CODES.items()}
_QUOTES = "\"'„“”«»"


async def _store(turn: Turn, kind: FilterKind, value: str, display: str, *, seen: bool) -> None:
    """Add the filter and answer: added (with a note if nothing matched yet), known, or full."""
    limits = turn.settings.limits
    if not value:
        await turn.reply(f"{kind.value}.usage")
        return
    if len(value) > limits.max_filter_length or len(display) > limits.max_filter_length:
        await turn.reply("filter.too_long", max=limits.max_filter_length)
        return
    try:
        added = await turn.storage.chats.add_filter(
            turn.chat.id, kind.value, value, display, max_filters=limits.max_filters_per_chat
        )
    except FilterLimitReached:
        await turn.reply("filter.limit", max=limits.max_filters_per_chat)
        return
    kind_name = turn.plain(f"kind.{kind.value}")
    lines = [turn.text("filter.added" if added else "filter.exists", kind=kind_name, value=display)]
    if added and not seen:
        lines.append(turn.text("filter.unseen"))
    await turn.send("\n".join(lines))


async def add_region(turn: Turn, name: str) -> None:
    """A place the gazetteer knows is stored under its canonical name; others as typed."""
    name = collapse_whitespace(name)
    canonical = turn.services.extractor.resolve_region(name) if name else None
    display = canonical or name
    value = fold(display)
    seen = bool(value) and await turn.storage.entries.tag_seen(FilterKind.REGION.value, value)
    await _store(turn, FilterKind.REGION, value, display, seen=seen)


async def add_speaker(turn: Turn, name: str) -> None:
    """Speakers are keyed by surname, so "Sacharowa" also matches "Maria Sacharowa"."""
    name = collapse_whitespace(name)
    key = turn.services.extractor.speaker_key(name) if name else ""
    display = name
    seen = False
    if key:
        display = await turn.storage.entries.speaker_display(key) or name
        seen = await turn.storage.entries.tag_seen(FilterKind.SPEAKER.value, key)
    await _store(turn, FilterKind.SPEAKER, key, display, seen=seen)


async def _add_word(turn: Turn, kind: FilterKind) -> None:
    text = collapse_whitespace(turn.arg_text.strip(_QUOTES))
    # Words are matched as typed (folded), so "seen" is not tracked: no note for them.
    await _store(turn, kind, keyword_value(text), text, seen=True)


async def _recent(turn: Turn, kind: FilterKind) -> None:
    """``/region`` or ``/speaker`` alone: what appeared lately, as buttons that add it."""
    names = await turn.storage.entries.recent_tags(
        kind.value, datetime.now(UTC) - RECENT, RECENT_LIMIT
    )
    rows = []
    for name in names:
        data = f"{BUTTON_PREFIX}:{_CODE_OF[kind]}:{name}"
        if fits_callback(data):
            rows.append([(name, data)])
    if not rows:
        await turn.reply(f"{kind.value}.none_recent")
        return
    await turn.reply(f"{kind.value}.recent", markup=keyboard(rows))


async def region(turn: Turn) -> None:
    if turn.args:
        await add_region(turn, turn.arg_text)
    else:
        await _recent(turn, FilterKind.REGION)


async def speaker(turn: Turn) -> None:
    if turn.args:
        await add_speaker(turn, turn.arg_text)
    else:
        await _recent(turn, FilterKind.SPEAKER)


async def keyword(turn: Turn) -> None:
    await _add_word(turn, FilterKind.KEYWORD)


async def exclude(turn: Turn) -> None:
    await _add_word(turn, FilterKind.EXCLUDE)


def filters_view(turn: Turn) -> tuple[str, list[list[tuple[str, str]]]]:
    if not turn.chat.filters:
        return turn.text("filters.empty"), []
    lines = [turn.text("filters.header")]
    rows = []
    for item in turn.chat.filters:
        kind, value = filter_label(turn, item)
        lines.append(turn.text("filters.line", kind=kind, value=value))
        rows.append([(turn.plain("filters.button", kind=kind, value=value), f"flt:rm:{item.id}")])
    return fit_lines(lines), rows


async def filters(turn: Turn) -> None:
    text, rows = filters_view(turn)
    await turn.send(text, markup=keyboard(rows))


async def clear(turn: Turn) -> None:
    removed = await turn.storage.chats.clear_filters(turn.chat.id)
    if removed:
        await turn.reply("clear.done", count=removed)
    else:
        await turn.reply("clear.none")


async def filter_button(turn: Turn) -> None:
    """``flt:rm:<id>`` removes and re-renders the list; ``flt:r|s:<name>`` adds."""
    _, action, argument = [*turn.args, "", "", ""][:3]
    if action == "rm":
        removed = None
        if argument.isdigit():
            removed = await turn.storage.chats.remove_filter(turn.chat.id, int(argument))
        if removed is None:
            await turn.toast("filters.gone")
        else:
            kind, value = filter_label(turn, removed)
            await turn.toast("filters.removed", kind=kind, value=value)
        await turn.reload()
        text, rows = filters_view(turn)
        await turn.edit(text, markup=keyboard(rows))
    elif action == "r":
        await add_region(turn, argument)
    elif action == "s":
        await add_speaker(turn, argument)
