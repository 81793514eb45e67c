"""Search: query parsing and highlighting (pure), and the storage search on SQLite (default)
and PostgreSQL (TICKERBOT_TEST_DATABASE_URL), which must agree with the reference rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Storage
from storage.search import SearchRepository, fts5_match, like_pattern
from storage.sources import SourceConfig
from ticker.model import Entry
from ticker.search_query import (
    MAX_TERMS,
    ParsedQuery,
    QueryUsage,
    _normalized_with_positions,
    highlight,
    matches,
    normalize,
    parse_query,
)

T0 = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)

BAD_INPUTS = [
    "",
    "   ",
    '"',
    '""',
    '"""',
    "*",
    "NEAR",
    "NEAR(a b)",
    "a:b",
    "headline:Kiew",
    "(Kiew",
    "^Kiew",
    "Kiew*",
    "'; DROP TABLE entries;--",
    "%",
    "_",
    "\\",
    "🔥🇺🇦",
    "Kiew 🔥",
    '"unbalanced phrase',
    "-",
    "--",
    "-Kiew",
    "AND OR NOT",
    "\x00\x01",
    "Kiew " * 1000,
    "x" * 5000,
]


def parsed(raw: str) -> ParsedQuery:
    result = parse_query(raw)
    assert isinstance(result, ParsedQuery), result
    return result


# ---- parsing -------------------------------------------------------------------------------


def test_words_phrases_and_excludes() -> None:
    q = parsed('Drohne "schwere Angriffe" -Übung Kiew')
    assert q.words == ("drohne", "kiew")
    assert q.phrases == ("schwere angriffe",)
    assert q.excludes == ("ubung",)


def test_german_quotes_and_unbalanced_quote() -> None:
    assert parsed("„Lage in Pokrowsk“ Front").phrases == ("lage in pokrowsk",)
    q = parsed('Front "Lage in Pokrowsk')
    assert q.words == ("front",) and q.phrases == ("lage in pokrowsk",)


def test_inner_punctuation_makes_a_phrase_term_not_an_exclude() -> None:
    q = parsed("F-16 a:b")
    assert q.words == ("f 16", "a b") and q.excludes == ()


def test_nothing_searchable_is_usage() -> None:
    assert parse_query("") == QueryUsage("empty")
    assert parse_query('  " * 🔥 ') == QueryUsage("empty")
    assert parse_query("-Kiew -Charkiw") == QueryUsage("only_excludes")


def test_caps() -> None:
    q = parsed(" ".join(f"w{i}" for i in range(50)))
    assert len(q.includes) == MAX_TERMS and q.truncated
    q = parsed("a" * 5000)
    assert q.words == ("a" * 300,) and q.truncated


def test_duplicates_dropped() -> None:
    assert parsed("Kiew kiew KIEW").words == ("kiew",)


@pytest.mark.parametrize("raw", BAD_INPUTS)
def test_bad_inputs_never_raise(raw: str) -> None:
    result = parse_query(raw)
    if isinstance(result, ParsedQuery):
        assert result.includes
        for term in (*result.includes, *result.excludes):
            assert term == normalize(term) and term
        fts5_match(result)  # builds without error


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_parse_any_text(raw: str) -> None:
    result = parse_query(raw)
    assert isinstance(result, ParsedQuery | QueryUsage)
    if isinstance(result, ParsedQuery):
        assert 0 < len(result.includes) + len(result.excludes) <= MAX_TERMS
        assert all(set(t) <= set(normalize(t)) | {" "} for t in result.includes)


def test_fts5_and_like_quoting() -> None:
    q = ParsedQuery(words=("kiew", "eu"), excludes=("near",))
    assert fts5_match(q) == '("kiew" AND " eu ") NOT ("near")'
    assert like_pattern("a_b") == "%a\\_b%"
    assert like_pattern("eu") == "% eu %"


# ---- matching rule and highlighting --------------------------------------------------------


