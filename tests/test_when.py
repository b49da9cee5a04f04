"""Natural-language times as chat users type them, always against a fixed `now`."""

import subprocess
import sys
from calendar import monthrange
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from netcoach.bot.timeparse import (
    Cadence,
    Parsed,
    WhenError,
    describe_delta,
    format_local,
    next_after,
    occurrence,
    parse_cadence,
    parse_duration,
    parse_when,
    resolve_timezone,
    split_when,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 10 June 2026, noon in London (BST): far from any DST change.
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=LONDON)


def local(y: int, mo: int, d: int, h: int = 9, mi: int = 0, tz: ZoneInfo = LONDON) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def when(text: str, now: datetime = NOW, tz: ZoneInfo = LONDON, **kw: time) -> datetime:
    return parse_when(text, now, tz, **kw)


def same_instant(a: datetime, b: datetime) -> bool:
    """Aware datetimes sharing a tzinfo compare by wall clock, so compare in UTC."""
    return a.astimezone(UTC) == b.astimezone(UTC) and a.utcoffset() == b.utcoffset()


# --- the phrases people type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 3 days", local(2026, 6, 13)),
        ("in 2 weeks", local(2026, 6, 24)),
        ("tomorrow", local(2026, 6, 11)),
        ("tomorrow 9am", local(2026, 6, 11)),
        ("next tuesday", local(2026, 6, 16)),
        ("friday 14:00", local(2026, 6, 12, 14)),
        ("dec 15", local(2026, 12, 15)),
        ("2026-12-01 09:30", local(2026, 12, 1, 9, 30)),
        ("in 90 minutes", local(2026, 6, 10, 13, 30)),
        ("tonight", local(2026, 6, 10, 20)),
        ("in 2.5 hours", local(2026, 6, 10, 14, 30)),
        ("at 5pm", local(2026, 6, 10, 17)),
        ("monday", local(2026, 6, 15)),
        ("next week", local(2026, 6, 15)),
        ("end of month", local(2026, 6, 30)),
    ],
)
def test_phrases_people_type_become_the_expected_local_time(text: str, expected: datetime) -> None:
    result = when(text)
    assert same_instant(result, expected)
    assert result.tzinfo == LONDON


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3pm tomorrow", local(2026, 6, 11, 15)),
        ("at 5pm on friday", local(2026, 6, 12, 17)),
        ("Friday, 5 PM", local(2026, 6, 12, 17)),
        ("tomorrow at noon", local(2026, 6, 11, 12)),
        ("tomorrow 9:30 a.m.", local(2026, 6, 11, 9, 30)),
        ("tomorrow morning", local(2026, 6, 11, 9)),
        ("tomorrow night", local(2026, 6, 11, 20)),
        ("this evening", local(2026, 6, 10, 18)),
        ("day after tomorrow", local(2026, 6, 12)),
        ("in a week", local(2026, 6, 17)),
        ("in two weeks", local(2026, 6, 24)),
        ("in an hour", local(2026, 6, 10, 13)),
        ("in 1h30m", local(2026, 6, 10, 13, 30)),
        ("in 3 days at 5pm", local(2026, 6, 13, 17)),
        ("in 2 months", local(2026, 8, 10)),
        ("next month", local(2026, 7, 10)),
        ("on the 15th", local(2026, 6, 15)),
        ("15 december 2026", local(2026, 12, 15)),
        ("friday dec 18", local(2026, 12, 18)),
        ("15/12", local(2026, 12, 15)),
        ("2026-12-01T09:30", local(2026, 12, 1, 9, 30)),
        ("2 hours", local(2026, 6, 10, 14)),
    ],
)
def test_other_common_phrasings_are_understood(text: str, expected: datetime) -> None:
    assert same_instant(when(text), expected)


def test_tomorrow_without_time_uses_default_time_of_day() -> None:
    assert same_instant(when("tomorrow", default_time=time(8, 15)), local(2026, 6, 11, 8, 15))


def test_weekday_without_time_uses_default_time_not_midnight() -> None:
    assert when("friday").time() == time(9, 0)


def test_relative_days_use_default_time_but_hours_and_minutes_keep_the_exact_time() -> None:
    now = local(2026, 6, 10, 12, 34)
    assert when("in 3 days", now=now).time() == time(9, 0)
    assert when("in 90 minutes", now=now).time() == time(14, 4)


