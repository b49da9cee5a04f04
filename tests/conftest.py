"""Shared fixtures."""

from __future__ import annotations

import importlib
import sys

import pytest

from netcoach.bot.review import PlaybookSet, builtin_playbooks

# test_review.py and test_playbooks.py still import the review and the CLI as `bot.…` (the
# names before the package became netcoach.bot); alias exactly those modules, so they are the
# very same objects, never a second copy. Remove once those files import netcoach.bot.
for _name in ("bot", "bot.review", "bot.cli"):
    sys.modules.setdefault(_name, importlib.import_module(f"netcoach.{_name}"))


@pytest.fixture(scope="session")
def playbooks() -> PlaybookSet:
    return builtin_playbooks()
