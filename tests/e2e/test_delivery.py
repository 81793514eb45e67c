"""End to end: entries appear on a local ticker page and reach chats through the double."""

from __future__ import annotations

import asyncio
import io
import logging

from bot.logging_setup import configure_logging
from bot.sandbox.telegram_double import TelegramDouble
from tests.e2e.harness import BOT_USERNAME, TOKEN, running_bot

USER = 111
OTHER = 222
GROUP = -4001
SUPERGROUP = -1004001
ADMIN = 333


async def test_new_entry_is_pushed_within_seconds_and_backlog_is_not(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.site.add("Alter Eintrag", "Stand vor dem Abonnement.")
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        welcome = await run.command(USER, "/start")
        assert "Liveticker Test" in welcome.text
        entry = run.site.add(
            "Gladkow: Drohnenangriff auf Belgorod",
            "Der Gouverneur des Gebiets Belgorod, Wjatscheslaw Gladkow, meldete Schäden.",
        )
        started = asyncio.get_running_loop().time()
        push = await run.double.wait_for(
            lambda m: m.chat_id == USER and "Drohnenangriff" in m.text, timeout=10
        )
        elapsed = asyncio.get_running_loop().time() - started
        assert elapsed < 5, f"push took {elapsed:.1f} s with a 1 s poll interval"
        local = entry.published_at.strftime("%H:%M")
        assert push.text.startswith(f"<b>{local}</b> · <b>Gladkow: Drohnenangriff auf Belgorod</b>")
        assert "📍 Belgorod" in push.text and "🗣 Wjatscheslaw Gladkow" in push.text
        assert push.link_preview_disabled and not push.disable_notification
        # neither the entries that were on the page before nor the ones before /start arrive
        assert run.pushes(USER, "Alter Eintrag") == []
        assert run.pushes(USER, "Eröffnung") == []
        assert run.double.unknown_methods == []


async def test_correction_is_edited_in_place(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        entry = run.site.add("Lage in Charkiw", "Erste Meldung mit Tippfehlr.")
        push = await run.double.wait_for(lambda m: "Tippfehlr" in m.text, timeout=10)
        run.site.correct(entry, "Erste Meldung, korrigiert.")
        edited = await run.double.wait_for(
            lambda m: m.message_id == push.message_id and "korrigiert" in m.text, timeout=10
        )
        assert edited.chat_id == USER and len(edited.edits) == 1
        assert len(run.pushes(USER, "Lage in Charkiw")) == 1


async def test_entries_ready_together_are_batched_oldest_first(database_url: str) -> None:
    async with running_bot(database_url, delivery={"batch_max_entries": 2}) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        assert run.bot.scheduler is not None
        await run.bot.scheduler.stop()  # add three entries before the next poll sees any
        for n in (1, 2, 3):
            run.site.add(f"Meldung Nummer {n}", f"Text {n}.")
        await run.bot.poll_all()
        first = await run.double.wait_for(lambda m: "Meldung Nummer" in m.text, timeout=10)
        second = await run.double.wait_for(
            lambda m: "Meldung Nummer" in m.text and m.message_id != first.message_id, timeout=10
        )
        assert first.text.index("Nummer 1") < first.text.index("Nummer 2")
        assert "Nummer 3" not in first.text and "Nummer 3" in second.text


async def test_filters_decide_what_is_pushed(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        run.double.add_private_chat(OTHER, "Ben")
        await run.first_poll_done()
        await run.command(USER, "/start")
        await run.command(OTHER, "/start")
        reply = await run.command(USER, "/region Charkow")
        assert "Charkiw" in reply.text or "Charkow" in reply.text
        run.site.add("Angriff auf Belgorod", "Das Gebiet Belgorod meldet Schäden.")
        run.site.add("Explosionen in Charkiw", "In Charkiw gab es Explosionen.")
        await run.double.wait_for(lambda m: m.chat_id == OTHER and "Belgorod" in m.text, timeout=10)
        await run.double.wait_for(
            lambda m: m.chat_id == OTHER and "Explosionen" in m.text, timeout=10
        )
        await run.double.wait_for(lambda m: m.chat_id == USER and "Explosionen" in m.text)
        assert run.pushes(USER, "Angriff auf Belgorod") == []


async def test_blocked_chat_becomes_inactive_and_gets_nothing_more(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        run.double.add_private_chat(OTHER, "Ben")
        await run.first_poll_done()
        await run.command(USER, "/start")
        await run.command(OTHER, "/start")
        run.double.block(USER, notify=False)
        run.site.add("Neue Lage", "Text.")
        await run.double.wait_for(lambda m: m.chat_id == OTHER and "Neue Lage" in m.text)
        assert run.bot.storage is not None
        for _ in range(50):
            chat = await run.bot.storage.chats.get(USER)
            if chat is not None and not chat.active:
                break
            await asyncio.sleep(0.1)
        assert chat is not None and not chat.active
        refused = len([r for r in run.double.calls("sendMessage") if r.status == 403])
        run.site.add("Noch eine Lage", "Text.")
        await run.double.wait_for(lambda m: m.chat_id == OTHER and "Noch eine" in m.text)
        assert len([r for r in run.double.calls("sendMessage") if r.status == 403]) == refused


async def test_group_migrated_to_supergroup_is_followed(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_group(GROUP, "Nachrichtengruppe", admins=[ADMIN])
        await run.first_poll_done()
        run.double.send_text(GROUP, ADMIN, "/start")
        await run.double.wait_for(lambda m: m.chat_id == GROUP, timeout=10)
        run.double.migrate(GROUP, SUPERGROUP, notify=False)
        run.site.add("Nach der Umstellung", "Text.")
        push = await run.double.wait_for(lambda m: "Nach der Umstellung" in m.text, timeout=10)
        assert push.chat_id == SUPERGROUP
        assert run.bot.storage is not None
        moved = await run.bot.storage.chats.get(SUPERGROUP)
        assert moved is not None and moved.subscriptions == ("test",)


async def test_429_storm_pauses_and_loses_nothing(database_url: str) -> None:
    async with running_bot(database_url) as run:
        users = list(range(500, 510))
        for user in users:
            run.double.add_private_chat(user, f"User {user}")
        await run.first_poll_done()
        for user in users:
            await run.command(user, "/start")
        run.double.flood(retry_after=2, count=3)
        run.site.add("Sturmmeldung", "Text.")
        for user in users:
            await run.double.wait_for(
                lambda m, u=user: m.chat_id == u and "Sturmmeldung" in m.text, timeout=15
            )
        assert run.double.flood_429_count >= 1
        for user in users:
            assert len(run.pushes(user, "Sturmmeldung")) == 1


async def test_broadcast_respects_the_send_rate(database_url: str) -> None:
    # The double answers 429 past Telegram's limits (30/s overall, ~1/s per chat): a
    # broadcast to 45 chats must go through without a single one.
    double = TelegramDouble(TOKEN, bot_username=BOT_USERNAME)
    await double.start()
    try:
        async with running_bot(database_url, double=double) as run:
            users = list(range(1000, 1045))
            for user in users:
                double.add_private_chat(user, f"User {user}")
            await run.first_poll_done()
            assert run.bot.storage is not None
            for user in users:
                await run.bot.storage.chats.ensure(user, type="private")
                await run.bot.storage.chats.subscribe(user, ["test"])
            run.site.add("Rundruf", "An alle.")
            for user in users:
                await double.wait_for(
                    lambda m, u=user: m.chat_id == u and "Rundruf" in m.text, timeout=15
                )
            assert double.flood_429_count == 0
            times = sorted(m.sent_at for m in double.sent if "Rundruf" in m.text)
            for i in range(len(times) - 30):
                assert times[i + 30] - times[i] >= 0.99
    finally:
        await double.stop()


async def test_quiet_hours_send_silently(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        await run.command(USER, "/quiet 00:00-23:59")
        run.site.add("Leise Meldung", "Text.")
        push = await run.double.wait_for(lambda m: "Leise Meldung" in m.text, timeout=10)
        assert push.disable_notification


async def test_token_never_reaches_the_log(database_url: str) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", secrets=[TOKEN], stream=stream)
    try:
        async with running_bot(database_url) as run:
            run.double.add_private_chat(USER, "Anna")
            await run.first_poll_done()
            await run.command(USER, "/start")
            run.site.add("Protokolltest", "Text.")
            await run.double.wait_for(lambda m: "Protokolltest" in m.text, timeout=10)
            logging.getLogger("httpx").warning("GET %s/getMe", run.double.base_url + TOKEN)
    finally:
        configure_logging("WARNING")
    output = stream.getvalue()
    assert "poll" in output and "[REDACTED]" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
