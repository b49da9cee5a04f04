"""Shared fixtures."""

from __future__ import annotations

import pytest

from bot.playbooks import PlaybookSet
from bot.review import builtin_playbooks


@pytest.fixture(scope="session")
def playbooks() -> PlaybookSet:
    return builtin_playbooks()
