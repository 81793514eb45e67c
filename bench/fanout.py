"""Fan-out at scale (issue 4): one new entry matched against 100,000 subscribed chats.

    python bench/fanout.py                          # SQLite and PostgreSQL, 100k chats
    python bench/fanout.py --backends sqlite --chats 20000 --entries 10 --explain

Builds 100,000 subscribed chats with varied filters in bulk (Core inserts into storage's own
tables, the ``has_*_filter`` flags set as ``storage.chats._refresh_flags`` would), then, for
``--entries`` new entries with varied regions, speakers and text, times

* ``storage.entries.ingest(source, [entry])``: the entry's transaction, which stores it and its
  fan-out row (the outbox promise);
* matching: the fan-out's recipient query over all 100,000 subscriptions at once, counted;
* expansion: the fan-out turned into delivery rows page by page, as the sender's claims do
  (here back to back, one transaction per page, ignoring the queue's low-water mark).

Filter mix (per chat, seeded): 40 % none, 25 % regions (1–3 from a pool of 200 gazetteer
names, some also a keyword or an exclude), 15 % speakers (1–2, some also a region), 10 %
keywords (1–3 from a pool of ~500 words, German compounds included, some also an exclude),
10 % excludes (some also a region); 1 % of chats paused, 1 % inactive.

Correctness: for 200 random chats, ``ticker.filters.entry_passes`` (the pure rule, fed the
chat's filters as stored) must agree with whether a delivery row was created, for every entry.

PostgreSQL runs in its own database ``bench`` (created on the server's ``postgres`` database
and dropped at the end), so tests using ``test`` are not disturbed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import machine, percentile
from sqlalchemy import delete, event, func, insert, select, text
from sqlalchemy.engine import make_url

from storage import Storage
from storage.fanout import expand_fanouts, keyword_values, recipients
from storage.models import Chat, Delivery, EntryRow, FilterRow, Subscription
from storage.sources import SourceConfig
from ticker.extract import Extractor
from ticker.extract.gazetteer import load_default
from ticker.filters import (
    ChatFilters,
    entry_passes,
    keyword_value,
    matching_words,
    searchable_text,
)
from ticker.model import Entry
from ticker.text import fold

SOURCE = "fanout"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "bench"
AIM_MS = 100.0

SPEAKERS = [
    "Wjatscheslaw Gladkow", "Dmitri Peskow", "Maria Sacharowa", "Wolodymyr Selenskyj",
    "Sergej Lawrow", "Sergej Schoigu", "Wladimir Putin", "Olaf Scholz", "Annalena Baerbock",
    "Boris Pistorius", "Emmanuel Macron", "Antonio Tajani", "Jens Stoltenberg", "Mark Rutte",
    "Joe Biden", "Donald Trump", "Antony Blinken", "Kyrylo Budanow", "Vitali Klitschko",
    "Dmytro Kuleba", "Andrij Sybiha", "Oleksandr Syrskyj", "Mychajlo Podoljak",
    "Dmitri Medwedew", "Wassili Nebensja", "Tatjana Moskalkowa", "Juri Sljusar",
    "Oleh Synjehubow", "Alexander Bogomas", "Ramsan Kadyrow", "Friedrich Merz", "Viktor Orban",
    "Recep Tayyip Erdogan", "Benjamin Netanjahu", "Antonio Guterres", "Rafael Grossi",
    "Kaja Kallas", "Ursula von der Leyen", "Josep Borrell", "Denys Schmyhal",
]  # fmt: skip

BASE_WORDS = [
    "drohne", "rakete", "angriff", "panzer", "front", "artillerie", "munition", "granate",
    "bunker", "sirene", "kraftwerk", "reaktor", "offensive", "rückzug", "grenze", "soldat",
    "verluste", "opfer", "verletzte", "zivilisten", "evakuierung", "flüchtlinge", "gefangene",
    "austausch", "kampfjet", "hubschrauber", "marine", "schiff", "flotte", "wahl", "regierung",
    "minister", "parlament", "gipfel", "nato", "sanktionen", "kredit", "milliarden", "weizen",
    "dünger", "brücke", "bahnhof", "schule", "krankenhaus", "feuerpause", "waffenruhe",
    "mobilmachung", "deserteure", "partisanen", "sabotage", "spionage", "hacker", "blackout",
    "ceasefire", "drone", "missile", "shelling", "airstrike", "refugees", "negotiations",
]  # fmt: skip
PREFIXES = [
    "luft", "strom", "gas", "drohnen", "raketen", "panzer", "waffen", "flug", "kriegs",
    "friedens", "grenz", "bahn", "energie", "hafen", "getreide", "munitions", "kampf", "wasser",
    "öl", "atom", "heiz", "korn",
]  # fmt: skip
SUFFIXES = [
    "abwehr", "angriff", "ausfall", "lieferung", "versorgung", "gespräch", "verhandlung",
    "alarm", "schaden", "anlage", "netz", "lager", "fabrik", "transport", "korridor", "plan",
    "hilfe", "streik", "verbot", "zone",
]  # fmt: skip


def keyword_pool() -> list[str]:
    words = [*BASE_WORDS, *(p + s for p in PREFIXES for s in SUFFIXES)]
    return sorted(set(words))


@dataclass
class World:
    regions: list[str]
    keywords: list[str]
    extractor: Extractor


@dataclass
class Result:
    backend: str
    chats: int
    filters: int
    build_seconds: float
    ingest_ms: list[float] = field(default_factory=list)
    match_ms: list[float] = field(default_factory=list)
    expand_ms: list[float] = field(default_factory=list)  # all pages of one entry
    page_ms: list[float] = field(default_factory=list)  # one page's transaction
    pages: list[int] = field(default_factory=list)
    fanout_sql_ms: list[float] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    plan: str = ""


def make_filters(rng: random.Random, world: World) -> list[tuple[str, str, str]]:
    """(kind, value, display) for one chat, following the mix in the module docstring."""
    out: list[tuple[str, str, str]] = []

    def regions(k: int) -> None:
        out.extend(("region", fold(r), r) for r in rng.sample(world.regions, k))

    def speakers(k: int) -> None:
        for name in rng.sample(SPEAKERS, k):
            out.append(("speaker", world.extractor.speaker_key(name), name))

    def words(kind: str, k: int) -> None:
        out.extend((kind, keyword_value(w), w) for w in rng.sample(world.keywords, k))

    roll = rng.random()
    if roll < 0.40:
        pass
    elif roll < 0.65:
        regions(rng.randint(1, 3))
        if rng.random() < 0.3:
            words("keyword", 1)
        if rng.random() < 0.15:
            words("exclude", 1)
    elif roll < 0.80:
        speakers(rng.randint(1, 2))
        if rng.random() < 0.25:
            regions(1)
    elif roll < 0.90:
        words("keyword", rng.randint(1, 3))
        if rng.random() < 0.2:
            words("exclude", 1)
    else:
        words("exclude", rng.randint(1, 2))
        if rng.random() < 0.2:
            regions(rng.randint(1, 2))
    return out


def make_entry(rng: random.Random, world: World, n: int, at: datetime) -> Entry:
    """A ticker-like entry: 0–3 places, 0–2 quoted speakers, some pool words; then extracted."""
    places = rng.sample(world.regions, rng.choice([0, 1, 1, 2, 2, 3]))
    people = rng.sample(SPEAKERS, rng.choice([0, 1, 1, 2]))
    words = rng.sample(world.keywords, rng.randint(2, 6))
    headline = f"Meldung {n}: {words[0].capitalize()}" + (f" in {places[0]}" if places else "")
    sentences = [f"Nach Berichten gab es {w.capitalize()} und weitere Folgen." for w in words[1:]]
    sentences += [f"Auch aus {p} wurden Schäden gemeldet." for p in places[1:]]
    sentences += [f"{person} sagte, die Lage sei ernst." for person in people]
    rng.shuffle(sentences)
    entry = Entry(
        key=f"fanout-{n}-{rng.random():.8f}",
        published_at=at,
        headline=headline,
        body=" ".join(sentences),
        url=None,
    )
    return world.extractor.annotate(entry)


async def build(storage: Storage, chats: int, world: World, seed: int) -> int:
    """Source (initialised by a first poll), chats, subscriptions, filters; returns #filters."""
    await storage.sources.sync([SourceConfig(SOURCE, "Fan-out bench", "http://127.0.0.1/")])
    first = Entry("seed", datetime.now(UTC) - timedelta(minutes=5), "Eröffnung", "Start.", None)
    report = await storage.entries.ingest(SOURCE, [first])
    assert report.first_poll
    rng = random.Random(seed)
    now = datetime.now(UTC)
    total = 0
    chunk = 5000
    async with storage.database.engine.begin() as connection:
        for start in range(1, chats + 1, chunk):
            chat_rows: list[dict[str, Any]] = []
            sub_rows: list[dict[str, Any]] = []
            filter_rows: list[dict[str, Any]] = []
            for chat_id in range(start, min(start + chunk, chats + 1)):
                filters = make_filters(rng, world)
                kinds = {kind for kind, _, _ in filters}
                state = rng.random()
                chat_rows.append(
                    {
                        "id": chat_id,
                        "type": "private",
                        "title": f"User {chat_id}",
                        "active": state >= 0.01,
                        "paused": 0.01 <= state < 0.02,
                        "has_region_filter": "region" in kinds,
                        "has_speaker_filter": "speaker" in kinds,
                        "has_keyword_filter": "keyword" in kinds,
                        "created_at": now,
                    }
                )
                sub_rows.append({"chat_id": chat_id, "source_id": SOURCE, "created_at": now})
                filter_rows += [
                    {
                        "chat_id": chat_id,
                        "kind": kind,
                        "value": value,
                        "display": display,
                        "created_at": now,
                    }
                    for kind, value, display in filters
                ]
            await connection.execute(insert(Chat), chat_rows)
            await connection.execute(insert(Subscription), sub_rows)
            if filter_rows:
                await connection.execute(insert(FilterRow), filter_rows)
            total += len(filter_rows)
    if not storage.database.is_sqlite:
        async with storage.database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    return total


