"""Community tips and intro coaching on Discord, end to end: the real discord.py against a
fake Discord, netcoach's own scheduler on a FakeClock (no real waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_discord import (
    GUILD_CHANNEL,
    GUILD_ID,
    FakeDiscord,
    restore_discord_endpoints,  # noqa: F401 - autouse fixture
    user_payload,
)
from followup_fakes import FakeClock, settled

from netcoach.adapters.discord.platform import DiscordAdapter, from_config
from netcoach.bot.app import App, build, load_config

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday; Lisbon is on UTC in winter
SLOT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
INTRO_CHANNEL = "910000000000000003"
TOKEN = FakeDiscord.token_expected
MANAGE_GUILD = 1 << 5
CAN_POST = (1 << 10) | (1 << 11)  # View Channel, Send Messages
PITCH = "Hi all, I'm Sam. Check out my new course, book a call with me today, 50% off!"


class CommunityDiscord(FakeDiscord):
    """The fake Discord plus an introductions channel, reactions and member look-ups."""

    def guild_payload(self) -> dict[str, Any]:
        payload = super().guild_payload()
        payload["channels"].append(
            {
                "id": INTRO_CHANNEL,
                "type": 0,
                "name": "introductions",
                "position": 1,
                "guild_id": GUILD_ID,
            }
        )
        payload["roles"][0]["permissions"] = str(CAN_POST)
        return payload

    def _route(self, method: str, path: str, body: Any, query: Any) -> tuple[int, Any] | None:
        if method == "PUT" and re.fullmatch(r"/channels/\d+/messages/\d+/reactions/.+/@me", path):
            return 204, None
        m = re.fullmatch(rf"/guilds/{GUILD_ID}/members/(\d+)", path)
        if m and method == "GET":
            return 200, {
                "user": user_payload(m.group(1), "netcoach", bot=True),
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        return super()._route(method, path, body, query)

    async def command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: str = "42",
        manage: bool = True,
        bot_can_post: bool = True,
        channel: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """A slash command in the server, from a member with or without Manage Server."""
        opts: list[dict[str, Any]] = [
            {"name": k, "type": 3, "value": v} for k, v in (options or {}).items()
        ]
        data: dict[str, Any] = {"id": self.snowflake(), "name": name, "type": 1, "options": opts}
        if channel is not None:
            channel_id, channel_name = channel
            opts.append({"name": "channel", "type": 7, "value": channel_id})
            data["resolved"] = {
                "channels": {
                    channel_id: {
                        "id": channel_id,
                        "type": 0,
                        "name": channel_name,
                        "permissions": str(CAN_POST),
                        "guild_id": GUILD_ID,
                    }
                }
            }
        payload = self._interaction(2, data, user_id, guild=True)
        payload["member"]["permissions"] = str(MANAGE_GUILD if manage else 0)
        payload["app_permissions"] = str(CAN_POST if bot_can_post else 1 << 10)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def post(self, channel_id: str, user_id: str, content: str, name: str = "ben") -> None:
        data = self.message_payload(
            channel_id, user_payload(user_id, name), content, guild_id=GUILD_ID
        )
        await self.dispatch("MESSAGE_CREATE", data)

    async def answer(self, count: int) -> str:
        """The text of the `count`-th interaction answer: a direct reply, or the message
        that follows a deferral (admin commands defer first)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while len(answers := self._answers()) < count:
            assert loop.time() < deadline, f"no answer #{count}: {self.calls}"
            await asyncio.sleep(0.01)
        data = answers[count - 1]
        assert data.get("flags", 0) & 64, "admin answers are ephemeral"
        return data.get("content") or ""

    def _answers(self) -> list[dict[str, Any]]:
        out = []
        for call in self.calls:
            if call.method != "POST" or call.status >= 300:
                continue
            if call.path.endswith("/callback") and (call.json or {}).get("type") == 4:
                out.append(call.json.get("data") or {})
            elif call.path.startswith("/webhooks/"):
                out.append(call.json or {})
        return out

    def channel_posts(self, channel_id: str) -> list[Any]:
        return [c for c in self.find("POST", f"/channels/{channel_id}/messages") if c.status < 300]


