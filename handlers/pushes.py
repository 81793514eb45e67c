"""/pause, /resume, /quiet, /digest: when and how pushes reach a chat.

Only settings are stored here; the sender reads ``paused`` and the quiet window, the digest
job reads ``digest_minute``. Times are minutes after local midnight in the chat's zone.
"""

from __future__ import annotations

from handlers.context import Turn
from handlers.parsing import format_minute, is_off, parse_minute, parse_window


async def pause(turn: Turn) -> None:
    """Storage drops what is queued when pausing: nothing piles up for /resume."""
    if turn.chat.paused:
        await turn.reply("pause.already")
        return
    await turn.storage.chats.update_settings(turn.chat.id, paused=True)
    await turn.reply("pause.done")


async def resume(turn: Turn) -> None:
    if not turn.chat.paused:
        await turn.reply("resume.already")
        return
    await turn.storage.chats.update_settings(turn.chat.id, paused=False)
    await turn.reply("resume.done")


async def quiet(turn: Turn) -> None:
    if is_off(turn.args):
        await turn.storage.chats.update_settings(turn.chat.id, quiet_start=None, quiet_end=None)
        await turn.reply("quiet.off")
        return
    window = parse_window(turn.arg_text) if turn.args else None
    if window is None:
        await turn.reply("quiet.usage")
        return
    start, end = window
    await turn.storage.chats.update_settings(turn.chat.id, quiet_start=start, quiet_end=end)
    await turn.reply("quiet.set", start=format_minute(start), end=format_minute(end))


async def digest(turn: Turn) -> None:
    if is_off(turn.args):
        await turn.storage.chats.update_settings(turn.chat.id, digest_minute=None)
        await turn.reply("digest.off")
        return
    minute = parse_minute(turn.args[0]) if len(turn.args) == 1 else None
    if minute is None:
        await turn.reply("digest.usage")
        return
    await turn.storage.chats.update_settings(turn.chat.id, digest_minute=minute)
    await turn.reply("digest.set", time=format_minute(minute))
