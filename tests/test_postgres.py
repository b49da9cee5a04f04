"""The PostgreSQL store against a real throwaway cluster (tests/pgcluster.py)."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_discord import FakeDiscord
from fake_discord import restore_discord_endpoints as restore_discord_endpoints
from fake_telegram import TOKEN, Call, FakeTelegram, user
from stack import Stack
from test_sigkill import _copies, _nudges, _repeats

from netcoach.bot.app import build, load_config, platform_adapters
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
            await _stop(workers)
        assert victim.returncode == -signal.SIGKILL
        assert all(p.returncode == 0 for p in workers[1:])
    await setup.close()
    copies = _copies(fake)
    assert len(copies) == reminders  # every reminder delivered
    repeats, flagged = _repeats(copies)
    assert repeats <= concurrency and flagged <= concurrency
    for texts in copies.values():
        assert all(REPEAT_NOTE in t for t in texts[1:])
    print(f"\n3 workers, one SIGKILLed: {repeats} repeats, {flagged} flagged")


class Lines:
    """A worker's stderr, collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.lines: list[str] = []
        self.task = asyncio.create_task(self._read(proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def says(self, words: str) -> bool:
        return any(words in line for line in self.lines)


async def test_the_polling_worker_dies_another_polls_within_10_s_no_update_handled_twice(
    tmp_path: Path, pg_url: str
) -> None:
    async with FakeTelegram() as fake:
        config = tmp_path / "worker.yaml"
        config.write_text(
            f"database: {pg_url}\nlog_level: INFO\nconsole: {{enabled: false}}\n"
            f"telegram: {{enabled: true, base_url: '{fake.base_url}'}}\n"
        )
        workers = [await _start_worker(config) for _ in range(2)]
        logs = [Lines(p) for p in workers]
        try:
            async with asyncio.timeout(30):
                while not any(log.says("this worker polls") for log in logs):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1)  # the other one is standing by, not polling
            assert sum(log.says("this worker polls") for log in logs) == 1
            poller = next(p for p, log in zip(workers, logs, strict=True) if log.says("polls"))
            other = next(p for p in workers if p is not poller)

            users = [user(7000 + i, f"U{i}") for i in range(20)]
            first_batch = [fake.send(u, "/help") for u in users]
            killed_at: list[float] = []

            def kill_at_first_reply(call: Call) -> None:
                if not killed_at and call.method == "sendMessage" and call.status == 200:
                    os.kill(poller.pid, signal.SIGKILL)  # mid-batch: fetched, not confirmed
                    killed_at.append(time.perf_counter())

            fake.on_call = kill_at_first_reply
            async with asyncio.timeout(60):
                while not killed_at:
                    await asyncio.sleep(0.01)
                await poller.wait()
                fake.on_call = None
                polls_after = [
                    c for c in fake.calls if c.method == "getUpdates" and c.at > killed_at[0]
                ]
                while not polls_after:
                    await asyncio.sleep(0.05)
                    polls_after = [
                        c for c in fake.calls if c.method == "getUpdates" and c.at > killed_at[0]
                    ]
            takeover = polls_after[0].at - killed_at[0]
            assert takeover <= 10, takeover
            # PTB confirms a batch with its next getUpdates, right after fetching it; a
            # poller killed in between leaves it unconfirmed and Telegram hands it out again.
            fake.redeliver([u for u in fake.pushed if u["message"] in first_batch])
            second_batch = [fake.send(u, "/help") for u in users[:5]]
            for message in second_batch:
                await fake.wait_for(
                    "sendMessage", where=lambda c, m=message: _replies_to(c, m), timeout=20
                )
            await asyncio.sleep(1)  # anything handled twice would have been answered by now
            other_log = logs[workers.index(other)]
            assert other_log.says("already handled; skipped")  # the dead poller's batch again
        finally:
            fake.on_call = None
            await _stop(workers)
        assert other.returncode == 0
    for message in first_batch:  # fetched by the dead poller: at most once, never twice
        assert len([c for c in fake.calls if _replies_to(c, message)]) <= 1
    for message in second_batch:
        assert len([c for c in fake.calls if _replies_to(c, message)]) == 1
    print(f"\ntakeover after {takeover:.1f} s")


async def _stop(workers: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM every worker still running, and wait for all of them."""
    for proc in workers:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()


def _replies_to(call: Call, message: dict[str, Any]) -> bool:
    reply = (call.params.get("reply_parameters") or {}).get("message_id")
    return (
        call.method == "sendMessage"
        and call.status == 200
        and call.params.get("chat_id") == message["chat"]["id"]
        and reply == message["message_id"]
    )


async def test_two_workers_identify_with_disjoint_shards_and_take_over_a_dead_ones(
    tmp_path: Path, pg_url: str
) -> None:
    fake = await FakeDiscord().start()
    config_file = tmp_path / "discord.yaml"
    config_file.write_text(
        f"database: {pg_url}\nscheduler: {{lease_seconds: 3}}\n"
        f"discord: {{enabled: true, shards: 2, api_base_url: '{fake.api_url}', "
        f"gateway_url: '{fake.gateway_url}'}}\n"
    )
    config = load_config(config_file, env={"DISCORD_TOKEN": FakeDiscord.token_expected})
    apps, adapters, tasks = [], [], []
    try:
        for _ in range(2):
            app = await build(config)
            [adapter] = platform_adapters(config)
            adapter.shard_renew_seconds, adapter.identify_spacing = 1.0, 0.05
            adapter.guild_ready_timeout = 0.1
            app.add_adapter(adapter)
            apps.append(app)
            adapters.append(adapter)
        tasks = [
            asyncio.create_task(a.run(app.coach)) for a, app in zip(adapters, apps, strict=True)
        ]
        async with asyncio.timeout(30):
            while sorted(map(str, fake.live_shards())) != ["[0, 2]", "[1, 2]"]:
                await asyncio.sleep(0.05)
        assert sorted(a.shard_ids[0] for a in adapters) == [0, 1]  # one shard each
        assert all(len(a.shard_ids) == 1 for a in adapters)

        tasks[0].cancel()  # a worker dies: its shard's lease runs out, the other takes it
        await asyncio.gather(tasks[0], return_exceptions=True)
        async with asyncio.timeout(30):
            while adapters[1].shard_ids != [0, 1] or len(fake.live_shards()) != 2:
                await asyncio.sleep(0.05)
        assert sorted(map(str, fake.live_shards())) == ["[0, 2]", "[1, 2]"]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for app in apps:
            await app.close()
        await fake.stop()
