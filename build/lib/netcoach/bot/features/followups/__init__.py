"""Follow-ups and keep-in-touch cadences: commands, nudges and their buttons, contacts."""

from .feature import FollowUps, Settings
from .model import Contact, FollowUp, Interaction
from .nudge import build_nudge, pick_opener
from .repository import FollowUpRepository

__all__ = [
    "Contact",
    "FollowUp",
    "FollowUpRepository",
    "FollowUps",
    "Interaction",
    "Settings",
    "build_nudge",
    "pick_opener",
]
