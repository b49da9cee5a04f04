"""The review: a draft and its context in, a score, a verdict and quoted findings out.

Pure and synchronous. Playbooks are compiled once into an `Engine` (a phrase index keyed
by first word, so a review costs one pass over the tokens however many phrases there
are, plus a few regexes); `review()` only reads it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import Any

from .schema import CONTEXTS, Check, PlaybookSet, load_playbooks
from .text import Text

FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})
SECOND_PERSON = frozenset(
    {"you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'd", "you'll"}
)
NEGATORS = frozenset({"not", "no", "never", "without", "nothing", "nor", "neither", "zero"})
# "don't hesitate to book a call" negates nothing.
NOT_NEGATING_NEXT = frozenset({"hesitate", "miss", "forget", "wait", "worry", "delay"})
NEGATION_WINDOW = 5
READY_FLOOR, REVISE_CEILING = 60, 55
EXCERPT_MAX = 120

Span = tuple[int, int]


class ReviewError(ValueError):
    """The draft cannot be reviewed (empty, too long, unknown context): a user-facing message."""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    playbook: str
    principle: str  # the playbook's title, shown next to the finding
    severity: str
    message: str
    suggestion: str
    span: Span
    excerpt: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "playbook": self.playbook,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
            "span": list(self.span),
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True, slots=True)
class Review:
    context: str
    score: int
    verdict: str  # "ready" | "revise"
    signals: dict[str, Any] = field(hash=False)
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "score": self.score,
            "verdict": self.verdict,
            "signals": dict(self.signals),
            "findings": [f.to_dict() for f in self.findings],
        }


@cache
def builtin_playbooks() -> PlaybookSet:
    """The built-in playbooks, loaded once: they are immutable data."""
    return load_playbooks()


def review(text: str, context: str = "dm", playbooks: PlaybookSet | None = None) -> Review:
    """Review `text` as a draft for `context`; ReviewError for empty text or a bad context."""
    if context not in CONTEXTS:
        raise ReviewError(f"Unknown context '{context}'. Use one of: {', '.join(CONTEXTS)}.")
    if not text or not text.strip():
        raise ReviewError("The draft is empty. Send the message you want me to review.")
    return engine_for(playbooks or builtin_playbooks()).run(text, context)


def engine_for(playbooks: PlaybookSet) -> Engine:
    engine = playbooks.__dict__.get("_engine")
    if engine is None:
        engine = Engine(playbooks)
        object.__setattr__(playbooks, "_engine", engine)
    return engine


def example_problems(playbooks: PlaybookSet, only: set[str]) -> list[str]:
    """Rules (of the playbooks named in `only`) whose examples disagree with them."""
    engine = engine_for(playbooks)
    problems = []
    for playbook in playbooks:
        if playbook.id not in only:
            continue
        for check in (*playbook.detectors, *playbook.rules):
            context = sorted(check.contexts)[0]
            for text in check.examples_fail:
                if check.id not in engine.fired_ids(text, context):
                    problems.append(
                        f"{check.source}: rule {check.id}: its fail example does not fire: {text!r}"
                    )
            for text in check.examples_pass:
                if check.id in engine.fired_ids(text, context):
                    problems.append(
                        f"{check.source}: rule {check.id}: its pass example fires: {text!r}"
                    )
    return problems


class Engine:
    """Compiled playbooks: a phrase index and the checks in evaluation order."""

    def __init__(self, playbooks: PlaybookSet):
        self.playbooks = playbooks
        self.titles = {p.id: p.title for p in playbooks}
        self.checks = playbooks.checks
        # Phrases are indexed by their first two tokens (or first token only, for one-word
        # phrases and wildcards), so each position of a draft checks a handful of candidates.
        Entry = tuple[tuple[str, ...], int, bool, bool]  # tokens, check, is `unless`, has '*'
        self.index1: dict[str, list[Entry]] = defaultdict(list)
        self.index2: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        self.prefix_index: dict[str, list[Entry]] = defaultdict(list)
        for i, check in enumerate(self.checks):
            entries = [(p, False) for p in check.phrases] + [(u, True) for u in check.unless]
            for tokens, is_unless in entries:
                entry = (tokens, i, is_unless, any(t.endswith("*") for t in tokens))
                head = tokens[0]
                if head.endswith("*"):
                    self.prefix_index[head[:3]].append(entry)
                elif len(tokens) > 1 and not tokens[1].endswith("*"):
                    self.index2[(head, tokens[1])].append(entry)
                else:
                    self.index1[head].append(entry)
        conditional = [i for i, c in enumerate(self.checks) if c.unless_signals]
        requires = [i for i, c in enumerate(self.checks) if c.kind == "require"]
        plain = [i for i in range(len(self.checks)) if i not in conditional and i not in requires]
        # Cheap phrase look-ups before regexes: once a signal is set, later detectors of
        # the same signal are skipped, so the order saves work without changing results.
        plain.sort(key=lambda i: self.checks[i].kind == "pattern")
        self.order = plain + conditional + [i for i in requires if i not in conditional]

    def run(self, original: str, context: str, trace: list[str] | None = None) -> Review:
        text = Text(original)
        raw_hits, unless_hits = self._phrase_hits(text)
        first = sum(1 for w in text.words if w in FIRST_PERSON)
        second = sum(1 for w in text.words if w in SECOND_PERSON)
        self_focus = round(first / (first + second), 3) if first + second else 0.0

        signals: dict[str, Any] = dict.fromkeys(
            ("pitch", "ask", "shared_bond", "about_them", "offers_help", "bare_greeting"), False
        )
        fired: list[tuple[Check, Span]] = []
        for i in self.order:
            check = self.checks[i]
            if any(signals.get(s) for s in check.unless_signals):
                continue
            if not check.is_rule and context not in check.contexts:
                continue  # a detector's vocabulary only means something in its contexts
            settled = check.signal is None or signals[check.signal]
            if trace is None and settled and not (check.is_rule and context in check.contexts):
                continue  # it could change neither a signal nor a finding
            if check.pattern is not None:
                raw_hits[i] = check.pattern.spans(text.lower, text.word_set)
            span = self._evaluate(check, i, text, raw_hits, unless_hits, first, self_focus, signals)
            if span is None:
                continue
            if check.signal:
                signals[check.signal] = True
            if trace is not None:
                trace.append(check.id)
            if check.is_rule and context in check.contexts:
                fired.append((check, span))
        signals.update(
            self_focus=self_focus, word_count=len(text.words), question_count=text.questions
        )
        fired = _without_repeats(fired)
        findings = tuple(
            sorted(
                (self._finding(check, span, original) for check, span in fired),
                key=lambda f: (-_SEVERITY_RANK[f.severity], f.span[0]),
            )
        )
        verdict = "revise" if any(f.severity == "problem" for f in findings) else "ready"
        score = max(0, 100 - sum(check.weight for check, _ in fired))
        score = min(score, REVISE_CEILING) if verdict == "revise" else max(score, READY_FLOOR)
        return Review(context, score, verdict, signals, findings)

    def fired_ids(self, original: str, context: str) -> set[str]:
        """Ids of every check that fires on `original`, findings or not (for playbook tests)."""
        trace: list[str] = []
        self.run(original, context, trace)
        return set(trace)

    def _phrase_hits(self, text: Text) -> tuple[dict[int, list[Span]], dict[int, list[Span]]]:
        hits: dict[int, list[Span]] = defaultdict(list)
        unless: dict[int, list[Span]] = defaultdict(list)
        words = text.toks
        n = len(words)
        index1, index2, prefix_index = self.index1, self.index2, self.prefix_index
        # Set intersections (in C) find which words and word pairs begin some phrase, so
        # the Python loop below only stops at those positions.
        singles = index1.keys() & set(words)
        pairs = index2.keys() & set(pairwise(words))
        prefixes = {w[:3] for w in words} & prefix_index.keys() if prefix_index else set()
        starts = singles | {first for first, _ in pairs}
        if not starts and not prefixes:
            return hits, unless
        offsets = None
        for pos, word in enumerate(words):
            if word not in starts and (not prefixes or word[:3] not in prefixes):
                continue
            candidates = list(index1.get(word, ()))
            if pos + 1 < n and (word, words[pos + 1]) in pairs:
                candidates += index2[(word, words[pos + 1])]
            if prefixes and word[:3] in prefixes:
                candidates += prefix_index[word[:3]]
            for phrase, i, is_unless, wild in candidates:
                end = pos + len(phrase)
                if end > n:
                    continue
                if wild:
                    if not all(map(_token_matches, phrase, words[pos:end])):
                        continue
                elif tuple(words[pos:end]) != phrase:
                    continue
                offsets = offsets or text.offsets
                span = (offsets[pos][0], offsets[end - 1][1])
                (unless if is_unless else hits)[i].append(span)
        return hits, unless

    def _evaluate(
        self,
        check: Check,
        i: int,
        text: Text,
        raw_hits: dict[int, list[Span]],
        unless_hits: dict[int, list[Span]],
        first: int,
        self_focus: float,
        signals: dict[str, Any],
    ) -> Span | None:
        kind = check.kind
        if kind in ("phrases", "pattern"):
            found: Span | None = None
            # Earliest hit first; hits that overlap it ("dear sir" + "sir/madam") widen it.
            for span in sorted(raw_hits.get(i, ()), key=lambda s: (s[0], -s[1])):
                if found and span[0] > found[1]:
                    break
                if _overlaps(span, unless_hits.get(i, ())) or text.in_quotes(*span):
                    continue
                if check.negatable and _negated(text, span):
                    continue
                found = span if found is None else (found[0], max(found[1], span[1]))
            return found
        if kind == "count":
            value, span = _metric(check.metric, text)
            too_few = check.min is not None and value < check.min
            too_many = check.max is not None and value > check.max
            return span if too_few or too_many else None
        if kind == "ratio":
            if first >= check.min_first and self_focus > (check.max or 1):
                return _first_sentence_with(text, FIRST_PERSON)
            return None
        if kind == "only":
            others = [w for w in text.words if w not in check.words]
            if text.words and len(others) <= check.max_other:
                return _whole(text)
            return None
        if kind == "require":
            if any(signals.get(s) for s in check.any_signals):
                return None
            for span in raw_hits.get(i, ()):
                if not text.in_quotes(*span) and not _negated(text, span):
                    return None
            return _whole(text)
        raise AssertionError(kind)

    def _finding(self, check: Check, span: Span, original: str) -> Finding:
        excerpt = original[span[0] : span[1]]
        if len(excerpt) > EXCERPT_MAX:
            excerpt = excerpt[: EXCERPT_MAX - 1].rstrip() + "…"
        return Finding(
            rule=check.id,
            playbook=check.playbook,
            principle=self.titles[check.playbook],
            severity=check.severity or "tip",
            message=check.message.replace("{match}", excerpt),
            suggestion=check.suggestion,
            span=span,
            excerpt=excerpt,
        )


_SEVERITY_RANK = {"problem": 3, "warn": 2, "tip": 1}


def _without_repeats(fired: list[tuple[Check, Span]]) -> list[tuple[Check, Span]]:
    """One finding per thing said: of two rules of a playbook that quote overlapping words
    (or both the whole draft), keep the stronger; "free trial" is one pitch, not two."""
    kept: list[tuple[Check, Span]] = []
    for check, span in sorted(
        fired, key=lambda f: (-_SEVERITY_RANK[f[0].severity or "tip"], -f[0].weight)
    ):
        if any(
            other.playbook == check.playbook and _overlaps(span, [other_span])
            for other, other_span in kept
        ):
            continue
        kept.append((check, span))
    return kept


def _token_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return pattern == word


def _overlaps(span: Span, others: Any) -> bool:
    return any(s < span[1] and span[0] < e for s, e in others)


def _negated(text: Text, span: Span) -> bool:
    index = text.token_at(span[0])
    before = text.clause_before(index, NEGATION_WINDOW)
    for k, tok in enumerate(before):
        if tok in NEGATORS or tok.endswith("n't"):
            after = before[k - 1] if k > 0 else text.toks[index]
            return after not in NOT_NEGATING_NEXT
    return False


def _whole(text: Text) -> Span:
    """What a finding about something missing quotes: the draft itself."""
    return (0, len(text.original.rstrip()))


def _first_sentence_with(text: Text, vocabulary: frozenset[str]) -> Span:
    best, best_count = text.sentences[0] if text.sentences else _whole(text), 0
    for start, end in text.sentences:
        count = sum(1 for w in text.words_in(start, end) if w in vocabulary)
        if count > best_count:
            best, best_count = (start, end), count
    return best


def _metric(metric: str, text: Text) -> tuple[int, Span]:
    whole = (0, len(text.original.rstrip()))
    if metric == "words":
        return len(text.words), whole
    if metric == "sentences":
        return len(text.sentences), whole
    if metric == "questions":
        return text.questions, whole
    if metric == "links":
        return len(text.links), text.links[0] if text.links else whole
    if metric == "exclamations":
        pos = text.original.find("!")
        return text.exclamations, (pos, pos + 1) if pos >= 0 else whole
    if metric == "emoji":
        marks = text.emoji
        return len(marks), (marks[0], marks[-1] + 1) if marks else whole
    if metric == "capitals":
        caps = text.shouted
        return len(caps), (caps[0][0], caps[-1][1]) if caps else whole
    raise AssertionError(metric)
