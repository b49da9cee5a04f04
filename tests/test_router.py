"""The router: typed text parsed once into params, plain private messages kept whole as
drafts, observed group posts never answered in public, and one path for user errors."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

import pytest

from netcoach.bot.features.drafts.feature import REVIEW_PARAMS, review_grammar
from netcoach.bot.kernel import (
    Coach,
    Command,
    Feature,
    Param,
    PlaceRef,
    Reply,
    Request,
    UserError,
    UserRef,
    code,
)

ANA = UserRef("test", "ana", "Ana")
DM = PlaceRef("test", "ana", "dm")
GROUP = PlaceRef("test", "g", "group")


class Spy(Feature):
    """A review command that records what it was asked, and a group observer."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    def commands(self) -> Sequence[Command]:
        return (
            Command("review", "", "", "", self.record, REVIEW_PARAMS, review_grammar),
            Command("pick", "", "", "", self.record, (Param("a", ""), Param("b", ""))),
            Command("fail", "", "", "", self.fail),
        )

    async def record(self, req: Request) -> list[Reply]:
        self.seen.append(req)
        return [Reply.of(req.place, "ok", private=True)]

    async def fail(self, req: Request) -> list[Reply]:
        raise UserError("Use ", code("/fail properly"), ".")

    async def observe(self, req: Request) -> list[Reply]:
        return [
            Reply.of(req.place, "in public"),  # must never reach the group
            Reply.of(req.place, "a private note", private=True),
            Reply.of(req.place, "👋", kind="reaction"),
        ]


async def test_a_plain_private_message_is_a_draft_kept_whole() -> None:
    spy = Spy()
    coach = Coach([spy])
    for text in (
        "dm me if you ever want to chat",
        "To be honest: I loved your talk on tidal energy",
        "Introduction Ana, meet Tom",
        "intro call next week?",
    ):
        await coach.handle(Request(ANA, DM, "", text))
        assert dict(spy.seen[-1].params) == {"draft": text}, text


async def test_a_command_typed_without_its_slash_is_reviewed_with_a_hint_after() -> None:
    spy = Spy()
    coach = Coach([spy])
    replies = await coach.handle(Request(ANA, DM, "", "pick Maria in 2 weeks"))
    assert replies[0].text == "ok"  # the answer to it as a draft comes first
    hint = replies[-1].text
    assert "type /pick Maria in 2 weeks" in hint
    assert dict(spy.seen[-1].params) == {"draft": "pick Maria in 2 weeks"}  # nothing lost
    replies = await coach.handle(Request(ANA, DM, "", "Pick me for the panel, I'd love to help"))
    assert len(replies) == 1 and "slash" not in replies[0].text


async def test_typed_words_are_parsed_once_and_native_params_win() -> None:
    spy = Spy()
    coach = Coach([spy])
    await coach.handle(Request(ANA, DM, "review", "intro to Maria: Hi Maria, how was it?"))
    params = dict(spy.seen[-1].params)
    assert params == {"context": "intro", "recipient": "Maria", "draft": "Hi Maria, how was it?"}
    assert spy.seen[-1].text == ""  # handlers read params only
    await coach.handle(Request(ANA, DM, "review", "intro", {"draft": "Hi all, I'm Ana"}))
    assert dict(spy.seen[-1].params) == {"context": "intro", "draft": "Hi all, I'm Ana"}
    await coach.handle(Request(ANA, DM, "pick", "one two three"))
    assert dict(spy.seen[-1].params) == {"a": "one", "b": "two three"}


async def test_an_observed_group_post_is_answered_only_privately_or_with_a_reaction() -> None:
    replies = await Coach([Spy()]).handle(Request(ANA, GROUP, "", "hello all"))
    assert [(r.text, r.dm_only, r.kind) for r in replies] == [
        ("a private note", True, "message"),
        ("👋", False, "reaction"),
    ]


async def test_a_user_error_is_one_private_reply() -> None:
    [reply] = await Coach([Spy()]).handle(Request(ANA, GROUP, "fail"))
    assert reply.private and reply.text == "Use /fail properly."


class Broken(Feature):
    """Every hook fails the way a locked, full or read-only database makes it fail."""

    def commands(self) -> Sequence[Command]:
        return (Command("save", "", "", "", self.fail),)

    async def fail(self, req: Request) -> list[Reply]:
        raise sqlite3.OperationalError("database is locked")

    async def observe(self, req: Request) -> list[Reply]:
        raise sqlite3.OperationalError("database is locked")

    async def notices(self, req: Request) -> list[Reply]:
        raise sqlite3.OperationalError("attempt to write a readonly database")


async def test_a_post_not_addressed_to_the_bot_is_never_answered_even_when_storage_fails() -> None:
    coach = Coach([Broken()], default_command="save")
    assert await coach.handle(Request(ANA, GROUP, "", "morning all")) == []
    # Addressed to the bot: a command (in a group or a DM) and a DM draft get the apology.
    for req in (Request(ANA, GROUP, "save"), Request(ANA, DM, "save"), Request(ANA, DM, "", "hi")):
        [reply] = await coach.handle(req)
        assert reply.private and reply.text.startswith("Sorry, something went wrong"), req


async def test_failing_observed_posts_are_logged_once_per_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    coach = Coach([Broken()], default_command="save", monotonic=lambda: now[0])
    with caplog.at_level(logging.DEBUG, logger="netcoach.bot.kernel.router"):
        for _ in range(5):
            assert await coach.handle(Request(ANA, GROUP, "", "morning all")) == []
        [first] = caplog.records
        assert "database is locked" in first.getMessage() and "morning" not in caplog.text
        now[0] += 61
        assert await coach.handle(Request(ANA, GROUP, "", "morning again")) == []
    assert len(caplog.records) == 2
    assert "5 more" in caplog.records[1].getMessage()  # 4 silenced + this one
