"""Follow-ups as people use them day to day (issue 14), through the real console adapter:
edits, duplicates, short names, usage hints that fit, times people say."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_chat import ConsoleChat
from followup_fakes import FakeClock

from netcoach.adapters.console import YOU
from netcoach.bot.app import App, build, load_config

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday; Lisbon is on UTC in winter


class Chat(ConsoleChat):
    def __init__(self, app: App, clock: FakeClock):
        super().__init__(app)
        self.clock = clock

    async def followups(self) -> list[tuple[str, str, datetime]]:
        user = await self.app.users.find(YOU)
        if user is None:  # a line refused before any command ran: nothing saved
            return []
        repo = self.app.features.followups.repo
        return [(f.contact_name, f.note, f.due_at) for f in await repo.of_user(user.id)]


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(f"database: {tmp_path / 'c.sqlite3'}\ntimezone: Europe/Lisbon\n")
    clock = FakeClock(T0)
    app = await build(load_config(config_file, env={}), clock=clock)
    yield Chat(app, clock)
    await app.close()


async def test_a_followups_person_note_and_time_can_be_edited(chat: Chat) -> None:
    await chat.say("/followup Maria friday 10am send her the notes")
    said = await chat.say("/edit 1 note bring the slides")
    assert said == "The note of #1 is now bring the slides."
    said = await chat.say("/edit 1 who Maria Lopez")
    assert said.startswith("#1 is now about Maria Lopez (was Maria)")
    said = await chat.say("/edit 1 when saturday")
    assert said.startswith("Moved — I'll remind you about Maria Lopez on Sat 28 Nov 2026, 09:00")
    assert await chat.followups() == [
        ("Maria Lopez", "bring the slides", datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    ]
    assert (await chat.say("/edit 1 note")) == "Removed the note of #1."
    assert "Change who, the note or when" in await chat.say("/edit 1 colour red")
    assert "Which one? Give its id (a number), e.g. /edit 12 note" in await chat.say("/edit")


async def test_a_second_follow_up_with_the_same_person_at_the_same_time_is_flagged(
    chat: Chat,
) -> None:
    await chat.say("/followup Maria friday 10am send her the notes")
    said = await chat.say("/followup maria Friday 10:00")
    assert said.startswith("You already have #1 to follow up with Maria at that same time")
    assert "Nothing new was saved; /edit 1 note … changes its note." in said
    assert len(await chat.followups()) == 1
    await chat.say("/followup Maria friday 11am")  # another time is another follow-up
    assert len(await chat.followups()) == 2


async def test_a_contact_can_be_named_short(chat: Chat) -> None:
    await chat.say("/followup Dr. Jean-Luc O'Neil tomorrow")
    said = await chat.say("/contacted Jean-Luc had coffee")
    assert said == "Logged: in touch with Dr. Jean-Luc O'Neil today."
    said = await chat.say("/contact jean luc")
    assert said.startswith("Dr. Jean-Luc O'Neil") and "had coffee" in said
    await chat.say("/contact jean-luc bond we both row at Leeds")
    said = await chat.say("/bond Jean-Luc")
    assert "share with Dr. Jean-Luc O'Neil" in said and "row at Leeds" in said
    await chat.say("/followup Jean Grey tomorrow")
    said = await chat.say("/contacted Jean")
    assert "“Jean” could be Dr. Jean-Luc O'Neil or Jean Grey" in said
    user = await chat.app.users.find(YOU)
    assert user is not None
    contacts = await chat.app.features.followups.repo.contacts(user.id)
    assert sorted(c.name for c in contacts) == ["Dr. Jean-Luc O'Neil", "Jean Grey"]


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("/cancel", "e.g. /cancel 12."),
        ("/snooze", "e.g. /snooze 12 2 days."),
        ("/done", "e.g. /done 12."),
        ("/contacted", "Who were you in touch with? e.g. /contacted Tom had coffee."),
    ],
)
async def test_usage_hints_fit_the_command(chat: Chat, line: str, hint: str) -> None:
    said = await chat.say(line)
    assert hint in said
    assert "/followup " not in said and "/done 12" not in said.replace(f"{line} 12", "")


async def test_times_people_say_in_the_chat(chat: Chat) -> None:
    said = await chat.say("/followup X a week from friday")
    assert "follow up with X “a week from friday”: Fri 4 Dec 2026, 09:00" in said
    said = await chat.say("/followup Zoe in half an hour")
    assert "Thu 26 Nov 2026, 10:30" in said
    said = await chat.say("/followup Zoe in 3 business days")
    assert "Tue 1 Dec 2026, 09:00" in said
    said = await chat.say("/followup Y last week")
    assert '"last week" is in the past' in said and "Nothing was saved" in said
    said = await chat.say("/followup Tom in a bit friday")
    assert "can't tell who from when" in said and "Nothing was guessed" in said
    said = await chat.say("/keepintouch Ann every monday")
    assert "keep in touch with Ann every Monday. First nudge: Mon 30 Nov 2026, 09:00" in said
    said = await chat.say("/timezone EST")
    assert "did you mean America/New_York?" in said and "Nothing was changed" in said


async def test_tonight_late_in_the_evening_is_soon(chat: Chat) -> None:
    chat.clock.set(datetime(2026, 11, 26, 22, 30, tzinfo=UTC))
    said = await chat.say("/followup Maria tonight")
    assert "Thu 26 Nov 2026, 23:00" in said


async def test_a_short_reply_after_draft_leaves_draft_waiting(chat: Chat) -> None:
    from netcoach.adapters.console.inbound import press_request
    from netcoach.bot.kernel import Button

    await chat.say("/followup Maria tomorrow")
    for reply in await chat.app.coach.handle(press_request(Button("Draft", "draft:1"))):
        chat.console.show(reply)
    assert "Send me your message to Maria" in chat.out.getvalue()
    assert "Send me a draft whenever you're ready" in await chat.say("ok")
    said = await chat.say("Hi Maria, here's the article I mentioned — hope it helps!")
    assert "(as a follow-up)" in said


async def contact_names(chat: Chat) -> list[str]:
    """The names /contacts lists, in its order."""
    said = await chat.say("/contacts")
    return [line[2:].split(" — ")[0] for line in said.splitlines() if line.startswith("• ")]


async def test_a_renamed_reminder_leaves_no_empty_contact_behind(chat: Chat) -> None:
    await chat.say("/followup Eve friday")
    await chat.say("/followup Dee friday")
    said = await chat.say("/edit 1 who Eve Smith")
    assert said == "#1 is now about Eve Smith (was Eve), Fri 27 Nov 2026, 09:00 (Europe/Lisbon)."
    said = await chat.say("/edit 2 who Zed")  # someone else: Dee had nothing but this reminder
    assert said == "#2 is now about Zed (was Dee), Fri 27 Nov 2026, 09:00 (Europe/Lisbon)."
    assert await contact_names(chat) == ["Eve Smith", "Zed"]


async def test_a_fuller_name_for_the_same_person_takes_over_the_history_logged_for_them(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve friday")
    await chat.say("/contacted Eve coffee at the meetup")
    await chat.say("/contact Eve bond we both row at Leeds")
    said = await chat.say("/edit 1 who Eve Smith")
    assert said.endswith("What you logged for Eve is now under Eve Smith.")
    said = await chat.say("/contacts")
    assert "Eve Smith — last contact less than a minute ago" in said
    assert await contact_names(chat) == ["Eve Smith"]
    said = await chat.say("/contact Eve Smith")
    assert "coffee at the meetup" in said and "row at Leeds" in said and "#1" in said


async def test_renaming_to_someone_else_keeps_the_old_contact_listed_with_its_history(
    chat: Chat,
) -> None:
    await chat.say("/followup Bo friday")
    await chat.say("/contacted Bo lunch")
    said = await chat.say("/edit 1 who Carl")  # not a form of Bo's name: never merged
    assert said.endswith("Bo stays in /contacts with what you logged for them.")
    assert await contact_names(chat) == ["Bo", "Carl"]
    assert "lunch" in await chat.say("/contact Bo")
    assert "lunch" not in await chat.say("/contact Carl")


async def test_renaming_one_of_two_reminders_for_someone_leaves_them_and_their_history(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve friday")
    await chat.say("/keepintouch Eve every month")
    await chat.say("/contacted Eve coffee")
    said = await chat.say("/edit 1 who Eve Smith")  # #2 still names Eve: maybe two Eves
    assert said == "#1 is now about Eve Smith (was Eve), Fri 27 Nov 2026, 09:00 (Europe/Lisbon)."
    assert await contact_names(chat) == ["Eve", "Eve Smith"]
    assert "coffee" in await chat.say("/contact Eve")
    assert [who for who, _, _ in await chat.followups()] == ["Eve Smith", "Eve"]


async def test_contacted_with_someone_new_logs_them_and_says_they_are_a_new_contact(
    chat: Chat,
) -> None:
    said = await chat.say("/contacted Nobody met at the meetup")
    assert said == (
        "Logged: in touch with Nobody today. New contact: /followup Nobody in 2 weeks or "
        "/keepintouch Nobody every month sets a reminder."
    )
    assert "Nobody — last contact less than a minute ago" in await chat.say("/contacts")
    assert await chat.say("/contacted Nobody again") == "Logged: in touch with Nobody today."
    await chat.say("/followup Maria friday")
    assert await chat.say("/contacted maria") == "Logged: in touch with Maria today."


@pytest.mark.parametrize(
    ("line", "who", "cadence"),
    [
        ("/keepintouch every month Pat", "Pat", "every month"),
        ("/keepintouch Pat every month", "Pat", "every month"),
        ("/keepintouch monthly, Pat Smith", "Pat Smith", "every month"),
        ("/keepintouch once a month Kim", "Kim", "every month"),
        ("/keepintouch every other friday Jo Lee", "Jo Lee", "every other Friday"),
        ("/keepintouch every 2 weeks May", "May", "every 2 weeks"),
    ],
)
async def test_keepintouch_reads_the_cadence_before_or_after_the_name(
    chat: Chat, line: str, who: str, cadence: str
) -> None:
    said = await chat.say(line)
    assert said.startswith(f"Got it. I'll nudge you to keep in touch with {who} {cadence}.")
    assert [name for name, _, _ in await chat.followups()] == [who]


@pytest.mark.parametrize(
    "line", ["/keepintouch every month", "/keepintouch every month every month"]
)
async def test_keepintouch_with_a_cadence_and_no_name_saves_nothing(chat: Chat, line: str) -> None:
    said = await chat.say(line)
    assert said.startswith("Tell me who and how often") and "Nothing was saved" in said
    assert await chat.followups() == []


@pytest.mark.parametrize(
    ("line", "who", "when"),
    [
        ("/followup in 2 weeks Maria", "Maria", "in 2 weeks"),
        ("/followup next friday Maria", "Maria", "next friday"),
        ("/followup on friday Maria Lopez", "Maria Lopez", "on friday"),
        ("/followup at 5pm tomorrow Maria", "Maria", "at 5pm tomorrow"),
        ("/followup a week from friday Maria", "Maria", "a week from friday"),
        ("/followup tomorrow Sunday", "Sunday", "tomorrow"),
        ("/followup next friday Sunday", "Sunday", "next friday"),
        ("/followup this weekend Monday Smith", "Monday Smith", "this weekend"),
        ("/followup tomorrow Maria.", "Maria", "tomorrow"),
    ],
)
async def test_a_followup_that_starts_with_the_time_is_shown_back_with_who_first(
    chat: Chat, line: str, who: str, when: str
) -> None:
    """Not guessed: after the time could come a note ("tomorrow call Maria"), so nothing is
    saved, but the reply gives the line to send; "next" or "on" is never taken for a name."""
    said = await chat.say(line)
    assert said == (
        f"Please start with who to follow up with, then when: /followup {who} {when}. "
        "Nothing was saved."
    )
    assert await chat.followups() == []
    assert f"follow up with {who} “{when}”" in await chat.say(f"/followup {who} {when}")


async def test_a_followup_that_starts_with_the_time_and_a_note_gets_no_guess(chat: Chat) -> None:
    said = await chat.say("/followup tomorrow call Maria")
    assert said.startswith("Please start with who to follow up with, then when. Write who")
    assert await chat.followups() == []


@pytest.mark.parametrize("line", ["/followup tomorrow friday", "/followup friday Sunday call her"])
async def test_a_time_is_never_saved_as_the_person_to_follow_up_with(chat: Chat, line: str) -> None:
    said = await chat.say(line)
    assert said.startswith("Please start with who to follow up with, then when.")
    assert await chat.followups() == []
    assert await contact_names(chat) == []


async def test_a_new_person_of_several_words_is_logged_under_their_whole_name(chat: Chat) -> None:
    await chat.say("/followup Maria Lopez friday")
    said = await chat.say("/contacted Maria Garcia lunch")  # not the Maria already known
    assert said.startswith("Logged: in touch with Maria Garcia today. New contact:")
    said = await chat.say('/contacted "Ana de la Cruz" Lunch at the harbour')
    assert said.startswith("Logged: in touch with Ana de la Cruz today. New contact:")
    assert await contact_names(chat) == ["Ana de la Cruz", "Maria Garcia", "Maria Lopez"]
    assert "lunch" in await chat.say("/contact Maria Garcia")
    assert "lunch" not in await chat.say("/contact Maria Lopez")


async def test_contacted_still_finds_a_known_person_by_part_of_their_name(chat: Chat) -> None:
    await chat.say("/followup Dr. Jean-Luc O'Neil friday")
    await chat.say("/followup Tom friday")
    assert await chat.say("/contacted Jean-Luc had tea") == (
        "Logged: in touch with Dr. Jean-Luc O'Neil today."
    )
    assert await chat.say("/contacted Tom I told him about the job") == (
        "Logged: in touch with Tom today."
    )


async def test_contacted_reads_the_contacts_names_once_however_long_the_note(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each reading of the leading words (six words, then five…) is matched in memory: a
    user with many contacts costs one read of their names, not one per reading."""
    for name in ("Dr. Jean-Luc O'Neil", "Tom", "Maria Lopez", "Eve Smith"):
        await chat.say(f"/followup {name} friday")
    db = chat.app.features.followups.repo.db
    reads: list[str] = []
    real_all = db.all

    async def counted(sql: str, *args: object) -> object:
        reads.append(sql)
        return await real_all(sql, *args)

    monkeypatch.setattr(db, "all", counted)
    names_read = []
    for note in ("tea", "we talked about the new grant at length"):
        reads.clear()
        said = await chat.say(f"/contacted Jean-Luc {note}")
        assert said == "Logged: in touch with Dr. Jean-Luc O'Neil today."
        names_read.append(sum("FROM contacts WHERE user_id" in sql for sql in reads))
    assert names_read[0] == names_read[1] <= 2  # the line is read, then the command runs


