"""SIGKILL the real `netcoach run` while it delivers a backlog, and count what the user gets.

The real process, the real Telegram adapter (python-telegram-bot) and a fake Bot API on
127.0.0.1: 600 reminders are overdue; the process is killed at several moments of the batch
(the very first send, part-way, near the end) and started again each time. No adapter here
remembers anything across processes, so what the fake received is what users would see:
every reminder arrives, a repeat can only be a send that was in flight at a kill, and every
repeat says it may be one.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fake_telegram import TOKEN, Call, FakeTelegram
from stack import Stack

from netcoach.bot.features.followups.nudge import REPEAT_NOTE
from netcoach.bot.kernel import UserRef
from netcoach.bot.storage import InstanceLock

REMINDERS = 600
USERS = 60
CONCURRENCY = 32  # scheduler.concurrency: the most sends in flight when a kill lands
KILL_AT = (1, 200, 450)  # messages received by the fake when each SIGKILL lands
_FOLLOWUP = re.compile(r"#(\d+)\s*$")


async def _populate(db: Path) -> None:
    store = await Stack.open(db)
    now = datetime.now(UTC)
    for i in range(REMINDERS):
        ref = UserRef("telegram", str(5000 + i % USERS), f"User {i % USERS}")
        user = await store.users.ensure(ref, now)
        await store.contacts.add(user.id, f"Contact {i}", "", now - timedelta(minutes=1), now)
    await store.close()


def _config(tmp: Path, db: Path, fake: FakeTelegram) -> Path:
    path = tmp / "netcoach.yaml"
    path.write_text(
        f"database: {db}\n"
        "log_level: WARNING\n"
        f"scheduler: {{concurrency: {CONCURRENCY}}}\n"
        "console: {enabled: false}\n"
        f"telegram: {{enabled: true, base_url: '{fake.base_url}'}}\n"
    )
    return path


def _job_states(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    finally:
        con.close()


def _nudges(fake: FakeTelegram) -> list[Call]:
    return [
        c
        for c in fake.called("sendMessage")
        if int(c.params["chat_id"]) >= 5000 and _FOLLOWUP.search(c.result["text"])
    ]


def _copies(fake: FakeTelegram) -> dict[int, list[str]]:
    """Every nudge the users received, by follow-up id, in the order sent."""
    copies: dict[int, list[str]] = collections.defaultdict(list)
    for call in _nudges(fake):
        followup = int(_FOLLOWUP.search(call.result["text"])[1])  # type: ignore[index]
        copies[followup].append(call.result["text"])
    return copies


def _repeats(copies: dict[int, list[str]]) -> tuple[int, int]:
    """How many nudges arrived again, and how many say they may be a repeat."""
    repeats = sum(len(texts) - 1 for texts in copies.values())
    flagged = sum(REPEAT_NOTE in t for texts in copies.values() for t in texts)
    return repeats, flagged


async def _start(config: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "netcoach.bot.cli",
        "run",
        "--config",
        str(config),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigkills_during_a_backlog_lose_nothing_and_repeat_only_in_flight_sends(
    tmp_path: Path,
) -> None:
    db = tmp_path / "netcoach.sqlite3"
    await _populate(db)
    async with FakeTelegram() as fake:
        config = _config(tmp_path, db, fake)
        for kill_at in KILL_AT:
            proc = await _start(config)
            killed = asyncio.Event()

            def kill(
                call: Call,
                proc: asyncio.subprocess.Process = proc,
                at: int = kill_at,
                killed: asyncio.Event = killed,
            ) -> None:
                if not killed.is_set() and len(_nudges(fake)) >= at:
                    os.kill(proc.pid, signal.SIGKILL)  # the moment this message arrived
                    killed.set()

            fake.on_call = kill
            await asyncio.wait_for(killed.wait(), 120)
            assert await proc.wait() == -signal.SIGKILL
            fake.on_call = None
            states = _job_states(db)
            assert states.get("claimed", 0) <= CONCURRENCY, states  # only sends in flight

        proc = await _start(config)
        try:
            async with asyncio.timeout(120):
                while _job_states(db).get("sent", 0) < REMINDERS:
                    assert proc.returncode is None, await proc.stderr.read()  # type: ignore[union-attr]
                    await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()

    copies = _copies(fake)
    assert len(copies) == REMINDERS  # no reminder lost
    repeats, flagged = _repeats(copies)
    window = CONCURRENCY * len(KILL_AT)
    assert repeats <= window and flagged <= window  # only sends in flight at a kill
    for texts in copies.values():
        assert all(REPEAT_NOTE in t for t in texts[1:])  # every repeat says it may be one
        assert REPEAT_NOTE not in texts[0] or len(texts) == 1
    assert _job_states(db) == {"sent": REMINDERS}
    print(f"\n600 reminders, {len(KILL_AT)} SIGKILLs: {repeats} repeats, {flagged} flagged")


def test_a_second_instance_on_the_same_file_is_refused_and_sends_nothing(
    tmp_path: Path,
) -> None:
    """Two processes on one SQLite file used to send everything twice."""
    import subprocess

    db = tmp_path / "netcoach.sqlite3"
    asyncio.run(_populate(db))
    config = tmp_path / "netcoach.yaml"
    config.write_text(f"database: {db}\nconsole: {{enabled: true}}\n")
    holder = InstanceLock.acquire(db)  # the running instance
    try:
        second = subprocess.run(
            [sys.executable, "-m", "netcoach.bot.cli", "run", "--config", str(config)],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.release()
    assert second.returncode == 2
    [line] = second.stderr.strip().splitlines()
    assert str(db) in line and f"pid {os.getpid()}" in line
    assert "Time to follow up" not in second.stdout
    assert _job_states(db) == {"pending": REMINDERS}
