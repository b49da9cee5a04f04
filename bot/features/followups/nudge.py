"""The nudge: the message a due follow-up sends, with something useful to say.

A reminder alone ("follow up with Maria") leaves the hard part, the first line, to the
user; so every nudge carries an opener from the stay-in-touch and shared-bond playbooks,
filled with what is stored about the contact, and one-tap actions.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from netcoach.bot.kernel import Button, PlaceRef, Reply, Segment, bold, code, italic, plain
from netcoach.bot.review import PlaybookSet, ReviewError, review
from netcoach.bot.timeparse import describe_delta, format_local

from .model import FollowUp

REPEAT_NOTE = "This may be a repeat: I was interrupted while sending it"
STAY_IN_TOUCH = "stay-in-touch"
SHARED_BOND = "shared-bond"
# Openers that claim nothing the bot cannot know (no "I saw your news", no "our chat"):
# the pool when no note or bond can be used, and the fallback when every playbook opener
# makes a claim or has been disabled. Each passes the follow-up review (a test checks).
PLAIN_OPENERS = (
    "Hi {name}, how are things going on your side? I'd love to hear what you're working on "
    "these days.",
    "Hi {name}, I hope you're well! What are you working on at the moment, and is there "
    "anything I can help with?",
    "Hi {name}, you came to mind today — how is everything going? Anything I can help with "
    "at the moment?",
)
FALLBACK_OPENERS = PLAIN_OPENERS  # the name earlier versions exported
A_WHILE = timedelta(days=30)  # "It's been a while" only after this long without contact
# Words that claim something happened (news seen, a chat had, a thing found): an opener
# may say them only when the bot knows they are true, and it never does.
_CLAIMS = re.compile(
    r"\b(?:i|we) (?:saw|came across|found|read|heard|remembered|was at|were at|talked|met)\b"
    r"|\b(?:came up|reminded me|made me think|our chat|our conversation|as promised"
    r"|you mentioned|i mentioned|news|congrat\w*|this week|when i saw)\b",
    re.IGNORECASE,
)
_SINCE = re.compile(r"\b(?:it's|it has|it is) been a while\b", re.IGNORECASE)


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


# -- turning a private note into words a person would send ---------------------------------

_DETERMINER = r"(?:the|a|an|my|our|your|her|his|their|some|this|that|these|those|\d+|[A-Z]\w*)"
_OBJECT_PRONOUN = r"(?:her|him|them|you)"
_TRAILING = re.compile(
    r"\s+(?:asap|soon|today|tomorrow|later|again|too|this week|next week|as promised)$",
    re.IGNORECASE,
)
_NOTE_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            rf"(?:send|share|forward|email|mail|give|pass on|bring|lend)\s+"
            rf"(?:{_OBJECT_PRONOUN}\s+)?(?P<x>{_DETERMINER}\b.*)",
            re.IGNORECASE,
        ),
        "Hi {name}, I'm sending over {x}. How are things going on your side?",
    ),
    (
        re.compile(
            rf"(?:ask|check in|check|follow up)\s+(?:with\s+)?(?:{_OBJECT_PRONOUN}\s+)?"
            rf"(?:about|on|re|regarding)\s+(?P<x>{_DETERMINER}\b.*)",
            re.IGNORECASE,
        ),
        "Hi {name}, how are things going with {x}? I'd love to hear.",
    ),
    (
        re.compile(
            rf"(?:congratulate|congrats)\s+(?:{_OBJECT_PRONOUN}\s+)?(?:on|for)\s+"
            rf"(?P<x>{_DETERMINER}\b.*)",
            re.IGNORECASE,
        ),
        "Hi {name}, congratulations on {x}! What's next for you?",
    ),
    (
        re.compile(
            rf"(?:thank)\s+(?:{_OBJECT_PRONOUN}\s+)?for\s+(?P<x>{_DETERMINER}\b.*)",
            re.IGNORECASE,
        ),
        "Hi {name}, thank you for {x}. How are things going on your side?",
    ),
    (
        re.compile(rf"introduce\s+(?:{_OBJECT_PRONOUN}\s+)?to\s+(?P<x>[A-Z]\w*.*)", re.IGNORECASE),
        "Hi {name}, would an introduction to {x} be useful to you? Happy to connect you "
        "if so — and no worries if not.",
    ),
    (
        re.compile(
            r"(?P<x>(?:the|my|our|your|her|his|their)\s+\w.*)",
            re.IGNORECASE,
        ),
        "Hi {name}, I was thinking about {x} — how are things going on your side?",
    ),
)
_POSSESSIVE = {"her": "your", "his": "your", "their": "your", "them": "you", "him": "you"}
_WORD = re.compile(r"[A-Za-z']+|[^A-Za-z']+")


def _second_person(text: str) -> str:
    """The note speaks of them ("her new job"); the opener speaks to them ("your new job")."""
    return "".join(_POSSESSIVE.get(w.lower(), w) for w in _WORD.findall(text))


@functools.lru_cache(maxsize=4096)
def note_opener(note: str, name: str) -> str | None:
    """The note as an opener a person would send, when it has a shape that can be turned
    into one ("send her the testing notes" -> "I'm sending over the testing notes"); None
    when it cannot (a note is a private reminder, not a message)."""
    text = " ".join(note.split()).rstrip(".!;:,")
    text = _TRAILING.sub("", text)
    if not text or len(text) > 120 or any(c in text for c in "?{}\n"):
        return None
    if re.search(r"\b(?:i|me|i'm|i'll|i've|we|us)\b", text, re.IGNORECASE):
        return None  # "ask if I can…": whose words would these be?
    for pattern, template in _NOTE_FORMS:
        m = pattern.fullmatch(text)
        if m is not None:
            x = _second_person(m["x"]).strip()
            if len(x.split()) > 12:
                return None
            return template.replace("{x}", x).replace("{name}", name)  # x has no braces
    return None


@functools.lru_cache(maxsize=4096)
def bond_opener(bond: str, name: str) -> str | None:
    """A bond noted for the contact, said as what you have in common."""
    text = " ".join(bond.split()).rstrip(".!;:,")
    if not text or len(text) > 80 or any(c in text for c in "?{}") or _CLAIMS.search(text):
        return None
    if re.match(r"(?:we|both of us)\b", text, re.IGNORECASE):
        clause = text[0].lower() + text[1:]
        return (
            f"Hi {name}, you came to mind today, since {clause}. How are things going on your side?"
        )
    if re.search(r"\b(?:i|me|my|you|your|he|she|they)\b", text, re.IGNORECASE):
        return None
    return (
        f"Hi {name}, you came to mind today — we have {text} in common. How are things "
        "going on your side?"
    )


_STAND_IN = "Maria"  # the name an opener is reviewed with, so one review serves every name


def sendable(template: str, playbooks: PlaybookSet | None) -> bool:
    """Whether an opener passes the follow-up review (ready, nothing to warn about).
    `template` has "{name}" still in it: a contact's name does not change the verdict, so
    one review serves every contact, and the scheduler sending a burst of nudges reviews
    each template and each note once."""
    return _reviewed(template.format(name=_STAND_IN), playbooks)


_REVIEWED: dict[tuple[int, str], bool] = {}  # (id of the playbooks, text) -> sendable
_KEPT: dict[int, PlaybookSet | None] = {}  # keeps those playbooks alive, so ids stay theirs
MAX_REVIEWED = 20_000


def _reviewed(text: str, playbooks: PlaybookSet | None) -> bool:
    """Cached by the playbooks' identity: hashing a PlaybookSet would cost more than the
    review."""
    key = (id(playbooks), text)
    found = _REVIEWED.get(key)
    if found is not None:
        return found
    try:
        result = review(text, "follow-up", playbooks)
        ok = result.verdict == "ready" and all(f.severity == "tip" for f in result.findings)
    except ReviewError:
        ok = False
    if len(_REVIEWED) >= MAX_REVIEWED:
        _REVIEWED.clear()
    _KEPT.setdefault(id(playbooks), playbooks)
    _REVIEWED[key] = ok
    return ok


_USABLE: dict[tuple[int, bool], tuple[str, ...]] = {}  # (id of the playbooks, a while) -> openers


def warm_openers(playbooks: PlaybookSet | None) -> None:
    """Review every opener that needs only a name, once: the first review builds the review
    engine (a few hundred ms), which a burst of nudges should not wait for."""
    for template in (*_playbook_openers(playbooks, A_WHILE), *PLAIN_OPENERS):
        sendable(template, playbooks)


def is_warm(playbooks: PlaybookSet | None) -> bool:
    return (id(playbooks), PLAIN_OPENERS[0].format(name=_STAND_IN)) in _REVIEWED


def _playbook_openers(playbooks: PlaybookSet | None, since: timedelta | None) -> tuple[str, ...]:
    """The playbooks' openers that need only a name and claim nothing untrue (worked out
    once per set of playbooks: a burst of nudges asks for them a thousand times)."""
    a_while = since is not None and since >= A_WHILE
    key = (id(playbooks), a_while)
    if (known := _USABLE.get(key)) is None:
        known = _USABLE[key] = _usable_openers(playbooks, a_while)
        _KEPT.setdefault(id(playbooks), playbooks)
    return known


def _usable_openers(playbooks: PlaybookSet | None, a_while: bool) -> tuple[str, ...]:
    found: list[str] = []
    for playbook_id in (STAY_IN_TOUCH, SHARED_BOND):
        try:
            found += playbooks.get(playbook_id).openers if playbooks else ()
        except KeyError:
            continue
    return tuple(
        t
        for t in found
        if _fields(t) <= {"name"} and not _CLAIMS.search(t) and (a_while or not _SINCE.search(t))
    )


def pick_opener(
    playbooks: PlaybookSet | None,
    followup_id: int,
    occurrence: int,
    name: str,
    bonds: Sequence[str] = (),
    note: str = "",
    since: timedelta | None = None,
) -> str:
    """An opener a person would send: the same for the same nudge, different for the next.

    The note is a private reminder, so it is used only when it can be turned into a
    sentence ("send her the notes" -> "I'm sending over the notes"); a bond only as what
    you have in common. Openers that claim something the bot cannot know are never used,
    and every opener offered passes the follow-up review.
    """
    turn = followup_id * 7919 + occurrence
    name_slot = "{name}"  # filled last: templates are reviewed once, whoever they are for
    own = [o for o in (note_opener(note, name_slot),) if o]
    own += [o for b in bonds if (o := bond_opener(b, name_slot))]
    generic = [*_playbook_openers(playbooks, since), *PLAIN_OPENERS]
    ordered = own[:1] if occurrence == 0 else []  # a one-off's note comes first
    pool = own + generic
    ordered += pool[turn % len(pool) :] + pool[: turn % len(pool)]
    greet = greeting_name(name)
    for template in ordered:
        if sendable(template, playbooks):
            return template.format(name=greet)
    return PLAIN_OPENERS[0].format(name=greet)


_TITLES = frozenset(
    ["dr", "prof", "professor", "mr", "mrs", "ms", "mx", "miss", "sir", "dame", "rev", "fr"]
)


def greeting_name(name: str) -> str:
    """How an opener greets a saved contact: "Maria Lopez" -> "Maria", "Dr. Jean-Luc
    O'Neil" -> "Dr. O'Neil". A name that does not start with a capitalised first name
    (one word, an initial, "the Lisbon runners") is used as saved."""
    words = name.split()
    if len(words) < 2:
        return name
    if words[0].rstrip(".").lower() in _TITLES:
        return f"{words[0]} {words[-1]}"
    first = words[0]
    if not first[:1].isupper() or len(first.rstrip(".")) < 2 or first.endswith("."):
        return name
    return first


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
    quiet = None if followup.last_contacted is None else now - followup.last_contacted
    opener = pick_opener(playbooks, followup.id, occurrence, name, bonds, followup.note, quiet)
    parts += [plain("\nA way to open: "), italic(opener), plain("\n\n")]
    parts += [
        plain("Done, snooze, or tap Draft and send me your message to review. "),
        code(f"#{followup.id}"),
    ]
    return Reply(place, tuple(parts), buttons(followup.id), private=True, kind="nudge")
