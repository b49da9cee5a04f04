"""Natural-language times typed by chat users, read in the user's own time zone.

Everything here is a pure function of its arguments: the current time is always passed in,
so the scheduler, the tests and a replay of old messages all agree on what "tomorrow" meant.

dateparser is lenient: it silently drops words it cannot read ("tomorrow at 5" comes back
as tomorrow at the current time, "friday 14" as the 14th of this month), and its aware
results can carry the wrong UTC offset across a DST change. So every phrase must first match
a small grammar of time expressions; the time of day is read by our own regexes; relative
durations, ISO dates and the simple relative days are computed here; and dateparser is only
asked for the calendar date of weekday and month-name phrases ("next tuesday", "dec 15").

Local times are built from wall-clock fields and normalised through UTC with fold=0, so a
time in the spring-forward gap moves forward by the gap (02:30 -> 03:30 in New York) and an
ambiguous autumn time means its first (summer-time) occurrence.
"""

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .civil import WhenError
from .civil import add_months as _add_months
from .civil import at as _at
from .civil import require_aware as _require_aware
from .humanize import DAY_NAMES as _DAY_NAMES
from .humanize import MONTH_NAMES as _MONTH_NAMES
from .humanize import format_local
from .recurrence import Cadence, Unit

MAX_INPUT = 100
_MAX_DAYS = 3653  # ten years: anything further is a typo, and it keeps timedelta from overflowing
_MAX_MONTHS = 120
# The dated example is filled in at the API boundary with a date a week ahead of `now`,
# so an example is never itself in the past.
_ISO_EXAMPLE = "<a date ahead>"
_TIME_EXAMPLES = f'"in 3 days", "tomorrow 9am", "next tuesday", "dec 15" or "{_ISO_EXAMPLE}"'
_EXAMPLES = f"Try e.g. {_TIME_EXAMPLES}."
_CADENCE_EXAMPLES = (
    'Try e.g. "every 2 weeks", "every month", "monthly", "every monday" or "every 10 days".'
)

_WEEKDAYS = {
    **dict.fromkeys(("monday", "mon"), 0),
    **dict.fromkeys(("tuesday", "tue", "tues"), 1),
    **dict.fromkeys(("wednesday", "wed", "weds"), 2),
    **dict.fromkeys(("thursday", "thu", "thur", "thurs"), 3),
    **dict.fromkeys(("friday", "fri"), 4),
    **dict.fromkeys(("saturday", "sat"), 5),
    **dict.fromkeys(("sunday", "sun"), 6),
}
_MONTH_SPELLINGS = (
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sep", "sept"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
)
_MONTHS = {name: i for i, names in enumerate(_MONTH_SPELLINGS, start=1) for name in names}
# Ordinary English words that are also day names: alone, in a longer message, they are not times.
_WORDS_NOT_ALONE = frozenset({"sat", "sun", "wed"})

_NUMBER_WORDS = {
    **dict.fromkeys(("a", "an", "one"), 1),
    **{w: n for n, w in enumerate(("two", "three", "four", "five", "six", "seven"), start=2)},
    **{w: n for n, w in enumerate(("eight", "nine", "ten", "eleven", "twelve"), start=8)},
    **dict.fromkeys(("a couple of", "couple of"), 2),
}
_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minute"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hour"),
    **dict.fromkeys(("d", "day", "days"), "day"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "week"),
    **dict.fromkeys(("fortnight", "fortnights"), "fortnight"),
    **dict.fromkeys(("mo", "mos", "month", "months"), "month"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "year"),
}
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800, "fortnight": 1209600}
_NUM = r"\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_PART = re.compile(rf"(?P<num>{_NUM})\s*(?P<unit>[a-z]+)")
_DURATION = re.compile(rf"(?:{_NUM})\s*[a-z]+(?:\s*(?:{_NUM})\s*[a-z]+)*")

