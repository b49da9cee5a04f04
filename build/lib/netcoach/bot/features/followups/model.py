"""Follow-ups and contacts as the feature sees them, independent of how they are stored."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

_NOT_ALNUM = re.compile(r"[^\w]+|_")


def name_key(name: str) -> str:
    """Contact names match case- and space-insensitively ("maria  Lopez" == "Maria Lopez")."""
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


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    user_id: int
    name: str
    handle: str
    notes: str
    last_contacted: datetime | None
    bonds: tuple[str, ...] = ()


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