class World:
    def __init__(self, app: App, clock: FakeClock, fake: CommunityDiscord, adapter: DiscordAdapter):
        self.app, self.clock, self.fake, self.adapter = app, clock, fake, adapter

    async def counted(self, n: int) -> None:
        for _ in range(500):
            c = await self.app.features.community.repo.get("discord", GUILD_ID)
            if c is not None and c.tips_messages >= n:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"{n} posts were not counted")

    async def advance_to(self, when: datetime) -> None:
        self.clock.set(when)
        await settled(self.app.scheduler)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    fake = await CommunityDiscord().start()
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(
        f"database: {tmp_path / 'd.sqlite3'}\ntimezone: Europe/Lisbon\n"
        f"discord:\n  enabled: true\n  api_base_url: {fake.api_url}\n"
        f"  gateway_url: {fake.gateway_url}\n"
    )
    clock = FakeClock(T0)
    app = await build(load_config(config_file, env={"DISCORD_TOKEN": TOKEN}), clock=clock)
    app.scheduler._call_later = clock.call_later
    adapter = from_config(app.config)
    adapter.guild_ready_timeout = 0.01
    app.add_adapter(adapter)
    serving = asyncio.create_task(app.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while adapter.bot is None or not adapter.bot.is_ready():
        assert loop.time() < deadline and not serving.done(), "the bot did not become ready"
        await asyncio.sleep(0.005)
    try:
        yield World(app, clock, fake, adapter)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await app.close()
        await fake.stop()


async def test_an_admin_enables_tips_and_the_tip_appears_in_the_channel(world: World) -> None:
    fake = world.fake
    await fake.command(
        "tips", {"action": "on", "text": "time 09:00"}, channel=(GUILD_CHANNEL, "general")
    )
    answer = await fake.answer(1)
    assert "Tips are on in **\\#general**" in answer and "Tue 1 Dec 2026, 09:00" in answer
    for i in range(5):
        await fake.post(GUILD_CHANNEL, "7", f"hello {i}")
    await world.counted(5)
    await world.advance_to(SLOT)
    call = await fake.wait_for("POST", f"/channels/{GUILD_CHANNEL}/messages")
    assert call.json["content"].startswith("**💡 Networking tip — ")
    assert call.json["allowed_mentions"]["parse"] == []  # a tip never pings anyone
    # The next day's channel stayed silent: that slot is skipped, and status says so.
    await world.advance_to(SLOT + timedelta(days=1))
    assert len(fake.channel_posts(GUILD_CHANNEL)) == 1
    await fake.command("tips", {"action": "status"})
    status = await fake.answer(2)
    assert "Skipped the tip due Wed 2 Dec 2026, 09:00" in status
    assert "Next tip:" in status and "Thu 3 Dec 2026, 09:00" in status


async def test_members_without_manage_server_are_refused_on_every_call(world: World) -> None:
    fake = world.fake
    await fake.command("tips", {"action": "on"}, manage=False)
    assert "only members with the Manage Server permission" in await fake.answer(1)
    [ack] = [c for c in fake.find("POST", "/callback") if c.status < 300]
    assert ack.json["type"] == 5  # acknowledged at once, answered after the permission check
    assert await world.app.features.community.repo.get("discord", GUILD_ID) is None
    [sync] = fake.find("PUT", "/commands")
    tips = next(c for c in sync.json if c["name"] == "tips")
    assert int(tips["default_member_permissions"]) == MANAGE_GUILD  # hidden, and still checked


async def test_a_channel_the_bot_cannot_post_in_is_named_with_the_missing_permission(
    world: World,
) -> None:
    await world.fake.command("tips", {"action": "on"}, bot_can_post=False)
    answer = await world.fake.answer(1)
    assert "I can't post in #general: missing permission: Send Messages" in answer
    await world.fake.command("tips", {"action": "on", "text": "#nowhere"})
    assert "I can't find the channel #nowhere" in await world.fake.answer(2)


async def test_a_pitching_intro_gets_a_private_note_and_nothing_in_the_channel(
    world: World,
) -> None:
    fake = world.fake
    await fake.command("intros", {"action": "watch"}, channel=(INTRO_CHANNEL, "introductions"))
    answer = await fake.answer(1)
    assert "Intro coaching is on in **\\#introductions**" in answer
    assert "Message Content intent" in answer  # not requested until a server watches intros
    assert await world.app.coach.reads_posts("discord")  # ...which it will from the next start
    await fake.post(INTRO_CHANNEL, "7", PITCH, name="sam")
    dm = await fake.wait_for("POST", f"/channels/{fake.dm_channel('7')}/messages")
    assert dm.json["content"].startswith("Hi sam! I'm netcoach")
    assert "1. " in dm.json["content"] and "2. " in dm.json["content"]
    assert dm.json["allowed_mentions"]["parse"] == []
    # A second pitch within 30 days: no note; never anything in the channel itself.
    await world.advance_to(T0 + timedelta(days=5))
    await fake.post(INTRO_CHANNEL, "7", PITCH + " Last chance!", name="sam")
    await fake.command("coach", {"setting": "off"}, user_id="7", manage=False)
    assert "won't send you notes" in await fake.answer(2)
    await world.advance_to(T0 + timedelta(days=40))
    await fake.post(INTRO_CHANNEL, "7", PITCH, name="sam")
    await fake.command("tip", user_id="7", manage=False)
    assert (await fake.answer(3)).startswith("**💡 Networking tip — ")
    assert len(fake.find("POST", f"/channels/{fake.dm_channel('7')}/messages")) == 1
    assert fake.channel_posts(INTRO_CHANNEL) == []
    assert not fake.find("DELETE", "/messages/")


async def test_a_channel_of_another_server_cannot_be_named(world: World) -> None:
    """The Telegram attack, tried on Discord: a channel id from a server the admin does not
    manage is not found in this one, nothing is stored and nothing is posted there."""
    other_channel = "920000000000000001"
    fake = world.fake
    await fake.command("tips", {"action": "on", "text": f"<#{other_channel}> time 09:00"})
    assert f"I can't find the channel <#{other_channel}>" in await fake.answer(1)
    await world.advance_to(SLOT + timedelta(days=1))
    assert not fake.channel_posts(other_channel)
    c = await world.app.features.community.repo.get("discord", GUILD_ID)
    assert c is not None and c.tips_state == "off" and c.tips_channel is None
