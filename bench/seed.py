"""Bulk loaders for the benchmarks: millions of rows in one commit, straight into the tables.

Bench-only: production code writes through the features' repositories, one item at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from netcoach.bot.features.followups.model import name_key
from netcoach.bot.kernel import UserRef
from netcoach.bot.storage import Database, to_unix


async def bulk_users(db: Database, refs: Iterable[UserRef], now: datetime) -> dict[str, int]:
    """platform user id -> users.id for every ref, created when new."""
    created = to_unix(now)
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (platform, platform_user_id, name, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(r.platform, r.id, r.name, created) for r in refs],
        )
    rows = await db.all("SELECT platform_user_id, id FROM users")
    return {r[0]: r[1] for r in rows}


async def bulk_followups(
    db: Database, rows: Iterable[tuple[int, str, str, datetime]], now: datetime
) -> int:
    """Insert (user_id, contact name, note, due_at) rows, with their jobs, in one commit.

    `rows` may be a generator, so a million rows never sit in memory at once. Returns how
    many follow-ups were added.
    """
    created = to_unix(now)

    def contacts_and_followups() -> Iterable[tuple[Any, ...]]:
        for user_id, name, note, due in rows:
            yield (user_id, name, name_key(name), created, note, to_unix(due))

    first = (await db.one("SELECT coalesce(max(id), 0) FROM followups"))[0]
    async with db.transaction() as tx:
        await tx.execute(
            "CREATE TEMP TABLE bulk (user_id INTEGER, name TEXT, name_key TEXT, "
            "created INTEGER, note TEXT, due_at INTEGER)"
        )
        await tx.executemany(
            "INSERT INTO temp.bulk VALUES (?, ?, ?, ?, ?, ?)", contacts_and_followups()
        )
        await tx.execute(
            "INSERT INTO contacts (user_id, name, name_key, created_at) "
            "SELECT user_id, name, name_key, created FROM temp.bulk WHERE true "
            "ON CONFLICT (user_id, name_key) DO NOTHING"
        )
        await tx.execute(
            "INSERT INTO followups (user_id, contact_id, note, due_at, created_at) "
            "SELECT b.user_id, c.id, b.note, b.due_at, ? FROM temp.bulk b "
            "JOIN contacts c ON c.user_id = b.user_id AND c.name_key = b.name_key "
            "ORDER BY b.rowid",
            (created,),
        )
        await tx.execute("DROP TABLE temp.bulk")
        return await tx.execute(
            "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
            "SELECT 'followup', id, user_id, 0, due_at, due_at FROM followups WHERE id > ?",
            (first,),
        )


async def bulk_profiles(
    db: Database, rows: Iterable[tuple[int, str, str, str]], community: str, now: datetime
) -> None:
    """(user id, field, tag, display) rows for community-visible members."""
    rows = list(rows)
    users = sorted({r[0] for r in rows})
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE users SET profile_visibility = 'community' WHERE id = ?", [(u,) for u in users]
        )
        await tx.executemany(
            "INSERT INTO memberships (user_id, community, visible, seen_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT DO NOTHING",
            [(u, community, to_unix(now)) for u in users],
        )
        await tx.executemany(
            "INSERT INTO profile_tags (user_id, field, tag, display) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            rows,
        )