def test_time_of_day_already_passed_today_means_tomorrow() -> None:
    assert same_instant(when("9am"), local(2026, 6, 11, 9))


def test_bare_hour_after_at_is_read_as_a_working_hour() -> None:
    assert when("tomorrow at 5").time() == time(17)
    assert when("tomorrow at 9").time() == time(9)
    assert when("tonight at 9").time() == time(21)


def test_todays_date_with_a_later_time_stays_today() -> None:
    assert same_instant(when("june 10 5pm"), local(2026, 6, 10, 17))


def test_date_without_year_already_past_this_year_means_next_year() -> None:
    late_december = local(2026, 12, 20, 12)
    assert same_instant(when("dec 15", now=late_december), local(2027, 12, 15))


def test_day_of_month_already_past_means_next_month() -> None:
    assert same_instant(when("the 3rd"), local(2026, 7, 3))


def test_user_time_zone_decides_what_tomorrow_means() -> None:
    # 02:00 UTC on 11 June is still the evening of 10 June in New York.
    now = datetime(2026, 6, 11, 2, 0, tzinfo=UTC)
    assert same_instant(when("tomorrow", now=now, tz=NEW_YORK), local(2026, 6, 11, tz=NEW_YORK))


# --- rejections ------------------------------------------------------------------------------


def test_tonight_late_in_the_evening_is_soon_and_just_before_midnight_is_refused() -> None:
    # Issue 14: "tonight" at 22:30 was refused as 20:00 in the past.
    assert when("tonight", now=local(2026, 6, 10, 22, 30)) == local(2026, 6, 10, 23)
    assert when("tonight", now=local(2026, 6, 10, 21, 10)) == local(2026, 6, 10, 21, 30)
    with pytest.raises(WhenError, match='too late for "tonight"'):
        when("tonight", now=local(2026, 6, 10, 23, 50))


@pytest.mark.parametrize("text", ["yesterday", "dec 15 2025", "last friday", "today"])
def test_times_in_the_past_are_rejected_not_shifted(text: str) -> None:
    with pytest.raises(WhenError, match="That time is in the past"):
        when(text)


def test_past_rejection_shows_the_time_that_was_understood() -> None:
    with pytest.raises(WhenError, match=r"Mon 15 Dec 2025, 09:00 \(Europe/London\)"):
        when("dec 15 2025")


def test_now_itself_is_not_in_the_future() -> None:
    with pytest.raises(WhenError):
        when("in 0 minutes")


@pytest.mark.parametrize("text", ["bananas", "friday 14", "at the cafe", "may", "in a bit"])
def test_unparseable_input_explains_with_examples(text: str) -> None:
    with pytest.raises(WhenError) as info:
        when(text)
    message = str(info.value)
    # the dated example is a week after NOW, so it is never itself in the past
    for example in ("in 3 days", "tomorrow 9am", "next tuesday", "dec 15", "2026-06-17 09:30"):
        assert example in message


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_input_asks_when(text: str) -> None:
    with pytest.raises(WhenError, match="say when"):
        when(text)


def test_input_longer_than_100_characters_is_rejected() -> None:
    with pytest.raises(WhenError, match="too long"):
        when("tomorrow " + "x" * 100)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("tomorrow 25:00", "no such time"),
        ("tomorrow 13pm", "no such time"),
        ("2026-02-30", "no such date"),
        ("sep 31", "no such date"),
        ("friday dec 17", "is a Thursday"),
        ("3/4", "could be 3 Apr or Mar 4"),
        ("in 2 hours at 5pm", "mixes a time of day"),
        ("in 20 years", "more than 10 years"),
        ("in 99999999999999 days", "more than 10 years"),
        ("friday 9am 10am", "more than one time"),
    ],
)
def test_impossible_or_contradictory_times_say_what_is_wrong(text: str, match: str) -> None:
    with pytest.raises(WhenError, match=match):
        when(text)


def test_when_error_is_a_value_error_for_callers_that_catch_broadly() -> None:
    assert issubclass(WhenError, ValueError)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_when("tomorrow", datetime(2026, 6, 10, 12), LONDON)


# --- daylight saving time --------------------------------------------------------------------


def test_london_spring_forward_tomorrow_9am_is_bst() -> None:
    result = when("tomorrow 9am", now=local(2026, 3, 28, 12))
    assert result.astimezone(UTC) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert result.utcoffset() == timedelta(hours=1)


