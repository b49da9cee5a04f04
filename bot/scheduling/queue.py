"""The job queue: one row per due item (a follow-up occurrence, a community tip slot).

This module is the only code that knows job states and moves rows between them:

    pending --claim--> claimed --send ok--> sent
       ^                  |----retry------> pending (a later run_at)
       |                  |----give up----> failed | undeliverable   (handed over later)
       |                  '----stale------> cancelled
       '--recover (after a crash, flagged repeat)

Features add and cancel jobs inside their own transactions (`add`, `cancel` take the
transaction), so a follow-up and its first job are committed together; every commit that
adds, moves or cancels a job wakes the scheduler through `listeners`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    deferred: like retried, without using up a try; next_jobs: what follows the finished ones.
    """

    sent: Sequence[tuple[int, str]] = ()
    given_up: Sequence[tuple[int, str]] = ()
    unreachable: Sequence[tuple[int, str]] = ()
    dropped: Sequence[tuple[int, str]] = ()
    retried: Sequence[tuple[int, datetime, str]] = ()
    deferred: Sequence[tuple[int, datetime, str]] = ()
    next_jobs: Sequence[NextJob] = ()


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
    def __init__(self, db: Database):
        self.db = db
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
        """Claim (and commit) up to `limit` jobs due by `now`, earliest first."""
        async with self.db.transaction() as tx:
            rows = await tx.all(
                f"UPDATE jobs SET state = 'claimed', claimed_at = ?, attempts = attempts + 1 "
                f"WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ? "
                f"ORDER BY run_at, id LIMIT ?) RETURNING {_COLS}",
                (to_unix(now), to_unix(now), limit),
            )
        return sorted((_job(r) for r in rows), key=lambda j: (j.run_at, j.id))

    async def finish(self, now: datetime, outcomes: Outcomes) -> None:
        """Record a batch's outcome in one commit."""
        o = outcomes
        ended = [
            *((job_id, "failed", why) for job_id, why in o.given_up),
            *((job_id, "undeliverable", why) for job_id, why in o.unreachable),
            *((job_id, "cancelled", why) for job_id, why in o.dropped),
        ]
        if not (o.sent or ended or o.retried or o.next_jobs or o.deferred):
            return
        stamp = to_unix(now)
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE jobs SET state = 'sent', sent_at = ?, message_id = ?, error = NULL "
                "WHERE id = ? AND state = 'claimed'",
                [(stamp, message_id, job_id) for job_id, message_id in o.sent],
            )
            await tx.executemany(
                "UPDATE jobs SET state = ?, error = ? WHERE id = ? AND state = 'claimed'",
                [(state, error, job_id) for job_id, state, error in ended],
            )
            await tx.executemany(
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ? "
                "WHERE id = ? AND state = 'claimed'",
                [(to_unix(at), error, job_id) for job_id, at, error in o.retried],
            )
            await tx.executemany(  # not this process's to send: the try does not count
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ?, "
                "attempts = attempts - 1 WHERE id = ? AND state = 'claimed'",
                [(to_unix(at), error, job_id) for job_id, at, error in o.deferred],
            )
            # A successor is skipped when the item was rescheduled meanwhile (a `done` pressed
            # while its nudge was in flight already queued the next one), and when the user
            # was forgotten meanwhile.
            await tx.executemany(
                "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
                "SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM jobs "
                "WHERE kind = ? AND ref_id = ? AND state IN ('pending', 'claimed')) "
                "AND (? IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?))",
                [_successor(n) for n in o.next_jobs],
            )
            if o.retried or o.next_jobs or o.deferred:
                tx.after_commit(self._changed)
        parked = [job_id for job_id, _ in (*o.given_up, *o.unreachable)]
        if parked and self._parked is not None:
            rows = await self.db.all(
                "SELECT platform, platform_user_id FROM users WHERE id IN "
                f"(SELECT user_id FROM jobs WHERE id IN ({marks(parked)}))",
                parked,
            )
            self._parked.update((r[0], r[1]) for r in rows)

    async def recover_claimed(self) -> int:
        """Return jobs claimed by a process that died to the queue, flagged as possible repeats."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE jobs SET state = 'pending', repeat = 1 WHERE state = 'claimed'"
            )

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
                f"UPDATE jobs SET state = 'claimed', claimed_at = ? WHERE id IN "
                f"({marks(job_ids)}) AND state IN ('failed', 'undeliverable') RETURNING {_COLS}",
                (to_unix(now), *job_ids),
            )
        return sorted((_job(r) for r in rows), key=lambda j: (j.due_at, j.id))

    # -- reading -----------------------------------------------------------------------------

    async def latest(self, kind: str, ref_id: int, limit: int) -> list[Job]:
        """The newest `limit` jobs of one item, newest first."""
        rows = await self.db.all(
            f"SELECT {_COLS} FROM jobs WHERE kind = ? AND ref_id = ? ORDER BY id DESC LIMIT ?",
            (kind, ref_id, limit),
        )
        return [_job(r) for r in rows]
