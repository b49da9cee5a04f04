"""The two commands: `make run` installs netcoach alone, `make test` the test tools too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _planned(target: str) -> str:
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_installs_netcoach_without_the_test_extras() -> None:
    run = _planned("run")
    assert "pip install --quiet -e ." in run and "[test]" not in run
    assert "netcoach run" in run
    assert "pip install --quiet -e '.[test]'" in _planned("test")
