"""What workers sharing one database agree on through it.

- `lead(role)`: at most one process holds a role at a time (Telegram's single getUpdates
  consumer). On PostgreSQL an advisory lock held by a dedicated connection: when the holder
  dies, however it dies, its connection closes and another worker takes the role within
  `poll_seconds`. Alone on its store (SQLite's instance lock) a process holds every role.
- `first_time(platform, update_id)`: True exactly once per update across workers and
  restarts (the update ids handled are kept for two days), so an update a dead poller had
  fetched but not confirmed is not handled again by the next one.
- `shard_ids(platform, total)`: a fair share of a platform's shards for this worker, held
  with a lease renewed by calling again; a dead worker's shards are taken over once their
  lease expires, and a worker above its share gives shards back as others join.
- `pace(platform, per_second)`: one pace of scheduled sends for every worker, so the
  platform's global rate limit is shared, not multiplied by the number of workers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from typing import Any

from .db import Database

log = logging.getLogger(__name__)
KEEP_UPDATES_SECONDS = 2 * 86400


def _lock_key(role: str) -> int:
    return zlib.crc32(f"netcoach:{role}".encode()) - 2**31  # a signed 32-bit advisory key


class Coordination:
    def __init__(
        self,
        db: Database,
        owner: str,
        *,
        shared: bool,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
    ):
        self.db = db
        self.owner = owner
        self.shared = shared
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._held: dict[str, Any] = {}  # role -> the connection holding its lock
        self._pruned_at = 0.0

    async def lead(self, role: str) -> None:
        """Return once this process holds `role`; it keeps it until it closes or dies."""
        if not self.shared or role in self._held:
            return
        import asyncpg

        from .postgres import PgDatabase

        assert isinstance(self.db, PgDatabase)
        conn = await asyncpg.connect(self.db.url)
        key, waited = _lock_key(role), False
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                if not waited:
                    log.info("%s: another worker holds it; standing by", role)
                    waited = True
                await asyncio.sleep(self.poll_seconds)
        except BaseException:
            await conn.close()
            raise
        self._held[role] = conn

    async def close(self) -> None:
        for conn in self._held.values():
            await conn.close()  # releases the advisory locks
        self._held.clear()

    async def first_time(self, platform: str, update_id: int) -> bool:
        now = int(time.time())
        async with self.db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO handled_updates (platform, update_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (platform, update_id) DO NOTHING",
                (platform, update_id, now),
            )
            if now - self._pruned_at > 3600:
                self._pruned_at = now
                await tx.execute(
                    "DELETE FROM handled_updates WHERE at < ?", (now - KEEP_UPDATES_SECONDS,)
                )
        return added == 1

    async def shard_ids(self, platform: str, total: int) -> list[int]:
        """This worker's shards now (renewing their lease); call again every lease/3."""
        if not self.shared:
            return list(range(total))
        now = int(time.time())
        lease_end = now + max(1, round(self.lease_seconds))
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO shards (platform, shard, total) VALUES (?, ?, ?) "
                "ON CONFLICT (platform, shard) DO NOTHING",
                [(platform, n, total) for n in range(total)],
            )
            await tx.execute(  # this worker is alive: renew what it holds
                "UPDATE shards SET lease_until = ? WHERE platform = ? AND owner = ?",
                (lease_end, platform, self.owner),
            )
            # Presence: a worker holding nothing yet announces itself with a shard-less row.
            await tx.execute(
                "INSERT INTO shards (platform, shard, total, owner, lease_until) "
                "VALUES (?, ?, 0, ?, ?) ON CONFLICT (platform, shard) DO UPDATE SET "
                "owner = excluded.owner, lease_until = excluded.lease_until",
                (
                    f"{platform}:workers",
                    -(zlib.crc32(self.owner.encode()) % 2**30) - 1,
                    self.owner,
                    lease_end,
                ),
            )
            live = await tx.one(
                "SELECT count(DISTINCT owner) FROM shards WHERE platform = ? AND lease_until > ?",
                (f"{platform}:workers", now),
            )
            fair = math.ceil(total / max(1, int(live[0])))
            rows = await tx.all(
                "SELECT shard, owner, lease_until FROM shards WHERE platform = ? "
                "AND shard < ? ORDER BY shard",
                (platform, total),
            )
            mine = [r[0] for r in rows if r[1] == self.owner]
            free = [r[0] for r in rows if r[1] is None or (r[2] or 0) <= now]
            free = [s for s in free if s not in mine]
            for shard in free[: max(0, fair - len(mine))]:
                taken = await tx.execute(
                    "UPDATE shards SET owner = ?, lease_until = ? WHERE platform = ? "
                    "AND shard = ? AND (owner IS NULL OR lease_until IS NULL OR lease_until <= ?)",
                    (self.owner, lease_end, platform, shard, now),
                )
                if taken:
                    mine.append(shard)
            for shard in sorted(mine)[fair:]:  # above a fair share: give back as others join
                await tx.execute(
                    "UPDATE shards SET owner = NULL, lease_until = NULL WHERE platform = ? "
                    "AND shard = ? AND owner = ?",
                    (platform, shard, self.owner),
                )
                mine.remove(shard)
        return sorted(mine)

    async def pace(self, platform: str, per_second: float) -> float:
        """Reserve the next send slot of `platform` for all workers; seconds to wait for it."""
        if per_second <= 0:
            return 0.0
        step = max(1, round(1000 / per_second))
        now_ms = int(time.time() * 1000)
        row = None
        async with self.db.transaction() as tx:
            row = await tx.one(
                "INSERT INTO send_pace (platform, next_ms) VALUES (?, ?) "
                "ON CONFLICT (platform) DO UPDATE SET next_ms = CASE WHEN "
                "send_pace.next_ms > ? THEN send_pace.next_ms ELSE ? END + ? RETURNING next_ms",
                (platform, now_ms + step, now_ms, now_ms, step),
            )
        slot = int(row[0]) - step
        return max(0.0, (slot - now_ms) / 1000)
