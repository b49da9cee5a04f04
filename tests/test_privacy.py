"""`forget` deletes everything about a user, in every table, including tables added later."""

from __future__ import annotations

from datetime import UTC, datetime

from followup_fakes import FakeClock

from netcoach.bot.drafts import DraftReview
from netcoach.bot.followups import FollowUps
from netcoach.bot.kernel import Coach, PlaceRef, Request, UserRef
from netcoach.bot.profiles import Profiles
from netcoach.bot.store import Store
from netcoach.bot.tags import Tags

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ANA = UserRef("telegram", "101", "Ana")
BEN = UserRef("telegram", "202", "Ben")
GROUP = PlaceRef("telegram", "-1001", "group")


async def test_forget_after_confirmation_leaves_no_row_about_the_user(tmp_path, playbooks):
    store = await Store.open(tmp_path / "forget.sqlite3")
    clock = FakeClock(T0)
    profiles = Profiles(store, clock, Tags.load(), playbooks)
    coach = Coach([DraftReview(playbooks, profiles=profiles), FollowUps(store, clock, playbooks),
                   profiles])  # fmt: skip

    async def say(user: UserRef, command: str, text: str = "", place=None) -> str:
        place = place or PlaceRef(user.platform, user.id)
        replies = await coach.handle(Request(user, place, command, text))
        return "\n".join(r.text for r in replies)

    for user in (ANA, BEN):  # fill every kind of row for both users
        await say(user, "profile", "set interests sailing, chess")
        await say(user, "profile", "visibility community")
        await say(user, "history", "on")
        await say(user, "review", "Hi Sam, loved your post! How did you start?")
        await say(user, "followup", "Maria tomorrow send the notes")
        await say(user, "keepintouch", "Tom every month")
        await say(user, "contacted", "Tom coffee")
        await say(user, "contact", "Maria bond we both row")
        await say(user, "profile", place=GROUP)

    ana = await store.find_user(ANA)
    assert ana is not None
    tables = [r[0] for r in await store._all("SELECT name FROM sqlite_master WHERE type='table'")]
    user_tables = await store.user_tables()
    before = {t: await _rows_of(store, t, ana.id) for t in tables if t in user_tables}
    assert all(before[t] > 0 for t in ("profile_tags", "memberships", "drafts", "followups",
                                        "contacts", "bonds", "interactions", "jobs"))  # fmt: skip

    assert "Nothing was deleted" in await say(ANA, "press", "forget:no")
    assert await store.find_user(ANA) is not None
    assert "Delete everything about you?" in await say(ANA, "forget")
    assert "deleted all" in await say(ANA, "press", "forget:yes")

    # Every table, enumerated from the schema: none refers to Ana any more.
    for table in tables:
        columns = [c[1] for c in await store._all(f'PRAGMA table_info("{table}")')]
        if "user_id" in columns:
            assert await _rows_of(store, table, ana.id) == 0, table
    assert await store._one("SELECT COUNT(*) FROM users WHERE id = ?", (ana.id,)) == (0,)
    # Ben keeps everything.
    ben = await store.find_user(BEN)
    assert ben is not None
    for table, count in before.items():
        assert await _rows_of(store, table, ben.id) == count, table
    await store.close()


async def _rows_of(store: Store, table: str, user_id: int) -> int:
    return (await store._one(f'SELECT COUNT(*) FROM "{table}" WHERE user_id = ?', (user_id,)))[0]
