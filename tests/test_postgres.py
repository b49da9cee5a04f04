"""The PostgreSQL store against a real throwaway cluster (tests/pgcluster.py)."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import TOKEN, Call, FakeTelegram
from stack import Stack
from test_sigkill import _FOLLOWUP, _nudges

from netcoach.bot.clock import SystemClock
from netcoach.bot.features.followups.nudge import REPEAT_NOTE
from netcoach.bot.kernel import UserRef
from netcoach.bot.scheduling import JobQueue, Outcomes
from netcoach.bot.storage import PgDatabase
from netcoach.bot.storage.db import migrations

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ANA = UserRef("telegram", "1001", "Ana")


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Stack]:
    store = Stack.wrap(await PgDatabase.open(pg_url))
    yield store
    await store.close()


async def test_migrations_run_once_and_the_schema_passes_the_privacy_audit(
    pg: Stack, pg_url: str
) -> None:
    assert await pg.db.schema_version() == len(migrations())
    again = await PgDatabase.open(pg_url)  # a second worker starting: nothing to do
    assert await again.schema_version() == len(migrations())
    await again.close()
    assert await pg.privacy_repo.audit() == []
    assert "jobs" in await pg.db.tables()


async def test_follow_ups_jobs_and_forget_work_on_postgresql(pg: Stack) -> None:
    ana = await pg.users.ensure(ANA, NOW)
    assert (await pg.users.ensure(ANA, NOW)).id == ana.id
    f = await pg.contacts.add(ana.id, "Maria", "the notes", NOW, NOW - timedelta(days=1))
    assert await pg.queue.next_run_at() == NOW
    [job] = await pg.queue.claim_due(NOW)
    assert job.ref_id == f.id and job.attempts == 1
    assert await pg.queue.claim_due(NOW) == []
    await pg.queue.finish(NOW, Outcomes(sent=[(job.id, "m1")]))
    assert await pg.count_jobs("sent") == 1
    exported = await pg.privacy_repo.export_user(ana)
    assert exported["contacts"][0]["name"] == "Maria"
    counts = await pg.privacy_repo.forget_user(ana)
    assert counts["followups"] == 1
    assert await pg.users.find(ANA) is None


async def test_only_expired_leases_are_taken_back(pg: Stack) -> None:
    ana = await pg.users.ensure(ANA, NOW)
    await pg.contacts.add(ana.id, "Maria", "", NOW, NOW)
    worker = JobQueue(pg.db, owner="w1", lease_seconds=60)
    [job] = await worker.claim_due(NOW)
    assert await pg.queue.take_back(NOW + timedelta(seconds=30)) == 0
    assert await pg.queue.take_back(NOW + timedelta(seconds=61)) == 1
    [again] = await pg.queue.claim_due(NOW + timedelta(seconds=61))
    assert again.id == job.id and again.repeat


def _netcoach(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netcoach.bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_db_migrate_and_db_copy_move_an_sqlite_install(tmp_path: Path, pg_url: str) -> None:
    sqlite_file = tmp_path / "old.sqlite3"
    store = await Stack.open(sqlite_file)
    ana = await store.users.ensure(ANA, NOW)
    for i in range(30):
        await store.contacts.add(ana.id, f"Contact {i}", "notes", NOW + timedelta(days=i), NOW)
    await store.close()
    config = tmp_path / "pg.yaml"
    config.write_text(f"database: {pg_url}\n")

    migrated = _netcoach("db", "migrate", "--config", str(config))
    assert migrated.returncode == 0, migrated.stderr
    assert f"schema version {len(migrations())}" in migrated.stdout
    copied = _netcoach("db", "copy", str(sqlite_file), pg_url)
    assert copied.returncode == 0, copied.stderr
    assert "every table's row count matches" in copied.stdout

    pg = Stack.wrap(await PgDatabase.open(pg_url))
    try:
        assert await pg.count_jobs("pending") == 30
        moved = await pg.users.ensure(ANA, NOW)
        assert moved.id == ana.id
        again = await pg.contacts.add(moved.id, "Someone new", "", NOW, NOW)  # ids go on
        assert again.id == 31
    finally:
        await pg.close()
    refused = _netcoach("db", "copy", str(sqlite_file), pg_url)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


class Recorder:
    """A platform that takes 1 ms per call and records which worker sent which job."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def sender(self, worker: str):  # type: ignore[no-untyped-def]
        async def send(user: object, reply: object, key: str) -> str:
            await asyncio.sleep(0.001)
            self.sent.append((key, worker))
            return key

        return send


async def _worker(url: str, name: str, recorder: Recorder, clock: SystemClock, **kw: Any):  # type: ignore[no-untyped-def]
    db = await PgDatabase.open(url)
    stack = Stack.wrap(db)
    stack.queue.owner = name
    followups = stack.followups(clock)
    scheduler = stack.scheduler(
        clock, recorder.sender(name), [followups.due], exclusive=False, **kw
    )
    await db.listen(scheduler.wake)
    return stack, scheduler


