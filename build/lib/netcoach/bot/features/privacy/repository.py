"""Everything stored about one person, found from the schema, for /mydata and /forget.

The rule: a table holds a person's data in a column named `user_id` (referencing users).
Such tables are found from the schema itself, so a table added later is exported and
forgotten without touching this code. Any other table must be declared free of personal
data in `NOT_PERSONAL`, and no other column may refer to users: `audit` lists every table
the rule cannot account for, and netcoach refuses to start (and /forget refuses to run)
while there is one, so a new table can never be silently left out of /forget.
"""

from __future__ import annotations

from typing import Any

from netcoach.bot.storage import Database, StoreError, User, quote

PERSONAL_COLUMN = "user_id"
# Tables that hold nothing about a person, and why.
NOT_PERSONAL = {
    "users": "the person's own row, deleted last by /forget and exported first",
    "communities": "a server's or group's settings; no member is named",
    "community_tips": "a community's own tips, stored without their author",
    "tip_rotations": "which tips a channel was shown",
    "handled_updates": "ids of platform updates already handled (several workers)",
    "shards": "which worker runs which Discord shard",
    "send_pace": "when the next scheduled send may leave, per platform",
}


class PrivacyRepository:
    def __init__(self, db: Database):
        self.db = db

    async def audit(self) -> list[str]:
        """Tables the rule cannot account for, each with what to do about it."""
        problems: list[str] = []
        for table in await self.db.tables():
            columns = await self.db.columns(table)
            names = {c.name for c in columns}
            odd = [c.name for c in columns if c.references == "users" and c.name != "user_id"]
            if odd:
                problems.append(
                    f"table {table} refers to users in {', '.join(odd)}, a column /forget does "
                    f"not know: keep a person's rows under {PERSONAL_COLUMN}"
                )
            elif PERSONAL_COLUMN not in names and table not in NOT_PERSONAL:
                problems.append(
                    f"table {table} has no {PERSONAL_COLUMN} and is not declared free of "
                    "personal data (NOT_PERSONAL in bot/features/privacy/repository.py)"
                )
        return problems

    async def _checked(self) -> None:
        problems = await self.audit()
        if problems:
            raise StoreError("; ".join(problems))

    async def user_tables(self) -> list[str]:
        """Every table with a `user_id` column, ordered so a table comes before the tables
        it references (deletes run children first and report honest counts)."""
        refs: dict[str, set[str]] = {}
        for table in await self.db.tables():
            columns = await self.db.columns(table)
            if any(c.name == PERSONAL_COLUMN for c in columns):
                refs[table] = {c.references for c in columns if c.references}
        ordered: list[str] = []
        while refs:
            ready = sorted(t for t in refs if not any(t in r for o, r in refs.items() if o != t))
            for table in ready or sorted(refs):  # a reference cycle: cascades tidy up
                ordered.append(table)
                del refs[table]
        return ordered

    async def export_user(self, user: User) -> dict[str, list[dict[str, Any]]]:
        """Everything stored about `user`: table name -> rows as dicts."""
        await self._checked()
        out = {"users": await self.db.dicts("SELECT * FROM users WHERE id = ?", (user.id,))}
        for table in await self.user_tables():
            out[table] = await self.db.dicts(
                # ORDER BY 1: the id, i.e. insertion order (rowid is SQLite's only)
                f"SELECT * FROM {quote(table)} WHERE {PERSONAL_COLUMN} = ? ORDER BY 1",
                (user.id,),
            )
        return out

    async def forget_user(self, user: User) -> dict[str, int]:
        """Delete every row about `user` in every user table, then the user; returns counts."""
        await self._checked()
        tables = await self.user_tables()
        counts: dict[str, int] = {}
        async with self.db.transaction() as tx:
            # Cascades would do, but explicit deletes make the counts honest and cover a
            # table whose migration forgot its cascade.
            for table in tables:
                counts[table] = await tx.execute(
                    f"DELETE FROM {quote(table)} WHERE {PERSONAL_COLUMN} = ?", (user.id,)
                )
            counts["users"] = await tx.execute("DELETE FROM users WHERE id = ?", (user.id,))
        return counts
