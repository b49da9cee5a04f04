"""The one recurrence model: cadences that never drift, and tip schedules on working days."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from netcoach.bot.features.community.tips import next_slot
from netcoach.bot.timeparse import Cadence, index_of, next_after, occurrence

LISBON = ZoneInfo("Europe/Lisbon")
FRIDAY = datetime(2026, 12, 4, 8, 30, tzinfo=LISBON)


def test_weekdays_only_skips_the_weekend_and_keeps_the_time() -> None:
    cadence = Cadence(1, "days", weekdays_only=True)
    days = [occurrence(FRIDAY, cadence, k) for k in range(4)]
    assert [d.strftime("%a %H:%M") for d in days] == ["Fri 08:30", "Mon 08:30", "Tue 08:30",
                                                       "Wed 08:30"]  # fmt: skip
    assert next_after(FRIDAY, cadence, FRIDAY) == days[1]
    assert cadence.describe() == "every weekday"
    assert index_of(FRIDAY, cadence, days[3], 1) == 3


def test_a_weekend_anchor_starts_on_monday() -> None:
    saturday = FRIDAY + timedelta(days=1)
    cadence = Cadence(1, "days", weekdays_only=True)
    assert occurrence(saturday, cadence, 0).strftime("%a %d") == "Mon 07"
    assert next_after(saturday, cadence, saturday - timedelta(days=1)).strftime("%a") == "Mon"


def test_tip_slots_are_the_same_model_as_cadences() -> None:
    anchor = FRIDAY.date()
    assert next_slot(FRIDAY, "08:30", "weekday", anchor, LISBON) == occurrence(
        FRIDAY, Cadence(1, "days", weekdays_only=True), 1
    )
    assert next_slot(FRIDAY, "08:30", "3 days", anchor, LISBON) == FRIDAY + timedelta(days=3)


def test_months_clamp_to_the_month_end_without_drifting() -> None:
    jan31 = datetime(2027, 1, 31, 9, tzinfo=LISBON)
    monthly = Cadence(1, "months")
    assert [occurrence(jan31, monthly, k).day for k in range(4)] == [31, 28, 31, 30]
