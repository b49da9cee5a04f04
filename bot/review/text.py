"""One pass over a draft: lowered text, tokens with offsets, quotes and simple counts.

Every rule reads this shared analysis, so a review tokenises the text once however many
rules there are. Offsets always point into the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from itertools import accumulate, chain, count, pairwise
from operator import add, itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functools import cached_property
else:

    class cached_property:  # stands in for functools.cached_property
        """functools.cached_property without its lock (Python 3.11 takes one on every
        first use): a draft's analysis belongs to one review on one thread."""

        def __init__(self, func: Any) -> None:
            self.func = func
            self.name = func.__name__
            self.__doc__ = func.__doc__

        def __set_name__(self, owner: type, name: str) -> None:
            self.name = name

        def __get__(self, instance: Any, owner: type | None = None) -> Any:
            if instance is None:
                return self
            value = instance.__dict__[self.name] = self.func(instance)
            return value


# Typographic apostrophes and quotes fold to ASCII with the same length, so offsets hold.
_FOLD = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "＇": "'", "“": '"', "”": '"', "„": '"'})
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]|\n")
# The same tokens, each with the spaces before it (all the characters tokens skip). The
# spaces are taken only from the start of their run, and whole: tried from every space of
# a run that no token ends ("Hi" and 4,000 spaces), they would cost its length squared.
_SPACED_TOKEN = re.compile(r"(?<![^\S\n])([^\S\n]*+)(\w+(?:'\w+)*|[^\w\s]|\n)")
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_START = re.Match.start
# Quoted words: "…", or '…' whose apostrophes inside words ("let's") do not end the quote.
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|'(?<!\w')(?:[^'\n]|(?<=\w)'(?=\w)){1,200}'(?!\w)")
_LINK = re.compile(
    r"\b(?:https?://|www\.)\S+"
    r"|\b[a-z0-9][a-z0-9-]{0,62}\.(?:com|org|net|io|pro|gle|ly|co|dev|app|me|ai|xyz|info|biz"
    r"|uk|de|fr|eu|link|page|site|shop|store|to|gg|tv|cc)(?:/\S*)?\b"
)
# A cheap test first: no "://", no "www." and no dot before a known ending means no link.
_LINK_HINT = re.compile(
    r"://|www\.|\.(?:com|org|net|io|pro|gle|ly|co|dev|app|me|ai|xyz|info|biz"
    r"|uk|de|fr|eu|link|page|site|shop|store|to|gg|tv|cc)\b"
)
_SPACE = re.compile("[ \n\t]")
_FEW_HINTS = 8
# Emoji and pictographs; skin-tone modifiers are not counted separately.
_EMOJI = re.compile("[\U0001f000-\U0001f3fa\U0001f400-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")
_FIRST_EMOJI = "\u2600"  # no emoji below it
# Runs of two letters or more with no a-z in them, found in C; case and word boundaries
# are checked after (a word of two or three capitals counts only as a neighbour).
_CAPITALS = re.compile(r"[^\W\d_a-z]{2,}")
_ASCII_CAPITALS = re.compile(r"[A-Z]{2,}")  # the same, faster, for ASCII drafts
_LETTER = re.compile(r"[^\W\d_]")
# A run of end marks is consumed whole and its follower checked in Python: a lookahead
# after `+` would retry every suffix of a long run ("!!!…x"), which is quadratic.
# Sentence ends are runs of end marks, or of line breaks. Found as one class (the regex
# engine then skips ahead in C, 2.5x faster than an alternation), a run that mixes the two
# is split again.
_SENTENCE_END = re.compile(r"[.!?؟？。\n]+")
_END_PIECE = re.compile(r"[.!?؟？。]+|\n+")
# A whole run of question marks (possessive, and only from its start: linear) that ends
# the text or is followed by a space.
_QUESTION = re.compile(r"[?؟？](?<![?؟？][?؟？])[?؟？]*+(?=\s|\Z)")
BREAKS = frozenset({".", "!", "?", "\n", "؟", "？", "。"})  # tokens a gap never crosses
_CLAUSE_BREAK = frozenset('.,;:!?—–-()[]"/')
# Zero-width and bidi control characters carry no words; they are ignored for matching.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F, *range(0x202A, 0x202F)], " "
)
# Full-width forms ("ＡＮＡ，ｈｏｗ") are ASCII letters and signs, one character for one.
_FULL_WIDTH = {0xFF01 + i: chr(0x21 + i) for i in range(0x5E)} | {0x3000: " "}
_NORMALISE = {**_FOLD, **_INVISIBLE, **_FULL_WIDTH}  # one translate pass does them all
_TO_NORMALISE = re.compile(
    "[" + re.escape("".join(map(chr, {**_FOLD, **_INVISIBLE}))) + "\uff01-\uff5e\u3000]"
)
# The most frequent words of English messages: a slot made of them tells little.
_COMMON_WORDS = (
    "i you my your we our me us it is in on at to for of a an the and or but so if as be are "
    "was were am i'm you're we're it's that this there here have has had do did does can could "
    "would will should may might just not no with from about by up out all any some what how "
    "when where why who which hi hello hey thanks thank please like love want get know "
    "think see been being much more very really"
)
COMMON = frozenset(_COMMON_WORDS.split())