class StatementTimer:
    """Times the fan-out INSERT … SELECT as the driver runs it, and keeps its SQL for EXPLAIN."""

    def __init__(self, storage: Storage) -> None:
        self.ms: list[float] = []
        self.statement = ""
        self.parameters: Any = None
        self._started = 0.0
        engine = storage.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    @staticmethod
    def _is_fanout(statement: str) -> bool:
        return statement.lstrip().upper().startswith("INSERT INTO DELIVERIES")

    def _before(self, _c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self._is_fanout(statement):
            self.statement, self.parameters = statement, parameters
            self._started = time.perf_counter()

    def _after(self, _c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if self._is_fanout(statement):
            self.ms.append(1000 * (time.perf_counter() - self._started))


async def explain(storage: Storage, statement: str, parameters: Any, entry_id: int) -> str:
    """The query plan of the last fan-out statement (rolled back on PostgreSQL)."""
    async with storage.database.engine.connect() as connection:
        if storage.database.is_sqlite:
            rows = (
                await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ).all()
            plan = "\n".join(f"  {'  ' * _depth(rows, r)}{r[-1]}" for r in rows)
        else:
            transaction = await connection.begin()
            # Run it for real (ANALYZE), so first take back what it created, then roll back.
            await connection.execute(delete(Delivery).where(Delivery.entry_id == entry_id))
            rows = (
                await connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                )
            ).all()
            await transaction.rollback()
            plan = "\n".join(f"  {r[0]}" for r in rows)
    return plan


async def matching_ms(storage: Storage, entry_id: int, runs: int = 3) -> float:
    """Median time to choose the recipients among every subscription of the source at once:
    the keyword values in use matched against the text, then the recipient query, counted."""
    times: list[float] = []
    async with storage.database.session() as session:
        entry_row = await session.get(EntryRow, entry_id)
        assert entry_row is not None
        text = searchable_text(entry_row.headline, entry_row.body)
        for _ in range(runs):
            began = time.perf_counter()
            words = matching_words(text, await keyword_values(session))
            chosen = recipients(
                entry_row, sorted(words), datetime.now(UTC), [Subscription.source_id == SOURCE]
            ).subquery()
            await session.scalar(select(func.count()).select_from(chosen))
            times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times)


