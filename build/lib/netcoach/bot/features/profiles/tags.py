"""Profile tags: free text in, a matching key out.

"NYC", "new york city" and "New-York City" must meet, and so must "Café" and "cafe",
"hikes" and "hike". Keys fold case, accents, punctuation and simple plurals, then map
aliases from `aliases.yaml` next to this module (data, so adding an alias needs no code).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

from netcoach.bot.yamlsafe import load_yaml

ALIASES_FILE = Path(__file__).resolve().parent / "aliases.yaml"
MAX_TAG_CHARS = 80
_SEPARATORS = re.compile(r"[,;\n]+")
_NOT_WORD = re.compile(r"[^\w]+")


class TagError(ValueError):
    """A tag value that cannot be used, worded for the user."""


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a phrase, plural words singular."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _NOT_WORD.sub(" ", bare).split()
    if len(words) > 1 and words[0] == "the":  # "the Faroes" is "Faroes"
        words = words[1:]
    return " ".join(_singular(w) for w in words)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class Tags:
    """Normalises tag values with an alias table (canonical display name per key)."""

    def __init__(self, aliases: Mapping[str, Iterable[str]]):
        self.canonical: dict[str, str] = {}  # key -> display name
        self.alias_of: dict[str, str] = {}  # folded alias -> key
        for name, others in aliases.items():
            key = fold(name)
            self.canonical[key] = name
            for alias in (name, *others):
                self.alias_of[fold(alias)] = key

    @classmethod
    def load(cls, path: Path = ALIASES_FILE) -> Tags:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(a, str) for a in v)
            for k, v in data.items()
        ):
            raise TagError(f"{path}: aliases must map a name to a list of other names")
        return cls(data)

    def key(self, value: str) -> str:
        folded = fold(value)
        return self.alias_of.get(folded, folded)

    def display(self, key: str, typed: str) -> str:
        return self.canonical.get(key, typed.strip())

    def parse(self, values: str) -> list[tuple[str, str]]:
        """Comma-separated values as (key, display) pairs, duplicates removed, in order."""
        out: dict[str, str] = {}
        for raw in _SEPARATORS.split(values):
            value = " ".join(raw.split())
            if not value:
                continue
            if len(value) > MAX_TAG_CHARS:
                raise TagError(f"'{value[:30]}…' is too long for a tag ({MAX_TAG_CHARS} max).")
            key = self.key(value)
            if not key:
                raise TagError(f"'{value}' has no letters or digits to match on.")
            out.setdefault(key, self.display(key, value))
        return list(out.items())
