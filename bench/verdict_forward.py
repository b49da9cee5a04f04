"""The verdict model judged forward in time, on the training split only.

    python bench/verdict_forward.py [ROUND:COMMIT ...] [--revise-at 0.6] [--keep-below 0.5]
                                    [--line introduction=0.7] [--add-playbook FILE.yaml]

Each collection round is reviewed with the playbooks and detectors of just before it
joined (a git worktree of the commit before COMMIT, the one that added the round), and its
verdicts are decided by a verdict model trained only on the rounds before it (plus the
synthetic sets `make models` uses), with the lines given. It prints, per round and pooled,
verdict / good kept / bad caught for the verdicts the project gave the round at the time
and for the model. This is how the lines in playbooks/verdict.yaml were chosen
(tests/data/real/FIGURES.md, round 65): the locked split is never read here. `decisive`
checks are left out (they came after; the old code cannot say which detectors fired). Takes a few
minutes: each round reviews the whole training split once with its own code.
`--add-playbook` copies a playbook file into each round's playbooks first: how a new rule
would have done, judged the same way (round 71 measured its follow-up rule so).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "tests" / "data" / "real" / "train.jsonl"
# The synthetic sets the verdict model learns from (Makefile, VERDICT_DATA).
SYNTHETIC = [
    ROOT / "tests" / "data" / name
    for name in ("drafts.jsonl", "drafts-dev.jsonl", "drafts-devstyle.jsonl")
]
# The commits that added rounds 12-17 to the real corpus.
ROUNDS = ["12:3cefb24", "13:af41924", "14:a44cdc5", "15:2917e09", "16:ad45839", "17:4d38a50"]


def round_of(row_id: str) -> int:
    """r12a-007 is round 12; the first rounds' ids (rdm-006, rfu-013) carry no number."""
    m = re.match(r"r(\d+)", row_id)
    return int(m.group(1)) if m else 1


def dump(n: int, out: str) -> None:
    """Run under the old code: every training draft of rounds up to `n` and the synthetic
    ones, with the findings and signals that code gives, and its verdict for round `n`."""
    from dataclasses import replace

    from netcoach.bot.review import builtin_playbooks
    from netcoach.bot.review.engine import engine_for

    playbooks = builtin_playbooks()
    then = engine_for(playbooks)
    plain = engine_for(replace(playbooks, calibration=None))
    rows = [json.loads(line) for line in TRAIN.open(encoding="utf-8")]
    rows = [dict(r, round=round_of(r["id"])) for r in rows if round_of(r["id"]) <= n]
    rows += [dict(r, round=0) for path in SYNTHETIC for r in map(json.loads, path.open())]
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            result = plain.run(r["text"], r["context"])
            item = {
                "round": r["round"],
                "context": r["context"],
                "text": r["text"],
                "label": r["verdict"],
                "findings": [[x.rule, x.severity, x.weight] for x in result.findings],
                "signals": {k: v for k, v in result.signals.items() if isinstance(v, bool)},
            }
            if r["round"] == n:
                item["then"] = then.run(r["text"], r["context"]).verdict
            f.write(json.dumps(item) + "\n")


def judged(items: list[dict[str, Any]], args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(label, verdict then, verdict now) of the last round's drafts."""
    from netcoach.bot.review.engine import VERDICT_SIGNALS, verdict_features, weighed
    from netcoach.bot.review.model import train
    from netcoach.bot.review.schema import REVISE_ABOVE, Calibration
    from netcoach.bot.review.text import Text

    n = max(i["round"] for i in items)
    read = {
        (i["text"], i["context"]): verdict_features(
            i["context"],
            [rule for rule, _, _ in i["findings"]],
            {s: i["signals"].get(s, False) for s in VERDICT_SIGNALS},
        )
        for i in items
    }
    model = train(
        ((i["text"], i["label"] == "revise", i["context"]) for i in items if i["round"] < n),
        min_df=3,
        iterations=150,
        extra=lambda text, context: read[(text, context)],
    )
    calibration = Calibration(model, args.revise_at, "bench", args.lines, args.keep_below)
    out = []
    for i in items:
        if i["round"] != n:
            continue
        taken = sum(w for _, _, w in i["findings"])
        verdict = "revise" if taken > REVISE_ABOVE else "ready"
        if any(severity != "tip" for _, severity, _ in i["findings"]):
            p = model.probability(Text(i["text"]), i["context"], read[(i["text"], i["context"])])
            problems = [rule for rule, severity, _ in i["findings"] if severity == "problem"]
            fired = {rule for rule, _, _ in i["findings"]}
            verdict = weighed(calibration, i["context"], taken, p, problems, fired)
        out.append((i["label"], i["then"], verdict))
    return out


def figures(triples: Iterable[tuple[str, str]]) -> str:
    pairs = list(triples)
    good = [v for label, v in pairs if label == "ready"]
    bad = [v for label, v in pairs if label == "revise"]
    right = sum(label == v for label, v in pairs)
    return (
        f"{right / len(pairs):.3f} / {good.count('ready') / max(1, len(good)):.3f} / "
        f"{bad.count('revise') / max(1, len(bad)):.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rounds", nargs="*", default=ROUNDS, metavar="ROUND:COMMIT")
    ap.add_argument("--revise-at", type=float, default=0.6)
    ap.add_argument("--keep-below", type=float, default=0.5)
    ap.add_argument("--line", action="append", default=["introduction=0.7"], metavar="CTX=P")
    ap.add_argument("--add-playbook", action="append", default=[], type=Path, metavar="FILE")
    ap.add_argument("--dump", nargs=2, metavar=("ROUND", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        dump(int(args.dump[0]), args.dump[1])
        return
    args.lines = {c: float(p) for c, p in (x.split("=") for x in args.line)}
    pooled: list[tuple[str, str, str]] = []
    print("round  drafts  then: verdict / kept / caught   model: verdict / kept / caught")
    for spec in args.rounds:
        n, commit = spec.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            tree, package, out = Path(tmp, "tree"), Path(tmp, "pkg"), Path(tmp, "dump.jsonl")
            git = ["git", "-C", str(ROOT)]
            subprocess.run([*git, "worktree", "add", "-q", "--detach", str(tree), f"{commit}~1"])
            try:
                for extra in args.add_playbook:
                    shutil.copy(extra, tree / "playbooks")
                package.mkdir()
                (package / "netcoach").symlink_to(tree)
                env = dict(os.environ, PYTHONPATH=str(package))
                me = [sys.executable, __file__, "--dump", n, str(out)]
                subprocess.run(me, env=env, cwd=tmp, check=True)
            finally:
                subprocess.run([*git, "worktree", "remove", "--force", str(tree)])
            items = [json.loads(line) for line in out.open(encoding="utf-8")]
        rows = judged(items, args)
        pooled += rows
        then = figures((label, v) for label, v, _ in rows)
        now = figures((label, v) for label, _, v in rows)
        print(f"{n:>5}  {len(rows):6}  {then:>30}   {now:>30}", flush=True)
    then = figures((label, v) for label, v, _ in pooled)
    now = figures((label, v) for label, _, v in pooled)
    print(f"{'all':>5}  {len(pooled):6}  {then:>30}   {now:>30}")


if __name__ == "__main__":
    main()