def test_london_time_in_the_spring_gap_moves_forward() -> None:
    result = when("tomorrow 1:30am", now=local(2026, 3, 28, 12))
    assert result.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (result.hour, result.minute) == (2, 30)


def test_london_hours_across_spring_forward_are_real_elapsed_hours() -> None:
    now = datetime(2026, 3, 29, 0, 30, tzinfo=LONDON)  # 00:30 GMT, half an hour before the change
    result = when("in 2 hours", now=now)
    assert result.astimezone(UTC) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert (result.hour, result.minute) == (3, 30)


def test_london_in_2_days_across_fall_back_keeps_9am_local() -> None:
    result = when("in 2 days", now=local(2026, 10, 24, 12))
    assert (result.date().isoformat(), result.time()) == ("2026-10-26", time(9))
    assert result.utcoffset() == timedelta(0)


def test_london_ambiguous_fall_back_time_means_the_first_one() -> None:
    result = when("tomorrow 1:30am", now=local(2026, 10, 24, 12))
    assert result.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_new_york_spring_gap_230am_moves_forward_to_330am_edt() -> None:
    result = when("tomorrow 2:30am", now=local(2026, 3, 7, 12, tz=NEW_YORK), tz=NEW_YORK)
    assert result.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert (result.hour, result.minute) == (3, 30)


def test_new_york_tomorrow_9am_across_spring_forward_is_edt() -> None:
    result = when("tomorrow 9am", now=local(2026, 3, 7, 21, 30, tz=NEW_YORK), tz=NEW_YORK)
    assert result.astimezone(UTC) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_new_york_in_2_days_across_fall_back_keeps_9am_local() -> None:
    result = when("in 2 days", now=local(2026, 10, 31, 12, tz=NEW_YORK), tz=NEW_YORK)
    assert result.astimezone(UTC) == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert result.time() == time(9)


def test_new_york_next_week_across_fall_back_keeps_9am_local() -> None:
    now = local(2026, 10, 28, 12, tz=NEW_YORK)  # Wednesday; clocks go back on Sunday 1 Nov
    result = when("next week", now=now, tz=NEW_YORK)
    assert result.astimezone(UTC) == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.5 hours", timedelta(hours=2, minutes=30)),
        ("1.5h", timedelta(minutes=90)),
        ("90 minutes", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("1 week", timedelta(weeks=1)),
        ("3 days", timedelta(days=3)),
        ("2h", timedelta(hours=2)),
        ("a week", timedelta(weeks=1)),
        ("an hour", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1 hour and 15 minutes", timedelta(minutes=75)),
        ("a fortnight", timedelta(weeks=2)),
        ("  2 HOURS ", timedelta(hours=2)),
    ],
)
def test_parse_duration_reads_common_spellings(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "tomorrow", "2", "1 month", "a year", "20 years"])
def test_parse_duration_returns_none_for_non_durations_and_calendar_units(text: str) -> None:
    assert parse_duration(text) is None


# --- split_when ------------------------------------------------------------------------------


def test_split_when_separates_who_when_and_note() -> None:
    parsed = split_when("Maria in 3 days send her the testing notes", NOW, LONDON)
    assert parsed == Parsed("Maria", local(2026, 6, 13), "in 3 days", "send her the testing notes")


def test_split_when_without_a_note_gives_an_empty_note() -> None:
    parsed = split_when("Tom next tuesday", NOW, LONDON)
    assert (parsed.who, parsed.when_text, parsed.note) == ("Tom", "next tuesday", "")
    assert same_instant(parsed.when, local(2026, 6, 16))


def test_split_when_finds_multi_word_names_and_times() -> None:
    parsed = split_when("Dr. Ana Silva friday 14:00 bring the contract", NOW, LONDON)
    assert (parsed.who, parsed.when_text, parsed.note) == (
        "Dr. Ana Silva",
        "friday 14:00",
        "bring the contract",
    )
    assert same_instant(parsed.when, local(2026, 6, 12, 14))


def test_split_when_accepts_a_quoted_name() -> None:
    parsed = split_when('"Maria Lopez" tomorrow', NOW, LONDON)
    assert (parsed.who, parsed.when_text, parsed.note) == ("Maria Lopez", "tomorrow", "")


def test_split_when_quoted_name_alone_asks_for_a_time() -> None:
    with pytest.raises(WhenError, match=r'I got who \("Maria Lopez"\) but no time'):
        split_when('"Maria Lopez"', NOW, LONDON)


