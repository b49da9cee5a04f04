"""The nudge: the message a due follow-up sends, with something useful to say.

A reminder alone ("follow up with Maria") leaves the hard part, the first line, to the
user; so every nudge carries an opener from the stay-in-touch and shared-bond playbooks,
filled with what is stored about the contact, and one-tap actions.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from netcoach.bot.kernel import Button, PlaceRef, Reply, Segment, bold, code, italic, plain
from netcoach.bot.review import PlaybookSet
from netcoach.bot.timeparse import describe_delta, format_local

from .model import FollowUp

REPEAT_NOTE = "This may be a repeat: I was interrupted while sending it"
STAY_IN_TOUCH = "stay-in-touch"
SHARED_BOND = "shared-bond"
# Used only when the playbooks in force have no openers at all (all disabled or replaced).
FALLBACK_OPENERS = (
    "Hi {name}, I came across something that made me think of you — how are things going?",
    "Hi {name}! It's been a while. What are you working on these days?",
)


def buttons(followup_id: int) -> tuple[Button, ...]:
    return (
        Button("Done", f"done:{followup_id}"),
        Button("Snooze 1 day", f"snz:{followup_id}:1d"),
        Button("Snooze 1 week", f"snz:{followup_id}:1w"),
        Button("Draft", f"draft:{followup_id}"),
    )


@functools.lru_cache(maxsize=512)
def _fields(template: str) -> frozenset[str]:
    try:
        return frozenset(f for _, f, _, _ in string.Formatter().parse(template) if f is not None)
    except ValueError:  # a stray brace: not a usable template
        return frozenset({"?"})


def pick_opener(
    playbooks: PlaybookSet | None,
    followup_id: int,
    occurrence: int,
    name: str,
    bonds: Sequence[str] = (),
    note: str = "",
) -> str:
    """A filled opener, the same for the same nudge and different for the next one.

    Bond openers only when a bond is stored, note openers only when there is a note: an
    opener with an empty blank would read worse than none.
    """
    templates: list[str] = []
    for playbook_id in (STAY_IN_TOUCH, SHARED_BOND):
        try:
            templates += playbooks.get(playbook_id).openers if playbooks else ()
        except KeyError:
            continue
    have = {"name"} | ({"bond"} if bonds else set()) | ({"note"} if note.strip() else set())
    usable = [t for t in templates if _fields(t) <= have] or list(FALLBACK_OPENERS)
    template = usable[(followup_id * 7919 + occurrence) % len(usable)]
    bond = bonds[occurrence % len(bonds)] if bonds else ""
    return template.format(name=name, bond=bond, note=note.strip())


def build_nudge(
    place: PlaceRef,
    followup: FollowUp,
    *,
    now: datetime,
    tz: ZoneInfo,
    occurrence: int,
    bonds: Sequence[str] = (),
    playbooks: PlaybookSet | None = None,
    late: timedelta | None = None,
    handed_over: bool = False,
    repeat: bool = False,
) -> Reply:
    name = followup.contact_name
    parts: list[Segment] = []
    if handed_over:
        parts += [plain("I couldn't reach you when this was due, so here it is now.\n\n")]
    parts += [bold(f"Time to follow up with {name}"), plain("\n")]
    if followup.note:
        parts += [plain("Note: "), italic(followup.note), plain("\n")]
    if followup.last_contacted is not None:
        since = describe_delta(now - followup.last_contacted)
        parts += [plain(f"Last contact: {since} ago.\n")]
    else:
        parts += [plain("No contact with them logged yet.\n")]
    if followup.cadence:
        parts += [plain(f"You asked to keep in touch {followup.cadence}.\n")]
    if late is not None:
        parts += [plain(f"Due {describe_delta(late)} ago while I was offline.\n")]
    elif handed_over:
        parts += [plain(f"It was due {format_local(followup.due_at, tz)}.\n")]
    if repeat:
        parts += [plain(f"({REPEAT_NOTE}; if you already have it, ignore this.)\n")]
    opener = pick_opener(playbooks, followup.id, occurrence, name, bonds, followup.note)
    parts += [plain("\nA way to open: "), italic(opener), plain("\n\n")]
    parts += [
        plain("Done, snooze, or tap Draft and send me your message to review. "),
        code(f"#{followup.id}"),
    ]
    return Reply(place, tuple(parts), buttons(followup.id), private=True, kind="nudge")
