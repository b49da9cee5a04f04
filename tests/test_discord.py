"""Discord: the real discord.py Bot against a fake Discord on 127.0.0.1.

Each test asserts on what Discord would have received (the fake records every REST call),
so it describes what a Discord user sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_discord import (
    APP_ID,
    GUILD_ID,
    FakeDiscord,
    restore_discord_endpoints,  # noqa: F401 - autouse fixture
)
from followup_fakes import FakeClock, settled
from stack import count_jobs

from netcoach.adapters.discord.platform import DiscordAdapter, from_config
from netcoach.adapters.discord.render import render, render_segment
from netcoach.bot.app import App, build, load_config
from netcoach.bot.config import ConfigError
from netcoach.bot.kernel import (
    Button,
    PlaceRef,
    Reply,
    Segment,
    UserRef,
    bold,
    code,
    plain,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TOKEN = FakeDiscord.token_expected
USER = "42"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    yield server
    await server.stop()


def write_config(tmp_path: Path, fake: FakeDiscord, extra: str = "") -> Path:
    path = tmp_path / "netcoach.yaml"
    path.write_text(
        f"database: {tmp_path / 'n.sqlite3'}\n"
        "timezone: Europe/Lisbon\n"
        "discord:\n"
        "  enabled: true\n"
        f"  api_base_url: {fake.api_url}\n"
        f"  gateway_url: {fake.gateway_url}\n" + extra
    )
    return path


@pytest.fixture
async def app(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[tuple[App, FakeClock]]:
    clock = FakeClock(T0)
    config = load_config(write_config(tmp_path, fake), env={"DISCORD_TOKEN": TOKEN})
    built = await build(config, clock=clock)
    built.scheduler._call_later = clock.call_later
    yield built, clock
    await built.close()


def make_adapter(app: App) -> DiscordAdapter:
    adapter = from_config(app.config)
    adapter.guild_ready_timeout = 0.01
    app.add_adapter(adapter)
    return adapter


@contextlib.asynccontextmanager
async def running(app: App, fake: FakeDiscord) -> AsyncIterator[DiscordAdapter]:
    """One bot process: connected and ready; cancelled (a clean shutdown) on exit."""
    adapter = make_adapter(app)
    task = asyncio.create_task(adapter.run(app.coach))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while adapter.bot is None or not adapter.bot.is_ready():
        if task.done():
            task.result()
        assert loop.time() < deadline, "the bot did not become ready"
        await asyncio.sleep(0.005)
    try:
        yield adapter
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def sent_text(call: Any) -> str:
    body = call.json or {}
    data = body.get("data", body)
    text = data.get("content") or ""
    for embed in data.get("embeds") or []:
        text += embed.get("description", "")
    return text


def allows_no_mentions(payload: dict[str, Any]) -> bool:
    """Discord pings only what allowed_mentions lists; replied_user defaults to false."""
    mentions = payload.get("allowed_mentions")
    return (
        mentions is not None
        and mentions.get("parse") == []
        and not any(mentions.get(k) for k in ("users", "roles", "replied_user"))
    )


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


# -- a DM draft and its review --------------------------------------------------------------


async def test_a_dm_draft_is_reviewed_with_buttons_to_review_it_again(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    async with running(built, fake):
        draft = await fake.dm(USER, "Hi Maria! Check out my new course, free trial this week!")
        call = await fake.wait_for("POST", f"/channels/{fake.dm_channel(USER)}/messages")
        review = call.json
        assert "/100" in review["content"]
        assert review["message_reference"]["message_id"] == int(draft["id"])
        assert allows_no_mentions(review)
        assert custom_ids(review) == ["nc:rr:intro", "nc:rr:follow-up", "nc:rr:introduction"]

        message = fake.messages[str(max(int(i) for i in fake.messages))]
        await fake.press(message, "nc:rr:intro")
        update = await fake.wait_for("POST", "/callback")
        assert update.json["type"] == 7  # the review is replaced in place
        assert "(as an intro post)" in update.json["data"]["content"]
        assert custom_ids(update.json["data"]) == [
            "nc:rr:dm",
            "nc:rr:follow-up",
            "nc:rr:introduction",
        ]
        # the draft came from the DM the review replied to: netcoach keeps no copy
        assert fake.find("GET", f"/messages/{draft['id']}")


def last_message(fake: FakeDiscord) -> dict[str, Any]:
    return fake.messages[str(max(int(i) for i in fake.messages))]


# -- /review, the modal and the context menu -------------------------------------------------


async def test_review_opens_a_modal_and_the_review_is_private_in_a_server(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    async with running(built, fake):
        await fake.slash("review", {"context": "intro"})
        opened = await fake.wait_for("POST", "/callback")
        assert opened.json["type"] == 9  # a modal
        modal = opened.json["data"]
        menu, field = (row["component"] for row in modal["components"])
        assert field["style"] == 2 and field["max_length"] == 4000  # a paragraph
        assert [o["value"] for o in menu["options"] if o.get("default")] == ["intro"]

        draft = "Hi all, I'm Ana, a nurse in Porto. What are you all working on?"
        await fake.submit_modal(modal, {menu["custom_id"]: ["intro"], field["custom_id"]: draft})
        answered = await fake.wait_for("POST", "/callback", count=2)
        assert answered.json["type"] == 4
        assert answered.json["data"]["flags"] & 64  # ephemeral: only the author sees it
        assert "(as an intro post)" in answered.json["data"]["content"]

        # "Review as follow-up" on the ephemeral review still finds the draft
        review = last_message(fake)
        await fake.press(review, "nc:rr:follow-up", guild=True)
        again = await fake.wait_for("POST", "/callback", count=3)
        assert again.json["type"] == 7
        assert "(as a follow-up)" in again.json["data"]["content"]


async def test_review_as_draft_from_the_message_context_menu(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    async with running(built, fake):
        target = fake.message_payload(
            "910000000000000002",
            {"id": USER, "username": "ana", "discriminator": "0", "avatar": None},
            "Check out my platform, book a call today!",
            guild_id=GUILD_ID,
        )
        await fake.context_menu(target)
        answered = await fake.wait_for("POST", "/callback")
        data = answered.json["data"]
        assert answered.json["type"] == 4 and data["flags"] & 64
        assert "(as a first message)" in data["content"] and "✖" in data["content"]
        assert custom_ids(data)[0] == "nc:rr:intro"


# -- mentions and Markdown --------------------------------------------------------------------


async def test_a_draft_with_everyone_and_a_role_mention_pings_nobody(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    async with running(built, fake):
        await fake.dm(
            USER, "@everyone hi <@&123456789012345678> and <@987654321098765432>! **buy**"
        )
        call = await fake.wait_for("POST", "/channels/")
        assert allows_no_mentions(call.json)
        target = fake.message_payload(
            "910000000000000002",
            {"id": USER, "username": "ana", "discriminator": "0", "avatar": None},
            "@here check out my course <@&123456789012345678>",
            guild_id=GUILD_ID,
        )
        await fake.context_menu(target)
        await fake.wait_for("POST", "/callback")
    sends = [c for c in fake.calls if c.method == "POST" and "/messages" in c.path]
    sends += [c for c in fake.calls if c.path.endswith("/callback")]
    assert sends and all(allows_no_mentions(c.json.get("data", c.json)) for c in sends)


def test_user_text_is_shown_as_written() -> None:
    assert render_segment(plain("**not bold** @everyone")) == "\\*\\*not bold\\*\\* @\u200beveryone"
    assert render_segment(bold(" Maria ")) == " **Maria** "
    assert render_segment(code("a `tick`")) == "`` a `tick` ``"


def test_long_replies_split_at_boundaries_and_buttons_go_last() -> None:
    paragraph = "Ask about their work first. " * 30  # ~840 characters
    body = tuple(plain(paragraph.strip() + "\n\n") for _ in range(6))
    place = PlaceRef("discord", "1")
    pages = render(Reply(place, body, (Button("Done", "done:1"),)))
    assert len(pages) == 3 and all(len(p.content or "") <= 2000 for p in pages)
    assert all(p.content and p.content.endswith("first.") for p in pages)
    assert [p.view is not None for p in pages] == [False, False, True]
    nudge = render(Reply(place, (Segment("x " * 3000),), kind="nudge"))
    assert len(nudge) == 2 and all(
        p.embed and len(p.embed.description or "") <= 4096 for p in nudge
    )


# -- follow-ups, nudges and buttons ------------------------------------------------------------


async def test_followup_then_the_nudge_arrives_by_dm_with_buttons_that_survive_a_restart(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, clock = app
    scheduler = asyncio.create_task(built.scheduler.run())
    try:
        async with running(built, fake):
            member = {
                "users": {
                    "77": {
                        "id": "77",
                        "username": "maria",
                        "global_name": "Maria",
                        "discriminator": "0",
                        "avatar": None,
                    }
                }
            }
            await fake.slash(
                "followup",
                {"when": "in 2 hours", "member": {"user": "77"}, "note": "send the notes"},
                resolved=member,
            )
            confirm = await fake.wait_for("POST", "/callback")
            assert confirm.json["data"]["flags"] & 64
            assert "I'll remind you to follow up with **Maria**" in confirm.json["data"]["content"]
            await settled(built.scheduler)
            clock.advance(timedelta(hours=2))
            await settled(built.scheduler)
            sent = await fake.wait_for("POST", f"/channels/{fake.dm_channel(USER)}/messages")
            nudge = sent.json
            assert "Time to follow up with Maria" in nudge["embeds"][0]["description"]
            assert nudge["content"] is None
            assert custom_ids(nudge) == ["nc:done:1", "nc:snz:1:1d", "nc:snz:1:1w", "nc:draft:1"]
            assert nudge["nonce"] == "job:1.0" and nudge["enforce_nonce"] is True
            assert allows_no_mentions(nudge)
        puts = len(fake.find("PUT", "/commands"))
        assert puts == 1

        # a new Bot instance: the old message's buttons still work
        async with running(built, fake):
            await fake.press(last_message(fake), "nc:done:1")
            done = await fake.wait_for("POST", "/callback", count=2)
            assert "Marked `#1` done" in done.json["data"]["content"]
        assert len(fake.find("PUT", "/commands")) == puts  # unchanged commands: no sync
    finally:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler


async def test_autocomplete_offers_your_followups_and_time_zones(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    async with running(built, fake):
        await fake.slash("followup", {"who": "Maria", "when": "tomorrow", "note": "the notes"})
        await fake.slash("followup", {"who": "Tom", "when": "friday"}, user_id="43")
        await fake.wait_for("POST", "/callback", count=2)
        await fake.slash("cancel", {"followup": "mar"}, focused="followup")
        answer = await fake.wait_for("POST", "/callback", count=3)
        assert answer.json == {
            "type": 8,
            "data": {"choices": [{"name": "#1 Maria — the notes", "value": "1"}]},
        }
        await fake.slash("timezone", {"zone": "lisb"}, focused="zone")
        zones = await fake.wait_for("POST", "/callback", count=4)
        assert {"name": "Europe/Lisbon", "value": "Europe/Lisbon"} in zones.json["data"]["choices"]
        await fake.slash("cancel", {"followup": "1"})
        cancelled = await fake.wait_for("POST", "/callback", count=5)
        assert "Cancelled `#1` (following up with Maria)" in cancelled.json["data"]["content"]


async def test_dms_closed_keeps_the_followup_and_tells_the_user_next_time(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, clock = app
    fake.fail(
        "POST",
        r"^/channels/\d+/messages$",
        403,
        {"code": 50007, "message": "Cannot send messages to this user"},
    )
    scheduler = asyncio.create_task(built.scheduler.run())
    try:
        async with running(built, fake):
            await fake.slash("followup", {"who": "Maria", "when": "in 1 hour"})
            await fake.wait_for("POST", "/callback")
            await settled(built.scheduler)
            clock.advance(timedelta(hours=1))
            await settled(built.scheduler)
            clock.advance(timedelta(days=1))  # nothing is retried in a loop
            await settled(built.scheduler)
            attempts = [c for c in fake.find("POST", "/messages") if c.path.startswith("/channels")]
            assert [c.status for c in attempts] == [403]
            assert await count_jobs(built.db, "undeliverable") == 1
            await fake.slash("followups", {})
            told = await fake.wait_for("POST", "/callback", count=2)
            assert "I couldn't reach you when this was due" in sent_text(told)
            listed = await fake.wait_for("POST", "/webhooks/")  # then the answer itself
            assert "`#1` Maria" in sent_text(listed) and listed.json["flags"] & 64
    finally:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler


async def test_a_rate_limited_nudge_is_delivered_once_after_retry_after(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    fake.fail(
        "POST",
        r"^/channels/\d+/messages$",
        429,
        {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
        headers={"Retry-After": "0.05", "X-RateLimit-Scope": "user", "Via": "1.1 google"},
    )
    async with running(built, fake) as adapter:
        reply = Reply.of(PlaceRef("discord", USER), "Time to follow up with Maria", kind="nudge")
        message_id = await adapter.deliver(UserRef("discord", USER, "ana"), reply, key="job:9")
    posts = [c for c in fake.find("POST", "/messages") if c.path.startswith("/channels")]
    assert [c.status for c in posts] == [429, 200]
    assert message_id == max(fake.messages, key=int)


# -- the connection ----------------------------------------------------------------------------


async def test_after_a_gateway_reconnect_the_bot_resumes_and_keeps_answering(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    async with running(built, fake):
        await fake.reconnect()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while fake.resumes < 1:
            assert loop.time() < deadline, "the bot did not resume"
            await asyncio.sleep(0.005)
        assert fake.identifies == 1  # resumed, not a fresh session
        await fake.dm(USER, "Hi Maria, how did the launch go?")
        call = await fake.wait_for("POST", "/channels/")
        assert "/100" in call.json["content"]


async def test_cancelling_netcoach_closes_the_discord_connection_cleanly(
    app: tuple[App, FakeClock], fake: FakeDiscord
) -> None:
    built, _ = app
    adapter = make_adapter(built)
    serving = asyncio.create_task(built.serve())
    await fake.wait_connected()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while adapter.bot is None or not adapter.bot.is_ready():
        assert loop.time() < deadline
        await asyncio.sleep(0.005)
    bot = adapter.bot
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    assert bot.is_closed() and adapter.bot is None
    assert bot.http._HTTPClient__session.closed  # type: ignore[attr-defined]
    deadline = loop.time() + 5
    while fake.sockets:
        assert loop.time() < deadline, "the gateway socket stayed open"
        await asyncio.sleep(0.005)


async def test_commands_go_to_the_development_server_when_one_is_set(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    config = load_config(
        write_config(tmp_path, fake, f"  dev_guild_id: '{GUILD_ID}'\n"),
        env={"DISCORD_TOKEN": TOKEN},
    )
    built = await build(config, clock=FakeClock(T0))
    try:
        async with running(built, fake):
            put = fake.find("PUT", "/commands")
            assert [c.path for c in put] == [f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"]
            names = {c["name"] for c in put[0].json}
            assert {"review", "followup", "cancel", "timezone", "help", "Review as draft"} <= names
            await fake.slash("help", guild_command=True)
            helped = await fake.wait_for("POST", "/callback")
            assert "netcoach commands" in helped.json["data"]["content"]
    finally:
        await built.close()


# -- the token ----------------------------------------------------------------------------------


def test_a_missing_token_names_the_variable(tmp_path: Path, fake: FakeDiscord) -> None:
    config = load_config(write_config(tmp_path, fake), env={})
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        from_config(config)


async def test_a_rejected_token_names_the_variable_and_never_shows_the_token(
    tmp_path: Path, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.wrong-token-value-xyz"
    config = load_config(write_config(tmp_path, fake), env={"DISCORD_TOKEN": secret})
    built = await build(config, clock=FakeClock(T0))
    try:
        adapter = from_config(config)
        with pytest.raises(ConfigError) as failed:
            await adapter.run(built.coach)
    finally:
        await built.close()
    assert "DISCORD_TOKEN" in str(failed.value)
    assert secret not in str(failed.value) and secret not in repr(adapter)
    assert secret not in caplog.text
    assert fake.find("GET", "/users/@me")[0].status == 401
