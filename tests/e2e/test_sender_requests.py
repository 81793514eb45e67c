"""The sender's raw sendMessage calls (``Bot.do_api_request``) behave as ``send_message`` did."""

from __future__ import annotations

import asyncio

from tests.e2e.harness import eventually, running_bot

USER = 111


async def test_pushes_are_recorded_and_sent_as_json(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        run.site.add("Meldung roh", "Text mit <Zeichen> & Umlauten: äöü.")
        push = await run.double.wait_for(lambda m: "Meldung roh" in m.text, timeout=10)
        assert "&lt;Zeichen&gt; &amp; Umlauten: äöü." in push.text
        assert push.link_preview_disabled and not push.disable_notification
        assert run.double.content_types["application/json"] >= 1
        storage = run.bot.storage
        assert storage is not None

        async def recorded() -> bool:  # the group commit follows the answer
            return await storage.outbox.pending_count() == (0, 0)

        await eventually(recorded, seconds=10)


async def test_rejected_token_stops_the_sender_without_retrying(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        sender, storage = run.bot.sender, run.bot.storage
        assert sender is not None and storage is not None
        # Telegram's answer to a revoked token; PTB's do_api_request turns it into
        # EndPointNotFound, which the sender must treat like send_message's InvalidToken.
        run.double.fail_next(1, status=401, description="Unauthorized")
        run.site.add("Nach dem Widerruf", "Text.")

        async def stopped() -> bool:
            return sender._stopping

        await eventually(stopped, seconds=15)
        await asyncio.sleep(1.0)
        calls = [r for r in run.double.requests if r.method == "sendMessage"]
        assert [r.status for r in calls][-1] == 401
        assert run.pushes(USER, "Nach dem Widerruf") == []  # no retry
        pending, _ = await storage.outbox.pending_count()
        assert pending == 1  # stays queued for a sender with a valid token
