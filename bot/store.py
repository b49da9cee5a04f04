"""Persistent state in one SQLite file; every SQL statement of netcoach lives here.

Reminders are rows, never only memory, so a restart or a crash loses nothing. Times are
stored as Unix seconds (UTC) and handed out as aware datetimes.

Conventions later migrations must keep:
- every table that holds a user's data has `user_id INTEGER ... REFERENCES users(id)
  ON DELETE CASCADE`; `export_user` and `forget_user` discover those tables from the
  schema, so a new table is exported and forgotten without touching them;
- `jobs` is the scheduler's queue for every kind of due item (`kind` + `ref_id`), so
  community tips can share the one scheduler with follow-ups.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from netcoach.bot.kernel import UserRef

# Each entry moves the schema from version i to i + 1. Append, never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        timezone TEXT,
        prefs TEXT NOT NULL DEFAULT '{}',
        awaiting TEXT,
        created_at INTEGER NOT NULL,
        UNIQUE (platform, platform_user_id)
    );
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        handle TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        last_contacted INTEGER,
        created_at INTEGER NOT NULL,
        UNIQUE (user_id, name_key)
    );
    CREATE TABLE bonds (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX bonds_contact ON bonds(contact_id);
    CREATE INDEX bonds_user ON bonds(user_id);
    CREATE TABLE interactions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL
    );
    CREATE INDEX interactions_contact ON interactions(contact_id, at);
    CREATE INDEX interactions_user ON interactions(user_id);
    CREATE TABLE followups (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        note TEXT NOT NULL DEFAULT '',
        cadence TEXT,
        anchor INTEGER,
        occurrence INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'done', 'cancelled')),
        created_at INTEGER NOT NULL,
        closed_at INTEGER
    );
    CREATE INDEX followups_user ON followups(user_id, status, due_at);
    CREATE INDEX followups_contact ON followups(contact_id);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        ref_id INTEGER NOT NULL,
        user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
        occurrence INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
            ('pending', 'claimed', 'sent', 'failed', 'undeliverable', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        repeat INTEGER NOT NULL DEFAULT 0,
        claimed_at INTEGER,
        sent_at INTEGER,
        message_id TEXT,
        error TEXT
    );
    CREATE INDEX jobs_pending ON jobs(run_at, id) WHERE state = 'pending';
    CREATE INDEX jobs_claimed ON jobs(id) WHERE state = 'claimed';
    CREATE INDEX jobs_ref ON jobs(kind, ref_id);
    CREATE INDEX jobs_user ON jobs(user_id, state);
    """,
    # 2: opt-in profiles, community memberships for bonds, and opt-in draft history.
    """
    ALTER TABLE users ADD COLUMN profile_visibility TEXT NOT NULL DEFAULT 'off'
        CHECK (profile_visibility IN ('off', 'private', 'community'));
    ALTER TABLE users ADD COLUMN keep_history INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE profile_tags (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        field TEXT NOT NULL,
        tag TEXT NOT NULL,
        display TEXT NOT NULL,
        UNIQUE (user_id, field, tag)
    );
    CREATE INDEX profile_tags_tag ON profile_tags(tag, user_id);
    CREATE TABLE memberships (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        community TEXT NOT NULL,
        visible INTEGER NOT NULL DEFAULT 0,
        seen_at INTEGER NOT NULL,
        UNIQUE (user_id, community)
    );
    CREATE INDEX memberships_community ON memberships(community, visible, user_id);
    CREATE TABLE drafts (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        context TEXT NOT NULL,
        score INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        missed TEXT NOT NULL DEFAULT '[]',
        text TEXT NOT NULL
    );
    CREATE INDEX drafts_user ON drafts(user_id, at);
    """,
    # 3: communities (servers, groups): scheduled tips, intro coaching, members' notes.
    """
    CREATE TABLE communities (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        community TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        timezone TEXT,
        tips_state TEXT NOT NULL DEFAULT 'off' CHECK (tips_state IN ('off', 'on', 'stopped')),
        tips_channel TEXT,
        tips_channel_name TEXT NOT NULL DEFAULT '',
        tips_time TEXT NOT NULL DEFAULT '09:00',
        tips_every TEXT NOT NULL DEFAULT 'day',
        tips_playbooks TEXT NOT NULL DEFAULT '[]',
        tips_since INTEGER,
        tips_counted INTEGER NOT NULL DEFAULT 1,
        tips_messages INTEGER NOT NULL DEFAULT 0,
        tips_job INTEGER,
        tips_key TEXT,
        tips_note TEXT,
        intros_channel TEXT,
        intros_channel_name TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        UNIQUE (platform, community)
    );
    CREATE INDEX communities_tips ON communities(platform, tips_channel);
    CREATE INDEX communities_intros ON communities(platform, intros_channel);
    CREATE TABLE community_tips (
        id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX community_tips_community ON community_tips(community_id);
    CREATE TABLE tip_rotations (
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        cycle TEXT NOT NULL DEFAULT '[]',
        position INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (platform, channel)
    );
    CREATE TABLE intro_notes (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        noted_at INTEGER NOT NULL,
        UNIQUE (user_id, community_id)
    );
    CREATE TABLE coach_optouts (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
        at INTEGER NOT NULL
    );
    CREATE TABLE tips_seen (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tip TEXT NOT NULL,
        at INTEGER NOT NULL,
        UNIQUE (user_id, tip)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be used as it is; the message says what to do."""


