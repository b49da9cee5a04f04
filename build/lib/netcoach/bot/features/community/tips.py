"""Tips: where they come from, the rotation that shows each once, and when slots fall."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from netcoach.bot.kernel import Segment, bold
from netcoach.bot.review import PlaybookSet
from netcoach.bot.timeparse import Cadence, next_after
from netcoach.bot.timeparse.civil import at as civil_at

from .model import Community

OWN_PRINCIPLE = "From this community"


@dataclass(frozen=True, slots=True)
class Tip:
    key: str  # stable across playbook edits that keep the text: "<playbook>:<hash>" or "own:<id>"
    text: str
    principle: str  # the playbook's title, named in every posted tip


def tips_cadence(every: str) -> Cadence:
    """The stored "day" | "weekday" | "N days" as the one recurrence model."""
    if every == "weekday":
        return Cadence(1, "days", weekdays_only=True)
    return Cadence(int(every.split()[0]) if every.endswith("days") else 1, "days")


def next_slot(after: datetime, at: str, every: str, anchor: date, tz: ZoneInfo) -> datetime:
    """The first posting time strictly after `after`, in the community's zone."""
    hours, minutes = (int(x) for x in at.split(":"))
    return next_after(civil_at(anchor, time(hours, minutes), tz), tips_cadence(every), after)


def next_in_rotation(
    cycle: Sequence[str], position: int, keys: Sequence[str], rng: random.Random
) -> tuple[str, list[str], int]:
    """(tip key, cycle, position after it): each tip once per cycle, in a shuffled order.

    Tips added mid-cycle join the end of the current cycle; tips no longer selected are
    passed over. A new cycle is shuffled afresh and never starts with the tip just shown.
    """
    available = set(keys)
    order = list(cycle)
    known = set(order)
    new = [k for k in keys if k not in known]
    rng.shuffle(new)
    order += new
    while position < len(order) and order[position] not in available:
        position += 1
    if position >= len(order):
        last = order[position - 1] if 0 < position <= len(order) else None
        order = sorted(available)
        rng.shuffle(order)
        if len(order) > 1 and order[0] == last:
            order[0], order[1] = order[1], order[0]
        position = 0
    return order[position], order, position + 1


def tip_key(playbook_id: str, text: str) -> str:
    return f"{playbook_id}:{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def tip_body(tip: Tip) -> tuple[Segment, ...]:
    """A posted tip: the principle it comes from, then the one-liner."""
    return (bold(f"💡 Networking tip — {tip.principle}"), Segment("\n"), Segment(tip.text))


def slots_between(start: datetime, end: datetime, c: Community, anchor: date, tz: ZoneInfo) -> int:
    count, at = 0, start
    while count < 100:
        at = next_slot(at, c.tips_time, c.tips_every, anchor, tz)
        if at > end:
            return count
        count += 1
    return count


def builtin_tips(playbooks: PlaybookSet) -> tuple[Tip, ...]:
    return tuple(Tip(tip_key(p.id, t), t, p.title) for p in playbooks for t in p.tips)


def tips_for(builtin: Sequence[Tip], c: Community, own: Sequence[tuple[int, str]]) -> list[Tip]:
    """The tips a community rotates: its chosen playbooks' (all when none chosen), then its own."""
    chosen = set(c.tips_playbooks)
    tips = [t for t in builtin if not chosen or t.key.split(":")[0] in chosen]
    return tips + [Tip(f"own:{i}", text, OWN_PRINCIPLE) for i, text in own]