def test_reference_rule() -> None:
    assert matches(parsed("drohne"), "Drohnenangriffe auf Kiew", "")
    assert matches(parsed("charkiw"), "Chárkiw", "")
    assert matches(parsed("strasse"), "Straße gesperrt", "")
    assert matches(parsed("EU"), "Die EU-Kommission", "")
    assert not matches(parsed("EU"), "Neue Angriffe heute", "")
    assert matches(parsed('"angriff auf"'), "Angriff, auf Kiew", "")
    assert not matches(parsed("kiew -charkiw"), "Kiew", "und Charkiw")


def test_highlight_maps_back_to_original_text() -> None:
    segments = highlight("Neue Drohnenangriffe auf Chárkiw", parsed("drohne charkiw"))
    assert segments == [
        ("Neue ", False),
        ("Drohne", True),
        ("nangriffe auf ", False),
        ("Chárkiw", True),
    ]
    assert highlight("Die Straße", parsed("strasse")) == [("Die ", False), ("Straße", True)]
    # Decomposed accent stays inside the highlighted span.
    decomposed = "Cha\u0301rkiw!"
    assert highlight(decomposed, parsed("charkiw")) == [("Cha\u0301rkiw", True), ("!", False)]
    # Short terms only as whole words, and the phrase across punctuation.
    assert highlight("EU: neue Hilfe", parsed("eu")) == [("EU", True), (": neue Hilfe", False)]
    assert highlight("Angriff, auf Kiew", parsed('"angriff auf"')) == [
        ("Angriff, auf", True),
        (" Kiew", False),
    ]
    assert highlight("", parsed("x")) == []


@given(st.text(max_size=200), st.text(max_size=40))
@settings(max_examples=300)
def test_highlight_covers_text_and_agrees_with_normalize(text: str, raw: str) -> None:
    normalized, positions = _normalized_with_positions(text)
    expected = normalize(text)
    assert normalized == (f" {expected} " if expected else " ")
    assert len(positions) == len(normalized)
    result = parse_query(raw)
    if isinstance(result, ParsedQuery):
        segments = highlight(text, result)
        assert "".join(s for s, _ in segments) == text
        found = any(matches(ParsedQuery(words=(t,)), text, "") for t in result.includes)
        assert any(hit for _, hit in segments) == found


# ---- storage -------------------------------------------------------------------------------


def entry(key: str, minutes: int, headline: str, body: str = "") -> Entry:
    return Entry(
        key=key,
        published_at=T0 + timedelta(minutes=minutes),
        headline=headline,
        body=body,
        url=f"https://example.org/t#{key}",
    )


CORPUS = [
    entry("a", 0, "Drohnenangriffe auf Charkiw", "Die Region wurde in der Nacht angegriffen."),
    entry("b", 10, "Selenskyj in Kiew", "Der Präsident traf die EU-Kommission."),
    entry("c", 20, "Lage in Chárkiw angespannt", "Schwere Angriffe auf die Stadt."),
    entry("d", 30, "Neue Hilfe aus Brüssel", "Heute beschlossen: Munition."),
    entry("e", 40, "Straße nach Kiew gesperrt", "Angriff, auf Kiew abgewehrt."),
    entry("f", 50, "Kiew meldet Abschüsse", "Mehrere Drohnen über Kiew abgeschossen."),
]


@pytest.fixture
async def search(storage: Storage) -> SearchRepository:
    await storage.sources.sync(
        [
            SourceConfig("ukraine", "Liveticker", "https://example.org/t"),
            SourceConfig("other", "Anderer Ticker", "https://example.org/o"),
        ]
    )
    await storage.entries.ingest("ukraine", CORPUS)
    return SearchRepository(storage.database)


async def keys(repo: SearchRepository, raw: str, **kwargs: Any) -> list[str]:
    """Keys found for ``raw``; every query plan must give the same answer."""
    result = parse_query(raw)
    if isinstance(result, QueryUsage):
        return []
    source_ids = kwargs.pop("source_ids", None)
    answers = {
        plan: [e.key for e in await repo.search(result, source_ids=source_ids, plan=plan, **kwargs)]
        for plan in ("auto", "indexed", "scan")
    }
    assert answers["indexed"] == answers["scan"] == answers["auto"], (raw, answers)
    return answers["auto"]


