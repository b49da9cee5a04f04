"""Follow-up storage and delivery at scale (a benchmark, not a test).

    .venv/bin/python bench/followups_bench.py           # 1,000,000 follow-ups, 100,000 users
    .venv/bin/python bench/followups_bench.py --small   # 100,000 / 10,000: a quick run

Prints: build time; start-up to ready with everything pending (fresh process); insert+commit
and next-due query percentiles; RSS; and lateness from due time to the send call for 1,000
follow-ups due in the same second, delivered by the real scheduler to a recording adapter.
Targets: ready < 1 s, insert p99 < 2 ms, lateness p99 < 50 ms and never early, RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def build_db(db: Path, followups: int, users: int) -> None:
    from seed import bulk_followups, bulk_users

    from netcoach.bot.kernel import UserRef
    from netcoach.bot.storage import Database

    store = await Database.open(db)
    now = datetime.now(UTC)
    ids = await bulk_users(
        store, (UserRef("bench", f"u{i}", f"User {i}") for i in range(users)), now
    )
    year = 365 * 86400
    rows = (
        (
            ids[f"u{i % users}"],
            f"Contact {i // users}",
            "send the notes",
            now + timedelta(days=1, seconds=(i * 7919) % year),
        )
        for i in range(followups)
    )
    await bulk_followups(store, rows, now)
    await store.close()


async def serve_phase(db: Path, t_process: float) -> dict[str, float]:
    """In a fresh process: open, start the scheduler, measure, then a same-second burst."""
    t_import = time.perf_counter()
    from datetime import time as clock_time

    from netcoach.bot.clock import SystemClock
    from netcoach.bot.features.followups import FollowUpRepository, FollowUps, Settings
    from netcoach.bot.kernel import Reply, UserRef
    from netcoach.bot.review import load_playbooks
    from netcoach.bot.scheduling import JobQueue, Scheduler
    from netcoach.bot.storage import Database, Users

    sent_at: list[tuple[str, float]] = []

    async def recording_sender(user: UserRef, reply: Reply, key: str) -> str:
        if user.id.startswith("burst-"):  # only the burst counts towards lateness
            sent_at.append((key, time.time()))
        return key

    t0 = time.perf_counter()
    clock = SystemClock()
    database = await Database.open(db)
    users, queue = Users(database), JobQueue(database)
    store = FollowUpRepository(database, queue)
    followups = FollowUps(store, users, clock, load_playbooks(), Settings("UTC", clock_time(9)))
    scheduler = Scheduler(queue, users, clock, recording_sender, [followups.due])
    await scheduler.start()
    first_due = await queue.next_run_at()
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    ready = time.perf_counter()
    assert first_due is not None

    user = await users.ensure(UserRef("bench", "burst", "Burst"))
    inserts = []
    for i in range(1000):
        start = time.perf_counter()
        await store.add(
            user.id,
            f"Insert {i % 50}",
            "note",
            datetime.now(UTC) + timedelta(days=400),
            clock.now(),
        )
        inserts.append(time.perf_counter() - start)
    queries = []
    for _ in range(1000):
        start = time.perf_counter()
        await queue.next_run_at()
        queries.append(time.perf_counter() - start)

    # 1,000 follow-ups (across 1,000 users) due at the same whole second, 3 s from now.
    due = datetime.fromtimestamp(math.floor(time.time()) + 3, UTC)
    burst_users = [await users.ensure(UserRef("bench", f"burst-{i}", f"B{i}")) for i in range(1000)]
    for i, u in enumerate(burst_users):
        await store.add(u.id, f"Friend {i}", "catch up", due, clock.now())
    deadline = time.time() + 20
    while len(sent_at) < 1000 and time.time() < deadline:
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rss, peak = rss_mb()
    await database.close()
    lateness = [(at - due.timestamp()) * 1000 for _, at in sent_at]
    return {
        "import_s": t0 - t_import,
        "process_to_ready_s": ready - t_process,
        "ready_s": ready - t0,
        "insert_p50_ms": pct(inserts, 50) * 1000,
        "insert_p99_ms": pct(inserts, 99) * 1000,
        "next_due_p50_ms": pct(queries, 50) * 1000,
        "next_due_p99_ms": pct(queries, 99) * 1000,
        "burst_delivered": len(sent_at),
        "lateness_min_ms": min(lateness) if lateness else float("nan"),
        "lateness_p50_ms": pct(lateness, 50) if lateness else float("nan"),
        "lateness_p99_ms": pct(lateness, 99) if lateness else float("nan"),
        "lateness_max_ms": max(lateness) if lateness else float("nan"),
        "rss_mb": rss,
        "rss_peak_mb": peak,
    }


def main() -> int:
    t_process = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100k follow-ups, 10k users")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)  # the child phase
    parser.add_argument("--db", help="reuse or keep the database at this path")
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(asyncio.run(serve_phase(Path(args.serve), t_process))))
        return 0

    followups, users = (100_000, 10_000) if args.small else (1_000_000, 100_000)
    workdir = Path(tempfile.mkdtemp(prefix="netcoach-bench-"))
    db = Path(args.db) if args.db else workdir / "bench.sqlite3"
    if not db.exists():
        start = time.perf_counter()
        asyncio.run(build_db(db, followups, users))
        print(f"built {followups:,} pending follow-ups for {users:,} users "
              f"in {time.perf_counter() - start:.1f} s (executemany, one transaction); "
              f"file {db.stat().st_size / 1e6:.0f} MB")  # fmt: skip
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--serve", str(db)], capture_output=True, text=True
        )
    finally:
        if not args.db:
            shutil.rmtree(workdir, ignore_errors=True)
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return 1
    r = json.loads(child.stdout.strip().splitlines()[-1])
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    print(f"start-up to ready (store open + scheduler started): {r['ready_s'] * 1000:.0f} ms "
          f"[{ok(r['ready_s'] < 1)} < 1 s]; whole process incl. imports "
          f"{r['process_to_ready_s'] * 1000:.0f} ms")  # fmt: skip
    print(f"insert+commit: p50 {r['insert_p50_ms']:.2f} ms, p99 {r['insert_p99_ms']:.2f} ms "
          f"[{ok(r['insert_p99_ms'] < 2)} < 2 ms]")  # fmt: skip
    print(f"next-due query: p50 {r['next_due_p50_ms']:.3f} ms, "
          f"p99 {r['next_due_p99_ms']:.3f} ms")  # fmt: skip
    never_early = r["lateness_min_ms"] >= 0
    print(f"same-second burst: {r['burst_delivered']}/1000 delivered; lateness p50 "
          f"{r['lateness_p50_ms']:.1f} ms, p99 {r['lateness_p99_ms']:.1f} ms "
          f"[{ok(r['lateness_p99_ms'] < 50)} < 50 ms], min {r['lateness_min_ms']:.1f} ms "
          f"[{ok(never_early)} never early], max {r['lateness_max_ms']:.1f} ms")  # fmt: skip
    print(f"RSS after the run: {r['rss_mb']:.0f} MB (peak {r['rss_peak_mb']:.0f} MB) "
          f"[{ok(r['rss_peak_mb'] < 100)} < 100 MB]")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
