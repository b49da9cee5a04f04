"""Delivery on PostgreSQL with 1, 2 and 4 workers, and a queue of ten million reminders.

    .venv/bin/python bench/scale_bench.py [--reminders 6000] [--pending 10000000]
                                          [--url postgresql://…]

Without --url it starts a throwaway PostgreSQL cluster (tests/pgcluster.py: the server
binaries of this machine, as the `postgres` user when run as root).

1. Throughput: `--reminders` due reminders, delivered by N worker processes (the real
   JobQueue and Scheduler, `scheduler.concurrency` 32, leases, per-send commits) to a fake
   platform that takes 20 ms per call; reminders/s from the first claim to the last
   outcome, for N = 1, 2, 4, first with no rate limit and then with the shared Telegram
   pace (25 sends/s for all workers together), which is what a real bot is held to.
2. Scale: `--pending` jobs pending over the next year (inserted with generate_series), then
   a worker's start-up (open, schema check, taking back expired claims, first next-due
   read) and the p50/p99 of the next-due read and of claiming a window of due jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from netcoach.bot.kernel import PlaceRef, Reply, UserRef  # noqa: E402
from netcoach.bot.scheduling import Due, DueSource, JobQueue, Outgoing, Scheduler  # noqa: E402
from netcoach.bot.storage import Coordination, PgDatabase, Users  # noqa: E402

LATENCY = 0.020  # seconds per fake platform call
USER = UserRef("bench", "1", "Bench")


class Pings(DueSource):
    kind = "bench"

    def build(self, due: Due, loaded: Any, now: datetime) -> Outgoing | None:
        return Outgoing(USER, Reply.of(PlaceRef("bench", "1"), f"ping {due.job.ref_id}"))


async def _platform(user: object, reply: object, key: str) -> str:
    await asyncio.sleep(LATENCY)
    return key


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def _work(url: str, name: str, expected: int, paced: bool) -> None:
    db = await PgDatabase.open(url)
    queue = JobQueue(db, owner=name, lease_seconds=60)
    coordination = Coordination(db, name, shared=True)

    async def pace(platform: str) -> None:
        if wait := await coordination.pace(platform, 25):
            await asyncio.sleep(wait)

    scheduler = Scheduler(
        queue,
        Users(db),
        _Clock(),
        _platform,
        [Pings()],
        exclusive=False,
        prepare_ahead=0,
        pace=pace if paced else None,
    )
    await db.listen(scheduler.wake)
    task = asyncio.create_task(scheduler.run())
    while (await db.one("SELECT count(*) FROM jobs WHERE state = 'sent'"))[0] < expected:
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.close()


def _worker(url: str, name: str, expected: int, paced: bool, start: Any) -> None:
    start.wait()
    asyncio.run(_work(url, name, expected, paced))


async def _fresh(url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name}")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    target = url.rsplit("/", 1)[0] + f"/{name}"
    await (await PgDatabase.open(target)).close()  # migrated
    return target


async def _seed_due(url: str, count: int) -> None:
    db = await PgDatabase.open(url)
    now = int(time.time()) - 60
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO jobs (kind, ref_id, due_at, run_at) "
            "SELECT 'bench', g, ?, ? FROM generate_series(1, ?) AS g",
            (now, now, count),
        )
    await db.close()


def throughput(base: str, reminders: int, workers: Sequence[int], paced: bool) -> list[str]:
    lines = []
    for n in workers:
        url = asyncio.run(_fresh(base, f"bench_tp_{n}_{int(paced)}"))
        asyncio.run(_seed_due(url, reminders))
        ctx = mp.get_context("spawn")
        start = ctx.Event()
        procs = [
            ctx.Process(target=_worker, args=(url, f"w{i}", reminders, paced, start))
            for i in range(n)
        ]
        for p in procs:
            p.start()
        time.sleep(2.0)  # imports and connections, before the clock starts
        began = time.perf_counter()
        start.set()
        for p in procs:
            p.join()
        took = time.perf_counter() - began
        label = "shared pace 25/s" if paced else "no rate limit"
        lines.append(
            f"{n} worker(s), {label}: {reminders} reminders in {took:.1f} s = "
            f"{reminders / took:,.0f}/s"
        )
        print(lines[-1], flush=True)
    return lines


async def scale(base: str, pending: int) -> list[str]:
    url = await _fresh(base, "bench_scale")
    db = await PgDatabase.open(url)
    now = int(time.time())
    began = time.perf_counter()
    async with db.transaction() as tx:  # spread over the next year, a few due now
        await tx.execute(
            "INSERT INTO jobs (kind, ref_id, due_at, run_at) SELECT 'bench', g, "
            "? + (g * 31536000::bigint / ?), ? + (g * 31536000::bigint / ?) "
            "FROM generate_series(1, ?) AS g",
            (now, pending, now, pending, pending),
        )
    await db.one("ANALYZE jobs")
    inserted = time.perf_counter() - began
    await db.close()
    lines = [f"{pending:,} pending jobs inserted in {inserted:.0f} s (generate_series)"]
    print(lines[-1], flush=True)

    began = time.perf_counter()
    db = await PgDatabase.open(url)
    queue = JobQueue(db, owner="scale")
    scheduler = Scheduler(queue, Users(db), _Clock(), _platform, [Pings()], exclusive=False)
    await scheduler.start()
    first = await queue.next_run_at()
    startup = time.perf_counter() - began
    lines.append(f"worker start-up with {pending:,} pending: {startup * 1000:.0f} ms")
    print(lines[-1], flush=True)
    assert first is not None

    reads, claims = [], []
    for _ in range(1000):
        t = time.perf_counter()
        await queue.next_run_at()
        reads.append(time.perf_counter() - t)
    claims_wanted = 200
    share = min(1.0, 2 * claims_wanted * 32 / pending)  # of the year, so enough are due
    moment = datetime.fromtimestamp(now, UTC) + timedelta(days=365 * share)
    for _ in range(claims_wanted):
        t = time.perf_counter()
        jobs = await queue.claim_due(moment, 32)
        claims.append(time.perf_counter() - t)
        assert len(jobs) == 32
    for label, values in (("next-due read", reads), ("claim of 32 due", claims)):
        q = statistics.quantiles(values, n=100)
        lines.append(f"{label}: p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms")
        print(lines[-1], flush=True)
    await db.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=6000)
    parser.add_argument("--paced-reminders", type=int, default=500)
    parser.add_argument("--pending", type=int, default=10_000_000)
    parser.add_argument("--url", help="a PostgreSQL server URL (default: a throwaway cluster)")
    args = parser.parse_args()
    if args.url:
        run(args.url, args)
        return
    from pgcluster import Cluster, server_bin

    bindir = server_bin()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries here; pass --url")
    cluster = Cluster(bindir)
    cluster.start()
    try:
        run(cluster.url(), args)
    finally:
        cluster.stop()


def run(url: str, args: argparse.Namespace) -> None:
    print(f"fake platform: {LATENCY * 1000:.0f} ms per call; scheduler.concurrency 32")
    throughput(url, args.reminders, (1, 2, 4), paced=False)
    throughput(url, args.paced_reminders, (1, 4), paced=True)
    if args.pending:
        asyncio.run(scale(url, args.pending))


if __name__ == "__main__":
    main()
