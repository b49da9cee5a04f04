"""The one recurrence model: keep-in-touch cadences and community tip schedules alike.

Occurrences are always counted from the anchor, never stepped from the previous one:
stepping drifts (Jan 31 -> Feb 28 -> Mar 28), counting gives Feb 28/29, Mar 31, Apr 30, and
the anchor's wall-clock time is kept across DST changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .civil import add_months, at, require_aware

Unit = Literal["days", "weeks", "months"]


@dataclass(frozen=True)
class Cadence:
    """A repeat interval in calendar units ("every month" stays on the same date);
    `weekdays_only` keeps only Monday to Friday (a daily tip on working days); `weekday`
    (0 = Monday) names the day a weekly cadence falls on ("every monday"): its anchor is
    put on that day (see `on_weekday`), and counting from the anchor keeps it there."""

    count: int
    unit: Unit
    weekdays_only: bool = False
    weekday: int | None = None

    def __post_init__(self) -> None:
        if self.count < 1 or self.unit not in ("days", "weeks", "months"):
            raise ValueError(f"invalid cadence: {self.count} {self.unit}")
        if self.weekdays_only and (self.count, self.unit) != (1, "days"):
            raise ValueError("weekdays_only needs a daily cadence")
        if self.weekday is not None and (self.unit != "weeks" or not 0 <= self.weekday <= 6):
            raise ValueError("a weekday needs a weekly cadence")

    def describe(self) -> str:
        if self.weekdays_only:
            return "every weekday"
        if self.weekday is not None:
            day = _DAY_NAMES[self.weekday]
            every = {1: "every", 2: "every other"}.get(self.count, f"every {self.count} weeks on")
            return f"{every} {day}"
        count, unit = self.count, self.unit[:-1]
        if unit == "month" and count % 12 == 0:
            count, unit = count // 12, "year"
        return f"every {unit}" if count == 1 else f"every {count} {unit}s"


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def on_weekday(anchor: datetime, cadence: Cadence, first: bool) -> datetime:
    """The anchor moved so that occurrence 1 falls on the cadence's weekday.

    `first`: the first nudge is the next such day after the anchor's day ("every monday"
    said on a Friday: in 3 days); otherwise (a contact restarts the count) it is the such
    day nearest to one period after the anchor (contacted on Tuesday: the Monday after).
    """
    if cadence.weekday is None:
        return anchor
    zone = require_aware(anchor, "anchor")
    day = anchor.date()
    if first:
        target = day + timedelta(days=(cadence.weekday - day.weekday() - 1) % 7 + 1)
    else:
        ahead = day + timedelta(weeks=cadence.count)
        shift = (cadence.weekday - ahead.weekday() + 3) % 7 - 3  # -3 .. +3 days
        target = ahead + timedelta(days=shift)
    return at(target - timedelta(weeks=cadence.count), anchor.time(), zone)


def _skip_weekend(when: datetime, cadence: Cadence) -> datetime:
    while cadence.weekdays_only and when.weekday() >= 5:
        when = at(when.date() + timedelta(days=1), when.time(), require_aware(when, "when"))
    return when


def occurrence(anchor: datetime, cadence: Cadence, k: int) -> datetime:
    """The k-th occurrence (k=0 is the anchor), always counted from the anchor."""
    zone = require_aware(anchor, "anchor")
    if k < 0:
        raise ValueError("k must be >= 0")
    start = anchor.date()
    if cadence.weekdays_only:
        day, left = start, k
        while day.weekday() >= 5:
            day += timedelta(days=1)
        weeks, left = divmod(left, 5)
        day += timedelta(weeks=weeks)
        while left:
            day += timedelta(days=1)
            left -= day.weekday() < 5
        return at(day, anchor.time(), zone)
    if cadence.unit == "months":
        day = add_months(start, cadence.count * k)
    else:
        day = start + timedelta(days=cadence.count * k * (7 if cadence.unit == "weeks" else 1))
    return at(day, anchor.time(), zone)


def next_after(anchor: datetime, cadence: Cadence, after: datetime) -> datetime:
    """The first occurrence strictly after `after`, found by estimate rather than by stepping."""
    require_aware(anchor, "anchor")
    require_aware(after, "after")
    if anchor.timestamp() > after.timestamp():
        return _skip_weekend(anchor, cadence)
    local = after.astimezone(anchor.tzinfo)
    if cadence.weekdays_only:  # the next day at the anchor's time, past any weekend
        zone = require_aware(anchor, "anchor")
        found = at(local.date(), anchor.time(), zone)
        while found.timestamp() <= after.timestamp() or found.weekday() >= 5:
            found = at(found.date() + timedelta(days=1), anchor.time(), zone)
        return found
    if cadence.unit == "months":
        elapsed = (local.year - anchor.year) * 12 + local.month - anchor.month
        k = max(0, elapsed // cadence.count - 1)
    else:
        period = cadence.count * (7 if cadence.unit == "weeks" else 1)
        k = max(0, (local.date() - anchor.date()).days // period - 1)
    while (found := occurrence(anchor, cadence, k)).timestamp() <= after.timestamp():
        k += 1
    return found


def index_of(anchor: datetime, cadence: Cadence, when: datetime, start: int) -> int:
    """The number of the occurrence at `when` (searching from occurrence `start`)."""
    k = max(1, start)
    while occurrence(anchor, cadence, k) < when:
        k += 1
    return k