async def expand_all(storage: Storage, result: Result) -> int:
    """Expand every waiting fan-out one page per transaction; returns pages expanded."""
    pages = 0
    while await storage.outbox.fanouts_pending():
        began = time.perf_counter()
        async with storage.database.session() as session:
            await expand_fanouts(
                session,
                now=datetime.now(UTC),
                is_sqlite=storage.database.is_sqlite,
                max_pages=1,
                only_while_queue_short=False,
            )
        result.page_ms.append(1000 * (time.perf_counter() - began))
        pages += 1
    return pages


async def delivery_count(storage: Storage, entry_id: int) -> int:
    async with storage.database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.entry_id == entry_id)
        )
    return int(count or 0)


def _depth(rows: Sequence[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


async def verify(
    storage: Storage, entries: Sequence[tuple[int, Entry]], chats: int, rng: random.Random
) -> tuple[int, list[str]]:
    """entry_passes on the stored filters vs. the delivery rows, for 200 random chats."""
    sample = rng.sample(range(1, chats + 1), min(200, chats))
    entry_ids = [entry_id for entry_id, _ in entries]
    async with storage.database.session() as session:
        chat_rows = {
            c.id: c for c in (await session.scalars(select(Chat).where(Chat.id.in_(sample)))).all()
        }
        pairs: dict[int, list[tuple[str, str]]] = {c: [] for c in sample}
        for chat_id, kind, value in (
            await session.execute(
                select(FilterRow.chat_id, FilterRow.kind, FilterRow.value).where(
                    FilterRow.chat_id.in_(sample)
                )
            )
        ).all():
            pairs[chat_id].append((kind, value))
        delivered = set(
            (
                await session.execute(
                    select(Delivery.chat_id, Delivery.entry_id).where(
                        Delivery.chat_id.in_(sample), Delivery.entry_id.in_(entry_ids)
                    )
                )
            ).all()
        )
    mismatches: list[str] = []
    checked = 0
    for chat_id in sample:
        chat = chat_rows[chat_id]
        filters = ChatFilters.from_pairs(pairs[chat_id])
        for entry_id, entry in entries:
            expected = chat.active and not chat.paused and entry_passes(entry, filters)
            actual = (chat_id, entry_id) in delivered
            checked += 1
            if expected != actual:
                mismatches.append(
                    f"chat {chat_id} entry {entry_id}: rule says {expected}, outbox {actual} "
                    f"(filters {sorted(pairs[chat_id])}, regions {entry.regions}, "
                    f"speakers {entry.speaker_keys})"
                )
    return checked, mismatches


VARIANTS = ("entry-first", "no-fk", "cache")


async def apply_variant(storage: Storage, variant: str) -> None:
    """Schema/connection experiments for the analysis (off by default), each a small change.

    * ``entry-first`` — the deliveries' unique key as ``(entry_id, chat_id)`` instead of
      ``(chat_id, entry_id)``: one entry's rows then go to the end of that index instead of
      to 48k random places in it; it also serves ``entry_id`` lookups, so
      ``ix_deliveries_entry`` goes; a partial index on ``chat_id`` for pending rows keeps the
      per-chat lookups (claiming, dropping a gone chat's queue) indexed.
    * ``no-fk`` — the deliveries' foreign keys not checked (SQLite: ``foreign_keys=OFF``;
      PostgreSQL: constraints dropped), to put a number on what the checks cost.
    * ``cache`` — SQLite ``cache_size`` 64 MiB instead of the default 2 MiB.
    """
    mods = {part.strip() for part in variant.split(",") if part.strip()}
    unknown = mods - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variant(s): {', '.join(sorted(unknown))}")
    sqlite = storage.database.is_sqlite
    engine = storage.database.engine
    pragmas: list[str] = []
    if sqlite and "cache" in mods:
        pragmas.append("PRAGMA cache_size = -65536")
    if sqlite and "no-fk" in mods:
        pragmas.append("PRAGMA foreign_keys = OFF")
    if pragmas:

        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in pragmas:
                cursor.execute(pragma)
            cursor.close()

        event.listen(engine.sync_engine, "connect", on_connect)
        await engine.dispose()  # connections opened from now on get the pragmas
    statements: list[str] = []
    if "entry-first" in mods:
        if sqlite:
            async with engine.connect() as connection:
                create = (
                    await connection.exec_driver_sql(
                        "SELECT sql FROM sqlite_master WHERE name = 'deliveries'"
                    )
                ).scalar_one()
            create = create.replace("UNIQUE (chat_id, entry_id)", "UNIQUE (entry_id, chat_id)")
            statements += [
                "DROP TABLE deliveries",
                create,
                "CREATE INDEX ix_deliveries_due ON deliveries (status, not_before)",
                "CREATE INDEX ix_deliveries_sent_message ON deliveries (sent_message_id)",
            ]
        else:
            statements += [
                "ALTER TABLE deliveries DROP CONSTRAINT uq_deliveries_chat_id",
                "ALTER TABLE deliveries ADD CONSTRAINT uq_deliveries_entry_id"
                " UNIQUE (entry_id, chat_id)",
                "DROP INDEX ix_deliveries_entry",
            ]
        statements.append(
            "CREATE INDEX ix_deliveries_pending_chat ON deliveries (chat_id)"
            " WHERE status = 'pending'"
        )
    if "no-fk" in mods and not sqlite:
        statements += [
            f"ALTER TABLE deliveries DROP CONSTRAINT {name}"
            for name in (
                "fk_deliveries_chat_id_chats",
                "fk_deliveries_entry_id_entries",
                "fk_deliveries_sent_message_id_sent_messages",
            )
        ]
    if statements:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)


@contextlib.asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tickerbot-fanout-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}"
        return
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {PG_DATABASE}")
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=PG_DATABASE)
        yield url.render_as_string(hide_password=False)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        await admin.close()