_CLOCK = re.compile(
    r"(?<![\w:./-])(?:(?:at|@)\s*)?"
    r"(?:(?P<h12>\d{1,2})(?:[:.](?P<m12>\d{2}))?\s*(?P<ampm>am|pm)"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})"
    r"|(?P<word>noon|midday|midnight))"
    r"(?![\w:])"
)
_BARE_AT = re.compile(r"(?<!\S)(?:at|@)\s*(?P<h>\d{1,2})(?![\w:./-])")
_DAYPART = re.compile(
    r"(?<!\S)(?:(?P<this>this)\s+|in\s+the\s+)?(?P<part>morning|afternoon|evening|night)(?!\S)"
)
_DAYPART_TIMES = {"morning": time(9), "afternoon": time(14), "evening": time(18), "night": time(20)}
_TONIGHT = time(20)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?")
_DAY_NUMBER = re.compile(r"(\d{1,2})(st|nd|rd|th)?")
# Shapes dateparser may see, over one letter per word: W weekday, M month, D day number, Y year,
# X next, T this, L last, O on, E the, F of, U month/year.
_SHAPE_LETTERS = {"next": "X", "this": "T", "last": "L", "on": "O", "the": "E", "of": "F"}
_SHAPE_LETTERS |= {"month": "U", "year": "U"}
_DATEPARSER_SHAPES = re.compile(r"O?[XTL]?W|O?W?O?E?DF?MY?|O?W?O?ME?DY?|[XL]U")
# Cheap per-word filter so split_when only tries plausible candidates.
_VOCAB = re.compile(
    r"@?\d[\da-z:./-]*|@|a\.m\.|p\.m\."
    r"|-\d[\da-z:.]*|in|at|on|the|of|this|next|last|after|from|ago|and|end|a|an|couple|half|quarter"
    r"|day|days|week|weeks|month|months|weekend|business|working|work|weekdays?"
    r"|year|years|today|tonight|tomorrow|tmrw|tmr|yesterday|noon|midday|midnight|morning|afternoon"
    r"|evening|night|am|pm|minutes?|mins?|hours?|hrs?|wks?|fortnights?|yrs?"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|" + "|".join(sorted({*_WEEKDAYS, *_MONTHS}, key=len, reverse=True))
)


class _NotATime(WhenError):
    """The words are not a time expression at all (split_when keeps looking elsewhere)."""


class _BadTime(WhenError):
    """The words are clearly a time, but unusable (past, impossible, too far ahead)."""


_FRACTIONS = (
    (re.compile(r"\b(?:an|one|1) hour and a half\b"), "90 minutes"),
    (re.compile(r"\b(\d+) and a half (minute|hour|day|week)s?\b"), r"\1.5 \2s"),
    (re.compile(r"\b(?:a )?half(?: an|-an-| a)? hour\b"), "30 minutes"),
    (re.compile(r"\b(?:a )?quarter(?: of an|-of-an)? hour\b"), "15 minutes"),
    (re.compile(r"\bhalf a day\b"), "12 hours"),
)


def _normalise(text: str) -> str:
    s = text.strip().lower().replace("a.m.", "am").replace("p.m.", "pm")
    s = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", r"\1 ", s)
    s = re.sub(r"[,;]", " ", s).rstrip(".!?")
    s = " ".join(s.split())
    for pattern, replacement in _FRACTIONS:
        s = pattern.sub(replacement, s)
    return s


def _duration_parts(s: str) -> tuple[int, float] | None:
    """(calendar months, seconds): months and years have no fixed length, so they stay apart."""
    s = s.replace(" and ", " ")  # "1 hour and 15 minutes"; "and" would also read as "an" + "d"
    if not _DURATION.fullmatch(s):
        return None
    months, seconds = 0.0, 0.0
    for m in _PART.finditer(s):
        num, unit = m["num"], _UNITS.get(m["unit"])
        if unit is None or (num in _NUMBER_WORDS and len(m["unit"]) == 1):
            return None
        amount = _NUMBER_WORDS[num] if num in _NUMBER_WORDS else float(num)
        if unit in ("month", "year"):
            months += amount * (12 if unit == "year" else 1)
        else:
            seconds += amount * _UNIT_SECONDS[unit]
    if not months.is_integer():
        return None
    return int(months), seconds


def parse_duration(text: str) -> timedelta | None:
    """A fixed length of time, for snoozes and "in ..." phrases.

    Months and years are not fixed lengths, so they give None (use parse_when("in 2 months")
    or a Cadence); so does anything beyond ten years, which can only be a typo.
    """
    parts = _duration_parts(_normalise(text)) if len(text) <= MAX_INPUT else None
    if parts is None or parts[0] or parts[1] > _MAX_DAYS * 86400:
        return None
    return timedelta(seconds=round(parts[1]))


@dataclass(frozen=True)
class _Clock:
    """Time-of-day words found in a phrase, and the phrase without them."""

    spec: re.Match[str] | None
    bare: re.Match[str] | None
    daypart: re.Match[str] | None
    rest: tuple[str, ...]


