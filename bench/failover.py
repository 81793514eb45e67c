"""Failover takeover time, measured with real processes on a real PostgreSQL.

    python bench/failover.py [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                             [--replicas 3] [--rounds 5] [--scenario kill|freeze]

Starts N replica processes (this file, ``replica`` sub-command), each running
``bot.leader.PostgresLeadership`` with the production defaults: the one that wins prints
``ACTIVE <pid> <monotonic>``, the others ``STANDBY <pid>``. Each round kills the active one and
measures, on the machine-wide monotonic clock (``CLOCK_MONOTONIC`` is shared by all processes),
the time from the signal to the next ``ACTIVE`` line; a fresh replica replaces the victim so
every round starts with N.

Scenarios:
* ``kill``   — ``kill -9``: the kernel closes the socket, the server frees the lock at once;
  takeover is bounded by the standbys' retry interval.
* ``freeze`` — ``kill -STOP``: the process hangs with its socket open (the kernel even answers
  keepalives), the worst case next to a vanished machine. Only the server-side
  ``idle_session_timeout`` frees the lock; takeover ≈ that timeout + retry interval.
* ``partition`` — every replica talks to PostgreSQL through its own TCP proxy in this process;
  the victim's proxy starts swallowing all bytes both ways without closing anything (no FIN, no
  RST: a network partition as the applications see it). The victim must notice by its
  heartbeat timeout and print ``LOST`` *before* the server frees the lock and another replica
  prints ``ACTIVE``; the bench prints that margin (negative would mean two actives) and fails
  if it is not positive.

Exit status 1 if any takeover took 15 s or more (the issue's bound). This is the election
alone; the whole-bot failover (outbox continues, every chat gets each entry once) is measured
once ``bot/app.py`` wires leadership in.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BOUND_SECONDS = 15.0
SCRIPT = os.path.abspath(__file__)


# --- replica ----------------------------------------------------------------------------


async def replica(url: str, name: str) -> None:
    from bot.leader import PostgresLeadership

    logging.disable(logging.ERROR)  # the coordinator prints what matters
    pid = os.getpid()
    leadership = PostgresLeadership(url, name=name)
    while True:
        print(f"STANDBY {pid}", flush=True)
        await leadership.acquire()
        print(f"ACTIVE {pid} {time.monotonic():.6f}", flush=True)
        await leadership.lost.wait()
        print(f"LOST {pid} {time.monotonic():.6f} {leadership.lost_reason}", flush=True)


# --- coordinator ------------------------------------------------------------------------


class BlackholeProxy:
    """A TCP forwarder that can be switched to drop everything silently (a partition)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.target_port = port
        self.blackholed = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_w)
        try:
            server_r, server_w = await asyncio.open_connection(self.host, self.target_port)
            self._writers.add(server_w)
            await asyncio.gather(
                self._pipe(client_r, server_w),
                self._pipe(server_r, client_w),
                return_exceptions=True,
            )
        finally:
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if not self.blackholed:
                writer.write(data)
                await writer.drain()
        if not self.blackholed:  # in a partition not even the FIN gets through
            writer.close()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    proxy: BlackholeProxy | None = None
    standby: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int:
        return self.process.pid


class Cluster:
    def __init__(self, url: str, name: str, *, proxied: bool = False) -> None:
        self.url = url
        self.name = name
        self.proxied = proxied
        self.replicas: dict[int, Replica] = {}
        self.actives: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        self.losses: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        self._readers: list[asyncio.Task[None]] = []

    async def spawn(self) -> Replica:
        url, proxy = self.url, None
        if self.proxied:
            parsed = make_url(self.url)
            proxy = BlackholeProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
            await proxy.start()
            url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
                hide_password=False
            )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            SCRIPT,
            "replica",
            "--url",
            url,
            "--name",
            self.name,
            stdout=asyncio.subprocess.PIPE,
        )
        replica = Replica(process, proxy)
        self.replicas[process.pid] = replica
        self._readers.append(asyncio.create_task(self._read(replica)))
        return replica

    async def _read(self, replica: Replica) -> None:
        assert replica.process.stdout is not None
        async for raw in replica.process.stdout:
            words = raw.decode().split()
            if not words:
                continue
            if words[0] == "STANDBY":
                replica.standby.set()
            elif words[0] == "ACTIVE":
                await self.actives.put((int(words[1]), float(words[2])))
            elif words[0] == "LOST":
                print(f"  replica {words[1]} lost leadership: {' '.join(words[3:])}", flush=True)
                await self.losses.put((int(words[1]), float(words[2])))

    async def kill(self, pid: int) -> None:
        replica = self.replicas.pop(pid)
        with contextlib.suppress(ProcessLookupError):
            replica.process.send_signal(signal.SIGKILL)
        await replica.process.wait()
        if replica.proxy is not None:
            await replica.proxy.aclose()

    async def close(self) -> None:
        for pid in list(self.replicas):
            await self.kill(pid)
        for reader in self._readers:
            reader.cancel()


