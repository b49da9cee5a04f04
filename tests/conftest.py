"""Shared fixtures: the built-in playbooks and the labelled draft sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.playbooks import PlaybookSet
from bot.review import builtin_playbooks

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "drafts-dev.jsonl"
CORPUS = ROOT / "tests" / "data" / "drafts.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def playbooks() -> PlaybookSet:
    return builtin_playbooks()
