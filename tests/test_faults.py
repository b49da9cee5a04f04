"""Faults that must reach no user as a stray message or a crash (issue 11), end to end
through the real platform libraries against the fakes."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_discord import (
    FakeDiscord,
    restore_discord_endpoints,  # noqa: F401 - autouse fixture
)
from fake_telegram import TOKEN as TELEGRAM_TOKEN
from followup_fakes import FakeClock
from processes import netcoach_run
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
    telegram: World, tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
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
    # Ben's two posts are reported once (rate-limited), not once per post or per update.
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("not addressed to me" in m for m in said) == 1, said
    assert not [m for m in said if "handling an update failed" in m], said


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


# -- logs: no message text at any level ------------------------------------------------------

DM_MARKER = "Zanzibar7731"  # words nobody else logs: found in the log only if a body leaked
POST_MARKER = "Quokka5150"
DISCORD_MARKER = "Ocelot2468"


async def test_at_debug_no_message_text_reaches_the_log(tmp_path: Path) -> None:
    """`netcoach run` at DEBUG with Telegram and Discord: a draft by DM on each, and a post
    in a Telegram group; their words appear in the answers, never in the log."""
    async with CommunityTelegram() as telegram:
        discord = await FakeDiscord().start()
        try:
            config = tmp_path / "netcoach.yaml"
            config.write_text(
                f"database: {tmp_path / 'n.sqlite3'}\nlog_level: DEBUG\n"
                f"telegram:\n  base_url: {telegram.base_url}\n"
                f"discord:\n  api_base_url: {discord.api_url}\n"
                f"  gateway_url: {discord.gateway_url}\n"
            )
            env = {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "DISCORD_TOKEN": discord.token_expected}
            async with netcoach_run(config, env) as netcoach:
                await netcoach.until(lambda line: "serving as @" in line, "telegram")
                await discord.wait_connected(30)
                telegram.send(ANA, f"Hi Maria, check out my {DM_MARKER} course! Book a call.")
                telegram.send(BEN, f"Morning all, {POST_MARKER} here", chat=GROUP)
                await discord.dm("42", f"Hi Tom, buy my {DISCORD_MARKER} course today!")
                [answer] = await telegram.wait_for("sendMessage", timeout=30)
                dm = await discord.wait_for("POST", "/channels/", timeout=30)
                telegram.send(ANA, "/help", chat=GROUP)  # after Ben's post, in the same chat
                await telegram.wait_for("sendMessage", 2, timeout=30)
        finally:
            await discord.stop()
    assert DM_MARKER in answer.params["text"] and DISCORD_MARKER in str(dm.json)
    assert netcoach.status == 0 and "serving as @" in netcoach.stderr
    for marker in (DM_MARKER, POST_MARKER, DISCORD_MARKER):
        assert marker not in netcoach.stderr, marker
