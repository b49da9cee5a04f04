"""Where the labelled draft sets live, and how to read them."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The shared dev sample, copied here so a bare clone runs.
DEV_SET = ROOT / "tests" / "data" / "drafts-dev.jsonl"
CORPUS = ROOT / "tests" / "data" / "drafts.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "drafts-holdout.jsonl"
BLIND = ROOT / "tests" / "data" / "drafts-blind.jsonl"
FRESH = ROOT / "tests" / "data" / "drafts-fresh.jsonl"
DEVSTYLE = ROOT / "tests" / "data" / "drafts-devstyle.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


REAL_TRAIN = ROOT / "tests" / "data" / "real" / "train.jsonl"
REAL_LOCKED = ROOT / "tests" / "data" / "real" / "locked.jsonl"
SYNTHETIC = (CORPUS, HOLDOUT, BLIND, FRESH, DEVSTYLE)
