"""`forget` deletes everything about a user, in every table, including tables added later.

The test finds a user's rows by itself, through every foreign key to `users` whatever its
column is called, rather than with the rule the code uses (a `user_id` column): so a table
that keeps personal data under a column the rule does not know makes it fail. The second
test adds such a table to prove it, and checks that netcoach then refuses to run instead of
forgetting people partly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from followup_fakes import FakeClock
from stack import Stack

from netcoach.bot.app import build
from netcoach.bot.config import load_config
from netcoach.bot.kernel import Coach, PlaceRef, Request, UserRef
from netcoach.bot.storage import Database, StoreError

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ANA = UserRef("telegram", "101", "Ana")
BEN = UserRef("telegram", "202", "Ben")
GROUP = PlaceRef("telegram", "-1001", "group")
PERSONAL = ("profile_tags", "memberships", "drafts", "followups", "contacts", "bonds",
            "interactions", "jobs")  # fmt: skip


async def rows_about(db: Database, user_id: int) -> dict[str, int]:
    """Every row that refers to the user: their users row and, in every table of the schema,
    each row whose foreign key to users (any column) holds their id."""
    found = {"users.id": (await db.one("SELECT COUNT(*) FROM users WHERE id = ?", (user_id,)))[0]}
    for (table,) in await db.all("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for key in await db.all(f'PRAGMA foreign_key_list("{table}")'):
            if key[2] == "users":
                sql = f'SELECT COUNT(*) FROM "{table}" WHERE "{key[3]}" = ?'
                found[f"{table}.{key[3]}"] = (await db.one(sql, (user_id,)))[0]
    return {where: count for where, count in found.items() if count}


class World:
    def __init__(self, stack: Stack, playbooks):
        clock = FakeClock(T0)
        self.stack = stack
        profiles = stack.profiles(clock, playbooks)
        followups = stack.followups(clock, playbooks)
        drafts = stack.drafts(clock, playbooks, profiles)
        privacy = stack.privacy(clock, [drafts, followups, profiles])
        self.coach = Coach([drafts, followups, profiles, privacy])

    async def say(self, user: UserRef, command: str, text: str = "", place=None) -> str:
        place = place or PlaceRef(user.platform, user.id)
        replies = await self.coach.handle(Request(user, place, command, text))
        return "\n".join(r.text for r in replies)

    async def fill(self) -> None:
        for user in (ANA, BEN):  # every kind of row, for both users
            await self.say(user, "profile", "set interests sailing, chess")
            await self.say(user, "profile", "visibility community")
            await self.say(user, "history", "on")
            await self.say(user, "review", "Hi Sam, loved your post! How did you start?")
            await self.say(user, "followup", "Maria tomorrow send the notes")
            await self.say(user, "keepintouch", "Tom every month")
            await self.say(user, "contacted", "Tom coffee")
            await self.say(user, "contact", "Maria bond we both row")
            await self.say(user, "profile", place=GROUP)

    async def ids(self) -> tuple[int, int]:
        ana, ben = await self.stack.users.find(ANA), await self.stack.users.find(BEN)
        assert ana is not None and ben is not None
        return ana.id, ben.id


@pytest.fixture
async def world(tmp_path, playbooks):
    stack = await Stack.open(tmp_path / "forget.sqlite3")
    yield World(stack, playbooks)
    await stack.close()


@pytest.mark.sqlite_only
async def test_forget_after_confirmation_leaves_no_row_about_the_user(world):
    await world.fill()
    ana, ben = await world.ids()
    before = await rows_about(world.stack.db, ana)
    assert all(before.get(f"{table}.user_id") for table in PERSONAL), before
    bens = await rows_about(world.stack.db, ben)

    assert "Nothing was deleted" in await world.say(ANA, "press", "forget:no")
    assert await rows_about(world.stack.db, ana) == before
    assert "Delete everything about you?" in await world.say(ANA, "forget")
    assert "deleted all" in await world.say(ANA, "press", "forget:yes")

    assert await rows_about(world.stack.db, ana) == {}
    assert await rows_about(world.stack.db, ben) == bens  # Ben keeps everything


@pytest.mark.sqlite_only
async def test_a_table_keeping_people_under_another_column_is_caught(world, tmp_path: Path):
    await world.fill()
    ana, _ = await world.ids()
    async with world.stack.db.transaction() as tx:  # a later migration gets it wrong
        await tx.execute(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, "
            "author INTEGER REFERENCES users(id), text TEXT NOT NULL)"
        )
        await tx.execute("INSERT INTO notes (author, text) VALUES (?, 'met at PyData')", (ana,))
        await tx.execute("CREATE TABLE nicknames (handle TEXT, nickname TEXT)")

    # The rows the test finds by itself include the new table's...
    assert (await rows_about(world.stack.db, ana))["notes.author"] == 1
    # ...and the privacy rules name both tables instead of forgetting Ana partly:
    problems = await world.stack.privacy_repo.audit()
    assert any("notes" in p and "author" in p for p in problems), problems
    assert any("nicknames" in p for p in problems), problems
    await world.say(ANA, "forget")
    assert "deleted all" not in await world.say(ANA, "press", "forget:yes")
    assert (await rows_about(world.stack.db, ana))["notes.author"] == 1
    # ...and netcoach refuses to start on that database until the table is fixed.
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {world.stack.db.path}\n", encoding="utf-8")
    with pytest.raises(StoreError, match="notes"):
        await build(load_config(config))
