"""The words of /tips: `[channel] [time HH:MM] [every day|weekday|N days] [playbook…]`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netcoach.bot.kernel import OFFLINE
from netcoach.bot.timeparse import WhenError, is_time_of_day, parse_time_of_day

MAX_EVERY_DAYS = 30
_QUOTES = "\"'“”‘’«»"


@dataclass(frozen=True, slots=True)
class TipsOptions:
    channel: str = ""
    at: str | None = None  # "HH:MM"
    every: str | None = None  # "day" | "weekday" | "N days"
    playbooks: tuple[str, ...] | None = None


class OptionError(ValueError):
    """A `/tips on` option that does not parse; the message says what would."""


def parse_clock_text(text: str) -> str:
    """ "9", "09:00", "9am", "6.30pm", "18h30" -> "HH:MM"; OptionError otherwise."""
    try:
        return f"{parse_time_of_day(text):%H:%M}"
    except WhenError as exc:
        raise OptionError(str(exc)) from None


def parse_every(words: Sequence[str]) -> str:
    """ "day", "weekday", "2 days" (after the word "every") -> the stored cadence."""
    text = " ".join(words).strip().lower()
    if text in ("day", "daily", "1 day", "days"):
        return "day"
    if text in ("weekday", "weekdays", "working day", "workday", "workdays"):
        return "weekday"
    m = re.fullmatch(r"(\d{1,3}) ?days?", text)
    if m and 1 <= int(m[1]) <= MAX_EVERY_DAYS:
        return "day" if int(m[1]) == 1 else f"{int(m[1])} days"
    raise OptionError(
        f"“every {text}” is not a cadence I know. Use every day, every weekday or "
        f"every N days (N from 2 to {MAX_EVERY_DAYS})."
    )


def parse_tips_on(
    text: str, playbook_ids: Sequence[str], is_channel: Callable[[str], bool] = OFFLINE.is_channel
) -> TipsOptions:
    """`[channel] [time HH:MM] [every day|weekday|N days] [playbook…]`, in any order; what
    names a channel is the platform's to say ("#general", "<#123>", "@group", "-100…")."""
    words = text.replace(",", " ").split()
    channel, at, every = "", None, None
    chosen: list[str] = []
    i = 0
    while i < len(words):
        word, low = words[i], words[i].lower().rstrip(":")
        if is_channel(word):
            if channel:
                raise OptionError("Please name one channel only.")
            channel = word
        elif low in ("time", "at"):
            if i + 1 >= len(words):
                raise OptionError(f"“{word}” needs a time after it, e.g. {low} 09:00.")
            at = parse_clock_text(words[i + 1])
            i += 1
        elif is_time_of_day(low):
            at = parse_clock_text(low)
        elif low == "every":
            rest = words[i + 1 : i + 3]
            if rest and rest[0].isdigit():
                every, i = parse_every(rest[:2]), i + len(rest[:2])
            else:
                every, i = parse_every(rest[:1]), i + len(rest[:1])
        elif low in ("daily", "weekdays"):
            every = parse_every([low])
        elif low == "all":
            chosen = list(playbook_ids)
        elif low in playbook_ids:
            if low not in chosen:
                chosen.append(low)
        else:
            raise OptionError(
                f"I don't know “{word}”. After /tips on come a channel (#name), a time "
                f"(time 09:00), a cadence (every day | weekday | N days) and playbooks: "
                f"{', '.join(playbook_ids)}."
            )
        i += 1
    return TipsOptions(channel, at, every, tuple(chosen) if chosen else None)


def describe_every(every: str, at: str) -> str:
    if every == "day":
        return f"every day at {at}"
    if every == "weekday":
        return f"every weekday (Mon–Fri) at {at}"
    return f"every {every} at {at}"


def strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        return text[1:-1].strip()
    return text
