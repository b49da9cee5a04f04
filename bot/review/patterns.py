"""Token patterns: what a playbook phrase means, and where it occurs in a draft.

A phrase is a sequence of slots over the draft's tokens, written one alternative a line:

    free trial                    words, matched whole and case-insensitively
    recommend*                    a word starting with "recommend"
    (could|would|can) you         one of these (each may be several words or a {class})
    (just)? checking in           an optional part
    {mine} .. {offering}          a word class from the vocabulary; `..` skips up to five
                                  words and `...` up to forty, never across a sentence end
    {number}, {name}              any number; a capitalised word (a name, usually)

Classes carry the concepts (who: {self}, {mine}, {you}; what: {offering}, {cta}…), so a
phrase says who does what to whom instead of listing topic words. Matching is linear in
practice: a phrase is tried only where its first slot's words occur, and only when the
draft contains a word of its most selective slot (a set intersection, done in C).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .text import BREAKS, Text, is_word

GAPS = {"..": 5, "...": 40}  # words a gap may skip
BUILTIN = ("number", "name")  # predicates, not word lists
_CLASS = re.compile(r"^\{([a-z0-9-]+)\}$")
_ITEM = re.compile(r"\((?P<group>[^()]*)\)(?P<optional>\?)?|(?P<word>[^\s()]+)")

Atom = tuple[str, str]  # ("w", word) | ("p", prefix) | ("c", class name)
Sequence = tuple[Atom, ...]


class PatternError(ValueError):
    """A phrase that cannot be compiled; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Slot:
    kind: str  # "alt" | "gap" | "number" | "name"
    options: tuple[Sequence, ...] = ()  # for "alt": each a sequence; () in it = optional
    gap: int = 0

    @property
    def optional(self) -> bool:
        return () in self.options


@dataclass(frozen=True, slots=True)
class Phrase:
    """One alternative of a rule, as written, with the example text it must match."""

    source: str
    slots: tuple[Slot, ...]
    example: str | None = None  # required unless the phrase is plain words

    @property
    def plain(self) -> bool:
        """Plain words (a word* at most): the phrase is its own example."""
        return all(
            s.kind == "alt" and len(s.options) == 1 and all(a[0] in "wp" for a in s.options[0])
            for s in self.slots
        )

    def classes(self) -> set[str]:
        return {a[1] for s in self.slots for seq in s.options for a in seq if a[0] == "c"}


def parse_phrase(
    source: str, tokenize: Callable[[str], list[str]], example: str | None = None
) -> Phrase:
    """Compile one written alternative; PatternError says what is wrong with it."""
    slots: list[Slot] = []
    pos = 0
    text = source.strip()
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _ITEM.match(text, pos)
        if m is None:
            raise PatternError(f"unbalanced parentheses at '{text[pos:]}'")
        pos = m.end()
        if m["word"] is not None:
            raw = m["word"]
            if raw in GAPS:
                slots.append(Slot("gap", gap=GAPS[raw]))
            elif _CLASS.match(raw) and _CLASS.match(raw)[1] in BUILTIN:  # type: ignore[index]
                slots.append(Slot(_CLASS.match(raw)[1]))  # type: ignore[index]
            else:
                slots += [Slot("alt", (seq,)) for seq in _sequence(raw, tokenize)]
            continue
        options = [_flatten(_sequence(alt, tokenize)) for alt in m["group"].split("|")]
        if any(not o for o in options):
            raise PatternError(f"'({m['group']})' has an empty choice; write (a)? for optional")
        if m["optional"]:
            options.append(())
        slots.append(Slot("alt", tuple(options)))
    if not slots:
        raise PatternError("an empty phrase")
    if slots[0].kind == "gap" or slots[-1].kind == "gap":
        raise PatternError("'..' must stand between two words")
    if slots[0].optional or slots[-1].optional:
        raise PatternError("a phrase cannot start or end with an optional (…)?")
    for a, b in zip(slots, slots[1:], strict=False):
        if a.kind == b.kind == "gap":
            raise PatternError("two gaps in a row")
    return Phrase(source, tuple(slots), example)


def _sequence(raw: str, tokenize: Callable[[str], list[str]]) -> list[Sequence]:
    """A written alternative as atoms, one slot per word: "check out" -> 2 atoms."""
    out: list[Sequence] = []
    for word in raw.split():
        m = _CLASS.match(word)
        if m:
            if m[1] in BUILTIN:
                raise PatternError(f"{word} cannot be used inside ( ): write it on its own")
            out.append((("c", m[1]),))
        elif word.endswith("*") and len(word) > 1:
            if "*" in word[:-1] or not is_word(word):
                raise PatternError(f"'{word}': '*' is only allowed at the end of a word")
            out.append((("p", word[:-1].lower()),))
        elif "*" in word or "{" in word or "}" in word:
            raise PatternError(f"'{word}' is neither a word, a word*, nor a {{class}}")
        else:
            out += [(("w", tok),) for tok in tokenize(word.lower())]
    return out


