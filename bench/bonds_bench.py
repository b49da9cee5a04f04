"""Shared bonds at community scale (a benchmark, not a test).

    .venv/bin/python bench/bonds_bench.py            # 50,000 members, about 20 tags each
    .venv/bin/python bench/bonds_bench.py --small    # 5,000 members: a quick run

Builds one community whose members have tags drawn from a long-tailed vocabulary (a few
very common tags, many rare ones), then times `bond` between random pairs of members
through the Profiles feature, as a user's command would run it. Prints p50/p99 latency
and memory. Target: p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from seed import bulk_profiles, bulk_users

from netcoach.bot.features.followups import FollowUpRepository
from netcoach.bot.features.profiles import ProfileRepository, Profiles, Tags
from netcoach.bot.features.profiles.bonds import FIELDS
from netcoach.bot.kernel import PlaceRef, Request, UserRef
from netcoach.bot.review import load_playbooks
from netcoach.bot.scheduling import JobQueue
from netcoach.bot.storage import Database, Users

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLACE = PlaceRef("discord", "chan", "group", community="guild")


class Clock:
    def now(self) -> datetime:
        return NOW


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def main(members: int, tags_each: int, samples: int) -> None:
    rng = random.Random(7)
    fields = list(FIELDS)
    vocabulary = [f"tag {i}" for i in range(members // 5)]
    weights = [1 / (i + 1) ** 1.1 for i in range(len(vocabulary))]  # long tail
    with tempfile.TemporaryDirectory() as tmp:
        store = await Database.open(Path(tmp) / "bonds.sqlite3")
        users = Users(store)
        start = time.perf_counter()
        refs = [UserRef("discord", str(i), f"Member {i}") for i in range(members)]
        ids = await bulk_users(store, refs, NOW)
        rows = []
        for ref in refs:
            for tag in set(rng.choices(vocabulary, weights, k=tags_each)):
                rows.append((ids[ref.id], rng.choice(fields), tag, tag))
        await bulk_profiles(store, rows, PLACE.community_key, NOW)
        build_s = time.perf_counter() - start
        contacts = FollowUpRepository(store, JobQueue(store))
        profiles = Profiles(
            ProfileRepository(store), users, contacts, Clock(), Tags({}), load_playbooks()
        )

        async def one_bond() -> tuple[float, bool]:
            a, b = rng.sample(refs, 2)
            req = Request(a, PLACE, "bond", "", {"member": b.id, "member_name": b.name})
            t0 = time.perf_counter()
            user = await users.find(a)
            member = await users.find(b)
            assert user is not None and member is not None
            bonds = await profiles.member_bonds(req, user, member)
            return (time.perf_counter() - t0) * 1000, bool(bonds)

        cold = []
        for _ in range(samples // 5):  # nothing cached: every count comes from SQLite
            profiles._counts.clear()
            cold.append((await one_bond())[0])
        results = [await one_bond() for _ in range(samples)]  # counts cached for 10 minutes
        timings = [t for t, _ in results]
        found = sum(hit for _, hit in results)
        await store.close()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"netcoach bonds benchmark — {members:,} members, {len(rows):,} tags")
    print(f"  build: {build_s:.1f} s")
    print(f"  bond between random members ({samples} pairs, {found} with a shared tag):")
    p50, p99 = pct(timings, 50), pct(timings, 99)
    print(f"    p50 {p50:.2f} ms   p99 {p99:.2f} ms   (target p99 < 20 ms)")
    print(f"    with nothing cached: p50 {pct(cold, 50):.2f} ms   p99 {pct(cold, 99):.2f} ms")
    print(f"  peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="5,000 members")
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(5_000 if args.small else 50_000, 20, args.samples))
