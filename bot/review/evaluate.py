"""What a playbook costs: each rule and detector measured against labelled drafts.

`netcoach playbooks eval FILE.jsonl` runs the review over labelled drafts (one JSON object
a line: `context`, `text`, `verdict`, and optionally the signals `pitch`, `ask`,
`shared_bond`, `about_them`, `offers_help`) and reports, per rule and detector, how often
it fired and how often it was right; the verdict confusion; and the worst false alarms,
with the words they quoted. `--fit` also suggests each rule's weight: a logistic
regression over the rules that fired, with weights kept non-negative so that every point
off the score still comes from a finding.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Review, engine_for
from .schema import CONTEXTS, REVISE_ABOVE, SIGNALS, PlaybookSet

LABELLED_SIGNALS = tuple(s for s in SIGNALS if s not in ("bare_greeting", "introduces"))
_CONFIDENCE = {"high": 1.0, "medium": 0.7, "low": 0.4}


class LabelError(ValueError):
    """A labelled file that cannot be read; every problem names its line."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Labelled:
    line: int
    id: str
    context: str
    text: str
    verdict: str
    signals: dict[str, bool] = field(hash=False)
    confidence: float = 1.0


def read_labelled(path: Path) -> list[Labelled]:
    """Every labelled draft of a JSON Lines file; LabelError lists each bad line."""
    rows: list[Labelled] = []
    problems: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{n}: not JSON ({exc.msg})")
                continue
            if not isinstance(data, dict):
                problems.append(f"{path}:{n}: each line must be a JSON object")
                continue
            problem = _problem(data)
            if problem:
                problems.append(f"{path}:{n}: {problem}")
                continue
            signals = {s: data[s] for s in LABELLED_SIGNALS if isinstance(data.get(s), bool)}
            rows.append(
                Labelled(
                    n,
                    str(data.get("id", n)),
                    data["context"],
                    data["text"],
                    data["verdict"],
                    signals,
                    _CONFIDENCE.get(data.get("label_confidence", "high"), 1.0),
                )
            )
    if problems:
        raise LabelError(problems)
    return rows


def _problem(data: dict[str, Any]) -> str:
    if data.get("context") not in CONTEXTS:
        return f"'context' must be one of {', '.join(CONTEXTS)}"
    if not isinstance(data.get("text"), str) or not data["text"].strip():
        return "'text' must be a non-empty text"
    if data.get("verdict") not in ("ready", "revise"):
        return "'verdict' must be 'ready' or 'revise'"
    for s in LABELLED_SIGNALS:
        if data.get(s) is not None and not isinstance(data[s], bool):
            return f"'{s}' must be true, false or null"
    return ""


@dataclass
class CheckStats:
    """How one rule or detector did: fired on how many drafts, and rightly how often."""

    id: str
    playbook: str
    kind: str  # "rule" | "detector"
    signal: str | None
    fired: int = 0
    right: int = 0  # a rule on a draft to revise; a detector where its signal is labelled so
    judged: int = 0  # fires that could be judged (a detector's signal labelled)
    false_alarms: list[tuple[Labelled, str]] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.right / self.judged if self.judged else None


@dataclass
class Report:
    rows: int
    confusion: dict[tuple[str, str], int]  # (label, review) -> count
    signals: dict[str, tuple[int, int]]  # signal -> (right, labelled)
    checks: list[CheckStats]
    # Verdicts the learnt model set against the points, and how many were right: sent back
    # on 40 points or fewer, and kept as ready on more.
    calibrated: tuple[int, int] = (0, 0)
    kept_by_model: tuple[int, int] = (0, 0)
    # context -> (label, review) -> count: where a playbook's errors sit
    by_context: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        return (self.confusion[("ready", "ready")] + self.confusion[("revise", "revise")]) / max(
            1, self.rows
        )

    def kept(self) -> float:
        return _share(self.confusion, "ready") or 0.0

    def caught(self) -> float:
        return _share(self.confusion, "revise") or 0.0


def _share(confusion: dict[tuple[str, str], int], label: str) -> float | None:
    """Of the drafts labelled `label`, the share the review agreed on; None without any."""
    total = sum(n for (lab, _), n in confusion.items() if lab == label)
    return confusion.get((label, label), 0) / total if total else None


def _figure(share: float | None) -> str:
    """A share to three places, or "—" when no draft had that label."""
    return "—" if share is None else f"{share:.3f}"


def evaluate(rows: Iterable[Labelled], playbooks: PlaybookSet) -> Report:
    engine = engine_for(playbooks)
    stats = {
        c.id: CheckStats(c.id, c.playbook, "rule" if c.is_rule else "detector", c.signal)
        for c in playbooks.checks
    }
    confusion = dict.fromkeys(((a, b) for a in ("ready", "revise") for b in ("ready", "revise")), 0)
    signals = {s: [0, 0] for s in LABELLED_SIGNALS}
    calibrated = {"revise": [0, 0], "ready": [0, 0]}
    by_context: dict[str, dict[tuple[str, str], int]] = {}
    n = 0
    for row in rows:
        n += 1
        trace: list[str] = []
        result: Review = engine.run(row.text, row.context, trace)
        confusion[(row.verdict, result.verdict)] += 1
        in_context = by_context.setdefault(row.context, dict.fromkeys(confusion, 0))
        in_context[(row.verdict, result.verdict)] += 1
        if result.calibrated:
            tally = calibrated[result.verdict]
            tally[0] += 1
            tally[1] += row.verdict == result.verdict
        for s, wanted in row.signals.items():
            signals[s][1] += 1
            signals[s][0] += result.signals[s] == wanted
        quoted = {f.rule: f.excerpt for f in result.findings}
        for check_id in dict.fromkeys(trace):
            st = stats[check_id]
            st.fired += 1
            if st.kind == "rule":
                if check_id not in quoted:
                    st.fired -= 1  # fired outside its contexts, or merged into another finding
                    continue
                st.judged += 1
                st.right += row.verdict == "revise"
                if row.verdict == "ready":
                    st.false_alarms.append((row, quoted[check_id]))
            elif st.signal in row.signals:
                st.judged += 1
                st.right += row.signals[st.signal]
                if not row.signals[st.signal]:
                    st.false_alarms.append((row, ""))
    return Report(
        n,
        confusion,
        {s: (right, total) for s, (right, total) in signals.items()},
        list(stats.values()),
        (calibrated["revise"][0], calibrated["revise"][1]),
        (calibrated["ready"][0], calibrated["ready"][1]),
        by_context,
    )