def _find_clock(s: str) -> _Clock:
    specs = list(_CLOCK.finditer(s))
    bares = [] if specs else list(_BARE_AT.finditer(s))
    parts = list(_DAYPART.finditer(s))
    if len(specs) + len(bares) > 1 or len(parts) > 1:
        raise _NotATime(f'"{s}" has more than one time of day. {_EXAMPLES}')
    spans = [m.span() for m in (*specs, *bares, *parts)]
    rest = "".join(ch for i, ch in enumerate(s) if not any(a <= i < b for a, b in spans))
    words = tuple(rest.split())
    if words[:1] == ("on",):
        words = words[1:]
    return _Clock(
        specs[0] if specs else None, bares[0] if bares else None, parts[0] if parts else None, words
    )


def _clock_time(clock: _Clock, evening: bool) -> time | None:
    """The typed time of day; a bare "at 5" means 17:00 because nobody networks at 5am."""
    part = clock.daypart["part"] if clock.daypart else None
    if m := clock.spec:
        if m["word"]:
            return time(0) if m["word"] == "midnight" else time(12)
        hour, minute = int(m["h12"] or m["h24"]), int(m["m12"] or m["m24"] or 0)
        if m["ampm"]:
            if not 1 <= hour <= 12:
                raise _BadTime(f'There is no such time as "{m[0].strip()}". {_EXAMPLES}')
            hour = hour % 12 + (12 if m["ampm"] == "pm" else 0)
        if hour > 23 or minute > 59:
            raise _BadTime(f'There is no such time as "{m[0].strip()}". {_EXAMPLES}')
        return time(hour, minute)
    if m := clock.bare:
        hour = int(m["h"])
        if hour > 23:
            raise _BadTime(f'There is no such time as "{m[0].strip()}". {_EXAMPLES}')
        afternoon = evening or part in ("afternoon", "evening", "night")
        if 1 <= hour <= 11 and (afternoon or (hour <= 7 and part != "morning")):
            hour += 12
        return time(hour)
    return _DAYPART_TIMES[part] if part else None


def _dateparser_date(phrase: str, now_local: datetime, tz: ZoneInfo) -> date | None:
    """Only the date: its offsets can be stale across DST, and we read the time ourselves."""
    import dateparser  # lazy: the first import and parse cost ~100 ms the review path never needs

    result = dateparser.parse(
        phrase,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "TIMEZONE": str(tz),
            "RELATIVE_BASE": now_local.replace(tzinfo=None),
        },
    )
    return None if result is None else result.date()


def _shape(words: tuple[str, ...]) -> str | None:
    letters = []
    for w in words:
        if w in _WEEKDAYS:
            letters.append("W")
        elif w in _MONTHS:
            letters.append("M")
        elif (m := _DAY_NUMBER.fullmatch(w)) and 1 <= int(m[1]) <= 31:
            letters.append("D")
        elif re.fullmatch(r"\d{4}", w):
            letters.append("Y")
        elif w in _SHAPE_LETTERS:
            letters.append(_SHAPE_LETTERS[w])
        else:
            return None
    return "".join(letters)


_Fits = Callable[[date], bool]  # whether the phrase's time of day on that date is still ahead


def _named_date(words: tuple[str, ...], now_local: datetime, tz: ZoneInfo, fits: _Fits) -> date:
    """Weekday and month-name phrases, checked against a grammar before dateparser sees them."""
    shape = _shape(words)
    phrase = " ".join(words)
    if shape is None or not _DATEPARSER_SHAPES.fullmatch(shape):
        raise _NotATime(f'I didn\'t understand "{phrase}" as a time. {_EXAMPLES}')
    found = _dateparser_date(phrase, now_local, tz)
    today = now_local.date()
    if found is None:
        raise _BadTime(f'There is no such date as "{phrase}". {_EXAMPLES}')
    if "M" in shape and "Y" not in shape:
        # dateparser treats today's date as past even when the time is still ahead.
        same_day_next_year = (found.month, found.day) == (today.month, today.day)
        if same_day_next_year and found.year == today.year + 1 and fits(today):
            found = today
    if "M" in shape and "W" in shape:
        said = next(_WEEKDAYS[w] for w in words if w in _WEEKDAYS)
        if found.weekday() != said:
            actual = calendar.day_name[found.weekday()]
            raise _BadTime(f"{found.day} {_MONTH_NAMES[found.month - 1]} is a {actual}.")
    return found


def _slash_date(m: re.Match[str], today: date, fits: _Fits) -> date:
    """Only unambiguous slash dates: "3/4" is March 4 to some users and 3 April to others."""
    a, b = int(m[1]), int(m[2])
    if a <= 12 and b <= 12 and a != b:
        day_first, month_first = f"{a} {_MONTH_NAMES[b - 1]}", f"{_MONTH_NAMES[a - 1]} {b}"
        raise _BadTime(
            f'"{m[0]}" could be {day_first} or {month_first}; write the month as a word, '
            f'e.g. "{day_first.lower()}" or "{month_first.lower()}".'
        )
    day, month = (b, a) if b > 12 else (a, b)
    try:
        if m[3]:
            return date(int(m[3]) + (2000 if len(m[3]) == 2 else 0), month, day)
        found = date(today.year, month, day)
        return found if fits(found) else date(today.year + 1, month, day)
    except ValueError:
        raise _BadTime(f'There is no such date as "{m[0]}". {_EXAMPLES}') from None