@dataclass
class Round:
    takeover: float
    lost_after: float | None = None  # partition: when the victim stopped acting as active

    @property
    def margin(self) -> float | None:
        """Time between the old active giving up and the new one starting (> 0: no overlap)."""
        return None if self.lost_after is None else self.takeover - self.lost_after


async def measure(url: str, replicas: int, rounds: int, scenario: str) -> list[Round]:
    name = f"bench-failover-{uuid.uuid4().hex[:8]}"  # never the lock of a running bot
    cluster = Cluster(url, name, proxied=scenario == "partition")
    results: list[Round] = []
    try:
        for _ in range(replicas):
            await cluster.spawn()
        active, _ = await asyncio.wait_for(cluster.actives.get(), 30)
        for number in range(1, rounds + 1):
            standbys = [r for pid, r in cluster.replicas.items() if pid != active]
            await asyncio.wait_for(asyncio.gather(*(r.standby.wait() for r in standbys)), 30)
            # A random moment, so the kill falls anywhere in the standbys' retry cycle.
            await asyncio.sleep(random.uniform(1.0, 3.0))
            victim = cluster.replicas[active]
            started = time.monotonic()
            if scenario == "partition":
                assert victim.proxy is not None
                victim.proxy.blackholed = True
            else:
                victim.process.send_signal(signal.SIGKILL if scenario == "kill" else signal.SIGSTOP)
            new_active, active_at = await asyncio.wait_for(cluster.actives.get(), 60)
            result = Round(takeover=active_at - started)
            if scenario == "partition":
                lost_pid, lost_at = await asyncio.wait_for(cluster.losses.get(), 30)
                assert lost_pid == active, (lost_pid, active)
                result.lost_after = lost_at - started
            results.append(result)
            detail = (
                ""
                if result.margin is None
                else f" (old one gave up after {result.lost_after:.2f} s, "
                f"margin {result.margin:.2f} s)"
            )
            print(
                f"round {number}: {scenario} {active}, "
                f"{new_active} active after {result.takeover:.2f} s{detail}",
                flush=True,
            )
            await cluster.kill(active)  # frozen or partitioned ones are killed now
            active = new_active
            await cluster.spawn()
    finally:
        await cluster.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    rep = sub.add_parser("replica", help="internal: one replica process")
    rep.add_argument("--url", required=True)
    rep.add_argument("--name", required=True)
    parser.add_argument("--url", default=os.environ.get("TICKERBOT_TEST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scenario", choices=("kill", "freeze", "partition"), default="kill")
    args = parser.parse_args()
    if args.command == "replica":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(replica(args.url, args.name))
        return 0
    print(
        f"failover bench: {args.replicas} replicas, {args.rounds} rounds, scenario {args.scenario}",
        flush=True,
    )
    results = asyncio.run(measure(args.url, args.replicas, args.rounds, args.scenario))
    takeovers = [r.takeover for r in results]
    print(
        f"takeover after {args.scenario}: median {statistics.median(takeovers):.2f} s, "
        f"max {max(takeovers):.2f} s, min {min(takeovers):.2f} s (n={len(takeovers)}, "
        f"bound {BOUND_SECONDS:g} s)"
    )
    ok = max(takeovers) < BOUND_SECONDS
    margins = [r.margin for r in results if r.margin is not None]
    if margins:
        lost = [r.lost_after for r in results if r.lost_after is not None]
        print(
            f"old active gave up after: median {statistics.median(lost):.2f} s, "
            f"max {max(lost):.2f} s; margin before the new active: "
            f"min {min(margins):.2f} s (must be > 0)"
        )
        ok = ok and min(margins) > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
