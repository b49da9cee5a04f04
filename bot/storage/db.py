"""The database connection, its unit of work and its migrations.

One aiosqlite connection; writes go through `transaction()`, which serialises them so
transactions never interleave, commits or rolls back as a whole, and runs what was
registered with `after_commit` only once the commit is durable (the scheduler's wake-up).

Migrations are numbered SQL files in `migrations/` (0001_….sql, 0002_….sql): each moves the
schema from version n-1 to n; append a file, never edit a released one. The version lives in
`PRAGMA user_version`: an older file is upgraded at start, a newer one refused untouched.

Times are stored as Unix seconds (UTC) and handed out as aware datetimes. SQL here and in
the repositories stays dialect-neutral where that costs nothing (RETURNING, ON CONFLICT),
so the repositories can later run on PostgreSQL; SQLite specifics (PRAGMA, sqlite_master)
stay in this module.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence, Sized
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiosqlite

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The database cannot be used as it is; the message says what to do."""


def ensure_folder(path: str) -> None:
    """The database's folder, made if missing; a StoreError in one line when it cannot be."""
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot create the folder {folder} ({exc.strerror}): point "
            "'database' in the config at a file in a folder that exists or can be made"
        ) from None


def storage_fault(path: str, exc: BaseException, *, upgrading: int | None = None) -> StoreError:
    """What SQLite (or the file system) said, as one line for the person running netcoach:
    the file, what is wrong with it, what to do. `upgrading`: the schema version a failed
    migration step started from (the step rolled back as a whole)."""
    said = (getattr(exc, "strerror", "") or str(exc)) if isinstance(exc, OSError) else str(exc)
    low = said.lower()
    name = os.path.basename(path)
    folder = os.path.dirname(os.path.abspath(path))
    elsewhere = "point 'database' in the config at another file"
    if "not a database" in low or "encrypted" in low:
        text = (
            f"{path} is not a SQLite database (or it is encrypted): {elsewhere}, or move this "
            "one away to start afresh; netcoach did not change it"
        )
    elif "malformed" in low or "corrupt" in low:
        text = (
            f"{path} is damaged (SQLite: {said}): restore it from a backup, or save what is "
            f"left with `sqlite3 {path} .recover > recovered.sql`; netcoach did not change it"
        )
    elif os.path.isdir(path):
        text = f"{path} is a folder, not a database file: {elsewhere}, e.g. {path}/{name}"
    elif (
        "readonly" in low
        or "read-only" in low
        or "unable to open" in low
        or isinstance(exc, PermissionError)
    ):
        if os.path.isdir(folder) and not os.access(folder, os.W_OK):
            text = (
                f"{path}: the folder {folder} is read-only for this user, and netcoach and "
                f"SQLite create files next to the database ({name}.lock, {name}-wal, "
                f"{name}-shm): make the folder writable, or {elsewhere} in a writable folder"
            )
        elif os.path.exists(path) and not os.access(path, os.W_OK):
            text = (
                f"{path} is read-only for this user: give it write permission "
                f"(chmod u+w {path}), or {elsewhere}"
            )
        else:
            text = (
                f"cannot open {path} for writing (SQLite: {said}): check that its folder exists, "
                "that the file system is not mounted read-only and that this user may write "
                f"there, or {elsewhere}"
            )
    elif "locked" in low or "busy" in low:
        text = (
            f"{path} is locked by another process (another netcoach on the same file?): "
            f"stop it, or {elsewhere}"
        )
    elif "full" in low:
        text = f"{path}: the disk is full (SQLite: {said}): free some space and start again"
    elif "i/o" in low:
        text = f"{path}: the disk reported an error (SQLite: {said}): check the disk, then retry"
    elif upgrading is not None:
        text = (
            f"{path}: upgrading the schema from version {upgrading} to {upgrading + 1} failed "
            f"(SQLite: {said}), perhaps because the file was changed by hand: restore it from "
            f"a backup, or {elsewhere}"
        )
    else:
        text = f"{path} cannot be used (SQLite: {said}): restore it from a backup, or {elsewhere}"
    if upgrading is not None:
        text += (
            f"; the step was rolled back, so the file is still at version {upgrading} and "
            "nothing of it was applied"
        )
    return StoreError(text)


def to_unix(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return int(dt.timestamp())


def from_unix(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def maybe_from_unix(value: int | None) -> datetime | None:
    return None if value is None else from_unix(value)


def marks(values: Sized) -> str:
    """Placeholders for an IN (…) list."""
    return ",".join("?" * len(values))


IN_CHUNK = 500  # values per IN (…) list, well inside both engines' parameter limits


async def all_in(db: Database, select: str, values: Sequence[Any], then: str = "") -> list[Any]:
    """The rows of `select (…values…) then`, asked `IN_CHUNK` values at a time."""
    rows: list[Any] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        rows += await db.all(f"{select} ({marks(chunk)}){then}", chunk)
    return rows


def migrations(folder: Path = MIGRATIONS_DIR) -> list[str]:
    """The migration scripts in order; a gap or a stray name is an error, not a skipped step."""
    found: dict[int, Path] = {}
    for path in folder.glob("*.sql"):
        m = _MIGRATION_NAME.match(path.name)
        if m is None:
            raise StoreError(f"{path}: migrations are named NNNN_words.sql")
        found[int(m[1])] = path
    numbers = sorted(found)
    if numbers != list(range(1, len(numbers) + 1)):
        raise StoreError(f"{folder}: migrations must be numbered 1, 2, 3… without gaps")
    return [found[n].read_text(encoding="utf-8") for n in numbers]


def statements(script: str) -> list[str]:
    """A script's statements (migrations hold no semicolons inside literals)."""
    body = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in body.split(";") if s.strip()]


class Transaction:
    """One unit of work: statements run inside BEGIN … COMMIT on the shared connection."""

    def __init__(self, conn: aiosqlite.Connection):
        self._conn = conn
        self._after: list[Callable[[], None]] = []

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        async with self._conn.execute(sql, params) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return next(iter(await self._conn.execute_fetchall(sql, params)), None)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (never after a rollback)."""
        if callback not in self._after:
            self._after.append(callback)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few statements that differ between SQLite and PostgreSQL, named and kept here."""

    name: str
    # The ids of due pending jobs to claim (params: now, limit). PostgreSQL locks them
    # with SKIP LOCKED so concurrent workers never claim the same row.
    due_ids: str


SQLITE = Dialect(
    "sqlite",
    due_ids="SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ? "
    "ORDER BY run_at, id LIMIT ?",
)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    references: str | None  # the table a foreign key on this column points at


class Database:
    """The connection; repositories share it and each owns the SQL of its tables."""

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: str):
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_ms: int = 5000,
        scripts: Sequence[str] | None = None,
        driver: Any = None,
    ) -> Database:
        """Open (creating and migrating) the SQLite file. `driver` is a DB-API module with
        sqlite3's `connect` (default: the standard library's)."""
        import aiosqlite  # here, so `netcoach review` never loads the database driver

        path = str(path)
        if path != ":memory:":
            ensure_folder(path)
        dbapi = driver or sqlite3
        try:
            # Opened here first, synchronously: a file SQLite cannot open fails now, not
            # inside aiosqlite's thread (which then reports to a loop that may be gone).
            dbapi.connect(path).close()
            if driver is None:
                conn = await aiosqlite.connect(path, isolation_level=None)
            else:
                conn = await aiosqlite.Connection(
                    lambda: driver.connect(path, isolation_level=None, check_same_thread=False),
                    64,
                )
        except (sqlite3.Error, dbapi.Error) as exc:
            raise storage_fault(path, exc) from None
        try:
            # Deleted rows are overwritten, not left readable in free pages (/forget means
            # gone). Per connection: many SQLite builds have it off by default.
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            db = cls(conn, path)
            await db._check_writable()
            await db._migrate(migrations() if scripts is None else list(scripts))
        except (sqlite3.Error, dbapi.Error) as exc:
            await conn.close()
            raise storage_fault(path, exc) from None
        except BaseException:
            await conn.close()
            raise
        return db

    async def _check_writable(self) -> None:
        """A write that changes nothing, rolled back: a read-only or locked file is found at
        start-up, in one line, rather than by the first user whose command writes."""
        version = await self.schema_version()
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            await self._conn.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            await self._conn.execute("ROLLBACK")

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            tx = Transaction(self._conn)
            try:
                yield tx
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
        for callback in tx._after:
            callback()

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._conn.execute_fetchall(sql, params)  # one trip to the db thread
        return next(iter(rows), None)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        async with self._conn.execute(sql, params) as cur:
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]

    # -- the schema ------------------------------------------------------------------------

    async def schema_version(self) -> int:
        version: int = (await self.one("PRAGMA user_version"))[0]
        return version

    async def tables(self) -> list[str]:
        rows = await self.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
        return [r[0] for r in rows]

    async def columns(self, table: str) -> list[Column]:
        """A table's columns with the table each foreign key points at."""
        refs = {k[3]: k[2] for k in await self.all(f"PRAGMA foreign_key_list({quote(table)})")}
        cols = await self.all(f"PRAGMA table_info({quote(table)})")
        return [Column(c[1], refs.get(c[1])) for c in cols]

    async def _migrate(self, scripts: Sequence[str]) -> None:
        version, latest = await self.schema_version(), len(scripts)
        if version > latest:
            raise StoreError(
                f"{self.path} was written by a newer netcoach (schema version {version}; "
                f"this one knows up to {latest}). Upgrade netcoach, or point "
                "'database' in the config at another file; the file was left untouched."
            )
        for number in range(version, latest):
            try:
                async with self.transaction() as tx:
                    for statement in statements(scripts[number]):
                        await tx.execute(statement)
                    await tx.execute(f"PRAGMA user_version = {number + 1}")
            except sqlite3.Error as exc:
                raise storage_fault(self.path, exc, upgrading=number) from None


def quote(name: str) -> str:
    """An identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'
