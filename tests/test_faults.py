"""Faults that must reach no user as a stray message or a crash (issue 11), end to end
through the real platform libraries against the fakes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_discord import (
    FakeDiscord,
    restore_discord_endpoints,  # noqa: F401 - autouse fixture
)
from followup_fakes import FakeClock
from test_community_telegram import ANA, BEN, GROUP, PITCH, T0, CommunityTelegram, World
from test_discord import running, write_config

from netcoach.bot.app import App, build, load_config

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


# -- Discord: /mydata typed in a DM --------------------------------------------------------


@pytest.fixture
async def discord_app(tmp_path: Path) -> AsyncIterator[tuple[App, FakeDiscord]]:
    fake = await FakeDiscord().start()
    config = load_config(write_config(tmp_path, fake), env={"DISCORD_TOKEN": fake.token_expected})
    app = await build(config, clock=FakeClock(T0))
    try:
        yield app, fake
    finally:
        await app.close()
        await fake.stop()


async def test_mydata_typed_in_a_discord_dm_attaches_the_file_like_the_slash_command(
    discord_app: tuple[App, FakeDiscord],
) -> None:
    app, fake = discord_app
    async with running(app, fake):
        await fake.dm("42", "/profile set from Faroe Islands")
        await fake.wait_for("POST", f"/channels/{fake.dm_channel('42')}/messages")
        await fake.slash("mydata", guild=False)
        slash = await fake.wait_for("POST", "/callback")
        await fake.dm("42", "/mydata")
        typed = await fake.wait_for("POST", f"/channels/{fake.dm_channel('42')}/messages", count=2)
    for call in (slash, typed):
        raw = (call.json or {}).get("raw", "")
        assert 'filename="' in raw and ".json" in raw, call
        assert "Faroe Islands" in raw and "Here is everything I store about you" in raw
