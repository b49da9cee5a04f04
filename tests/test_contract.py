"""The adapter contract: the same scenarios, as a user sees them, on every platform.

Each scenario runs on the console, on Telegram (the real python-telegram-bot against the
fake Bot API) and on Discord (the real discord.py against the fake Discord), driven through
one small interface. What a platform can do differently is named here, once: the console
cannot edit what it printed, and it has no members who are not its admin. Everything else,
including what a pressed button does, must be the same everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from fake_discord import (
    GUILD_ID,
    restore_discord_endpoints,  # noqa: F401 - autouse fixture
)
from fake_telegram import TOKEN as TELEGRAM_TOKEN
from fake_telegram import group_chat, user
from followup_fakes import FakeClock, settled
from test_community_discord import CommunityDiscord
from test_community_telegram import CommunityTelegram

from netcoach.adapters.console import ConsoleAdapter, render
from netcoach.adapters.discord.platform import from_config as discord_adapter
from netcoach.adapters.telegram.platform import TelegramAdapter
from netcoach.bot.app import App, build, load_config
from netcoach.bot.kernel import Reply, UserRef

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday; Lisbon is on UTC in winter
DRAFT = "Hi Maria! Check out my new course, free trial this week!"
FOLLOW_UP_DRAFT = "Hi Maria, here are the testing notes I promised. How did the launch go?"


@dataclass
class Shown:
    """A message as its user sees it: text, its buttons' actions, and how to press them."""

    text: str
    actions: list[str]
    ref: Any = None
    replaced: bool = False  # shown in place of the message whose button was pressed


class Driver(Protocol):
    app: App
    clock: FakeClock
    can_edit: bool  # the platform can show an answer in place of an earlier message
    has_members: bool  # people who are not the community's admin can write

    async def dm(self, text: str) -> Shown:
        """A plain private message, and the answer to it."""
        ...

    async def command(
        self, name: str, text: str, options: dict[str, Any], *, group: bool, admin: bool = True
    ) -> Shown:
        """A command, typed as text or picked with options (as the platform does it)."""
        ...

    async def press(self, shown: Shown, action: str) -> Shown: ...

    async def nudge(self) -> Shown:
        """The next message the scheduler pushes to the user."""
        ...

    async def me(self) -> UserRef: ...


async def advance(driver: Driver, delta: timedelta) -> None:
    await settled(driver.app.scheduler)
    driver.clock.advance(delta)
    await settled(driver.app.scheduler)


async def _until(predicate: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (found := predicate()):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)
    return found


async def _app(tmp_path: Path, clock: FakeClock, extra: str = "") -> App:
    config = tmp_path / "netcoach.yaml"
    config.write_text(
        f"database: {tmp_path / 'c.sqlite3'}\ntimezone: Europe/Lisbon\n{extra}", encoding="utf-8"
    )
    app = await build(load_config(config, env={}), clock=clock)
    app.scheduler._call_later = clock.call_later
    return app


# -- the console ------------------------------------------------------------------------------


class RecordingConsole(ConsoleAdapter):
    def __init__(self) -> None:
        super().__init__(out=io.StringIO(), interactive=False)
        self.shown: list[tuple[Reply, str]] = []

    def show(self, reply: Reply) -> str:
        message_id = super().show(reply)
        self.shown.append((reply, message_id))
        return message_id


@dataclass
class ConsoleDriver:
    app: App
    clock: FakeClock
    console: RecordingConsole = field(default_factory=RecordingConsole)
    can_edit: bool = False
    has_members: bool = False
    seen: int = 0

    def _next(self) -> Shown:
        reply, message_id = self.console.shown[self.seen]
        self.seen = len(self.console.shown)
        return Shown(render(reply), [b.action for b in reply.buttons], message_id)

    async def dm(self, text: str) -> Shown:
        await self.console.handle_line(self.app.coach, text)
        return self._next()

    async def command(
        self, name: str, text: str, options: dict[str, Any], *, group: bool, admin: bool = True
    ) -> Shown:
        await self.console.handle_line(self.app.coach, f"/{name} {text}".strip())
        return self._next()

    async def press(self, shown: Shown, action: str) -> Shown:
        number = self.console.number(shown.ref, action)
        await self.console.handle_line(self.app.coach, str(number))
        return self._next()

    async def nudge(self) -> Shown:
        await _until(lambda: len(self.console.shown) > self.seen, "a nudge")
        return self._next()

    async def me(self) -> UserRef:
        return UserRef("console", "you")


