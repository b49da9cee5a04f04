"""One pass over a draft: lowered text, tokens with offsets, quotes and simple counts.

Every rule reads this shared analysis, so a review tokenises the text once however many
rules there are. Offsets always point into the original text.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import NamedTuple

# Typographic apostrophes and quotes fold to ASCII with the same length, so offsets hold.
_FOLD = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "＇": "'", "“": '"', "”": '"', "„": '"'})
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|(?<!\w)'[^'\n]{1,200}'(?!\w)")
_LINK = re.compile(
    r"\b(?:https?://|www\.)\S+"
    r"|\b[a-z0-9][a-z0-9-]{0,62}\.(?:com|org|net|io|pro|gle|ly|co|dev|app|me|ai|xyz|info|biz"
    r"|uk|de|fr|eu|link|page|site|shop|store|to|gg|tv|cc)(?:/\S*)?\b"
)
# Emoji and pictographs; skin-tone modifiers are not counted separately.
_EMOJI = re.compile("[\U0001f000-\U0001f3fa\U0001f400-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")
_SHOUTED = re.compile(r"(?<!\w)[^\W\d_]{4,}(?!\w)")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")
_CLAUSE_BREAK = frozenset('.,;:!?—–-()[]"/')
# Zero-width and bidi control characters carry no words; they are ignored for matching.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F, *range(0x202A, 0x202F)], " "
)


class Token(NamedTuple):
    """A word or a punctuation mark: a tuple, because a draft has hundreds of them."""

    text: str  # lowered
    start: int
    end: int


class Text:
    """The analysed draft. Built once per review; attributes are computed on first use."""

    def __init__(self, original: str):
        self.original = original
        folded = original.translate(_FOLD).translate(_INVISIBLE)
        lowered = folded.lower()
        if len(lowered) != len(folded):  # e.g. 'İ' lowers to two characters
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)
        self.lower = lowered

    @cached_property
    def tokens(self) -> list[Token]:
        make = Token._make
        return [make((m.group(), *m.span())) for m in _TOKEN.finditer(self.lower)]

    @cached_property
    def words(self) -> list[Token]:
        return [t for t in self.tokens if t.text[0].isalnum() or t.text[0] == "_"]

    @cached_property
    def quoted(self) -> list[tuple[int, int]]:
        return [m.span() for m in _QUOTED.finditer(self.lower)]

    def in_quotes(self, start: int, end: int) -> bool:
        return any(qs < start and end < qe for qs, qe in self.quoted)

    @cached_property
    def links(self) -> list[tuple[int, int]]:
        return [m.span() for m in _LINK.finditer(self.lower)]

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        start = 0
        for m in _SENTENCE_END.finditer(self.original):
            if self.original[start : m.end()].strip():
                spans.append(_trim(self.original, start, m.end()))
            start = m.end()
        if self.original[start:].strip():
            spans.append(_trim(self.original, start, len(self.original)))
        return spans

    @cached_property
    def questions(self) -> int:
        return sum(1 for s, e in self.sentences if self.original[s:e].rstrip().endswith("?"))

    @cached_property
    def exclamations(self) -> int:
        return self.original.count("!")

    @cached_property
    def emoji(self) -> list[int]:
        return [m.start() for m in _EMOJI.finditer(self.original)]

    @cached_property
    def shouted(self) -> list[tuple[int, int]]:
        """ALL-CAPS words of four letters or more (short acronyms like PR or UX are fine)."""
        return [m.span() for m in _SHOUTED.finditer(self.original) if m.group().isupper()]

    def clause_before(self, index: int, limit: int) -> list[Token]:
        """Up to `limit` tokens before token `index`, stopping at a clause boundary."""
        out: list[Token] = []
        i = index - 1
        while i >= 0 and len(out) < limit:
            tok = self.tokens[i]
            if tok.text in _CLAUSE_BREAK or tok.text == "but":
                break
            out.append(tok)
            i -= 1
        return out

    def token_at(self, offset: int) -> int:
        """Index of the first token starting at or after `offset`."""
        lo, hi = 0, len(self.tokens)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.tokens[mid].start < offset:
                lo = mid + 1
            else:
                hi = mid
        return lo


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
