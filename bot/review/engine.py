"""The review: a draft and its context in, a score, a verdict and quoted findings out.

Pure and synchronous. Playbooks are compiled once into an `Engine`: every phrase is
indexed by the words it cannot match without, so a review tokenises the draft once,
intersects its words with that index (in C) and tries only the phrases that could match.

The score is 100 minus the weights of the findings, so every point off comes from a
finding that quotes the sender's words (or, for something missing, the whole draft). By
points alone a draft is to revise when they weigh more than REVISE_ABOVE; the learnt
verdict model (schema.Calibration) weighs the findings of a draft with a warning or a
problem and decides its verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .language import NAMES, detect
from .patterns import Compiled, Vocabulary
from .schema import (
    CONTEXTS,
    REVISE_ABOVE,
    SIGNALS,
    Calibration,
    Check,
    PlaybookSet,
    gate_contexts,
    load_playbooks,
    rule_lines,
    rule_where,
)
from .text import SpanSet, Text, whole_words

FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})
SECOND_PERSON = frozenset(
    {"you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'd", "you'll"}
)
NEGATORS = frozenset({"not", "no", "never", "without", "nothing", "nor", "neither", "zero"})
# "don't hesitate to book a call" negates nothing.
NOT_NEGATING_NEXT = frozenset({"hesitate", "miss", "forget", "wait", "worry", "delay"})
NEGATION_WINDOW = 5
EXCERPT_MAX = 120
# What can still be checked in a language the phrases do not cover.
LANGUAGE_NEUTRAL = frozenset({"count"})

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
    weight: int = 0  # points off the score

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
    language: str = "en"  # a code; only "en" drafts get the phrase-based checks
    # How likely drafts like this one were to be ignored, by the learnt verdict model,
    # when it was asked (see Calibration); None when the findings' points decided alone.
    likely_ignored: float | None = None

    @property
    def calibrated(self) -> bool:
        """The learnt verdict model overruled the points: to revise on 40 points or fewer,
        or ready on more."""
        return (self.verdict == "revise") == (self.score >= 100 - REVISE_ABOVE)

    @property
    def english(self) -> bool:
        return self.language == "en"

    @property
    def language_name(self) -> str:
        return NAMES.get(self.language, self.language)

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "language": self.language,
            "score": self.score,
            "verdict": self.verdict,
            "likely_ignored": _rounded(self.likely_ignored),
            "calibrated": self.calibrated,
            "signals": dict(self.signals),
            "findings": [f.to_dict() for f in self.findings],
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


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


def example_problems(playbooks: PlaybookSet, only: set[str], complete: bool = True) -> list[str]:
    """Rules (of the playbooks named in `only`) whose examples disagree with them: a rule's
    `fail`/`pass` examples, and the example written beside each phrase or pattern. When
    some files could not be read (`complete` false), rules that depend on other checks'
    signals are not judged: what they depend on may be in a file with errors."""
    engine = engine_for(playbooks)
    problems = []
    for playbook in playbooks:
        if playbook.id not in only:
            continue
        lines = rule_lines(playbook.source)
        for check in (*playbook.detectors, *playbook.rules):
            if not complete and (
                check.unless_signals or check.when_signals or check.any_signals or check.detectors
            ):
                continue
            # Examples are judged where the rule can be: for a gated rule, the first of its
            # contexts where its gate's signal can be set.
            context = (gate_contexts(check, playbooks.checks) or sorted(check.contexts))[0]
            where = rule_where(playbook.source, check.id, lines)
            for text in check.examples_fail:
                if check.id not in engine.fired_ids(text, context):
                    problems.append(f"{where}: its fail example does not fire: {text!r}")
            for text in check.examples_pass:
                if check.id in engine.fired_ids(text, context):
                    problems.append(f"{where}: its pass example fires: {text!r}")
            for phrase in (*check.phrases, *check.unless):
                if phrase.example is not None:
                    compiled = Compiled(phrase, engine.vocabulary)
                    if next(compiled.spans(Text(phrase.example)), None) is None:
                        problems.append(
                            f"{where}: '{phrase.source}' does not match its example "
                            f"{phrase.example!r}"
                        )
            for regex in check.regexes:
                if not regex.compiled.search(Text(regex.example).lower):
                    problems.append(
                        f"{where}: pattern {regex.source!r} does not match its example "
                        f"{regex.example!r}"
                    )
    return problems


# Signals the verdict model reads beside the words and the findings.
VERDICT_SIGNALS = ("pitch", "ask", "shared_bond", "about_them", "offers_help", "introduces")


def verdict_features(
    context: str, rules: Iterable[str], signals: Mapping[str, Any]
) -> tuple[str, ...]:
    """What the verdict model reads besides the words: the rules that fired and the
    signals set, each alone and in its context ("<dm><rule:pitch-in-first-contact>"), so
    it learns how far each is to be trusted where."""
    own = [rule_feature(r) for r in rules] + [f"<sig:{s}>" for s in VERDICT_SIGNALS if signals[s]]
    return (*own, *(f"<{context}>{feature}" for feature in own))


def weighed(
    calibration: Calibration,
    context: str,
    taken: int,
    likely_ignored: float,
    problems: Iterable[str],
    fired: AbstractSet[str],
) -> str:
    """The verdict the model gives a draft it was asked about. Over the line it may keep a
    draft only when it has learnt about every problem found (a rule too rare in its
    training, a dump of links, decides alone) and no decisive check fired (a price is a
    sale, however warm the words around it)."""
    over = taken > REVISE_ABOVE
    if over and (
        any(rule_feature(rule) not in calibration.model.table for rule in problems)
        or not calibration.decisive.isdisjoint(fired)
    ):
        return "revise"
    return "revise" if likely_ignored >= calibration.line(context, over) else "ready"


def rule_feature(rule: str) -> str:
    """The verdict model's feature for a rule that fired."""
    return f"<rule:{rule}>"