def _day_of_month(day: int, today: date, fits: _Fits) -> date:
    """The next such day still ahead; dateparser returns this month's "15th" even when past."""
    for ahead in range(13):
        first = _add_months(today.replace(day=1), ahead)
        if day <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=day)
            if candidate >= today and fits(candidate):
                return candidate
    raise _BadTime(f"There is no day {day} in any month. {_EXAMPLES}")


_BUSINESS_DAYS = re.compile(
    rf"in (?P<n>\d+|{'|'.join(w for w in _NUMBER_WORDS if ' ' not in w)}) "
    r"(?:business|working|work) days?|in (?P<n2>\d+) weekdays?"
)
_FROM_BASE = re.compile(r"(?:in )?(?P<dur>.+?) (?:from|after) (?P<base>.+)")
_PAST = re.compile(
    r"(?:last|past|previous) (?:week|weekend|month|year|night|time)"
    rf"|(?:(?:{_NUM}) )?[a-z]+ ago|in -\s*\d.*|-\s*\d+(?:\.\d+)? ?[a-z]+(?: ago)?"
)


def _refuse_the_past(phrase: str, typed: str) -> None:
    """ "last week", "3 days ago", "in -3 days": clearly times, clearly behind us."""
    if _PAST.fullmatch(phrase) and (
        not phrase.endswith(" ago") or _duration_parts(phrase[: -len(" ago")]) is not None
    ):
        raise _BadTime(f'"{typed}" is in the past; a reminder needs a time ahead. {_EXAMPLES}')


def _count(word: str | None) -> int:
    if not word:
        return 0
    return _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)


def _add_business_days(day: date, n: int) -> date:
    if not 1 <= n <= 260:
        raise _BadTime(f"Give between 1 and 260 working days. {_EXAMPLES}")
    while n:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day


def _weekend(phrase: str, today: date, fits: _Fits) -> date:
    """Saturday of this weekend (today, on a Saturday; Sunday once Saturday's time has
    gone); "next weekend" is the one after."""
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    if today.weekday() == 6:
        saturday = today - timedelta(days=1)
    if phrase == "next weekend":
        return saturday + timedelta(days=7)
    for day in (saturday, saturday + timedelta(days=1)):
        if day >= today and fits(day):
            return day
    raise _BadTime('This weekend is nearly over. Try "next weekend" or "next saturday".')


def _late_tonight(now: datetime, tz: ZoneInfo) -> datetime:
    """Late in the evening, "tonight" is the next half hour at least 15 minutes away."""
    local = now.astimezone(tz)
    soon = (local + timedelta(minutes=15)).replace(second=0, microsecond=0)
    soon += timedelta(minutes=(30 - soon.minute % 30) % 30)
    if soon.date() != local.date():
        raise _BadTime(
            'It is too late for "tonight". Try "in 30 minutes", "tomorrow 9am" or '
            '"tomorrow evening".'
        )
    return _at(soon.date(), soon.time(), tz)


