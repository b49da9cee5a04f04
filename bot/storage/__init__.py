"""Persistence shared by every feature: the connection, its unit of work, migrations, users.

Each feature owns the repository of its own tables (bot/features/<f>/repository.py) and
the scheduling package owns the job queue; all of them share one `Database`.
"""

from .db import (
    Column,
    Database,
    StoreError,
    Transaction,
    from_unix,
    marks,
    maybe_from_unix,
    quote,
    storage_fault,
    to_unix,
)
from .users import User, Users

__all__ = [
    "Column",
    "Database",
    "StoreError",
    "Transaction",
    "User",
    "Users",
    "from_unix",
    "marks",
    "maybe_from_unix",
    "quote",
    "storage_fault",
    "to_unix",
]
