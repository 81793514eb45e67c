"""Daily digests: which chats are due, and the outbox rows that carry their digests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.chats import load_settings
from storage.database import Database
from storage.models import Chat, DigestDelivery, utcnow
from storage.outbox import DEFAULT_LEASE
from storage.records import ChatSettings


@dataclass(frozen=True, slots=True)
class PendingDigest:
    digest_id: int
    chat: ChatSettings
    day: date
    attempts: int


class DigestRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def queue_due(self, today: date, minute_of_day: int) -> int:
        """Queue today's digest for every chat whose digest time has passed.

        Marking ``last_digest_on`` and inserting the row happen in one transaction, and the
        row is unique per (chat, day): a restart, a second replica or a late run queues
        nothing twice. A digest missed while the bot was down is queued on the first run.
        """
        try:
            return await self._queue_due(today, minute_of_day)
        except IntegrityError:
            # Another replica queued the same digests in between: theirs stand.
            return 0

    async def _queue_due(self, today: date, minute_of_day: int) -> int:
        queued = 0
        async with self._db.session() as session:
            chats = (
                await session.scalars(
                    select(Chat).where(
                        Chat.active.is_(True),
                        Chat.paused.is_(False),
                        Chat.digest_minute.is_not(None),
                        Chat.digest_minute <= minute_of_day,
                        or_(Chat.last_digest_on.is_(None), Chat.last_digest_on < today),
                    )
                )
            ).all()
            now = utcnow()
            for chat in chats:
                chat.last_digest_on = today
                exists = await session.scalar(
                    select(DigestDelivery.id).where(
                        DigestDelivery.chat_id == chat.id, DigestDelivery.day == today
                    )
                )
                if exists is None:
                    session.add(
                        DigestDelivery(
                            chat_id=chat.id,
                            day=today,
                            status="pending",
                            attempts=0,
                            not_before=now,
                            created_at=now,
                        )
                    )
                    queued += 1
        return queued

    async def claim(
        self, *, limit: int, exclude_chats: list[int], now: datetime | None = None
    ) -> tuple[str, list[PendingDigest]]:
        now = now or utcnow()
        token = secrets.token_hex(8)
        async with self._db.session() as session:
            query = (
                select(DigestDelivery)
                .where(
                    DigestDelivery.status == "pending",
                    DigestDelivery.not_before <= now,
                    or_(
                        DigestDelivery.claimed_until.is_(None),
                        DigestDelivery.claimed_until < now,
                    ),
                )
                .order_by(DigestDelivery.id)
                .limit(limit)
            )
            if exclude_chats:
                query = query.where(DigestDelivery.chat_id.not_in(exclude_chats))
            if not self._db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            result = []
            for row in rows:
                row.claim_token = token
                row.claimed_until = now + DEFAULT_LEASE
                chat = await session.get(Chat, row.chat_id)
                if chat is None:
                    continue
                result.append(
                    PendingDigest(row.id, await load_settings(session, chat), row.day, row.attempts)
                )
            return token, result

    async def finish(
        self,
        digest_id: int,
        token: str,
        *,
        sent: bool,
        error: str | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(DigestDelivery)
                .where(and_(DigestDelivery.id == digest_id, DigestDelivery.claim_token == token))
                .values(
                    status="sent" if sent else ("pending" if retry_after else "failed"),
                    sent_at=utcnow() if sent else None,
                    last_error=error[:1000] if error else None,
                    attempts=DigestDelivery.attempts + 1,
                    not_before=utcnow() + (retry_after or timedelta()),
                    claim_token=None,
                    claimed_until=None,
                )
            )

    async def next_due(self) -> datetime | None:
        async with self._db.session() as session:
            return await session.scalar(
                select(func.min(DigestDelivery.not_before)).where(
                    DigestDelivery.status == "pending"
                )
            )
