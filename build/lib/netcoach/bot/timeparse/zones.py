"""Time zones by name, with a "did you mean" for what people actually type."""

from __future__ import annotations

import difflib
import functools
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .civil import WhenError

_OFFSET = re.compile(r"^(?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::?00)?$", re.IGNORECASE)
_ABBREVIATIONS = {
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "MST": "America/Denver", "MDT": "America/Denver",
    "CST": "America/Chicago", "CDT": "America/Chicago",
    "EST": "America/New_York", "EDT": "America/New_York",
    "BST": "Europe/London", "CET": "Europe/Paris", "CEST": "Europe/Paris",
    "EET": "Europe/Athens", "EEST": "Europe/Athens", "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo", "KST": "Asia/Seoul", "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney", "NZST": "Pacific/Auckland", "WAT": "Africa/Lagos",
    "EAT": "Africa/Nairobi", "SAST": "Africa/Johannesburg", "HST": "Pacific/Honolulu",
    "AKST": "America/Anchorage", "AKDT": "America/Anchorage", "MSK": "Europe/Moscow",
    "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon", "MET": "Europe/Paris",
}  # fmt: skip


def _offset_hint(wanted: str, m: re.Match[str]) -> str:
    sign, hours = m.group(1), int(m.group(2))
    if hours > 14:
        return f'"{wanted}" is not a real offset; use a place such as "Europe/London".'
    inverted = f"Etc/GMT{'-' if sign == '+' else '+'}{hours}" if hours else "UTC"
    return (
        f'"{wanted}" never changes for summer time, so reminders drift by an hour twice a '
        f"year; a place is better (e.g. Europe/Berlin). If you really want a fixed offset, "
        f"it is {inverted} (IANA writes the sign the other way round)."
    )


def resolve_timezone(name: str) -> ZoneInfo:
    """The IANA zone for a name typed in any case; unknown names get a "did you mean" hint.

    A bare city ("london") is not accepted silently but suggested, so the user confirms the zone
    that every later reminder will use.
    """
    wanted = name.strip()
    if not wanted:
        raise WhenError('Please give a time zone, e.g. "Europe/London" or "America/New_York".')
    if "/" in wanted or wanted == "UTC":  # the common case, without listing every zone
        try:
            return ZoneInfo(wanted)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
            pass
    key = wanted.lower().replace(" ", "_")
    # Checked before the zone list: tzdata also has "EST" and "MST", fixed offsets that
    # ignore summer time, which is never what someone typing them means.
    if key.upper() in _ABBREVIATIONS:
        zone = _ABBREVIATIONS[key.upper()]
        raise WhenError(
            f'"{wanted}" is an abbreviation, not a place: it is shared by several places and '
            "does not follow their summer time, so reminders would be an hour off for part "
            f"of the year. Use a place instead: did you mean {zone}?"
        )
    if offset := _OFFSET.match(key):  # "UTC+2": Etc/GMT-2 in IANA's inverted signs
        raise WhenError(_offset_hint(wanted, offset))
    zones = available_timezones()  # ~3 ms: only for names that need a hint
    by_lower = {z.lower(): z for z in zones}
    if wanted in zones:
        return ZoneInfo(wanted)
    if key in by_lower:
        return ZoneInfo(by_lower[key])
    cities: dict[str, list[str]] = {}
    for z in sorted(zones):
        if "/" in z:
            cities.setdefault(z.rsplit("/", 1)[1].lower(), []).append(z)
    suggestions: list[str] = []
    matches = [key] if key in cities else []  # a city name alone: suggest just that city
    for match in matches or difflib.get_close_matches(key, [*by_lower, *cities], n=3, cutoff=0.6):
        for zone in cities.get(match, []) + ([by_lower[match]] if match in by_lower else []):
            if zone not in suggestions:
                suggestions.append(zone)
    if not suggestions:
        hint = ' Use a name like "Europe/London" or "America/New_York".'
    elif len(suggestions) == 1:
        hint = f" Did you mean {suggestions[0]}?"
    else:
        hint = f" Did you mean {suggestions[0]}? (or {', '.join(suggestions[1:3])})"
    raise WhenError(f'Unknown time zone "{wanted}".{hint}')


def zone_or(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """A stored zone name, or `default` when it is unset or tzdata no longer knows it (a
    reminder must still go out, at the default zone's time, rather than fail)."""
    if not name:
        return default
    try:
        return ZoneInfo(name)  # stored names were valid when stored (even "EST" once was)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    try:
        return resolve_timezone(name)
    except WhenError:
        return default


@functools.cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def matching_zones(typed: str, limit: int = 25) -> list[str]:
    """Zone names containing what was typed ("lisb", "new york"), city-prefix matches first."""
    key = typed.strip().lower().replace(" ", "_")
    names = _zone_names()
    hits = [n for n in names if key in n.lower()] if key else list(names)
    hits.sort(key=lambda n: (not n.lower().split("/")[-1].startswith(key), n))
    return hits[:limit]
