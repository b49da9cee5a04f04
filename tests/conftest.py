"""Shared fixtures.

NETCOACH_TEST_STORE=postgresql runs the store-level tests on a throwaway PostgreSQL
cluster instead of SQLite files (`make test` does a second pass like that); tests of
SQLite itself are marked `sqlite_only`.
"""

from __future__ import annotations

import os

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


@pytest.fixture(scope="session", autouse=True)
def _stores_on_postgresql():  # type: ignore[no-untyped-def]
    if os.environ.get("NETCOACH_TEST_STORE") != "postgresql":
        yield
        return
    import stack
    from pgcluster import cluster

    with cluster() as running:
        stack.POSTGRES = running.url("").rsplit("/", 1)[0]
        yield
        stack.POSTGRES = None
