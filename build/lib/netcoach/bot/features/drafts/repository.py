"""Draft history (opt-in): the `drafts` table and the user's `keep_history` switch.

Drafts are never stored unless their author turned history on; switching it off deletes
them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from netcoach.bot.storage import Database, from_unix, to_unix


@dataclass(frozen=True, slots=True)
class Reviewed:
    """One stored review (its text is kept in the table, not handed out here)."""

    at: datetime
    context: str
    score: int
    missed: tuple[str, ...]  # the playbooks of the findings that were not tips


class HistoryRepository:
    def __init__(self, db: Database):
        self.db = db

    async def set_history(self, user_id: int, on: bool) -> int:
        """Switch draft history; switching it off deletes the stored drafts (returns count)."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE users SET keep_history = ? WHERE id = ?", (int(on), user_id))
            if on:
                return 0
            return await tx.execute("DELETE FROM drafts WHERE user_id = ?", (user_id,))

    async def history_users(self) -> set[tuple[str, str]]:
        rows = await self.db.all(
            "SELECT platform, platform_user_id FROM users WHERE keep_history = 1"
        )
        return {(r[0], r[1]) for r in rows}

    async def keeps_history(self, user_id: int) -> bool:
        row = await self.db.one("SELECT keep_history FROM users WHERE id = ?", (user_id,))
        return bool(row and row[0])

    async def add(
        self,
        user_id: int,
        at: datetime,
        context: str,
        score: int,
        verdict: str,
        missed: Sequence[str],
        text: str,
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO drafts (user_id, at, context, score, verdict, missed, text) "
                "SELECT id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND keep_history = 1",
                (to_unix(at), context, score, verdict, json.dumps(list(missed)), text, user_id),
            )

    async def recent(self, user_id: int, limit: int = 50) -> list[Reviewed]:
        rows = await self.db.all(
            "SELECT at, context, score, missed FROM drafts WHERE user_id = ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [Reviewed(from_unix(r[0]), r[1], r[2], tuple(json.loads(r[3]))) for r in rows]