@contextlib.asynccontextmanager
async def console_driver(tmp_path: Path) -> AsyncIterator[Driver]:
    clock = FakeClock(T0)
    app = await _app(tmp_path, clock)
    driver = ConsoleDriver(app, clock)
    app.add_adapter(driver.console)
    scheduler = asyncio.create_task(app.scheduler.run())
    try:
        await settled(app.scheduler)
        yield driver
    finally:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await app.close()


# -- Telegram -----------------------------------------------------------------------------------

ANA, BEN, GROUP = user(1001, "Ana"), user(1002, "Ben"), group_chat()


@dataclass
class TelegramDriver:
    app: App
    clock: FakeClock
    fake: CommunityTelegram
    can_edit: bool = True
    has_members: bool = True
    seen: int = 0

    async def _next(self, chat_id: int, where: Callable[[Any], bool] = lambda c: True) -> Any:
        def found() -> Any:
            for i, call in enumerate(self.fake.calls[self.seen :], start=self.seen):
                if (
                    call.method in ("sendMessage", "editMessageText")
                    and call.status == 200
                    and int(call.params["chat_id"]) == chat_id
                    and where(call)
                ):
                    self.seen = i + 1
                    return call
            return None

        return await _until(found, f"a message to {chat_id}")

    def _shown(self, call: Any, pressed: Any = None) -> Shown:
        markup = call.result.get("reply_markup") or {}
        actions = [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]
        replaced = (
            call.method == "editMessageText"
            and pressed is not None
            and (call.result["message_id"] == pressed["message_id"])
        )
        return Shown(call.result["text"], actions, call.result, replaced)

    async def dm(self, text: str) -> Shown:
        self.fake.send(ANA, text)
        return self._shown(await self._next(ANA["id"]))

    async def command(
        self, name: str, text: str, options: dict[str, Any], *, group: bool, admin: bool = True
    ) -> Shown:
        sender = ANA if admin else BEN
        line = f"/{name}@netcoach_bot {text}" if group else f"/{name} {text}"
        self.fake.send(sender, line.strip(), chat=GROUP if group else None)
        return self._shown(await self._next(sender["id"]))  # answered privately

    async def press(self, shown: Shown, action: str) -> Shown:
        self.fake.press(shown.ref, action)
        return self._shown(await self._next(ANA["id"]), pressed=shown.ref)

    async def nudge(self) -> Shown:
        call = await self._next(ANA["id"], lambda c: "Time to follow up" in c.params["text"])
        return self._shown(call)

    async def me(self) -> UserRef:
        return UserRef("telegram", str(ANA["id"]))


@contextlib.asynccontextmanager
async def telegram_driver(tmp_path: Path) -> AsyncIterator[Driver]:
    clock = FakeClock(T0)
    async with CommunityTelegram() as fake:
        app = await _app(tmp_path, clock)
        adapter = TelegramAdapter(
            TELEGRAM_TOKEN, base_url=fake.base_url, poll_timeout=5.0, retry_delays=(0.01,)
        )
        app.add_adapter(adapter)
        serving = asyncio.create_task(app.serve())
        try:
            await asyncio.wait_for(adapter.ready.wait(), 5)
            yield TelegramDriver(app, clock, fake)
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            await app.close()


# -- Discord ------------------------------------------------------------------------------------

OWNER, MEMBER = "42", "43"


