"""Shared bonds: which profile tags two people share, ranked by how rare they are.

Research on similarity finds the effect strong when the shared trait is rare and gone
when it is common, so a bond shared by 2 of 300 members ranks above one shared by 200.
Pure functions; the repository counts, this module ranks and words.
"""

from __future__ import annotations

from dataclasses import dataclass

FIELDS: dict[str, str] = {
    "from": "where you're from (places, heritage)",
    "lives": "the city you live in",
    "communities": "communities and groups",
    "schools": "schools and universities",
    "employers": "employers, past and present",
    "interests": "interests and hobbies",
    "languages": "languages you speak",
    "events": "events you've been to",
}
FIELD_ALIASES = {
    "hometown": "from",
    "heritage": "from",
    "origin": "from",
    "city": "lives",
    "live": "lives",
    "community": "communities",
    "groups": "communities",
    "school": "schools",
    "university": "schools",
    "employer": "employers",
    "work": "employers",
    "interest": "interests",
    "hobbies": "interests",
    "hobby": "interests",
    "language": "languages",
    "event": "events",
}
VISIBILITY = ("private", "community", "off")
CAPPED = 1000  # holder counts stop here (see Profiles.HOLDER_CAP)

# One opener per field: names the bond first, then asks about them. Each must pass the
# `dm` review (a test checks them all).
_OPENERS = {
    "from": "Hi {name}! I noticed we're both from {tag} — not many of us around here. "
    "What are you working on these days?",
    "lives": "Hi {name}, I see we're both based in {tag}. How long have you been there, "
    "and what keeps you busy lately?",
    "communities": "Hi {name}, we're both in {tag}! What got you into it, and what are "
    "you working on at the moment?",
    "schools": "Hi {name}, fellow {tag} alum here! What have you been up to since?",
    "employers": "Hi {name}, I noticed we both worked at {tag}. What are you working on now?",
    "interests": "Hi {name}, I noticed we're both into {tag}! How did you get started with it?",
    "languages": "Hi {name}, fellow {tag} speaker here! Where did you pick it up?",
    "events": "Hi {name}, I see we were both at {tag}. What was the best part for you?",
}
NO_BOND_OPENER = (
    "Hi {name}, I'd love to hear what you're working on these days — what's keeping you "
    "busy at the moment?"
)


def field_name(text: str) -> str | None:
    word = text.strip().lower()
    return word if word in FIELDS else FIELD_ALIASES.get(word)


@dataclass(frozen=True, slots=True)
class SharedTag:
    field: str
    key: str
    display: str
    holders: int  # members of the community (visible profiles) who have this tag
    members: int  # members of the community with a visible profile

    @property
    def rarity(self) -> str:
        if self.members <= 2:
            return "just the two of you have shared profiles here"
        share = self.holders / self.members
        kind = "rare" if share <= 0.05 else "uncommon" if share <= 0.2 else "common"
        many = f"{self.holders:,}" if self.holders < CAPPED else f"over {CAPPED - 1:,}"
        return f"{kind}: {many} of {self.members:,} members"


def rank(shared: list[SharedTag]) -> list[SharedTag]:
    """Rarest first; ties by field order, then name, so the result is stable."""
    order = list(FIELDS)
    return sorted(shared, key=lambda t: (t.holders, order.index(t.field), t.display.lower()))


def opener(name: str, bond: SharedTag | None) -> str:
    if bond is None:
        return NO_BOND_OPENER.format(name=name)
    return _OPENERS[bond.field].format(name=name, tag=bond.display)
