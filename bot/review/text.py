"""One pass over a draft: lowered text, tokens with offsets, quotes and simple counts.

Every rule reads this shared analysis, so a review tokenises the text once however many
rules there are. Offsets always point into the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import cached_property

# Typographic apostrophes and quotes fold to ASCII with the same length, so offsets hold.
_FOLD = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "＇": "'", "“": '"', "”": '"', "„": '"'})
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]|\n")
_WORDS = re.compile(r"\w+")
# Quoted words: "…", or '…' whose apostrophes inside words ("let's") do not end the quote.
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|(?<!\w)'(?:[^'\n]|(?<=\w)'(?=\w)){1,200}'(?!\w)")
_LINK = re.compile(
    r"\b(?:https?://|www\.)\S+"
    r"|\b[a-z0-9][a-z0-9-]{0,62}\.(?:com|org|net|io|pro|gle|ly|co|dev|app|me|ai|xyz|info|biz"
    r"|uk|de|fr|eu|link|page|site|shop|store|to|gg|tv|cc)(?:/\S*)?\b"
)
# Emoji and pictographs; skin-tone modifiers are not counted separately.
_EMOJI = re.compile("[\U0001f000-\U0001f3fa\U0001f400-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")
_SHOUTED = re.compile(r"(?<!\w)[^\W\d_]{4,}(?!\w)")
# A run of end marks is consumed whole and its follower checked in Python: a lookahead
# after `+` would retry every suffix of a long run ("!!!…x"), which is quadratic.
_SENTENCE_END = re.compile(r"[.!?؟？。]+|\n+")
BREAKS = frozenset({".", "!", "?", "\n", "؟", "？", "。"})  # tokens a gap never crosses
_CLAUSE_BREAK = frozenset('.,;:!?—–-()[]"/')
# Zero-width and bidi control characters carry no words; they are ignored for matching.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F, *range(0x202A, 0x202F)], " "
)


class Text:
    """The analysed draft. Built once per review; attributes are computed on first use.

    Tokens are plain strings (`toks`), with their offsets computed only when a rule needs
    to quote one: most tokens of most drafts are never quoted.
    """

    def __init__(self, original: str):
        self.original = original
        folded = original.translate(_FOLD).translate(_INVISIBLE)
        lowered = folded.lower()
        if len(lowered) != len(folded):  # e.g. 'İ' lowers to two characters
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)
        self.lower = lowered

    @cached_property
    def toks(self) -> list[str]:
        return _TOKEN.findall(self.lower)

    @cached_property
    def offsets(self) -> list[tuple[int, int]]:
        """(start, end) of each token in `toks`."""
        return [m.span() for m in _TOKEN.finditer(self.lower)]

    @cached_property
    def words(self) -> list[str]:
        return [t for t in self.toks if _is_word(t)]

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        """Where each token occurs, so patterns start only where their first word is."""
        out: dict[str, list[int]] = {}
        for i, tok in enumerate(self.toks):
            out.setdefault(tok, []).append(i)
        return out

    @cached_property
    def cased(self) -> list[str]:
        """Each token as written (for capitalised names); offsets are shared with `toks`."""
        return [self.original[s:e] for s, e in self.offsets]

    def words_in(self, start: int, end: int) -> list[str]:
        """The words between two offsets (one sentence, say)."""
        return [t for t in _TOKEN.findall(self.lower, start, end) if _is_word(t)]

    @cached_property
    def word_set(self) -> frozenset[str]:
        """Every word, split at apostrophes as the regex `\\w+` does ("i'm": "i", "m")."""
        return frozenset(_WORDS.findall(self.lower))

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
        text = self.original
        for m in _SENTENCE_END.finditer(text):
            if m.end() < len(text) and not text[m.end()].isspace() and m[0][0] != "\n":
                continue  # "e.g" or "3.5": not the end of a sentence
            if self.original[start : m.end()].strip():
                spans.append(_trim(self.original, start, m.end()))
            start = m.end()
        if self.original[start:].strip():
            spans.append(_trim(self.original, start, len(self.original)))
        return spans

    @cached_property
    def questions(self) -> int:
        return sum(1 for s, e in self.sentences if self.original[s:e].rstrip()[-1:] in "?؟？")

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

    def clause_before(self, index: int, limit: int) -> list[str]:
        """Up to `limit` tokens before token `index`, nearest first, within its clause."""
        out: list[str] = []
        i = index - 1
        while i >= 0 and len(out) < limit:
            tok = self.toks[i]
            if tok in _CLAUSE_BREAK or tok == "but" or tok == "\n":
                break
            out.append(tok)
            i -= 1
        return out

    def token_at(self, offset: int) -> int:
        """Index of the first token starting at or after `offset`."""
        return bisect_left(self.offsets, (offset, -1))


def _is_word(token: str) -> bool:
    return token[0].isalnum() or token[0] == "_"


def is_word(token: str) -> bool:
    """A word token, not punctuation or a line break."""
    return _is_word(token)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
