"""Times people say (issue 14), against a fixed `now`: Wednesday 10 June 2026, noon, London."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from test_when import LONDON, NOW, local, when

from netcoach.bot.timeparse import (
    Cadence,
    WhenError,
    next_after,
    occurrence,
    on_weekday,
    parse_cadence,
    resolve_timezone,
    split_when,
    zone_or,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in half an hour", local(2026, 6, 10, 12, 30)),
        ("in an hour and a half", local(2026, 6, 10, 13, 30)),
        ("in a quarter of an hour", local(2026, 6, 10, 12, 15)),
        ("in 2 and a half hours", local(2026, 6, 10, 14, 30)),
        ("this weekend", local(2026, 6, 13)),
        ("at the weekend", local(2026, 6, 13)),
        ("next weekend", local(2026, 6, 20)),
        ("end of week", local(2026, 6, 12)),
        ("end of the week", local(2026, 6, 12)),
        ("end of next week", local(2026, 6, 19)),
        ("in 3 business days", local(2026, 6, 15)),  # Thu, Fri, Mon
        ("in three working days", local(2026, 6, 15)),
        ("a week from friday", local(2026, 6, 19)),
        ("a week from friday 3pm", local(2026, 6, 19, 15)),
        ("2 days after tomorrow", local(2026, 6, 13)),
        ("a week from today", local(2026, 6, 17)),
    ],
)
def test_the_phrases_people_say(text: str, expected: datetime) -> None:
    assert when(text) == expected


def test_a_week_from_friday_said_on_a_friday_counts_from_today() -> None:
    assert when("a week from friday", now=local(2026, 6, 12, 10)) == local(2026, 6, 19)


def test_this_weekend_on_a_sunday_after_its_hour_says_it_is_nearly_over() -> None:
    sunday = local(2026, 6, 14, 10)
    assert when("this weekend", now=local(2026, 6, 13, 10)) == local(2026, 6, 14)
    with pytest.raises(WhenError, match="This weekend is nearly over"):
        when("this weekend", now=sunday)


def test_end_of_week_once_friday_has_gone_says_so() -> None:
    with pytest.raises(WhenError, match=r"end of this week .* has passed"):
        when("end of week", now=local(2026, 6, 13, 10))


@pytest.mark.parametrize(
    "text", ["last week", "in -3 days", "3 days ago", "-2 hours", "last month"]
)
def test_times_behind_us_are_called_past_not_unreadable(text: str) -> None:
    with pytest.raises(WhenError, match="is in the past"):
        when(text)
    with pytest.raises(WhenError, match="is in the past"):
        split_when(f"Maria {text}", NOW, LONDON)


def test_a_past_date_suggests_one_ahead_never_one_behind() -> None:
    later = local(2027, 3, 1)
    with pytest.raises(WhenError) as info:
        when("2026-12-01 09:30", now=later)
    message = str(info.value)
    assert "That time is in the past: Tue 1 Dec 2026" in message
    assert "2027-12-01 09:30" in message and "2026-12-01" not in message.split("Give one")[1]
    with pytest.raises(WhenError) as info:
        when("yesterday", now=later)
    assert "2027-03-08 09:30" in str(info.value)  # a week ahead of now, not a fixed date


def test_who_and_when_are_not_split_by_a_guess() -> None:
    parsed = split_when("X a week from friday", NOW, LONDON)
    assert (parsed.who, parsed.when) == ("X", local(2026, 6, 19))
    parsed = split_when("Maria in half an hour send the notes", NOW, LONDON)
    assert (parsed.who, parsed.note) == ("Maria", "send the notes")
    with pytest.raises(WhenError, match="can't tell who from when") as info:
        split_when("Tom in a bit friday", NOW, LONDON)
    assert '/followup "Tom in a bit" friday' in str(info.value)
    # Names that only look like times are still names.
    assert split_when("Ana May tomorrow", NOW, LONDON).who == "Ana May"
    assert split_when("Maria from PyCon tomorrow", NOW, LONDON).who == "Maria from PyCon"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every monday", Cadence(1, "weeks", weekday=0)),
        ("every Monday", Cadence(1, "weeks", weekday=0)),
        ("mondays", Cadence(1, "weeks", weekday=0)),
        ("every other friday", Cadence(2, "weeks", weekday=4)),
        ("every sat", Cadence(1, "weeks", weekday=5)),
    ],
)
def test_every_monday_is_a_weekly_cadence_on_that_day(text: str, expected: Cadence) -> None:
    cadence = parse_cadence(text)
    assert cadence == expected
    assert parse_cadence(cadence.describe()) == cadence  # stored as described, read back


def test_a_weekday_cadence_starts_on_the_next_such_day_and_stays_there() -> None:
    cadence = parse_cadence("every monday")
    today = datetime.combine(NOW.date(), time(9), tzinfo=LONDON)  # a Wednesday
    anchor = on_weekday(today, cadence, first=True)
    assert occurrence(anchor, cadence, 1) == local(2026, 6, 15)
    assert occurrence(anchor, cadence, 5) == local(2026, 7, 13)
    assert next_after(anchor, cadence, local(2026, 6, 16)) == local(2026, 6, 22)
    # A contact restarts the count: the Monday nearest a week on.
    tuesday = datetime.combine(local(2026, 6, 16).date(), time(9), tzinfo=LONDON)
    assert occurrence(on_weekday(tuesday, cadence, first=False), cadence, 1) == local(2026, 6, 22)
    with pytest.raises(WhenError):
        parse_cadence("monday")  # a day, not a repeat


@pytest.mark.parametrize("name", ["EST", "est", "PST", "MST", "HST"])
def test_abbreviations_get_a_place_suggested_as_offsets_do(name: str) -> None:
    with pytest.raises(WhenError, match=r"not a place.*did you mean [A-Z][a-z]+/"):
        resolve_timezone(name)
    with pytest.raises(WhenError, match="summer time"):
        resolve_timezone("UTC+2")


def test_a_zone_stored_before_abbreviations_were_refused_still_works() -> None:
    assert zone_or("EST", LONDON).key == "EST"