def _evaluation_order(checks: tuple[Check, ...]) -> list[int]:
    """Every check after the checks that set a signal it reads, so a rule never looks at a
    signal before it can be set: detectors first, the rules that judge what was found
    next, the rules about what is missing last. Within that, the order written."""
    setters: dict[str, list[int]] = {}
    for i, c in enumerate(checks):
        if c.signal:
            setters.setdefault(c.signal, []).append(i)
    by_id = {c.id: i for i, c in enumerate(checks)}
    needs = [
        {
            j
            for s in (*c.unless_signals, *c.when_signals, *c.any_signals)
            for j in setters.get(s, ())
        }
        | {by_id[d] for d in c.detectors if d in by_id}
        for c in checks
    ]
    base = [3 if c.kind == "require" else 2 if c.kind == "signal" else 0 for c in checks]
    level = base[:]
    for _ in range(len(checks)):  # a chain is at most as long as the list; a cycle stops
        changed = False
        for i, deps in enumerate(needs):
            want = max([base[i], *(level[j] + 1 for j in deps if j != i)])
            if want != level[i] and want <= 2 * len(checks):
                level[i], changed = want, True
        if not changed:
            break
    return sorted(range(len(checks)), key=lambda i: level[i])


class Engine:
    """Compiled playbooks: a phrase index and the checks in evaluation order."""

    def __init__(self, playbooks: PlaybookSet):
        self.playbooks = playbooks
        self.titles = {p.id: p.title for p in playbooks}
        self.checks = playbooks.checks
        self.vocabulary = Vocabulary(playbooks.vocabulary)
        # A check's phrases (and its exceptions) are matched only when the check is
        # evaluated, and only those whose key words (their rarest slot) the draft has.
        self.phrases_of: list[tuple[Compiled, ...]] = []
        self.unless_of: list[tuple[Compiled, ...]] = []
        for check in self.checks:
            for phrases, compiled in (
                (check.phrases, self.phrases_of),
                (check.unless, self.unless_of),
            ):
                compiled.append(tuple(Compiled(p, self.vocabulary) for p in phrases))

        self.order = _evaluation_order(self.checks)
        # Always evaluated: detectors a rule names, and those the verdict treats as decisive.
        calibration = playbooks.calibration
        self.named = {d for c in self.checks for d in c.detectors} | (
            calibration.decisive if calibration is not None else frozenset()
        )
        # The checks that can matter in each context, in order: a detector for that
        # context, a rule of it, or a rule elsewhere that still sets a signal.
        self.order_for = {
            context: [
                i
                for i in self.order
                if context in self.checks[i].contexts
                or (self.checks[i].is_rule and self.checks[i].signal)
            ]
            for context in CONTEXTS
        }

    def run(self, original: str, context: str, trace: list[str] | None = None) -> Review:
        text = Text(original)
        language = detect(text.word_counts, original, _link_words(text))
        counts = text.word_counts
        first = sum(counts[w] for w in FIRST_PERSON & counts.keys())
        second = sum(counts[w] for w in SECOND_PERSON & counts.keys())
        self_focus = round(first / (first + second), 3) if first + second else 0.0

        signals: dict[str, Any] = dict.fromkeys(SIGNALS, False)
        evidence: dict[str, Span] = {}  # the words that first set each signal or detector
        fired: list[tuple[Check, Span]] = []
        for i in self.order if trace is not None else self.order_for[context]:
            check = self.checks[i]
            if language != "en" and check.kind not in LANGUAGE_NEUTRAL:
                continue
            if check.unless_signals and any(signals.get(s) for s in check.unless_signals):
                continue
            if check.when_signals and not any(signals.get(s) for s in check.when_signals):
                continue
            is_rule = check.is_rule
            if not is_rule and context not in check.contexts:
                continue  # a detector's vocabulary only means something in its contexts
            settled = (check.signal is None or signals[check.signal]) and check.id not in self.named
            if trace is None and settled and not (is_rule and context in check.contexts):
                continue  # it could change neither a signal nor a finding
            span = self._evaluate(check, i, text, first, self_focus, signals, evidence)
            if span is None:
                continue
            if check.signal:
                signals[check.signal] = True
                evidence.setdefault(check.signal, span)
            if not is_rule:
                evidence[check.id] = span
            if trace is not None:
                trace.append(check.id)
            if is_rule and context in check.contexts:
                fired.append((check, span))
        signals.update(
            self_focus=self_focus, word_count=text.word_count, question_count=text.questions
        )
        fired = _without_repeats(fired)
        findings = tuple(
            sorted(
                (self._finding(check, span, original) for check, span in fired),
                key=lambda f: (-_SEVERITY_RANK[f.severity], f.span[0]),
            )
        )
        taken = sum(check.weight for check, _ in fired)
        verdict, likely_ignored = self._verdict(
            text, context, language, fired, taken, signals, evidence.keys()
        )
        return Review(
            context, max(0, 100 - taken), verdict, signals, findings, language, likely_ignored
        )

    def _verdict(
        self,
        text: Text,
        context: str,
        language: str,
        fired: list[tuple[Check, Span]],
        taken: int,
        signals: dict[str, Any],
        detected: Iterable[str],
    ) -> tuple[str, float | None]:
        """The verdict, and how likely the learnt model found drafts like this one to be
        ignored (None when it was not asked). The findings explain; the model, which reads
        them beside the words, weighs them: a rule's points over-trust it on drafts its
        sources called good, and warnings under the line can still add up to a draft people
        ignore. A tip alone is never worth a rewrite, so then the model is not asked."""
        calibration = self.playbooks.calibration
        if (
            calibration is None
            or language != "en"
            or all(check.severity == "tip" for check, _ in fired)
        ):
            return ("revise" if taken > REVISE_ABOVE else "ready"), None
        ids = {check.id for check, _ in fired}
        read = verdict_features(context, ids, signals)
        likely_ignored = calibration.model.probability(text, context, read)
        problems = [check.id for check, _ in fired if check.severity == "problem"]
        verdict = weighed(
            calibration, context, taken, likely_ignored, problems, ids.union(detected)
        )
        return verdict, likely_ignored

    def fired_ids(self, original: str, context: str) -> set[str]:
        """Ids of every check that fires on `original`, findings or not (for playbook tests)."""
        trace: list[str] = []
        self.run(original, context, trace)
        return set(trace)

    @staticmethod
    def _spans(text: Text, phrases: tuple[Compiled, ...]) -> Iterator[Span]:
        """Where the phrases occur, phrase by phrase, as character spans; a phrase is not
        tried when the draft lacks every word of its key (its rarest slot)."""
        vocab = text.vocab
        for c in phrases:
            if c.key is None or not c.key.isdisjoint(vocab):
                for start, end in c.spans(text):
                    yield text.char_span(start, end)

    def _evaluate(
        self,
        check: Check,
        i: int,
        text: Text,
        first: int,
        self_focus: float,
        signals: dict[str, Any],
        evidence: dict[str, Span],
    ) -> Span | None:
        kind = check.kind
        if kind == "signal":
            if check.detectors:
                return next((evidence[d] for d in check.detectors if d in evidence), None)
            return next((evidence[s] for s in check.any_signals if signals.get(s)), None)
        if kind in ("phrases", "pattern"):
            if check.regexes:
                hits: Iterable[Span] = [
                    m.span() for r in check.regexes for m in r.compiled.finditer(text.lower)
                ]
            else:
                hits = self._spans(text, self.phrases_of[i])
            excepted: SpanSet | None = None

            def counts(span: Span) -> bool:
                nonlocal excepted
                if excepted is None:  # exceptions are matched only once something hit
                    excepted = SpanSet(self._spans(text, self.unless_of[i]))
                if excepted.overlaps(*span) or text.in_quotes(*span):
                    return False
                return not (check.negatable and _negated(text, span))

            if check.at_least > 1:
                # Stock phrases say little one at a time; several together make a
                # template. Phrases that overlap ("eager to contribute my skills") are one.
                # The finding quotes the earliest.
                hits_of = [
                    list(filter(counts, self._spans(text, (c,)))) for c in self.phrases_of[i]
                ]
                if not _phrases_apart(hits_of, check.at_least):
                    return None
                return min(hits[0] for hits in hits_of if hits)
            if not check.is_rule:
                # A detector needs one instance: the first phrase (in the order written)
                # that counts, so telling phrases go first.
                return next(filter(counts, hits), None)
            found: Span | None = None
            # A finding quotes the earliest hit; hits overlapping it widen the quote.
            for span in sorted(hits, key=lambda s: (s[0], -s[1])):
                if found and span[0] > found[1]:
                    break
                if counts(span):
                    found = span if found is None else (found[0], max(found[1], span[1]))
            return found
        if kind == "model":
            model = check.model
            assert model is not None  # the schema loads it
            if model.probability(text) >= check.threshold:
                return model.strongest_sentence(text)
            return None
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
            word_counts = text.word_counts
            others = sum(n for w, n in word_counts.items() if w not in check.words)
            if others < word_counts.total() and others <= check.max_other:  # one of them, at least
                return _whole(text)
            return None
        if kind == "require":
            if any(signals.get(s) for s in check.any_signals):
                return None
            for span in self._spans(text, self.phrases_of[i]):
                if not text.in_quotes(*span) and not _negated(text, span):
                    return None  # the first that counts is enough
            return _whole(text)
        raise AssertionError(kind)

    def _finding(self, check: Check, span: Span, original: str) -> Finding:
        span = whole_words(original, *span)
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
            weight=check.weight,
        )


