"""Follow-ups and contacts as the feature sees them, independent of how they are stored."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

_NOT_ALNUM = re.compile(r"[^\w]+|_")


def name_key(name: str) -> str:
    """A contact's unique key, case and spacing aside ("maria  Lopez" == "Maria Lopez");
    the repository also takes a name of the same words (name_words) for the contact."""
    return " ".join(name.casefold().split())


def name_words(name: str) -> tuple[str, ...]:
    """A name's words without case, accents or punctuation: "Dr. Jean-Luc O'Neil" ->
    ("dr", "jean", "luc", "o", "neil")."""
    bare = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in bare if not unicodedata.combining(c))
    return tuple(_NOT_ALNUM.sub(" ", bare).split())


def names_part_of(typed: str, name: str) -> bool:
    """Whether the typed words appear, in order and together, in a contact's name:
    "Jean-Luc", "jean luc" and "O'Neil" are all part of "Dr. Jean-Luc O'Neil"."""
    want, have = name_words(typed), name_words(name)
    if not want or len(want) >= len(have):
        return False
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def named(names: Sequence[tuple[int, str]], typed: str) -> int | None:
    """Among (id, name) pairs, the id of the one called `typed`: the same key, else the
    same words ("Eve-Smith" or "Éve Smith" for Eve Smith); a name with no words (emoji)
    matches only by key."""
    key, words = name_key(typed), name_words(typed)
    found = next((i for i, name in names if name_key(name) == key), None)
    if found is None and words:
        found = next((i for i, name in names if name_words(name) == words), None)
    return found


def called(names: Sequence[tuple[int, str]], typed: str) -> tuple[int | None, list[int]]:
    """The id of the one called `typed`, or else the ids of those whose name contains it
    ("Jean-Luc" for "Dr. Jean-Luc O'Neil"), with the id when that is only one."""
    found = named(names, typed)
    if found is not None or not typed.strip():
        return found, []
    like = [i for i, name in names if names_part_of(typed, name)]
    return (like[0] if len(like) == 1 else None), like


# Lower-case words that still belong to a name ("Ludwig van Beethoven").
_PARTICLES = frozenset(
    {"al", "bin", "da", "das", "de", "del", "della", "der", "di", "do", "dos", "du", "el"}
    | {"la", "le", "van", "von", "y", "zu"}
)


def same_name(a: str, b: str) -> bool:
    """Whether two names could be one person's, written fuller or shorter ("Eve" and "Eve
    Smith", "Jean Luc" and "Dr. Jean-Luc O'Neil"): a rename between them is a correction.
    Words added in lower case or with a possessive make another person: "Tom's wife",
    "Eve and Bo", "Maria's boss"."""
    if not name_words(a) or not name_words(b):
        return False
    if name_words(a) == name_words(b):
        return True
    short, full = (a, b) if len(name_words(a)) < len(name_words(b)) else (b, a)
    kept = set(name_words(short))
    for word in full.split():
        if set(name_words(word)) <= kept:
            continue
        if word.casefold().endswith(("'s", "’s")) or not (
            word[:1].isupper() or word.casefold() in _PARTICLES or not word[:1].isalpha()
        ):
            return False
    return names_part_of(short, full)


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    user_id: int
    name: str
    handle: str
    notes: str
    last_contacted: datetime | None
    bonds: tuple[str, ...] = ()

    @property
    def has_history(self) -> bool:
        """Whether the user logged anything about them (a contact, notes, a bond), which a
        rename of one of their reminders must not lose."""
        return bool(self.last_contacted or self.notes or self.handle or self.bonds)


@dataclass(frozen=True, slots=True)
class Interaction:
    at: datetime
    note: str
    source: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    user_id: int
    contact_id: int
    contact_name: str
    note: str
    cadence: str | None  # None: one-off; else a parse_cadence text such as "every 2 weeks"
    anchor: datetime | None
    occurrence: int
    due_at: datetime
    status: str
    last_contacted: datetime | None = None
