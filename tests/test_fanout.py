"""Fan-out in pages (storage.fanout): every subscriber once, later subscribers never, the
queue kept short, and chats that change while an entry is being fanned out handled right.

Runs on SQLite and, with TICKERBOT_TEST_DATABASE_URL, on PostgreSQL. Page and queue sizes are
shrunk so that a handful of chats spans several pages.
"""

from __future__ import annotations

from collections import Counter

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

import storage.fanout as fanout
from storage import Storage
from storage.models import Base, Delivery
from storage.outbox import SendOutcome
from tests.test_storage import _chat, _source, entry


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "PAGE_SUBSCRIPTIONS", 3)
    monkeypatch.setattr(fanout, "LOW_WATER", 4)
    monkeypatch.setattr(fanout, "MAX_PAGES_PER_CLAIM", 2)


async def _send_all(
    storage: Storage, max_chats: int = 2, rounds: int = 100
) -> list[tuple[int, str]]:
    """Claim and mark sent until nothing is left; (chat, entry key) in order of sending."""
    sent: list[tuple[int, str]] = []
    for _ in range(rounds):
        token, batches = await storage.outbox.claim_batches(
            max_chats=max_chats, batch_max_entries=5
        )
        if not batches:
            break
        for batch in batches:
            sent.extend((batch.chat.id, item.entry.key) for item in batch.items)
        await storage.outbox.record_outcomes(
            [
                SendOutcome(b.delivery_ids, token, telegram_message_id=n, chat_id=b.chat.id)
                for n, b in enumerate(batches, start=1)
            ]
        )
    return sent


async def _delivery_rows(storage: Storage) -> int:
    async with storage.database.session() as session:
        return len((await session.scalars(select(Delivery.id))).all())


@pytest.mark.usefixtures("small_pages")
async def test_every_subscriber_gets_the_entry_once_across_pages(storage: Storage) -> None:
    await _source(storage)
    chats = [-1001000000005, -42, *range(1, 12)]
    for chat_id in chats:
        await _chat(storage, chat_id, type="supergroup" if chat_id < 0 else "private")
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    report = await storage.entries.ingest("ukraine", [entry("a", 1)])
    assert report.pushes_queued == 1
    assert await _delivery_rows(storage) == 0, "ingest writes the fan-out, not the deliveries"
    assert await storage.outbox.next_due() is not None
    sent = await _send_all(storage)
    assert Counter(sent) == Counter((chat_id, "a") for chat_id in chats)
    assert await storage.outbox.fanouts_pending() == 0
    assert await storage.outbox.pending_count() == (0, 0)


@pytest.mark.usefixtures("small_pages")
async def test_queue_is_filled_up_to_the_low_water_mark_only(storage: Storage) -> None:
    await _source(storage)
    for chat_id in range(1, 21):
        await _chat(storage, chat_id)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1)])
    await storage.outbox.claim_batches(max_chats=1, batch_max_entries=5)
    # two pages of three chats (MAX_PAGES_PER_CLAIM), then a claim of one: five wait
    assert await storage.outbox.pending_count() == (6, 0)
    _, more = await storage.outbox.claim_batches(max_chats=1, batch_max_entries=5)
    assert len(more) == 1
    assert await storage.outbox.pending_count() == (6, 0), "5 unclaimed wait: no new page"
    assert await storage.outbox.fanouts_pending() == 1


@pytest.mark.usefixtures("small_pages")
async def test_entries_reach_each_chat_in_publication_order(storage: Storage) -> None:
    await _source(storage)
    for chat_id in range(1, 8):
        await _chat(storage, chat_id)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1)])
    await storage.entries.ingest("ukraine", [entry("b", 2)])
    await storage.entries.ingest("ukraine", [entry("c", 3)])
    sent = await _send_all(storage)
    for chat_id in range(1, 8):
        assert [key for chat, key in sent if chat == chat_id] == ["a", "b", "c"]


@pytest.mark.usefixtures("small_pages")
async def test_chats_that_change_during_the_fan_out(storage: Storage) -> None:
    await _source(storage)
    for chat_id in range(1, 10):
        await _chat(storage, chat_id)
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1, headline="Drohnen über Kiew")])
    # the first claim matches the two highest pages (chats 9…4); the rest wait below them
    sent = await _send_all(storage, max_chats=1, rounds=1)
    await _chat(storage, -5, type="group")  # subscribed after the entry appeared: never
    await storage.chats.unsubscribe(1, ["ukraine"])  # left before its page: nothing
    await storage.chats.add_filter(2, "keyword", "belgorod", "Belgorod", max_filters=50)
    await storage.chats.update_settings(3, paused=True)
    sent += await _send_all(storage)
    assert sorted({chat for chat, _ in sent}) == [4, 5, 6, 7, 8, 9]
    assert Counter(sent).most_common(1)[0][1] == 1


@pytest.mark.usefixtures("small_pages")
async def test_group_migrating_during_the_fan_out_gets_the_entry_once(storage: Storage) -> None:
    await _source(storage)
    groups = [-10, -20, -30]
    for chat_id in (*range(1, 6), *groups):
        await _chat(storage, chat_id, type="group" if chat_id < 0 else "private")
    await storage.entries.ingest("ukraine", [entry("seed", 0)])
    await storage.entries.ingest("ukraine", [entry("a", 1)])
    served = await _send_all(storage, max_chats=10, rounds=1)
    assert {chat for chat, _ in served} == {1, 2, 3, 4, 5, -10}, "two pages: 5…3, 2…-10"
    # -10 was served before it migrated, -20 was not yet matched; both move below the cursor
    await storage.chats.migrate(-10, -1001000000010)
    await storage.chats.migrate(-20, -1001000000020)
    sent = await _send_all(storage)
    assert Counter(sent) == Counter({(-30, "a"): 1, (-1001000000020, "a"): 1})


def _modelled(name: str | None, kind: str, _parent: object) -> bool:
    """Search indexes are built by hand in SQL per dialect (FTS5, pg_trgm), not by models."""
    return not (kind in ("table", "index") and name is not None and "search" in name)


async def test_models_and_migrations_agree(storage: Storage) -> None:
    """Every model change comes with its migration: the migrated schema equals the models."""

    def differences(connection: object) -> list[object]:
        context = MigrationContext.configure(
            connection,  # type: ignore[arg-type]
            opts={"include_name": _modelled},
        )
        return list(compare_metadata(context, Base.metadata))

    async with storage.database.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == []
