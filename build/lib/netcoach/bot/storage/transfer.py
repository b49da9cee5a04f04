"""`netcoach db migrate` and `netcoach db copy`: bring a schema up to date, and move an
SQLite install to PostgreSQL.

The copy takes the SQLite file's instance lock (netcoach must be stopped), refuses a
target that holds any row, copies every table in foreign-key order in one transaction,
moves the identity counters past the copied ids, and verifies each table's row count.
"""

from __future__ import annotations

from .db import Database, StoreError, quote
from .instance import InstanceLock
from .postgres import PgDatabase, is_url, redact


async def migrate(database: str) -> str:
    """Create or upgrade the schema of `database` (a file or a postgresql:// URL)."""
    db: Database = (
        await PgDatabase.open(database) if is_url(database) else await Database.open(database)
    )
    try:
        return f"{db.path}: schema version {await db.schema_version()}"
    finally:
        await db.close()


async def _ordered(db: Database) -> list[str]:
    """Tables so that each comes after the tables it references."""
    refs = {
        t: {c.references for c in await db.columns(t) if c.references} for t in await db.tables()
    }
    ordered: list[str] = []
    while refs:
        ready = sorted(t for t, r in refs.items() if not (r - {t}) - set(ordered))
        for table in ready or sorted(refs):
            ordered.append(table)
            del refs[table]
    return ordered


async def copy(sqlite_file: str, url: str) -> dict[str, int]:
    """Copy every row of `sqlite_file` into the PostgreSQL database at `url`; row counts."""
    if is_url(sqlite_file) or not is_url(url):
        raise StoreError("usage: netcoach db copy SQLITE_FILE postgresql://…")
    lock = InstanceLock.acquire(sqlite_file)  # netcoach must not be writing meanwhile
    try:
        src = await Database.open(sqlite_file)
        try:
            dst = await PgDatabase.open(url)
            try:
                return await _copy(src, dst, sqlite_file, url)
            finally:
                await dst.close()
        finally:
            await src.close()
    finally:
        lock.release()


async def _copy(src: Database, dst: PgDatabase, sqlite_file: str, url: str) -> dict[str, int]:
    tables = await _ordered(src)
    missing = set(tables) - set(await dst.tables())
    if missing:
        raise StoreError(f"{redact(url)} lacks tables {sorted(missing)}: different versions?")
    for table in tables:
        row = await dst.one(f"SELECT count(*) FROM {quote(table)}")
        if row[0]:
            raise StoreError(
                f"{redact(url)} is not empty ({table} has {row[0]} rows); netcoach db copy "
                "only fills an empty database, so nothing was copied"
            )
    counts: dict[str, int] = {}
    async with dst.transaction() as tx:
        for table in tables:
            rows = await src.dicts(f"SELECT * FROM {quote(table)}")
            counts[table] = len(rows)
            if not rows:
                continue
            names = list(rows[0])
            columns = ", ".join(quote(n) for n in names)
            marks = ", ".join("?" * len(names))
            await tx.executemany(
                f"INSERT INTO {quote(table)} ({columns}) VALUES ({marks})",
                [tuple(r[n] for n in names) for r in rows],
            )
            if "id" in names:  # identity columns continue after the copied ids
                await tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {quote(table)}))"
                )
    for table, expected in counts.items():
        found = (await dst.one(f"SELECT count(*) FROM {quote(table)}"))[0]
        if found != expected:
            raise StoreError(f"{table}: copied {found} rows of {expected}")
    return counts
