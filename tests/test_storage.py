"""Storage on SQLite (default) and PostgreSQL (TICKERBOT_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import Storage
from storage.chats import FilterLimitReached
from storage.outbox import SendOutcome
from storage.sources import SourceConfig
from ticker.filters import ChatFilters, entry_passes, keyword_value
from ticker.model import Entry

T0 = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)


def entry(
    key: str,
    minutes: int,
    headline: str = "Schlagzeile",
    body: str = "Text",
    regions: tuple[str, ...] = (),
    speakers: tuple[tuple[str, str], ...] = (),
) -> Entry:
    return Entry(
        key=key,
        published_at=T0 + timedelta(minutes=minutes),
        headline=headline,
        body=body,
        url=f"https://example.org/t#{key}",
        regions=regions,
        speakers=tuple(name for name, _ in speakers),
        speaker_keys=tuple(k for _, k in speakers),
    )


async def _source(storage: Storage, source_id: str = "ukraine") -> None:
    await storage.sources.sync([SourceConfig(source_id, "Liveticker", "https://example.org/t")])


async def _chat(storage: Storage, chat_id: int, source_id: str = "ukraine", type: str = "private"):
    await storage.chats.ensure(chat_id, type=type)
    await storage.chats.subscribe(chat_id, [source_id])


async def _pending(storage: Storage) -> dict[int, list[str]]:
    _, batches = await storage.outbox.claim_batches(max_chats=1000, batch_max_entries=50)
    return {b.chat.id: [i.entry.key for i in b.items] for b in batches}


async def _expand_fanouts(storage: Storage) -> None:
    """Let a claim turn fan-outs into delivery rows, then hand the claims back."""
    token, batches = await storage.outbox.claim_batches(max_chats=1000, batch_max_entries=50)
    now = datetime.now(UTC)
    await storage.outbox.record_outcomes(
        [SendOutcome(b.delivery_ids, token, retry_at=now, count_attempt=False) for b in batches]
    )


async def test_first_poll_stores_without_pushing(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    report = await storage.entries.ingest("ukraine", [entry("a", 0), entry("b", 5)])
    assert report.first_poll and len(report.new) == 2 and report.pushes_queued == 0
    assert await _pending(storage) == {}
    report = await storage.entries.ingest("ukraine", [entry("a", 0), entry("b", 5), entry("c", 9)])
    assert not report.first_poll
    assert (len(report.new), report.unchanged, report.pushes_queued) == (1, 2, 1)
    assert await _pending(storage) == {1: ["c"]}


async def test_chat_subscribed_later_gets_only_later_entries(storage: Storage) -> None:
    await _source(storage)
    await storage.entries.ingest("ukraine", [entry("a", 0)])
    await storage.entries.ingest("ukraine", [entry("b", 1), entry("a", 0)])
    await _chat(storage, 7)
    await storage.entries.ingest("ukraine", [entry("c", 2), entry("b", 1), entry("a", 0)])
    assert await _pending(storage) == {7: ["c"]}


async def test_old_entry_sliding_into_view_is_not_pushed(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    await storage.entries.ingest("ukraine", [entry("new", 300)])
    report = await storage.entries.ingest("ukraine", [entry("new", 300), entry("old", 0)])
    assert report.new and report.pushes_queued == 0


async def test_paused_and_inactive_chats_get_nothing(storage: Storage) -> None:
    await _source(storage)
    for chat_id in (1, 2, 3):
        await _chat(storage, chat_id)
    await storage.chats.update_settings(2, paused=True)
    await storage.chats.deactivate(3, "Forbidden: bot was blocked by the user")
    await storage.entries.ingest("ukraine", [entry("a", 0)])
    await storage.entries.ingest("ukraine", [entry("b", 1)])
    assert await _pending(storage) == {1: ["b"]}


CASES = [
    entry(
        "drone",
        1,
        "Drohnenangriffe auf Belgorod",
        "Gladkow meldet",
        ("Belgorod",),
        (("Wjatscheslaw Gladkow", "gladkow"),),
    ),
    entry("kharkiv", 2, "Lage in Charkiw", "Angriff", ("Charkiw",)),
    entry(
        "moscow",
        3,
        "Sacharowa äußert sich",
        "Erklärung",
        ("Moskau",),
        (("Maria Sacharowa", "sacharowa"),),
    ),
    entry("plain", 4, "Wetter", "Nichts weiter"),
]
FILTER_SETS: list[list[tuple[str, str]]] = [
    [],
    [("region", "belgorod")],
    [("region", "belgorod"), ("region", "charkiw")],
    [("speaker", "sacharowa")],
    [("region", "moskau"), ("speaker", "gladkow")],
    [("keyword", keyword_value("Drohne"))],
    [("keyword", keyword_value("ÄUSSERT"))],
    [("exclude", keyword_value("wetter"))],
    [("region", "charkiw"), ("exclude", "angriff")],
    [("keyword", "lage"), ("keyword", "wetter"), ("exclude", "nichts")],
]


async def test_sql_fan_out_agrees_with_the_pure_filter_rule(storage: Storage) -> None:
    await _source(storage)
    for chat_id, filters in enumerate(FILTER_SETS, start=1):
        await _chat(storage, chat_id)
        for kind, value in filters:
            await storage.chats.add_filter(chat_id, kind, value, value, max_filters=50)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", CASES)
    pending = await _pending(storage)
    for chat_id, filters in enumerate(FILTER_SETS, start=1):
        expected = [e.key for e in CASES if entry_passes(e, ChatFilters.from_pairs(filters))]
        assert pending.get(chat_id, []) == expected, (chat_id, filters)


async def test_correction_queues_edit_for_sent_message(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    await storage.entries.ingest("ukraine", [entry("a", 0)])
    await storage.entries.ingest("ukraine", [entry("b", 1, body="Tippfehler")])
    token, batches = await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    await storage.outbox.record_outcomes(
        [SendOutcome(batches[0].delivery_ids, token, telegram_message_id=99, chat_id=1)]
    )
    report = await storage.entries.ingest("ukraine", [entry("b", 1, body="Korrigiert")])
    assert report.updated and report.edits_queued == 1
    _, edits = await storage.outbox.claim_edits(limit=10)
    assert [(e.telegram_message_id, e.entries[0].body) for e in edits] == [(99, "Korrigiert")]


async def test_batches_are_oldest_first_and_capped(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry(f"e{i}", 10 - i) for i in range(7)])
    token, batches = await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    assert [i.entry.key for i in batches[0].items] == ["e6", "e5", "e4", "e3", "e2"]
    # the chat has a claim in flight: its remaining entries wait so order is kept
    _, more = await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    assert more == []
    await storage.outbox.record_outcomes(
        [SendOutcome(batches[0].delivery_ids, token, telegram_message_id=1, chat_id=1)]
    )
    _, rest = await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    assert [i.entry.key for i in rest[0].items] == ["e1", "e0"]


async def test_expired_lease_is_claimed_again_and_stale_token_ignored(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1)])
    old_token, first = await storage.outbox.claim_batches(
        max_chats=10, batch_max_entries=5, lease=timedelta(seconds=-1)
    )
    new_token, second = await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    assert first[0].delivery_ids == second[0].delivery_ids
    await storage.outbox.record_outcomes(
        [SendOutcome(first[0].delivery_ids, old_token, telegram_message_id=5, chat_id=1)]
    )
    assert await storage.outbox.pending_count() == (1, 0)
    await storage.outbox.record_outcomes(
        [SendOutcome(second[0].delivery_ids, new_token, telegram_message_id=6, chat_id=1)]
    )
    assert await storage.outbox.pending_count() == (0, 0)


async def test_retry_later_and_failure(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1)])
    token, batches = await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    later = datetime.now(UTC) + timedelta(minutes=5)
    await storage.outbox.record_outcomes(
        [SendOutcome(batches[0].delivery_ids, token, retry_at=later)]
    )
    assert (await storage.outbox.claim_batches(max_chats=10, batch_max_entries=5))[1] == []
    due = await storage.outbox.next_due()
    assert due is not None and abs((due - later).total_seconds()) < 1


async def test_migration_moves_subscriptions_filters_and_queue(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, -100, type="group")
    await storage.chats.add_filter(-100, "keyword", "drohne", "Drohne", max_filters=50)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1, headline="Drohnen")])
    await storage.chats.migrate(-100, -1001234)
    new = await storage.chats.get(-1001234)
    old = await storage.chats.get(-100)
    assert new is not None and old is not None
    assert new.subscriptions == ("ukraine",) and [f.value for f in new.filters] == ["drohne"]
    assert not old.active and old.subscriptions == ()
    assert await _pending(storage) == {-1001234: ["a"]}


async def test_deactivate_drops_pending(storage: Storage) -> None:
    await _source(storage)
    await _chat(storage, 1)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1)])
    await _expand_fanouts(storage)
    assert await storage.outbox.pending_count() == (1, 0)
    assert await storage.chats.deactivate(1, "blocked") == 1
    assert await storage.outbox.pending_count() == (0, 0)
    again = await storage.chats.ensure(1, type="private")
    assert again.active


async def test_filter_limit_and_duplicates(storage: Storage) -> None:
    await storage.chats.ensure(1, type="private")
    assert await storage.chats.add_filter(1, "keyword", "a", "a", max_filters=2)
    assert not await storage.chats.add_filter(1, "keyword", "a", "a", max_filters=2)
    assert await storage.chats.add_filter(1, "keyword", "b", "b", max_filters=2)
    with pytest.raises(FilterLimitReached):
        await storage.chats.add_filter(1, "keyword", "c", "c", max_filters=2)
    settings = await storage.chats.get(1)
    assert settings is not None
    removed = await storage.chats.remove_filter(1, settings.filters[0].id)
    assert removed is not None and removed.value == "a"
    assert await storage.chats.clear_filters(1) == 1


async def test_source_state_round_trip(storage: Storage) -> None:
    await _source(storage)
    await storage.sources.record_failure("ukraine", status="timeout", error="timed out")
    state = await storage.sources.record_failure("ukraine", status="http_error", error="HTTP 500")
    assert state.consecutive_failures == 2 and state.failing_since is not None
    await storage.sources.record_success("ukraine", status="ok", etag='"x"', last_modified=None)
    state2 = await storage.sources.get("ukraine")
    assert state2 is not None and state2.consecutive_failures == 0 and state2.etag == '"x"'
    assert state2.last_success_at is not None and state2.last_success_at.tzinfo is not None


async def test_speaker_display_keeps_fullest_form(storage: Storage) -> None:
    await _source(storage)
    await storage.entries.ingest("ukraine", [entry("a", 0, speakers=(("Sacharowa", "sacharowa"),))])
    await storage.entries.ingest(
        "ukraine", [entry("b", 1, speakers=(("Maria Sacharowa", "sacharowa"),))]
    )
    await storage.entries.ingest("ukraine", [entry("c", 2, speakers=(("Sacharowa", "sacharowa"),))])
    assert await storage.entries.speaker_display("sacharowa") == "Maria Sacharowa"
    names = await storage.entries.recent_tags("speaker", T0 - timedelta(days=1))
    assert names == ["Maria Sacharowa"]
