"""Killed mid-batch with SIGKILL and restarted, netcoach shows every due item exactly once.

The guarantee (docs/delivery.md) is at-least-once with recognised repeats: a job whose send
finished but whose "sent" mark was lost is sent again with the same delivery key and a
repeat flag, so the platform adapter can drop it (or the user sees it labelled).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stack import Stack

from netcoach.bot.kernel import UserRef

WORKER = Path(__file__).resolve().parent / "sigkill_worker.py"
ITEMS = 200


async def _populate(db: Path) -> list[str]:
    store = await Stack.open(db)
    now = datetime.now(UTC)
    keys = []
    for i in range(ITEMS):
        user = await store.users.ensure(UserRef("file", f"u{i % 20}", f"User {i % 20}"), now)
        f = await store.contacts.add(user.id, f"Contact {i}", "", now - timedelta(minutes=1), now)
        keys += [f"job:{j.id}" for j in await store.jobs_for("followup", f.id)]
    await store.close()
    return keys


async def _states(db: Path) -> dict[str, int]:
    store = await Stack.open(db)
    states = {s: await store.count_jobs(s) for s in ("pending", "claimed", "sent")}
    await store.close()
    return states


def _entries(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]


def test_every_due_item_is_shown_exactly_once_across_a_sigkill(tmp_path: Path) -> None:
    db, out = tmp_path / "kill.sqlite3", tmp_path / "delivered.jsonl"
    keys = asyncio.run(_populate(db))
    cmd = [sys.executable, str(WORKER), str(db), str(out), "--send-delay", "0.01"]

    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(_entries(out)) < 30:  # part-way through the first batch of 50
        assert proc.poll() is None, "the worker finished before it could be killed"
        assert time.monotonic() < deadline, "the worker never started delivering"
        time.sleep(0.002)  # a real process: watch its output file
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = _entries(out)
    assert 30 <= len(before) < ITEMS
    assert asyncio.run(_states(db))["claimed"] > 0  # the kill really landed mid-batch

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    entries = _entries(out)
    shown = [e["key"] for e in entries if e["event"] == "shown"]
    repeats = [e for e in entries if e["event"] == "repeat"]
    assert sorted(shown) == sorted(keys)  # every due item delivered, none shown twice
    assert repeats, "the sends cut short by the kill should come back as repeats"
    assert all(e["flagged"] for e in repeats)  # and be flagged as possible repeats
    assert {e["key"] for e in repeats} <= {e["key"] for e in before}
    assert asyncio.run(_states(db)) == {"pending": 0, "claimed": 0, "sent": ITEMS}
