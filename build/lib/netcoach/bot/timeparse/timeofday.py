"""A time of day typed on its own: the config's default_time and a tip schedule's hour."""

from __future__ import annotations

import re
from datetime import time

from .civil import WhenError

_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$")


def parse_time_of_day(text: str) -> time:
    """ "9", "09:00", "9am", "6.30pm", "18h30" -> a time; WhenError otherwise."""
    m = _CLOCK.match(text.strip().lower())
    if m is not None:
        hour, minute, ampm = int(m[1]), int(m[2] or 0), m[3]
        if ampm:
            hour = hour % 12 + (12 if ampm == "pm" else 0) if 1 <= hour <= 12 else 99
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise WhenError(
        f"“{text}” is not a time of day I can read. Use HH:MM on a 24-hour clock, "
        "e.g. 09:00 or 18:30 (9am and 6:30pm work too)."
    )


def is_time_of_day(word: str) -> bool:
    """Whether a single word reads as a time of day (for grammars that take one anywhere)."""
    return _CLOCK.match(word.strip().lower()) is not None
