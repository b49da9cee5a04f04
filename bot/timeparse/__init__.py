"""Times as people type them, in their own time zone: pure functions, `now` always passed in.

when        "in 3 days", "tomorrow 9am", "Maria next tuesday send the notes"; cadences
recurrence  the one repeat model (keep-in-touch cadences and tip schedules)
zones       IANA zones by name, with hints for abbreviations, offsets and city names
timeofday   "9am", "18:30" on their own
humanize    "in about 3 weeks", "Fri 27 Nov 2026, 09:00 (Europe/London)"
"""

from .civil import WhenError, plural
from .humanize import describe_delta, format_local
from .recurrence import Cadence, index_of, next_after, occurrence, on_weekday
from .timeofday import is_time_of_day, parse_time_of_day
from .when import (
    QUOTED_NAME,
    Parsed,
    never_a_name,
    parse_cadence,
    parse_duration,
    parse_when,
    split_when,
)
from .zones import matching_zones, resolve_timezone, zone_or

__all__ = [
    "QUOTED_NAME",
    "Cadence",
    "Parsed",
    "WhenError",
    "describe_delta",
    "format_local",
    "index_of",
    "is_time_of_day",
    "matching_zones",
    "never_a_name",
    "next_after",
    "occurrence",
    "on_weekday",
    "parse_cadence",
    "parse_duration",
    "parse_time_of_day",
    "parse_when",
    "plural",
    "resolve_timezone",
    "split_when",
    "zone_or",
]
