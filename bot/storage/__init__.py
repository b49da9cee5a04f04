"""Persistence shared by every feature: the connection, its unit of work, migrations, users.

Each feature owns the repository of its own tables (bot/features/<f>/repository.py) and
the scheduling package owns the job queue; all of them share one `Database`.
"""

from .coordination import Coordination
from .db import (
    Column,
    Database,
    StoreError,
    Transaction,
    all_in,
    from_unix,
    marks,
    maybe_from_unix,
    quote,
    storage_fault,
    to_unix,
)
from .instance import InstanceLock
from .postgres import PgDatabase, is_url, redact
from .users import User, Users

__all__ = [
    "Column",
    "Coordination",
    "Database",
    "InstanceLock",
    "PgDatabase",
    "StoreError",
    "Transaction",
    "User",
    "Users",
    "all_in",
    "from_unix",
    "is_url",
    "marks",
    "maybe_from_unix",
    "open_database",
    "quote",
    "redact",
    "storage_fault",
    "to_unix",
]


async def open_database(database: str) -> Database:
    """A PostgreSQL URL (postgresql://…) or an SQLite file (':memory:' for none)."""
    if is_url(database):
        return await PgDatabase.open(database)
    return await Database.open(database)