@dataclass
class DiscordDriver:
    app: App
    clock: FakeClock
    fake: CommunityDiscord
    can_edit: bool = True
    has_members: bool = True
    seen: int = 0

    async def _next(self, where: Callable[[Any], bool]) -> Any:
        def found() -> Any:
            for i, call in enumerate(self.fake.calls[self.seen :], start=self.seen):
                if call.method == "POST" and call.status < 300 and where(call):
                    self.seen = i + 1
                    return call
            return None

        return await _until(found, "a Discord message")

    @staticmethod
    def _answer(call: Any) -> bool:
        body = call.json or {}
        return (call.path.endswith("/callback") and body.get("type") in (4, 7)) or (
            call.path.startswith("/webhooks/")
        )

    def _shown(self, call: Any, pressed: Any = None) -> Shown:
        body = call.json or {}
        data = body.get("data", body) if call.path.endswith("/callback") else body
        text = (data.get("content") or "") + "".join(
            e.get("description", "") for e in data.get("embeds") or []
        )
        actions = [
            c["custom_id"].removeprefix("nc:")
            for row in data.get("components") or []
            for c in row["components"]
        ]
        replaced = body.get("type") == 7 and pressed is not None
        if replaced:  # the pressed message, as it now reads
            message: Any = {**pressed, "content": data.get("content") or ""}
            message["components"] = data.get("components") or []
        else:  # the message this call created: the fake's newest
            message = list(self.fake.messages.values())[-1]
        return Shown(text, actions, message, replaced)

    async def dm(self, text: str) -> Shown:
        await self.fake.dm(OWNER, text)
        channel = self.fake.dm_channel(OWNER)
        return self._shown(await self._next(lambda c: c.path == f"/channels/{channel}/messages"))

    async def command(
        self, name: str, text: str, options: dict[str, Any], *, group: bool, admin: bool = True
    ) -> Shown:
        if group:
            await self.fake.command(name, options, user_id=OWNER if admin else MEMBER, manage=admin)
        else:
            await self.fake.slash(name, options, guild=False)
        call = await self._next(lambda c: self._answer(c) and c.json.get("type") != 7)
        return self._shown(call)

    async def press(self, shown: Shown, action: str) -> Shown:
        await self.fake.press(shown.ref, f"nc:{action}")
        return self._shown(await self._next(self._answer), pressed=shown.ref)

    async def nudge(self) -> Shown:
        channel = self.fake.dm_channel(OWNER)
        call = await self._next(
            lambda c: c.path == f"/channels/{channel}/messages" and bool(c.json.get("embeds"))
        )
        return self._shown(call)

    async def me(self) -> UserRef:
        return UserRef("discord", OWNER)


@contextlib.asynccontextmanager
async def discord_driver(tmp_path: Path) -> AsyncIterator[Driver]:
    clock = FakeClock(T0)
    fake = await CommunityDiscord().start()
    try:
        extra = (
            f"discord:\n  enabled: true\n  api_base_url: {fake.api_url}\n"
            f"  gateway_url: {fake.gateway_url}\n"
        )
        app = await _app(tmp_path, clock, extra)
        config = load_config(tmp_path / "netcoach.yaml", env={"DISCORD_TOKEN": fake.token_expected})
        adapter = discord_adapter(config)
        adapter.guild_ready_timeout = 0.01
        app.add_adapter(adapter)
        serving = asyncio.create_task(app.serve())
        try:
            await _until(lambda: adapter.bot is not None and adapter.bot.is_ready(), "Discord")
            yield DiscordDriver(app, clock, fake)
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            await app.close()
    finally:
        await fake.stop()


PLATFORMS = {"console": console_driver, "telegram": telegram_driver, "discord": discord_driver}


@pytest.fixture(params=list(PLATFORMS))
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Driver]:
    async with PLATFORMS[request.param](tmp_path) as running:
        yield running


# -- the scenarios ------------------------------------------------------------------------------


async def test_a_private_draft_is_reviewed_and_re_reviewed_as_an_intro(driver: Driver) -> None:
    review = await driver.dm(DRAFT)
    assert "/100" in review.text and "(as a first message)" in review.text
    assert review.actions == ["rr:intro", "rr:follow-up", "rr:introduction"]
    again = await driver.press(review, "rr:intro")
    assert "(as an intro post)" in again.text
    assert again.actions == ["rr:dm", "rr:follow-up", "rr:introduction"]
    assert again.replaced == driver.can_edit  # the review is replaced where it can be