def render(report: Report, worst: int = 5) -> str:
    c = report.confusion
    signals = ", ".join(
        f"{s} {right / total:.3f} ({total})"
        for s, (right, total) in report.signals.items()
        if total
    )
    lines = [
        f"{report.rows} labelled drafts: verdict agreement {report.agreement:.3f}",
        f"  good kept (ready→ready)  {c[('ready', 'ready')]:4}    good told to revise "
        f"{c[('ready', 'revise')]:4}    kept {_figure(_share(c, 'ready'))}",
        f"  bad caught (revise→revise) {c[('revise', 'revise')]:4}  bad passed as ready "
        f"{c[('revise', 'ready')]:4}    caught {_figure(_share(c, 'revise'))}",
        f"signals: {signals or '— (no signal labels)'}",
    ]
    if len(report.by_context) > 1:
        lines.append("by context:")
        for context, counts in sorted(
            report.by_context.items(), key=lambda kv: -sum(kv[1].values())
        ):
            rows = sum(counts.values())
            right = counts[("ready", "ready")] + counts[("revise", "revise")]
            lines.append(
                f"  {context:13} {rows:5}  verdict {right / rows:.3f}"
                f"  kept {_figure(_share(counts, 'ready'))}"
                f"  caught {_figure(_share(counts, 'revise'))}"
            )
    decided = [
        f"{count} drafts {what}, {right} right"
        for (count, right), what in (
            (report.calibrated, "to revise on 40 points or fewer"),
            (report.kept_by_model, "ready on more than 40 points"),
        )
        if count
    ]
    if decided:
        lines.append(f"calibrated verdict: {'; '.join(decided)}")
    lines += [
        "",
        f"{'rule or detector':38} {'kind':15} {'fired':>5} {'precision':>9}",
    ]
    for st in sorted(report.checks, key=lambda s: (s.kind, -s.fired)):
        p = f"{st.precision:.2f}" if st.precision is not None else "—"
        what = st.kind if st.kind == "rule" else f"→{st.signal}"
        lines.append(f"{st.id:38} {what:15} {st.fired:5} {p:>9}")
    alarms = sorted(
        ((st, row, quote) for st in report.checks for row, quote in st.false_alarms),
        key=lambda a: (-a[1].confidence, a[0].precision or 0),
    )
    if alarms:
        lines += ["", "worst false alarms (fired on a draft labelled otherwise):"]
        for st, row, quote in alarms[:worst]:
            shown = f" '{quote}'" if quote else ""
            text = " ".join(row.text.split())
            lines.append(f"  {st.id} on line {row.line} ({row.context}):{shown}")
            lines.append(f"    {text[:160]}{'…' if len(text) > 160 else ''}")
    return "\n".join(lines)


def fit_weights(
    rows: Sequence[Labelled],
    playbooks: PlaybookSet,
    iterations: int = 3000,
    spread: float = 10.0,
    pull: float = 0.0002,
    good_weighs: float = 1.5,
) -> dict[str, int]:
    """Suggested points for each rule, fitted to the labels: a logistic regression in which
    a draft is to revise with probability sigmoid((points - REVISE_ABOVE) / spread).

    Points stay between 0 and 100 (every point off still comes from a finding), and each is
    pulled gently towards the weight its author wrote, so a rule that fires on three
    drafts keeps the author's judgement instead of whatever fits those three. Rows count by
    their label confidence, and a draft labelled ready counts `good_weighs` times: telling
    a good message to revise costs more trust than letting a weak one pass.
    """
    engine = engine_for(playbooks)
    prior = {c.id: float(c.weight) for c in playbooks.checks if c.is_rule}
    rules = list(prior)
    index = {r: i for i, r in enumerate(rules)}
    data = []
    for row in rows:
        fired = {f.rule for f in engine.run(row.text, row.context).findings}
        data.append(([index[r] for r in fired if r in index], row.verdict == "revise", row))
    weights = [prior[r] for r in rules]
    weight_of = [r.confidence * (1.0 if revise else good_weighs) for _, revise, r in data]
    total = sum(weight_of) or 1.0
    rate = 100.0
    for _ in range(iterations):
        grad = [pull * (w - prior[r]) for w, r in zip(weights, rules, strict=True)]
        for (active, revise, _), counts in zip(data, weight_of, strict=True):
            z = (sum(weights[i] for i in active) - REVISE_ABOVE) / spread
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
            err = (p - revise) * counts / total / spread
            for i in active:
                grad[i] += err
        weights = [min(100.0, max(0.0, w - rate * g)) for w, g in zip(weights, grad, strict=True)]
    return {r: round(weights[index[r]]) for r in rules}
