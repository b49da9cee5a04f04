"""One task that delivers every due item: follow-ups now, community tips later.

It sleeps until the earliest due job in the queue and is woken early when jobs change
(the queue calls `wake`). Jobs are claimed only as far as sends can be in flight
(`concurrency`), and each outcome is committed as soon as it is known (outcomes that
arrive together share a commit), so a crash repeats at most the sends in flight; those
come back flagged `repeat` with the same delivery key (see docs/delivery.md).

Failures: a platform that is down (5xx, refused connections, time-outs) is not a failure of
the message: its jobs wait without using up tries, one probe goes out per interval
(`retry_seconds` doubling up to `outage_retry_max`), and when a send gets through again every
waiting job is due at once. A send that timed out may have gone through: it is retried
flagged as a possible repeat. Ordinary failures retry with backoff; after the last try, or
at once when the user cannot be reached, the job is parked and handed over the next time
the user writes, recorded as delivered only once the platform accepted that reply.

Messages due next are built a second ahead (nothing is claimed for that), so at the due
time only the sends are left: a burst of 1,000 nudges due in one second leaves within
about 15 ms. Kinds of due items plug in as `DueSource`s, so the scheduler knows nothing
about follow-ups. Time comes from an injected clock and timer, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
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
WAITING_FOR_PLATFORM = "waiting for the platform to come back"
CallLater = Callable[[float, Callable[[], None]], TimerHandle]


def _next(job: Job, due_at: datetime, occurrence: int) -> NextJob:
    return NextJob(job.kind, job.ref_id, job.user_id, due_at, occurrence)


def _settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def delivery_key(job: Job) -> str:
    return f"job:{job.id}"


@dataclass
class _Outage:
    """A platform that is down, as this process sees it."""

    reason: str
    next_probe: datetime
    streak: int = 1
    probing: bool = False
    waiting: set[int] = field(default_factory=set)  # jobs to make due when it is back


class _HandOverReceipt:
    """Records a handed-over job once the adapter reports the platform accepted the reply."""

    def __init__(self, scheduler: Scheduler, job: Job):
        self.scheduler = scheduler
        self.job = job

    async def accepted(self, message_id: str) -> None:
        s = self.scheduler
        s._watch.pop(self.job.id, None)
        await s.queue.finish(s.clock.now(), Outcomes(sent=[(self.job.id, message_id)]))

    async def refused(self, reason: str) -> None:
        s = self.scheduler
        s._watch.pop(self.job.id, None)
        await s.queue.finish(s.clock.now(), Outcomes(unreachable=[(self.job.id, reason)]))


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
        outage_retry_max: float = 60.0,  # a platform that is down is probed at least this often
        batch: int = 1000,
        chunk: int = 20,  # messages built between chances for the sends to start
        concurrency: int = 32,  # sends in flight at once: the most a crash can repeat
        offline_grace: timedelta = timedelta(minutes=1),
        call_later: CallLater | None = None,
        max_sleep: float = 3600.0,  # re-read the queue hourly, in case the wall clock jumped
        prepare_ahead: float = 1.0,  # build messages this many seconds before they are due
        exclusive: bool = True,  # the only process on this store (SQLite's instance lock)
        pace: Callable[[str], Awaitable[None]] | None = None,  # a shared rate, per platform
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
        self.outage_retry_max = outage_retry_max
        self.batch = batch
        self.chunk = max(1, chunk)
        self.concurrency = max(1, concurrency)
        self.offline_grace = offline_grace
        self._call_later = call_later
        self.max_sleep = max_sleep
        self.prepare_ahead = prepare_ahead
        self.exclusive = exclusive
        self.pace = pace
        self._prebuilt: dict[int, tuple[int, Outgoing | None]] = {}
        self._prebuilt_for: datetime | None = None
        self.started_at: datetime | None = None
        self.is_waiting = False
        self._wakeup: asyncio.Future[None] | None = None
        self._dirty = True
        self._outages: dict[str, _Outage] = {}
        self._unrecorded: list[Outcomes] = []
        self._recording = asyncio.Lock()
        # Claims that may be left behind (a hand-over awaiting its receipt, a batch cut short
        # by an error), with when their lease ends: until then, expired claims are looked for.
        self._watch: dict[int, datetime] = {}
        self._taken_back_at: datetime | None = None
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
        """Note the start time (for "while I was offline") and take back what a dead
        process left claimed: every claim when this process is the only one (nothing is
        in flight yet), else only expired leases."""
        self.started_at = now = self.clock.now()
        taken = await self.queue.take_back(now, everything=self.exclusive)
        if taken:
            log.warning("%d job(s) were being sent when netcoach stopped; resending", taken)

    async def run(self) -> None:
        """Deliver due jobs until cancelled."""
        if self.started_at is None:
            await self.start()
        while True:
            try:
                await self._step()
            except Exception:  # e.g. the disk is full: keep the rows, try again shortly
                log.exception("the scheduler hit an error; trying again in %d s", ERROR_PAUSE)
                lease = timedelta(seconds=self.queue.lease_seconds)
                self._watch[-1] = self.clock.now() + lease  # claims it left: taken back later
                await self._wait(ERROR_PAUSE)

    @property
    def _housekeeping_every(self) -> float | None:
        """How often to look for expired claims: other workers' (shared store) or our own
        hand-overs whose receipt never came; None when there is nothing to look for."""
        if not self.exclusive:
            return max(1.0, self.queue.lease_seconds / 2)
        if self._watch:
            return max(1.0, self.queue.lease_seconds)
        return None

    async def _housekeeping(self) -> None:
        every = self._housekeeping_every
        if every is None:
            return
        now = self.clock.now()
        if self._taken_back_at is not None and (now - self._taken_back_at).total_seconds() < every:
            return
        self._taken_back_at = now
        for job_id, until in list(self._watch.items()):
            if until <= now:
                del self._watch[job_id]
        taken = await self.queue.take_back(now)
        if taken:
            log.warning("took back %d job(s) whose sender stopped renewing its claim", taken)

    async def _step(self) -> None:
        """One turn: deliver what is due, or wait until something is (or a wake)."""
        self._dirty = False
        await self._housekeeping()
        next_at = await self.queue.next_run_at()
        if self._dirty:
            return
        cap = self.max_sleep
        if (every := self._housekeeping_every) is not None:
            cap = min(cap, every)
        if next_at is None:
            await self._wait(None if cap == self.max_sleep else cap)
            return
        delay = (next_at - self.clock.now()).total_seconds()
        if delay > 0:
            if self.prepare_ahead > 0 and self._prebuilt_for != next_at:
                if delay > self.prepare_ahead:
                    await self._wait(min(delay - self.prepare_ahead, cap))
                else:
                    await self._prebuild(next_at)
                return
            await self._wait(min(delay, cap))
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

    async def _sleep(self, delay: float) -> None:
        """Sleep on the injected timer (tests move it by hand)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        handle = (self._call_later or loop.call_later)(delay, lambda: _settle(fut))
        try:
            await fut
        finally:
            handle.cancel()

    @property
    def idle(self) -> bool:
        """Asleep with nothing to do until the clock moves or a job changes."""
        return self.is_waiting and self._wakeup is not None and not self._wakeup.done()

    async def run_due(self) -> int:
        """Deliver what is due, claiming only as many jobs as there are free send slots, so
        claimed jobs are the ones in flight; returns how many were claimed."""
        renewer = asyncio.create_task(self._renew_leases(), name="scheduler-leases")
        tasks: set[asyncio.Task[None]] = set()
        claimed = 0
        try:
            refill = max(1, self.concurrency // 2)  # claim in chunks, not one slot at a time
            while claimed < self.batch:
                free = self.concurrency - len(tasks)
                if free < refill and tasks:
                    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    tasks = set(pending)
                    continue
                now = self.clock.now()
                jobs = await self.queue.claim_due(now, min(free, self.batch - claimed))
                claimed += len(jobs)
                dues = [Due(job, self._late(job, now)) for job in jobs]
                await self._start_sends(dues, now, tasks)
                if len(jobs) < free:
                    break  # nothing more is due
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            renewer.cancel()
            for task in tasks:
                task.cancel()
        self._prebuilt.clear()
        self._prebuilt_for = None
        return claimed

    async def _renew_leases(self) -> None:
        """While sends are in flight, keep our claims' leases from expiring."""
        every = max(0.5, self.queue.lease_seconds / 3)
        while True:
            await self._sleep(every)
            try:
                await self.queue.renew(self.clock.now())
            except Exception:
                log.exception("could not renew the claims' leases")

    def _late(self, job: Job, now: datetime) -> timedelta | None:
        started = self.started_at or now
        if job.due_at < started - self.offline_grace:
            return now - job.due_at
        return None

    async def hand_over(self, user: UserRef, place: PlaceRef) -> list[Reply]:
        """Replies for jobs that could not be pushed to `user`, shown now that they wrote.
        Each reply carries a receipt: the job is recorded as delivered only when the adapter
        reports that the platform accepted it (else it stays parked)."""
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
        lease_end = now + timedelta(seconds=self.queue.lease_seconds)
        for job in jobs:
            out = outgoing.get(job.id)
            if out is None:
                continue
            receipt = _HandOverReceipt(self, job)
            self._watch[job.id] = lease_end
            replies.append(replace(out.reply, place=place, private=True, receipt=receipt))
        if replies:
            self.queue.handed_over(user)
            self.wake()  # so an unconfirmed hand-over is looked at when its lease ends
        # None: stale (the follow-up is gone); missing: building failed, keep it parked
        unbuilt = [j.id for j in jobs if outgoing.get(j.id) is None]
        dropped = [(job_id, "stale") for job_id in unbuilt if job_id in outgoing]
        given_up = [(job_id, "build") for job_id in unbuilt if job_id not in outgoing]
        await self.queue.finish(now, Outcomes(given_up=given_up, dropped=dropped))
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

    async def _start_sends(
        self, dues: Sequence[Due], now: datetime, tasks: set[asyncio.Task[None]]
    ) -> None:
        """Start a send for each claimed job as soon as its message is built; what needs no
        send (stale, skipped, unbuildable) is recorded at once."""
        unsent: list[Outcomes] = []
        built_count = 0
        async for due, out in self._ready(dues, now):
            job = due.job
            if isinstance(out, Exception):  # no source, or it crashed: try again later
                reason = f"could not build the message: {out}"
                if job.attempts >= self.max_attempts:  # not forever: park it, logged
                    log.warning("job %d parked: %s", job.id, reason)
                    unsent.append(Outcomes(given_up=[(job.id, reason)]))
                else:
                    unsent.append(Outcomes(retried=[self._retry(job, now, reason)]))
                continue
            if out is None:
                unsent.append(Outcomes(dropped=[(job.id, "stale")]))
                continue
            if out.skip:
                nxt = [_next(job, out.next_due, out.next_occurrence)] if out.next_due else []
                unsent.append(Outcomes(dropped=[(job.id, f"skipped: {out.skip}")], next_jobs=nxt))
                continue
            tasks.add(asyncio.create_task(self._send_one(due, out)))
            built_count += 1
            if built_count % self.chunk == 0:
                await asyncio.sleep(0)  # let the sends already built leave now
        if unsent:
            await self._record(Outcomes.merge(unsent))

    async def _send_one(self, due: Due, out: Outgoing) -> None:
        """Send one job (or hold it while its platform is down) and record the outcome."""
        job, platform = due.job, out.user.platform
        outage = self._outages.get(platform)
        now = self.clock.now()
        if outage is not None and (outage.probing or now < outage.next_probe):
            at = max(outage.next_probe, now + timedelta(seconds=self._outage_delay(outage)))
            outage.waiting.add(job.id)
            await self._record(Outcomes(deferred=[(job.id, at, WAITING_FOR_PLATFORM)]))
            return
        if outage is not None:
            outage.probing = True  # this send is the probe; the others wait for it
        if self.pace is not None:
            await self.pace(platform)  # the platform's rate, shared with the other workers
        try:
            result: str | Exception = await self.sender(out.user, out.reply, delivery_key(job))
        except Exception as exc:  # one bad send must not stop the others
            result = exc
        finally:
            if outage is not None:
                outage.probing = False
        await self._record(self._outcome(due, out, result))
        if isinstance(result, str) and (back := self._outages.pop(platform, None)) is not None:
            log.warning(
                "%s is reachable again; %d waiting job(s) go out now", platform, len(back.waiting)
            )
            await self.queue.pull_forward(sorted(back.waiting - {job.id}), self.clock.now())

    def _outage_delay(self, outage: _Outage) -> float:
        return float(min(self.outage_retry_max, self.retry_seconds * 2 ** (outage.streak - 1)))

    def _outcome(self, due: Due, out: Outgoing, result: str | Exception) -> Outcomes:
        """What one send's result means for its job (and the job after it)."""
        job, done = due.job, self.clock.now()
        # A cadence goes on whether or not this one arrived; not when it will be retried.
        nxt = [_next(job, out.next_due, out.next_occurrence)] if out.next_due else []
        if isinstance(result, str):
            return Outcomes(sent=[(job.id, result)], next_jobs=nxt)
        reason = str(result)
        if isinstance(result, DeliveryError):
            if result.permanent:
                log.info("job %d undeliverable: %s", job.id, result)
                return Outcomes(unreachable=[(job.id, reason)], next_jobs=nxt)
            if result.deferred or result.retry_after:  # not here, or slow down: no try used
                at = done + timedelta(seconds=result.retry_after or self.retry_seconds)
                return Outcomes(deferred=[(job.id, at, reason)])
            if result.outage or result.uncertain:
                at = self._platform_down(out.user.platform, job, reason, done)
                if result.uncertain:
                    return Outcomes(uncertain=[(job.id, at, reason)])
                return Outcomes(deferred=[(job.id, at, reason)])
        if job.attempts >= self.max_attempts:
            log.warning("job %d failed after %d tries: %s", job.id, job.attempts, result)
            return Outcomes(given_up=[(job.id, reason)], next_jobs=nxt)
        return Outcomes(retried=[self._retry(job, done, reason, result)])

    def _platform_down(self, platform: str, job: Job, reason: str, now: datetime) -> datetime:
        """Note that `platform` is down; when its next probe goes out."""
        outage = self._outages.get(platform)
        if outage is None:
            outage = self._outages[platform] = _Outage(reason, now)
            log.warning(
                "%s looks down (%s); its jobs wait, tried again every %g s at most",
                platform,
                reason,
                self.outage_retry_max,
            )
        elif now >= outage.next_probe:  # a probe failed: wait longer, up to the cap
            outage.streak += 1
        outage.reason = reason
        outage.next_probe = max(
            outage.next_probe, now + timedelta(seconds=self._outage_delay(outage))
        )
        outage.waiting.add(job.id)
        return outage.next_probe

    async def _record(self, outcome: Outcomes) -> None:
        """Commit an outcome now; outcomes that arrive while a commit is under way share the
        next one. Returns once this outcome is durable."""
        self._unrecorded.append(outcome)
        async with self._recording:
            if not self._unrecorded:
                return  # a commit that started after ours was queued has recorded it
            batch, self._unrecorded = self._unrecorded, []
            merged = Outcomes.merge(batch)
            await self.queue.finish(self.clock.now(), merged)
        unreachable = [job_id for job_id, _ in merged.unreachable]
        if unreachable:
            await self._tell_sources(merged)

    async def _tell_sources(self, merged: Outcomes) -> None:
        """e.g. the bot was removed from a channel: the source stops that cadence."""
        ids = {job_id: reason for job_id, reason in merged.unreachable}
        for job in await self.queue.by_ids(list(ids)):
            source = self.sources.get(job.kind)
            try:
                if source is not None:
                    await source.undeliverable(job, ids[job.id])
            except Exception:
                log.exception("the %s source failed to handle job %d", job.kind, job.id)

    def _retry(
        self, job: Job, now: datetime, reason: str, exc: BaseException | None = None
    ) -> tuple[int, datetime, str]:
        delay = min(self.retry_seconds * 2 ** max(0, job.attempts - 1), 3600.0)
        if isinstance(exc, DeliveryError) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        return job.id, now + timedelta(seconds=delay), reason
