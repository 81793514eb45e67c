"""Leader election: PostgreSQL advisory lock (needs TICKERBOT_TEST_DATABASE_URL) and the
SQLite single-process guard (always runs; the second process is a real subprocess)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.leader import (
    AlreadyRunning,
    AlwaysActive,
    LeadershipReleased,
    PostgresLeadership,
    SqliteGuard,
    asyncpg_dsn,
    leadership_for,
    lock_key,
    serve_while_active,
)

PG_URL = os.environ.get("TICKERBOT_TEST_DATABASE_URL", "")
needs_pg = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="TICKERBOT_TEST_DATABASE_URL not set"
)
REPO = Path(__file__).resolve().parents[1]


# --- pure parts ---------------------------------------------------------------------------


def test_lock_key_is_stable_and_fits_bigint() -> None:
    key = lock_key("tickerbot")
    assert key == lock_key("tickerbot")
    assert key != lock_key("tickerbot-2")
    assert -(2**63) <= key < 2**63
    # Fixed value: a change would let an old and a new version be active at the same time.
    assert key == int.from_bytes(
        __import__("hashlib").sha256(b"tickerbot-leader:tickerbot").digest()[:8], "big", signed=True
    )


def test_asyncpg_dsn() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p@h:5432/db?ssl=require") == (
        "postgresql://u:p@h:5432/db?ssl=require"
    )
    with pytest.raises(ValueError):
        asyncpg_dsn("sqlite+aiosqlite:///x.db")


def test_leadership_for_dispatch(tmp_path: Path) -> None:
    assert isinstance(leadership_for("postgresql+asyncpg://u@h/db"), PostgresLeadership)
    assert isinstance(leadership_for("sqlite+aiosqlite://"), AlwaysActive)
    assert isinstance(leadership_for("sqlite+aiosqlite:///:memory:"), AlwaysActive)
    guard = leadership_for(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert isinstance(guard, SqliteGuard)
    assert guard.lock_path == tmp_path / "bot.db.lock"


def test_heartbeat_must_be_faster_than_server_timeout() -> None:
    with pytest.raises(ValueError):
        PostgresLeadership(
            "postgresql+asyncpg://u@h/db",
            heartbeat_seconds=5,
            heartbeat_timeout_seconds=5,
            server_idle_timeout_seconds=8,
        )


# --- serve_while_active ----------------------------------------------------------------


class FakeLeadership:
    """Becomes active when ``grant`` is set; the test sets ``lost`` to simulate a loss."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.grant = asyncio.Event()
        self.active = False
        self.released = 0

    @property
    def role(self) -> str:
        return "active" if self.active else "standby"

    async def acquire(self) -> None:
        self.lost.clear()
        await self.grant.wait()
        self.grant.clear()
        self.active = True

    async def release(self) -> None:
        self.active = False
        self.released += 1


class Phases:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.changed = asyncio.Event()

    async def start(self) -> None:
        self.log.append("start")
        self.changed.set()

    async def stop(self) -> None:
        self.log.append("stop")
        self.changed.set()

    async def until(self, *expected: str) -> None:
        while tuple(self.log[: len(expected)]) != expected:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 2)


async def test_serve_while_active_cycles_through_loss_and_stops() -> None:
    leadership, phases, stopping = FakeLeadership(), Phases(), asyncio.Event()
    roles: list[str] = []
    task = asyncio.create_task(
        serve_while_active(
            leadership,  # type: ignore[arg-type]
            start_active=phases.start,
            stop_active=phases.stop,
            stopping=stopping,
            on_role=roles.append,
        )
    )
    await asyncio.sleep(0.05)
    assert phases.log == []  # standby: nothing started
    leadership.grant.set()
    await phases.until("start")
    leadership.active = False
    leadership.lost.set()
    await phases.until("start", "stop")
    leadership.grant.set()  # rejoined as standby, wins again
    await phases.until("start", "stop", "start")
    stopping.set()
    await asyncio.wait_for(task, 2)
    assert phases.log == ["start", "stop", "start", "stop"]
    assert roles == ["active", "standby", "active", "standby"]
    assert leadership.released == 1


async def test_serve_while_active_stops_while_standby() -> None:
    leadership, phases, stopping = FakeLeadership(), Phases(), asyncio.Event()
    task = asyncio.create_task(
        serve_while_active(
            leadership,  # type: ignore[arg-type]
            start_active=phases.start,
            stop_active=phases.stop,
            stopping=stopping,
        )
    )
    await asyncio.sleep(0.05)
    stopping.set()
    await asyncio.wait_for(task, 2)
    assert phases.log == []
    assert leadership.released == 1


