"""Community tips and intro coaching on Telegram, end to end: the real python-telegram-bot
against a fake Bot API, netcoach's own scheduler on a FakeClock (no real waiting)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import TOKEN, FakeTelegram, _ApiError, group_chat, user
from followup_fakes import FakeClock, settled

from netcoach.adapters.telegram.platform import TelegramAdapter
from netcoach.bot.app import App, build, load_config

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday; Lisbon is on UTC in winter
SLOT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANA = user(1001, "Ana")  # the group's creator
BEN = user(1002, "Ben")  # a member
GROUP = group_chat()
BOT_ID = int(TOKEN.split(":")[0])
PITCH = "Hi all, I'm Sam. Check out my new course, book a call with me today, 50% off!"
_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


class CommunityTelegram(FakeTelegram):
    """The fake Bot API plus chat members, chats and reactions."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[tuple[int, int], str] = {(GROUP["id"], ANA["id"]): "creator"}
        self.chats[GROUP["id"]] = GROUP

    async def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, uid = int(params["chat_id"]), int(params["user_id"])
        status = self.statuses.get((chat, uid), "member")
        found: dict[str, Any] = {"status": status, "user": user(uid, "x")}
        if status == "creator":
            found["is_anonymous"] = False
        if status == "administrator":
            found.update(dict.fromkeys(_RIGHTS, False))
        return found

    async def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params["chat_id"]
        for chat in self.chats.values():
            if str(chat["id"]) == str(chat_id) or f"@{chat.get('username')}" == chat_id:
                return {**chat, "accent_color_id": 0, "max_reaction_count": 11}
        raise _ApiError(400, "Bad Request: chat not found")

    async def _api_setMessageReaction(self, params: dict[str, Any]) -> bool:
        return True

    def make_bot_admin(self) -> None:
        self.statuses[(GROUP["id"], BOT_ID)] = "administrator"


class World:
    def __init__(self, tmp_path: Path, fake: CommunityTelegram, clock: FakeClock) -> None:
        self.tmp_path, self.fake, self.clock = tmp_path, fake, clock
        self.app: App | None = None
        self.serving: asyncio.Task[None] | None = None

    async def start(self, extra: str = "") -> None:
        config = self.tmp_path / "netcoach.yaml"
        config.write_text(
            f"database: {self.tmp_path / 't.sqlite3'}\ntimezone: Europe/Lisbon\n{extra}"
        )
        self.app = await build(load_config(config, env={}), clock=self.clock)
        self.app.scheduler._call_later = self.clock.call_later
        adapter = TelegramAdapter(
            TOKEN, base_url=self.fake.base_url, poll_timeout=5.0, retry_delays=(0.01,)
        )
        self.app.add_adapter(adapter)
        self.serving = asyncio.create_task(self.app.serve())
        await asyncio.wait_for(adapter.ready.wait(), 5)

    async def stop(self) -> None:
        if self.serving is not None:
            self.serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.serving
        if self.app is not None:
            await self.app.close()
        self.app = self.serving = None

    async def dm_reply(self, uid: int, n: int = 1) -> str:
        calls = await self.fake.wait_for(
            "sendMessage", n, where=lambda c: c.params["chat_id"] == uid
        )
        return calls[-1].result["text"]

    async def messages_counted(self, n: int) -> None:
        assert self.app is not None
        for _ in range(500):
            c = await self.app.features.community.repo.get("telegram", str(GROUP["id"]))
            if c is not None and c.tips_messages >= n:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"{n} messages were not counted")

    async def advance_to(self, when: datetime) -> None:
        assert self.app is not None
        self.clock.set(when)
        await settled(self.app.scheduler)

    def group_posts(self) -> list[str]:
        return [c.result["text"] for c in self.fake.sent_to(GROUP["id"])]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with CommunityTelegram() as fake:
        w = World(tmp_path, fake, FakeClock(T0))
        await w.start()
        try:
            yield w
        finally:
            await w.stop()