def test_split_when_quoted_name_can_contain_time_words() -> None:
    parsed = split_when("“Ana Friday” monday 10am coffee", NOW, LONDON)
    assert (parsed.who, parsed.when_text, parsed.note) == ("Ana Friday", "monday 10am", "coffee")


def test_split_when_keeps_the_time_as_typed() -> None:
    parsed = split_when("Jan Novak Dec 15, 2026 5PM: about the deal", NOW, LONDON)
    assert parsed.who == "Jan Novak"
    assert parsed.when_text == "Dec 15, 2026 5PM"
    assert parsed.note == "about the deal"
    assert same_instant(parsed.when, local(2026, 12, 15, 17))


@pytest.mark.parametrize(
    ("text", "who", "when_text", "note"),
    [
        ("Maria, tomorrow, send notes", "Maria", "tomorrow", "send notes"),
        ("Tom tomorrow - ask about the intro", "Tom", "tomorrow", "ask about the intro"),
        ("Tom tomorrow at the cafe", "Tom", "tomorrow", "at the cafe"),
        ("Tom friday on the proposal", "Tom", "friday", "on the proposal"),
        ("Tom next tuesday next steps", "Tom", "next tuesday", "next steps"),
        ("Tom friday 3pm 2 coffees", "Tom", "friday 3pm", "2 coffees"),
        ("Maria in 3 days 2 intros", "Maria", "in 3 days", "2 intros"),
        ("May Chen tomorrow 9am intro to Bob", "May Chen", "tomorrow 9am", "intro to Bob"),
        ("Sunday Adebayo dec 15 thank him", "Sunday Adebayo", "dec 15", "thank him"),
        ("Tom sun 10am brunch", "Tom", "sun 10am", "brunch"),
        ("Tom tomorrow may call back", "Tom", "tomorrow", "may call back"),
    ],
)
def test_split_when_does_not_swallow_note_words_that_look_like_time(
    text: str, who: str, when_text: str, note: str
) -> None:
    parsed = split_when(text, NOW, LONDON)
    assert (parsed.who, parsed.when_text, parsed.note) == (who, when_text, note)


def test_split_when_without_a_time_says_what_it_understood() -> None:
    with pytest.raises(WhenError, match=r'I got who \("Tom"\) but no time') as info:
        split_when("Tom send the notes", NOW, LONDON)
    assert "tomorrow 9am" in str(info.value)


def test_a_one_off_reminder_with_a_cadence_points_to_keepintouch() -> None:
    with pytest.raises(WhenError, match=r"use /keepintouch, e.g. /keepintouch Pat every month"):
        split_when("Pat every month", NOW, LONDON)
    with pytest.raises(WhenError, match=r'/keepintouch "Maria Lopez" every month'):
        split_when('"Maria Lopez" every month', NOW, LONDON)
    for text in ("Tom send the notes", "every month Pat"):
        with pytest.raises(WhenError) as info:
            split_when(text, NOW, LONDON)
        assert "keepintouch" not in str(info.value), text


def test_split_when_does_not_read_ordinary_words_as_days() -> None:
    with pytest.raises(WhenError):
        split_when("Tom sat next to me", NOW, LONDON)


def test_split_when_needs_who_before_when() -> None:
    with pytest.raises(WhenError, match="start with who"):
        split_when("tomorrow call Maria", NOW, LONDON)


@pytest.mark.parametrize(
    ("text", "who_first"),
    [
        ("next friday Maria", "Maria next friday"),
        ("on friday Maria", "Maria on friday"),
        ("in 2 weeks Pat Smith", "Pat Smith in 2 weeks"),
    ],
)
def test_split_when_never_takes_the_start_of_a_time_for_who(text: str, who_first: str) -> None:
    with pytest.raises(WhenError, match=f"start with who .*: /followup {who_first}\\.$"):
        split_when(text, NOW, LONDON)
    assert split_when("Sunday in 3 days", NOW, LONDON).who == "Sunday"  # names still come first


def test_split_when_reports_a_past_time_instead_of_looking_further() -> None:
    with pytest.raises(WhenError, match="in the past"):
        split_when("Tom yesterday call him", NOW, LONDON)


def test_split_when_reports_an_impossible_time() -> None:
    with pytest.raises(WhenError, match="no such time"):
        split_when("Tom friday 25:00 call", NOW, LONDON)