async def run_backend(backend: str, args: argparse.Namespace, world: World) -> Result:
    async with database(backend) as url:
        storage = Storage.open(url)
        try:
            await storage.database.upgrade()
            if args.variant:
                await apply_variant(storage, args.variant)
            started = time.perf_counter()
            filters = await build(storage, args.chats, world, args.seed)
            result = Result(backend, args.chats, filters, time.perf_counter() - started)
            print(
                f"  built {args.chats:,} chats, {filters:,} filters in "
                f"{result.build_seconds:.1f} s",
                flush=True,
            )
            timer = StatementTimer(storage)
            rng = random.Random(args.seed + 1)
            base = datetime.now(UTC)
            stored: list[tuple[int, Entry]] = []
            for n in range(1, args.entries + 1):
                entry = make_entry(rng, world, n, base + timedelta(seconds=n))
                began = time.perf_counter()
                report = await storage.entries.ingest(SOURCE, [entry])
                ingest_ms = 1000 * (time.perf_counter() - began)
                entry_id = report.new[0]
                stored.append((entry_id, entry))
                match_ms = await matching_ms(storage, entry_id)
                began = time.perf_counter()
                pages = await expand_all(storage, result)
                expand_ms = 1000 * (time.perf_counter() - began)
                count = await delivery_count(storage, entry_id)
                result.ingest_ms.append(ingest_ms)
                result.match_ms.append(match_ms)
                result.expand_ms.append(expand_ms)
                result.pages.append(pages)
                result.deliveries.append(count)
                if args.verbose:
                    print(
                        f"    entry {n:2d}: ingest {ingest_ms:5.1f} ms · matching "
                        f"{match_ms:5.1f} ms · {pages} pages {expand_ms:6.1f} ms · "
                        f"{count:6,} deliveries · regions {list(entry.regions)} · "
                        f"speakers {list(entry.speaker_keys)}"
                    )
            result.fanout_sql_ms = timer.ms
            result.checked, result.mismatches = await verify(
                storage, stored, args.chats, random.Random(args.seed + 2)
            )
            if args.explain:
                result.plan = await explain(
                    storage, timer.statement, timer.parameters, stored[-1][0]
                )
        finally:
            await storage.close()
    return result