async def test_an_admin_enables_tips_and_the_tip_appears_in_the_group(world: World) -> None:
    fake = world.fake
    fake.make_bot_admin()  # admins see every message, privacy mode or not
    fake.send(ANA, "/tips on time 09:00", chat=GROUP)
    answer = await world.dm_reply(ANA["id"])
    assert "Tips are on in Founders: every day at 09:00 (Europe/Lisbon)" in answer
    assert "Tue 1 Dec 2026, 09:00" in answer and not fake.sent_to(GROUP["id"])
    for i in range(5):
        fake.send(BEN, f"<b>hello</b> {i}", chat=GROUP)
    await world.messages_counted(5)
    await world.advance_to(SLOT)
    [post] = await fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == GROUP["id"])
    assert post.params["parse_mode"] == "HTML"
    assert post.params["text"].startswith("<b>💡 Networking tip — ")
    # A restart the same day posts nothing more; the next day's slot waits for activity.
    await world.stop()
    await world.start()
    await world.advance_to(SLOT + timedelta(hours=14))
    await world.advance_to(SLOT + timedelta(days=1))
    assert len(world.group_posts()) == 1
    fake.send(ANA, "/tips status", chat=GROUP)
    status = await world.dm_reply(ANA["id"], 2)
    assert "Skipped the tip due Wed 2 Dec 2026, 09:00" in status
    assert "only 0 messages since the last tip" in status


async def test_a_member_who_is_not_an_admin_is_refused(world: World) -> None:
    world.fake.send(BEN, "/tips on time 09:00", chat=GROUP)
    answer = await world.dm_reply(BEN["id"])
    assert "only the group's creator and administrators can change community settings" in answer
    asked = [c.params["user_id"] for c in world.fake.called("getChatMember")]
    assert BEN["id"] in asked  # checked with the Bot API, on this very call
    assert not world.fake.sent_to(GROUP["id"])


async def test_a_full_rotation_of_one_playbook_shows_every_tip_once(
    world: World, playbooks
) -> None:
    await world.stop()
    await world.start("community:\n  min_messages_between_tips: 0\n")
    world.fake.send(ANA, "/tips on time 09:00 every day shared-bond", chat=GROUP)
    assert "from Mention the shared bond — " in await world.dm_reply(ANA["id"])
    tips = playbooks.get("shared-bond").tips
    for day in range(len(tips)):
        await world.advance_to(SLOT + timedelta(days=day))
        await world.fake.wait_for(
            "sendMessage", day + 1, where=lambda c: c.params["chat_id"] == GROUP["id"]
        )
    shown = [p.split("\n", 1)[1] for p in world.group_posts()]
    assert sorted(shown) == sorted(tips)
    assert all(
        p.startswith(f"💡 Networking tip — {playbooks.get('shared-bond').title}")
        for p in world.group_posts()
    )


async def test_privacy_mode_means_tips_post_on_schedule_and_intros_cannot_be_watched(
    world: World,
) -> None:
    fake = world.fake
    fake.send(ANA, "/intros watch", chat=GROUP)
    answer = await world.dm_reply(ANA["id"])
    assert "I can't watch Founders" in answer and "/setprivacy" in answer
    fake.send(ANA, "/tips on time 09:00", chat=GROUP)
    assert "Activity is not counted here" in await world.dm_reply(ANA["id"], 2)
    await world.advance_to(SLOT)
    await fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == GROUP["id"])


