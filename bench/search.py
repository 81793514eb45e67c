"""Benchmark: /search and /today over 100,000 stored entries, on SQLite and PostgreSQL.

    python bench/search.py [--entries 100000] [--queries 200] [--no-postgres]

PostgreSQL: ``TICKERBOT_BENCH_PG_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) names the server; the benchmark
creates its own database ``tickerbot_bench_search`` there and drops it afterwards, so it
never touches the data in the named database. Unreachable server: PostgreSQL is skipped.

Entries are generated (seeded, realistic German ticker headlines and bodies with places
and speakers) and bulk-inserted with Core ``insert`` in chunks, together with their tags
and search documents — not through ``ingest``, which would take minutes. Each measured
search is what ``/search`` does end to end below the handler: parse the query, run the
storage query in its own session, build the records. Each measured summary is what
``/today`` does: load the local day's entries of a source, build the summary, render the
Telegram messages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage import Storage
from storage.models import EntryRow, EntryTag
from storage.search import SearchRepository
from storage.sources import SourceConfig
from ticker.search_query import ParsedQuery, parse_query, search_document
from ticker.summary import build_summary, day_bounds, render_summary_html
from ticker.text import fold

ZONE = ZoneInfo("Europe/Berlin")
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BENCH_DB = "tickerbot_bench_search"
SOURCES = [("ukraine", 0.6), ("nahost", 0.25), ("wahl", 0.15)]
DAYS = 500
CHUNK = 5000

PLACES = [
    "Kiew",
    "Charkiw",
    "Odessa",
    "Dnipro",
    "Saporischschja",
    "Cherson",
    "Mykolajiw",
    "Sumy",
    "Pokrowsk",
    "Bachmut",
    "Awdijiwka",
    "Kramatorsk",
    "Slowjansk",
    "Lwiw",
    "Belgorod",
    "Kursk",
    "Brjansk",
    "Moskau",
    "Donezk",
    "Luhansk",
    "Krim",
    "Sewastopol",
    "Tschernihiw",
    "Poltawa",
    "Winnyzja",
    "Isjum",
    "Kupjansk",
    "Gaza",
    "Tel Aviv",
    "Beirut",
    "Brüssel",
    "Washington",
    "Berlin",
    "Warschau",
    "Chárkiw",
    "Straßburg",
]
SPEAKERS = [
    ("Selenskyj", "Wolodymyr Selenskyj"),
    ("Gladkow", "Wjatscheslaw Gladkow"),
    ("Sacharowa", "Maria Sacharowa"),
    ("Peskow", "Dmitri Peskow"),
    ("Klitschko", "Vitali Klitschko"),
    ("Scholz", "Olaf Scholz"),
    ("Merz", "Friedrich Merz"),
    ("Pistorius", "Boris Pistorius"),
    ("Baerbock", "Annalena Baerbock"),
    ("Stoltenberg", "Jens Stoltenberg"),
    ("Rutte", "Mark Rutte"),
    ("Lawrow", "Sergej Lawrow"),
    ("Schoigu", "Sergej Schoigu"),
    ("Syrskyj", "Oleksandr Syrskyj"),
]
EVENTS = [
    "Drohnenangriffe auf {p}",
    "Luftalarm in {p}",
    "Raketenangriff auf {p}",
    "Explosionen in {p} gemeldet",
    "Stromausfall nach Angriff auf {p}",
    "{s}: Lage in {p} angespannt",
    "{s} kündigt Hilfe für {p} an",
    "Heftige Kämpfe bei {p}",
    "Evakuierung in {p} ausgeweitet",
    "Gefangenenaustausch bei {p}",
    "{s} warnt vor Eskalation",
    "EU beschließt neue Sanktionen",
    "Verhandlungen in {p} vertagt",
    "Energieinfrastruktur in {p} beschädigt",
    "{s} besucht {p}",
    "Munitionslieferung für {p}",
    "Zivilisten in {p} verletzt",
    "Frontlage bei {p} unübersichtlich",
    "F-16-Kampfjets über {p}",
    "{s} telefoniert mit Amtskollegen",
    "Straße nach {p} gesperrt",
    "Brücke bei {p} zerstört",
]
SENTENCES = [
    "Nach Angaben der Behörden wurden in der Nacht mehrere Drohnen abgeschossen.",
    "Die Angaben lassen sich nicht unabhängig überprüfen.",
    "Der Gouverneur sprach von schweren Schäden an Wohnhäusern.",
    "Rettungskräfte sind im Einsatz, die Zahl der Verletzten stieg auf {n}.",
    "Das Verteidigungsministerium in {p} meldete {n} abgefangene Raketen.",
    "Die Luftabwehr war nach Angaben des Militärs stundenlang aktiv.",
    "In mehreren Stadtteilen fiel der Strom aus, Notstromaggregate laufen.",
    "{s} sagte, man werde auf die Angriffe reagieren.",
    "Beobachter rechnen mit weiteren Gefechten in der Region um {p}.",
    "Die Vereinten Nationen zeigten sich besorgt über die Lage der Zivilbevölkerung.",
    "Ein Sprecher des Generalstabs bestätigte die Berichte am Morgen.",
    "Die Evakuierung von Kindern aus den frontnahen Orten geht weiter.",
    "Nach Informationen unseres Korrespondenten ist die Lage in {p} ruhig.",
    "Die Bahnverbindung zwischen {p} und {q} ist unterbrochen.",
]
QUERY_WORDS = [
    "kiew",
    "charkiw",
    "Charkiw",
    "drohne",
    "Drohnenangriffe",
    "luftalarm",
    "rakete",
    "selenskyj",
    "gladkow",
    "belgorod",
    "pokrowsk",
    "stromausfall",
    "evakuierung",
    "sanktionen",
    "brücke",
    "strasse",
    "Straße",
    "munition",
    "f-16",
    "EU",
    "UN",
    "verletzt",
    "zivilisten",
    "bahn",
    "sacharowa",
    "klitschko",
    "gefangenenaustausch",
    "energie",
    "luftabwehr",
    "moskau",
    "brussel",
    "xylophon",
    "zebrastreifen",
    "quantencomputer",
    "ab",
    "in",
    "eskalation",
]


def entry_text(rng: random.Random, n: int) -> tuple[str, str, list[str], list[tuple[str, str]]]:
    place, other = rng.choice(PLACES), rng.choice(PLACES)
    short, full = rng.choice(SPEAKERS)
    headline = rng.choice(EVENTS).format(p=place, s=short)
    body = " ".join(
        rng.choice(SENTENCES).format(
            p=rng.choice((place, other)), q=other, s=full, n=rng.randint(2, 60)
        )
        for _ in range(rng.randint(2, 6))
    )
    named = {fold(p): p for p in ([place, other] if other in body else [place])}
    regions = sorted(named.values())
    speakers = [(full, fold(short))] if short in headline or full in body else []
    return headline, body, regions, speakers


def queries(rng: random.Random, count: int) -> list[str]:
    out: list[str] = []
    for i in range(count):
        kind = i % 6
        words = rng.sample(QUERY_WORDS, 3)
        if kind == 0:
            out.append(words[0])
        elif kind == 1:
            out.append(f"{words[0]} {words[1]}")
        elif kind == 2:
            sentence = rng.choice(SENTENCES + EVENTS).format(
                p=rng.choice(PLACES), q=rng.choice(PLACES), s=rng.choice(SPEAKERS)[1], n=7
            )
            words_in = sentence.rstrip(".").split()
            at = rng.randrange(max(1, len(words_in) - 1))
            out.append('"' + " ".join(words_in[at : at + 2]) + '"')
        elif kind == 3:
            out.append(f"{words[0]} -{words[1]}")
        elif kind == 4:
            out.append(f'{words[0]} "{rng.choice(PLACES)}" -{words[2]}')
        else:
            out.append(f"{words[0]} {words[1]} {words[2]}")
    return out


async def load(store: Storage, total: int, seed: int, today: date) -> None:
    rng = random.Random(seed)
    await store.sources.sync(
        [SourceConfig(sid, sid.title(), f"https://example.org/{sid}") for sid, _ in SOURCES]
    )
    end, _ = day_bounds(today, ZONE)
    end += timedelta(hours=20)  # "now": 20:00 local on the last day
    span = timedelta(days=DAYS).total_seconds()
    sqlite = store.database.is_sqlite
    doc_sql = text(
        "INSERT INTO entry_search (rowid, document) VALUES (:id, :document)"
        if sqlite
        else "INSERT INTO entry_search (entry_id, document) VALUES (:id, :document)"
    )
    next_id = 1
    for start in range(0, total, CHUNK):
        rows, tags, docs = [], [], []
        for i in range(start, min(total, start + CHUNK)):
            source = rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES])[0]
            published = end - timedelta(seconds=span * (1 - i / total) + rng.random() * 60)
            headline, body, regions, speakers = entry_text(rng, i)
            rows.append(
                {
                    "id": next_id,
                    "source_id": source,
                    "key": f"e{i}",
                    "published_at": published,
                    "headline": headline,
                    "body": body,
                    "url": f"https://example.org/{source}#e{i}",
                    "content_hash": f"{i:032x}",
                    "regions": regions,
                    "speakers": [name for name, _ in speakers],
                    "speaker_keys": [key for _, key in speakers],
                    "first_seen_at": published,
                    "last_changed_at": published,
                }
            )
            tags += [
                {"entry_id": next_id, "kind": "region", "value": fold(r), "display": r}
                for r in regions
            ]
            tags += [
                {"entry_id": next_id, "kind": "speaker", "value": k, "display": n}
                for n, k in speakers
            ]
            docs.append({"id": next_id, "document": search_document(headline, body)})
            next_id += 1
        async with store.database.session() as session:
            await session.execute(insert(EntryRow), rows)
            if tags:
                await session.execute(insert(EntryTag), tags)
            await session.execute(doc_sql, docs)
    if sqlite:
        async with store.database.session() as session:
            await session.execute(text("ANALYZE"))
    else:
        await pg_admin(store.database.url, "VACUUM ANALYZE")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    for call in calls[:10]:  # warm-up: caches, pool, prepared statements
        await call()
    out = []
    for call in calls:
        begin = time.perf_counter()
        await call()
        out.append((time.perf_counter() - begin) * 1000)
    return out


async def run(
    url: str, label: str, total: int, n_queries: int, today: date
) -> dict[str, list[float]]:
    store = Storage.open(url)
    try:
        await store.database.upgrade()
        began = time.perf_counter()
        await load(store, total, seed=5, today=today)
        took = time.perf_counter() - began
        print(f"[{label}] loaded {await store.entries.count():,} entries in {took:.1f} s")
        search = SearchRepository(store.database)
        rng = random.Random(7)
        raw_queries = queries(rng, n_queries)
        hits: list[int] = []

        def search_call(raw: str, sources: list[str] | None) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                parsed = parse_query(raw)
                if not isinstance(parsed, ParsedQuery):
                    return []
                found = await search.search(parsed, source_ids=sources, limit=10)
                hits.append(len(found))
                return found

            return call

        search_calls = [
            search_call(q, None if i % 2 else ["ukraine"]) for i, q in enumerate(raw_queries)
        ]

        def summary_call(
            day: date, source: str, focus: str | None
        ) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                start, end = day_bounds(day, ZONE)
                entries = await store.entries.between([source], start, end)
                if focus:
                    key = fold(focus)
                    entries = [e for e in entries if key in {fold(r) for r in e.regions}]
                summary = build_summary(
                    entries, source_name=source, day=day, zone=ZONE, focus=focus
                )
                return render_summary_html(summary, "de")

            return call

        summary_calls = [
            summary_call(
                today - timedelta(days=rng.randint(0, 60) if i % 2 else 0),
                rng.choice([s for s, _ in SOURCES]),
                rng.choice(PLACES) if i % 4 == 3 else None,
            )
            for i in range(n_queries)
        ]
        result = {"search": await timed(search_calls), "summary": await timed(summary_calls)}
        slowest = sorted(zip(result["search"], raw_queries, strict=True), reverse=True)[:5]
        print(
            f"[{label}] slowest searches: " + ", ".join(f"{q!r} {ms:.0f} ms" for ms, q in slowest)
        )
        measured = hits[-len(search_calls) :]
        print(f"[{label}] searches with results: {sum(1 for h in measured if h)}/{len(measured)}")
        start, end = day_bounds(today, ZONE)
        per_day = len(await store.entries.between(["ukraine"], start, end))
        print(f"[{label}] entries of 'ukraine' on the last day: {per_day}")
        return result
    finally:
        await store.close()


async def pg_admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def report(label: str, figures: dict[str, list[float]]) -> str:
    lines = []
    for name, values in figures.items():
        lines.append(
            f"| {label} | {name} | {len(values)} | {statistics.median(values):.1f} | "
            f"{percentile(values, 0.95):.1f} | {max(values):.1f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    today = date(2026, 11, 29)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        rows.append(report("SQLite", await run(url, "SQLite", args.entries, args.queries, today)))
    if not args.no_postgres:
        base = make_url(os.environ.get("TICKERBOT_BENCH_PG_URL", DEFAULT_PG))
        admin = base.render_as_string(hide_password=False)
        bench_url = base.set(database=BENCH_DB).render_as_string(hide_password=False)
        try:
            await pg_admin(admin, f"DROP DATABASE IF EXISTS {BENCH_DB}")
            await pg_admin(admin, f"CREATE DATABASE {BENCH_DB}")
        except (OSError, Exception) as error:  # noqa: BLE001 - any failure means "no server"
            print(f"[PostgreSQL] skipped: {error}")
        else:
            try:
                rows.append(
                    report(
                        "PostgreSQL",
                        await run(bench_url, "PostgreSQL", args.entries, args.queries, today),
                    )
                )
            finally:
                await pg_admin(admin, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    print()
    machine = cpu_model()
    now = f"{datetime.now(UTC):%F %H:%M} UTC"
    print(f"{args.entries:,} entries; {os.cpu_count()} CPUs; {machine}; {now}")
    print("| database | operation | runs | median ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
