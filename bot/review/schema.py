"""Playbooks: networking principles as YAML, validated and compiled once at load.

Each file is one principle with the rules that check a draft against it, the signal
detectors the rules rely on, tips for communities and openers for nudges. A file with a
top-level `vocabulary:` instead defines word classes ({self}, {offering}…) that phrases
use. Errors name the file, the line where possible and the rule id, because playbooks
are written by community admins, not by us.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..yamlsafe import YamlError, load_yaml, node_lines, top_key_lines
from .model import ModelError, WordModel, load_model
from .patterns import PatternError, Phrase, parse_phrase
from .text import Text

BUILTIN_DIR = Path(__file__).resolve().parent.parent.parent / "playbooks"
CONTEXTS = ("dm", "intro", "follow-up", "introduction")
SEVERITIES = ("tip", "warn", "problem")
SIGNALS = (
    "pitch",
    "ask",
    "shared_bond",
    "about_them",
    "offers_help",
    "bare_greeting",
    "introduces",
)
METRICS = ("words", "sentences", "questions", "links", "exclamations", "emoji", "capitals")
RULE_KINDS = ("phrases", "pattern", "signal", "count", "ratio", "require", "only")
DETECTOR_KINDS = ("phrases", "pattern", "model")
# A draft is to revise when its findings take more than this off the score; a `problem`
# is a finding that does so on its own, a `warn` one that needs company.
REVISE_ABOVE = 40
CALIBRATION_ID = "calibrated-verdict"  # switched off like a rule, in config's disabled_rules
_WEIGHTS = {"problem": (REVISE_ABOVE + 1, 100), "warn": (1, REVISE_ABOVE), "tip": (0, 10)}

_PLAYBOOK_KEYS = {"id", "title", "principle", "contexts", "rules", "signals", "tips", "openers"}
_COMMON = {"id", "kind", "examples", "signal", "unless_signals", "when_signals", "contexts"}
_RULE_COMMON = _COMMON | {"severity", "weight", "message", "suggestion"}
_KIND_KEYS = {
    "phrases": {"phrases", "unless", "negatable", "at_least"},
    "pattern": {"patterns", "unless", "negatable"},
    "count": {"metric", "min", "max"},
    "ratio": {"max", "min_first"},
    "require": {"any_signals", "any_phrases"},
    "signal": {"any_signals", "detectors"},
    "only": {"words", "max_other"},
    "model": {"model", "threshold"},
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CLASS_REF = re.compile(r"^\{([a-z0-9-]+)\}$")
_UPPER_LITERAL = re.compile(r"(?<!\\)(?<!\(\?)[A-Z]")

Bad = Callable[[str], None]


class PlaybookError(Exception):
    """One or more problems in playbook files; `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Regex:
    """One alternative of a `pattern` rule: a regular expression and a text it matches."""

    source: str
    compiled: re.Pattern[str]
    example: str


@dataclass(frozen=True)
class Check:
    """A rule (a finding when it fires) or a detector (only sets a signal)."""

    id: str
    playbook: str
    kind: str
    contexts: frozenset[str]
    examples_fail: tuple[str, ...]
    examples_pass: tuple[str, ...]
    signal: str | None = None
    unless_signals: tuple[str, ...] = ()
    when_signals: tuple[str, ...] = ()  # judged only when one of these is set
    severity: str | None = None  # None for a detector
    weight: int = 0
    message: str = ""
    suggestion: str = ""
    phrases: tuple[Phrase, ...] = ()
    unless: tuple[Phrase, ...] = ()
    regexes: tuple[Regex, ...] = ()
    negatable: bool = True
    at_least: int = 1  # a `phrases` check fires when this many of its phrases occur
    metric: str = ""
    min: float | None = None
    max: float | None = None
    min_first: int = 0
    any_signals: tuple[str, ...] = ()
    detectors: tuple[str, ...] = ()  # a `signal` rule: fires when one of these detectors did
    words: frozenset[str] = frozenset()
    max_other: int = 0
    model: WordModel | None = field(default=None, compare=False, repr=False)
    threshold: float = 0.5  # a `model` detector fires at this probability or above
    source: str = ""

    @property
    def is_rule(self) -> bool:
        return self.severity is not None


@dataclass(frozen=True)
class Playbook:
    id: str
    title: str
    principle: str
    contexts: frozenset[str]
    rules: tuple[Check, ...]
    detectors: tuple[Check, ...]
    tips: tuple[str, ...]
    openers: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Calibration:
    """How a learnt verdict model decides the verdict of a draft with a warning or a
    problem: the findings explain a draft, and the model, trained on labelled real messages
    with the findings and signals as features beside the words, says how likely drafts like
    it were to be ignored. On 40 points or fewer the draft is to revise when that is
    `revise_at` or more (or its context's own line, `revise_at_in`); over 40 points it is
    ready when that is under `keep_below` (without it, the points decide there), unless
    one of the `decisive` rules or detectors fired (a price or a deal is a sale, however
    warm the words around it)."""

    model: WordModel = field(repr=False)
    revise_at: float
    source: str
    revise_at_in: dict[str, float] = field(default_factory=dict)
    keep_below: float | None = None
    decisive: frozenset[str] = frozenset()

    def line(self, context: str, over_the_points: bool = False) -> float:
        """The probability from which the draft is to revise."""
        if over_the_points:
            return self.keep_below or 0.0
        return self.revise_at_in.get(context, self.revise_at)


@dataclass(frozen=True)
class PlaybookSet:
    """The playbooks in force, the word classes their phrases use, and the verdict's
    calibration (None: the findings' points alone decide)."""

    playbooks: tuple[Playbook, ...]
    vocabulary: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, hash=False)
    calibration: Calibration | None = field(default=None, hash=False)
    checks: tuple[Check, ...] = field(init=False)

    def __post_init__(self) -> None:
        checks = tuple(c for p in self.playbooks for c in (*p.detectors, *p.rules))
        object.__setattr__(self, "checks", checks)

    def get(self, playbook_id: str) -> Playbook:
        for p in self.playbooks:
            if p.id == playbook_id:
                return p
        raise KeyError(playbook_id)

    def __iter__(self) -> Iterator[Playbook]:
        return iter(self.playbooks)

    def title_of(self, playbook_id: str) -> str:
        """The title, or the id itself for a playbook no longer loaded (removed from config)."""
        return next((p.title for p in self.playbooks if p.id == playbook_id), playbook_id)


def tokenize(phrase: str) -> list[str]:
    """Phrases are tokenised like drafts, so punctuation and apostrophes line up."""
    if phrase.isascii() and phrase.isalpha() and phrase.islower():  # most words of a phrase
        return [phrase]
    return Text(phrase).toks


def load_playbooks(
    extra_dirs: Iterable[str | Path] = (),
    disabled_rules: Iterable[str] = (),
    include_builtin: bool = True,
    config: str = "config",
) -> PlaybookSet:
    """Built-in playbooks, then each extra folder; a later playbook replaces one with its id,
    a later vocabulary class replaces one with its name. `config` names the file the
    disabled rules come from, for the errors about them."""
    dirs = ([BUILTIN_DIR] if include_builtin else []) + [Path(d) for d in extra_dirs]
    found, vocabulary, calibration, problems, verdict_problems = _load_dirs(dirs)
    disabled = set(disabled_rules)
    known = {c.id for p in found.values() for c in (*p.rules, *p.detectors)}
    if calibration is not None or verdict_problems:
        known.add(CALIBRATION_ID)
    if CALIBRATION_ID in disabled:
        calibration = None  # and a broken verdict file no longer matters
    else:
        problems += verdict_problems
        if calibration is not None:
            problems += [
                f"{calibration.source}: verdict: decisive: no rule or detector '{d}'"
                for d in sorted(calibration.decisive - known)
            ]
    problems += [
        f"{config}: 'playbooks.disabled_rules': rule '{r}' does not exist"
        for r in sorted(disabled - known)
    ]
    problems += _unknown_classes(found.values(), vocabulary)
    if problems:
        raise PlaybookError(problems)
    playbooks = tuple(
        Playbook(
            **{
                **p.__dict__,
                "rules": tuple(r for r in p.rules if r.id not in disabled),
                "detectors": tuple(d for d in p.detectors if d.id not in disabled),
            }
        )
        for p in found.values()
    )
    if problems := _never_judged(playbooks):
        if disabled:
            problems.append(
                f"{config}: 'playbooks.disabled_rules': a disabled check may be what set it; "
                "disable the rule too"
            )
        raise PlaybookError(problems)
    return PlaybookSet(playbooks, vocabulary, calibration)


def check_dirs(dirs: Iterable[str | Path]) -> list[str]:
    """Every problem in the given folders (for `netcoach playbooks check`): structure, then
    each rule's examples and each phrase's own example, reviewed with the built-in
    playbooks alongside. A playbook that parsed is example-checked even when another file
    has errors, so one run shows everything to fix."""
    from .engine import example_problems  # the engine reads checks; no import cycle at load

    folders = [Path(d) for d in dirs]
    problems = [
        f"{f}: no playbook files (*.yaml) in this folder"
        for f in folders
        if f.is_dir() and not any(f.glob("*.y*ml"))
    ]
    found, _, _, own, own_verdict = _load_dirs(folders)
    everything, vocabulary, _, combined, verdict = _load_dirs(
        folders if folders == [BUILTIN_DIR] else [BUILTIN_DIR, *folders]
    )
    own += own_verdict
    problems += own + [p for p in combined + verdict if p not in own]
    problems += _unknown_classes(found.values(), vocabulary)
    problems += _never_judged(everything.values(), only={p.id for p in found.values()})
    detector_ids = {d.id for p in everything.values() for d in p.detectors}
    usable = tuple(
        p
        for p in everything.values()
        if all(
            set(c.detectors) <= detector_ids
            and all(ph.classes() <= vocabulary.keys() for ph in (*c.phrases, *c.unless))
            for c in (*p.detectors, *p.rules)
        )
    )
    ours = {p.id for p in found.values()} & {p.id for p in usable}
    return problems + example_problems(PlaybookSet(usable, vocabulary), ours, not problems)


Vocabulary = dict[str, tuple[tuple[str, ...], ...]]


def _load_dirs(
    dirs: Sequence[Path],
) -> tuple[dict[str, Playbook], Vocabulary, Calibration | None, list[str], list[str]]:
    """Playbooks, vocabulary, calibration, then the problems: those of the verdict files
    apart, since switching the calibration off in config makes them harmless."""
    found: dict[str, Playbook] = {}
    words: dict[str, list[str]] = {}
    calibration: Calibration | None = None
    problems: list[str] = []
    verdict_problems: list[str] = []
    for folder in dirs:
        if not folder.is_dir():
            problems.append(f"{folder}: not a folder of playbooks")
            continue
        for path in sorted(folder.glob("*.y*ml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot read: {exc}")
                continue
            try:
                data = load_yaml(text, str(path))
            except YamlError as exc:
                problems.append(f"{path}: {exc}")
                continue
            try:
                if isinstance(data, dict) and "vocabulary" in data:
                    words.update(_parse_vocabulary(data, str(path)))
                elif isinstance(data, dict) and "verdict" in data:
                    try:
                        calibration = _parse_calibration(data, path)  # a later folder's wins
                    except PlaybookError as exc:
                        verdict_problems += exc.problems
                else:
                    playbook = parse_playbook(text, str(path), data)
                    found[playbook.id] = playbook  # same id: the later folder replaces it
            except PlaybookError as exc:
                problems += exc.problems
    ids: dict[str, str] = {}
    for p in found.values():
        for c in (*p.rules, *p.detectors):
            if c.id in ids and ids[c.id] != p.source:
                problems.append(f"{p.source}: rule '{c.id}' is also defined in {ids[c.id]}")
            ids[c.id] = p.source
    vocabulary, vocab_problems = _expand_vocabulary(words)
    return found, vocabulary, calibration, problems + vocab_problems, verdict_problems


def _parse_calibration(data: dict[str, Any], path: Path) -> Calibration:
    """`verdict: {model: models/verdict.json, revise_at: 0.6, keep_below: 0.5,
    revise_at_in: {intro: 0.65}, decisive: [price-or-deal]}`."""
    source = str(path)
    problems = [f"{source}: unknown key '{k}'" for k in sorted(set(data) - {"verdict"})]
    item = data["verdict"]
    if not isinstance(item, dict):
        raise PlaybookError([f"{source}: 'verdict' must map model and revise_at"])
    known = {"model", "revise_at", "revise_at_in", "keep_below", "decisive"}
    problems += [f"{source}: verdict: unknown key '{k}'" for k in sorted(set(item) - known)]
    revise_at = _share(item.get("revise_at"))
    if revise_at is None:
        problems.append(f"{source}: verdict: 'revise_at' must be a number between 0 and 1")
    keep_below = None
    if "keep_below" in item and (keep_below := _share(item["keep_below"])) is None:
        problems.append(f"{source}: verdict: 'keep_below' must be a number between 0 and 1")
    decisive = item.get("decisive", [])
    if not isinstance(decisive, list) or not all(isinstance(d, str) for d in decisive):
        problems.append(f"{source}: verdict: 'decisive' must list rule or detector ids")
        decisive = []
    lines = item.get("revise_at_in", {})
    if not isinstance(lines, dict):
        problems.append(f"{source}: verdict: 'revise_at_in' must map contexts to numbers")
        lines = {}
    revise_at_in: dict[str, float] = {}
    for context, value in lines.items():
        if context not in CONTEXTS:
            problems.append(
                f"{source}: verdict: revise_at_in: unknown context '{context}' "
                f"(one of {', '.join(CONTEXTS)})"
            )
        elif (share := _share(value)) is None:
            problems.append(
                f"{source}: verdict: revise_at_in: '{context}' must be a number between 0 and 1"
            )
        else:
            revise_at_in[context] = share
    name = item.get("model")
    model = None
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{source}: verdict: 'model' must name a model file (models/x.json)")
    else:
        try:
            model = _cached_model(path.parent / name)
        except ModelError as exc:
            problems.append(f"{source}: verdict: {exc}")
    if problems or model is None or revise_at is None:
        raise PlaybookError(problems)
    return Calibration(model, revise_at, source, revise_at_in, keep_below, frozenset(decisive))


def _share(value: Any) -> float | None:
    """A number strictly between 0 and 1 (not a yes/no), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        return None
    return float(value)


def _parse_vocabulary(data: dict[str, Any], source: str) -> dict[str, list[str]]:
    problems = [f"{source}: unknown key '{k}'" for k in sorted(set(data) - {"vocabulary"})]
    classes = data["vocabulary"]
    if not isinstance(classes, dict):
        raise PlaybookError([f"{source}: 'vocabulary' must map class names to word lists"])
    out: dict[str, list[str]] = {}
    for name, members in classes.items():
        if not isinstance(name, str) or not _ID.match(name):
            problems.append(f"{source}: class {name!r}: names are lowercase letters and dashes")
            continue
        ok = isinstance(members, list) and members
        if not ok or not all(isinstance(m, str) and m.strip() for m in members):
            problems.append(f"{source}: class {name}: must be a non-empty list of texts")
            continue
        for m in members:
            if "*" in m or ".." in m.split():
                problems.append(f"{source}: class {name}: '{m}': members are plain words")
        out[name] = members
    if problems:
        raise PlaybookError(problems)
    return out


def _expand_vocabulary(words: dict[str, list[str]]) -> tuple[Vocabulary, list[str]]:
    """Classes may include other classes by name ({mine}); cycles and unknown names fail."""
    out: Vocabulary = {}
    problems: list[str] = []

    def expand(name: str, path: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        if name in out:
            return out[name]
        if name in path:
            problems.append(f"vocabulary: class {name} includes itself ({' -> '.join(path)})")
            return ()
        members: list[tuple[str, ...]] = []
        for m in words[name]:
            ref = _CLASS_REF.match(m.strip())
            if ref and ref[1] not in words:
                problems.append(f"vocabulary: class {name}: unknown class {m.strip()}")
            elif ref:
                members += expand(ref[1], (*path, name))
            else:
                members.append(tuple(tokenize(m.lower())))
        out[name] = tuple(dict.fromkeys(members))
        return out[name]

    for name in words:
        expand(name, ())
    return out, problems


def gate_contexts(check: Check, checks: Iterable[Check]) -> list[str]:
    """The contexts (of the check's own, in order) where a signal in its `when_signals`
    can be set: a detector sets its signal only in its contexts, a rule in every one."""
    if not check.when_signals:
        return sorted(check.contexts)
    checks = list(checks)
    return [
        context
        for context in sorted(check.contexts)
        if any(
            c.signal in check.when_signals and (c.is_rule or context in c.contexts) for c in checks
        )
    ]


def _never_judged(playbooks: Iterable[Playbook], only: set[str] | None = None) -> list[str]:
    """Rules (of the playbooks named in `only`, or all) whose `when_signals` nothing in
    force can set: they would never fire."""
    playbooks = list(playbooks)
    checks = [c for p in playbooks for c in (*p.detectors, *p.rules)]
    return [
        f"{rule_where(p.source, c.id)}: nothing sets {' or '.join(c.when_signals)} in its contexts "
        f"({', '.join(sorted(c.contexts))}), so it would never be judged (when_signals)"
        for p in playbooks
        if only is None or p.id in only
        for c in (*p.detectors, *p.rules)
        if c.when_signals and not gate_contexts(c, checks)
    ]


def rule_lines(source: str) -> dict[str, list[int]]:
    """The lines of a playbook file's rule ids, read again once the files are parsed (a
    playbook given as text has none)."""
    try:
        return node_lines(Path(source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def rule_where(source: str, rule: str, lines: dict[str, list[int]] | None = None) -> str:
    """ "file:line: rule id" for a problem found once the files are parsed; pass `lines`
    (rule_lines) when asking about many rules of one file, so it is read once."""
    found = (rule_lines(source) if lines is None else lines).get(rule)
    return f"{source}{f':{found[0]}' if found else ''}: rule {rule}"


def _unknown_classes(playbooks: Iterable[Playbook], vocabulary: Vocabulary) -> list[str]:
    """Word classes and detectors that rules name but nothing defines."""
    playbooks = list(playbooks)
    detector_ids = {d.id for p in playbooks for d in p.detectors}
    problems = []
    for p in playbooks:
        for c in (*p.detectors, *p.rules):
            unknown = [f"unknown detector '{d}'" for d in c.detectors if d not in detector_ids]
            unknown += [
                f"'{phrase.source}': unknown word class {{{name}}}"
                for phrase in (*c.phrases, *c.unless)
                for name in sorted(phrase.classes() - vocabulary.keys())
            ]
            if unknown:
                where = rule_where(p.source, c.id)
                problems += [f"{where}: {what}" for what in unknown]
    return problems


def parse_playbook(text: str, source: str, data: Any = None) -> Playbook:
    """Validate one playbook file; raise PlaybookError listing every problem found."""
    if data is None:
        try:
            data = load_yaml(text, source)
        except YamlError as exc:
            raise PlaybookError([f"{source}: {exc}"]) from None
    lines = node_lines(text)
    problems: list[str] = []

    occurrence: dict[str, int] = {}  # which of the rules with this id is being read

    def bad(msg: str, rule: str | None = None, key: str | None = None) -> None:
        found = lines.get(rule or "", [])
        line = found[min(occurrence.get(rule or "", 0), len(found) - 1)] if found else None
        if line is None and key is not None:  # the file's own keys: looked up on a problem
            line = top_key_lines(text).get(key)
        where = f":{line}" if line else ""
        problems.append(f"{source}{where}: {f'rule {rule}: ' if rule else ''}{msg}")

    def bad_in(key: str) -> Bad:
        return lambda msg: bad(msg, key=key)

    if not isinstance(data, dict):
        raise PlaybookError([f"{source}: a playbook must be a mapping with id, title, rules…"])
    for key in sorted(set(data) - _PLAYBOOK_KEYS, key=str):
        bad(f"unknown key '{key}'", key=str(key))
    pid = data.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        bad("'id' must be lowercase letters, digits and dashes", key="id")
        pid = "?"
    for key in ("title", "principle"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            bad(f"'{key}' must be a non-empty text", key=key)
    contexts = _contexts(data.get("contexts", list(CONTEXTS)), bad_in("contexts"))
    tips = _texts(data.get("tips", []), "tips", bad_in("tips"))
    openers = _texts(data.get("openers", []), "openers", bad_in("openers"))
    if len(tips) < 5:
        bad(f"needs at least 5 tips (has {len(tips)})", key="tips")
    checks: list[Check] = []
    seen: set[str] = set()
    rules_written = 0
    for section, is_rule in (("signals", False), ("rules", True)):
        items = data.get(section, [])
        if not isinstance(items, list):
            bad(f"'{section}' must be a list", key=section)
            continue
        rules_written += len(items) if is_rule else 0
        for item in items:
            rid = item.get("id") if isinstance(item, dict) else None
            if isinstance(rid, str):
                occurrence[rid] = occurrence.get(rid, -1) + 1
            if isinstance(rid, str) and rid in seen:
                bad("duplicate id", rid)
            check = _parse_check(item, pid, contexts, is_rule, source, bad)
            if check is None:
                continue
            seen.add(check.id)
            checks.append(check)
    if not rules_written:
        bad("needs at least one rule", key="rules")
    if problems:
        raise PlaybookError(problems)
    return Playbook(
        id=pid,
        title=data["title"].strip(),
        principle=" ".join(data["principle"].split()),
        contexts=contexts,
        rules=tuple(c for c in checks if c.is_rule),
        detectors=tuple(c for c in checks if not c.is_rule),
        tips=tips,
        openers=openers,
        source=source,
    )


def _texts(value: Any, key: str, bad: Bad) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        bad(f"'{key}' must be a list of texts")
        return ()
    return tuple(" ".join(v.split()) for v in value)


def _contexts(value: Any, bad: Bad) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        bad(f"'contexts' must be a non-empty list of: {', '.join(CONTEXTS)}")
        return frozenset(CONTEXTS)
    unknown = [v for v in value if v not in CONTEXTS]
    if unknown:
        bad(f"unknown context {unknown[0]!r} (use: {', '.join(CONTEXTS)})")
    return frozenset(v for v in value if v in CONTEXTS)


def _parse_check(
    item: Any, pid: str, contexts: frozenset[str], is_rule: bool, source: str, bad: Any
) -> Check | None:
    if not isinstance(item, dict):
        bad("each rule must be a mapping")
        return None
    rid = item.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        bad(f"a rule needs an 'id' of lowercase letters, digits and dashes (got {rid!r})")
        return None
    count = 0

    def err(msg: str) -> None:
        nonlocal count
        count += 1
        bad(msg, rid)

    kind = item.get("kind")
    kinds = RULE_KINDS if is_rule else DETECTOR_KINDS
    if not isinstance(kind, str) or kind not in kinds:
        err(f"'kind' must be one of {', '.join(kinds)} (got {kind!r})")
        return None
    allowed = (_RULE_COMMON if is_rule else _COMMON) | _KIND_KEYS[kind]
    for key in sorted(set(item) - allowed, key=str):
        err(f"unknown key '{key}'")
    fields: dict[str, Any] = {"id": rid, "playbook": pid, "kind": kind, "source": source}
    fields["contexts"] = (
        _contexts(item["contexts"], err) if "contexts" in item else frozenset(contexts)
    )
    signal = item.get("signal")
    if signal is not None and signal not in SIGNALS:
        err(f"unknown signal {signal!r} (use: {', '.join(SIGNALS)})")
    if not is_rule and signal is None:
        err("a signal detector needs 'signal'")
    fields["signal"] = signal
    unless_signals = item.get("unless_signals", [])
    if not isinstance(unless_signals, list) or any(s not in SIGNALS for s in unless_signals):
        err(f"'unless_signals' must be a list of: {', '.join(SIGNALS)}")
        unless_signals = []
    fields["unless_signals"] = tuple(unless_signals)
    when_signals = item.get("when_signals", [])
    if not isinstance(when_signals, list) or any(s not in SIGNALS for s in when_signals):
        err(f"'when_signals' must be a list of: {', '.join(SIGNALS)}")
        when_signals = []
    fields["when_signals"] = tuple(when_signals)
    if is_rule:
        severity = item.get("severity")
        if severity not in SEVERITIES:
            err(f"'severity' must be one of {', '.join(SEVERITIES)}")
        weight = item.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            err("'weight' must be a whole number from 0 to 100")
        elif severity in _WEIGHTS:
            low, high = _WEIGHTS[severity]
            if not low <= weight <= high:
                err(
                    f"a {severity} weighs {low} to {high} (a draft is to revise when its "
                    f"findings weigh more than {REVISE_ABOVE}); this one weighs {weight}"
                )
        for key in ("message", "suggestion"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                err(f"'{key}' must be a non-empty text")
        fields.update(
            severity=severity,
            weight=weight if isinstance(weight, int) else 0,
            message=" ".join(str(item.get("message", "")).split()),
            suggestion=" ".join(str(item.get("suggestion", "")).split()),
        )
    examples = item.get("examples")
    good, bad_key = ("pass", "fail") if is_rule else ("miss", "hit")
    if not isinstance(examples, dict) or set(examples) != {good, bad_key}:
        err(f"'examples' must have '{bad_key}' and '{good}' lists")
        examples = {}
    ex_fail = examples.get(bad_key, [])
    ex_pass = examples.get(good, [])
    for name, ex in ((bad_key, ex_fail), (good, ex_pass)):
        if not isinstance(ex, list) or not ex or not all(isinstance(e, str) for e in ex):
            err(f"'examples.{name}' must be a non-empty list of texts")
    fields["examples_fail"] = tuple(ex_fail) if isinstance(ex_fail, list) else ()
    fields["examples_pass"] = tuple(ex_pass) if isinstance(ex_pass, list) else ()
    _parse_kind(item, kind, fields, err)
    return None if count else Check(**fields)


def _alternatives(value: Any, key: str, err: Bad) -> list[tuple[str, str | None]]:
    """A list whose items are a phrase, or a one-key mapping `phrase: example`."""
    if not isinstance(value, list):
        err(f"'{key}' must be a list of phrases")
        return []
    out: list[tuple[str, str | None]] = []
    for v in value:
        if isinstance(v, str) and v.strip():
            out.append((v, None))
        elif isinstance(v, dict) and len(v) == 1:
            [(phrase, example)] = v.items()
            if isinstance(phrase, str) and isinstance(example, str) and example.strip():
                out.append((phrase, example))
            else:
                err(f"'{key}': write each alternative as `phrase: example text` ({v!r})")
        else:
            err(f"'{key}': each alternative is a phrase, or `phrase: example text` ({v!r})")
    return out


def _phrase_list(item: dict[str, Any], key: str, err: Bad, required: bool) -> tuple[Phrase, ...]:
    value = item.get(key, [])
    alternatives = _alternatives(value, key, err)
    if required and not value:
        err(f"'{key}' must not be empty")
    out = []
    for source, example in alternatives:
        try:
            phrase = parse_phrase(source, tokenize, example)
        except PatternError as exc:
            err(f"'{source}': {exc}")
            continue
        if example is None and not phrase.plain:
            err(f"'{source}' needs an example it matches: write it as `{source}: example text`")
        out.append(phrase)
    return tuple(out)


def _parse_kind(item: dict[str, Any], kind: str, fields: dict[str, Any], err: Bad) -> None:
    if kind in ("phrases", "pattern"):
        fields["unless"] = _phrase_list(item, "unless", err, required=False)
        negatable = item.get("negatable", True)
        if not isinstance(negatable, bool):
            err("'negatable' must be true or false")
        fields["negatable"] = negatable is True
    if kind == "phrases":
        fields["phrases"] = _phrase_list(item, "phrases", err, required=True)
        at_least = item.get("at_least", 1)
        if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
            err("'at_least' must be a whole number, 1 or more")
            at_least = 1
        elif at_least > len(fields["phrases"]):
            err(f"'at_least' is {at_least} but the check lists {len(fields['phrases'])} phrases")
        fields["at_least"] = at_least
    elif kind == "pattern":
        alternatives = _alternatives(item.get("patterns", []), "patterns", err)
        if not alternatives:
            err("'patterns' must list at least one `regular expression: example text`")
        regexes = []
        for pattern, example in alternatives:
            if example is None:
                err(f"pattern {pattern!r} needs an example: write it as `pattern: example text`")
                continue
            try:
                # Drafts are matched in lower case (folded once per review), which is much
                # faster than re.IGNORECASE; so patterns must be written in lower case.
                if _UPPER_LITERAL.search(pattern):
                    err(f"pattern {pattern!r}: write patterns in lower case")
                compiled = re.compile(pattern)
                if compiled.search(""):
                    err(f"pattern {pattern!r} matches empty text")
                regexes.append(Regex(pattern, compiled, example))
            except re.error as exc:
                err(f"bad regular expression {pattern!r}: {exc}")
        fields["regexes"] = tuple(regexes)
    elif kind == "count":
        if item.get("metric") not in METRICS:
            err(f"'metric' must be one of {', '.join(METRICS)}")
        fields["metric"] = item.get("metric", "")
        if "min" not in item and "max" not in item:
            err("a count needs 'min' or 'max'")
        for key in ("min", "max"):
            if key in item and (isinstance(item[key], bool) or not isinstance(item[key], int)):
                err(f"'{key}' must be a whole number")
            fields[key] = item.get(key)
    elif kind == "ratio":
        value = item.get("max")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            err("'max' must be a number between 0 and 1")
        fields["max"] = value
        min_first = item.get("min_first", 0)
        if isinstance(min_first, bool) or not isinstance(min_first, int) or min_first < 0:
            err("'min_first' must be a whole number, 0 or more")
            min_first = 0
        fields["min_first"] = min_first
    elif kind == "signal":
        signals = item.get("any_signals", [])
        detectors = item.get("detectors", [])
        if not isinstance(signals, list) or any(s not in SIGNALS for s in signals):
            err(f"'any_signals' must be a list of: {', '.join(SIGNALS)}")
            signals = []
        if not isinstance(detectors, list) or not all(isinstance(d, str) for d in detectors):
            err("'detectors' must be a list of detector ids")
            detectors = []
        if bool(signals) == bool(detectors):
            err("a signal rule names either 'any_signals' or 'detectors'")
        fields["any_signals"] = tuple(signals)
        fields["detectors"] = tuple(detectors)
    elif kind == "require":
        signals = item.get("any_signals", [])
        if not isinstance(signals, list) or any(s not in SIGNALS for s in signals):
            err(f"'any_signals' must be a list of: {', '.join(SIGNALS)}")
            signals = []
        fields["any_signals"] = tuple(signals)
        fields["phrases"] = _phrase_list(item, "any_phrases", err, required=not signals)
    elif kind == "only":
        words = item.get("words", [])
        if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
            err("'words' must be a non-empty list of words")
            words = []
        fields["words"] = frozenset(w.lower() for w in words)
        max_other = item.get("max_other", 0)
        if isinstance(max_other, bool) or not isinstance(max_other, int) or max_other < 0:
            err("'max_other' must be a whole number, 0 or more")
            max_other = 0
        fields["max_other"] = max_other
    elif kind == "model":
        name = item.get("model")
        if not isinstance(name, str) or not name.strip():
            err("'model' must name a model file, relative to the playbook (models/x.json)")
        else:
            try:
                fields["model"] = _cached_model(Path(fields["source"]).parent / name)
            except ModelError as exc:
                err(str(exc))
        threshold = item.get("threshold", 0.5)
        number = isinstance(threshold, int | float) and not isinstance(threshold, bool)
        if not number or not 0 < threshold < 1:
            err("'threshold' must be a number between 0 and 1")
        else:
            fields["threshold"] = float(threshold)


@cache
def _model_at(path: str, mtime_ns: int) -> WordModel:
    return load_model(path)


def _cached_model(path: Path) -> WordModel:
    """A model file is read once per version of it: every load of the playbooks (each
    community's set, each test) shares the same weights."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model: {exc.strerror}") from None
    return _model_at(str(path.resolve()), mtime)