async def test_words_any_order_newest_first(search: SearchRepository) -> None:
    assert await keys(search, "kiew") == ["f", "e", "b"]
    assert await keys(search, "kiew selenskyj") == ["b"]
    assert await keys(search, "selenskyj kiew") == ["b"]


async def test_compounds_case_and_accents(search: SearchRepository) -> None:
    assert await keys(search, "drohne") == ["f", "a"]
    assert await keys(search, "DROHNENANGRIFFE") == ["a"]
    assert await keys(search, "charkiw") == ["c", "a"]
    assert await keys(search, "Chárkiw") == ["c", "a"]
    assert await keys(search, "strasse") == ["e"]
    assert await keys(search, "brussel") == ["d"]
    assert await keys(search, "präsident") == ["b"]


async def test_phrase_and_exclude(search: SearchRepository) -> None:
    assert await keys(search, '"angriffe auf"') == ["c", "a"]
    assert await keys(search, '"auf angriffe"') == []
    assert await keys(search, '"angriff auf kiew"') == ["e"]
    assert await keys(search, "kiew -drohnen") == ["e", "b"]
    assert await keys(search, 'kiew -"straße nach"') == ["f", "b"]


async def test_short_terms_match_whole_words(search: SearchRepository) -> None:
    assert await keys(search, "EU") == ["b"]  # not "neue", "heute"
    assert await keys(search, "eu kommission") == ["b"]
    assert await keys(search, "in") == ["c", "b", "a"]


async def test_agrees_with_reference_rule(search: SearchRepository) -> None:
    for raw in ["kiew", "angriff", "die", "auf -kiew", '"in der"', "a", "ab", "e kiew"]:
        query = parsed(raw)
        expected = [e.key for e in sorted(CORPUS, key=lambda e: e.published_at, reverse=True)]
        expected = [k for k in expected if matches(query, *_text(k))]
        assert await keys(search, raw) == expected, raw


def _text(key: str) -> tuple[str, str]:
    found = next(e for e in CORPUS if e.key == key)
    return found.headline, found.body


async def test_sources_limit_and_offset(storage: Storage, search: SearchRepository) -> None:
    await storage.entries.ingest(
        "other", [entry(f"o{i}", 100 + i, f"Meldung {i} aus Kiew") for i in range(25)]
    )
    all_kiew = await keys(search, "kiew")
    assert len(all_kiew) == 10 and all_kiew[0] == "o24"
    assert await keys(search, "kiew", source_ids=["ukraine"]) == ["f", "e", "b"]
    assert await keys(search, "kiew", source_ids=[]) == []
    page2 = await keys(search, "kiew", offset=10)
    page3 = await keys(search, "kiew", offset=20)
    assert page2 == [f"o{i}" for i in range(14, 4, -1)]
    assert page3 == ["o4", "o3", "o2", "o1", "o0", "f", "e", "b"]
    assert await keys(search, "kiew", limit=3) == ["o24", "o23", "o22"]
    assert await keys(search, "kiew", limit=-1) == []
    assert await keys(search, "kiew", offset=10**9) == []
    latest = await search.latest_for_inline(limit=3)
    assert [e.key for e in latest] == ["o24", "o23", "o22"]
    latest = await search.latest_for_inline(limit=2, offset=1, source_ids=["ukraine"])
    assert [e.key for e in latest] == ["e", "d"]


async def test_corrected_entry_is_found_by_new_text_only(
    storage: Storage, search: SearchRepository
) -> None:
    corrected = [e for e in CORPUS if e.key != "d"]
    corrected.append(entry("d", 30, "Neue Hilfe aus Washington", "Heute beschlossen: Panzer."))
    report = await storage.entries.ingest("ukraine", corrected)
    assert report.updated
    assert await keys(search, "brussel") == []
    assert await keys(search, "washington panzer") == ["d"]


