"""The scheduler delivers every due item once, on time, across failures and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from followup_fakes import FakeClock, RecordingSender, settled
from stack import Stack

from netcoach.bot.kernel import DeliveryError, PlaceRef, Reply, Request, UserRef
from netcoach.bot.scheduling import (
    Due,
    DueSource,
    HandOver,
    JobQueue,
    NextJob,
    Outcomes,
    Outgoing,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ANA = UserRef("console", "ana", "Ana")


class Pings(DueSource):
    """A minimal due source: "ping <ref>"; ref ids >= 100 repeat daily."""

    kind = "ping"

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.stale: set[int] = set()
        self.clock = clock
        self.built_at: list[datetime] = []

    async def load(self, dues: Sequence[Due], now: datetime) -> set[int]:
        return set(self.stale)

    def build(self, due: Due, stale: set[int], now: datetime) -> Outgoing | None:
        job = due.job
        if self.clock:
            self.built_at.append(self.clock.now())
        if job.ref_id in stale:
            return None
        text = f"ping {job.ref_id}"
        if due.late:
            text += f" late {int(due.late.total_seconds())}s"
        if job.repeat:
            text += " repeat"
        if due.handed_over:
            text += " handed-over"
        nxt = job.due_at + timedelta(days=1) if job.ref_id >= 100 else None
        return Outgoing(ANA, Reply.of(PlaceRef("console", "ana"), text), nxt, job.occurrence + 1)


class Harness:
    def __init__(self, store: Stack, clock: FakeClock, **kw: object):
        self.store = store
        self.clock = clock
        self.sender = RecordingSender(clock)
        self.source = Pings(clock)
        kw.setdefault("prepare_ahead", 0)  # timers exactly at due times; see the prebuild tests
        self.scheduler = store.scheduler(
            clock, self.sender, [self.source], call_later=clock.call_later, **kw
        )
        self.scheduler.max_sleep = 10**9  # so the timers seen are exactly the due times
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.scheduler.run())
        await settled(self.scheduler)

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await settled(self.scheduler)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self.task

    async def add(self, ref: int, due: datetime) -> int:
        user = await self.store.users.ensure(ANA, self.clock.now())
        job_id = await self.store.add_job("ping", ref, user.id, due)
        await settled(self.scheduler)
        return job_id


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Stack]:
    opened = await Stack.open(tmp_path / "sched.sqlite3")
    yield opened
    await opened.close()


@pytest.fixture
async def h(store: Stack) -> AsyncIterator[Harness]:
    harness = Harness(store, FakeClock(T0))
    await harness.start()
    yield harness
    await harness.stop()


async def test_an_item_is_sent_at_its_due_time_not_before_and_once(h: Harness) -> None:
    due = T0 + timedelta(days=3)
    await h.add(1, due)
    assert h.clock.next_timer == due  # sleeping until the item, not polling
    await h.advance(timedelta(days=3) - timedelta(seconds=1))
    assert h.sender.sent == []
    await h.advance(timedelta(seconds=1))
    assert h.sender.texts == ["ping 1"]
    assert h.sender.sent[0].at == due
    await h.advance(timedelta(days=30))
    assert len(h.sender.sent) == 1
    assert h.clock.next_timer is None  # nothing left: waits for a wake, no timer at all


async def test_an_earlier_item_wakes_the_sleeping_scheduler(h: Harness) -> None:
    await h.add(1, T0 + timedelta(days=7))
    await h.add(2, T0 + timedelta(hours=1))
    assert h.clock.next_timer == T0 + timedelta(hours=1)
    await h.advance(timedelta(hours=1))
    assert h.sender.texts == ["ping 2"]
    assert h.clock.next_timer == T0 + timedelta(days=7)


async def test_a_cancelled_item_is_not_sent(h: Harness) -> None:
    await h.add(5, T0 + timedelta(hours=2))
    h.source.stale.add(5)  # e.g. the follow-up was cancelled after it was queued
    await h.advance(timedelta(hours=3))
    assert h.sender.sent == []
    assert await h.store.count_jobs("cancelled") == 1


async def test_items_due_while_offline_are_delivered_at_start_marked_late_once(
    store: Stack,
) -> None:
    user = await store.users.ensure(ANA, T0)
    await store.add_job("ping", 1, user.id, T0)
    await store.add_job("ping", 2, user.id, T0 + timedelta(hours=5))
    # netcoach was down; it starts three hours after the first item was due.
    first = Harness(store, FakeClock(T0 + timedelta(hours=3)))
    await first.start()
    assert first.sender.texts == ["ping 1 late 10800s"]
    await first.advance(timedelta(hours=2))
    assert first.sender.texts == ["ping 1 late 10800s", "ping 2"]  # on time: not "late"
    await first.stop()

    again = Harness(store, FakeClock(T0 + timedelta(hours=6)))
    await again.start()
    assert again.sender.sent == []  # a restart does not repeat what was delivered
    await again.stop()


async def test_a_failing_send_is_retried_with_backoff_then_parked_and_handed_over(
    store: Stack,
) -> None:
    h = Harness(store, FakeClock(T0), max_attempts=3, retry_seconds=30)
    h.sender.failures = [DeliveryError("timeout")] * 3
    await h.start()
    await h.add(1, T0)
    assert h.sender.attempts == 1
    assert h.clock.next_timer == T0 + timedelta(seconds=30)
    await h.advance(timedelta(seconds=30))
    assert h.sender.attempts == 2
    assert h.clock.next_timer == T0 + timedelta(seconds=90)  # 30 s, then 60 s
    await h.advance(timedelta(seconds=60))
    assert h.sender.attempts == 3
    await h.advance(timedelta(days=1))
    assert h.sender.attempts == 3 and h.sender.sent == []  # kept, not retried forever
    assert await store.count_jobs("failed") == 1

    hand_over = HandOver(h.scheduler)
    req = Request(ANA, PlaceRef("console", "ana"))
    replies = await hand_over.notices(req)
    assert [r.text for r in replies] == ["ping 1 handed-over"]
    assert all(r.private for r in replies)
    assert await hand_over.notices(req) == []  # shown once
    await h.stop()


async def test_an_unreachable_user_is_not_retried_in_a_loop(h: Harness) -> None:
    h.sender.failures = [DeliveryError("bot was blocked", permanent=True)]
    await h.add(1, T0)
    await h.advance(timedelta(days=2))
    assert h.sender.attempts == 1
    assert await h.store.count_jobs("undeliverable") == 1
    other = await HandOver(h.scheduler).notices(
        Request(UserRef("console", "someone-else"), PlaceRef("console", "x"))
    )
    assert other == []
    mine = await HandOver(h.scheduler).notices(Request(ANA, PlaceRef("console", "ana")))
    assert [r.text for r in mine] == ["ping 1 handed-over"]


async def test_a_reminder_for_a_platform_not_running_here_waits_without_using_its_tries(
    store: Stack,
) -> None:
    """`netcoach chat` on a database shared with a Telegram deployment: Telegram users'
    reminders are not this process's to send, so they wait, however long, and are then
    delivered normally instead of being parked as failed."""
    h = Harness(store, FakeClock(T0), max_attempts=2)
    not_here = DeliveryError("the telegram adapter is not running", retry_after=600, deferred=True)
    h.sender.failures = [not_here] * 5
    await h.start()
    await h.add(1, T0)
    for _ in range(5):
        await h.advance(timedelta(seconds=600))
    assert h.sender.attempts == 6 and h.sender.texts == ["ping 1"]
    assert await store.count_jobs("failed") == 0 and await store.count_jobs("sent") == 1
    await h.stop()


async def test_rate_limits_are_respected(h: Harness) -> None:
    h.sender.failures = [DeliveryError("429", retry_after=120)]
    await h.add(1, T0)
    assert h.clock.next_timer == T0 + timedelta(seconds=120)
    await h.advance(timedelta(seconds=120))
    assert h.sender.texts == ["ping 1"]


async def test_a_send_interrupted_by_a_crash_is_resent_as_a_recognisable_repeat(
    store: Stack,
) -> None:
    user = await store.users.ensure(ANA, T0)
    await store.add_job("ping", 1, user.id, T0)
    dead = JobQueue(store.db, owner="a process that died")
    claimed = await dead.claim_due(T0)  # it died after claiming, maybe after sending
    h = Harness(store, FakeClock(T0 + timedelta(seconds=5)))
    await h.start()
    assert h.sender.texts == ["ping 1 repeat"]
    assert h.sender.sent[0].key == f"job:{claimed[0].id}"  # same key as the first attempt
    await h.stop()


async def test_a_cadence_queues_its_next_occurrence_from_the_schedule(h: Harness) -> None:
    await h.add(100, T0 + timedelta(hours=1))
    await h.advance(timedelta(hours=1, minutes=7))  # delivered a little late...
    assert h.clock.next_timer == T0 + timedelta(days=1, hours=1)
    await h.advance(timedelta(days=1) - timedelta(minutes=7))
    assert [s.at for s in h.sender.sent] == [
        T0 + timedelta(hours=1, minutes=7),
        T0 + timedelta(days=1, hours=1),  # ...but the next is due from the schedule: no drift
    ]


async def test_a_thousand_items_due_together_all_arrive_never_early(h: Harness) -> None:
    user = await h.store.users.ensure(ANA, T0)
    due = T0 + timedelta(minutes=10)
    for ref in range(1000):
        await h.store.add_job("ping", ref % 99, user.id, due)
    await settled(h.scheduler)
    await h.advance(timedelta(minutes=10) - timedelta(milliseconds=1))
    assert h.sender.sent == []
    await h.advance(timedelta(milliseconds=1))
    assert len(h.sender.sent) == 1000
    assert len({s.key for s in h.sender.sent}) == 1000
    assert min(s.at for s in h.sender.sent) >= due


async def test_messages_are_built_ahead_and_sent_exactly_on_time(store: Stack) -> None:
    h = Harness(store, FakeClock(T0), prepare_ahead=1.0)
    await h.start()
    due = T0 + timedelta(hours=1)
    await h.add(1, due)
    await h.add(2, due)
    assert h.clock.next_timer == due - timedelta(seconds=1)
    await h.advance(timedelta(hours=1) - timedelta(seconds=1))
    assert h.source.built_at == [due - timedelta(seconds=1)] * 2  # built, not sent
    assert h.sender.sent == [] and h.clock.next_timer == due
    await h.advance(timedelta(seconds=1))
    assert [s.at for s in h.sender.sent] == [due, due]
    assert len(h.source.built_at) == 2  # nothing was built twice
    await h.stop()


async def test_an_item_cancelled_after_it_was_built_ahead_is_not_sent(store: Stack) -> None:
    h = Harness(store, FakeClock(T0), prepare_ahead=1.0)
    await h.start()
    await h.add(1, T0 + timedelta(minutes=5))
    await h.add(2, T0 + timedelta(minutes=5))
    await h.advance(timedelta(minutes=5) - timedelta(seconds=1))  # both built ahead now
    assert len(h.source.built_at) == 2
    await store.cancel_jobs("ping", 1)
    await settled(h.scheduler)
    await h.advance(timedelta(days=1))
    assert h.sender.texts == ["ping 2"]
    await h.stop()


async def test_a_message_that_fails_to_build_is_kept_and_tried_again(h: Harness) -> None:
    original = h.source.build
    calls = []

    def flaky(due: Due, loaded: set[int], now: datetime) -> Outgoing | None:
        calls.append(due.job.id)
        if len(calls) == 1:
            raise RuntimeError("a bug in one message")
        return original(due, loaded, now)

    h.source.build = flaky  # type: ignore[method-assign]
    await h.add(1, T0 + timedelta(minutes=1))
    await h.advance(timedelta(minutes=1))
    assert h.sender.sent == [] and await h.store.count_jobs("pending") == 1
    await h.advance(timedelta(seconds=30))  # the first retry
    assert h.sender.texts == ["ping 1"]


async def test_a_parked_nudge_is_not_spent_on_a_group_post_the_bot_only_observes(
    h: Harness,
) -> None:
    h.sender.failures = [DeliveryError("bot was blocked", permanent=True)]
    await h.add(1, T0)
    hand_over = HandOver(h.scheduler)
    group_post = Request(ANA, PlaceRef("telegram", "-100", "group"), "", "hello all")
    assert await hand_over.notices(group_post) == []
    assert await h.store.count_jobs("undeliverable") == 1  # still waiting for a real chat
    mine = await hand_over.notices(Request(ANA, PlaceRef("console", "ana"), "help"))
    assert [r.text for r in mine] == ["ping 1 handed-over"]


async def test_a_user_forgotten_mid_batch_does_not_undo_the_batch(h: Harness) -> None:
    """The next occurrence of a forgotten user's cadence is dropped; the rest is recorded."""
    user = await h.store.users.ensure(ANA, h.clock.now())
    job_id = await h.store.add_job("ping", 100, user.id, T0 + timedelta(hours=1))
    claimed = await h.store.queue.claim_parked([job_id], h.clock.now())
    await h.store.privacy_repo.forget_user(user)
    await h.store.queue.finish(
        h.clock.now(),
        Outcomes(
            sent=[(c.id, "m1") for c in claimed],
            next_jobs=[NextJob("ping", 100, user.id, T0 + timedelta(days=1), 1)],
        ),
    )
    assert await h.store.count_jobs("pending") == 0


