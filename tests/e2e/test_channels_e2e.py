"""End to end (issue 6): a channel bound by its admin gets the ticker; a channel the bot was
removed from gets nothing more; a group upgraded to a supergroup keeps its subscriptions.

The whole bot (``running_bot``: scheduler → poller → outbox → sender → PTB → double) against a
local ticker page; waits are the double's bounded ``wait_for`` helpers only.
"""

from __future__ import annotations

from bot.sandbox.telegram_double import TelegramDouble
from tests.e2e.harness import SOURCE_ID, SOURCE_NAME, running_bot

ADMIN = 111
READER = 222
CHANNEL = -1007001
CHANNEL_NAME = "ticker_kanal"
GROUP = -4101
SUPERGROUP = -1004101


def sends_to(double: TelegramDouble, chat_id: int) -> int:
    """sendMessage calls addressed to ``chat_id`` (answered or refused)."""
    return sum(
        1 for r in double.calls("sendMessage") if str(r.params.get("chat_id")) == str(chat_id)
    )


async def test_bound_channel_is_posted_to_like_a_chat(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(ADMIN, "Anna")
        run.double.add_channel(CHANNEL, CHANNEL_NAME, "Ticker-Kanal", admins={ADMIN: "creator"})
        await run.first_poll_done()
        reply = await run.command(ADMIN, f"/channel @{CHANNEL_NAME}")
        assert "Ticker-Kanal" in reply.text and SOURCE_NAME in reply.text
        managed = await run.command(ADMIN, "/settings")
        assert managed.text.startswith("⚙️ Kanal „Ticker-Kanal“")
        entry = run.site.add(
            "Gladkow: Drohnenangriff auf Belgorod",
            "Der Gouverneur des Gebiets Belgorod, Wjatscheslaw Gladkow, meldete Schäden.",
        )
        post = await run.double.wait_for(
            lambda m: m.chat_id == CHANNEL and "Drohnenangriff" in m.text, timeout=10
        )
        local = entry.published_at.strftime("%H:%M")
        assert post.text.startswith(f"<b>{local}</b> · <b>Gladkow: Drohnenangriff auf Belgorod</b>")
        assert "📍 Belgorod" in post.text and post.parse_mode == "HTML"
        assert post.reply_markup is None, "no keyboards in channel posts"
        # the admin's private chat gets the commands' answers, not the ticker
        assert run.pushes(ADMIN, "Drohnenangriff") == []
        # corrections are edited in place in the channel too
        run.site.correct(entry, "Der Gouverneur meldete Schäden, korrigiert.")
        edited = await run.double.wait_for(
            lambda m: m.message_id == post.message_id and "korrigiert" in m.text, timeout=10
        )
        assert edited.chat_id == CHANNEL
        assert run.double.unknown_methods == []


async def test_channel_bot_was_removed_from_stays_silent(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(ADMIN, "Anna")
        run.double.add_private_chat(READER, "Ben")
        run.double.add_channel(CHANNEL, CHANNEL_NAME, "Ticker-Kanal", admins={ADMIN: "creator"})
        await run.first_poll_done()
        await run.command(ADMIN, f"/channel @{CHANNEL_NAME}")
        await run.command(READER, "/start")
        run.site.add("Vor dem Rauswurf", "Text.")
        await run.double.wait_for(lambda m: m.chat_id == CHANNEL and "Vor dem" in m.text)
        run.double.kick_bot(CHANNEL, by_user_id=ADMIN)
        told = await run.double.wait_for(
            lambda m: m.chat_id == ADMIN and "Ticker-Kanal" in m.text and "entfernt" in m.text,
            timeout=10,
        )
        assert "⚠️" in told.text
        attempts = sends_to(run.double, CHANNEL)
        for headline in ("Nach dem Rauswurf", "Noch eine Meldung"):
            run.site.add(headline, "Text.")
            await run.double.wait_for(
                lambda m, h=headline: m.chat_id == READER and h in m.text, timeout=10
            )
        assert sends_to(run.double, CHANNEL) == attempts, "nothing more is sent to the channel"
        assert len([m for m in run.double.messages_to(ADMIN) if "entfernt" in m.text]) == 1
        assert run.bot.storage is not None
        channel = await run.bot.storage.chats.get(CHANNEL)
        assert channel is not None and not channel.active


async def test_group_upgraded_to_supergroup_follows_the_service_message(
    database_url: str,
) -> None:
    async with running_bot(database_url) as run:
        run.double.add_group(GROUP, "Nachrichtengruppe", admins=[ADMIN])
        await run.first_poll_done()
        await run.command(GROUP, "/start", user_id=ADMIN)
        run.double.migrate(GROUP, SUPERGROUP, notify=True)
        # Updates are handled in order: once this answer is there, both service messages were
        # handled — and no push was attempted yet, so the sender's ChatMigrated path did not
        # do the move.
        answer = await run.command(SUPERGROUP, "/settings", user_id=ADMIN)
        assert SOURCE_NAME in answer.text
        assert run.bot.storage is not None
        moved = await run.bot.storage.chats.get(SUPERGROUP)
        assert moved is not None and moved.subscriptions == (SOURCE_ID,)
        old = await run.bot.storage.chats.get(GROUP)
        assert old is not None and not old.active
        run.site.add("Nach der Umstellung", "Text.")
        push = await run.double.wait_for(lambda m: "Nach der Umstellung" in m.text, timeout=10)
        assert push.chat_id == SUPERGROUP
