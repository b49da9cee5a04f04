"""Shared fixtures."""

from __future__ import annotations

import pytest

from netcoach.bot.review import PlaybookSet, builtin_playbooks


@pytest.fixture(scope="session")
def playbooks() -> PlaybookSet:
    return builtin_playbooks()


@pytest.fixture(scope="session")
def pg_cluster():  # type: ignore[no-untyped-def]
    """One throwaway PostgreSQL cluster for the session (skips where none is installed)."""
    from pgcluster import cluster

    with cluster() as running:
        yield running


@pytest.fixture
def pg_url(pg_cluster) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty PostgreSQL database."""
    return str(pg_cluster.new_database())