_SEVERITY_RANK = {"problem": 3, "warn": 2, "tip": 1}


def _without_repeats(fired: list[tuple[Check, Span]]) -> list[tuple[Check, Span]]:
    """One finding per thing said: of two rules of a playbook that quote overlapping words,
    keep the stronger; "free trial" is one pitch, not two, and a wall of text is not also
    "too long". Findings about something missing are each their own."""
    kept: list[tuple[Check, Span]] = []
    for check, span in sorted(
        fired, key=lambda f: (-_SEVERITY_RANK[f[0].severity or "tip"], -f[0].weight)
    ):
        if any(
            other.playbook == check.playbook
            and (
                (check.kind in _SAID and other.kind in _SAID and _overlaps(span, [other_span]))
                or (check.kind == other.kind and check.kind in _MEASURED and span == other_span)
            )
            for other, other_span in kept
        ):
            continue
        kept.append((check, span))
    return kept


_SAID = frozenset({"phrases", "pattern", "signal"})  # findings about words, not about a lack
_MEASURED = frozenset({"count"})  # two lengths of the same words say one thing


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


def _link_words(text: Text) -> Counter[str] | None:
    """The draft's words inside its links: "ai.studio/apps" votes for no language. A link
    can begin or end inside a word ("a'b.co", "x.com's"), so a word of a link counts only
    as often as the draft has it."""
    if not text.links:
        return None
    counts = text.word_counts
    found = Counter(w for start, end in text.links for w in text.words_in(start, end))
    return Counter({w: min(n, counts[w]) for w, n in found.items() if counts[w]})


def _phrases_apart(hits_of: list[list[Span]], wanted: int) -> bool:
    """Whether `wanted` of the phrases each have a hit with no two of those hits
    overlapping: a phrase that overlaps another where it first occurs still counts where
    it recurs alone. A depth-first search that stops at the first answer; overlaps are
    local, so a draft's hits rarely block one another for long."""
    present = [hits for hits in hits_of if hits]

    def search(k: int, chosen: list[Span]) -> bool:
        if len(chosen) == wanted:
            return True
        if len(chosen) + len(present) - k < wanted:
            return False
        for start, end in present[k]:
            apart = all(end <= a or start >= b for a, b in chosen)
            if apart and search(k + 1, [*chosen, (start, end)]):
                return True
        return search(k + 1, chosen)

    return search(0, [])


def _metric(metric: str, text: Text) -> tuple[int, Span]:
    whole = (0, len(text.original.rstrip()))
    if metric == "words":
        return text.word_count, whole
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
