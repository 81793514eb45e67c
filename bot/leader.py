"""Exactly one active replica: leader election through the database the replicas share.

PostgreSQL (``postgresql+asyncpg://``): every replica opens one *dedicated* asyncpg connection
(outside the SQLAlchemy pool, so no pool recycling or pre-ping can ever drop it) and tries
``pg_try_advisory_lock(key)`` every ``retry_seconds``. A session-level advisory lock lives exactly
as long as the server session that took it, so PostgreSQL itself is the arbiter: no lease
clocks, no home-made protocol. The holder is *active*; the others are *standby*.

The active replica heartbeats (``SELECT 1`` with a short timeout every ``heartbeat_seconds``).
A failed or late heartbeat, or the connection closing under it (asyncpg's termination
listener fires at once, e.g. after ``pg_terminate_backend`` or a server restart), sets
``lost`` immediately and drops the connection, so the process stops acting as active at once.

How fast a standby takes over (the issue asks for 15 s), by failure mode:

* **process killed** (``kill -9``, OOM, crash): the kernel closes the socket, the idle
  backend reads EOF and exits, the lock is free at once. Takeover ≤ ``retry_seconds`` plus one
  round trip (``bench/failover.py``: median 0.4 s, max 1.1 s).
* **machine or network gone** (no FIN ever arrives): the server must notice by itself. We set,
  per session, ``idle_session_timeout`` (PostgreSQL ≥ 14) to ``server_idle_timeout_seconds``
  (8 s): the active session runs a query every 2 s, so it is never idle that long unless its
  client stopped — then the server ends the session and frees the lock. As a second line (and
  for PostgreSQL < 14) ``tcp_keepalives_idle/interval/count`` = 5/2/3 (dead peer noticed after
  ≈ 11 s) and ``tcp_user_timeout`` = 8 s (unacknowledged data, where keepalives do not run).
  Takeover ≤ 8 s (11 s) + ``retry_seconds`` + connect ≈ 10 s (13 s) < 15 s. The 2-hour kernel
  defaults would leave the lock held for hours.
* **process frozen** (SIGSTOP, VM paused, event loop blocked): the kernel still answers
  keepalives, so only ``idle_session_timeout`` frees the lock (8 s).

Measured (``bench/README.md``): freeze median 7.8 s / max 8.5 s, silent partition median
7.7 s / max 8.3 s.

Ordering: the old active gives up first. It declares loss at the latest
``heartbeat_seconds + heartbeat_timeout_seconds`` = 2 + 3 = 5 s after its last good heartbeat,
while the server frees the lock no earlier than 8 s after that heartbeat. So with a healthy
event loop there is no moment with two actives (measured under a partition: the old active
gave up ≥ 3.5 s before the new one started). A process frozen longer than 8 s finds its
connection closed by the server when it wakes and loses at once through the termination
listener, but work already due in that first loop iteration may still run; the outbox's
``FOR UPDATE SKIP LOCKED`` claims are what keep even that window from sending a delivery twice.

Not compatible with a transaction-pooling PgBouncer between bot and database: session
advisory locks need a real session. Point ``database.url`` at PostgreSQL or a session pooler.

SQLite: one process only. An exclusive non-blocking ``flock`` on ``<db>.lock`` held for the
process lifetime refuses a second process with a clear message; the kernel drops the lock when
the process dies, whatever the way, so there is never a stale lock to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("tickerbot.leader")

Role = Literal["active", "standby"]
LostCallback = Callable[[str], None]

RETRY_SECONDS = 1.5
HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TIMEOUT_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 5.0
SERVER_IDLE_TIMEOUT_SECONDS = 8.0
TCP_KEEPALIVES_IDLE = 5
TCP_KEEPALIVES_INTERVAL = 2
TCP_KEEPALIVES_COUNT = 3
TCP_USER_TIMEOUT_MS = 8000


class AlreadyRunning(Exception):
    """Another process holds the single-process guard (SQLite); the message is for the operator."""


class LeadershipReleased(Exception):
    """``release()`` was called while ``acquire()`` was still waiting as a standby."""


class Leadership(Protocol):
    """One replica's claim to be the active one.

    ``acquire()`` returns once this process is active (standbys wait inside it); ``lost`` is
    set when that stops being true for any reason other than ``release()``. After a loss,
    ``acquire()`` may be called again to rejoin as a standby.
    """

    lost: asyncio.Event

    @property
    def role(self) -> Role: ...

    async def acquire(self) -> None: ...

    async def release(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (same in every process and version).

    Python's ``hash()`` is salted per process, so it cannot be used; the first 8 bytes of a
    SHA-256 are stable and collide with another application's key only by accident.
    """
    digest = hashlib.sha256(f"tickerbot-leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (libpq form asyncpg reads)."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://…")
    return f"postgresql://{rest}"


class PostgresLeadership:
    """Session-level advisory lock on a dedicated asyncpg connection, with a heartbeat."""

    def __init__(
        self,
        database_url: str,
        *,
        name: str = "tickerbot",
        retry_seconds: float = RETRY_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        heartbeat_timeout_seconds: float = HEARTBEAT_TIMEOUT_SECONDS,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
        server_idle_timeout_seconds: float = SERVER_IDLE_TIMEOUT_SECONDS,
        on_lost: LostCallback | None = None,
    ) -> None:
        if heartbeat_seconds + heartbeat_timeout_seconds >= server_idle_timeout_seconds:
            # Otherwise the server could free the lock before we notice: two actives.
            raise ValueError("heartbeat + heartbeat timeout must be below the server idle timeout")
        self._dsn = asyncpg_dsn(database_url)
        self.name = name
        self.key = lock_key(name)
        self.retry_seconds = retry_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.heartbeat_timeout_seconds = heartbeat_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self.server_idle_timeout_seconds = server_idle_timeout_seconds
        self.on_lost = on_lost
        self.lost = asyncio.Event()
        self.lost_reason: str | None = None
        self._conn: asyncpg.Connection | None = None
        self._active = False
        self._stop = asyncio.Event()
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def role(self) -> Role:
        return "active" if self._active else "standby"

    @property
    def backend_pid(self) -> int | None:
        """The server process holding (or trying for) the lock; for logs and tests."""
        return None if self._conn is None else self._conn.get_server_pid()

    async def acquire(self) -> None:
        """Wait as a standby until the lock is ours; returns when active.

        Connection problems while waiting are logged and retried: a standby must survive a
        database restart. Raises ``LeadershipReleased`` if ``release()`` is called meanwhile;
        the task running it may also simply be cancelled.
        """
        if self._active:
            return
        self._stop.clear()
        rejoining = self.lost.is_set()
        self.lost.clear()
        self.lost_reason = None
        try:
            if rejoining:
                # Give the standbys, whose connections are evidently fine, the first chance.
                await self._wait_stop(2 * self.retry_seconds)
            await self._wait_for_lock()
        except BaseException:
            # Cancelled (or released) mid-try: the server may have granted the lock just now,
            # so drop the session rather than keep a lock nobody acts on.
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.terminate()
            raise
        self._active = True
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="leader-heartbeat")
        log.info("active: leadership acquired", extra={"lock": self.name})

    async def _wait_for_lock(self) -> None:
        logged_standby = False
        while not self._stop.is_set():
            try:
                if await self._try_lock():
                    return
                if not logged_standby:
                    log.info("standby: another replica is active", extra={"lock": self.name})
                    logged_standby = True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning(
                    "leader election: database unavailable, retrying",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
                await self._drop_connection()
            await self._wait_stop(self.retry_seconds)
        raise LeadershipReleased(self.name)

    async def release(self) -> None:
        """Give the lock back (standbys take over within ``retry_seconds``) and close."""
        self._stop.set()
        was_active = self._active
        self._active = False
        if self._heartbeat is not None:
            # The loop checks the stop event between heartbeats, so waiting is bounded by one
            # heartbeat timeout and the connection is never cancelled mid-query.
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        conn = self._conn
        if conn is not None and was_active and not conn.is_closed():
            try:
                await conn.execute(
                    "SELECT pg_advisory_unlock($1)",
                    self.key,
                    timeout=self.heartbeat_timeout_seconds,
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                log.debug("unlock failed; closing the session frees the lock anyway")
        await self._drop_connection()
        if was_active:
            log.info("leadership released", extra={"lock": self.name})

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            self._dsn,
            timeout=self.connect_timeout_seconds,
            command_timeout=self.heartbeat_timeout_seconds,
            server_settings={"application_name": f"tickerbot-leader:{self.name}"[:63]},
            statement_cache_size=0,
        )
        try:
            await self._configure_session(conn)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_terminated)
        return conn

    async def _configure_session(self, conn: asyncpg.Connection) -> None:
        """Make the *server* notice a vanished client fast (see the module docstring).

        Set after connecting rather than in the startup packet so that a server too old for
        one of them still accepts the connection.
        """
        version = conn.get_server_version().major
        settings: dict[str, str] = {
            "tcp_keepalives_idle": str(TCP_KEEPALIVES_IDLE),
            "tcp_keepalives_interval": str(TCP_KEEPALIVES_INTERVAL),
            "tcp_keepalives_count": str(TCP_KEEPALIVES_COUNT),
        }
        if version >= 12:
            settings["tcp_user_timeout"] = str(TCP_USER_TIMEOUT_MS)
        if version >= 14:
            settings["idle_session_timeout"] = f"{int(self.server_idle_timeout_seconds * 1000)}"
        for key, value in settings.items():
            # set_config takes parameters, so nothing is interpolated into SQL.
            await conn.execute("SELECT set_config($1, $2, false)", key, value)

    async def _try_lock(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        got = await self._conn.fetchval(
            "SELECT pg_try_advisory_lock($1)", self.key, timeout=self.heartbeat_timeout_seconds
        )
        return bool(got)

    async def _wait_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            await self._wait_stop(self.heartbeat_seconds)
            if self._stop.is_set() or not self._active:
                return
            conn = self._conn
            if conn is None or conn.is_closed():
                self._lose("database connection closed")
                return
            try:
                await conn.fetchval("SELECT 1", timeout=self.heartbeat_timeout_seconds)
            except TimeoutError:
                self._lose(f"heartbeat timed out after {self.heartbeat_timeout_seconds:g} s")
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._lose(f"heartbeat failed: {type(exc).__name__}: {exc}")
                return

    def _on_terminated(self, conn: asyncpg.Connection) -> None:
        """asyncpg calls this as soon as the connection is gone, between heartbeats too."""
        if conn is self._conn and self._active and not self._stop.is_set():
            self._lose("database connection closed")

    def _lose(self, reason: str) -> None:
        if not self._active:
            return
        self._active = False
        self.lost_reason = reason
        log.error("leadership lost: stop acting as active", extra={"reason": reason})
        # Terminate (no network round trip): if the server still has the session it sees EOF
        # and frees the lock; if it does not, nothing is lost.
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
        self.lost.set()
        if self.on_lost is not None:
            self.on_lost(reason)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=self.heartbeat_timeout_seconds)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            conn.terminate()


