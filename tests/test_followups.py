"""Follow-ups as a user sees them: commands, the nudge, its buttons, and cadences."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from followup_fakes import FakeClock, RecordingSender, settled
from stack import Stack

from netcoach.bot.features.followups import Settings, pick_opener
from netcoach.bot.kernel import Coach, PlaceRef, Reply, Request, UserRef
from netcoach.bot.review import PlaybookSet
from netcoach.bot.scheduling import HandOver
from netcoach.bot.timeparse import format_local

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday
ANA = UserRef("console", "ana", "Ana")
BEN = UserRef("console", "ben", "Ben")


class Bot:
    """The core wired as the app wires it, with a hand-moved clock and a recording sender."""

    def __init__(self, stack: Stack, clock: FakeClock, playbooks: PlaybookSet):
        self.stack = stack
        self.clock = clock
        self.sender = RecordingSender(clock)
        self.followups = stack.followups(clock, playbooks, Settings("Europe/London", time(9, 0)))
        self.scheduler = stack.scheduler(
            clock, self.sender, [self.followups.due], call_later=clock.call_later
        )
        self.scheduler.max_sleep = 10**9
        self.coach = Coach(
            [stack.drafts(clock, playbooks), self.followups, HandOver(self.scheduler)]
        )
        self.task: asyncio.Task[None] | None = None

    async def say(self, line: str, user: UserRef = ANA, **args: str) -> list[Reply]:
        place = PlaceRef(user.platform, user.id, "dm")
        if line.startswith("/"):
            command, _, text = line[1:].partition(" ")
            req = Request(user, place, command, text, args)
        else:
            req = Request(user, place, "", line, args)
        replies = await self.coach.handle(req)
        await settled(self.scheduler)
        return replies

    async def text(self, line: str, user: UserRef = ANA, **args: str) -> str:
        replies = await self.say(line, user, **args)
        assert replies and all(r.private for r in replies)  # personal data: always private
        return "\n".join(r.text for r in replies)

    async def press(self, action: str, user: UserRef = ANA) -> str:
        req = Request(user, PlaceRef(user.platform, user.id, "dm"), "press", action)
        replies = await self.coach.handle(req)
        await settled(self.scheduler)
        return "\n".join(r.text for r in replies)

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await settled(self.scheduler)

    async def until(self, when: datetime) -> None:
        await self.advance(when - self.clock.now())


@pytest.fixture
async def bot(tmp_path: Path, playbooks: PlaybookSet) -> AsyncIterator[Bot]:
    stack = await Stack.open(tmp_path / "fu.sqlite3")
    b = Bot(stack, FakeClock(T0), playbooks)
    b.task = asyncio.create_task(b.scheduler.run())
    await settled(b.scheduler)
    yield b
    b.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b.task
    await stack.close()


async def test_followup_says_what_it_understood_with_local_time_and_id(bot: Bot) -> None:
    out = await bot.text("/followup Maria in 3 days send her the testing notes")
    due = datetime(2026, 11, 29, 9, 0, tzinfo=LONDON)
    assert "Maria" in out
    assert format_local(due, LONDON) in out  # Sun 29 Nov 2026, 09:00 (Europe/London)
    assert "“in 3 days”" in out
    assert "send her the testing notes" in out
    assert "#1" in out
    [f] = await bot.stack.contacts.of_user(1)
    assert (f.contact_name, f.note, f.due_at) == ("Maria", "send her the testing notes", due)


async def test_typed_slash_options_are_used_as_given(bot: Bot) -> None:
    out = await bot.text("/followup", who="Maria Lopez", when="tomorrow 2pm", note="")
    assert "Maria Lopez" in out and "Fri 27 Nov 2026, 14:00 (Europe/London)" in out


@pytest.mark.parametrize(
    "line",
    [
        "/followup Maria sometime maybe",
        "/followup Maria yesterday",
        "/followup Maria 2020-01-01 send notes",
        "/followup",
        "/followup in 3 days",
    ],
)
async def test_unreadable_or_past_times_store_nothing(bot: Bot, line: str) -> None:
    out = await bot.text(line)
    assert "e.g." in out  # a message with examples, not a guess
    user = await bot.stack.users.ensure(ANA)
    assert await bot.stack.contacts.of_user(user.id) == []


async def test_huge_notes_and_names_are_refused_whole(bot: Bot) -> None:
    out = await bot.text("/followup Maria tomorrow " + "x" * 501)
    assert "at most 500" in out and "Nothing was saved" in out
    out = await bot.text("/followup", who="", when="tomorrow")
    assert "say who" in out
    user = await bot.stack.users.ensure(ANA)
    assert await bot.stack.contacts.of_user(user.id) == []


async def test_a_note_of_invisible_characters_is_no_note(bot: Bot) -> None:
    out = await bot.text("/followup Maria tomorrow \u200b\u200d\u2060")
    assert "#1" in out and "Note:" not in out
    listed = await bot.text("/followups")
    assert "Maria" in listed and "\u200b" not in listed
    out = await bot.text("/contact", who="Maria", note="\u200b", bond="\u200b\u200b")
    assert "Saved notes" not in out and "shared bond" not in out.split("Maria")[0]
    out = await bot.text("/contacted Maria \u200bhad\u200b coffee")
    assert "Logged" in out


async def test_odd_unicode_names_work(bot: Bot) -> None:
    out = await bot.text("/followup Zoë 李 tomorrow 🍰 bring cake\u0007")
    assert "Zoë 李" in out
    assert "#1" in out


async def test_someone_elses_follow_up_cannot_be_seen_or_changed(bot: Bot) -> None:
    await bot.text("/followup Maria tomorrow")
    for line in ("/done 1", "/snooze 1 2 days", "/cancel 1"):
        assert "no open follow-up #1" in await bot.text(line, BEN)
    for action in ("done:1", "snz:1:1d", "draft:1"):
        assert "isn't yours" in await bot.press(action, BEN)
    assert "No open follow-ups" in await bot.text("/followups", BEN)
    ana = await bot.stack.users.ensure(ANA)
    [f] = await bot.stack.contacts.of_user(ana.id)
    assert f.status == "active" and f.due_at == datetime(2026, 11, 27, 9, tzinfo=LONDON)


async def test_unknown_and_malformed_ids_get_a_clear_message(bot: Bot) -> None:
    assert "no open follow-up #999" in await bot.text("/done 999")
    assert "a number" in await bot.text("/cancel maria")
    assert "no longer works" in await bot.press("nope:1")


async def test_followups_lists_overdue_then_losing_touch_then_upcoming(bot: Bot) -> None:
    await bot.text("/followup Late in 1 hour")
    await bot.text("/followup Far dec 20")
    await bot.text("/followup Soon in 2 days")
    await bot.text("/keepintouch Tom every 1 week")
    await bot.advance(timedelta(days=8))
    out = await bot.text("/followups")
    order = [out.index(word) for word in ("Overdue", "Late", "Losing touch", "Tom", "Upcoming")]
    assert order == sorted(order)
    assert out.index("Soon") < out.index("Far") or "Soon" in out[: out.index("Upcoming")]
    assert "#2 Far — Sun 20 Dec 2026, 09:00 (Europe/London)" in out


async def test_timezone_is_validated_with_a_hint(bot: Bot) -> None:
    out = await bot.text("/timezone Europe/Londn")
    assert "Did you mean Europe/London" in out and "Nothing was changed" in out
    assert "America/New_York" in await bot.text("/timezone america/new_york")
    out = await bot.text("/followup Maria tomorrow")
    assert "(America/New_York)" in out and "09:00" in out


async def test_the_nudge_arrives_on_time_with_opener_and_buttons(bot: Bot) -> None:
    await bot.text("/followup Maria in 3 days send her the testing notes")
    await bot.text("/contacted Maria coffee at the meetup")
    await bot.until(datetime(2026, 11, 29, 9, 0, tzinfo=LONDON) - timedelta(seconds=1))
    assert bot.sender.sent == []
    await bot.advance(timedelta(seconds=1))
    [sent] = bot.sender.sent
    reply = sent.reply
    assert sent.user == ANA and reply.kind == "nudge" and reply.private
    assert "Maria" in reply.text and "send her the testing notes" in reply.text
    assert "Last contact: 3 days ago" in reply.text
    assert "A way to open: Hi Maria" in reply.text
    assert "{" not in reply.text
    assert [b.label for b in reply.buttons] == ["Done", "Snooze 1 day", "Snooze 1 week", "Draft"]
    assert all(len(b.action.encode()) < 64 for b in reply.buttons)


async def test_done_closes_and_snooze_brings_it_back_a_day_later(bot: Bot) -> None:
    await bot.text("/followup Maria in 1 hour")
    await bot.text("/followup Tom in 1 hour")
    await bot.advance(timedelta(hours=1))
    assert len(bot.sender.sent) == 2
    assert "done" in await bot.press("done:1")
    assert "Snoozed" in await bot.press("snz:2:1d")
    await bot.advance(timedelta(days=1))
    assert [s.reply.text.split("\n")[0] for s in bot.sender.sent[2:]] == [
        "Time to follow up with Tom"
    ]
    assert "already closed" in await bot.press("done:1")  # pressing an old button twice


async def test_snooze_accepts_fractional_hours_and_never_brings_a_reminder_forward(
    bot: Bot,
) -> None:
    await bot.text("/followup Maria in 1 hour")
    out = await bot.text("/snooze 1 2.5 hours")  # not due yet: pushed back from its due time
    assert "13:30" in out  # due at 11:00, plus 2.5 hours
    await bot.advance(timedelta(hours=3, minutes=29))
    assert bot.sender.sent == []
    await bot.advance(timedelta(minutes=1))
    assert len(bot.sender.sent) == 1
    out = await bot.text("/snooze 1 2.5 hours")  # due now: from now
    assert "in 2 hours 30 minutes" in out


async def test_draft_button_reviews_the_next_message_as_a_follow_up(bot: Bot) -> None:
    await bot.text("/followup Maria in 1 hour")
    await bot.advance(timedelta(hours=1))
    assert "next message" in await bot.press("draft:1")
    out = await bot.text("Hi Maria, here are the testing notes I promised. How did the launch go?")
    assert "(as a follow-up)" in out
    out = await bot.text("Hi Maria, here are the testing notes I promised.")
    assert "(as a first message)" in out  # only the one message after Draft


async def test_keepintouch_reads_biweekly_as_every_two_weeks(bot: Bot) -> None:
    out = await bot.text("/keepintouch Kim biweekly")
    assert "every 2 weeks" in out and "Thu 10 Dec 2026, 09:00 (Europe/London)" in out


async def test_keepintouch_nudges_on_cadence_and_a_contact_restarts_it(bot: Bot) -> None:
    out = await bot.text("/keepintouch Tom every 2 weeks")
    assert "Thu 10 Dec 2026, 09:00 (Europe/London)" in out
    await bot.until(datetime(2026, 12, 4, 12, tzinfo=LONDON))
    out = await bot.text("/contacted Tom lunch, he's hiring")
    assert "next nudge Fri 18 Dec 2026, 09:00" in out
    await bot.until(datetime(2026, 12, 10, 9, tzinfo=LONDON))
    assert bot.sender.sent == []  # the old cadence date passed quietly
    await bot.until(datetime(2026, 12, 18, 9, tzinfo=LONDON))
    assert len(bot.sender.sent) == 1 and "every 2 weeks" in bot.sender.sent[0].reply.text
    await bot.until(datetime(2027, 1, 1, 9, tzinfo=LONDON))  # not in touch: nudged again
    assert len(bot.sender.sent) == 2


async def test_a_monthly_cadence_keeps_month_ends_without_drift(
    tmp_path: Path, playbooks: PlaybookSet
) -> None:
    stack = await Stack.open(tmp_path / "m.sqlite3")
    b = Bot(stack, FakeClock(datetime(2027, 1, 31, 8, tzinfo=UTC)), playbooks)
    task = asyncio.create_task(b.scheduler.run())
    await settled(b.scheduler)
    await b.text("/keepintouch Tom monthly")
    for month, day in ((2, 28), (3, 31), (4, 30)):
        await b.until(datetime(2027, month, day, 9, tzinfo=LONDON))
    assert [s.at.astimezone(LONDON).date().isoformat() for s in b.sender.sent] == [
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
    ]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await stack.close()


async def test_contact_shows_notes_bonds_and_history(bot: Bot) -> None:
    await bot.text("/followup Maria Lopez tomorrow send notes")
    assert "shared bond" in await bot.text("/contact maria lopez bond trail running")
    await bot.text("/contact Maria Lopez note met at PyCon")
    await bot.text("/contacted Maria Lopez coffee")
    out = await bot.text("/contact Maria Lopez")
    assert "met at PyCon" in out and "trail running" in out
    assert "#1" in out and "coffee" in out
    assert "Maria Lopez" in await bot.text("/contacts")
    assert "don't know anyone" in await bot.text("/contact Nobody")


async def test_a_renamed_follow_up_keeps_what_was_logged_and_drops_empty_contacts(
    bot: Bot,
) -> None:
    """The same person under a fuller name keeps their history; a contact nothing refers
    to any more leaves the contact book (on every store: the SQL is the store's)."""
    await bot.text("/followup Eve tomorrow")
    await bot.text("/contacted Eve coffee")
    await bot.text("/followup Dee tomorrow")
    assert "What you logged for Eve is now under Eve Smith" in await bot.text(
        "/edit 1 who Eve Smith"
    )
    await bot.text("/edit 2 who Zed")
    user = await bot.stack.users.ensure(ANA)
    contacts = await bot.stack.contacts.contacts(user.id)
    assert [(c.name, c.last_contacted is not None) for c in contacts] == [
        ("Eve Smith", True),
        ("Zed", False),
    ]


async def test_two_names_of_one_person_become_one_contact_with_everything_logged(
    bot: Bot,
) -> None:
    """Moving Eve's last open reminder to the Eve Smith already known merges the two, in
    one transaction on every store; another spelling of a known name is that contact."""
    await bot.text("/followup Eve tomorrow")
    await bot.text("/followup Eve friday 10am")
    await bot.text("/cancel 2")
    await bot.text("/contacted Eve coffee")
    await bot.text("/contact Eve bond we both row")
    await bot.text("/contact Eve note met at PyCon")
    await bot.text("/followup Eve-Smith saturday")
    await bot.text("/contact Éve Smith bond we both row")
    assert "Logged: in touch with Eve-Smith today." in await bot.text("/contacted EVE SMITH")
    out = await bot.text("/edit 1 who Eve Smith")
    assert out.endswith("What you logged for Eve is now under Eve-Smith.")
    user = await bot.stack.users.ensure(ANA)
    [contact] = await bot.stack.contacts.contacts(user.id)
    assert (contact.name, contact.notes, contact.bonds) == (
        "Eve-Smith",
        "met at PyCon",
        ("we both row",),
    )
    assert contact.last_contacted == T0
    history = await bot.stack.contacts.of_user(user.id, contact_id=contact.id, active_only=False)
    assert [(f.id, f.status) for f in history] == [(1, "active"), (2, "cancelled"), (3, "active")]
    logged = await bot.stack.contacts.interactions(user.id, contact.id)
    assert sorted(i.note for i in logged) == ["", "coffee"]


def test_openers_use_bonds_and_notes_only_when_stored(playbooks: PlaybookSet) -> None:
    seen = {pick_opener(playbooks, 3, k, "Maria") for k in range(20)}
    assert len(seen) > 1  # varies between nudges
    assert all("{" not in o and "Maria" in o for o in seen)
    with_bond = {pick_opener(playbooks, 3, k, "Maria", ("trail running",)) for k in range(20)}
    assert any("trail running" in o for o in with_bond)
    assert pick_opener(playbooks, 3, 1, "Maria") == pick_opener(playbooks, 3, 1, "Maria")


@pytest.mark.parametrize(
    ("saved", "greeted"),
    [
        ("Maria Lopez", "Hi Maria"),
        ("Dr. Jean-Luc O'Neil", "Hi Dr. O'Neil"),
        ("J. R. Okafor", "Hi J. R. Okafor"),
        ("the Lisbon runners", "Hi the Lisbon runners"),
    ],
)
def test_openers_greet_a_contact_as_a_person_would(playbooks, saved, greeted) -> None:
    openers = {pick_opener(playbooks, 3, k, saved) for k in range(10)}
    assert all(o.startswith((greeted + ",", greeted + "!")) for o in openers), openers


async def test_a_contact_can_get_a_note_and_a_bond_in_one_command(bot: Bot) -> None:
    out = await bot.text("/contact", who="Maria", note="met at PyCon", bond="we both row")
    assert "Saved notes for Maria" in out and "Noted a shared bond with Maria" in out
    shown = await bot.text("/contact Maria")
    assert "met at PyCon" in shown and "we both row" in shown