class Text:
    """The analysed draft. Built once per review; attributes are computed on first use.

    Tokens are plain strings (`toks`); their offsets are added up only when a rule needs
    to quote one.
    """

    def __init__(self, original: str):
        self.original = original
        # Most drafts hold nothing to fold: a C scan for it is cheaper than translating.
        folded = original.translate(_NORMALISE) if _TO_NORMALISE.search(original) else original
        self.lower = _lowered(folded)
        self._folded = folded
        self._positions: dict[int, list[int]] = {}
        self._starting: dict[tuple[str, ...], frozenset[str]] = {}

    @cached_property
    def toks(self) -> list[str]:
        """The tokens, lower-cased: the cased ones joined, lowered and split, all in C
        (tokenising once more would cost as much as the whole of it)."""
        return self._joined_lower.split(" ") if self.cased else []

    @cached_property
    def _joined_lower(self) -> str:
        if "Σ" in self._folded:  # it lowers by context (a final "ς"): lowered in place
            return " ".join(_TOKEN.findall(self.lower))
        return _lowered(" ".join(self.cased))

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        """The characters of tokens start..end-1."""
        return (self.starts[start], self.starts[end - 1] + len(self.cased[end - 1]))

    @cached_property
    def starts(self) -> list[int]:
        """Where each token starts: each is the last one's start, plus its length, plus the
        spaces before it (added up in C)."""
        spaces = map(len, map(_FIRST, self._spaced))
        return list(accumulate(map(add, spaces, chain((0,), map(len, self.cased)))))

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """(start, end) of every token in `toks`."""
        return list(zip(self.starts, map(add, self.starts, map(len, self.cased)), strict=True))

    @cached_property
    def word_counts(self) -> Counter[str]:
        """How often each word (not punctuation) occurs: counted in C, then the few
        distinct punctuation tokens dropped."""
        counts = Counter(self.toks)
        for tok in [t for t in counts if not _is_word(t)]:
            del counts[tok]
        return counts

    @cached_property
    def features(self) -> Counter[str]:
        """Each token and each pair of adjacent tokens, counted: what learnt detectors
        read (every model of a review shares them)."""
        return token_features(self.toks)

    @cached_property
    def word_count(self) -> int:
        return self.word_counts.total()

    @cached_property
    def vocab(self) -> frozenset[str]:
        """Every distinct token."""
        return frozenset(self.toks)

    def positions_of(self, tokens: frozenset[str]) -> list[int]:
        """Where any of these tokens occurs, in order. Cached by the set's identity: the
        sets are a compiled playbook's, shared by many phrases ({self}, {could-you}…)."""
        found = self._positions.get(id(tokens))
        if found is None:
            present = tokens & self.vocab
            if len(present) == 1:
                found = self.where(next(iter(present)))
            else:
                found = sorted(chain.from_iterable(map(self._where_all.__getitem__, present)))
            self._positions[id(tokens)] = found
        return found

    def starting_with(self, prefixes: tuple[str, ...]) -> frozenset[str]:
        """The draft's tokens that start with one of the prefixes (one object per set of
        prefixes, so `positions_of` caches where they are)."""
        found = self._starting.get(prefixes)
        if found is None:
            found = self._starting[prefixes] = frozenset(
                w for w in self.vocab if w.startswith(prefixes)
            )
        return found

    def where(self, token: str) -> list[int]:
        """Where a token occurs."""
        return self._where_all.get(token, [])

    @cached_property
    def _where_all(self) -> dict[str, list[int]]:
        """Every token's positions, in one pass."""
        where: dict[str, list[int]] = {}
        for i, tok in enumerate(self.toks):
            found = where.get(tok)
            if found is None:
                where[tok] = [i]
            else:
                found.append(i)
        return where

    @cached_property
    def joined(self) -> str:
        """The tokens joined by single spaces, with a space before and after each: the
        string token patterns run on as regular expressions."""
        return f" {self._joined_lower} "

    @cached_property
    def joined_at(self) -> list[int]:
        """Where each token starts in `joined` (one more entry: where the last one ends)."""
        return list(map(add, accumulate(map(len, self.toks), initial=1), count()))

    def token_ending(self, offset: int) -> int:
        """The index of the token after a match that ends at `offset` of `joined`."""
        return bisect_left(self.joined_at, offset)

    @cached_property
    def next_break(self) -> list[int]:
        """For each token, the index of the first sentence break at or after it."""
        out = [0] * (len(self.toks) + 1)
        nxt = len(self.toks)
        out[nxt] = nxt
        for i in range(len(self.toks) - 1, -1, -1):
            if self.toks[i] in BREAKS:
                nxt = i
            out[i] = nxt
        return out

    @cached_property
    def _spaced(self) -> list[tuple[str, str]]:
        """Each token as written, with the spaces before it: one pass, in C."""
        return _SPACED_TOKEN.findall(self._folded)

    @cached_property
    def cased(self) -> list[str]:
        """Each token as written (for capitalised names). Lowering changes no character's
        class, and characters it would lengthen are kept as they are, so these tokens and
        `toks` line up one for one."""
        return list(map(_SECOND, self._spaced))

    @cached_property
    def names(self) -> frozenset[int]:
        """Positions of the words that can be names: capitalised, not all capitals, not a
        common word ("I'd", "You", "The" open sentences; they name no one)."""
        return frozenset(
            i
            for i, written in enumerate(self.cased)
            if written[:1].isupper()
            and not written.isupper()
            and self.toks[i] not in COMMON
            and _is_word(self.toks[i])
        )

    def words_in(self, start: int, end: int) -> list[str]:
        """The words between two offsets (one sentence, say)."""
        return [t for t in _TOKEN.findall(self.lower, start, end) if _is_word(t)]

    @cached_property
    def quoted(self) -> list[tuple[int, int]]:
        if '"' not in self.lower and "'" not in self.lower:
            return []
        return [m.span() for m in _QUOTED.finditer(self.lower)]

    @cached_property
    def _quote_starts(self) -> list[int]:
        return [qs for qs, _ in self.quoted]

    def in_quotes(self, start: int, end: int) -> bool:
        """Whether the words lie inside quotation marks (quotes never overlap)."""
        k = bisect_left(self._quote_starts, start) - 1
        return k >= 0 and end < self.quoted[k][1]

    @cached_property
    def links(self) -> list[tuple[int, int]]:
        """Links never hold a space, so the link pattern (slow: it is tried at every
        character) runs only over the space-free stretches around a cheap hint, unless
        there are so many that one pass over the draft costs less."""
        lower = self.lower
        hints = list(_LINK_HINT.finditer(lower))
        if len(hints) > _FEW_HINTS:  # a draft full of them: one pass over all of it
            return [m.span() for m in _LINK.finditer(lower)]
        found: list[tuple[int, int]] = []
        done = 0
        for hint in hints:
            if hint.start() < done:
                continue
            start = max(lower.rfind(space, done, hint.start()) for space in " \n\t") + 1
            space = _SPACE.search(lower, hint.end())
            done = len(lower) if space is None else space.start()
            found += [m.span() for m in _LINK.finditer(lower, start, done)]
        return found

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        start = 0
        text = self.original
        for run in _SENTENCE_END.finditer(text):
            mixed = "\n" in run[0] and not run[0].isspace()
            for m in _END_PIECE.finditer(text, *run.span()) if mixed else (run,):
                if m.end() < len(text) and not text[m.end()].isspace() and m[0][0] != "\n":
                    continue  # "e.g" or "3.5": not the end of a sentence
                if text[start : m.end()].strip():
                    spans.append(_trim(text, start, m.end()))
                start = m.end()
        if text[start:].strip():
            spans.append(_trim(text, start, len(text)))
        return spans

    @cached_property
    def questions(self) -> int:
        """Sentences ending in a question mark (counted without splitting sentences)."""
        return len(_QUESTION.findall(self.original))

    @cached_property
    def exclamations(self) -> int:
        return self.original.count("!")

    @cached_property
    def emoji(self) -> list[int]:
        if self.original.isascii() or max(self.original) < _FIRST_EMOJI:  # both in C
            return []
        return list(map(_START, _EMOJI.finditer(self.original)))

    @cached_property
    def shouted(self) -> list[tuple[int, int]]:
        """ALL-CAPS words of four letters or more next to another word in capitals: a run
        of them is shouting, while an acronym among lower-case words ("the PACS server",
        "IIIT Bhubaneswar") names something, however often it recurs. Words without a-z
        are found in C, and only they are checked in Python."""
        text = self.original
        capitals = [
            m.span()
            for m in (_ASCII_CAPITALS if text.isascii() else _CAPITALS).finditer(text)
            if m[0].isupper()
            and not (m.start() and _word_char(text[m.start() - 1]))
            and not (m.end() < len(text) and _word_char(text[m.end()]))
        ]
        shouted = []
        for k, (start, end) in enumerate(capitals):
            if end - start < 4:
                continue
            after_one = k and not _LETTER.search(text, capitals[k - 1][1], start)
            before_one = k + 1 < len(capitals) and not _LETTER.search(text, end, capitals[k + 1][0])
            if after_one or before_one:
                shouted.append((start, end))
        return shouted

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
        """Index of the first token starting at or after `offset` (a quoted span's start,
        so its offsets are known)."""
        return bisect_left(self.starts, offset)


