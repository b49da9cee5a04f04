"""Test doubles for the follow-up tests: a clock moved by hand and a recording sender."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from netcoach.bot.kernel import DeliveryError, Reply, UserRef
from netcoach.bot.scheduling import Scheduler


async def settled(scheduler: Scheduler, timeout: float = 5.0) -> None:
    """Return once the scheduler has nothing to do until the clock moves."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not scheduler.idle:
        if loop.time() > deadline:
            raise TimeoutError("the scheduler did not settle")
        await asyncio.sleep(0)


class FakeClock:
    """`now()` only moves on `advance`; timers registered with `call_later` fire then."""

    def __init__(self, start: datetime):
        self._now = start
        self._timers: list[_Timer] = []

    def now(self) -> datetime:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(self._now + timedelta(seconds=delay), callback)
        self._timers.append(timer)
        return timer

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        due = [t for t in self._timers if t.when <= self._now and not t.cancelled]
        self._timers = [t for t in self._timers if t not in due and not t.cancelled]
        for timer in due:
            timer.callback()

    def set(self, when: datetime) -> None:
        self.advance(when - self._now)

    @property
    def next_timer(self) -> datetime | None:
        live = [t.when for t in self._timers if not t.cancelled]
        return min(live) if live else None


@dataclass(eq=False)
class _Timer:
    when: datetime
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Sent:
    user: UserRef
    reply: Reply
    key: str
    at: datetime


@dataclass
class RecordingSender:
    """Records deliveries; `failures` queues exceptions to raise on the next sends."""

    clock: FakeClock
    sent: list[Sent] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)
    down: DeliveryError | None = None  # every send fails this way while set (an outage)
    attempts: int = 0

    async def __call__(self, user: UserRef, reply: Reply, key: str) -> str:
        self.attempts += 1
        if self.down is not None:
            raise self.down
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(user, reply, key, self.clock.now()))
        return f"m{len(self.sent)}"

    @property
    def texts(self) -> list[str]:
        return [s.reply.text for s in self.sent]
