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

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .text import COMMON, Text, is_word

GAPS = {"..": 5, "...": 40}  # words a gap may skip
BUILTIN = ("number", "name")  # predicates, not word lists
_CLASS = re.compile(r"^\{([a-z0-9-]+)\}$")
_NOT_A_BREAK = "(?![.!?\n؟？。] )"  # a gap's token: anything but a sentence end
_MAX_EXPANSION = 500  # texts a sequence of classes may expand to in one prefix tree
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
    for a, b in itertools.pairwise(slots):
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


def _commonness(words: frozenset[str]) -> int:
    return sum(1000 if w in COMMON or not w[0].isalnum() else 1 for w in words)


class Vocabulary:
    """Word classes: each a set of phrases (token tuples), indexed by first token."""

    def __init__(self, classes: Mapping[str, Iterable[tuple[str, ...]]]):
        self.by_first: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        self.members: dict[str, list[tuple[str, ...]]] = {}  # longest first
        self._interned: dict[frozenset[str], frozenset[str]] = {}
        for name, members in classes.items():
            index: dict[str, list[tuple[str, ...]]] = {}
            self.members[name] = sorted(set(members), key=len, reverse=True)
            for member in self.members[name]:
                index.setdefault(member[0], []).append(member)
            self.by_first[name] = index

    def __contains__(self, name: str) -> bool:
        return name in self.by_first

    def intern(self, words: frozenset[str]) -> frozenset[str]:
        """One object per distinct word set, so a draft can cache work per set."""
        return self._interned.setdefault(words, words)


