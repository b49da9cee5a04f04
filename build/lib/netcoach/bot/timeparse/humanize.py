"""Times and durations in words, the same way in every reply."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .civil import plural as _plural
from .civil import require_aware as _require_aware

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def describe_delta(delta: timedelta) -> str:
    """Roughly how long, for "I'll remind you in ..."; only long spans are approximated."""
    seconds = abs(delta.total_seconds())
    minutes = int(seconds / 60 + 0.5)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return _plural(minutes, "minute")
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        if hours < 3 and rest:
            return f"{_plural(hours, 'hour')} {_plural(rest, 'minute')}"
        return _plural(int(minutes / 60 + 0.5), "hour")
    days = seconds / 86400
    if days < 14:
        return _plural(int(days + 0.5), "day")
    if days < 56:
        weeks = int(days / 7 + 0.5)
        return ("" if seconds == weeks * 604800 else "about ") + _plural(weeks, "week")
    if days < 730:
        return "about " + _plural(int(days / 30.436875 + 0.5), "month")
    return "about " + _plural(int(days / 365.2425 + 0.5), "year")


def format_local(dt: datetime, tz: ZoneInfo) -> str:
    """Unambiguous and locale-independent, with the zone named so travellers can spot a mismatch."""
    _require_aware(dt, "dt")
    local = dt.astimezone(tz)
    return (
        f"{DAY_NAMES[local.weekday()]} {local.day} {MONTH_NAMES[local.month - 1]} "
        f"{local.year}, {local:%H:%M} ({tz})"
    )
