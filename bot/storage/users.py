"""Users: the one table every feature shares, keyed by platform and platform user id.

Features keep their own tables (each with `user_id` referencing users, so /forget finds
them); this repository only knows who a user is, their time zone, and what their next
plain message is expected to be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from netcoach.bot.kernel import UserRef

from .db import Database, all_in, to_unix

_COLS = "id, platform, platform_user_id, name, timezone"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    platform: str
    platform_user_id: str
    name: str
    timezone: str | None  # None: the configured default

    @property
    def ref(self) -> UserRef:
        return UserRef(self.platform, self.platform_user_id, self.name)


def _user(row: Sequence[Any]) -> User:
    return User(row[0], row[1], row[2], row[3], row[4])


class Users:
    def __init__(self, db: Database):
        self.db = db
        # Users who may have an awaited message, so the common message (a draft from someone
        # with none) costs no query. Loaded on first use; a user is added when one is set.
        self._awaiting: set[tuple[str, str]] | None = None

    async def ensure(self, ref: UserRef, now: datetime | None = None) -> User:
        """The stored user for `ref`, created on first sight; the display name is refreshed."""
        found = await self.find(ref)
        if found is not None and (not ref.name or found.name == ref.name):
            return found
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (platform, platform_user_id, name, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, platform_user_id) "
                "DO UPDATE SET name = excluded.name WHERE excluded.name != ''",
                (ref.platform, ref.id, ref.name, to_unix(now or datetime.now(UTC))),
            )
        created = await self.find(ref)
        assert created is not None
        return created

    async def find(self, ref: UserRef) -> User | None:
        row = await self.db.one(
            f"SELECT {_COLS} FROM users WHERE platform = ? AND platform_user_id = ?",
            (ref.platform, ref.id),
        )
        return None if row is None else _user(row)

    async def by_ids(self, ids: Iterable[int]) -> dict[int, User]:
        rows = await all_in(self.db, f"SELECT {_COLS} FROM users WHERE id IN", list(set(ids)))
        return {row[0]: _user(row) for row in rows}

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE users SET timezone = ? WHERE id = ?", (timezone, user_id))

    async def expect(self, user: User, awaiting: str) -> None:
        """Remember how `user`'s next plain message is meant (e.g. "draft:12")."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE users SET awaiting = ? WHERE id = ?", (awaiting, user.id))
        if self._awaiting is not None:
            self._awaiting.add((user.platform, user.platform_user_id))

    async def take_expected(self, ref: UserRef) -> str | None:
        """Take the pending expectation for `ref`'s next plain message, if any (once)."""
        if self._awaiting is None:
            rows = await self.db.all(
                "SELECT platform, platform_user_id FROM users WHERE awaiting IS NOT NULL"
            )
            self._awaiting = {(r[0], r[1]) for r in rows}
        if (ref.platform, ref.id) not in self._awaiting:
            return None
        row = await self.db.one(
            "SELECT id, awaiting FROM users WHERE platform = ? AND platform_user_id = ?",
            (ref.platform, ref.id),
        )
        self._awaiting.discard((ref.platform, ref.id))
        if row is None or row[1] is None:
            return None
        async with self.db.transaction() as tx:
            taken = await tx.execute(
                "UPDATE users SET awaiting = NULL WHERE id = ? AND awaiting = ?", (row[0], row[1])
            )
        return str(row[1]) if taken == 1 else None
