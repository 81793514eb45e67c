"""Reading commands end to end: /today, /search, inline mode and the daily digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.summaries import DigestJob
from tests.e2e.harness import SOURCE_ID, Running, running_bot
from ticker.model import Entry

USER = 111
BERLIN = ZoneInfo("Europe/Berlin")


async def _store(run: Running, entries: list[Entry]) -> None:
    assert run.bot.storage is not None and run.bot._extractor is not None
    extractor = run.bot._extractor
    await run.bot.storage.entries.ingest(SOURCE_ID, [extractor.annotate(e) for e in entries])


def _entry(key: str, minutes_ago: int, headline: str, body: str = "Text.") -> Entry:
    return Entry(
        key=key,
        published_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        headline=headline,
        body=body,
        url=f"https://example.org/ticker#{key}",
    )


async def test_today_summary_and_focus(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        # no pushes of the entries below racing the replies this test reads
        await run.command(USER, "/pause")
        now_local = datetime.now(BERLIN)
        minutes_today = now_local.hour * 60 + now_local.minute
        recent = [
            _entry(
                "a",
                0,
                "Drohnenangriff auf Belgorod",
                "Gladkow, Gouverneur des Gebiets Belgorod, meldet Schäden.",
            ),
            _entry("b", 1, "Explosionen in Charkiw", "In Charkiw gab es Explosionen."),
            _entry(
                "c", 2, "Neue Angriffe im Gebiet Belgorod", "Das Gebiet Belgorod meldet Angriffe."
            ),
        ]
        await _store(run, [e for e in recent if minutes_today >= 3] or recent[:1])
        summary = await run.command(USER, "/today")
        assert "Einträge" in summary.text and "Drohnenangriff auf Belgorod" in summary.text
        assert "Belgorod" in summary.text.split("\n")[1]  # most present regions
        focused = await run.command(USER, "/today Belgorod")
        assert "Explosionen in Charkiw" not in focused.text
        assert "Drohnenangriff auf Belgorod" in focused.text
        nothing = await run.command(USER, "/today Sewastopol")
        assert "Sewastopol" in nothing.text and "noch keine" in nothing.text


async def test_search_finds_compounds_and_survives_odd_input(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await _store(
            run,
            [
                _entry("d1", 5, "Drohnenangriffe auf Kursk", "Die Luftabwehr war aktiv."),
                _entry("d2", 3, "Lage in Kiew", "Keine Drohnen gesichtet."),
                _entry("d3", 1, "Wetter", "Sonnig."),
            ],
        )
        found = await run.command(USER, "/search Drohne")
        assert "<b>Drohne</b>nangriffe auf Kursk" in found.text
        assert found.text.index("Lage in Kiew") < found.text.index("Kursk")  # newest first
        excluded = await run.command(USER, "/search drohne -kursk")
        assert "Kursk" not in excluded.text and "Kiew" in excluded.text
        for odd in ('"', "*", "NEAR", "a:b", "'; DROP TABLE entries;--", "🚀", "x" * 5000):
            answer = await run.command(USER, f"/search {odd}")
            assert answer.text  # a usage line or "nothing found", never silence
        usage = await run.command(USER, "/search")
        assert "/search" in usage.text
        still = await run.command(USER, "/search Wetter")
        assert "Wetter" in still.text


async def test_inline_mode_pages_results(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await _store(run, [_entry(f"k{i}", i, f"Meldung Nummer {i} aus Odessa") for i in range(25)])
        first = run.double.inline_query(USER, "odessa")
        page = await run.double.wait_for_inline_answer(first, timeout=10)
        assert len(page.results) == 20 and page.next_offset == "20"
        assert page.cache_time <= 30
        assert page.results[0]["title"] == "Meldung Nummer 0 aus Odessa"
        content = page.results[0]["input_message_content"]
        assert content["parse_mode"] == "HTML" and "<b>" in content["message_text"]
        second = run.double.inline_query(USER, "odessa", offset="20")
        rest = await run.double.wait_for_inline_answer(second, timeout=10)
        assert len(rest.results) == 5 and rest.next_offset == ""
        latest = run.double.inline_query(USER, "")
        newest = await run.double.wait_for_inline_answer(latest, timeout=10)
        assert newest.results[0]["title"] == "Meldung Nummer 0 aus Odessa"


async def test_daily_digest_goes_out_once(database_url: str) -> None:
    async with running_bot(database_url) as run:
        run.double.add_private_chat(USER, "Anna")
        await run.first_poll_done()
        await run.command(USER, "/start")
        await _store(run, [_entry("z", 0, "Meldung für die Zusammenfassung")])
        run.double.send_text(USER, USER, "/digest 00:00")
        # the reply, not the push of "z" that may come first
        await run.double.wait_for(lambda m: m.chat_id == USER and "00:00" in m.text, timeout=10)
        assert run.bot.storage is not None and run.bot.sender is not None
        job = DigestJob(run.bot.storage, run.settings, run.bot.sender.wake)
        await job.run_once()  # the bot's own digest job may have been first: either queues
        digest = await run.double.wait_for(
            lambda m: m.chat_id == USER and "Meldung für die" in m.text and "Einträge" in m.text,
            timeout=10,
        )
        assert digest.link_preview_disabled
        assert await job.run_once() == 0  # at most once per day, also when the job runs again
        assert await job.run_once(now=datetime.now(BERLIN) + timedelta(minutes=5)) == 0
        await run.command(USER, "/help")  # a round trip after which a repeat would show
        digests = [
            m
            for m in run.double.messages_to(USER)
            if "Meldung für" in m.text and "Einträge" in m.text
        ]
        assert len(digests) == 1