async def test_three_workers_deliver_3000_due_reminders_exactly_once(pg_url: str) -> None:
    clock = SystemClock()
    setup = Stack.wrap(await PgDatabase.open(pg_url))
    now = clock.now()
    for i in range(3000):
        user = await setup.users.ensure(UserRef("telegram", str(10_000 + i % 300), "U"), now)
        await setup.contacts.add(user.id, f"Contact {i}", "", now - timedelta(minutes=1), now)
    recorder = Recorder()
    workers = [await _worker(pg_url, f"w{n}", recorder, clock) for n in range(3)]
    tasks = [asyncio.create_task(s.run()) for _, s in workers]
    try:
        async with asyncio.timeout(120):
            while await setup.count_jobs("sent") < 3000:
                await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stack, _ in workers:
            await stack.close()
    keys = [k for k, _ in recorder.sent]
    assert len(keys) == 3000 and len(set(keys)) == 3000  # each exactly once
    by_worker = collections.Counter(w for _, w in recorder.sent)
    assert set(by_worker) == {"w0", "w1", "w2"}, by_worker  # all three took a share
    await setup.close()


async def test_a_sleeping_worker_is_woken_by_another_workers_new_job(pg_url: str) -> None:
    """LISTEN/NOTIFY: the job is added through another connection (another worker), and
    the sleeping worker, whose polling fallback is hours away, delivers it at once."""
    clock = SystemClock()
    recorder = Recorder()
    stack, scheduler = await _worker(pg_url, "sleeper", recorder, clock, max_sleep=3600)
    stack.queue.lease_seconds = 7200  # housekeeping (the polling fallback) every hour
    task = asyncio.create_task(scheduler.run())
    other = Stack.wrap(await PgDatabase.open(pg_url))
    try:
        async with asyncio.timeout(10):
            while not scheduler.idle:
                await asyncio.sleep(0.01)
        user = await other.users.ensure(ANA, clock.now())
        await other.contacts.add(user.id, "Maria", "", clock.now(), clock.now())
        async with asyncio.timeout(10):
            while not recorder.sent:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stack.close()
        await other.close()


async def _start_worker(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "netcoach.bot.cli",
        "run",
        "--config",
        str(config),
        env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_worker_killed_mid_backlog_loses_nothing_and_repeats_only_its_in_flight_sends(
    tmp_path: Path, pg_url: str
) -> None:
    """3 real `netcoach run` workers on one PostgreSQL database, Telegram against the fake
    Bot API; one is SIGKILLed part-way: the others take over its claims once its lease
    expires, and only its sends in flight can arrive twice, flagged."""
    reminders, concurrency = 600, 8
    setup = Stack.wrap(await PgDatabase.open(pg_url))
    now = datetime.now(UTC)
    for i in range(reminders):
        user = await setup.users.ensure(UserRef("telegram", str(5000 + i % 60), "U"), now)
        await setup.contacts.add(user.id, f"Contact {i}", "", now - timedelta(minutes=1), now)
    async with FakeTelegram() as fake:
        config = tmp_path / "worker.yaml"
        config.write_text(
            f"database: {pg_url}\nlog_level: WARNING\nconsole: {{enabled: false}}\n"
            f"scheduler: {{concurrency: {concurrency}, lease_seconds: 2}}\n"
            f"telegram: {{enabled: true, base_url: '{fake.base_url}'}}\n"
        )
        workers = [await _start_worker(config) for _ in range(3)]
        victim = workers[0]
        killed = asyncio.Event()

        def kill(call: Call) -> None:
            if not killed.is_set() and len(_nudges(fake)) >= 150:
                os.kill(victim.pid, signal.SIGKILL)
                killed.set()

        fake.on_call = kill
        try:
            async with asyncio.timeout(120):
                await killed.wait()
                while await setup.count_jobs("sent") < reminders:
                    await asyncio.sleep(0.05)
        finally:
            fake.on_call = None
            for proc in workers:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                await proc.wait()
        assert victim.returncode == -signal.SIGKILL
        assert all(p.returncode == 0 for p in workers[1:])
    await setup.close()
    copies: dict[int, list[str]] = collections.defaultdict(list)
    for call in _nudges(fake):
        followup = int(_FOLLOWUP.search(call.result["text"])[1])  # type: ignore[index]
        copies[followup].append(call.result["text"])
    assert len(copies) == reminders  # every reminder delivered
    repeats = sum(len(texts) - 1 for texts in copies.values())
    flagged = sum(REPEAT_NOTE in t for texts in copies.values() for t in texts)
    assert repeats <= concurrency and flagged <= concurrency
    for texts in copies.values():
        assert all(REPEAT_NOTE in t for t in texts[1:])
    print(f"\n3 workers, one SIGKILLed: {repeats} repeats, {flagged} flagged")
