"""The job queue: one row per due item (a follow-up occurrence, a community tip slot).

This module is the only code that knows job states and moves rows between them:

    pending --claim--> claimed --send ok--> sent
       ^                  |----retry------> pending (a later run_at)
       |                  |----give up----> failed | undeliverable   (handed over later)
       |                  '----stale------> cancelled
       '--take back (the owner's lease expired: flagged repeat)

A claim carries its owner (`claimed_by`, one per process) and a lease (`lease_until`)
that the owner renews while it works; only an expired lease is taken back, so a second
worker never steals a live one's sends. Each outcome is committed as soon as it is known,
so after a crash only the sends that were in flight come back, flagged as possible repeats.

Features add and cancel jobs inside their own transactions (`add`, `cancel` take the
transaction), so a follow-up and its first job are committed together; every commit that
adds, moves or cancels a job wakes the scheduler through `listeners`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from netcoach.bot.kernel import UserRef
from netcoach.bot.storage import Database, Transaction, from_unix, marks, to_unix

_COLS = "id, kind, ref_id, user_id, occurrence, due_at, run_at, state, attempts, repeat, error"


@dataclass(frozen=True, slots=True)
class Job:
    """One due item for the scheduler: a follow-up occurrence, a tip slot."""

    id: int
    kind: str
    ref_id: int
    user_id: int | None
    occurrence: int
    due_at: datetime
    run_at: datetime
    state: str
    attempts: int
    repeat: bool  # claimed before a crash: it may already have been delivered
    error: str | None = None

    @property
    def waiting(self) -> bool:
        """Not yet sent: queued, or being sent right now."""
        return self.state in ("pending", "claimed")

    @property
    def sent(self) -> bool:
        return self.state == "sent"


@dataclass(frozen=True, slots=True)
class NextJob:
    """The job that follows a finished one (a cadence's next occurrence)."""

    kind: str
    ref_id: int
    user_id: int | None
    due_at: datetime
    occurrence: int


@dataclass(frozen=True, slots=True)
class Outcomes:
    """A batch's results, recorded in one commit so a crash keeps all of it or none.

    sent: (job id, message id); given_up: (job id, reason), kept for a hand-over;
    unreachable: the same, the platform said the person cannot be reached; dropped: (job id,
    reason), stale or skipped, never to be sent; retried: (job id, next try, reason);
    deferred: like retried, without using up a try; uncertain: like deferred, flagged as a
    possible repeat (the send may have gone through); next_jobs: what follows the finished ones.
    """

    sent: Sequence[tuple[int, str]] = ()
    given_up: Sequence[tuple[int, str]] = ()
    unreachable: Sequence[tuple[int, str]] = ()
    dropped: Sequence[tuple[int, str]] = ()
    retried: Sequence[tuple[int, datetime, str]] = ()
    deferred: Sequence[tuple[int, datetime, str]] = ()
    uncertain: Sequence[tuple[int, datetime, str]] = ()
    next_jobs: Sequence[NextJob] = ()

    @classmethod
    def merge(cls, many: Iterable[Outcomes]) -> Outcomes:
        items = list(many)
        return cls(
            *(
                tuple(x for o in items for x in getattr(o, name))
                for name in (
                    "sent",
                    "given_up",
                    "unreachable",
                    "dropped",
                    "retried",
                    "deferred",
                    "uncertain",
                    "next_jobs",
                )
            )
        )

    def __bool__(self) -> bool:
        return any(
            (
                self.sent,
                self.given_up,
                self.unreachable,
                self.dropped,
                self.retried,
                self.deferred,
                self.uncertain,
                self.next_jobs,
            )
        )


def new_owner() -> str:
    """A name for this process's claims: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _successor(n: NextJob) -> tuple[Any, ...]:
    due = to_unix(n.due_at)
    return (
        n.kind,
        n.ref_id,
        n.user_id,
        n.occurrence,
        due,
        due,
        n.kind,
        n.ref_id,
        n.user_id,
        n.user_id,
    )


def _job(row: Sequence[Any]) -> Job:
    return Job(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        from_unix(row[5]),
        from_unix(row[6]),
        row[7],
        row[8],
        bool(row[9]),
        row[10],
    )


class JobQueue:
    def __init__(self, db: Database, owner: str | None = None, lease_seconds: float = 60.0):
        self.db = db
        self.owner = owner or new_owner()
        self.lease_seconds = lease_seconds
        # Called after any commit that adds, moves or cancels a job (the scheduler's wake).
        self.listeners: list[Callable[[], None]] = []
        # Users who may have parked jobs, so the common message costs no query. Loaded on
        # first use; a user is added when a job of theirs is parked, dropped once handed over.
        self._parked: set[tuple[str, str]] | None = None

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    # -- inside a feature's transaction -----------------------------------------------------

    async def add(
        self,
        tx: Transaction,
        kind: str,
        ref_id: int,
        user_id: int | None,
        due_at: datetime,
        occurrence: int = 0,
    ) -> int:
        due = to_unix(due_at)
        row = await tx.one(
            "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (kind, ref_id, user_id, occurrence, due, due),
        )
        tx.after_commit(self._changed)
        return int(row[0])

    async def cancel(self, tx: Transaction, kind: str, ref_id: int) -> None:
        """Drop the queued (and parked) jobs of one item; one being sent finishes its send."""
        await tx.execute(
            "UPDATE jobs SET state = 'cancelled' WHERE kind = ? AND ref_id = ? "
            "AND state IN ('pending', 'failed', 'undeliverable')",
            (kind, ref_id),
        )
        tx.after_commit(self._changed)

    # -- the scheduler's side ---------------------------------------------------------------

    async def next_run_at(self) -> datetime | None:
        row = await self.db.one(
            "SELECT run_at FROM jobs WHERE state = 'pending' ORDER BY run_at LIMIT 1"
        )
        return None if row is None else from_unix(row[0])

    async def peek_due(self, until: datetime, limit: int = 1000) -> list[Job]:
        """Pending jobs due by `until`, earliest first, without claiming them."""
        rows = await self.db.all(
            f"SELECT {_COLS} FROM jobs WHERE state = 'pending' AND run_at <= ? "
            "ORDER BY run_at, id LIMIT ?",
            (to_unix(until), limit),
        )
        return [_job(r) for r in rows]

    async def claim_due(self, now: datetime, limit: int = 500) -> list[Job]:
        """Claim (and commit) up to `limit` jobs due by `now`, earliest first, for this owner."""
        stamp = to_unix(now)
        async with self.db.transaction() as tx:
            rows = await tx.all(
                "UPDATE jobs SET state = 'claimed', claimed_at = ?, claimed_by = ?, "
                "lease_until = ?, attempts = attempts + 1 "
                f"WHERE id IN ({self.db.dialect.due_ids}) RETURNING {_COLS}",
                (stamp, self.owner, self._lease_end(now), stamp, limit),
            )
        return sorted((_job(r) for r in rows), key=lambda j: (j.run_at, j.id))

    def _lease_end(self, now: datetime) -> int:
        return to_unix(now) + max(1, round(self.lease_seconds))

    async def renew(self, now: datetime) -> int:
        """Extend the lease of every job this owner has claimed; how many it holds."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE jobs SET lease_until = ? WHERE state = 'claimed' AND claimed_by = ?",
                (self._lease_end(now), self.owner),
            )

    async def take_back(self, now: datetime, *, everything: bool = False) -> int:
        """Return to the queue the claims whose lease expired (their owner died), flagged as
        possible repeats. `everything`: every claim, for a process starting alone on its
        store (SQLite's instance lock), which has nothing in flight yet."""
        expired = "" if everything else " AND (lease_until IS NULL OR lease_until <= ?)"
        async with self.db.transaction() as tx:
            taken = await tx.execute(
                "UPDATE jobs SET state = 'pending', repeat = 1, claimed_by = NULL "
                f"WHERE state = 'claimed'{expired}",
                () if everything else (to_unix(now),),
            )
            if taken:
                tx.after_commit(self._changed)
        return taken

    async def pull_forward(self, job_ids: Sequence[int], now: datetime) -> None:
        """Make waiting jobs due now (the platform they waited for is back)."""
        if not job_ids:
            return
        async with self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE jobs SET run_at = ? WHERE state = 'pending' AND id IN ({marks(job_ids)})",
                (to_unix(now), *job_ids),
            )
            tx.after_commit(self._changed)

    async def finish(self, now: datetime, outcomes: Outcomes) -> None:
        """Record outcomes in one commit; only claims still held by this owner are changed
        (a claim taken back after its lease expired belongs to someone else now)."""
        o = outcomes
        if not o:
            return
        ended = [
            *((job_id, "failed", why) for job_id, why in o.given_up),
            *((job_id, "undeliverable", why) for job_id, why in o.unreachable),
            *((job_id, "cancelled", why) for job_id, why in o.dropped),
        ]
        stamp, me = to_unix(now), self.owner
        mine = "WHERE id = ? AND state = 'claimed' AND claimed_by = ?"
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE jobs SET state = 'sent', sent_at = ?, message_id = ?, error = NULL, "
                f"claimed_by = NULL {mine}",
                [(stamp, message_id, job_id, me) for job_id, message_id in o.sent],
            )
            await tx.executemany(
                f"UPDATE jobs SET state = ?, error = ?, claimed_by = NULL {mine}",
                [(state, error, job_id, me) for job_id, state, error in ended],
            )
            await tx.executemany(
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ?, claimed_by = NULL "
                f"{mine}",
                [(to_unix(at), error, job_id, me) for job_id, at, error in o.retried],
            )
            await tx.executemany(  # not this message's fault: the try does not count
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ?, claimed_by = NULL, "
                f"attempts = attempts - 1 {mine}",
                [(to_unix(at), error, job_id, me) for job_id, at, error in o.deferred],
            )
            await tx.executemany(  # it may have gone through: the next try says so
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ?, claimed_by = NULL, "
                f"attempts = attempts - 1, repeat = 1 {mine}",
                [(to_unix(at), error, job_id, me) for job_id, at, error in o.uncertain],
            )
            # A successor is skipped when the item was rescheduled meanwhile (a `done` pressed
            # while its nudge was in flight already queued the next one), and when the user
            # was forgotten meanwhile.
            await tx.executemany(
                "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
                "SELECT CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), "
                "CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) "
                "WHERE NOT EXISTS (SELECT 1 FROM jobs "
                "WHERE kind = ? AND ref_id = ? AND state IN ('pending', 'claimed')) "
                "AND (CAST(? AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?))",
                [_successor(n) for n in o.next_jobs],
            )
            if o.retried or o.next_jobs or o.deferred or o.uncertain:
                tx.after_commit(self._changed)
        parked = [job_id for job_id, _ in (*o.given_up, *o.unreachable)]
        if parked and self._parked is not None:
            rows = await self.db.all(
                "SELECT platform, platform_user_id FROM users WHERE id IN "
                f"(SELECT user_id FROM jobs WHERE id IN ({marks(parked)}))",
                parked,
            )
            self._parked.update((r[0], r[1]) for r in rows)

    # -- hand-over: parked jobs shown when their user writes ----------------------------------

    async def may_have_parked(self, ref: UserRef) -> bool:
        """False when `ref` surely has no parked job (no query once loaded)."""
        if self._parked is None:
            rows = await self.db.all(
                "SELECT platform, platform_user_id FROM users WHERE id IN "
                "(SELECT user_id FROM jobs WHERE state IN ('failed', 'undeliverable'))"
            )
            self._parked = {(r[0], r[1]) for r in rows}
        return (ref.platform, ref.id) in self._parked

    def handed_over(self, ref: UserRef) -> None:
        """`ref` has no parked job any more."""
        if self._parked is not None:
            self._parked.discard((ref.platform, ref.id))

    async def parked(self, user_id: int) -> list[Job]:
        """Jobs of this user that could not be delivered and wait for them to write."""
        rows = await self.db.all(
            f"SELECT {_COLS} FROM jobs WHERE user_id = ? "
            "AND state IN ('failed', 'undeliverable') ORDER BY due_at, id",
            (user_id,),
        )
        return [_job(r) for r in rows]

    async def claim_parked(self, job_ids: Sequence[int], now: datetime) -> list[Job]:
        """Claim specific parked jobs (to hand them over in a reply instead of a push)."""
        if not job_ids:
            return []
        async with self.db.transaction() as tx:
            rows = await tx.all(
                "UPDATE jobs SET state = 'claimed', claimed_at = ?, claimed_by = ?, "
                f"lease_until = ? WHERE id IN ({marks(job_ids)}) "
                f"AND state IN ('failed', 'undeliverable') RETURNING {_COLS}",
                (to_unix(now), self.owner, self._lease_end(now), *job_ids),
            )
        return sorted((_job(r) for r in rows), key=lambda j: (j.due_at, j.id))

    # -- reading -----------------------------------------------------------------------------

    async def by_ids(self, job_ids: Sequence[int]) -> list[Job]:
        if not job_ids:
            return []
        sql = f"SELECT {_COLS} FROM jobs WHERE id IN ({marks(job_ids)})"
        rows = await self.db.all(sql, job_ids)
        return [_job(r) for r in rows]

    async def latest(self, kind: str, ref_id: int, limit: int) -> list[Job]:
        """The newest `limit` jobs of one item, newest first."""
        rows = await self.db.all(
            f"SELECT {_COLS} FROM jobs WHERE kind = ? AND ref_id = ? ORDER BY id DESC LIMIT ?",
            (kind, ref_id, limit),
        )
        return [_job(r) for r in rows]
