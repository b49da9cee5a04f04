"""Shared fixtures."""

from __future__ import annotations

import pytest

from netcoach.bot.review import PlaybookSet, builtin_playbooks


@pytest.fixture(scope="session")
def playbooks() -> PlaybookSet:
    return builtin_playbooks()
