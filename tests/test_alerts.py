"""Source alerts: the pure decision, and the job against a fake and a real SourceRepository."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.alerts import SourceAlerter, alert_text, decide, format_duration
from storage import Storage
from storage.records import SourceState
from storage.sources import SourceConfig

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
AFTER = 900.0


def state(
    *,
    failures: int = 0,
    since: datetime | None = None,
    alerted: bool = False,
    error: str | None = None,
    success: datetime | None = T0,
) -> SourceState:
    return SourceState(
        id="ukraine",
        name="Liveticker Ukraine",
        url="https://example.org/t",
        etag=None,
        last_modified=None,
        initialized=True,
        last_polled_at=T0,
        last_success_at=success,
        last_status=None,
        last_error=error,
        consecutive_failures=failures,
        failing_since=since,
        failure_alerted=alerted,
    )


HEALTHY = state()
FAILING = state(failures=3, since=T0, error="HTTP 500")
ALERTED = dataclasses.replace(FAILING, failure_alerted=True)


def test_decide_down_only_after_the_delay_and_once() -> None:
    assert decide(FAILING, None, now=T0 + timedelta(seconds=899), alert_after_seconds=AFTER) == []
    assert decide(FAILING, None, now=T0 + timedelta(seconds=900), alert_after_seconds=AFTER) == [
        "down"
    ]
    later = T0 + timedelta(hours=5)
    assert decide(ALERTED, ALERTED, now=later, alert_after_seconds=AFTER) == []
    assert decide(HEALTHY, HEALTHY, now=later, alert_after_seconds=AFTER) == []


def test_decide_recovered_from_memory_or_durable_flag() -> None:
    later = T0 + timedelta(hours=1)
    # record_success cleared the flag: the job knows from its previous look.
    assert decide(HEALTHY, ALERTED, now=later, alert_after_seconds=AFTER) == ["recovered"]
    # A failure that was never announced recovers silently.
    assert decide(HEALTHY, FAILING, now=later, alert_after_seconds=AFTER) == []
    # Durable variant: storage kept the flag on success; announce and let the job clear it.
    healthy_flagged = dataclasses.replace(HEALTHY, failure_alerted=True)
    assert decide(healthy_flagged, None, now=later, alert_after_seconds=AFTER) == ["recovered"]
    # Recovered and failing again between two runs: both, in order.
    new_streak = state(failures=1, since=later - timedelta(hours=0.5), error="timeout")
    assert decide(new_streak, ALERTED, now=later, alert_after_seconds=AFTER) == [
        "recovered",
        "down",
    ]


def test_texts_de_en() -> None:
    now = T0 + timedelta(minutes=75)
    de = alert_text("down", FAILING, None, now=now, language="de")
    assert de == (
        "⚠️ Quelle Liveticker Ukraine (ukraine) liefert seit 1 Std. 15 Min. keine Daten mehr "
        "(3 Fehlversuche in Folge).\nLetzter Fehler: HTTP 500"
    )
    en = alert_text("down", FAILING, None, now=now, language="en")
    assert en.startswith("⚠️ Source Liveticker Ukraine (ukraine) has been failing for 1 h 15 min")
    recovered = dataclasses.replace(HEALTHY, last_success_at=now)
    assert alert_text("recovered", recovered, ALERTED, now=now, language="en") == (
        "✅ Source Liveticker Ukraine (ukraine) is working again (after 1 h 15 min down)."
    )
    assert alert_text("recovered", recovered, None, now=now, language="de") == (
        "✅ Quelle Liveticker Ukraine (ukraine) funktioniert wieder."
    )
    assert format_duration(30, "en") == "1 min"
    assert format_duration(7200, "de") == "2 Std."


class Harness:
    def __init__(self, admins: Sequence[int] = (1, 2)) -> None:
        self.states: list[SourceState] = [HEALTHY]
        self.sent: list[tuple[int, str]] = []
        self.marked: list[str] = []
        self.fail_for: set[int] = set()
        self.now = T0
        self.alerter = SourceAlerter(
            sources=self.sources,
            send=self.send,
            mark_alerted=self.mark,
            admins=admins,
            alert_after_seconds=AFTER,
            language="en",
            clock=lambda: self.now,
        )

    async def sources(self) -> Sequence[SourceState]:
        return self.states

    async def send(self, chat_id: int, text: str) -> None:
        if chat_id in self.fail_for:
            raise ConnectionError("unreachable")
        self.sent.append((chat_id, text))

    async def mark(self, source_id: str) -> None:
        self.marked.append(source_id)
        self.states = [dataclasses.replace(s, failure_alerted=True) for s in self.states]


async def test_job_sends_down_once_and_recovered_once() -> None:
    h = Harness()
    assert await h.alerter.run_once() == []
    h.states = [FAILING]
    h.now = T0 + timedelta(minutes=5)
    assert await h.alerter.run_once() == []
    h.now = T0 + timedelta(minutes=20)
    sent = await h.alerter.run_once()
    assert [(a.kind, a.delivered_to) for a in sent] == [("down", 2)]
    assert [chat for chat, _ in h.sent] == [1, 2]
    assert h.marked == ["ukraine"]
    for minutes in (21, 30, 60):  # still failing: nothing more
        h.now = T0 + timedelta(minutes=minutes)
        assert await h.alerter.run_once() == []
    h.states = [dataclasses.replace(HEALTHY, last_success_at=h.now)]  # record_success
    sent = await h.alerter.run_once()
    assert [a.kind for a in sent] == ["recovered"]
    assert "after 1 h down" in sent[0].text
    assert await h.alerter.run_once() == []
    assert len(h.sent) == 4


async def test_job_retries_when_no_admin_got_it_and_tolerates_one_failing() -> None:
    h = Harness()
    h.states = [FAILING]
    h.now = T0 + timedelta(hours=1)
    h.fail_for = {1, 2}
    assert await h.alerter.run_once() == []
    assert h.marked == []
    h.fail_for = {1}
    sent = await h.alerter.run_once()
    assert [(a.kind, a.delivered_to) for a in sent] == [("down", 1)]
    assert h.marked == ["ukraine"]


async def test_job_picks_up_an_alert_sent_by_another_replica() -> None:
    """After a failover the new active sees failure_alerted in the database: no repeat."""
    h = Harness()
    h.states = [ALERTED]
    h.now = T0 + timedelta(hours=1)
    assert await h.alerter.run_once() == []
    h.states = [HEALTHY]
    assert [a.kind for a in await h.alerter.run_once()] == ["recovered"]


async def test_job_against_source_repository(storage: Storage) -> None:
    await storage.sources.sync([SourceConfig("ukraine", "Liveticker Ukraine", "https://e.org/t")])
    sent: list[tuple[int, str]] = []

    async def send(chat_id: int, text: str) -> None:
        sent.append((chat_id, text))

    now = T0 + timedelta(hours=1)
    alerter = SourceAlerter(
        sources=storage.sources.all,
        send=send,
        mark_alerted=storage.sources.mark_alerted,
        clear_alerted=storage.sources.clear_alerted,
        admins=[42],
        alert_after_seconds=AFTER,
        language="de",
        clock=lambda: now,
    )
    await storage.sources.record_failure("ukraine", status="http_500", error="HTTP 500", now=T0)
    await storage.sources.record_failure("ukraine", status="http_500", error="HTTP 500", now=now)
    assert [a.kind for a in await alerter.run_once()] == ["down"]
    stored = await storage.sources.get("ukraine")
    assert stored is not None and stored.failure_alerted
    assert await alerter.run_once() == []
    await storage.sources.record_success(
        "ukraine", status="ok", etag=None, last_modified=None, now=now
    )
    assert [a.kind for a in await alerter.run_once()] == ["recovered"]
    assert await alerter.run_once() == []
    assert [chat for chat, _ in sent] == [42, 42]
    assert sent[0][1].startswith("⚠️ Quelle Liveticker Ukraine (ukraine) liefert seit 1 Std.")


async def test_job_durable_variant_clears_the_flag() -> None:
    """With storage keeping failure_alerted on success, a recovery survives a restart."""
    cleared: list[str] = []

    async def clear(source_id: str) -> None:
        cleared.append(source_id)
        h.states = [dataclasses.replace(s, failure_alerted=False) for s in h.states]

    h = Harness()
    h.alerter = SourceAlerter(
        sources=h.sources,
        send=h.send,
        mark_alerted=h.mark,
        clear_alerted=clear,
        admins=[1],
        alert_after_seconds=AFTER,
        language="en",
        clock=lambda: h.now,
    )
    # First run of a fresh process: healthy again, but still flagged from before the restart.
    h.states = [dataclasses.replace(HEALTHY, failure_alerted=True)]
    assert [a.kind for a in await h.alerter.run_once()] == ["recovered"]
    assert cleared == ["ukraine"]
    assert await h.alerter.run_once() == []
