"""Shared fixtures. Storage-backed tests use SQLite, or PostgreSQL when
TICKERBOT_TEST_DATABASE_URL is set (as .ci/run does for the second pass)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage import Storage

FIXTURES = Path(__file__).parent / "fixtures"
PG_ENV = "TICKERBOT_TEST_DATABASE_URL"


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    url = os.environ.get(PG_ENV)
    if url:
        await _reset_postgres(url)
        yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'tickerbot.db'}"


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    store = Storage.open(database_url)
    await store.database.upgrade()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def seed_text() -> str:
    return (FIXTURES / "liveticker_seed_de.txt").read_text(encoding="utf-8")
