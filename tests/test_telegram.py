"""Netcoach on Telegram, end to end: the real python-telegram-bot against a fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_telegram import TOKEN, Call, FakeTelegram, _visible, group_chat, user
from followup_fakes import FakeClock, settled
from telegram import Update

from netcoach.adapters.telegram.inbound import to_request
from netcoach.adapters.telegram.platform import TelegramAdapter, from_config
from netcoach.adapters.telegram.render import render
from netcoach.bot.app import App, build, load_config
from netcoach.bot.config import ConfigError
from netcoach.bot.features.drafts.feature import REVIEW_PARAMS
from netcoach.bot.kernel import (
    Button,
    Command,
    PlaceRef,
    Reply,
    Request,
    UserRef,
    bold,
    code,
    mark,
    plain,
)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ANA = user(1001, "Ana")
BEN = user(1002, "Ben")
GROUP = group_chat()
PITCH = "Hi Maria, check out my new course! Book a call with me today."


@dataclass
class World:
    app: App
    clock: FakeClock
    fake: FakeTelegram
    adapter: TelegramAdapter


def buttons(markup: dict) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def adapter_for(fake: FakeTelegram, **kw: object) -> TelegramAdapter:
    options: dict = {
        "base_url": fake.base_url,
        "poll_timeout": 5.0,
        "retry_delays": (0.01, 0.02),
        "startup_backoff": (0.01, 0.05),
        **kw,
    }
    return TelegramAdapter(TOKEN, **options)


@pytest.fixture
async def world(tmp_path: Path, fake: FakeTelegram) -> AsyncIterator[World]:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(f"database: {tmp_path / 't.sqlite3'}\ntimezone: Europe/Lisbon\n")
    clock = FakeClock(T0)
    app = await build(load_config(config_file, env={}), clock=clock)
    app.scheduler._call_later = clock.call_later
    adapter = adapter_for(fake)
    app.add_adapter(adapter)
    serving = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(adapter.ready.wait(), 5)
        yield World(app, clock, fake, adapter)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await app.close()


async def test_a_private_draft_is_answered_with_its_review_and_buttons(world: World) -> None:
    fake = world.fake
    draft = fake.send(ANA, PITCH)
    [call] = await fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == 1001)
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_parameters"]["message_id"] == draft["message_id"]
    assert "/100" in call.params["text"] and "<b>" in call.params["text"]
    assert buttons(call.params["reply_markup"]) == [
        ("Review as intro post", "rr:intro"),
        ("Review as follow-up", "rr:follow-up"),
        ("Review as introduction", "rr:introduction"),
    ]


def spy_requests(world: World) -> list[Request]:
    """Record what the core is asked (the adapter's translation), without changing answers."""
    seen: list[Request] = []
    handle = world.app.coach.handle

    async def recording(req: Request) -> list[Reply]:
        seen.append(req)
        return await handle(req)

    world.app.coach.handle = recording  # type: ignore[method-assign]
    return seen


def to(chat_id: int) -> Callable[[Call], bool]:
    return lambda c: c.params.get("chat_id") == chat_id


async def test_a_re_review_button_reviews_the_same_draft_in_another_context(world: World) -> None:
    fake = world.fake
    seen = spy_requests(world)
    hostile = "Hi <b>Maria</b> & &amp; <script>alert(1)</script> — loved your talk! Coffee?"
    draft = fake.send(ANA, hostile)
    [review] = await fake.wait_for("sendMessage", where=to(1001))
    fake.press(fake.message(review), "rr:intro")
    await fake.wait_for("answerCallbackQuery")
    [edit] = await fake.wait_for("editMessageText", where=to(1001))  # the review, replaced
    again = edit.params
    assert "(as an intro post)" in again["text"]
    assert again["message_id"] == review.result["message_id"]
    assert review.params["reply_parameters"]["message_id"] == draft["message_id"]
    assert ("Review as first message", "rr:dm") in buttons(again["reply_markup"])
    press = seen[-1]
    assert (press.command, press.text) == ("press", "rr:intro")
    assert press.params["draft"] == hostile  # read back from the message, exactly as written


async def test_editing_a_draft_edits_its_review_instead_of_adding_one(world: World) -> None:
    fake = world.fake
    draft = fake.send(ANA, PITCH)
    [review] = await fake.wait_for("sendMessage", where=to(1001))
    fake.edit(draft, "Hi Maria, loved your talk on testing at PyCon. What got you into it?")
    [edit] = await fake.wait_for("editMessageText")
    assert edit.params["message_id"] == review.result["message_id"]
    assert edit.params["text"] != review.params["text"]
    assert "rr:intro" in dict(buttons(edit.params["reply_markup"])).values()
    assert len(fake.called("sendMessage")) == 1


async def test_a_follow_up_nudges_on_time_and_snooze_reschedules_it(world: World) -> None:
    fake, clock, app = world.fake, world.clock, world.app
    fake.send(ANA, "/followup Maria in 2 hours send her the testing notes")
    [confirm] = await fake.wait_for("sendMessage", where=to(1001))
    assert "follow up with <b>Maria</b>" in confirm.params["text"]
    await settled(world.app.scheduler)
    clock.advance(timedelta(hours=2))
    calls = await fake.wait_for("sendMessage", 2, where=to(1001))
    nudge = calls[-1]
    assert "Time to follow up with Maria" in nudge.params["text"]
    assert [
        [b["text"] for b in row] for row in nudge.params["reply_markup"]["inline_keyboard"]
    ] == [
        ["Done", "Snooze 1 day"],
        ["Snooze 1 week", "Draft"],
    ]
    assert all(len(data.encode()) <= 64 for _, data in buttons(nudge.params["reply_markup"]))
    fake.press(fake.message(nudge), "snz:1:1d")
    await fake.wait_for("answerCallbackQuery")
    [edit] = await fake.wait_for("editMessageText")
    assert edit.params["message_id"] == nudge.result["message_id"]
    assert "Snoozed" in edit.params["text"] and "reply_markup" not in edit.params
    owner = await app.users.find(UserRef("telegram", "1001", "Ana"))
    assert owner is not None
    followup = await app.features.followups.repo.get(owner.id, 1)
    assert followup is not None and followup.due_at == clock.now() + timedelta(days=1)
    await settled(world.app.scheduler)
    clock.advance(timedelta(days=1))
    await fake.wait_for("sendMessage", 3, where=to(1001))


async def test_a_command_in_a_group_with_the_bot_name_is_answered_privately(world: World) -> None:
    fake = world.fake
    seen = spy_requests(world)
    fake.send(ANA, "/help@otherbot", chat=GROUP)  # another bot's command: not ours
    fake.send(ANA, "/followup@netcoach_bot Maria tomorrow", chat=GROUP)
    [reply] = await fake.wait_for("sendMessage")
    assert reply.params["chat_id"] == 1001 and "follow up with <b>Maria</b>" in reply.params["text"]
    assert [(r.command, r.text, r.place.kind) for r in seen] == [
        ("followup", "Maria tomorrow", "group")
    ]
    assert not fake.sent_to(GROUP["id"])


async def test_an_unknown_command_gets_the_coachs_answer(world: World) -> None:
    world.fake.send(ANA, "/frobnicate now")
    [reply] = await world.fake.wait_for("sendMessage")
    assert "I don't know the command <code>/frobnicate</code>" in reply.params["text"]


async def test_a_group_draft_is_reviewed_privately_or_gets_a_deep_link(world: World) -> None:
    fake = world.fake
    fake.send(ANA, f"/review {PITCH}", chat=GROUP)
    [review] = await fake.wait_for("sendMessage")
    assert review.params["chat_id"] == 1001 and "/100" in review.params["text"]
    fake.press(fake.message(review), "rr:intro")  # no reply link across chats: from memory
    [again] = await fake.wait_for("editMessageText", where=to(1001))
    assert "(as an intro post)" in again.params["text"]

    ben = user(1002, "Ben")
    fake.unstarted.add(1002)
    question = fake.send(ben, "Can someone look at this?", chat=GROUP)
    fake.send(ben, "/review@netcoach_bot intro", chat=GROUP, reply_to=question)
    [refused] = await fake.wait_for("sendMessage", ok=False, where=to(1002))
    assert "can't initiate" in refused.result["description"]
    [link] = await fake.wait_for("sendMessage", where=to(GROUP["id"]))
    assert "https://t.me/netcoach_bot?start=review" in link.params["text"]
    assert "Can someone" not in link.params["text"] and "/100" not in link.params["text"]


async def test_a_rate_limited_nudge_is_retried_and_delivered_once(world: World) -> None:
    fake, clock = world.fake, world.clock
    fake.send(ANA, "/followup Maria in 1 hour")
    await fake.wait_for("sendMessage", where=to(1001))
    await settled(world.app.scheduler)
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    clock.advance(timedelta(hours=1))
    await fake.wait_for("sendMessage", 1, ok=False, where=to(1001))
    await settled(world.app.scheduler)
    [job] = await world.app.queue.latest("followup", 1, 10)
    assert job.state == "pending" and job.run_at == clock.now() + timedelta(seconds=1)
    clock.advance(timedelta(seconds=1))  # the scheduler, not the sender, waited it out
    await fake.wait_for("sendMessage", 2, where=to(1001))
    await settled(world.app.scheduler)
    assert [c.status for c in fake.called("sendMessage", ok=None)] == [200, 429, 200]
    [job] = await world.app.queue.latest("followup", 1, 10)
    assert job.state == "sent" and job.attempts == 1  # the 429 did not use up a try


async def test_a_nudges_429_never_holds_up_a_reply_to_someone_waiting(world: World) -> None:
    """Issue 11: two 429s with retry_after=8 on a nudge made an unrelated /help wait 16 s.
    The nudge goes back to the scheduler with its due time moved; /help is answered now."""
    fake, clock = world.fake, world.clock
    fake.send(ANA, "/followup Maria in 1 hour")
    await fake.wait_for("sendMessage", where=to(1001))
    await settled(world.app.scheduler)
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 8", retry_after=8)
    clock.advance(timedelta(hours=1))
    await fake.wait_for("sendMessage", 1, ok=False, where=to(1001))
    fake.send(BEN, "/help")
    await fake.wait_for("sendMessage", 1, where=to(1002), timeout=20)
    await settled(world.app.scheduler)
    # Before the fix the sender slept out retry_after holding every other call, so the
    # nudge's own retry went out first and /help came 8 s later.
    order = [(c.params["chat_id"], c.status) for c in fake.called("sendMessage", ok=None)]
    assert order == [(1001, 200), (1001, 429), (1002, 200)]
    [job] = await world.app.queue.latest("followup", 1, 10)
    assert job.state == "pending" and job.run_at >= clock.now() + timedelta(seconds=8)


async def test_a_user_who_blocked_the_bot_gets_the_nudge_when_they_write_again(
    world: World,
) -> None:
    fake, clock = world.fake, world.clock
    fake.send(ANA, "/followup Maria in 1 hour")
    await fake.wait_for("sendMessage", where=to(1001))
    await settled(world.app.scheduler)
    fake.blocked.add(1001)
    clock.advance(timedelta(hours=1))
    await fake.wait_for("sendMessage", ok=False, where=to(1001))
    await settled(world.app.scheduler)
    [job] = await world.app.queue.latest("followup", 1, 10)
    assert job.state == "undeliverable"
    clock.advance(timedelta(days=3))  # not retried in a loop
    await settled(world.app.scheduler)
    assert len(fake.called("sendMessage", ok=None)) == 2
    fake.blocked.discard(1001)
    fake.send(ANA, "/followups")
    calls = await fake.wait_for("sendMessage", 3, where=to(1001))
    handed = calls[1].params
    assert "couldn't reach you" in handed["text"] and "reply_markup" in handed


async def test_a_long_reply_is_split_at_paragraphs_with_buttons_on_the_last(
    world: World,
) -> None:
    paragraphs = [f"Paragraph {i}: " + " ".join(["a <tag> & more."] * 30) for i in range(12)]
    body = (plain("\n\n".join(paragraphs)),)
    reply = Reply(PlaceRef("telegram", "1001"), body, (Button("Done", "done:1"),), kind="nudge")
    await world.adapter.deliver(UserRef("telegram", "1001", "Ana"), reply, key="job:9")
    await world.adapter.deliver(UserRef("telegram", "1001", "Ana"), reply, key="job:9")
    calls = world.fake.called("sendMessage")
    assert len(calls) > 1
    texts = [c.params["text"] for c in calls]
    assert all(len(t) <= 4096 for t in texts)
    assert all(t.rstrip().endswith("more.") for t in texts)  # whole paragraphs only
    assert [("reply_markup" in c.params) for c in calls] == [False] * (len(calls) - 1) + [True]
    shown = "\n\n".join(_visible(t) for t in texts)
    assert shown == "\n\n".join(paragraphs)


async def test_user_text_is_escaped_and_comes_back_exactly_as_written(world: World) -> None:
    note = "<i>x</i> & &amp; &lt;script&gt; <script>alert(1)</script>"
    world.fake.send(ANA, f"/followup Maria tomorrow {note}")
    [reply] = await world.fake.wait_for("sendMessage")
    assert "<script>" not in reply.params["text"]
    assert f"Note: {note}" in reply.result["text"]  # what the user sees


def test_rendering_escapes_everything_and_drops_oversized_callback_data() -> None:
    place = PlaceRef("telegram", "1")
    hostile = "<script>alert('&amp;')</script> & &lt;"
    html_text, markup = render(
        Reply(
            place,
            (bold("Score"), plain(hostile), mark(hostile), code("<b>"), plain("Fri 09:00")),
            (Button("Ok", "done:1"), Button("Too long", "x" * 65)),
        )
    )
    assert html_text.startswith("<b>Score</b>&lt;script&gt;")
    assert "<u>&lt;script&gt;" in html_text and "<code>&lt;b&gt;</code>" in html_text
    assert _visible(html_text) == "Score" + hostile + hostile + "<b>" + "Fri 09:00"
    assert markup is not None and [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["Ok"]
    ]


async def _unused(req: Request) -> list[Reply]:
    return []


def test_updates_become_neutral_requests() -> None:
    def update(kind: str, text: str, chat: dict | None = None, **extra: object) -> Update:
        message = {
            "message_id": 5,
            "date": 0,
            "chat": chat or {"id": 1001, "type": "private"},
            "from": ANA,
            "text": text,
            **extra,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return Update.de_json({"update_id": 1, kind: message}, None)

    req = to_request(update("message", "Hi Maria!"), "netcoach_bot")
    assert req is not None and (req.command, req.text, req.place.kind) == ("", "Hi Maria!", "dm")
    assert req.user == UserRef("telegram", "1001", "Ana")
    req = to_request(update("message", "/Review@NetCoach_Bot intro Hi all", GROUP), "netcoach_bot")
    assert req is not None and (req.command, req.text, req.place) == (
        "review",
        "intro Hi all",
        PlaceRef("telegram", str(GROUP["id"]), "group"),
    )
    assert to_request(update("message", "/help@otherbot", GROUP), "netcoach_bot") is None
    assert to_request(update("message", "just chatting", GROUP), "netcoach_bot") is None
    assert to_request(update("edited_message", "/followup Maria tomorrow"), "x") is None
    original = {"message_id": 4, "date": 0, "chat": GROUP, "from": ANA, "text": "Hi all, I'm Ana"}
    review = {"review": Command("review", "", "", "", _unused, params=REVIEW_PARAMS)}
    replied = update("message", "/review intro", GROUP, reply_to_message=original)
    req = to_request(replied, "", review)  # the replied-to message is the draft, natively;
    assert req is not None and dict(req.params) == {"draft": "Hi all, I'm Ana"}
    assert req.text == "intro"  # the typed words are the core's to parse (the context)


async def test_start_up_sets_the_menu_and_shutdown_leaves_no_task(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(f"database: {tmp_path / 't.sqlite3'}\n")
    app = await build(load_config(config_file, env={}))
    before = asyncio.all_tasks()
    fake.fail("getMe", 502, "Bad Gateway")  # a network failure at start-up: retried
    fake.fail("getMe", 502, "Bad Gateway")
    adapter = adapter_for(fake)
    running = asyncio.create_task(adapter.run(app.coach))
    await asyncio.wait_for(adapter.ready.wait(), 5)
    assert [c.status for c in fake.called("getMe", ok=None)] == [502, 502, 200]
    menus = {c.params["scope"]["type"]: c.params["commands"] for c in fake.called("setMyCommands")}
    assert set(menus) == {"all_private_chats", "all_group_chats"}
    private = {c["command"] for c in menus["all_private_chats"]}
    assert {"review", "followup", "snooze", "help", "start"} <= private
    assert set(app.coach.commands) <= private
    world_start = fake.send(ANA, "/start")
    [welcome] = await fake.wait_for("sendMessage")
    assert welcome.params["reply_parameters"]["message_id"] == world_start["message_id"]
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert fake.called("getUpdates")[-1].params.get("timeout") == 0  # confirmed what it read
    await fake.close()  # the server's own connection handlers end here
    assert asyncio.all_tasks() == before
    await app.close()


async def test_a_missing_or_malformed_token_names_the_variable_but_not_the_token(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        from_config(load_config(None, env={}))
    secret = "12345:short-but-secret"
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN") as bad:
        from_config(load_config(None, env={"TELEGRAM_BOT_TOKEN": secret}))
    assert secret not in str(bad.value) and "short" not in str(bad.value)
    wrong = "999:" + "W" * 35  # well-formed, but the server says 401
    adapter = TelegramAdapter(wrong, base_url=fake.base_url)
    with pytest.raises(ConfigError, match="rejected the token in TELEGRAM_BOT_TOKEN") as rejected:
        await adapter.run(None)  # type: ignore[arg-type]
    assert wrong not in str(rejected.value) and rejected.value.__cause__ is None
    assert wrong not in caplog.text


def test_netcoach_run_with_a_bad_token_says_which_variable_and_exits(tmp_path: Path) -> None:
    secret = "4242:not-long-enough-but-secret"
    config = tmp_path / "netcoach.yaml"
    config.write_text(f"database: {tmp_path / 'n.sqlite3'}\ntelegram:\n  enabled: true\n")
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": secret, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "netcoach.bot.cli", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr
    assert "secret" not in done.stderr + done.stdout


async def test_members_find_their_rare_bond_export_their_data_and_forget_it(world: World) -> None:
    fake = world.fake
    for who, place in ((ANA, "Faroe Islands"), (BEN, "the Faroes")):
        fake.send(who, f"/profile set from {place}, Leeds")
        fake.send(who, "/profile visibility community")
        fake.send(who, "/help@netcoach_bot", chat=GROUP)  # both take part in the group
    await fake.wait_for("sendMessage", 6, where=lambda c: c.params["chat_id"] in (1001, 1002))

    hello = fake.send(BEN, "Morning all!", chat=GROUP)
    fake.send(ANA, "/bond@netcoach_bot", chat=GROUP, reply_to=hello)  # a reply: bond with Ben
    calls = await fake.wait_for("sendMessage", 4, where=to(1001))
    bond = calls[-1].params["text"]
    assert "What you share with Ben" in bond and "Faroe Islands" in bond and "Leeds" in bond
    assert not fake.sent_to(GROUP["id"])  # never in public

    fake.send(ANA, "/mydata")
    [document] = await fake.wait_for("sendDocument", where=to(1001))
    exported = json.loads(document.params["document"]["data"])
    assert document.params["document"]["filename"].endswith(".json")
    assert {t["display"] for t in exported["tables"]["profile_tags"]} == {"Faroe Islands", "Leeds"}

    fake.send(ANA, "/forget")
    calls = await fake.wait_for("sendMessage", 6, where=to(1001))
    fake.press(fake.message(calls[-1]), "forget:yes")
    [done] = await fake.wait_for("editMessageText", where=to(1001))
    assert "I deleted all" in done.params["text"]
    assert await world.app.users.find(UserRef("telegram", "1001")) is None


async def test_a_busy_chat_does_not_hold_up_other_chats() -> None:
    """Updates of one chat wait for each other, not for another chat's queue."""
    from telegram import Chat, Message

    from netcoach.adapters.telegram.platform import ChatOrderedProcessor

    def update(uid: int, chat_id: int) -> Update:
        chat = Chat(chat_id, "private")
        return Update(uid, message=Message(uid, T0, chat))

    processor = ChatOrderedProcessor(max_concurrent_updates=2)
    release = asyncio.Event()
    done: list[int] = []

    async def work(n: int, wait: bool) -> None:
        if wait:
            await release.wait()
        done.append(n)

    busy = [
        asyncio.create_task(processor.process_update(update(i, 1), work(i, True))) for i in range(6)
    ]
    other = asyncio.create_task(processor.process_update(update(99, 2), work(99, False)))
    await asyncio.wait_for(other, 2)
    assert done == [99]
    release.set()
    await asyncio.wait_for(asyncio.gather(*busy), 2)
    assert done == [99, 0, 1, 2, 3, 4, 5]  # chat 1 in arrival order


async def test_webhook_mode_takes_posted_updates_once_and_refuses_a_wrong_secret(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Several workers behind a load balancer: each takes the updates posted to it; a post
    without Telegram's secret token is refused; an update Telegram posts again (it retries
    when it got no answer in time) is handled once."""
    import aiohttp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(
        f"database: {tmp_path / 't.sqlite3'}\n"
        "telegram:\n"
        "  enabled: true\n"
        f"  base_url: {fake.base_url}\n"
        f"  webhook: {{url: 'http://127.0.0.1:{port}/tg-hook', listen: 127.0.0.1, port: {port},"
        " secret_token: s3cret}\n"
    )
    config = load_config(config_file, env={"TELEGRAM_BOT_TOKEN": TOKEN})
    app = await build(config)
    adapter = from_config(config)
    app.add_adapter(adapter)
    running = asyncio.create_task(adapter.run(app.coach))
    try:
        async with asyncio.timeout(10):
            while fake.webhook is None:
                await asyncio.sleep(0.01)
        assert fake.webhook["url"] == f"http://127.0.0.1:{port}/tg-hook"
        assert fake.webhook["secret_token"] == "s3cret"
        # PTB may register the webhook a moment before its server listens (Telegram just
        # retries then): wait until the port takes connections.
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.01)
                    continue
                writer.close()
                break
        update = fake.update(ANA, "/help")
        hook = f"http://127.0.0.1:{port}/tg-hook"
        async with aiohttp.ClientSession() as http:
            forged = await http.post(
                hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
            assert forged.status == 403
            for _ in range(2):  # posted, then posted again
                ok = await http.post(
                    hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
                )
                assert ok.status == 200
        await fake.wait_for("sendMessage", where=to(1001))
        await asyncio.sleep(0.5)  # a second answer would have been sent by now
        assert len(fake.called("sendMessage")) == 1
        assert not fake.called("getUpdates")  # no polling in webhook mode
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await app.close()
