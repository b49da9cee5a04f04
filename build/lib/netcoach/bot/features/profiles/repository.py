"""The profiles feature's tables: profile tags, and the communities each member takes part in.

A profile's visibility is a column of `users` (off, private, community); memberships are
recorded as members are seen in groups, so bonds are only ever computed within a community
both people belong to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from netcoach.bot.storage import Database, to_unix


class ProfileRepository:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, user_id: int) -> tuple[str, list[tuple[str, str, str]]]:
        """(visibility, [(field, tag key, display)]) in the order the tags were added."""
        row = await self.db.one("SELECT profile_visibility FROM users WHERE id = ?", (user_id,))
        tags = await self.db.all(
            "SELECT field, tag, display FROM profile_tags WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
        return (row[0] if row else "off"), [(t[0], t[1], t[2]) for t in tags]

    async def set_field(self, user_id: int, field: str, tags: Sequence[tuple[str, str]]) -> None:
        """Replace one field's tags with `tags` ((key, display) pairs)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM profile_tags WHERE user_id = ? AND field = ?", (user_id, field)
            )
            await tx.executemany(
                "INSERT INTO profile_tags (user_id, field, tag, display) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_id, field, tag) DO NOTHING",
                [(user_id, field, key, display) for key, display in tags],
            )

    async def clear(self, user_id: int, field: str | None = None) -> int:
        async with self.db.transaction() as tx:
            if field:
                return await tx.execute(
                    "DELETE FROM profile_tags WHERE user_id = ? AND field = ?", (user_id, field)
                )
            return await tx.execute("DELETE FROM profile_tags WHERE user_id = ?", (user_id,))

    async def set_visibility(self, user_id: int, visibility: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE users SET profile_visibility = ? WHERE id = ?", (visibility, user_id)
            )
            await tx.execute(
                "UPDATE memberships SET visible = ? WHERE user_id = ?",
                (int(visibility == "community"), user_id),
            )

    async def touch_membership(self, user_id: int, community: str, now: datetime) -> None:
        """Record that the user takes part in `community` (a group, server or channel)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO memberships (user_id, community, visible, seen_at) "
                "SELECT id, ?, CASE WHEN profile_visibility = 'community' THEN 1 ELSE 0 END, ? "
                "FROM users WHERE id = ? "
                "ON CONFLICT (user_id, community) DO UPDATE SET seen_at = excluded.seen_at",
                (community, to_unix(now), user_id),
            )

    async def shared_tags(self, a: int, b: int) -> list[tuple[str, str, str]]:
        """(field, tag key, display) of every tag both users have."""
        rows = await self.db.all(
            "SELECT x.field, x.tag, x.display FROM profile_tags x "
            "JOIN profile_tags y ON y.tag = x.tag AND y.user_id = ? "
            "WHERE x.user_id = ? ORDER BY x.id",
            (b, a),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def visible_members(self, community: str) -> int:
        """Members of `community` whose profiles are open to it."""
        row = await self.db.one(
            "SELECT COUNT(*) FROM memberships WHERE community = ? AND visible = 1", (community,)
        )
        return row[0]

    async def tag_holders(self, community: str, tag: str, cap: int) -> int:
        """How many visible members of `community` have `tag`, counting at most `cap`."""
        row = await self.db.one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM profile_tags t JOIN memberships m "
            "ON m.user_id = t.user_id AND m.community = ? AND m.visible = 1 "
            "WHERE t.tag = ? GROUP BY t.user_id LIMIT ?) AS holders",
            (community, tag, cap),
        )
        return row[0]

    async def shared_communities(self, a: int, b: int) -> list[str]:
        rows = await self.db.all(
            "SELECT x.community FROM memberships x JOIN memberships y "
            "ON y.community = x.community AND y.user_id = ? WHERE x.user_id = ? "
            "ORDER BY x.seen_at DESC",
            (b, a),
        )
        return [r[0] for r in rows]