async def test_an_outage_longer_than_the_retry_budget_delivers_within_a_minute_of_recovery(
    store: Stack,
) -> None:
    """Twelve 502s used to park every due reminder until the user happened to write."""
    h = Harness(store, FakeClock(T0), max_attempts=3, retry_seconds=30)
    h.sender.down = DeliveryError("telegram: Bad Gateway (502)", outage=True)
    await h.start()
    for ref in (1, 2, 3):
        await h.add(ref, T0)
    outage = timedelta(minutes=25)
    while h.clock.now() < T0 + outage:
        await h.advance(timedelta(seconds=5))
    # One probe at a time while it is down, at most a minute apart; no try used up.
    assert 20 <= h.sender.attempts <= 40
    assert await store.count_jobs("failed") == 0 and await store.count_jobs("pending") == 3
    back = h.clock.now()
    h.sender.down = None
    while h.clock.now() < back + timedelta(seconds=60) and len(h.sender.sent) < 3:
        await h.advance(timedelta(seconds=1))
    assert sorted(h.sender.texts) == ["ping 1", "ping 2", "ping 3"]
    assert max(s.at for s in h.sender.sent) <= back + timedelta(seconds=60)
    assert await store.count_jobs("sent") == 3
    await h.stop()


async def test_a_send_that_timed_out_is_retried_flagged_as_a_possible_repeat(h: Harness) -> None:
    h.sender.failures = [DeliveryError("timed out", uncertain=True)]
    await h.add(1, T0)
    await h.advance(timedelta(seconds=30))
    assert h.sender.texts == ["ping 1 repeat"]
    [job] = await h.store.jobs_for("ping", 1)
    assert job.state == "sent" and job.attempts == 1