def to_unix(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return int(dt.timestamp())


def from_unix(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def name_key(name: str) -> str:
    """Contact names match case- and space-insensitively ("maria  Lopez" == "Maria Lopez")."""
    return " ".join(name.casefold().split())


@dataclass(frozen=True, slots=True)
class User:
    id: int
    platform: str
    platform_user_id: str
    name: str
    timezone: str | None  # None: the configured default
    prefs: dict[str, Any] = field(default_factory=dict)
    awaiting: str | None = None  # e.g. "draft:12": how the next plain message is meant

    @property
    def ref(self) -> UserRef:
        return UserRef(self.platform, self.platform_user_id, self.name)


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    user_id: int
    name: str
    handle: str
    notes: str
    last_contacted: datetime | None
    bonds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Interaction:
    at: datetime
    note: str
    source: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    user_id: int
    contact_id: int
    contact_name: str
    note: str
    cadence: str | None  # None: one-off; else a when.parse_cadence text such as "2 weeks"
    anchor: datetime | None
    occurrence: int
    due_at: datetime
    status: str
    last_contacted: datetime | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One due item for the scheduler: a follow-up occurrence today, a tip later."""

    id: int
    kind: str
    ref_id: int
    user_id: int | None
    occurrence: int
    due_at: datetime
    run_at: datetime
    state: str
    attempts: int
    repeat: bool  # claimed before a crash: it may already have been delivered
    error: str | None = None


_JOB_COLS = "id, kind, ref_id, user_id, occurrence, due_at, run_at, state, attempts, repeat, error"
_FU_COLS = (
    "f.id, f.user_id, f.contact_id, c.name, f.note, f.cadence, f.anchor, f.occurrence, "
    "f.due_at, f.status, c.last_contacted"
)


def _job(row: Sequence[Any]) -> Job:
    return Job(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        from_unix(row[5]),  # type: ignore[arg-type]
        from_unix(row[6]),  # type: ignore[arg-type]
        row[7],
        row[8],
        bool(row[9]),
        row[10],
    )


def _followup(row: Sequence[Any]) -> FollowUp:
    return FollowUp(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        from_unix(row[6]),
        row[7],
        from_unix(row[8]),  # type: ignore[arg-type]
        row[9],
        from_unix(row[10]),
    )


def _user(row: Sequence[Any]) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"), row[6])


_USER_COLS = "id, platform, platform_user_id, name, timezone, prefs, awaiting"


class Store:
    """One aiosqlite connection; writes are serialised so transactions never interleave."""

    def __init__(self, db: aiosqlite.Connection, path: str):
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()
        # Called after any commit that adds, moves or cancels a job (the scheduler's wake).
        self.listeners: list[Callable[[], None]] = []
        # Users who may have parked jobs or an awaited message, so that the common message
        # (a draft from someone with neither) costs no query. Loaded on first use; a user
        # is added whenever either appears and dropped once both are known to be gone.
        self._attention: set[tuple[str, str]] | None = None

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = 5000) -> Store:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            store = cls(db, path)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing -----------------------------------------------------------------------

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    def _jobs_changed(self) -> None:
        for listener in self.listeners:
            listener()

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._db.execute_fetchall(sql, params)  # one trip to the db thread
        return next(iter(rows), None)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._db.execute_fetchall(sql, params))

    async def schema_version(self) -> int:
        return (await self._one("PRAGMA user_version"))[0]

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer netcoach (schema version {version}; "
                f"this one knows up to {SCHEMA_VERSION}). Upgrade netcoach, or point "
                "'database' in the config at another file; the file was left untouched."
            )
        for number in range(version, SCHEMA_VERSION):
            async with self._tx() as db:
                for statement in _statements(MIGRATIONS[number]):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number + 1}")

    # -- users --------------------------------------------------------------------------

    async def ensure_user(self, ref: UserRef, now: datetime | None = None) -> User:
        """The stored user for `ref`, created on first sight; the display name is refreshed."""
        row = await self._one(
            f"SELECT {_USER_COLS} FROM users WHERE platform = ? AND platform_user_id = ?",
            (ref.platform, ref.id),
        )
        if row is not None and (not ref.name or row[3] == ref.name):
            return _user(row)
        created = to_unix(now or datetime.now(UTC))
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO users (platform, platform_user_id, name, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, platform_user_id) "
                "DO UPDATE SET name = excluded.name WHERE excluded.name != ''",
                (ref.platform, ref.id, ref.name, created),
            )
        row = await self._one(
            f"SELECT {_USER_COLS} FROM users WHERE platform = ? AND platform_user_id = ?",
            (ref.platform, ref.id),
        )
        return _user(row)

    async def find_user(self, ref: UserRef) -> User | None:
        row = await self._one(
            f"SELECT {_USER_COLS} FROM users WHERE platform = ? AND platform_user_id = ?",
            (ref.platform, ref.id),
        )
        return None if row is None else _user(row)

    async def user_by_id(self, user_id: int) -> User | None:
        row = await self._one(f"SELECT {_USER_COLS} FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        async with self._tx() as db:
            await db.execute("UPDATE users SET timezone = ? WHERE id = ?", (timezone, user_id))

    async def set_prefs(self, user_id: int, prefs: dict[str, Any]) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE users SET prefs = ? WHERE id = ?", (json.dumps(prefs), user_id)
            )

    async def set_awaiting(self, user_id: int, awaiting: str | None) -> None:
        async with self._tx() as db:
            await db.execute("UPDATE users SET awaiting = ? WHERE id = ?", (awaiting, user_id))
        if awaiting is not None:
            await self._needs_attention([user_id])

    async def may_need_attention(self, ref: UserRef) -> bool:
        """False when `ref` surely has no parked job and no awaited message."""
        if self._attention is None:
            rows = await self._all(
                "SELECT platform, platform_user_id FROM users WHERE awaiting IS NOT NULL "
                "OR id IN (SELECT user_id FROM jobs WHERE state IN ('failed', 'undeliverable'))"
            )
            self._attention = {(r[0], r[1]) for r in rows}
        return (ref.platform, ref.id) in self._attention

    def attended(self, ref: UserRef) -> None:
        """`ref` has neither a parked job nor an awaited message any more."""
        if self._attention is not None:
            self._attention.discard((ref.platform, ref.id))

    async def _needs_attention(self, user_ids: Iterable[int]) -> None:
        if self._attention is None:
            return  # loaded from the tables on first use
        ids = list(set(user_ids))
        rows = await self._all(
            "SELECT platform, platform_user_id FROM users WHERE id IN "
            f"({','.join('?' * len(ids))})",
            ids,
        )
        self._attention.update((r[0], r[1]) for r in rows)

    async def pop_awaiting(self, ref: UserRef) -> str | None:
        """Take the pending expectation for `ref`'s next plain message, if any (once)."""
        if not await self.may_need_attention(ref):
            return None
        row = await self._one(
            "SELECT id, awaiting FROM users WHERE platform = ? AND platform_user_id = ?",
            (ref.platform, ref.id),
        )
        if row is None or row[1] is None:
            return None  # the common case costs one read, no write
        async with (
            self._tx() as db,
            db.execute(
                "UPDATE users SET awaiting = NULL WHERE id = ? AND awaiting = ?", (row[0], row[1])
            ) as cur,
        ):
            taken = cur.rowcount == 1
        return row[1] if taken else None

    async def users_by_ids(self, ids: Iterable[int]) -> dict[int, User]:
        ids = list(set(ids))
        out: dict[int, User] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in await self._all(
                f"SELECT {_USER_COLS} FROM users WHERE id IN ({marks})", chunk
            ):
                out[row[0]] = _user(row)
        return out

    # -- contacts -----------------------------------------------------------------------

    async def find_contact(self, user_id: int, name: str) -> Contact | None:
        row = await self._one(
            "SELECT id FROM contacts WHERE user_id = ? AND name_key = ?", (user_id, name_key(name))
        )
        return None if row is None else await self.contact_by_id(user_id, row[0])

    async def contact_by_id(self, user_id: int, contact_id: int) -> Contact | None:
        row = await self._one(
            "SELECT id, user_id, name, handle, notes, last_contacted FROM contacts "
            "WHERE id = ? AND user_id = ?",
            (contact_id, user_id),
        )
        if row is None:
            return None
        bonds = await self._all(
            "SELECT text FROM bonds WHERE contact_id = ? ORDER BY id", (contact_id,)
        )
        return Contact(
            row[0], row[1], row[2], row[3], row[4], from_unix(row[5]), tuple(b[0] for b in bonds)
        )

    async def ensure_contact(self, user_id: int, name: str, now: datetime) -> Contact:
        async with self._tx() as db:
            await self._ensure_contact_id(db, user_id, name, now)
        found = await self.find_contact(user_id, name)
        assert found is not None
        return found

    async def _ensure_contact_id(
        self, db: aiosqlite.Connection, user_id: int, name: str, now: datetime
    ) -> int:
        return (await self._upsert_contact(db, user_id, name, now))[0]

    async def _upsert_contact(
        self, db: aiosqlite.Connection, user_id: int, name: str, now: datetime
    ) -> tuple[int, str, int | None]:
        """(id, stored name, last contacted) of the contact, created when new."""
        rows = await db.execute_fetchall(
            "INSERT INTO contacts (user_id, name, name_key, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, name_key) DO UPDATE SET name = contacts.name "
            "RETURNING id, name, last_contacted",
            (user_id, name, name_key(name), to_unix(now)),
        )
        contact_id, stored, last = next(iter(rows))
        return contact_id, stored, last

    async def contacts(self, user_id: int) -> list[Contact]:
        rows = await self._all(
            "SELECT id, user_id, name, handle, notes, last_contacted FROM contacts "
            "WHERE user_id = ? ORDER BY name_key",
            (user_id,),
        )
        bonds: dict[int, list[str]] = {}
        for contact_id, text in await self._all(
            "SELECT contact_id, text FROM bonds WHERE user_id = ? ORDER BY id", (user_id,)
        ):
            bonds.setdefault(contact_id, []).append(text)
        return [
            Contact(r[0], r[1], r[2], r[3], r[4], from_unix(r[5]), tuple(bonds.get(r[0], ())))
            for r in rows
        ]

    async def add_bond(self, user_id: int, contact_id: int, text: str, now: datetime) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO bonds (user_id, contact_id, text, created_at) "
                "SELECT user_id, id, ?, ? FROM contacts WHERE id = ? AND user_id = ?",
                (text, to_unix(now), contact_id, user_id),
            )

    async def set_contact_notes(self, user_id: int, contact_id: int, notes: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE contacts SET notes = ? WHERE id = ? AND user_id = ?",
                (notes, contact_id, user_id),
            )

    async def interactions(self, user_id: int, contact_id: int, limit: int = 10) -> list[Any]:
        rows = await self._all(
            "SELECT at, note, source FROM interactions WHERE user_id = ? AND contact_id = ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (user_id, contact_id, limit),
        )
        return [Interaction(from_unix(r[0]), r[1], r[2]) for r in rows]  # type: ignore[arg-type]

    # -- follow-ups ---------------------------------------------------------------------

    async def add_followup(
        self,
        user_id: int,
        contact_name: str,
        note: str,
        due_at: datetime,
        now: datetime,
        *,
        cadence: str | None = None,
        anchor: datetime | None = None,
        occurrence: int = 0,
    ) -> FollowUp:
        """Create the contact if new, the follow-up and its first job, in one transaction."""
        async with self._tx() as db:
            contact_id, stored_name, last = await self._upsert_contact(
                db, user_id, contact_name, now
            )
            rows_ = await db.execute_fetchall(
                "INSERT INTO followups (user_id, contact_id, note, cadence, anchor, occurrence, "
                "due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    user_id,
                    contact_id,
                    note,
                    cadence,
                    None if anchor is None else to_unix(anchor),
                    occurrence,
                    to_unix(due_at),
                    to_unix(now),
                ),
            )
            followup_id = next(iter(rows_))[0]
            await self._insert_job(db, "followup", followup_id, user_id, due_at, occurrence)
        self._jobs_changed()
        return FollowUp(
            followup_id,
            user_id,
            contact_id,
            stored_name,
            note,
            cadence,
            None if anchor is None else from_unix(to_unix(anchor)),
            occurrence,
            from_unix(to_unix(due_at)),  # type: ignore[arg-type]
            "active",
            from_unix(last),
        )

    async def followup(self, user_id: int, followup_id: int) -> FollowUp | None:
        """A follow-up only if it belongs to `user_id`: others' ids look unknown."""
        row = await self._one(
            f"SELECT {_FU_COLS} FROM followups f JOIN contacts c ON c.id = f.contact_id "
            "WHERE f.id = ? AND f.user_id = ?",
            (followup_id, user_id),
        )
        return None if row is None else _followup(row)

    async def followups(
        self, user_id: int, *, contact_id: int | None = None, active_only: bool = True
    ) -> list[FollowUp]:
        sql = (
            f"SELECT {_FU_COLS} FROM followups f JOIN contacts c ON c.id = f.contact_id "
            "WHERE f.user_id = ?"
        )
        params: list[Any] = [user_id]
        if active_only:
            sql += " AND f.status = 'active'"
        if contact_id is not None:
            sql += " AND f.contact_id = ?"
            params.append(contact_id)
        rows = await self._all(sql + " ORDER BY f.due_at, f.id", params)
        return [_followup(r) for r in rows]

    async def followups_by_ids(self, ids: Iterable[int]) -> dict[int, FollowUp]:
        ids = list(ids)
        out: dict[int, FollowUp] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in await self._all(
                f"SELECT {_FU_COLS} FROM followups f JOIN contacts c ON c.id = f.contact_id "
                f"WHERE f.id IN ({marks})",
                chunk,
            ):
                out[row[0]] = _followup(row)
        return out

    async def bonds_for(self, contact_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        ids = list(set(contact_ids))
        out: dict[int, list[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for contact_id, text in await self._all(
                f"SELECT contact_id, text FROM bonds WHERE contact_id IN ({marks}) ORDER BY id",
                chunk,
            ):
                out.setdefault(contact_id, []).append(text)
        return {k: tuple(v) for k, v in out.items()}

    async def reschedule_followup(
        self,
        user_id: int,
        followup_id: int,
        due_at: datetime,
        *,
        anchor: datetime | None = None,
        occurrence: int | None = None,
    ) -> bool:
        """Move a follow-up to `due_at`: pending jobs are cancelled and one new job queued."""
        async with self._tx() as db:
            sets, params = ["due_at = ?"], [to_unix(due_at)]
            if anchor is not None:
                sets.append("anchor = ?")
                params.append(to_unix(anchor))
            if occurrence is not None:
                sets.append("occurrence = ?")
                params.append(occurrence)
            rows_ = await db.execute_fetchall(
                f"UPDATE followups SET {', '.join(sets)} WHERE id = ? AND user_id = ? "
                "AND status = 'active' RETURNING occurrence",
                (*params, followup_id, user_id),
            )
            row = next(iter(rows_), None)
            if row is None:
                return False
            await self._cancel_jobs(db, "followup", followup_id)
            await self._insert_job(db, "followup", followup_id, user_id, due_at, row[0])
        self._jobs_changed()
        return True

    async def close_followup(
        self, user_id: int, followup_id: int, status: str, now: datetime
    ) -> bool:
        """Mark done or cancelled; its queued jobs are cancelled with it."""
        if status not in ("done", "cancelled"):
            raise ValueError(status)
        async with self._tx() as db:
            rows_ = await db.execute_fetchall(
                "UPDATE followups SET status = ?, closed_at = ? WHERE id = ? AND user_id = ? "
                "AND status = 'active' RETURNING id",
                (status, to_unix(now), followup_id, user_id),
            )
            row = next(iter(rows_), None)
            if row is None:
                return False
            await self._cancel_jobs(db, "followup", followup_id)
        self._jobs_changed()
        return True

    async def log_contact(
        self, user_id: int, contact_id: int, at: datetime, note: str, source: str
    ) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO interactions (user_id, contact_id, at, note, source) "
                "SELECT user_id, id, ?, ?, ? FROM contacts WHERE id = ? AND user_id = ?",
                (to_unix(at), note, source, contact_id, user_id),
            )
            await db.execute(
                "UPDATE contacts SET last_contacted = max(coalesce(last_contacted, 0), ?) "
                "WHERE id = ? AND user_id = ?",
                (to_unix(at), contact_id, user_id),
            )

    # -- jobs (the scheduler's queue) ------------------------------------------------------

    async def _insert_job(
        self,
        db: aiosqlite.Connection,
        kind: str,
        ref_id: int,
        user_id: int | None,
        due_at: datetime,
        occurrence: int,
    ) -> int:
        due = to_unix(due_at)
        rows = await db.execute_fetchall(
            "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (kind, ref_id, user_id, occurrence, due, due),
        )
        return next(iter(rows))[0]

    async def _cancel_jobs(self, db: aiosqlite.Connection, kind: str, ref_id: int) -> None:
        await db.execute(
            "UPDATE jobs SET state = 'cancelled' WHERE kind = ? AND ref_id = ? "
            "AND state IN ('pending', 'failed', 'undeliverable')",
            (kind, ref_id),
        )

    async def cancel_jobs(self, kind: str, ref_id: int) -> None:
        """Drop the queued jobs of one item (a tip schedule switched off, say)."""
        async with self._tx() as db:
            await self._cancel_jobs(db, kind, ref_id)
        self._jobs_changed()

    async def add_job(
        self,
        kind: str,
        ref_id: int,
        user_id: int | None,
        due_at: datetime,
        occurrence: int = 0,
    ) -> int:
        async with self._tx() as db:
            job_id = await self._insert_job(db, kind, ref_id, user_id, due_at, occurrence)
        self._jobs_changed()
        return job_id

    async def next_run_at(self) -> datetime | None:
        row = await self._one(
            "SELECT run_at FROM jobs WHERE state = 'pending' ORDER BY run_at LIMIT 1"
        )
        return None if row is None else from_unix(row[0])

    async def peek_due(self, until: datetime, limit: int = 1000) -> list[Job]:
        """Pending jobs due by `until`, earliest first, without claiming them."""
        rows = await self._all(
            f"SELECT {_JOB_COLS} FROM jobs WHERE state = 'pending' AND run_at <= ? "
            "ORDER BY run_at, id LIMIT ?",
            (to_unix(until), limit),
        )
        return [_job(r) for r in rows]

    async def claim_due(self, now: datetime, limit: int = 500) -> list[Job]:
        """Claim (and commit) up to `limit` jobs due by `now`, earliest first."""
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                f"UPDATE jobs SET state = 'claimed', claimed_at = ?, attempts = attempts + 1 "
                f"WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ? "
                f"ORDER BY run_at, id LIMIT ?) RETURNING {_JOB_COLS}",
                (to_unix(now), to_unix(now), limit),
            )
        jobs = [_job(r) for r in rows]
        jobs.sort(key=lambda j: (j.run_at, j.id))
        return jobs

    async def finish_jobs(
        self,
        now: datetime,
        *,
        sent: Sequence[tuple[int, str]] = (),
        failed: Sequence[tuple[int, str, str]] = (),
        retried: Sequence[tuple[int, datetime, str]] = (),
        next_jobs: Sequence[tuple[str, int, int | None, datetime, int]] = (),
        deferred: Sequence[tuple[int, datetime, str]] = (),
    ) -> None:
        """Record a batch's outcome in one commit, so a crash keeps all of it or none.

        sent: (job id, message id); failed: (job id, 'failed'|'undeliverable'|'cancelled',
        reason); retried: (job id, next try, reason); next_jobs: (kind, ref id, user id,
        due, occurrence) that follow the finished ones (a cadence's next occurrence);
        deferred: like retried, without using up a try.
        """
        for _, state, _ in failed:
            if state not in ("failed", "undeliverable", "cancelled"):
                raise ValueError(state)
        if not (sent or failed or retried or next_jobs or deferred):
            return
        stamp = to_unix(now)
        async with self._tx() as db:
            await db.executemany(
                "UPDATE jobs SET state = 'sent', sent_at = ?, message_id = ?, error = NULL "
                "WHERE id = ? AND state = 'claimed'",
                [(stamp, message_id, job_id) for job_id, message_id in sent],
            )
            await db.executemany(
                "UPDATE jobs SET state = ?, error = ? WHERE id = ? AND state = 'claimed'",
                [(state, error, job_id) for job_id, state, error in failed],
            )
            await db.executemany(
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ? "
                "WHERE id = ? AND state = 'claimed'",
                [(to_unix(at), error, job_id) for job_id, at, error in retried],
            )
            await db.executemany(  # not this process's to send: the try does not count
                "UPDATE jobs SET state = 'pending', run_at = ?, error = ?, "
                "attempts = attempts - 1 WHERE id = ? AND state = 'claimed'",
                [(to_unix(at), error, job_id) for job_id, at, error in deferred],
            )
            # A successor is skipped when the item was rescheduled meanwhile (a `done` pressed
            # while its nudge was in flight already queued the next one).
            await db.executemany(  # skipped when the user was forgotten meanwhile
                "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
                "SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM jobs "
                "WHERE kind = ? AND ref_id = ? AND state IN ('pending', 'claimed')) "
                "AND (? IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?))",
                [(k, r, u, o, to_unix(d), to_unix(d), k, r, u, u) for k, r, u, d, o in next_jobs],
            )
        parked = [job_id for job_id, state, _ in failed if state != "cancelled"]
        if parked:
            rows = await self._all(
                f"SELECT user_id FROM jobs WHERE id IN ({','.join('?' * len(parked))}) "
                "AND user_id IS NOT NULL",
                parked,
            )
            await self._needs_attention(r[0] for r in rows)
        if retried or next_jobs or deferred:
            self._jobs_changed()

    async def recover_claimed(self) -> int:
        """Return jobs claimed by a process that died to the queue, flagged as possible repeats."""
        async with (
            self._tx() as db,
            db.execute(
                "UPDATE jobs SET state = 'pending', repeat = 1 WHERE state = 'claimed'"
            ) as cur,
        ):
            return cur.rowcount

    async def stranded_jobs(self, user_id: int) -> list[Job]:
        """Jobs of this user that could not be delivered and are waiting for them to write."""
        rows = await self._all(
            f"SELECT {_JOB_COLS} FROM jobs WHERE user_id = ? "
            "AND state IN ('failed', 'undeliverable') ORDER BY due_at, id",
            (user_id,),
        )
        return [_job(r) for r in rows]

    async def claim_jobs(self, job_ids: Sequence[int], now: datetime) -> list[Job]:
        """Claim specific stranded jobs (to hand them over in a reply instead of a push)."""
        if not job_ids:
            return []
        marks = ",".join("?" * len(job_ids))
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                f"UPDATE jobs SET state = 'claimed', claimed_at = ? WHERE id IN ({marks}) "
                f"AND state IN ('failed', 'undeliverable') RETURNING {_JOB_COLS}",
                (to_unix(now), *job_ids),
            )
        return sorted((_job(r) for r in rows), key=lambda j: (j.due_at, j.id))

    async def jobs_for(self, kind: str, ref_id: int) -> list[Job]:
        rows = await self._all(
            f"SELECT {_JOB_COLS} FROM jobs WHERE kind = ? AND ref_id = ? ORDER BY id",
            (kind, ref_id),
        )
        return [_job(r) for r in rows]

    async def count_jobs(self, state: str) -> int:
        return (await self._one("SELECT count(*) FROM jobs WHERE state = ?", (state,)))[0]

    # -- bulk loading (benchmarks, imports) ---------------------------------------------

    async def bulk_followups(
        self, rows: Iterable[tuple[int, str, str, datetime]], now: datetime
    ) -> int:
        """Insert (user_id, contact name, note, due_at) rows, with their jobs, in one commit.

        For imports and benchmarks: `rows` may be a generator, so a million rows never sit
        in memory at once. Returns how many follow-ups were added.
        """
        created = to_unix(now)

        def contacts_and_followups() -> Iterable[tuple[Any, ...]]:
            for user_id, name, note, due in rows:
                yield (user_id, name, name_key(name), created, note, to_unix(due))

        async with self._tx() as db:
            first = (await self._one("SELECT coalesce(max(id), 0) FROM followups"))[0]
            await db.execute(
                "CREATE TEMP TABLE bulk (user_id INTEGER, name TEXT, name_key TEXT, "
                "created INTEGER, note TEXT, due_at INTEGER)"
            )
            await db.executemany(
                "INSERT INTO temp.bulk VALUES (?, ?, ?, ?, ?, ?)", contacts_and_followups()
            )
            await db.execute(
                "INSERT INTO contacts (user_id, name, name_key, created_at) "
                "SELECT user_id, name, name_key, created FROM temp.bulk WHERE true "
                "ON CONFLICT (user_id, name_key) DO NOTHING"
            )
            await db.execute(
                "INSERT INTO followups (user_id, contact_id, note, due_at, created_at) "
                "SELECT b.user_id, c.id, b.note, b.due_at, ? FROM temp.bulk b "
                "JOIN contacts c ON c.user_id = b.user_id AND c.name_key = b.name_key "
                "ORDER BY b.rowid",
                (created,),
            )
            await db.execute("DROP TABLE temp.bulk")
            async with db.execute(
                "INSERT INTO jobs (kind, ref_id, user_id, occurrence, due_at, run_at) "
                "SELECT 'followup', id, user_id, 0, due_at, due_at FROM followups WHERE id > ?",
                (first,),
            ) as cur:
                added = cur.rowcount
        self._jobs_changed()
        return added

    async def bulk_users(self, refs: Iterable[UserRef], now: datetime) -> dict[str, int]:
        created = to_unix(now)
        async with self._tx() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO users (platform, platform_user_id, name, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(r.platform, r.id, r.name, created) for r in refs],
            )
        rows = await self._all("SELECT platform_user_id, id FROM users")
        return {r[0]: r[1] for r in rows}

    # -- a user's data, generically ---------------------------------------------------------

    async def user_tables(self) -> list[str]:
        """Every table with a `user_id` column, found from the schema itself.

        Ordered so a table comes before the tables it references, which lets deletes run
        children first and report honest counts.
        """
        tables = await self._all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
        refs: dict[str, set[str]] = {}
        for (table,) in tables:
            columns = await self._all(f"PRAGMA table_info({_ident(table)})")
            if any(c[1] == "user_id" for c in columns):
                keys = await self._all(f"PRAGMA foreign_key_list({_ident(table)})")
                refs[table] = {k[2] for k in keys}
        ordered: list[str] = []
        while refs:
            # A table is ready when no remaining table references it.
            ready = sorted(t for t in refs if not any(t in r for o, r in refs.items() if o != t))
            if not ready:  # a reference cycle: any order works, cascades tidy up
                ready = sorted(refs)
            for table in ready:
                ordered.append(table)
                del refs[table]
        return ordered

    async def export_user(self, user: User) -> dict[str, list[dict[str, Any]]]:
        """Everything stored about `user`: table name -> rows as dicts."""
        out: dict[str, list[dict[str, Any]]] = {}
        out["users"] = await self._dicts("SELECT * FROM users WHERE id = ?", (user.id,))
        for table in await self.user_tables():
            out[table] = await self._dicts(
                f"SELECT * FROM {_ident(table)} WHERE user_id = ? ORDER BY rowid", (user.id,)
            )
        return out

    async def forget_user(self, user: User) -> dict[str, int]:
        """Delete every row about `user` in every user table, then the user; returns counts."""
        tables = await self.user_tables()
        counts: dict[str, int] = {}
        async with self._tx() as db:
            # Children before parents is not needed (cascades), but explicit deletes make the
            # counts honest and cover tables a future migration forgot to give a cascade.
            for table in tables:
                async with db.execute(
                    f"DELETE FROM {_ident(table)} WHERE user_id = ?", (user.id,)
                ) as cur:
                    counts[table] = cur.rowcount
            async with db.execute("DELETE FROM users WHERE id = ?", (user.id,)) as cur:
                counts["users"] = cur.rowcount
        return counts

    # -- profiles, bonds and history (opt-in) -------------------------------------------

    async def profile(self, user_id: int) -> tuple[str, list[tuple[str, str, str]]]:
        """(visibility, [(field, tag key, display)]) in the order the tags were added."""
        row = await self._one("SELECT profile_visibility FROM users WHERE id = ?", (user_id,))
        tags = await self._all(
            "SELECT field, tag, display FROM profile_tags WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
        return (row[0] if row else "off"), [tuple(t) for t in tags]

    async def set_profile_field(
        self, user_id: int, field: str, tags: Sequence[tuple[str, str]]
    ) -> None:
        """Replace one field's tags with `tags` ((key, display) pairs)."""
        async with self._tx() as db:
            await db.execute(
                "DELETE FROM profile_tags WHERE user_id = ? AND field = ?", (user_id, field)
            )
            await db.executemany(
                "INSERT OR IGNORE INTO profile_tags (user_id, field, tag, display) "
                "VALUES (?, ?, ?, ?)",
                [(user_id, field, key, display) for key, display in tags],
            )

    async def clear_profile(self, user_id: int, field: str | None = None) -> int:
        async with self._tx() as db:
            sql, params = "DELETE FROM profile_tags WHERE user_id = ?", (user_id,)
            if field:
                sql, params = sql + " AND field = ?", (user_id, field)
            async with db.execute(sql, params) as cur:
                return cur.rowcount

    async def set_visibility(self, user_id: int, visibility: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE users SET profile_visibility = ? WHERE id = ?", (visibility, user_id)
            )
            await db.execute(
                "UPDATE memberships SET visible = ? WHERE user_id = ?",
                (int(visibility == "community"), user_id),
            )

    async def touch_membership(self, user_id: int, community: str, now: datetime) -> None:
        """Record that the user takes part in `community` (a group, server or channel)."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO memberships (user_id, community, visible, seen_at) "
                "SELECT id, ?, profile_visibility = 'community', ? FROM users WHERE id = ? "
                "ON CONFLICT (user_id, community) DO UPDATE SET seen_at = excluded.seen_at",
                (community, to_unix(now), user_id),
            )

    async def shared_tags(self, a: int, b: int) -> list[tuple[str, str, str]]:
        """(field, tag key, display) of every tag both users have."""
        rows = await self._all(
            "SELECT x.field, x.tag, x.display FROM profile_tags x "
            "JOIN profile_tags y ON y.tag = x.tag AND y.user_id = ? "
            "WHERE x.user_id = ? ORDER BY x.id",
            (b, a),
        )
        return [tuple(r) for r in rows]

    async def visible_members(self, community: str) -> int:
        """Members of `community` whose profiles are open to it."""
        row = await self._one(
            "SELECT COUNT(*) FROM memberships WHERE community = ? AND visible = 1", (community,)
        )
        return row[0]

    async def tag_holders(self, community: str, tag: str, cap: int) -> int:
        """How many visible members of `community` have `tag`, counting at most `cap`."""
        row = await self._one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM profile_tags t JOIN memberships m "
            "ON m.user_id = t.user_id AND m.community = ? AND m.visible = 1 "
            "WHERE t.tag = ? GROUP BY t.user_id LIMIT ?)",
            (community, tag, cap),
        )
        return row[0]

    async def shared_communities(self, a: int, b: int) -> list[str]:
        rows = await self._all(
            "SELECT x.community FROM memberships x JOIN memberships y "
            "ON y.community = x.community AND y.user_id = ? WHERE x.user_id = ? "
            "ORDER BY x.seen_at DESC",
            (b, a),
        )
        return [r[0] for r in rows]

    async def bulk_profiles(
        self, rows: Iterable[tuple[int, str, str, str]], community: str, now: datetime
    ) -> None:
        """(user id, field, tag, display) rows for community-visible members (benchmarks)."""
        rows = list(rows)
        users = sorted({r[0] for r in rows})
        async with self._tx() as db:
            await db.executemany(
                "UPDATE users SET profile_visibility = 'community' WHERE id = ?",
                [(u,) for u in users],
            )
            await db.executemany(
                "INSERT OR IGNORE INTO memberships (user_id, community, visible, seen_at) "
                "VALUES (?, ?, 1, ?)",
                [(u, community, to_unix(now)) for u in users],
            )
            await db.executemany(
                "INSERT OR IGNORE INTO profile_tags (user_id, field, tag, display) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    async def set_history(self, user_id: int, on: bool) -> int:
        """Switch draft history; switching it off deletes the stored drafts (returns count)."""
        async with self._tx() as db:
            await db.execute("UPDATE users SET keep_history = ? WHERE id = ?", (int(on), user_id))
            if on:
                return 0
            async with db.execute("DELETE FROM drafts WHERE user_id = ?", (user_id,)) as cur:
                return cur.rowcount

    async def history_users(self) -> set[tuple[str, str]]:
        rows = await self._all(
            "SELECT platform, platform_user_id FROM users WHERE keep_history = 1"
        )
        return {(r[0], r[1]) for r in rows}

    async def keeps_history(self, user_id: int) -> bool:
        row = await self._one("SELECT keep_history FROM users WHERE id = ?", (user_id,))
        return bool(row and row[0])

    async def add_draft(
        self,
        user_id: int,
        at: datetime,
        context: str,
        score: int,
        verdict: str,
        missed: Sequence[str],
        text: str,
    ) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO drafts (user_id, at, context, score, verdict, missed, text) "
                "SELECT id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND keep_history = 1",
                (to_unix(at), context, score, verdict, json.dumps(list(missed)), text, user_id),
            )

    async def drafts(self, user_id: int, limit: int = 50) -> list[tuple[datetime, str, int, list]]:
        rows = await self._all(
            "SELECT at, context, score, missed FROM drafts WHERE user_id = ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [(from_unix(r[0]), r[1], r[2], json.loads(r[3])) for r in rows]  # type: ignore[misc]

    # -- community --------------------------------------------------------------------------

    async def community(self, platform: str, community: str) -> Community | None:
        row = await self._one(
            f"SELECT {_COMMUNITY_COLS} FROM communities WHERE platform = ? AND community = ?",
            (platform, community),
        )
        return None if row is None else _community(row)

    async def ensure_community(
        self, platform: str, community: str, name: str, now: datetime
    ) -> Community:
        """The stored community, created on first use; its display name is refreshed."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO communities (platform, community, name, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, community) "
                "DO UPDATE SET name = excluded.name WHERE excluded.name != ''",
                (platform, community, name, to_unix(now)),
            )
        found = await self.community(platform, community)
        assert found is not None
        return found

    async def communities_by_ids(self, ids: Iterable[int]) -> dict[int, Community]:
        ids = list(set(ids))
        marks = ",".join("?" * len(ids))
        rows = await self._all(
            f"SELECT {_COMMUNITY_COLS} FROM communities WHERE id IN ({marks})", ids
        )
        return {r[0]: _community(r) for r in rows}

    async def communities_at(self, platform: str, channel: str) -> list[Community]:
        """Communities whose tips or intro channel is `channel`."""
        rows = await self._all(
            f"SELECT {_COMMUNITY_COLS} FROM communities WHERE platform = ? AND "
            "((tips_channel = ? AND tips_state = 'on') OR intros_channel = ?)",
            (platform, channel, channel),
        )
        return [_community(r) for r in rows]

    async def any_intros(self, platform: str) -> bool:
        row = await self._one(
            "SELECT 1 FROM communities WHERE platform = ? AND intros_channel IS NOT NULL LIMIT 1",
            (platform,),
        )
        return row is not None

    async def set_community_timezone(self, community_id: int, timezone: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE communities SET timezone = ? WHERE id = ?", (timezone, community_id)
            )

    async def set_tips(
        self,
        community_id: int,
        *,
        channel: str,
        channel_name: str,
        at: str,
        every: str,
        playbooks: Sequence[str],
        counted: bool,
        since: datetime,
        first_due: datetime,
    ) -> None:
        """Switch tips on (or change them): the old queued post is replaced by `first_due`."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE communities SET tips_state = 'on', tips_channel = ?, "
                "tips_channel_name = ?, tips_time = ?, tips_every = ?, tips_playbooks = ?, "
                "tips_counted = ?, tips_since = ?, tips_note = NULL, tips_job = NULL, "
                "tips_key = NULL, tips_messages = CASE WHEN tips_channel = ? "
                "THEN tips_messages ELSE 0 END WHERE id = ?",
                (
                    channel,
                    channel_name,
                    at,
                    every,
                    json.dumps(list(playbooks)),
                    int(counted),
                    to_unix(since),
                    channel,
                    community_id,
                ),
            )
            await self._cancel_jobs(db, "tip", community_id)
            await self._insert_job(db, "tip", community_id, None, first_due, 0)
        self._jobs_changed()

    async def stop_tips(self, community_id: int, state: str, note: str | None = None) -> bool:
        """Tips 'off' (asked) or 'stopped' (the bot can no longer post); queued posts dropped."""
        if state not in ("off", "stopped"):
            raise ValueError(state)
        async with self._tx() as db:
            async with db.execute(
                "UPDATE communities SET tips_state = ?, tips_note = ? WHERE id = ? "
                "AND tips_state IN ('on', 'stopped')",
                (state, note, community_id),
            ) as cur:
                changed = cur.rowcount == 1
            await self._cancel_jobs(db, "tip", community_id)
        self._jobs_changed()
        return changed

    async def count_message(self, platform: str, channel: str) -> None:
        """One more message in a tips channel (the activity a tip waits for)."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE communities SET tips_messages = tips_messages + 1 "
                "WHERE platform = ? AND tips_channel = ? AND tips_state = 'on'",
                (platform, channel),
            )

    async def add_community_tip(self, community_id: int, text: str, now: datetime) -> int:
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                "INSERT INTO community_tips (community_id, text, created_at) VALUES (?, ?, ?) "
                "RETURNING id",
                (community_id, text, to_unix(now)),
            )
        return next(iter(rows))[0]

    async def remove_community_tip(self, community_id: int, tip_id: int) -> str | None:
        """The removed tip's text; None when the community has no tip with that id."""
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                "DELETE FROM community_tips WHERE id = ? AND community_id = ? RETURNING text",
                (tip_id, community_id),
            )
        row = next(iter(rows), None)
        return None if row is None else row[0]

    async def community_tips(
        self, community_ids: Iterable[int]
    ) -> dict[int, list[tuple[int, str]]]:
        ids = list(set(community_ids))
        marks = ",".join("?" * len(ids))
        out: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
        for cid, tip_id, text in await self._all(
            f"SELECT community_id, id, text FROM community_tips WHERE community_id IN ({marks}) "
            "ORDER BY id",
            ids,
        ):
            out[cid].append((tip_id, text))
        return out

    async def rotations(self, places: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """(platform, channel) -> (shuffled cycle of tip keys, how many of it were shown)."""
        out: dict[tuple[str, str], Any] = {}
        for platform, channel in set(places):
            row = await self._one(
                "SELECT cycle, position FROM tip_rotations WHERE platform = ? AND channel = ?",
                (platform, channel),
            )
            out[(platform, channel)] = ([], 0) if row is None else (json.loads(row[0]), row[1])
        return out

    async def take_tip(
        self,
        community_id: int,
        job_id: int,
        key: str,
        place: tuple[str, str],
        cycle: Sequence[str],
        position: int,
    ) -> None:
        """Record the tip chosen for a post, before it is sent: the rotation moves on and the
        activity count starts again, so a crash can never post the same slot twice."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO tip_rotations (platform, channel, cycle, position) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, channel) "
                "DO UPDATE SET cycle = excluded.cycle, position = excluded.position",
                (*place, json.dumps(list(cycle)), position),
            )
            await db.execute(
                "UPDATE communities SET tips_job = ?, tips_key = ?, tips_messages = 0 WHERE id = ?",
                (job_id, key, community_id),
            )

    async def set_tips_note(self, community_id: int, note: str | None) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE communities SET tips_note = ? WHERE id = ?", (note, community_id)
            )

    async def recent_jobs(self, kind: str, ref_id: int, limit: int = 5) -> list[Job]:
        rows = await self._all(
            f"SELECT {_JOB_COLS} FROM jobs WHERE kind = ? AND ref_id = ? ORDER BY id DESC LIMIT ?",
            (kind, ref_id, limit),
        )
        return [_job(r) for r in rows]

    async def set_intros(self, community_id: int, channel: str | None, name: str = "") -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE communities SET intros_channel = ?, intros_channel_name = ? WHERE id = ?",
                (channel, name, community_id),
            )

    async def note_intro(
        self, user_id: int, community_id: int, now: datetime, every: timedelta
    ) -> bool:
        """Claim the right to send this member a note about their intro: False when one
        was sent within `every` (at most one note per member per period)."""
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                "INSERT INTO intro_notes (user_id, community_id, noted_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, community_id) DO UPDATE SET noted_at = excluded.noted_at "
                "WHERE intro_notes.noted_at <= ? RETURNING id",
                (user_id, community_id, to_unix(now), to_unix(now - every)),
            )
        return bool(list(rows))

    async def set_coach_optout(self, user_id: int, off: bool, now: datetime) -> None:
        async with self._tx() as db:
            if off:
                await db.execute(
                    "INSERT OR IGNORE INTO coach_optouts (user_id, at) VALUES (?, ?)",
                    (user_id, to_unix(now)),
                )
            else:
                await db.execute("DELETE FROM coach_optouts WHERE user_id = ?", (user_id,))

    async def coach_opted_out(self, user_id: int) -> bool:
        row = await self._one("SELECT 1 FROM coach_optouts WHERE user_id = ?", (user_id,))
        return row is not None

    async def tips_seen(self, user_id: int, limit: int) -> list[str]:
        """The tips most recently shown to this user on demand, newest first."""
        rows = await self._all(
            "SELECT tip FROM tips_seen WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [r[0] for r in rows]

    async def saw_tip(self, user_id: int, tip: str, now: datetime, keep: int = 100) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO tips_seen (user_id, tip, at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, tip) DO UPDATE SET at = excluded.at",
                (user_id, tip, to_unix(now)),
            )
            await db.execute(
                "DELETE FROM tips_seen WHERE user_id = ? AND id NOT IN (SELECT id FROM "
                "tips_seen WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?)",
                (user_id, user_id, keep),
            )

    async def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        async with self._db.execute(sql, params) as cur:
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# -- community ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Community:
    """A server or group the bot serves, with its tips schedule and intro channel."""

    id: int
    platform: str
    community: str  # the platform's id: Discord server, Telegram group, "console"
    name: str
    timezone: str | None  # None: the configured default
    tips_state: str  # 'off' | 'on' | 'stopped' (the bot could no longer post)
    tips_channel: str | None
    tips_channel_name: str
    tips_time: str  # "HH:MM", local to `timezone`
    tips_every: str  # "day" | "weekday" | "N days"
    tips_playbooks: tuple[str, ...]  # empty: every built-in playbook
    tips_since: datetime | None
    tips_counted: bool  # the platform shows the bot ordinary posts there (activity counts)
    tips_messages: int  # messages seen since the last tip
    tips_job: int | None  # the job the current tip was chosen for
    tips_key: str | None  # ... and that tip
    tips_note: str | None  # the last skip or stop, in words
    intros_channel: str | None
    intros_channel_name: str


_COMMUNITY_COLS = (
    "id, platform, community, name, timezone, tips_state, tips_channel, tips_channel_name, "
    "tips_time, tips_every, tips_playbooks, tips_since, tips_counted, tips_messages, tips_job, "
    "tips_key, tips_note, intros_channel, intros_channel_name"
)


def _community(row: Sequence[Any]) -> Community:
    return Community(
        id=row[0],
        platform=row[1],
        community=row[2],
        name=row[3],
        timezone=row[4],
        tips_state=row[5],
        tips_channel=row[6],
        tips_channel_name=row[7],
        tips_time=row[8],
        tips_every=row[9],
        tips_playbooks=tuple(json.loads(row[10] or "[]")),
        tips_since=from_unix(row[11]),
        tips_counted=bool(row[12]),
        tips_messages=row[13],
        tips_job=row[14],
        tips_key=row[15],
        tips_note=row[16],
        intros_channel=row[17],
        intros_channel_name=row[18],
    )
