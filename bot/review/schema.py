"""Playbooks: networking principles as YAML, validated and compiled once at load.

Each file is one principle with the rules that check a draft against it, the signal
detectors the rules rely on, tips for communities and openers for nudges. Errors name
the file, the line where possible and the rule id, because playbooks are written by
community admins, not by us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netcoach.bot.yamlsafe import YamlError, load_yaml, node_lines

from .fastregex import BoundaryPattern

BUILTIN_DIR = Path(__file__).resolve().parent.parent.parent / "playbooks"
CONTEXTS = ("dm", "intro", "follow-up", "introduction")
SEVERITIES = ("tip", "warn", "problem")
SIGNALS = ("pitch", "ask", "shared_bond", "about_them", "offers_help", "bare_greeting")
METRICS = ("words", "sentences", "questions", "links", "exclamations", "emoji", "capitals")
RULE_KINDS = ("phrases", "pattern", "count", "ratio", "require", "only")
DETECTOR_KINDS = ("phrases", "pattern")

_PLAYBOOK_KEYS = {"id", "title", "principle", "contexts", "rules", "signals", "tips", "openers"}
_COMMON = {"id", "kind", "examples", "signal", "unless_signals", "contexts"}
_RULE_COMMON = _COMMON | {"severity", "weight", "message", "suggestion"}
_KIND_KEYS = {
    "phrases": {"phrases", "unless", "negatable"},
    "pattern": {"pattern", "unless", "negatable"},
    "count": {"metric", "min", "max"},
    "ratio": {"max", "min_first"},
    "require": {"any_signals", "any_phrases"},
    "only": {"words", "max_other"},
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_UPPER_LITERAL = re.compile(r"(?<!\\)(?<!\(\?)[A-Z]")


class PlaybookError(Exception):
    """One or more problems in playbook files; `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


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
    severity: str | None = None  # None for a detector
    weight: int = 0
    message: str = ""
    suggestion: str = ""
    phrases: tuple[tuple[str, ...], ...] = ()
    unless: tuple[tuple[str, ...], ...] = ()
    negatable: bool = True
    pattern: BoundaryPattern | None = None
    metric: str = ""
    min: float | None = None
    max: float | None = None
    min_first: int = 0
    any_signals: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    max_other: int = 0
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
class PlaybookSet:
    """The playbooks in force, with every check compiled once for fast reviews."""

    playbooks: tuple[Playbook, ...]
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


def tokenize_phrase(phrase: str) -> tuple[str, ...]:
    """Phrases are tokenised like drafts, so punctuation and apostrophes line up."""
    from .text import Text

    return tuple(Text(phrase).toks)


def load_playbooks(
    extra_dirs: Iterable[str | Path] = (),
    disabled_rules: Iterable[str] = (),
    include_builtin: bool = True,
) -> PlaybookSet:
    """Built-in playbooks, then each extra folder; a later playbook replaces one with its id."""
    dirs = ([BUILTIN_DIR] if include_builtin else []) + [Path(d) for d in extra_dirs]
    found, problems = _load_dirs(dirs)
    disabled = set(disabled_rules)
    known = {c.id for p in found.values() for c in (*p.rules, *p.detectors)}
    problems += [f"config: disabled rule '{r}' does not exist" for r in sorted(disabled - known)]
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
    return PlaybookSet(playbooks)


def check_dirs(dirs: Iterable[str | Path]) -> list[str]:
    """Every problem in the given folders (for `netcoach playbooks check`), including
    rules whose own examples do not behave: a `fail` example that does not fire, or a
    `pass` example that does, reviewed with the built-in playbooks alongside."""
    folders = [Path(d) for d in dirs]
    found, problems = _load_dirs(folders)
    if problems:
        return problems
    from .engine import example_problems  # the engine reads checks; no import cycle at load

    built_in = folders == [BUILTIN_DIR]
    playbooks = load_playbooks([] if built_in else folders)
    return example_problems(playbooks, {p.id for p in found.values()})


def _load_dirs(dirs: Sequence[Path]) -> tuple[dict[str, Playbook], list[str]]:
    found: dict[str, Playbook] = {}
    problems: list[str] = []
    for folder in dirs:
        if not folder.is_dir():
            problems.append(f"{folder}: not a folder of playbooks")
            continue
        for path in sorted(folder.glob("*.y*ml")):
            try:
                playbook = parse_playbook(path.read_text(encoding="utf-8"), str(path))
            except PlaybookError as exc:
                problems += exc.problems
                continue
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot read: {exc}")
                continue
            found[playbook.id] = playbook  # same id: the later folder replaces it
    ids: dict[str, str] = {}
    for p in found.values():
        for c in (*p.rules, *p.detectors):
            if c.id in ids and ids[c.id] != p.source:
                problems.append(f"{p.source}: rule '{c.id}' is also defined in {ids[c.id]}")
            ids[c.id] = p.source
    return found, problems


def parse_playbook(text: str, source: str) -> Playbook:
    """Validate one playbook file; raise PlaybookError listing every problem found."""
    try:
        data = load_yaml(text, source)
    except YamlError as exc:
        raise PlaybookError([f"{source}: {exc}"]) from None
    lines = node_lines(text)
    problems: list[str] = []

    occurrence: dict[str, int] = {}  # which of the rules with this id is being read

    def bad(msg: str, rule: str | None = None) -> None:
        found = lines.get(rule or "", [])
        line = found[min(occurrence.get(rule or "", 0), len(found) - 1)] if found else None
        where = f":{line}" if line else ""
        problems.append(f"{source}{where}: {f'rule {rule}: ' if rule else ''}{msg}")

    if not isinstance(data, dict):
        raise PlaybookError([f"{source}: a playbook must be a mapping with id, title, rules…"])
    for key in sorted(set(data) - _PLAYBOOK_KEYS):
        bad(f"unknown key '{key}'")
    pid = data.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        bad("'id' must be lowercase letters, digits and dashes")
        pid = "?"
    for key in ("title", "principle"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            bad(f"'{key}' must be a non-empty text")
    contexts = _contexts(data.get("contexts", list(CONTEXTS)), lambda m: bad(m))
    tips = _texts(data.get("tips", []), "tips", bad)
    openers = _texts(data.get("openers", []), "openers", bad)
    if len(tips) < 5:
        bad(f"needs at least 5 tips (has {len(tips)})")
    checks: list[Check] = []
    seen: set[str] = set()
    for section, is_rule in (("signals", False), ("rules", True)):
        items = data.get(section, [])
        if not isinstance(items, list):
            bad(f"'{section}' must be a list")
            continue
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
    if not any(c.is_rule for c in checks):
        bad("needs at least one rule")
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


def _texts(value: Any, key: str, bad: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        bad(f"'{key}' must be a list of texts")
        return ()
    return tuple(" ".join(v.split()) for v in value)


def _contexts(value: Any, bad: Any) -> frozenset[str]:
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
    if kind not in kinds:
        err(f"'kind' must be one of {', '.join(kinds)} (got {kind!r})")
        return None
    allowed = (_RULE_COMMON if is_rule else _COMMON) | _KIND_KEYS[kind]
    for key in sorted(set(item) - allowed):
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
    if is_rule:
        if item.get("severity") not in SEVERITIES:
            err(f"'severity' must be one of {', '.join(SEVERITIES)}")
        weight = item.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            err("'weight' must be a whole number from 0 to 100")
        for key in ("message", "suggestion"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                err(f"'{key}' must be a non-empty text")
        fields.update(
            severity=item.get("severity"),
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


def _phrase_list(item: dict, key: str, err: Any, required: bool) -> tuple[tuple[str, ...], ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        err(f"'{key}' must be a list of texts")
        return ()
    if required and not value:
        err(f"'{key}' must not be empty")
    out = []
    for phrase in value:
        tokens = tokenize_phrase(phrase)
        if any("*" in t and not t.endswith("*") for t in tokens):
            err(f"'{phrase}': '*' is only allowed at the end of a word")
        out.append(tokens)
    return tuple(out)


def _parse_kind(item: dict, kind: str, fields: dict[str, Any], err: Any) -> None:
    if kind in ("phrases", "pattern"):
        fields["unless"] = _phrase_list(item, "unless", err, required=False)
        negatable = item.get("negatable", True)
        if not isinstance(negatable, bool):
            err("'negatable' must be true or false")
        fields["negatable"] = negatable is True
    if kind == "phrases":
        fields["phrases"] = _phrase_list(item, "phrases", err, required=True)
    elif kind == "pattern":
        pattern = item.get("pattern")
        try:
            if not isinstance(pattern, str) or not pattern:
                raise re.error("empty")
            # Drafts are matched in lower case (folded once per review), which is much
            # faster than re.IGNORECASE; so patterns must be written in lower case.
            if _UPPER_LITERAL.search(pattern):
                err(f"pattern {pattern!r}: write patterns in lower case (drafts are lowercased)")
            if re.compile(pattern).search(""):
                err(f"pattern {pattern!r} matches empty text")
            fields["pattern"] = BoundaryPattern(pattern)
        except re.error as exc:
            err(f"bad regular expression {pattern!r}: {exc}")
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
        fields["min_first"] = int(item.get("min_first", 0))
    elif kind == "require":
        signals = item.get("any_signals", [])
        if not isinstance(signals, list) or any(s not in SIGNALS for s in signals):
            err(f"'any_signals' must be a list of: {', '.join(SIGNALS)}")
            signals = []
        fields["any_signals"] = tuple(signals)
        fields["phrases"] = _phrase_list(item, "any_phrases", err, required=not signals)
    elif kind == "only":
        words = item.get("words", [])
        if not isinstance(words, list) or not words:
            err("'words' must be a non-empty list")
            words = []
        fields["words"] = frozenset(str(w).lower() for w in words)
        fields["max_other"] = int(item.get("max_other", 0))