def _pid_in(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


class SqliteGuard:
    """Single-process guard for a SQLite file: ``flock(LOCK_EX | LOCK_NB)`` on ``<db>.lock``.

    ``flock`` is tied to the open file and released by the kernel when the process ends, so a
    crash never leaves a stale lock; the file itself stays (deleting it would race with a
    starting process). The pid written into it only makes the refusal message useful.
    """

    def __init__(self, database_path: str | os.PathLike[str]) -> None:
        self.database_path = Path(database_path).resolve()
        self.lock_path = self.database_path.with_name(self.database_path.name + ".lock")
        self.lost = asyncio.Event()
        self._fd: int | None = None

    @property
    def role(self) -> Role:
        return "active" if self._fd is not None else "standby"

    async def acquire(self) -> None:
        """Take the guard or raise ``AlreadyRunning`` at once (a second process must not wait)."""
        if self._fd is not None:
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(
                f"another tickerbot process is using {self.database_path} "
                f"(pid {_pid_in(self.lock_path)})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AlwaysActive:
    """No election needed (in-memory SQLite): only this process can see that database."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self._active = False

    @property
    def role(self) -> Role:
        return "active" if self._active else "standby"

    async def acquire(self) -> None:
        self._active = True

    async def release(self) -> None:
        self._active = False


def _sqlite_path(database_url: str) -> str | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    url = make_url(database_url)
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
        if database in ("", ":memory:"):
            return None
    return database


def leadership_for(database_url: str, *, name: str = "tickerbot", **options: Any) -> Leadership:
    """The right election for ``database_url``; ``options`` go to ``PostgresLeadership``."""
    if database_url.startswith("postgresql"):
        return PostgresLeadership(database_url, name=name, **options)
    if make_url(database_url).get_backend_name() == "sqlite":
        path = _sqlite_path(database_url)
        return AlwaysActive() if path is None else SqliteGuard(path)
    raise ValueError(f"no leader election for {database_url.partition('://')[0]}")


async def _first(*events: asyncio.Event) -> None:
    """Wait until any of ``events`` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def serve_while_active(
    leadership: Leadership,
    *,
    start_active: Callable[[], Awaitable[None]],
    stop_active: Callable[[], Awaitable[None]],
    stopping: asyncio.Event,
    on_role: Callable[[Role], None] | None = None,
) -> None:
    """The replica life cycle, so ``bot/app.py`` only supplies the two halves.

    Until ``stopping`` is set: wait as a standby, then ``start_active()``, then wait for
    ``stopping`` or a loss of leadership, then ``stop_active()``, and after a loss rejoin as a
    standby. ``stop_active()`` runs on every path out of the active phase, also when
    ``start_active()`` failed half-way. Leadership is released on the way out, so a clean
    shutdown hands over within one standby retry instead of a server timeout.
    ``AlreadyRunning`` (SQLite) propagates from the first ``acquire()``.
    """
    acquiring: asyncio.Task[None] | None = None
    try:
        while not stopping.is_set():
            acquiring = asyncio.create_task(leadership.acquire(), name="leader-acquire")
            await _first_task_or(acquiring, stopping)
            if not acquiring.done():
                return
            acquiring.result()
            if on_role is not None:
                on_role("active")
            try:
                await start_active()
                await _first(stopping, leadership.lost)
            except Exception:
                if not leadership.lost.is_set():
                    raise
                # Starting failed because the database went away: that is the loss itself.
                log.warning("active start interrupted by loss of leadership", exc_info=True)
            finally:
                await stop_active()
                if on_role is not None:
                    on_role("standby")
    finally:
        if acquiring is not None and not acquiring.done():
            # Stopping (or this task cancelled) while standby: stop waiting for the lock.
            acquiring.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeadershipReleased):
                await acquiring
        await leadership.release()


async def _first_task_or(task: asyncio.Task[None], event: asyncio.Event) -> None:
    """Wait until ``task`` finishes or ``event`` is set, without consuming the task's result."""
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