async def test_deleted_entries_leave_the_index(storage: Storage, search: SearchRepository) -> None:
    from sqlalchemy import delete

    from storage.models import EntryRow, Source

    async with storage.database.session() as session:
        await session.execute(delete(EntryRow).where(EntryRow.key == "f"))
    assert await keys(search, "drohne") == ["a"]
    async with storage.database.session() as session:
        await session.execute(delete(Source).where(Source.id == "ukraine"))
    assert await keys(search, "kiew") == []
    # A new entry reusing a freed id is indexed with its own text.
    await storage.entries.ingest("other", [entry("z", 5, "Ganz neu")])
    assert await keys(search, "ganz neu") == ["z"]


async def test_auto_plan_switches_to_scan_for_common_terms(storage: Storage) -> None:
    await storage.sources.sync([SourceConfig("ukraine", "Liveticker", "https://example.org/t")])
    await storage.entries.ingest("ukraine", CORPUS)
    repo = SearchRepository(storage.database, common_threshold=2)
    assert await keys(repo, "kiew") == ["f", "e", "b"]  # 3 matches: scan
    assert await keys(repo, "brussel") == ["d"]  # 1 match: indexed
    assert await keys(repo, "kiew -drohnen", source_ids=["ukraine"]) == ["e", "b"]


async def test_reindex(storage: Storage, search: SearchRepository) -> None:
    assert await search.reindex(batch_size=4) == len(CORPUS)
    assert await keys(search, "kiew") == ["f", "e", "b"]


@pytest.mark.parametrize("raw", BAD_INPUTS)
async def test_bad_inputs_never_raise_in_storage(search: SearchRepository, raw: str) -> None:
    result = parse_query(raw)
    if isinstance(result, ParsedQuery):
        for plan in ("auto", "indexed", "scan"):
            found = await search.search(result, source_ids=None, plan=plan)
            assert all(matches(result, e.headline, e.body) for e in found)
    assert await search.latest_for_inline(limit=1)


async def test_sql_looking_text_is_just_words(storage: Storage, search: SearchRepository) -> None:
    await storage.entries.ingest(
        "other", [entry("sql", 1, "Bobby Tables", "'; DROP TABLE entries;-- stand im Text")]
    )
    assert await keys(search, "'; DROP TABLE entries;--") == ["sql"]
    assert await storage.entries.count() == len(CORPUS) + 1


async def test_pg_slow_walk_falls_back_to_the_index(
    storage: Storage, search: SearchRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planner's choice that runs past the timeout is answered again, correctly."""
    if storage.database.is_sqlite:
        pytest.skip("PostgreSQL only")
    from sqlalchemy import func

    import storage.search as module

    original = SearchRepository._indexed_conditions
    cancelled: list[str | None] = []

    def slow(self: SearchRepository, query: ParsedQuery) -> tuple[Any, ...]:
        return (*original(self, query), func.pg_sleep(0.02).is_not(None))

    def sqlstate(error: Any) -> str | None:
        cancelled.append(original_sqlstate(error))
        return cancelled[-1]

    original_sqlstate = module._sqlstate
    monkeypatch.setattr(SearchRepository, "_indexed_conditions", slow)
    monkeypatch.setattr(module, "_sqlstate", sqlstate)
    repo = SearchRepository(storage.database, pg_walk_timeout_ms=5)
    found = await repo.search(parsed("kiew"), source_ids=None)
    assert [e.key for e in found] == ["f", "e", "b"]
    assert cancelled == ["57014"]
    assert await repo.latest_for_inline(limit=1)  # the session is still healthy


async def test_migration_backfills_existing_entries(
    storage: Storage, search: SearchRepository
) -> None:
    from alembic import command
    from sqlalchemy.engine import Connection

    from storage.database import alembic_config

    def down(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0001")

    def up(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with storage.database.engine.begin() as connection:
        await connection.run_sync(down)
    async with storage.database.engine.begin() as connection:
        await connection.run_sync(up)
    assert await keys(search, "kiew") == ["f", "e", "b"]
    assert await keys(search, "EU") == ["b"]