async def test_someone_new_who_shares_a_first_name_with_two_contacts_can_be_logged(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve Smith friday")
    await chat.say("/followup Eve Jones friday")
    said = await chat.say("/contacted Eve Brown coffee")
    assert said.startswith("Logged: in touch with Eve Brown today. New contact:")
    said = await chat.say("/contacted Eve coffee")
    assert said.startswith("“Eve” could be Eve Brown, Eve Jones or Eve Smith.")


async def test_renaming_to_a_relative_of_someone_keeps_their_history_with_them(
    chat: Chat,
) -> None:
    await chat.say("/followup Tom friday")
    await chat.say("/contacted Tom coffee")
    said = await chat.say("/edit 1 who Tom's wife")  # another person, not Tom's full name
    assert said.endswith("Tom stays in /contacts with what you logged for them.")
    assert await contact_names(chat) == ["Tom", "Tom's wife"]
    assert "coffee" in await chat.say("/contact Tom")


async def test_edit_who_finds_a_contact_named_short_as_contacted_does(chat: Chat) -> None:
    await chat.say("/followup Dr. Jean-Luc O'Neil friday")
    await chat.say("/followup Ana saturday")
    said = await chat.say("/edit 2 who Jean-Luc")
    assert said == (
        "#2 is now about Dr. Jean-Luc O'Neil (was Ana), Sat 28 Nov 2026, 09:00 (Europe/Lisbon)."
    )
    assert await contact_names(chat) == ["Dr. Jean-Luc O'Neil"]


async def test_edit_who_with_a_short_name_that_fits_several_says_which_and_changes_nothing(
    chat: Chat,
) -> None:
    await chat.say("/followup Dr. Jean-Luc O'Neil friday")
    await chat.say("/followup Jean Grey friday")
    await chat.say("/followup Bo saturday")
    said = await chat.say("/edit 3 who Jean")
    assert said == (
        "“Jean” could be Dr. Jean-Luc O'Neil or Jean Grey. Say which with more of the name. "
        "Nothing was changed."
    )
    assert [who for who, _, _ in await chat.followups()] == [
        "Dr. Jean-Luc O'Neil",
        "Jean Grey",
        "Bo",
    ]
    assert await contact_names(chat) == ["Bo", "Dr. Jean-Luc O'Neil", "Jean Grey"]


async def test_edit_who_with_a_shorter_form_of_its_own_name_still_renames_them(
    chat: Chat,
) -> None:
    await chat.say("/followup Maria Lopez friday")
    said = await chat.say("/edit 1 who Maria")  # part of its own name: a correction, not a match
    assert (
        said == "#1 is now about Maria (was Maria Lopez), Fri 27 Nov 2026, 09:00 (Europe/Lisbon)."
    )
    assert await contact_names(chat) == ["Maria"]


@pytest.mark.parametrize("spelling", ["Eve-Smith", "Éve Smith", "EVE SMITH.", "eve  smith"])
async def test_edit_who_with_another_spelling_of_a_known_name_is_that_contact(
    chat: Chat, spelling: str
) -> None:
    await chat.say("/followup Eve Smith friday")
    await chat.say("/followup Ana saturday")
    said = await chat.say(f"/edit 2 who {spelling}")
    assert said == "#2 is now about Eve Smith (was Ana), Sat 28 Nov 2026, 09:00 (Europe/Lisbon)."
    assert await contact_names(chat) == ["Eve Smith"]


async def test_edit_who_with_another_spelling_of_its_own_name_keeps_the_stored_one(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve Smith friday")
    assert await chat.say("/edit 1 who Eve-Smith") == (
        "#1 is already about Eve Smith. Nothing was changed."
    )
    assert await contact_names(chat) == ["Eve Smith"]


async def test_every_command_takes_another_spelling_of_a_known_name_for_that_contact(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve Smith friday")
    said = await chat.say("/followup eve-smith saturday")
    assert said.startswith("Got it. I'll remind you to follow up with Eve Smith “saturday”")
    assert await chat.say("/contacted Éve Smith coffee") == "Logged: in touch with Eve Smith today."
    await chat.say("/keepintouch EVE SMITH every month")
    assert await contact_names(chat) == ["Eve Smith"]
    assert [who for who, _, _ in await chat.followups()] == ["Eve Smith"] * 3


async def test_the_last_reminder_moved_to_a_fuller_name_brings_what_was_logged_along(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve friday")
    await chat.say("/followup Eve saturday")
    await chat.say("/followup Eve sunday")
    await chat.say("/cancel 3")
    await chat.say("/contacted Eve coffee")
    await chat.say("/contact Eve bond we both row at Leeds")
    await chat.say("/contact Eve note met at PyCon")
    said = await chat.say("/edit 1 who Eve Smith")  # #2 still names Eve: maybe two Eves
    assert said == "#1 is now about Eve Smith (was Eve), Fri 27 Nov 2026, 09:00 (Europe/Lisbon)."
    await chat.say("/contact Eve Smith note works at Monzo")
    said = await chat.say("/edit 2 who Eve Smith")  # the last one: Eve is Eve Smith
    assert said == (
        "#2 is now about Eve Smith (was Eve), Sat 28 Nov 2026, 09:00 (Europe/Lisbon). "
        "What you logged for Eve is now under Eve Smith."
    )
    assert await contact_names(chat) == ["Eve Smith"]
    assert "Eve Smith — last contact less than a minute ago" in await chat.say("/contacts")
    said = await chat.say("/contact Eve Smith")
    for logged in ("coffee", "row at Leeds", "works at Monzo; met at PyCon", "cancelled"):
        assert logged in said
    assert all(f"#{n}" in said for n in (1, 2, 3))


async def test_the_last_reminder_moved_to_a_shorter_name_merges_them_under_it(
    chat: Chat,
) -> None:
    await chat.say("/followup Eve friday")
    await chat.say("/contacted Eve coffee")
    await chat.say("/followup Éve Smith saturday")
    await chat.say("/contact Éve Smith bond we both row at Leeds")
    said = await chat.say("/edit 2 who Eve")
    assert said.endswith("What you logged for Éve Smith is now under Eve.")
    assert await contact_names(chat) == ["Eve"]
    said = await chat.say("/contact Eve")
    assert "coffee" in said and "row at Leeds" in said


async def test_the_last_reminder_moved_to_someone_else_known_never_merges_them(
    chat: Chat,
) -> None:
    await chat.say("/followup Tom friday")
    await chat.say("/contacted Tom coffee")
    await chat.say("/followup Tom's wife saturday")
    said = await chat.say("/edit 1 who Tom's wife")
    assert said.endswith("Tom stays in /contacts with what you logged for them.")
    assert await contact_names(chat) == ["Tom", "Tom's wife"]
    assert "coffee" in await chat.say("/contact Tom")
    assert "coffee" not in await chat.say("/contact Tom's wife")


@pytest.mark.parametrize("value", ["next friday", "tomorrow", "in 2 weeks", "friday 10am"])
async def test_edit_who_with_a_time_points_to_edit_when_and_changes_nothing(
    chat: Chat, value: str
) -> None:
    await chat.say("/followup Maria friday")
    said = await chat.say(f"/edit 1 who {value}")
    assert said == f"That reads as a time: /edit 1 when {value} changes when. Nothing was changed."
    assert await chat.followups() == [("Maria", "", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))]
    assert await contact_names(chat) == ["Maria"]


async def test_edit_who_with_a_time_on_a_keep_in_touch_points_to_snooze(chat: Chat) -> None:
    await chat.say("/keepintouch Tom every month")
    said = await chat.say("/edit 1 who next friday")
    assert said == (
        "That reads as a time: /snooze 1 next friday moves its next nudge. Nothing was changed."
    )
    assert await contact_names(chat) == ["Tom"]


async def test_edit_who_takes_a_capitalised_day_as_a_name(chat: Chat) -> None:
    await chat.say("/followup Maria friday")
    said = await chat.say("/edit 1 who Sunday")  # a person can be called Sunday or May
    assert said.startswith("#1 is now about Sunday (was Maria)")