async def test_a_pitching_intro_gets_a_private_note_and_nothing_in_the_group(
    world: World,
) -> None:
    fake = world.fake
    fake.make_bot_admin()
    fake.send(ANA, "/intros watch", chat=GROUP)
    assert "Intro coaching is on in Founders" in await world.dm_reply(ANA["id"])
    fake.send(BEN, PITCH, chat=GROUP)
    note = await world.dm_reply(BEN["id"])
    assert note.startswith("Hi Ben! I'm netcoach") and "1. " in note and "2. " in note
    # Within 30 days: no second note; after `coach off`: none at all; never in the group.
    await world.advance_to(T0 + timedelta(days=10))
    fake.send(BEN, PITCH + " Again!", chat=GROUP)
    fake.send(BEN, "/coach off")
    assert "won't send you notes" in await world.dm_reply(BEN["id"], 2)
    await world.advance_to(T0 + timedelta(days=40))
    fake.send(BEN, PITCH, chat=GROUP)
    fake.send(BEN, "/coach")
    assert "are off" in await world.dm_reply(BEN["id"], 3)
    assert len(fake.sent_to(BEN["id"])) == 3
    assert not fake.sent_to(GROUP["id"])
    assert not fake.called("deleteMessage", ok=None)


async def test_a_tip_with_a_mention_is_refused_and_removal_stops_the_schedule(
    world: World,
) -> None:
    fake = world.fake
    fake.send(ANA, '/tips add "Welcome @everyone who joined"', chat=GROUP)
    assert "can't contain mentions" in await world.dm_reply(ANA["id"])
    fake.send(ANA, "/tips on time 09:00", chat=GROUP)
    await world.dm_reply(ANA["id"], 2)
    fake.fail("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
    await world.advance_to(SLOT)
    await fake.wait_for("sendMessage", ok=False)
    await world.advance_to(SLOT + timedelta(days=5))
    assert len(fake.called("sendMessage", ok=False)) == 1
    fake.send(ANA, "/tips status", chat=GROUP)
    status = await world.dm_reply(ANA["id"], 3)
    assert "Tips are stopped" in status and "bot was kicked" in status


async def test_an_admin_of_one_group_cannot_aim_tips_or_intros_at_another(world: World) -> None:
    """Ana runs Founders; Ben runs Makers, where the bot also is. Ana, typing in Founders,
    names Makers: refused, nothing stored, and Makers' own admin sees nothing switched on."""
    fake = world.fake
    makers = group_chat(-1009999999999, "Makers") | {"username": "makers"}
    fake.chats[makers["id"]] = makers
    fake.statuses[(makers["id"], BEN["id"])] = "creator"
    fake.statuses[(makers["id"], BOT_ID)] = "administrator"
    fake.send(ANA, f"/tips on {makers['id']} time 09:00", chat=GROUP)
    assert "only the creator and administrators of Makers" in await world.dm_reply(ANA["id"])
    fake.send(ANA, "/intros watch @makers", chat=GROUP)
    assert "only the creator and administrators of Makers" in await world.dm_reply(ANA["id"], 2)
    asked = {(int(c.params["chat_id"]), c.params["user_id"]) for c in fake.called("getChatMember")}
    assert (makers["id"], ANA["id"]) in asked  # her standing in Makers, asked of the platform
    assert world.app is not None
    assert await world.app.features.community.repo.get("telegram", str(makers["id"])) is None
    fake.send(BEN, "/tips off", chat=makers)
    assert "not on" in await world.dm_reply(BEN["id"])
    await world.advance_to(SLOT + timedelta(days=1))
    assert not fake.sent_to(makers["id"])


async def test_an_admin_of_both_groups_sets_tips_that_belong_to_the_named_group(
    world: World,
) -> None:
    fake = world.fake
    makers = group_chat(-1009999999999, "Makers")
    fake.chats[makers["id"]] = makers
    fake.statuses[(makers["id"], ANA["id"])] = "administrator"
    fake.statuses[(makers["id"], BEN["id"])] = "creator"
    fake.send(ANA, f"/tips on {makers['id']} time 09:00", chat=GROUP)
    assert "Tips are on in Makers" in await world.dm_reply(ANA["id"])
    # The settings are Makers' own: its creator sees them there and can stop them.
    fake.send(BEN, "/tips off", chat=makers)
    assert "Tips are off" in await world.dm_reply(BEN["id"])
    await world.advance_to(SLOT + timedelta(days=1))
    assert not fake.sent_to(makers["id"]) and not fake.sent_to(GROUP["id"])