class Compiled:
    """A phrase bound to a vocabulary: the words that start it and the words it needs."""

    __slots__ = (
        "_regex",
        "after_gap",
        "by_word",
        "in_python",
        "key",
        "key_reach",
        "others",
        "phrase",
        "plain",
        "prefixes",
        "slots",
        "starts",
        "vocab",
    )

    def __init__(self, phrase: Phrase, vocab: Vocabulary):
        self.phrase, self.slots, self.vocab = phrase, phrase.slots, vocab
        unknown = sorted(phrase.classes() - set(vocab.by_first))
        if unknown:
            raise PatternError(f"unknown word class {{{unknown[0]}}}")
        # Where it can start: these words, or words with these prefixes, or (both None)
        # anywhere. And what a draft must contain: a word of every slot that is not
        # optional, checked with set operations before any matching.
        self.starts = None if (w0 := self._words_of(self.slots[0])) is None else vocab.intern(w0)
        self.prefixes = self._prefixes_of(self.slots[0]) if self.starts is None else None
        words = [
            None if (w := self._words_of(slot)) is None else vocab.intern(w) for slot in self.slots
        ]
        # Slots that are a plain choice of single words: a set look-up, no generators.
        self.plain = tuple(
            frozenset(seq[0][1] for seq in slot.options)
            if slot.kind == "alt"
            and not slot.optional
            and all(len(seq) == 1 and seq[0][0] == "w" for seq in slot.options)
            else None
            for slot in self.slots
        )
        # Other choices: those that begin with a word are filed under it, the rest (classes,
        # prefixes) under "", so a position only tries the choices that can start there.
        self.by_word: list[dict[str, list[Sequence]]] = []
        for slot in self.slots:
            index: dict[str, list[Sequence]] = {}
            for seq in slot.options:
                key = seq[0][1] if seq and seq[0][0] == "w" else ""
                index.setdefault(key, []).append(seq)
            self.by_word.append(index)
        required = sorted((w for w in words if w is not None), key=len)  # smallest first
        # Most phrases run as one regular expression over the draft's tokens joined by
        # spaces (C speed); a phrase with {name} needs the tokens' case and runs in Python.
        # It is compiled on first use: most phrases never meet a draft holding their words,
        # and compiling all of them would double the start-up of `netcoach review`.
        self.in_python = any(slot.kind == "name" for slot in self.slots)
        self._regex: re.Pattern[str] | None = None
        # The words a draft must contain for the phrase to be worth trying: those of its
        # rarest slot (None: it has no slot of known words; try it on every draft).
        self.key = min(required, key=_commonness) if required else None
        # The rest, checked before matching; the key is checked by whoever calls `spans`
        # (and without it, matching finds nothing anyway).
        self.others = tuple(r for r in required if r is not self.key)
        # How far (in tokens) the key's slot can sit from the start: a place to start with
        # no key word that near cannot match, so it is not tried. None when the key is
        # the first slot (the starts are its words already).
        at_key = next((k for k, w in enumerate(words) if w is self.key), 0)
        self.key_reach = sum(self._longest(s) for s in self.slots[:at_key]) if at_key else None
        # Slots right after a gap whose words are known: a gap jumps to where they occur
        # instead of trying every offset, which keeps long gaps cheap on long drafts.
        self.after_gap = {
            k: w
            for k, w in enumerate(words)
            if k and w is not None and self.slots[k - 1].kind == "gap"
        }

    def _longest(self, slot: Slot) -> int:
        """The most tokens a slot can take."""
        if slot.kind == "gap":
            return slot.gap
        if slot.kind != "alt":
            return 1
        return max(
            sum(len(self.vocab.members[value][0]) if kind == "c" else 1 for kind, value in seq)
            for seq in slot.options
        )

    @staticmethod
    def _prefixes_of(slot: Slot) -> tuple[str, ...] | None:
        if slot.kind != "alt" or slot.optional or any(seq[0][0] != "p" for seq in slot.options):
            return None
        return tuple(seq[0][1] for seq in slot.options)

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

    def _slot_regex(self, slot: Slot) -> str:
        if slot.kind == "gap":
            return f"(?:{_NOT_A_BREAK}[^ ]+ ){{0,{slot.gap}}}?"
        if slot.kind == "number":
            return r"\d[^ ]* "
        # Runs of options made only of words become one prefix tree, so the regex engine
        # rejects a position after a character or two instead of trying every option.
        parts: list[str] = []
        literal: list[str] = []
        for seq in (o for o in slot.options if o):
            expanded = self._literals(seq)
            if expanded is None:
                if literal:
                    parts.append(alternation(literal))
                    literal = []
                parts.append("".join(map(self._atom_regex, seq)))
            else:
                literal += expanded
        if literal:
            parts.append(alternation(literal))
        return f"(?:{'|'.join(parts)}){'?' if slot.optional else ''}"

    def _literals(self, seq: Sequence) -> list[str] | None:
        """Every text a sequence of words and classes can match, in the order the regex
        would try them; None when it holds a prefix or would expand too far."""
        choices: list[list[str]] = []
        size = 1
        for kind, value in seq:
            if kind == "w":
                choices.append([value + " "])
            elif kind == "c":
                members = self._member_texts(value)
                choices.append(members)
                size *= len(members)
            else:
                return None
            if size > _MAX_EXPANSION:
                return None
        return ["".join(p) for p in itertools.product(*choices)]

    def _atom_regex(self, atom: Atom) -> str:
        kind, value = atom
        if kind == "w":
            return re.escape(value) + " "
        if kind == "p":
            return re.escape(value) + "[^ ]* "
        return alternation(self._member_texts(value))

    def _member_texts(self, name: str) -> list[str]:
        """A class's members as the joined tokens' text (each word then a space), longest
        first."""
        return ["".join(t + " " for t in m) for m in self.vocab.members[name]]

    def spans(self, text: Text) -> Iterator[tuple[int, int]]:
        """Token spans (start, end exclusive) where the phrase occurs, earliest first;
        found one at a time, so a detector that needs one hit stops at the first."""
        vocab = text.vocab
        for req in self.others:
            if req.isdisjoint(vocab):
                return
        starts = self.start_positions(text)
        if self.key_reach is not None and self.key is not None:
            starts = _near(starts, text.positions_of(self.key), self.key_reach)
        last_end = -1
        if not self.in_python:  # each try runs in C
            if self._regex is None:
                self._regex = re.compile("".join(map(self._slot_regex, self.slots)))
            match, joined, at = self._regex.match, text.joined, text.joined_at
            for pos in starts:
                if pos >= last_end and (m := match(joined, at[pos])) is not None:
                    last_end = text.token_ending(m.end())
                    yield pos, last_end
            return
        landing = {
            k: sorted(p for w in ws & vocab for p in text.where(w))
            for k, ws in self.after_gap.items()
        }
        for pos in starts:
            if pos < last_end:
                continue
            end = self._match(text, pos, 0, landing)
            if end is not None:
                last_end = end
                yield pos, end

    def start_positions(self, text: Text) -> list[int]:
        if self.starts is not None:
            return text.positions_of(self.starts)
        if self.slots[0].kind == "name":
            return sorted(text.names)
        if self.prefixes is not None:
            return text.positions_of(text.starting_with(self.prefixes))
        return list(range(len(text.toks)))

    def _match(self, text: Text, pos: int, k: int, landing: dict[int, list[int]]) -> int | None:
        if k == len(self.slots):
            return pos
        toks = text.toks
        slot = self.slots[k]
        if slot.kind == "gap":
            # Skip at most `gap` tokens, none of them a sentence break.
            last = min(pos + slot.gap, text.next_break[min(pos, len(toks))])
            if k + 1 in landing:
                where = landing[k + 1]
                at_options: Iterable[int] = where[
                    bisect_left(where, pos) : bisect_right(where, last)
                ]
            else:
                at_options = range(pos, last + 1)
            for at in at_options:
                end = self._match(text, at, k + 1, landing)
                if end is not None:
                    return end
            return None
        plain = self.plain[k]
        if plain is not None:
            if pos < len(toks) and toks[pos] in plain:
                return self._match(text, pos + 1, k + 1, landing)
            return None
        if slot.kind == "alt":
            index = self.by_word[k]
            tok = toks[pos] if pos < len(toks) else ""
            for seq in (*index.get(tok, ()), *index.get("", ())):
                for after in self._sequence_ends(text, pos, seq, 0):
                    end = self._match(text, after, k + 1, landing)
                    if end is not None:
                        return end
            return None
        if pos >= len(toks):
            return None
        ok = toks[pos][0].isdigit() if slot.kind == "number" else pos in text.names
        return self._match(text, pos + 1, k + 1, landing) if ok else None

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


