"""The core's parts wired as bot/app.py wires them, for tests that pick their own features,
clock and sender; plus read-only queries the production code never needs."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from netcoach.bot.clock import Clock
from netcoach.bot.features.community import Community, CommunityRepository, CommunitySettings
from netcoach.bot.features.drafts.feature import DraftReview
from netcoach.bot.features.drafts.repository import HistoryRepository
from netcoach.bot.features.followups import FollowUpRepository, FollowUps, Settings
from netcoach.bot.features.privacy import Privacy, PrivacyRepository
from netcoach.bot.features.profiles import ProfileRepository, Profiles, Tags
from netcoach.bot.kernel import Feature
from netcoach.bot.review import PlaybookSet
from netcoach.bot.scheduling import DueSource, Job, JobQueue, Scheduler, Sender
from netcoach.bot.storage import Database, Users


@dataclass
class Stack:
    db: Database
    users: Users
    queue: JobQueue
    contacts: FollowUpRepository
    communities: CommunityRepository
    profile_repo: ProfileRepository
    history: HistoryRepository
    privacy_repo: PrivacyRepository

    @classmethod
    async def open(cls, path: str | Path) -> Stack:
        """The store at `path`; with NETCOACH_TEST_STORE=postgresql (see conftest.py), a
        PostgreSQL database standing for that path instead, so the same tests run there."""
        if POSTGRES is not None:
            return cls.wrap(await _postgres_for(str(path)))
        return cls.wrap(await Database.open(path))

    @classmethod
    def wrap(cls, db: Database) -> Stack:
        users, queue = Users(db), JobQueue(db)
        return cls(
            db,
            users,
            queue,
            FollowUpRepository(db, queue),
            CommunityRepository(db, queue),
            ProfileRepository(db),
            HistoryRepository(db),
            PrivacyRepository(db),
        )

    async def close(self) -> None:
        await self.db.close()

    def followups(
        self, clock: Clock, playbooks: PlaybookSet | None = None, settings: Settings | None = None
    ) -> FollowUps:
        settings = settings or Settings("Europe/London", time(9, 0))
        return FollowUps(self.contacts, self.users, clock, playbooks, settings)

    def profiles(self, clock: Clock, playbooks: PlaybookSet) -> Profiles:
        return Profiles(self.profile_repo, self.users, self.contacts, clock, Tags.load(), playbooks)

    def drafts(
        self, clock: Clock, playbooks: PlaybookSet, profiles: Profiles | None = None
    ) -> DraftReview:
        finding = profiles.recipient_finding if profiles is not None else None
        return DraftReview(playbooks, self.history, self.users, clock, recipient_finding=finding)

    def community(
        self,
        clock: Clock,
        playbooks: PlaybookSet,
        settings: CommunitySettings | None = None,
        rng: random.Random | None = None,
    ) -> Community:
        return Community(
            self.communities,
            self.users,
            self.queue,
            clock,
            playbooks,
            settings or CommunitySettings(),
            rng,
        )

    def privacy(self, clock: Clock, others: Sequence[Feature] = ()) -> Privacy:
        return Privacy(self.privacy_repo, self.users, clock, others)

    def scheduler(
        self, clock: Clock, sender: Sender, sources: Iterable[DueSource] = (), **kw: Any
    ) -> Scheduler:
        return Scheduler(self.queue, self.users, clock, sender, sources, **kw)

    # -- reading, for assertions ---------------------------------------------------------

    async def jobs_for(self, kind: str, ref_id: int) -> list[Job]:
        return list(reversed(await self.queue.latest(kind, ref_id, 10_000)))

    async def count_jobs(self, state: str) -> int:
        return await count_jobs(self.db, state)

    async def add_job(
        self, kind: str, ref_id: int, user_id: int | None, due: Any, occurrence: int = 0
    ) -> int:
        async with self.db.transaction() as tx:
            return await self.queue.add(tx, kind, ref_id, user_id, due, occurrence)

    async def cancel_jobs(self, kind: str, ref_id: int) -> None:
        async with self.db.transaction() as tx:
            await self.queue.cancel(tx, kind, ref_id)


async def count_jobs(db: Database, state: str) -> int:
    row = await db.one("SELECT count(*) FROM jobs WHERE state = ?", (state,))
    return int(row[0])


POSTGRES: str | None = None  # a cluster's base URL when the tests run on PostgreSQL
_DATABASES: dict[str, str] = {}


async def _postgres_for(path: str) -> Database:
    """One fresh PostgreSQL database per SQLite path a test would have used."""
    import asyncpg

    from netcoach.bot.storage import PgDatabase

    assert POSTGRES is not None
    if path not in _DATABASES:
        name = f"store{len(_DATABASES)}"
        conn = await asyncpg.connect(f"{POSTGRES}/postgres")
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        _DATABASES[path] = f"{POSTGRES}/{name}"
    return await PgDatabase.open(_DATABASES[path])