class SpanSet:
    """Spans that may overlap, asked "does anything here overlap (s, e)?" in log time."""

    __slots__ = ("max_end", "starts")

    def __init__(self, spans: Iterable[tuple[int, int]]):
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.max_end: list[int] = []
        top = -1
        for _, e in ordered:
            top = max(top, e)
            self.max_end.append(top)

    def overlaps(self, start: int, end: int) -> bool:
        k = bisect_left(self.starts, end)  # spans starting before `end`
        return k > 0 and self.max_end[k - 1] > start


def token_features(tokens: list[str]) -> Counter[str]:
    """How often each token and each pair of adjacent tokens occurs (a pair is the two
    joined by a space; punctuation counts too: a "?" after "you" says something)."""
    counts = Counter(tokens)
    counts.update(map(" ".join, pairwise(tokens)))  # str.format is 3x slower here
    return counts


def _lowered(text: str) -> str:
    """Lower case, keeping the length: a character whose lower case is longer ('İ' becomes
    two) is kept as it is, so offsets in the lowered text hold."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


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


# A quote starting mid-sentence keeps the subject and modal it hangs on ("I'd like to…").
_LEADS = frozenset(
    {"i", "we", "i'd", "we'd", "i'm", "we're", "i'll", "we'll", "i've", "we've",
     "would", "could", "can", "may", "might", "should"}
)  # fmt: skip
_JOINERS = "-'’"
_LOOK_BACK = 24  # how far a lead word or a shouted "HI" may sit before the quote


def whole_words(original: str, start: int, end: int) -> tuple[int, int]:
    """A quote widened to whole words: never "minute survey" for "3-minute survey", "like
    to add you" without its "I'd", or capitals without the "HI" before them. Each step
    looks a bounded distance, so a 4,000-character word costs one pass, not a square."""
    if start == 0 and end >= len(original.rstrip()):
        return start, end  # about the whole draft

    def inside(i: int) -> bool:  # original[i] continues the word it touches
        ch = original[i]
        return ch.isalnum() or (
            ch in _JOINERS and 0 < i < len(original) - 1 and original[i - 1].isalnum()
            and original[i + 1].isalnum()
        )  # fmt: skip

    if (
        start < end
        and not original[start].isalnum()
        and original[start] * (end - start) == (original[start:end])
    ):  # a mark quoted alone ("!"): the whole run of it, not the word before
        mark = original[start]
        while start > 0 and original[start - 1] == mark:
            start -= 1
        while end < len(original) and original[end] == mark:
            end += 1
        return start, end
    while start > 0 and inside(start) and inside(start - 1):
        start -= 1
    while end < len(original) and inside(end - 1) and inside(end):
        end += 1
    shouted = original[start:end].isupper()
    for _ in range(4 if shouted else 2):
        word_end = start
        while word_end > max(0, start - _LOOK_BACK) and original[word_end - 1].isspace():
            word_end -= 1
        word_start = word_end
        while word_start > max(0, start - _LOOK_BACK) and not original[word_start - 1].isspace():
            word_start -= 1
        word = original[word_start:word_end]
        if word_end == start or word_start == word_end:
            break
        lead = word.lower().replace("’", "'") in _LEADS
        short_caps = shouted and word.rstrip("!?,.").isupper() and len(word.rstrip("!?,.")) <= 3
        if not (lead or short_caps):
            break
        start = word_start
    return start, end
