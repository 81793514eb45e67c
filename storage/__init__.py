"""Persistence: SQLAlchemy models, repositories and migrations. Returns records, never text."""

from __future__ import annotations

from dataclasses import dataclass

from storage.chats import ChatRepository
from storage.database import Database
from storage.digests import DigestRepository
from storage.entries import EntryRepository
from storage.outbox import OutboxRepository
from storage.search import SearchRepository
from storage.sources import SourceRepository


@dataclass(frozen=True, slots=True)
class Storage:
    """The repositories over one database, wired once in bot/app.py."""

    database: Database
    sources: SourceRepository
    entries: EntryRepository
    chats: ChatRepository
    outbox: OutboxRepository
    digests: DigestRepository
    search: SearchRepository

    @classmethod
    def open(cls, url: str, *, echo: bool = False) -> Storage:
        database = Database(url, echo=echo)
        return cls(
            database=database,
            sources=SourceRepository(database),
            entries=EntryRepository(database),
            chats=ChatRepository(database),
            outbox=OutboxRepository(database),
            digests=DigestRepository(database),
            search=SearchRepository(database),
        )

    async def close(self) -> None:
        await self.database.dispose()