async def test_a_hand_over_is_recorded_only_once_the_platform_accepted_it(h: Harness) -> None:
    """A user who blocked the bot types a command in a group: the private reply carrying
    the held-back nudge is refused (403), so the nudge stays parked for the next time."""
    h.sender.failures = [DeliveryError("bot was blocked", permanent=True)]
    await h.add(1, T0)
    hand_over = HandOver(h.scheduler)
    req = Request(ANA, PlaceRef("telegram", "-100", "group"), "tip")
    [reply] = await hand_over.notices(req)
    assert reply.receipt is not None and reply.text == "ping 1 handed-over"
    await reply.receipt.refused("telegram: Forbidden: bot was blocked by the user")
    assert await h.store.count_jobs("undeliverable") == 1
    [again] = await hand_over.notices(Request(ANA, PlaceRef("console", "ana"), "help"))
    assert again.receipt is not None
    await again.receipt.accepted("m42")
    assert await h.store.count_jobs("sent") == 1
    assert await hand_over.notices(Request(ANA, PlaceRef("console", "ana"), "help")) == []


async def test_a_hand_over_nobody_confirmed_is_taken_back_when_its_lease_ends(
    store: Stack,
) -> None:
    h = Harness(store, FakeClock(T0))
    h.scheduler.queue.lease_seconds = 60
    await h.start()
    h.sender.failures = [DeliveryError("bot was blocked", permanent=True)]
    await h.add(1, T0)
    [_unconfirmed] = await HandOver(h.scheduler).notices(
        Request(ANA, PlaceRef("console", "ana"), "x")
    )
    await settled(h.scheduler)
    await h.advance(timedelta(seconds=61))  # the adapter died before it could tell
    assert h.sender.texts == ["ping 1 repeat"]  # pushed again, flagged
    await h.stop()


async def test_a_crash_can_repeat_only_the_sends_in_flight(store: Stack) -> None:
    """Outcomes are committed per send, and only as many jobs are claimed as can be in
    flight: a process stuck (or killed) mid-batch leaves at most `concurrency` claimed."""
    h = Harness(store, FakeClock(T0), concurrency=4)
    user = await store.users.ensure(ANA, T0)
    for ref in range(50):
        await store.add_job("ping", ref, user.id, T0)
    stuck = asyncio.Event()
    original = h.sender.__call__

    async def hangs_after_20(user: UserRef, reply: Reply, key: str) -> str:
        if len(h.sender.sent) >= 20:
            stuck.set()
            await asyncio.Event().wait()
        return await original(user, reply, key)

    h.scheduler.sender = hangs_after_20
    task = asyncio.create_task(h.scheduler.run())
    try:
        await asyncio.wait_for(stuck.wait(), 5)
        async with asyncio.timeout(5):  # the last outcomes' commit (a database thread)
            while await store.count_jobs("sent") < 20:
                await asyncio.sleep(0.001)
        assert await store.count_jobs("claimed") <= 4
        assert await store.count_jobs("pending") >= 50 - 20 - 4
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
