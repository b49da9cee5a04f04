"""Follow-ups and contacts as the feature sees them, independent of how they are stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def name_key(name: str) -> str:
    """Contact names match case- and space-insensitively ("maria  Lopez" == "Maria Lopez")."""
    return " ".join(name.casefold().split())


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
