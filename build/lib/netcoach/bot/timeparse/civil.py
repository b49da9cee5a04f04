"""Civil-time arithmetic every part of timeparse shares: wall-clock times in a zone, months.

Local times are built from wall-clock fields and normalised through UTC with fold=0, so a
time in the spring-forward gap moves forward by the gap (02:30 -> 03:30 in New York) and an
ambiguous autumn time means its first (summer-time) occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from dateutil.relativedelta import relativedelta


class WhenError(ValueError):
    """A time or repeat the user typed that we cannot use; the message is shown to them as is."""


def plural(n: int, unit: str, many: str = "") -> str:
    """ "1 row", "2 rows", "1,200 rows"; `many` when the plural is not unit + "s"."""
    return f"{n:,} {unit}" if n == 1 else f"{n:,} {many or unit + 's'}"


def at(day: date, wall: time, tz: tzinfo) -> datetime:
    """Wall-clock time on a day in tz; fold=0 moves gap times forward and picks the first of two."""
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def add_months(day: date, months: int) -> date:
    """Clamp to the month's last day, so Jan 31 + 1 month is Feb 28/29 rather than an error."""
    moved: date = day + relativedelta(months=months)
    return moved


def require_aware(dt: datetime, name: str) -> tzinfo:
    """Naive datetimes are a programming error, not a user's typo, so this is a plain ValueError."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return dt.tzinfo