async def test_plain_private_messages_are_drafts_whatever_their_first_words(
    driver: Driver,
) -> None:
    for text in (  # each starts with a word /review would take as a context
        "Intro call next week? I'd love to hear how your team ships so fast.",
        "Introduction Ana, meet Tom — you both run community gardens in Leeds.",
        "dm me if you ever want to chat about the rota app",
    ):
        review = await driver.dm(text)
        assert "(as a first message)" in review.text, text  # no context taken from its words


async def test_a_follow_up_nudges_and_every_button_does_the_same_everywhere(
    driver: Driver,
) -> None:
    confirm = await driver.command(
        "followup",
        "Maria in 2 hours send the notes",
        {"who": "Maria", "when": "in 2 hours", "note": "send the notes"},
        group=False,
    )
    assert "follow up with" in confirm.text and "Maria" in confirm.text
    await advance(driver, timedelta(hours=2))
    nudge = await driver.nudge()
    assert "Time to follow up with Maria" in nudge.text
    assert nudge.actions == ["done:1", "snz:1:1d", "snz:1:1w", "draft:1"]

    snoozed = await driver.press(nudge, "snz:1:1d")
    assert "Snoozed" in snoozed.text and snoozed.replaced == driver.can_edit
    assert snoozed.actions == []  # the snoozed nudge cannot be pressed again
    await advance(driver, timedelta(days=1))
    nudge = await driver.nudge()
    snoozed = await driver.press(nudge, "snz:1:1w")
    assert "Snoozed" in snoozed.text and snoozed.replaced == driver.can_edit
    await advance(driver, timedelta(weeks=1))
    nudge = await driver.nudge()
    done = await driver.press(nudge, "done:1")
    assert "Marked" in done.text and "done" in done.text
    assert done.replaced == driver.can_edit

    await driver.command(
        "followup", "Tom in 1 hour", {"who": "Tom", "when": "in 1 hour"}, group=False
    )
    await advance(driver, timedelta(hours=1))
    nudge = await driver.nudge()
    asked = await driver.press(nudge, "draft:2")
    assert "Send me your message to Tom" in asked.text
    assert not asked.replaced  # the nudge and its opener stay in view while drafting
    review = await driver.dm(FOLLOW_UP_DRAFT)
    assert "(as a follow-up)" in review.text


async def test_tips_are_switched_on_and_off_by_an_admin_only(driver: Driver) -> None:
    if driver.has_members:
        refused = await driver.command("tips", "on", {"action": "on"}, group=True, admin=False)
        assert "only" in refused.text and "Nothing was changed" in refused.text
    on = await driver.command("tips", "on", {"action": "on"}, group=True)
    assert "Tips are on in" in on.text
    if driver.has_members:
        refused = await driver.command("tips", "off", {"action": "off"}, group=True, admin=False)
        assert "only" in refused.text
    off = await driver.command("tips", "off", {"action": "off"}, group=True)
    assert "Tips are off" in off.text


async def test_forget_asks_first_then_deletes_everything(driver: Driver) -> None:
    await driver.dm(DRAFT)
    await driver.command("followup", "Maria tomorrow", {"who": "Maria", "when": "tomorrow"},
                         group=False)  # fmt: skip
    assert await driver.app.users.find(await driver.me()) is not None
    ask = await driver.command("forget", "", {}, group=False)
    assert "Delete everything about you?" in ask.text
    assert ask.actions == ["forget:yes", "forget:no"]
    done = await driver.press(ask, "forget:yes")
    assert "deleted all" in done.text and done.replaced == driver.can_edit
    assert await driver.app.users.find(await driver.me()) is None


def test_every_platform_runs_the_suite() -> None:
    assert set(PLATFORMS) == {"console", "telegram", "discord"}
    assert GUILD_ID  # the Discord scenarios run in the fake's one server