async def test_serve_while_active_stops_even_if_start_fails() -> None:
    leadership, phases, stopping = FakeLeadership(), Phases(), asyncio.Event()

    async def broken_start() -> None:
        raise RuntimeError("boom")

    leadership.grant.set()
    with pytest.raises(RuntimeError, match="boom"):
        await serve_while_active(
            leadership,  # type: ignore[arg-type]
            start_active=broken_start,
            stop_active=phases.stop,
            stopping=stopping,
        )
    assert phases.log == ["stop"]
    assert leadership.released == 1


async def test_serve_while_active_sqlite_refusal_propagates(tmp_path: Path) -> None:
    holder = SqliteGuard(tmp_path / "x.db")
    await holder.acquire()
    try:
        with pytest.raises(AlreadyRunning):
            await serve_while_active(
                SqliteGuard(tmp_path / "x.db"),
                start_active=Phases().start,
                stop_active=Phases().stop,
                stopping=asyncio.Event(),
            )
    finally:
        await holder.release()


# --- SQLite guard --------------------------------------------------------------------------

_SECOND_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from bot.leader import AlreadyRunning, leadership_for

    async def main() -> int:
        guard = leadership_for(sys.argv[1])
        try:
            await guard.acquire()
        except AlreadyRunning as exc:
            print(exc)
            return 3
        print("ACQUIRED")
        await guard.release()
        return 0

    sys.exit(asyncio.run(main()))
    """
)


def _second_process(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SECOND_PROCESS, url],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )


async def test_sqlite_second_process_is_refused_with_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "tickerbot.db"
    url = f"sqlite+aiosqlite:///{db}"
    guard = leadership_for(url)
    await guard.acquire()
    assert guard.role == "active"
    try:
        result = await asyncio.to_thread(_second_process, url)
        assert result.returncode == 3, result.stderr
        assert result.stdout.strip() == (
            f"another tickerbot process is using {db} (pid {os.getpid()})"
        )
    finally:
        await guard.release()
    # Released: the next process gets it.
    result = await asyncio.to_thread(_second_process, url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ACQUIRED"


async def test_sqlite_guard_in_process_and_reacquire(tmp_path: Path) -> None:
    first = SqliteGuard(tmp_path / "a.db")
    second = SqliteGuard(tmp_path / "a.db")
    await first.acquire()
    with pytest.raises(AlreadyRunning, match=r"another tickerbot process is using .*a\.db \(pid"):
        await second.acquire()
    await first.release()
    await second.acquire()
    assert second.role == "active"
    await second.release()


async def test_in_memory_needs_no_lock() -> None:
    first, second = leadership_for("sqlite+aiosqlite://"), leadership_for("sqlite+aiosqlite://")
    await first.acquire()
    await second.acquire()
    assert first.role == second.role == "active"
    await first.release()
    await second.release()


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def lock_name() -> str:
    """A fresh lock per test: never collides with a running bot or another test."""
    return f"test-{uuid.uuid4().hex[:12]}"


def _pg(name: str, **options: float) -> PostgresLeadership:
    settings: dict[str, float] = {"retry_seconds": 0.1, "heartbeat_seconds": 0.2}
    settings.update(options)
    return PostgresLeadership(PG_URL, name=name, **settings)


@pytest.fixture
async def admin() -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
    try:
        yield conn
    finally:
        await conn.close()


async def _standby_for_a_while(task: asyncio.Task[None]) -> None:
    await asyncio.sleep(0.5)
    assert not task.done(), "the second replica must wait while the first is active"


@needs_pg
async def test_pg_second_waits_until_first_releases(lock_name: str) -> None:
    first, second = _pg(lock_name), _pg(lock_name)
    await asyncio.wait_for(first.acquire(), 5)
    assert first.role == "active"
    waiting = asyncio.create_task(second.acquire())
    try:
        await _standby_for_a_while(waiting)
        assert second.role == "standby"
        started = time.monotonic()
        await first.release()
        await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - started < 2
        assert second.role == "active"
        assert not first.lost.is_set(), "a release is not a loss"
    finally:
        waiting.cancel()
        await second.release()
        await first.release()


@needs_pg
async def test_pg_terminated_backend_loses_at_once_and_standby_takes_over(
    lock_name: str, admin: asyncpg.Connection
) -> None:
    reasons: list[str] = []
    first = PostgresLeadership(
        PG_URL, name=lock_name, retry_seconds=0.1, heartbeat_seconds=0.2, on_lost=reasons.append
    )
    second = _pg(lock_name)
    await asyncio.wait_for(first.acquire(), 5)
    waiting = asyncio.create_task(second.acquire())
    try:
        await _standby_for_a_while(waiting)
        started = time.monotonic()
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first.backend_pid)
        await asyncio.wait_for(first.lost.wait(), 2)
        lost_after = time.monotonic() - started
        assert first.role == "standby"
        assert first.lost_reason == "database connection closed"
        assert reasons == ["database connection closed"]
        await asyncio.wait_for(waiting, 5)
        assert second.role == "active"
        # The termination listener fires without waiting for the next heartbeat.
        assert lost_after < 0.5
        # The loser may rejoin, as a standby now.
        rejoin = asyncio.create_task(first.acquire())
        await _standby_for_a_while(rejoin)
        assert not first.lost.is_set()
        rejoin.cancel()
        with pytest.raises(asyncio.CancelledError):
            await rejoin
    finally:
        waiting.cancel()
        await second.release()
        await first.release()


@needs_pg
async def test_pg_failed_heartbeat_means_lost(
    lock_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _pg(lock_name, heartbeat_timeout_seconds=0.3), _pg(lock_name)
    await asyncio.wait_for(first.acquire(), 5)
    waiting = asyncio.create_task(second.acquire())
    try:
        await _standby_for_a_while(waiting)
        conn = first._conn
        assert conn is not None
        real_fetchval = asyncpg.Connection.fetchval

        async def hanging(self: asyncpg.Connection, *args: object, **kwargs: object) -> object:
            """The first's server stops answering: asyncpg's own timeout fires."""
            if self is conn:
                await asyncio.sleep(float(kwargs.get("timeout") or 1))  # type: ignore[arg-type]
                raise TimeoutError
            return await real_fetchval(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(asyncpg.Connection, "fetchval", hanging)
        await asyncio.wait_for(first.lost.wait(), 2)
        assert first.lost_reason is not None and "timed out" in first.lost_reason
        # The connection was dropped, so the server freed the lock for the standby.
        assert conn.is_closed()
        await asyncio.wait_for(waiting, 5)
        assert second.role == "active"
    finally:
        waiting.cancel()
        await second.release()
        await first.release()


@needs_pg
async def test_pg_session_is_tuned_for_fast_detection(lock_name: str) -> None:
    leader = _pg(lock_name)
    await asyncio.wait_for(leader.acquire(), 5)
    try:
        conn = leader._conn
        assert conn is not None
        assert await conn.fetchval("SHOW tcp_keepalives_idle") in ("5", "5s")
        if conn.get_server_version().major >= 14:
            assert await conn.fetchval("SHOW idle_session_timeout") == "8s"
        held = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid()"
        )
        assert held == 1
    finally:
        await leader.release()


@needs_pg
async def test_pg_release_or_cancel_while_standby(
    lock_name: str, admin: asyncpg.Connection
) -> None:
    first, second = _pg(lock_name), _pg(lock_name)
    await asyncio.wait_for(first.acquire(), 5)
    try:
        waiting = asyncio.create_task(second.acquire())
        await _standby_for_a_while(waiting)
        await second.release()
        with pytest.raises(LeadershipReleased):
            await asyncio.wait_for(waiting, 2)
        waiting = asyncio.create_task(second.acquire())
        await _standby_for_a_while(waiting)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.1)
        sessions = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            f"tickerbot-leader:{lock_name}",
        )
        assert sessions == 1, "the cancelled standby must not leave a session behind"
    finally:
        await second.release()
        await first.release()


async def test_pg_standby_survives_unreachable_database(lock_name: str) -> None:
    leader = PostgresLeadership(
        "postgresql+asyncpg://postgres@127.0.0.1:1/test",
        name=lock_name,
        retry_seconds=0.1,
        connect_timeout_seconds=0.5,
    )
    waiting = asyncio.create_task(leader.acquire())
    await asyncio.sleep(0.4)
    assert not waiting.done()
    await leader.release()
    with pytest.raises(LeadershipReleased):
        await asyncio.wait_for(waiting, 2)


@needs_pg
async def test_pg_two_replicas_hand_over(lock_name: str, admin: asyncpg.Connection) -> None:
    """Two full life cycles: the active's backend dies, the other one starts its active half."""
    stopping = asyncio.Event()
    first_leader, second_leader = _pg(lock_name), _pg(lock_name)
    first, second = Phases(), Phases()
    tasks = [
        asyncio.create_task(
            serve_while_active(
                first_leader, start_active=first.start, stop_active=first.stop, stopping=stopping
            )
        )
    ]
    await first.until("start")
    tasks.append(
        asyncio.create_task(
            serve_while_active(
                second_leader,
                start_active=second.start,
                stop_active=second.stop,
                stopping=stopping,
            )
        )
    )
    try:
        await asyncio.sleep(0.5)
        assert second.log == []
        await admin.fetchval("SELECT pg_terminate_backend($1)", first_leader.backend_pid)
        await first.until("start", "stop")
        await second.until("start")
        stopping.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert first.log == ["start", "stop"]
        assert second.log == ["start", "stop"]
    finally:
        stopping.set()
        for task in tasks:
            task.cancel()