def _spread(values: Sequence[float]) -> str:
    return (
        f"median {statistics.median(values):.1f} ms · p95 {percentile(values, 0.95):.1f} ms · "
        f"max {max(values):.1f} ms · min {min(values):.1f} ms"
    )


def print_result(result: Result) -> bool:
    ingest, match = result.ingest_ms, result.match_ms
    print(f"  ingest per entry   {_spread(ingest)}  ({len(ingest)} entries; entry + fan-out row)")
    print(f"  matching 100%      {_spread(match)}  (recipient query over all subscriptions)")
    rows = sum(result.deliveries)
    seconds = sum(result.expand_ms) / 1000
    print(
        f"  expansion          {_spread(result.expand_ms)} per entry, "
        f"{statistics.median(result.pages):.0f} pages each; {rows / seconds:,.0f} deliveries/s"
    )
    print(f"  one page (lock)    {_spread(result.page_ms)}  ({len(result.page_ms)} pages)")
    sql = result.fanout_sql_ms
    print(f"  of which INSERT…SELECT {_spread(sql)}")
    d = result.deliveries
    print(
        f"  deliveries created median {statistics.median(d):,.0f} · min {min(d):,} · "
        f"max {max(d):,} per entry ({sum(d):,} in all)"
    )
    print(
        f"  correctness        {result.checked:,} (chat, entry) pairs checked, "
        f"{len(result.mismatches)} disagree with entry_passes"
    )
    for line in result.mismatches[:10]:
        print(f"    {line}")
    if result.plan:
        print("  plan of the fan-out statement:")
        print(result.plan)
    ok = not result.mismatches
    if result.backend == "sqlite":
        worst = max(statistics.median(ingest), statistics.median(match))
        meets = worst < AIM_MS
        print(
            f"  → ingest and matching median < {AIM_MS:g} ms on SQLite: "
            f"{'meets' if meets else 'MISSES'} the aim"
        )
        ok = ok and meets
    return ok


async def run(args: argparse.Namespace) -> int:
    print(f"fan-out bench: {args.chats:,} chats, {args.entries} entries · {machine()}")
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), flush=True)
    gazetteer = sorted(load_default().by_name())
    world = World(
        regions=random.Random(args.seed).sample(gazetteer, min(200, len(gazetteer))),
        keywords=keyword_pool(),
        extractor=Extractor.load(),
    )
    print(f"pools: {len(world.regions)} regions, {len(SPEAKERS)} speakers, "
          f"{len(world.keywords)} keywords")  # fmt: skip
    if args.variant:
        print(f"EXPERIMENT, not the schema as shipped: {args.variant}")
    ok = True
    for backend in args.backends.split(","):
        print(f"\n[{backend}]", flush=True)
        result = await run_backend(backend, args, world)
        ok = print_result(result) and ok
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--variant", default="", help=f"experiments, comma-separated: {', '.join(VARIANTS)}"
    )
    parser.add_argument("--explain", action="store_true", help="always print the query plan")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per entry")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