def test_split_when_accepts_a_long_note() -> None:
    note = "remember " * 200
    parsed = split_when(f"Tom tomorrow {note}", NOW, LONDON)
    assert parsed.note == note.strip()


# --- cadences and schedules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cadence", "described"),
    [
        ("every 2 weeks", Cadence(2, "weeks"), "every 2 weeks"),
        ("every month", Cadence(1, "months"), "every month"),
        ("every 10 days", Cadence(10, "days"), "every 10 days"),
        ("2 weeks", Cadence(2, "weeks"), "every 2 weeks"),
        ("monthly", Cadence(1, "months"), "every month"),
        ("Weekly", Cadence(1, "weeks"), "every week"),
        ("fortnightly", Cadence(2, "weeks"), "every 2 weeks"),
        ("biweekly", Cadence(2, "weeks"), "every 2 weeks"),
        ("every other week", Cadence(2, "weeks"), "every 2 weeks"),
        ("once a month", Cadence(1, "months"), "every month"),
        ("quarterly", Cadence(3, "months"), "every 3 months"),
        ("every year", Cadence(12, "months"), "every year"),
        ("every 10 years", Cadence(120, "months"), "every 10 years"),
    ],
)
def test_parse_cadence_reads_common_repeats(text: str, cadence: Cadence, described: str) -> None:
    assert parse_cadence(text) == cadence
    assert cadence.describe() == described


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("every 0 days", "at least 1"),
        ("every 11 years", "longer than 10 years"),
        ("every 5000 days", "longer than 10 years"),
        ("every 600 weeks", "longer than 10 years"),
        ("every 1.5 weeks", "didn't understand"),
        ("sometimes", "didn't understand"),
        ("", "didn't understand"),
    ],
)
def test_parse_cadence_rejects_zero_absurd_and_unknown_repeats(text: str, match: str) -> None:
    with pytest.raises(WhenError, match=match):
        parse_cadence(text)


def test_monthly_from_jan_31_lands_on_each_months_last_day() -> None:
    anchor = local(2026, 1, 31)
    got = [occurrence(anchor, Cadence(1, "months"), k).date().isoformat() for k in range(5)]
    assert got == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]


def test_monthly_from_jan_31_uses_feb_29_in_leap_years() -> None:
    assert occurrence(local(2028, 1, 31), Cadence(1, "months"), 1).date().isoformat() == (
        "2028-02-29"
    )


def test_yearly_from_feb_29_falls_back_to_feb_28_and_returns_in_leap_years() -> None:
    anchor = local(2028, 2, 29)
    yearly = Cadence(12, "months")
    assert occurrence(anchor, yearly, 1).date().isoformat() == "2029-02-28"
    assert occurrence(anchor, yearly, 4).date().isoformat() == "2032-02-29"


def test_monthly_schedule_does_not_drift_over_24_occurrences() -> None:
    anchor = local(2026, 1, 31, 9, 30)
    for k in range(25):
        got = occurrence(anchor, Cadence(1, "months"), k)
        year, month = 2026 + (k // 12), k % 12 + 1
        assert (got.year, got.month, got.day) == (year, month, monthrange(year, month)[1])
        assert got.time() == time(9, 30)


def test_weekly_schedule_keeps_wall_clock_time_across_dst() -> None:
    anchor = local(2026, 3, 1, 9, tz=NEW_YORK)  # EST; clocks go forward on 8 March
    got = [occurrence(anchor, Cadence(1, "weeks"), k) for k in range(3)]
    assert [g.time() for g in got] == [time(9)] * 3
    assert [g.astimezone(UTC).hour for g in got] == [14, 13, 13]


def test_occurrence_zero_is_the_anchor_and_negative_is_refused() -> None:
    anchor = local(2026, 6, 10)
    assert occurrence(anchor, Cadence(2, "weeks"), 0) == anchor
    with pytest.raises(ValueError):
        occurrence(anchor, Cadence(2, "weeks"), -1)


def test_next_after_is_strictly_after() -> None:
    anchor, monthly = local(2026, 1, 31), Cadence(1, "months")
    assert next_after(anchor, monthly, local(2026, 2, 28, 8)) == local(2026, 2, 28)
    assert next_after(anchor, monthly, local(2026, 2, 28)) == local(2026, 3, 31)
    assert next_after(anchor, monthly, local(2026, 2, 28, 10)) == local(2026, 3, 31)


def test_next_after_before_the_anchor_is_the_anchor() -> None:
    anchor = local(2026, 6, 10)
    assert next_after(anchor, Cadence(10, "days"), local(2026, 1, 1)) == anchor


def test_next_after_far_in_the_future_matches_stepping() -> None:
    anchor, every_10_days = local(2026, 1, 5, 9, 15), Cadence(10, "days")
    after = datetime(2031, 7, 19, 3, 0, tzinfo=UTC)
    k = 0
    while occurrence(anchor, every_10_days, k) <= after:
        k += 1
    assert next_after(anchor, every_10_days, after) == occurrence(anchor, every_10_days, k)


def test_cadence_refuses_zero_count() -> None:
    with pytest.raises(ValueError):
        Cadence(0, "days")


# --- display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
        (timedelta(hours=3), "3 hours"),
        (timedelta(hours=20, minutes=13), "20 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=2), "2 days"),
        (timedelta(weeks=5), "5 weeks"),
        (timedelta(days=20), "about 3 weeks"),
        (timedelta(days=91), "about 3 months"),
        (timedelta(days=800), "about 2 years"),
        (-timedelta(hours=3), "3 hours"),
    ],
)
def test_describe_delta_reads_like_a_person_would_say_it(delta: timedelta, text: str) -> None:
    assert describe_delta(delta) == text


