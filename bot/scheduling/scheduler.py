"""One task that delivers every due item: follow-ups now, community tips later.

It sleeps until the earliest due job in the queue and is woken early when jobs change
(the queue calls `wake`). A job is claimed (committed) before it is sent and marked sent
after, so the only possible duplicate is a send whose "sent" mark was lost to a crash;
such jobs come back flagged `repeat` and carry the same delivery key (see
docs/delivery.md). Failures retry with backoff; after the last try, or at once when the
user cannot be reached, the job is parked and handed over the next time the user writes.

Messages due next are built a second ahead (nothing is claimed for that), so at the due
time only the sends are left: a burst of 1,000 nudges due in one second leaves within
about 15 ms. Kinds of due items plug in as `DueSource`s, so the scheduler knows nothing
about follow-ups. Time comes from an injected clock and timer, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from netcoach.bot.clock import Clock
from netcoach.bot.kernel import DeliveryError, PlaceRef, Reply, UserRef
from netcoach.bot.storage import Users

from .queue import Job, JobQueue, NextJob, Outcomes

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed job with the circumstances its message should mention."""

    job: Job
    late: timedelta | None = None  # fell due while netcoach was not running
    handed_over: bool = False  # could not be pushed earlier; shown when the user wrote


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What to send for a job, and the job that follows it (a cadence's next occurrence).

    `user` is whom to write to privately; a PlaceRef instead posts into that place (a
    community tip in a channel). A non-empty `skip` sends nothing this time (the reason is
    recorded on the job) while the cadence still goes on.
    """

    user: UserRef | PlaceRef
    reply: Reply
    next_due: datetime | None = None
    next_occurrence: int = 0
    skip: str = ""


class DueSource:
    """One kind of due item (base class: override `load` and `build`). Loading is per batch
    and building per item, so a burst of due items costs one round of queries and the first
    sends leave while later ones build."""

    kind: str = ""
    # False when `load` records what it picked (a tip's rotation): only claimed jobs are built.
    prebuild: bool = True

    async def load(self, dues: Sequence[Due], now: datetime) -> Any:
        """Fetch in bulk whatever `build` needs for these jobs."""
        return None

    def build(self, due: Due, loaded: Any, now: datetime) -> Outgoing | None:
        """The message for one job (fast, no I/O); None when the job is stale (dropped)."""
        raise NotImplementedError

    async def undeliverable(self, job: Job, reason: str) -> None:
        """The platform refused for good (the bot was removed from a channel, say)."""


class Sender(Protocol):
    async def __call__(self, user: UserRef | PlaceRef, reply: Reply, key: str) -> str:
        """Deliver privately (or post into a place); `key` is the same for every attempt."""
        ...


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


ERROR_PAUSE = 5.0
CallLater = Callable[[float, Callable[[], None]], TimerHandle]


def _next(job: Job, due_at: datetime, occurrence: int) -> NextJob:
    return NextJob(job.kind, job.ref_id, job.user_id, due_at, occurrence)


def _settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def delivery_key(job: Job) -> str:
    return f"job:{job.id}"


class Scheduler:
    def __init__(
        self,
        queue: JobQueue,
        users: Users,
        clock: Clock,
        sender: Sender,
        sources: Iterable[DueSource] = (),
        *,
        max_attempts: int = 5,
        retry_seconds: float = 30,
        batch: int = 1000,
        chunk: int = 20,  # messages built between chances for the sends to start
        concurrency: int = 32,
        offline_grace: timedelta = timedelta(minutes=1),
        call_later: CallLater | None = None,
        max_sleep: float = 3600.0,  # re-read the queue hourly, in case the wall clock jumped
        prepare_ahead: float = 1.0,  # build messages this many seconds before they are due
    ):
        self.queue = queue
        self.users = users
        self.clock = clock
        self.sender = sender
        self.sources: dict[str, DueSource] = {}
        for source in sources:
            self.add_source(source)
        self.max_attempts = max(1, max_attempts)
        self.retry_seconds = retry_seconds
        self.batch = batch
        self.chunk = max(1, chunk)
        self.concurrency = concurrency
        self.offline_grace = offline_grace
        self._call_later = call_later
        self.max_sleep = max_sleep
        self.prepare_ahead = prepare_ahead
        self._prebuilt: dict[int, tuple[int, Outgoing | None]] = {}
        self._prebuilt_for: datetime | None = None
        self.started_at: datetime | None = None
        self.is_waiting = False
        self._wakeup: asyncio.Future[None] | None = None
        self._dirty = True
        queue.listeners.append(self.wake)

    def add_source(self, source: DueSource) -> None:
        if source.kind in self.sources:
            raise ValueError(f"two due sources for kind '{source.kind}'")
        self.sources[source.kind] = source

    def wake(self) -> None:
        """Re-read the queue now: a job was added, moved or cancelled."""
        self._dirty = True
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def start(self) -> None:
        """Note the start time (for "while I was offline") and requeue jobs a crash left."""
        self.started_at = self.clock.now()
        recovered = await self.queue.recover_claimed()
        if recovered:
            log.warning("%d job(s) were being sent when netcoach stopped; resending", recovered)

    async def run(self) -> None:
        """Deliver due jobs until cancelled."""
        if self.started_at is None:
            await self.start()
        while True:
            try:
                await self._step()
            except Exception:  # e.g. the disk is full: keep the rows, try again shortly
                log.exception("the scheduler hit an error; trying again in %d s", ERROR_PAUSE)
                await self._wait(ERROR_PAUSE)

    async def _step(self) -> None:
        """One turn: deliver what is due, or wait until something is (or a wake)."""
        self._dirty = False
        next_at = await self.queue.next_run_at()
        if self._dirty:
            return
        if next_at is None:
            await self._wait(None)
            return
        delay = (next_at - self.clock.now()).total_seconds()
        if delay > 0:
            if self.prepare_ahead > 0 and self._prebuilt_for != next_at:
                if delay > self.prepare_ahead:
                    await self._wait(min(delay - self.prepare_ahead, self.max_sleep))
                else:
                    await self._prebuild(next_at)
                return
            await self._wait(min(delay, self.max_sleep))
            return
        await self.run_due()  # claims only what is due; the loop comes back for more

    async def _prebuild(self, due_at: datetime) -> None:
        """Build the messages of jobs due at `due_at` shortly before, so sending is all that
        is left at the due time. Nothing is claimed: a job cancelled or moved meanwhile is
        simply not claimed, and its prepared message is dropped."""
        self._prebuilt_for = due_at
        jobs = await self.queue.peek_due(due_at, self.batch)
        # A source whose `load` records what it picked (a tip's rotation) builds only claimed jobs.
        jobs = [j for j in jobs if (src := self.sources.get(j.kind)) is None or src.prebuild]
        dues = [Due(job, self._late(job, due_at)) for job in jobs]
        async for due, out in self._built(dues, due_at):
            if not isinstance(out, Exception):
                self._prebuilt[due.job.id] = (due.job.attempts, out)

    async def _wait(self, delay: float | None) -> None:
        loop = asyncio.get_running_loop()
        self._wakeup = fut = loop.create_future()
        handle: TimerHandle | None = None
        if delay is not None:
            call_later = self._call_later or loop.call_later
            handle = call_later(delay, lambda: _settle(fut))
        self.is_waiting = True
        try:
            await fut
        finally:
            self.is_waiting = False
            self._wakeup = None
            if handle is not None:
                handle.cancel()

    @property
    def idle(self) -> bool:
        """Asleep with nothing to do until the clock moves or a job changes."""
        return self.is_waiting and self._wakeup is not None and not self._wakeup.done()

    async def run_due(self) -> int:
        """Deliver one batch of due jobs; returns how many were claimed."""
        now = self.clock.now()
        jobs = await self.queue.claim_due(now, self.batch)
        if jobs:
            await self._deliver([Due(job, self._late(job, now)) for job in jobs], now)
        self._prebuilt.clear()
        self._prebuilt_for = None
        return len(jobs)

    def _late(self, job: Job, now: datetime) -> timedelta | None:
        started = self.started_at or now
        if job.due_at < started - self.offline_grace:
            return now - job.due_at
        return None

    async def hand_over(self, user: UserRef, place: PlaceRef) -> list[Reply]:
        """Replies for jobs that could not be pushed to `user`, shown now that they wrote."""
        if not await self.queue.may_have_parked(user):
            return []
        stored = await self.users.find(user)
        stranded = await self.queue.parked(stored.id) if stored is not None else []
        if not stranded:
            self.queue.handed_over(user)
            return []
        now = self.clock.now()
        jobs = await self.queue.claim_parked([j.id for j in stranded], now)
        outgoing = await self._prepare([Due(j, None, handed_over=True) for j in jobs], now)
        replies: list[Reply] = []
        sent: list[tuple[int, str]] = []
        for job in jobs:
            out = outgoing.get(job.id)
            if out is None:
                continue
            replies.append(replace(out.reply, place=place, private=True))
            sent.append((job.id, "in-reply"))
        # None: stale (the follow-up is gone); missing: building failed, keep it parked
        unbuilt = [j.id for j in jobs if outgoing.get(j.id) is None]
        dropped = [(job_id, "stale") for job_id in unbuilt if job_id in outgoing]
        given_up = [(job_id, "build") for job_id in unbuilt if job_id not in outgoing]
        await self.queue.finish(now, Outcomes(sent=sent, given_up=given_up, dropped=dropped))
        return replies

    async def _prepare(self, dues: Sequence[Due], now: datetime) -> dict[int, Outgoing | None]:
        """Every message at once (for hand-overs); a job missing from the result failed."""
        out: dict[int, Outgoing | None] = {}
        async for due, built in self._built(dues, now):
            if not isinstance(built, Exception):
                out[due.job.id] = built
        return out

    async def _built(
        self, dues: Sequence[Due], now: datetime
    ) -> AsyncIterator[tuple[Due, Outgoing | Exception | None]]:
        """(due, message, None when stale, or the exception that stopped building it)."""
        by_kind: dict[str, list[Due]] = {}
        for due in dues:
            by_kind.setdefault(due.job.kind, []).append(due)
        for kind, group in by_kind.items():
            source = self.sources.get(kind)
            if source is None:
                log.error("no due source for kind %r", kind)
                for due in group:
                    yield due, LookupError(f"no due source for kind {kind!r}")
                continue
            try:
                loaded = await source.load(group, now)
            except Exception as exc:
                log.exception("loading %s items failed", kind)
                for due in group:
                    yield due, exc
                continue
            for due in group:
                try:
                    built = source.build(due, loaded, now)
                except Exception as exc:
                    log.exception("building the message for job %d failed", due.job.id)
                    yield due, exc
                    continue
                yield due, built

    async def _ready(
        self, dues: Sequence[Due], now: datetime
    ) -> AsyncIterator[tuple[Due, Outgoing | Exception | None]]:
        """Prepared messages first (no work left), then the rest as they are built."""
        rest = []
        for due in dues:
            hit = self._prebuilt.pop(due.job.id, None)
            if hit is not None and hit[0] == due.job.attempts - 1:  # the try it was built for
                yield due, hit[1]
            else:
                rest.append(due)
        async for pair in self._built(rest, now):
            yield pair

    async def _deliver(self, dues: Sequence[Due], now: datetime) -> None:
        """Send each message as soon as it is built, and record the batch in one commit."""
        semaphore = asyncio.Semaphore(self.concurrency)

        async def send(due: Due, out: Outgoing) -> tuple[Due, Outgoing, str | BaseException]:
            async with semaphore:
                try:
                    result = await self.sender(out.user, out.reply, delivery_key(due.job))
                except Exception as exc:  # one bad send must not stop the batch
                    return due, out, exc
                return due, out, result

        tasks: list[asyncio.Task[tuple[Due, Outgoing, str | BaseException]]] = []
        sent: list[tuple[int, str]] = []
        given_up: list[tuple[int, str]] = []
        unreachable_ids: list[tuple[int, str]] = []
        dropped: list[tuple[int, str]] = []
        retried: list[tuple[int, datetime, str]] = []
        deferred: list[tuple[int, datetime, str]] = []
        skipped_next: list[NextJob] = []
        built_count = 0
        async for due, out in self._ready(dues, now):
            if isinstance(out, Exception):  # no source, or it crashed: try again later
                reason = f"could not build the message: {out}"
                if due.job.attempts >= self.max_attempts:  # not forever: park it, logged
                    log.warning("job %d parked: %s", due.job.id, reason)
                    given_up.append((due.job.id, reason))
                else:
                    retried.append(self._retry(due.job, now, reason))
                continue
            if out is None:
                dropped.append((due.job.id, "stale"))
                continue
            if out.skip:
                dropped.append((due.job.id, f"skipped: {out.skip}"))
                if out.next_due is not None:
                    skipped_next.append(_next(due.job, out.next_due, out.next_occurrence))
                continue
            tasks.append(asyncio.create_task(send(due, out)))
            built_count += 1
            if built_count % self.chunk == 0:
                await asyncio.sleep(0)  # let the sends already built leave now
        results = await asyncio.gather(*tasks)
        next_jobs = skipped_next
        unreachable: list[tuple[Job, str]] = []
        done = self.clock.now()
        for due, out, result in results:
            job = due.job
            if isinstance(result, str):
                sent.append((job.id, result))
            elif isinstance(result, DeliveryError) and result.deferred:
                at = done + timedelta(seconds=result.retry_after or self.retry_seconds)
                deferred.append((job.id, at, str(result)))
                continue
            elif isinstance(result, DeliveryError) and result.permanent:
                log.info("job %d undeliverable: %s", job.id, result)
                unreachable_ids.append((job.id, str(result)))
                unreachable.append((job, str(result)))
            elif job.attempts >= self.max_attempts:
                log.warning("job %d failed after %d tries: %s", job.id, job.attempts, result)
                given_up.append((job.id, str(result)))
            else:
                retried.append(self._retry(job, done, str(result), result))
                continue
            if out.next_due is not None:  # a cadence goes on whether or not this one arrived
                next_jobs.append(_next(job, out.next_due, out.next_occurrence))
        await self.queue.finish(
            done,
            Outcomes(
                sent=sent,
                given_up=given_up,
                unreachable=unreachable_ids,
                dropped=dropped,
                retried=retried,
                deferred=deferred,
                next_jobs=next_jobs,
            ),
        )
        for job, reason in unreachable:  # e.g. the bot was removed: the source stops the cadence
            source = self.sources.get(job.kind)
            try:
                if source is not None:
                    await source.undeliverable(job, reason)
            except Exception:
                log.exception("the %s source failed to handle job %d", job.kind, job.id)

    def _retry(
        self, job: Job, now: datetime, reason: str, exc: BaseException | None = None
    ) -> tuple[int, datetime, str]:
        delay = min(self.retry_seconds * 2 ** max(0, job.attempts - 1), 3600.0)
        if isinstance(exc, DeliveryError) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        return job.id, now + timedelta(seconds=delay), reason