def _near(starts: list[int], keys: list[int], reach: int) -> list[int]:
    """The starts with a key position at most `reach` tokens after them."""
    if not keys:
        return []
    out = []
    k, last = 0, len(keys)
    for pos in starts:
        while k < last and keys[k] < pos:
            k += 1
        if k == last:
            break
        if keys[k] <= pos + reach:
            out.append(pos)
    return out


def alternation(texts: list[str]) -> str:
    """A regex matching any of `texts` (each words followed by a space), written as a
    prefix tree: the regex engine tries the options of an alternation one by one, while
    in a tree it follows one path per character and drops the others at once. When two
    texts can match at the same place (one begins the other), the one listed first is
    tried first, as in the plain alternation; if the tree cannot keep that order, the
    plain alternation is used."""
    first: dict[str, int] = {}  # each text once, where it is first listed
    for i, t in enumerate(texts):
        first.setdefault(t, i)
    tree: dict[str, Any] = {}
    for t in first:
        node = tree
        for ch in t:
            node = node.setdefault(ch, {})
        node[""] = first[t]
    tried: list[str] = []
    regex = _tree_regex(tree, "", tried)
    at = {t: i for i, t in enumerate(tried)}
    for t in first:
        for k in range(1, len(t) - 1):
            u = t[:k]
            if t[k - 1] == " " and u in first and (first[u] < first[t]) != (at[u] < at[t]):
                return "(?:" + "|".join(map(re.escape, first)) + ")"
    return regex


def _tree_regex(node: dict[str, Any], prefix: str, tried: list[str]) -> str:
    """The regex for a subtree; `tried` gets the texts in the order it tries them. Keys
    were added in the order the texts are listed, so each branch comes in the order its
    first text was listed."""
    branches = []
    for key, child in node.items():
        if key == "":
            tried.append(prefix)
            branches.append("")
            continue
        run, at = key, child  # a chain of single characters becomes one literal
        while len(at) == 1 and "" not in at:
            ((ch, at),) = at.items()
            run += ch
        branches.append(re.escape(run) + _tree_regex(at, prefix + run, tried))
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"