def _from_base(
    said: str,
    moved: tuple[int, float],
    base: str,
    now: datetime,
    tz: ZoneInfo,
    default_time: time,
    strict: bool,
) -> date:
    """ "a week from friday", "3 days after tomorrow": whole days counted from a day."""
    months, seconds = moved
    if seconds % 86400:
        raise _BadTime(f'"{said}" from a day needs whole days or weeks. {_EXAMPLES}')
    today = now.astimezone(tz).date()
    if base in ("today", "now") or _WEEKDAYS.get(base) == today.weekday():
        start = today  # "a week from friday", said on a Friday: a week from today
    else:
        try:
            start = _parse(base, now, tz, default_time, strict).astimezone(tz).date()
        except _BadTime:  # the base day may be today even when its hour has passed
            midnight = _at(today, time(0), tz) - timedelta(seconds=1)
            start = _parse(base, midnight, tz, default_time, strict).astimezone(tz).date()
    return _add_months(start, months) + timedelta(days=int(seconds // 86400))


def _future_example(phrase: str, when: datetime, now: datetime, tz: ZoneInfo) -> str:
    """An example that is ahead: for a date with a year, the same date in a year to come."""
    if not re.search(r"\b\d{4}\b", phrase):
        return _EXAMPLES[0].lower() + _EXAMPLES[1:]
    local = when.astimezone(tz)
    today = now.astimezone(tz).date()
    for years in range(1, 12):
        try:
            moved = local.replace(year=local.year + years)
        except ValueError:  # 29 February
            continue
        if moved.date() > today:
            return f'e.g. "{moved:%Y-%m-%d %H:%M}" or "in 3 days".'
    return _EXAMPLES


def _iso_example(now: datetime, tz: ZoneInfo) -> str:
    return f"{now.astimezone(tz).date() + timedelta(days=7):%Y-%m-%d} 09:30"


def _dated(exc: WhenError, now: datetime, tz: ZoneInfo) -> WhenError:
    """The same error with its dated example filled in (a week after `now`)."""
    return type(exc)(str(exc).replace(_ISO_EXAMPLE, _iso_example(now, tz)))


def _parse(s: str, now: datetime, tz: ZoneInfo, default_time: time, strict: bool) -> datetime:
    """The shared parser; `strict` (for split_when) refuses bare durations and words like "sat"."""
    if not s:
        raise _NotATime(f"Please say when. {_EXAMPLES}")
    now_local = now.astimezone(tz)
    today = now_local.date()
    clock = _find_clock(s)
    words = clock.rest
    phrase = " ".join(words)
    tonight = phrase == "tonight"
    typed = _clock_time(clock, evening=tonight)
    wall = typed or (_TONIGHT if tonight else default_time)

    def fits(day: date) -> bool:
        return _at(day, wall, tz).timestamp() > now.timestamp()

    _refuse_the_past(phrase, s)
    exact: datetime | None = None
    if tonight and typed is None and not fits(today):
        exact = _late_tonight(now, tz)  # "tonight" at 22:30: soon, not 20:00 gone by
    relative = None
    if words[:1] == ("in",):
        relative = _duration_parts(" ".join(words[1:]))
    elif not strict and words:
        relative = _duration_parts(phrase)
    if strict and typed is None and phrase in _WORDS_NOT_ALONE:
        raise _NotATime(f'"{phrase}" alone is not a time here. {_EXAMPLES}')

    if not words:
        if typed is None:
            raise _NotATime(f'I didn\'t understand "{s}" as a time. {_EXAMPLES}')
        this = clock.daypart is not None and clock.daypart["this"]
        day = today if this or fits(today) else today + timedelta(days=1)
    elif phrase in ("today", "tonight"):
        day = today
    elif phrase in ("tomorrow", "tmrw", "tmr"):
        day = today + timedelta(days=1)
    elif phrase in ("day after tomorrow", "the day after tomorrow"):
        day = today + timedelta(days=2)
    elif phrase == "yesterday":
        day = today - timedelta(days=1)
    elif phrase == "next week":
        day = today + timedelta(days=7 - today.weekday())
    elif exact is not None:
        day = exact.date()
    elif phrase in ("this weekend", "weekend", "the weekend", "at the weekend", "next weekend"):
        day = _weekend(phrase, today, fits)
    elif phrase in ("end of week", "end of the week", "end of this week", "week end"):
        day = today + timedelta(days=4 - today.weekday())
        if today.weekday() > 4 or not fits(day):
            shown = format_local(_at(day, wall, tz), tz)
            raise _BadTime(
                f'The end of this week ({shown}) has passed. Try "end of next week" or '
                f'"next friday".'
            )
    elif phrase in ("end of next week", "end of the next week"):
        day = today + timedelta(days=11 - today.weekday())
    elif (business := _BUSINESS_DAYS.fullmatch(phrase)) is not None:
        day = _add_business_days(today, _count(business["n"] or business["n2"]))
    elif (base := _FROM_BASE.fullmatch(phrase)) is not None and (
        moved := _duration_parts(base["dur"])
    ):
        day = _from_base(base["dur"], moved, base["base"], now, tz, default_time, strict)
    elif phrase in ("end of month", "end of the month", "month end"):
        day = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    elif relative is not None:
        months, seconds = relative
        if months > _MAX_MONTHS or seconds > _MAX_DAYS * 86400:
            raise _BadTime(f"That is more than 10 years ahead. {_EXAMPLES}")
        if months == 0 and seconds == 0:
            raise _BadTime(f'"{s}" is not in the future. {_EXAMPLES}')
        if seconds % 86400:  # minutes and hours are exact amounts of elapsed time
            if typed is not None or months:
                raise _BadTime(f'"{s}" mixes a time of day with hours or minutes. {_EXAMPLES}')
            exact = (now.astimezone(UTC) + timedelta(seconds=round(seconds))).astimezone(tz)
            day = exact.date()
        else:  # whole days land on a calendar date, at the usual time of day
            day = _add_months(today, months) + timedelta(days=seconds // 86400)
    elif m := _ISO_DATE.fullmatch(phrase):
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _BadTime(f'There is no such date as "{phrase}". {_EXAMPLES}') from None
    elif m := _SLASH_DATE.fullmatch(phrase):
        day = _slash_date(m, today, fits)
    elif (
        (shape := _shape(words))
        and re.fullmatch(r"O?E?D", shape)
        and ("E" in shape or not words[-1].isdigit())
    ):
        day = _day_of_month(int(words[-1].rstrip("stndrh")), today, fits)
    else:
        day = _named_date(words, now_local, tz, fits)

    if day > today + timedelta(days=_MAX_DAYS):  # checked on the date: year 9999 overflows UTC
        raise _BadTime(f"That is more than 10 years ahead. {_EXAMPLES}")
    if day < today - timedelta(days=_MAX_DAYS):
        shown = f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"
        raise _BadTime(f"That time is in the past: {shown}. {_EXAMPLES}")
    when = exact or _at(day, wall, tz)
    if when.timestamp() <= now.timestamp():
        raise _BadTime(
            f"That time is in the past: {format_local(when, tz)}. "
            f"Give one ahead: {_future_example(phrase, when, now, tz)}"
        )
    if when - now > timedelta(days=_MAX_DAYS):
        raise _BadTime(f"That is more than 10 years ahead. {_EXAMPLES}")
    return when


def parse_when(text: str, now: datetime, tz: ZoneInfo, default_time: time = time(9, 0)) -> datetime:
    """An absolute aware datetime (in tz) strictly after `now`, or WhenError.

    A date without a time ("friday", "in 3 days") gets default_time, so reminders arrive at a
    civil hour rather than at midnight or at whatever minute the user happened to type.
    """
    _require_aware(now, "now")
    if len(text.strip()) > MAX_INPUT:
        raise _dated(
            WhenError(f"That is too long for a time ({MAX_INPUT} characters at most). {_EXAMPLES}"),
            now,
            tz,
        )
    s = _normalise(text)
    try:
        if not s:
            raise WhenError(f"Please say when. {_EXAMPLES}")
        return _parse(s, now, tz, default_time, strict=False)
    except WhenError as exc:
        raise _dated(exc, now, tz) from None


@dataclass(frozen=True)
class Parsed:
    """A follow-up typed in one line: who, when, and what to remember."""

    who: str
    when: datetime
    when_text: str
    note: str


# A name of several words can be quoted: "Tom in a bit" friday. /contacted reads it alike.
QUOTED_NAME = re.compile(r'\s*["“”](?P<who>[^"“”]+)["“”](?P<rest>.*)', re.DOTALL)
_TOKEN = re.compile(r"[^\s,;]+")
_ONLY_TIMES = frozenset({"today", "tonight", "tomorrow", "yesterday", "now"})
_TIME_STARTS = frozenset({"today", "tonight", "tomorrow", "in", "next", "on", "at", *_WEEKDAYS})
_SPLIT_EXAMPLE = '"Maria in 3 days send her the testing notes" or "Tom next tuesday"'


def split_when(text: str, now: datetime, tz: ZoneInfo, default_time: time = time(9, 0)) -> Parsed:
    """Split "Maria in 3 days send her the testing notes" into who, when and note.

    Who is the first 1-4 words (or a quoted name) and when the longest run of up to 6 words
    after it that is a time; names come first so "May" or "Sunday" can still be people.
    A name that would end in time words ("X a week from" + "friday") is not guessed: the
    user is asked to quote the name or reword the time. Nor is a line that starts with a
    time ("next friday Maria" is not "next", on Friday): the reply shows it with who first.
    """
    _require_aware(now, "now")
    try:
        return _split_when(text, now, tz, default_time)
    except WhenError as exc:
        raise _dated(exc, now, tz) from None


# Words that end a time phrase's first half, never a name: "X a week from" + "friday".
_DANGLING = frozenset(
    {"a", "an", "in", "at", "on", "from", "after", "before", "by", "next", "this", "last",
     "the", "of", "every", "until", "till", "and", "half", "quarter", *_UNITS, *_NUMBER_WORDS}
)  # fmt: skip


def _split_when(
    text: str, now: datetime, tz: ZoneInfo, default_time: time, suggest: bool = True
) -> Parsed:
    quoted = QUOTED_NAME.match(text)
    body = quoted["rest"] if quoted else text
    tokens: list[re.Match[str]] = []
    for m in _TOKEN.finditer(body):
        tokens.append(m)
        if len(tokens) >= 11:
            break
    vocab = [bool(_VOCAB.fullmatch(t[0].lower().rstrip(".!?:"))) for t in tokens]
    starts = range(1 if tokens else 0) if quoted else range(1, min(4, len(tokens) - 1) + 1)
    for i in starts:
        begin = tokens[i].start()
        who = quoted["who"].strip() if quoted else body[:begin].rstrip(" \t\n,:-–—").strip()
        run = 0
        while i + run < len(tokens) and run < 6 and vocab[i + run]:
            run += 1
        for j in range(i + run, i, -1) if who else ():
            when_text = body[begin : tokens[j - 1].end()].rstrip(".!?:")
            if len(when_text) > MAX_INPUT:
                continue
            try:
                when = _parse(_normalise(when_text), now, tz, default_time, strict=True)
            except _NotATime:
                continue
            if not quoted and (
                _is_time(body[: tokens[j - 1].end()], now, tz, default_time)
                or never_a_name(who, now, tz, default_time)
            ):
                break  # "next" + "friday", or "tomorrow" + "Sunday": the line starts with a time
            note = body[begin + len(when_text) :].strip().lstrip("-–—:,;").strip()
            _not_guessed(who, when_text, bool(quoted), tokens, vocab)
            return Parsed(who, when, when_text, note)
    first = tokens[0][0] if tokens else ""
    lead = None if quoted else _leading_time(body, tokens, vocab, now, tz, default_time)
    who = ""
    if quoted:
        who = f'"{quoted["who"].strip()}"'
        said = f"I got who ({who}) but no time right after it."
    elif not tokens:
        said = "Please say who and when."
    elif lead is not None or first.lower() in _TIME_STARTS:
        if lead is not None and suggest and (line := _who_first(*lead, now, tz, default_time)):
            raise WhenError(
                f"Please start with who to follow up with, then when: /followup {line}."
            )
        said = "Please start with who to follow up with, then when."
    else:
        who = first
        said = f'I got who ("{first}") but no time in the next few words.'
    if who and _REPEATS.search(body) and not _REPEATS.fullmatch(who):
        said += f" For one that repeats, use /keepintouch, e.g. /keepintouch {who} every month."
    raise WhenError(
        f"{said} Write who, when, then a note, e.g. {_SPLIT_EXAMPLE}. "
        f"Times look like {_TIME_EXAMPLES}."
    )


def _is_time(text: str, now: datetime, tz: ZoneInfo, default_time: time) -> bool:
    """Whether the words are a time phrase, even one that is unusable (past, impossible)."""
    try:
        _parse(_normalise(text), now, tz, default_time, strict=True)
    except _NotATime:
        return False
    except WhenError:
        return True
    return True


def never_a_name(who: str, now: datetime, tz: ZoneInfo, default_time: time = time(9, 0)) -> bool:
    """A time that cannot be someone's name: "tomorrow", "next friday", a lower-case
    "friday". A capitalised word alone ("Sunday", "May") can be a person. /followup reads
    a line that starts with one as a time; /edit refuses one as a new name."""
    _require_aware(now, "now")
    if len(who) > MAX_INPUT:
        return False  # longer than any time is read
    words = who.split()
    if len(words) == 1 and who[:1].isupper() and who.lower() not in _ONLY_TIMES:
        return False
    return _is_time(who, now, tz, default_time)


def _leading_time(
    body: str,
    tokens: list[re.Match[str]],
    vocab: list[bool],
    now: datetime,
    tz: ZoneInfo,
    default_time: time,
) -> tuple[str, str] | None:
    """ "in 2 weeks Maria": the longest time the line starts with, and the words after it."""
    run = 0
    while run < len(tokens) and run < 6 and vocab[run]:
        run += 1
    for j in range(run, 0, -1):
        when_text = body[: tokens[j - 1].end()].rstrip(".!?:").strip()
        if _is_time(when_text, now, tz, default_time):
            return when_text, body[tokens[j - 1].end() :].strip(" \t\n,:;-–—").rstrip(".!?")
    return None


def _who_first(when_text: str, rest: str, now: datetime, tz: ZoneInfo, default_time: time) -> str:
    """The line with who first, when the words after the time are only a name (1-4
    capitalised words) that reads back as who; a suggestion, since a note there would be
    taken for a name."""
    words = rest.split()
    if not 1 <= len(words) <= 4 or not all(w[:1].isupper() for w in words):
        return ""
    line = f"{rest} {when_text}"
    try:
        parsed = _split_when(line, now, tz, default_time, suggest=False)
    except WhenError:
        return ""
    return line if (parsed.who, parsed.note) == (rest, "") else ""


_REPEATS = re.compile(
    r"\b(every|each|daily|weekly|fortnightly|biweekly|monthly|quarterly|yearly)\b", re.I
)


def _not_guessed(
    who: str, when_text: str, quoted: bool, tokens: list[re.Match[str]], vocab: list[bool]
) -> None:
    """A name whose last words belong with the time is a guess either way: ask instead."""
    words = who.split()
    if quoted or len(words) < 2:
        return
    tail = [w.lower().strip(".,:;") for w in words[1:]]
    if tail[-1] not in _DANGLING and "in" not in tail and not any(w[:1].isdigit() for w in tail):
        return
    first = words[0]
    raise _BadTime(
        f'I can\'t tell who from when here: is it "{who}", {when_text}? Or "{first}" '
        f'and a time I can\'t read ("{" ".join(words[1:])} {when_text}")? Nothing was '
        f'guessed. Put a name of several words in quotes, e.g. /followup "{who}" '
        f'{when_text}, or write the time another way, e.g. "{first} in 3 days".'
    )


_CADENCE_WORDS: dict[str, tuple[int, Unit]] = {
    "daily": (1, "days"),
    "weekly": (1, "weeks"),
    "fortnightly": (2, "weeks"),
    "biweekly": (2, "weeks"),
    "monthly": (1, "months"),
    "quarterly": (3, "months"),
    "yearly": (12, "months"),
    "annually": (12, "months"),
}
_CADENCE_UNITS: dict[str, tuple[int, Unit]] = {
    "day": (1, "days"),
    "week": (1, "weeks"),
    "fortnight": (2, "weeks"),
    "month": (1, "months"),
    "quarter": (3, "months"),
    "year": (12, "months"),
}
_CADENCE = re.compile(
    r"(?:(?P<every>every|once a|once an|once every)\s+)?(?P<num>\d+|other|"
    + "|".join(w for w in _NUMBER_WORDS if " " not in w)
    + r")?\s*(?P<unit>day|week|fortnight|month|quarter|year)s?"
)
_CADENCE_LIMIT = {"days": _MAX_DAYS, "weeks": _MAX_DAYS // 7, "months": _MAX_MONTHS}


_ON_WEEKDAY = re.compile(
    r"(?:(?:every|each) (?P<n>other|\d+ weeks on|two weeks on|second) |on |weekly on )?"
    r"(?:every |each )?(?P<day>[a-z]+?)s?"
)


def _weekday_cadence(s: str) -> Cadence | None:
    """ "every monday", "mondays", "every other friday", "every 2 weeks on tuesday"."""
    m = _ON_WEEKDAY.fullmatch(s)
    said_every = bool(m and (m["n"] or s.startswith(("every", "each", "on ", "weekly"))))
    if m is None or m["day"] not in _WEEKDAYS:
        return None
    if not said_every and (not s.endswith("s") or m["day"] in _WORDS_NOT_ALONE):
        return None  # "monday" alone is a day, not a repeat
    n = m["n"] or ""
    count = 2 if n in ("other", "second", "two weeks on") else int(n.split()[0]) if n else 1
    if not 1 <= count <= _CADENCE_LIMIT["weeks"]:
        raise WhenError(f"That repeat is longer than 10 years. {_CADENCE_EXAMPLES}")
    return Cadence(count, "weeks", weekday=_WEEKDAYS[m["day"]])


def parse_cadence(text: str) -> Cadence:
    """How often to repeat a follow-up; WhenError for zero, fractions or more than ten years."""
    s = _normalise(text)
    if len(s) > MAX_INPUT:
        raise WhenError(f"That is too long for a repeat. {_CADENCE_EXAMPLES}")
    if s in _CADENCE_WORDS:
        return Cadence(*_CADENCE_WORDS[s])
    if (on_day := _weekday_cadence(s)) is not None:
        return on_day
    m = _CADENCE.fullmatch(s)
    if m is None or not (m["every"] or m["num"]) or (m["num"] and m["every"] == "once a"):
        raise WhenError(f'I didn\'t understand "{text.strip()}" as a repeat. {_CADENCE_EXAMPLES}')
    num = m["num"] or "1"
    count = 2 if num == "other" else _NUMBER_WORDS.get(num) or int(num)
    per, unit = _CADENCE_UNITS[m["unit"]]
    count *= per
    if count < 1:
        raise WhenError(f"A repeat needs at least 1 {unit[:-1]}. {_CADENCE_EXAMPLES}")
    if count > _CADENCE_LIMIT[unit]:
        raise WhenError(f"That repeat is longer than 10 years. {_CADENCE_EXAMPLES}")
    return Cadence(count, unit)
