"""The outbox's reader side: claim due deliveries and edits, record what Telegram said.

Claims are leases (``claim_token`` + ``claimed_until``) so a crashed sender's work goes out
again after the lease, and a second sender can never claim rows another one holds.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chats import settings_of
from storage.database import Database
from storage.entries import to_stored
from storage.fanout import expand_fanouts, fanouts_pending
from storage.models import (
    Chat,
    Delivery,
    EntryRow,
    FilterRow,
    MessageEdit,
    SentMessage,
    Subscription,
    claimable,
    utcnow,
)
from storage.records import ChatSettings, OutboxBatch, OutboxEntry, PendingEdit

DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What happened to one claimed batch; applied in bulk by ``record_outcomes``."""

    delivery_ids: tuple[int, ...]
    token: str
    telegram_message_id: int | None = None  # set: sent
    chat_id: int | None = None
    silent: bool = False
    retry_at: datetime | None = None  # set: try again then
    count_attempt: bool = True
    failed: str | None = None  # set: give up with this error
    sent_at: datetime | None = None


# The Core table: bulk UPDATEs through it skip the ORM's bookkeeping of session objects, and
# a list of parameters runs as one executemany.
_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]


class OutboxRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim_batches(
        self,
        *,
        max_chats: int,
        batch_max_entries: int,
        now: datetime | None = None,
        lease: timedelta = DEFAULT_LEASE,
        exclude_chats: Sequence[int] = (),
    ) -> tuple[str, list[OutboxBatch]]:
        """Claim up to ``batch_max_entries`` oldest due deliveries for up to ``max_chats`` chats.

        Chats are taken in order of their oldest waiting delivery (fairness), and a chat with
        a claim still in flight is skipped so its messages keep publication order. New
        entries' fan-outs are expanded into deliveries first, while the queue is short.
        """
        now = now or utcnow()
        token = secrets.token_hex(8)
        async with self._db.session() as session:
            await expand_fanouts(session, now=now, is_sqlite=self._db.is_sqlite)
            busy = select(Delivery.chat_id).where(
                Delivery.status == "pending", Delivery.claimed_until >= now
            )
            chat_query = (
                select(Delivery.chat_id, func.min(Delivery.id).label("first"))
                .where(claimable(Delivery, now))
                .where(Delivery.chat_id.not_in(busy))
                .group_by(Delivery.chat_id)
                .order_by(func.min(Delivery.id))
                .limit(max_chats)
            )
            if exclude_chats:
                chat_query = chat_query.where(Delivery.chat_id.not_in(list(exclude_chats)))
            chat_ids = [row[0] for row in (await session.execute(chat_query)).all()]
            if not chat_ids:
                return token, []
            # Plain rows, not ORM objects: a claim round at 1000 messages/s takes hundreds of
            # deliveries, and loading each as a Delivery plus an EntryRow cost three times this.
            rows_query = (
                select(Delivery.id, Delivery.chat_id, Delivery.entry_id, Delivery.attempts)
                .join(EntryRow, EntryRow.id == Delivery.entry_id)
                .where(claimable(Delivery, now))
                .where(Delivery.chat_id.in_(chat_ids))
                .order_by(Delivery.chat_id, EntryRow.published_at, Delivery.id)
            )
            if not self._db.is_sqlite:
                rows_query = rows_query.with_for_update(skip_locked=True, of=Delivery)
            per_chat: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
            for delivery_id, chat_id, entry_id, attempts in (
                await session.execute(rows_query)
            ).all():
                if len(per_chat[chat_id]) < batch_max_entries:
                    per_chat[chat_id].append((delivery_id, entry_id, attempts))
            claimed_ids = [
                delivery_id for items in per_chat.values() for delivery_id, _, _ in items
            ]
            if not claimed_ids:
                return token, []
            await session.execute(
                update(_DELIVERIES)
                .where(_DELIVERIES.c.id.in_(claimed_ids))
                .values(claim_token=token, claimed_until=now + lease)
            )
            entry_ids = {entry_id for items in per_chat.values() for _, entry_id, _ in items}
            # One record per entry, shared by every chat's batch (a broadcast is one entry).
            entries = {
                row.id: to_stored(row)
                for row in (
                    await session.scalars(select(EntryRow).where(EntryRow.id.in_(entry_ids)))
                ).all()
            }
            chats = await _chat_settings(session, list(per_chat))
            batches = [
                OutboxBatch(
                    chat=chats[chat_id],
                    items=tuple(
                        OutboxEntry(delivery_id, entries[entry_id])
                        for delivery_id, entry_id, _ in items
                    ),
                    attempts=max(attempts for _, _, attempts in items),
                )
                for chat_id, items in per_chat.items()
                if chat_id in chats
            ]
            batches.sort(key=lambda b: b.items[0].delivery_id)
            return token, batches

    async def record_outcomes(self, outcomes: Sequence[SendOutcome]) -> None:
        """Apply many send results in one transaction (group commit keeps 1000/s cheap)."""
        if not outcomes:
            return
        sent = [o for o in outcomes if o.telegram_message_id is not None and o.chat_id is not None]
        async with self._db.session() as session:
            if sent:
                await self._record_sent(session, sent)
            for outcome in outcomes:
                if outcome.telegram_message_id is not None and outcome.chat_id is not None:
                    continue  # recorded above
                own = and_(
                    Delivery.id.in_(outcome.delivery_ids),
                    Delivery.claim_token == outcome.token,
                    Delivery.status == "pending",
                )
                if outcome.failed is not None:
                    await session.execute(
                        update(Delivery)
                        .where(own)
                        .values(
                            status="failed",
                            last_error=outcome.failed[:1000],
                            claim_token=None,
                            claimed_until=None,
                            attempts=Delivery.attempts + 1,
                        )
                    )
                else:
                    values: dict[str, object] = {"claim_token": None, "claimed_until": None}
                    if outcome.retry_at is not None:
                        values["not_before"] = outcome.retry_at
                    if outcome.count_attempt:
                        values["attempts"] = Delivery.attempts + 1
                    await session.execute(update(Delivery).where(own).values(values))

    async def _record_sent(self, session: AsyncSession, sent: Sequence[SendOutcome]) -> None:
        """Two statements for all sent messages of a group commit, not two per message."""
        now = utcnow()
        message_ids = (
            await session.scalars(
                insert(SentMessage).returning(SentMessage.id, sort_by_parameter_order=True),
                [
                    {
                        "chat_id": o.chat_id,
                        "message_id": o.telegram_message_id,
                        "sent_at": o.sent_at or now,
                        "editable": True,
                        "silent": o.silent,
                    }
                    for o in sent
                ],
            )
        ).all()
        table = _DELIVERIES
        await session.execute(
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.claim_token == bindparam("b_token"),
                table.c.status == "pending",
            )
            .values(
                status="sent",
                sent_at=bindparam("b_sent_at", type_=table.c.sent_at.type),
                sent_message_id=bindparam("b_message"),
                claim_token=None,
                claimed_until=None,
                attempts=table.c.attempts + 1,
            ),
            [
                {
                    "b_id": delivery_id,
                    "b_token": o.token,
                    "b_sent_at": o.sent_at or now,
                    "b_message": message_id,
                }
                for o, message_id in zip(sent, message_ids, strict=True)
                for delivery_id in o.delivery_ids
            ],
        )

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery or edit becomes due (to sleep until then)."""
        async with self._db.session() as session:
            if await fanouts_pending(session):
                return utcnow()
            first = await session.scalar(
                select(func.min(Delivery.not_before)).where(Delivery.status == "pending")
            )
            first_edit = await session.scalar(
                select(func.min(MessageEdit.not_before)).where(MessageEdit.status == "pending")
            )
        candidates = [t for t in (first, first_edit) if t is not None]
        return min(candidates) if candidates else None

    async def pending_count(self) -> tuple[int, int]:
        async with self._db.session() as session:
            deliveries = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
            )
            edits = await session.scalar(
                select(func.count()).select_from(MessageEdit).where(MessageEdit.status == "pending")
            )
            return int(deliveries or 0), int(edits or 0)

    async def fanouts_pending(self) -> int:
        """New entries whose subscribers are not all matched yet (see ``storage.fanout``)."""
        async with self._db.session() as session:
            return await fanouts_pending(session)

    async def sent_since(self, since: datetime) -> int:
        async with self._db.session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == "sent", Delivery.sent_at >= since)
            )
            return int(count or 0)

    # ---- edits -------------------------------------------------------------------------

    async def claim_edits(
        self, *, limit: int, now: datetime | None = None, lease: timedelta = DEFAULT_LEASE
    ) -> tuple[str, list[PendingEdit]]:
        now = now or utcnow()
        token = secrets.token_hex(8)
        async with self._db.session() as session:
            query = (
                select(MessageEdit, SentMessage)
                .join(SentMessage, SentMessage.id == MessageEdit.sent_message_id)
                .where(claimable(MessageEdit, now))
                .order_by(MessageEdit.id)
                .limit(limit)
            )
            if not self._db.is_sqlite:
                query = query.with_for_update(skip_locked=True, of=MessageEdit)
            rows = (await session.execute(query)).all()
            if not rows:
                return token, []
            await session.execute(
                update(MessageEdit)
                .where(MessageEdit.id.in_([edit.id for edit, _ in rows]))
                .values(claim_token=token, claimed_until=now + lease)
            )
            message_ids = [message.id for _, message in rows]
            entry_rows = (
                await session.execute(
                    select(Delivery.sent_message_id, EntryRow)
                    .join(EntryRow, EntryRow.id == Delivery.entry_id)
                    .where(Delivery.sent_message_id.in_(message_ids))
                    .order_by(EntryRow.published_at, Delivery.id)
                )
            ).all()
            entries_by_message: dict[int, list[EntryRow]] = defaultdict(list)
            for message_id, entry in entry_rows:
                if message_id is not None:
                    entries_by_message[message_id].append(entry)
            chats = await _chat_settings(session, list({m.chat_id for _, m in rows}))
            edits = [
                PendingEdit(
                    edit_id=edit.id,
                    sent_message_id=message.id,
                    chat=chats[message.chat_id],
                    telegram_message_id=message.message_id,
                    entries=tuple(to_stored(e) for e in entries_by_message[message.id]),
                    attempts=edit.attempts,
                )
                for edit, message in rows
                if message.chat_id in chats
            ]
            return token, edits

    async def finish_edit(
        self,
        edit_id: int,
        token: str,
        *,
        done: bool,
        error: str | None = None,
        retry_at: datetime | None = None,
        message_gone: bool = False,
    ) -> None:
        async with self._db.session() as session:
            edit = await session.get(MessageEdit, edit_id)
            if edit is None or edit.claim_token != token:
                return
            edit.claim_token = None
            edit.claimed_until = None
            edit.attempts += 1
            edit.last_error = error[:1000] if error else None
            if done or retry_at is None:
                edit.status = "done" if done else "failed"
                edit.done_at = utcnow()
            else:
                edit.not_before = retry_at
            if message_gone:
                await session.execute(
                    update(SentMessage)
                    .where(SentMessage.id == edit.sent_message_id)
                    .values(editable=False)
                )

    async def reset_claims(self) -> None:
        """At start-up of the only sender: leases of a previous run no longer hold anything."""
        async with self._db.session() as session:
            for model in (Delivery, MessageEdit):
                await session.execute(
                    update(model)
                    .where(model.status == "pending", model.claim_token.is_not(None))
                    .values(claim_token=None, claimed_until=None)
                )


async def _chat_settings(session: AsyncSession, chat_ids: list[int]) -> dict[int, ChatSettings]:
    chats = (await session.scalars(select(Chat).where(Chat.id.in_(chat_ids)))).all()
    subs: dict[int, list[str]] = defaultdict(list)
    for chat_id, source_id in (
        await session.execute(
            select(Subscription.chat_id, Subscription.source_id).where(
                Subscription.chat_id.in_(chat_ids)
            )
        )
    ).all():
        subs[chat_id].append(source_id)
    filters: dict[int, list[FilterRow]] = defaultdict(list)
    for row in (
        await session.scalars(select(FilterRow).where(FilterRow.chat_id.in_(chat_ids)))
    ).all():
        filters[row.chat_id].append(row)
    return {chat.id: settings_of(chat, subs[chat.id], filters[chat.id]) for chat in chats}