def test_format_local_shows_weekday_date_time_and_zone() -> None:
    dt = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert format_local(dt, LONDON) == "Tue 1 Dec 2026, 09:30 (Europe/London)"
    assert format_local(dt, NEW_YORK) == "Tue 1 Dec 2026, 04:30 (America/New_York)"


# --- time zones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("  America/New_York ", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("utc", "UTC"),
    ],
)
def test_resolve_timezone_accepts_names_in_any_case(name: str, key: str) -> None:
    assert resolve_timezone(name) == ZoneInfo(key)


@pytest.mark.parametrize("name", ["london", "Lodnon", "Europe/Londn"])
def test_resolve_timezone_suggests_the_zone_the_user_meant(name: str) -> None:
    with pytest.raises(WhenError, match="Did you mean Europe/London") as info:
        resolve_timezone(name)
    assert "Europe/London?" in str(info.value)


def test_resolve_timezone_without_a_close_match_gives_examples() -> None:
    with pytest.raises(WhenError, match="Europe/London"):
        resolve_timezone("qqqqqqqqqq")


def test_resolve_timezone_rejects_an_empty_name() -> None:
    with pytest.raises(WhenError):
        resolve_timezone(" ")


# --- cost ------------------------------------------------------------------------------------


def test_importing_the_module_does_not_load_dateparser() -> None:
    code = "import sys, netcoach.bot.timeparse; sys.exit('dateparser' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_relative_phrases_and_non_times_never_reach_dateparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dateparser

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dateparser was called")

    monkeypatch.setattr(dateparser, "parse", refuse)
    assert split_when("Maria in 3 days send her the testing notes", NOW, LONDON).note
    for text in ("in 90 minutes", "tomorrow 9am", "2026-12-01 09:30", "next week"):
        assert when(text) > NOW
    with pytest.raises(WhenError):
        split_when("Tom send the notes please", NOW, LONDON)


def test_absurdly_long_numbers_are_refused_politely() -> None:
    with pytest.raises(WhenError):
        parse_cadence("every " + "9" * 5000 + " days")
    with pytest.raises(WhenError, match="more than 10 years"):
        split_when("Tom in " + "9" * 90 + " days", NOW, LONDON)
    assert parse_duration("9" * 5000 + " days") is None


@pytest.mark.parametrize(
    ("typed", "hint"),
    [("UTC+2", "Etc/GMT-2"), ("gmt-5", "Etc/GMT+5"), ("PST", "America/Los_Angeles")],
)
def test_offsets_and_abbreviations_get_the_right_zone_named(typed: str, hint: str) -> None:
    with pytest.raises(WhenError) as info:
        resolve_timezone(typed)
    assert hint in str(info.value)
    assert resolve_timezone(hint).key == hint  # and the named zone is accepted as typed


def test_a_zone_name_too_long_for_a_file_is_refused_in_words():
    with pytest.raises(WhenError):
        resolve_timezone("Europe/" + "x" * 300)
