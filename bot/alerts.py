"""Operator alerts: a private message to ``telegram.admins`` when a source has been failing
for longer than ``[metrics].source_alert_after_seconds``, and when it recovers — once each.

The decision (``decide``) is a pure function of the source's stored state, the state this job
saw on its previous run, and the time; ``SourceAlerter`` is the periodic job around it, with
reading, sending and marking injected so it runs without Telegram or a database in tests.

"Once" across polls and replicas: "down" is recorded in the database
(``SourceRepository.mark_alerted`` → ``failure_alerted``), so a restarted or newly active replica
does not repeat it. "Recovered" needs to know that a "down" went out, but
``record_success`` clears ``failure_alerted``; so the job remembers the states it saw last
time and announces a recovery when a streak it saw as alerted has ended. That memory is per
process: a recovery that happens before the job's first run in a new process (restart or
failover) goes unannounced. ``decide`` already understands the durable variant — storage keeps
``failure_alerted`` on success and the job clears it through ``clear_alerted`` after
announcing — which closes that gap once storage makes the one-line change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from storage.records import SourceState

log = logging.getLogger("tickerbot.alerts")

AlertKind = Literal["down", "recovered"]

# Plain text (no parse_mode): the last error is arbitrary text from a web server.
TEXTS: dict[str, dict[AlertKind, str]] = {
    "de": {
        "down": (
            "⚠️ Quelle {name} ({id}) liefert seit {duration} keine Daten mehr "
            "({failures} Fehlversuche in Folge).\nLetzter Fehler: {error}"
        ),
        "recovered": "✅ Quelle {name} ({id}) funktioniert wieder{after}.",
    },
    "en": {
        "down": (
            "⚠️ Source {name} ({id}) has been failing for {duration} "
            "({failures} failed polls in a row).\nLast error: {error}"
        ),
        "recovered": "✅ Source {name} ({id}) is working again{after}.",
    },
}
_AFTER = {"de": " (nach {duration} Ausfall)", "en": " (after {duration} down)"}
_UNKNOWN_ERROR = {"de": "unbekannt", "en": "unknown"}


def format_duration(seconds: float, language: str) -> str:
    """Coarse and readable: operators need "40 min" or "3 h 5 min", not seconds."""
    minutes = max(int(seconds // 60), 1)
    hours, minutes = divmod(minutes, 60)
    unit_h = "Std." if language == "de" else "h"
    unit_m = "Min." if language == "de" else "min"
    if hours == 0:
        return f"{minutes} {unit_m}"
    if minutes == 0:
        return f"{hours} {unit_h}"
    return f"{hours} {unit_h} {minutes} {unit_m}"


def decide(
    current: SourceState,
    previous: SourceState | None,
    *,
    now: datetime,
    alert_after_seconds: float,
) -> list[AlertKind]:
    """Which alerts ``current`` calls for; at most one "recovered" then one "down".

    ``previous`` is the state the job saw last time (with ``failure_alerted`` set if it sent
    "down" then), or None on its first run. Recovery is announced when
    * the source is healthy and still marked alerted (durable variant: storage keeps the flag
      until the job clears it), or
    * the job saw the source alerted last time and the flag is now clear, i.e. a successful poll
      ended that streak — even if a new streak has begun since.
    "down" is due when the current streak is older than ``alert_after_seconds`` and not marked.
    """
    kinds: list[AlertKind] = []
    failing = current.consecutive_failures > 0
    previously_alerted = previous is not None and previous.failure_alerted
    if (not failing and current.failure_alerted) or (
        previously_alerted and not current.failure_alerted
    ):
        kinds.append("recovered")
    if (
        failing
        and not current.failure_alerted
        and current.failing_since is not None
        and (now - current.failing_since).total_seconds() >= alert_after_seconds
    ):
        kinds.append("down")
    return kinds


def alert_text(
    kind: AlertKind,
    current: SourceState,
    previous: SourceState | None,
    *,
    now: datetime,
    language: str,
) -> str:
    lang = language if language in TEXTS else "en"
    name = current.name or current.id
    if kind == "down":
        since = current.failing_since or now
        return TEXTS[lang]["down"].format(
            name=name,
            id=current.id,
            duration=format_duration((now - since).total_seconds(), lang),
            failures=current.consecutive_failures,
            error=current.last_error or current.last_status or _UNKNOWN_ERROR[lang],
        )
    after = ""
    down_since = previous.failing_since if previous is not None else current.failing_since
    recovered_at = current.last_success_at or now
    if down_since is not None and recovered_at > down_since:
        duration = format_duration((recovered_at - down_since).total_seconds(), lang)
        after = _AFTER[lang].format(duration=duration)
    return TEXTS[lang]["recovered"].format(name=name, id=current.id, after=after)


@dataclass(frozen=True, slots=True)
class SentAlert:
    source_id: str
    kind: AlertKind
    text: str
    delivered_to: int


class SourceAlerter:
    """The periodic job: ``await alerter()`` (or ``run_once()``) every 30-60 s on the active
    replica. Sends are plain text; a failing send to one admin does not stop the others, and
    an alert none of the admins received is retried on the next run instead of being marked.
    """

    def __init__(
        self,
        *,
        sources: Callable[[], Awaitable[Sequence[SourceState]]],
        send: Callable[[int, str], Awaitable[object]],
        mark_alerted: Callable[[str], Awaitable[None]],
        admins: Sequence[int],
        alert_after_seconds: float,
        language: str = "de",
        clear_alerted: Callable[[str], Awaitable[None]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sources = sources
        self._send = send
        self._mark_alerted = mark_alerted
        self._clear_alerted = clear_alerted
        self.admins = list(admins)
        self.alert_after_seconds = alert_after_seconds
        self.language = language
        self._clock = clock
        self._seen: dict[str, SourceState] = {}

    async def __call__(self) -> None:
        await self.run_once()

    async def run_once(self) -> list[SentAlert]:
        now = self._clock()
        sent: list[SentAlert] = []
        for current in await self._sources():
            previous = self._seen.get(current.id)
            remembered = current
            for kind in decide(
                current, previous, now=now, alert_after_seconds=self.alert_after_seconds
            ):
                text = alert_text(kind, current, previous, now=now, language=self.language)
                delivered = await self._deliver(current.id, kind, text)
                if delivered is None:
                    # Nobody got it: unless an earlier alert of this run went out, remember the
                    # old state so the next run makes the same decision again.
                    if not any(alert.source_id == current.id for alert in sent):
                        remembered = previous if previous is not None else current
                    break
                if kind == "down":
                    await self._mark_alerted(current.id)
                    remembered = dataclasses.replace(remembered, failure_alerted=True)
                else:
                    if self._clear_alerted is not None and current.failure_alerted:
                        await self._clear_alerted(current.id)
                    if current.consecutive_failures == 0:
                        remembered = dataclasses.replace(remembered, failure_alerted=False)
                sent.append(SentAlert(current.id, kind, text, delivered))
            self._seen[current.id] = remembered
        return sent

    async def _deliver(self, source_id: str, kind: AlertKind, text: str) -> int | None:
        """Send to every admin; the count that got it, or None if there were admins and none did."""
        log.warning("source alert", extra={"source": source_id, "alert": kind})
        if not self.admins:
            return 0
        delivered = 0
        for chat_id in self.admins:
            try:
                await self._send(chat_id, text)
            except Exception as exc:  # noqa: BLE001 - one unreachable admin must not block others
                log.warning(
                    "source alert not delivered",
                    extra={"source": source_id, "chat": chat_id, "error": repr(exc)},
                )
            else:
                delivered += 1
        return delivered or None