def _flatten(seqs: list[Sequence]) -> Sequence:
    return tuple(atom for seq in seqs for atom in seq)


class Vocabulary:
    """Word classes: each a set of phrases (token tuples), indexed by first token."""

    def __init__(self, classes: Mapping[str, Iterable[tuple[str, ...]]]):
        self.by_first: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        for name, members in classes.items():
            index: dict[str, list[tuple[str, ...]]] = {}
            for member in sorted(set(members), key=len, reverse=True):  # longest first
                index.setdefault(member[0], []).append(member)
            self.by_first[name] = index

    def __contains__(self, name: str) -> bool:
        return name in self.by_first


class Compiled:
    """A phrase bound to a vocabulary: the words that start it and the words it needs."""

    __slots__ = ("anchor", "phrase", "slots", "starts", "vocab")

    def __init__(self, phrase: Phrase, vocab: Vocabulary):
        self.phrase, self.slots, self.vocab = phrase, phrase.slots, vocab
        unknown = sorted(phrase.classes() - set(vocab.by_first))
        if unknown:
            raise PatternError(f"unknown word class {{{unknown[0]}}}")
        self.starts = self._words_of(self.slots[0])  # None: may start anywhere
        candidates = [w for w in map(self._words_of, self.slots) if w is not None]
        self.anchor = min(candidates, key=len) if candidates else None

    def _words_of(self, slot: Slot) -> frozenset[str] | None:
        """Every word the slot can begin with, or None when that cannot be listed."""
        if slot.kind != "alt" or slot.optional:
            return None
        words: set[str] = set()
        for seq in slot.options:
            kind, value = seq[0]
            if kind == "w":
                words.add(value)
            elif kind == "c":
                words |= self.vocab.by_first[value].keys()
            else:
                return None
        return frozenset(words)

    def spans(self, text: Text) -> list[tuple[int, int]]:
        """Token spans (start, end exclusive) where the phrase occurs, earliest first."""
        if self.anchor is not None and self.anchor.isdisjoint(text.positions):
            return []
        if self.starts is None:
            starts: Iterable[int] = range(len(text.toks))
        else:
            found = self.starts & text.positions.keys()
            starts = sorted(p for w in found for p in text.positions[w])
        out = []
        last_end = -1
        for pos in starts:
            if pos < last_end:
                continue
            end = self._match(text, pos, 0)
            if end is not None:
                out.append((pos, end))
                last_end = end
        return out

    def _match(self, text: Text, pos: int, k: int) -> int | None:
        if k == len(self.slots):
            return pos
        toks = text.toks
        slot = self.slots[k]
        if slot.kind == "gap":
            for skip in range(slot.gap + 1):
                at = pos + skip
                if at > len(toks) or (skip and toks[at - 1] in BREAKS):
                    break
                end = self._match(text, at, k + 1)
                if end is not None:
                    return end
            return None
        if slot.kind == "alt":
            for seq in slot.options:
                for after in self._sequence_ends(text, pos, seq, 0):
                    end = self._match(text, after, k + 1)
                    if end is not None:
                        return end
            return None
        if pos >= len(toks):
            return None
        tok = toks[pos]
        if slot.kind == "number":
            ok = tok[0].isdigit()
        else:  # name
            written = text.cased[pos]
            ok = is_word(tok) and written[:1].isupper() and not written.isupper()
        return self._match(text, pos + 1, k + 1) if ok else None

    def _sequence_ends(self, text: Text, pos: int, seq: Sequence, i: int) -> Iterable[int]:
        """Every position where `seq[i:]` can end when it starts at `pos`."""
        if i == len(seq):
            yield pos
            return
        toks = text.toks
        if pos >= len(toks):
            return
        kind, value = seq[i]
        tok = toks[pos]
        if kind == "w":
            if tok == value:
                yield from self._sequence_ends(text, pos + 1, seq, i + 1)
        elif kind == "p":
            if is_word(tok) and tok.startswith(value):
                yield from self._sequence_ends(text, pos + 1, seq, i + 1)
        else:
            for member in self.vocab.by_first[value].get(tok, ()):
                end = pos + len(member)
                if tuple(toks[pos:end]) == member:
                    yield from self._sequence_ends(text, end, seq, i + 1)
