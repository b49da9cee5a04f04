"""Faults that must reach no user as a stray message or a crash (issue 11), end to end
through the real platform libraries against the fakes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from followup_fakes import FakeClock
from test_community_telegram import ANA, BEN, GROUP, PITCH, T0, CommunityTelegram, World

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def telegram(tmp_path: Path) -> AsyncIterator[World]:
    async with CommunityTelegram() as fake:
        world = World(tmp_path, fake, FakeClock(T0))
        await world.start()
        try:
            yield world
        finally:
            await world.stop()


# -- posts not addressed to the bot -----------------------------------------------------------


@pytest.mark.parametrize("fault", ["read-only", "locked"])
async def test_a_members_post_meets_a_broken_database_and_nobody_is_told(
    telegram: World, tmp_path: Path, fault: str
) -> None:
    """Tips and intro coaching on in one group; the database then refuses writes. Ben's
    plain post (a pitch, in the watched intro channel) gets no DM at all: he did not talk
    to the bot. A command addressed to the bot still gets its answer or an apology."""
    fake, app = telegram.fake, telegram.app
    assert app is not None
    fake.make_bot_admin()
    fake.send(ANA, "/tips on time 09:00", chat=GROUP)
    fake.send(ANA, "/intros watch", chat=GROUP)
    await telegram.dm_reply(ANA["id"], 2)
    other = None
    if fault == "read-only":
        await app.db._conn.execute("PRAGMA query_only = 1")
    else:  # another process holds the write lock, and we do not wait for it
        await app.db._conn.execute("PRAGMA busy_timeout = 0")
        other = sqlite3.connect(tmp_path / "t.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    try:
        fake.send(BEN, PITCH, chat=GROUP)
        fake.send(BEN, "Morning all", chat=GROUP)
        fake.send(ANA, "/help", chat=GROUP)  # the same chat: handled after Ben's posts
        await telegram.dm_reply(ANA["id"], 3)
    finally:
        if other is not None:
            other.close()
    assert not fake.sent_to(BEN["id"]) and not fake.sent_to(GROUP["id"])
