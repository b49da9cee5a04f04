"""The follow-ups feature's tables: contacts, bonds noted for them, interactions, follow-ups.

Every query is scoped by the owning user's id: someone else's id reads as unknown. A
follow-up and its job are written in one transaction through the job queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from netcoach.bot.scheduling.queue import JobQueue
from netcoach.bot.storage import (
    Database,
    Transaction,
    all_in,
    from_unix,
    maybe_from_unix,
    to_unix,
)

from .model import Contact, FollowUp, Interaction, called, name_key, named

KIND = "followup"  # the job kind of a follow-up's nudges
_FU_COLS = (
    "f.id, f.user_id, f.contact_id, c.name, f.note, f.cadence, f.anchor, f.occurrence, "
    "f.due_at, f.status, c.last_contacted"
)
_FU_FROM = "FROM followups f JOIN contacts c ON c.id = f.contact_id"
_CONTACT_COLS = "id, user_id, name, handle, notes, last_contacted"


def _followup(row: Sequence[Any]) -> FollowUp:
    return FollowUp(
        id=row[0],
        user_id=row[1],
        contact_id=row[2],
        contact_name=row[3],
        note=row[4],
        cadence=row[5],
        anchor=maybe_from_unix(row[6]),
        occurrence=row[7],
        due_at=from_unix(row[8]),
        status=row[9],
        last_contacted=maybe_from_unix(row[10]),
    )


def _contact(row: Sequence[Any], bonds: Sequence[str]) -> Contact:
    return Contact(row[0], row[1], row[2], row[3], row[4], maybe_from_unix(row[5]), tuple(bonds))


# A user's contacts as (id, name, last contacted), for matching names by their words.
_NAMES = "SELECT id, name, last_contacted FROM contacts WHERE user_id = ? ORDER BY name_key"


async def _named_row(conn: Database | Transaction, user_id: int, name: str) -> Sequence[Any] | None:
    """(id, name, last contacted) of the contact called `name` or written with the same
    words ("Eve-Smith", "Éve Smith" for Eve Smith): the indexed key first, then the
    user's names."""
    row = await conn.one(
        "SELECT id, name, last_contacted FROM contacts WHERE user_id = ? AND name_key = ?",
        (user_id, name_key(name)),
    )
    if row is None:
        rows = await conn.all(_NAMES, (user_id,))
        at = named([(k, r[1]) for k, r in enumerate(rows)], name)
        row = None if at is None else rows[at]
    return row


class FollowUpRepository:
    def __init__(self, db: Database, queue: JobQueue):
        self.db = db
        self.queue = queue

    # -- contacts -------------------------------------------------------------------------

    async def find_contact(self, user_id: int, name: str) -> Contact | None:
        """The contact called `name`, or written with the same words ("Eve-Smith" or
        "Éve Smith" for Eve Smith): one person, never near-duplicates."""
        row = await _named_row(self.db, user_id, name)
        return None if row is None else await self.contact(user_id, row[0])

    async def contact_names(self, user_id: int) -> list[tuple[int, str]]:
        """Every contact's (id, name), in name order: read once by a command that tries
        several readings of what was typed."""
        return [(row[0], row[1]) for row in await self.db.all(_NAMES, (user_id,))]

    async def contact_called(
        self, user_id: int, typed: str, names: list[tuple[int, str]] | None = None, limit: int = 5
    ) -> tuple[Contact | None, list[Contact]]:
        """The contact called `typed`, or the only one whose name contains it ("Jean-Luc"
        for "Dr. Jean-Luc O'Neil"); with (at most `limit` of) the candidates when it could
        be several. `names` (contact_names) spares reading them again."""
        if names is None:
            names = await self.contact_names(user_id)
        found, like = called(names, typed)
        if found is not None:
            return await self.contact(user_id, found), []
        candidates = [c for i in like[:limit] if (c := await self.contact(user_id, i))]
        return (candidates[0] if len(like) == 1 and candidates else None), candidates

    async def contact(self, user_id: int, contact_id: int) -> Contact | None:
        row = await self.db.one(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ? AND user_id = ?",
            (contact_id, user_id),
        )
        if row is None:
            return None
        bonds = await self.db.all(
            "SELECT text FROM bonds WHERE contact_id = ? ORDER BY id", (contact_id,)
        )
        return _contact(row, [b[0] for b in bonds])

    async def ensure_contact(self, user_id: int, name: str, now: datetime) -> Contact:
        async with self.db.transaction() as tx:
            await self._upsert_contact(tx, user_id, name, now)
        found = await self.find_contact(user_id, name)
        assert found is not None
        return found

    async def _upsert_contact(
        self, tx: Transaction, user_id: int, name: str, now: datetime
    ) -> tuple[int, str, int | None]:
        """(id, stored name, last contacted) of the contact, created when new; a name of
        the same words is the same contact, under the spelling stored first."""
        row = await _named_row(tx, user_id, name)
        if row is None:
            row = await tx.one(
                "INSERT INTO contacts (user_id, name, name_key, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_id, name_key) DO UPDATE SET name = contacts.name "
                "RETURNING id, name, last_contacted",
                (user_id, name, name_key(name), to_unix(now)),
            )
        return row[0], row[1], row[2]

    async def contacts(self, user_id: int) -> list[Contact]:
        rows = await self.db.all(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE user_id = ? ORDER BY name_key",
            (user_id,),
        )
        bonds: dict[int, list[str]] = {}
        for contact_id, text in await self.db.all(
            "SELECT contact_id, text FROM bonds WHERE user_id = ? ORDER BY id", (user_id,)
        ):
            bonds.setdefault(contact_id, []).append(text)
        return [_contact(r, bonds.get(r[0], ())) for r in rows]

    async def add_bond(self, user_id: int, contact_id: int, text: str, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO bonds (user_id, contact_id, text, created_at) "
                "SELECT user_id, id, ?, ? FROM contacts WHERE id = ? AND user_id = ?",
                (text, to_unix(now), contact_id, user_id),
            )

    async def set_contact_notes(self, user_id: int, contact_id: int, notes: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE contacts SET notes = ? WHERE id = ? AND user_id = ?",
                (notes, contact_id, user_id),
            )

    async def interactions(
        self, user_id: int, contact_id: int, limit: int = 10
    ) -> list[Interaction]:
        rows = await self.db.all(
            "SELECT at, note, source FROM interactions WHERE user_id = ? AND contact_id = ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (user_id, contact_id, limit),
        )
        return [Interaction(from_unix(r[0]), r[1], r[2]) for r in rows]

    async def log_contact(
        self, user_id: int, contact_id: int, at: datetime, note: str, source: str
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO interactions (user_id, contact_id, at, note, source) "
                "SELECT user_id, id, ?, ?, ? FROM contacts WHERE id = ? AND user_id = ?",
                (to_unix(at), note, source, contact_id, user_id),
            )
            await tx.execute(
                "UPDATE contacts SET last_contacted = CASE WHEN coalesce(last_contacted, 0) > ? "
                "THEN last_contacted ELSE ? END WHERE id = ? AND user_id = ?",  # SQL-neutral max
                (to_unix(at), to_unix(at), contact_id, user_id),
            )

    async def bonds_for(self, contact_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        for contact_id, text in await all_in(
            self.db,
            "SELECT contact_id, text FROM bonds WHERE contact_id IN",
            list(set(contact_ids)),
            " ORDER BY id",
        ):
            out.setdefault(contact_id, []).append(text)
        return {k: tuple(v) for k, v in out.items()}

    # -- follow-ups ---------------------------------------------------------------------

    async def add(
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
        async with self.db.transaction() as tx:
            contact_id, stored_name, last = await self._upsert_contact(
                tx, user_id, contact_name, now
            )
            row = await tx.one(
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
            followup_id = int(row[0])
            await self.queue.add(tx, KIND, followup_id, user_id, due_at, occurrence)
        return FollowUp(
            followup_id,
            user_id,
            contact_id,
            stored_name,
            note,
            cadence,
            None if anchor is None else from_unix(to_unix(anchor)),
            occurrence,
            from_unix(to_unix(due_at)),
            "active",
            maybe_from_unix(last),
        )

    async def get(self, user_id: int, followup_id: int) -> FollowUp | None:
        """A follow-up only if it belongs to `user_id`: others' ids look unknown."""
        row = await self.db.one(
            f"SELECT {_FU_COLS} {_FU_FROM} WHERE f.id = ? AND f.user_id = ?",
            (followup_id, user_id),
        )
        return None if row is None else _followup(row)

    async def of_user(
        self, user_id: int, *, contact_id: int | None = None, active_only: bool = True
    ) -> list[FollowUp]:
        sql = f"SELECT {_FU_COLS} {_FU_FROM} WHERE f.user_id = ?"
        params: list[Any] = [user_id]
        if active_only:
            sql += " AND f.status = 'active'"
        if contact_id is not None:
            sql += " AND f.contact_id = ?"
            params.append(contact_id)
        rows = await self.db.all(sql + " ORDER BY f.due_at, f.id", params)
        return [_followup(r) for r in rows]

    async def by_ids(self, ids: Iterable[int]) -> dict[int, FollowUp]:
        rows = await all_in(self.db, f"SELECT {_FU_COLS} {_FU_FROM} WHERE f.id IN", list(ids))
        return {row[0]: _followup(row) for row in rows}

    async def reschedule(
        self,
        user_id: int,
        followup_id: int,
        due_at: datetime,
        *,
        anchor: datetime | None = None,
        occurrence: int | None = None,
    ) -> bool:
        """Move a follow-up to `due_at`: its queued job is replaced by one at the new time."""
        async with self.db.transaction() as tx:
            sets, params = ["due_at = ?"], [to_unix(due_at)]
            if anchor is not None:
                sets.append("anchor = ?")
                params.append(to_unix(anchor))
            if occurrence is not None:
                sets.append("occurrence = ?")
                params.append(occurrence)
            row = await tx.one(
                f"UPDATE followups SET {', '.join(sets)} WHERE id = ? AND user_id = ? "
                "AND status = 'active' RETURNING occurrence",
                (*params, followup_id, user_id),
            )
            if row is None:
                return False
            await self.queue.cancel(tx, KIND, followup_id)
            await self.queue.add(tx, KIND, followup_id, user_id, due_at, row[0])
        return True

    async def set_note(self, user_id: int, followup_id: int, note: str) -> bool:
        async with self.db.transaction() as tx:
            row = await tx.one(
                "UPDATE followups SET note = ? WHERE id = ? AND user_id = ? "
                "AND status = 'active' RETURNING id",
                (note, followup_id, user_id),
            )
        return row is not None

    async def move_to(self, user_id: int, followup_id: int, name: str, now: datetime) -> str:
        """The follow-up is about another person (created when new); their stored name.
        The person it was about is dropped when nothing refers to them any more, so a
        renamed reminder leaves no empty contact behind in /contacts."""
        async with self.db.transaction() as tx:
            was = await tx.one(
                "SELECT contact_id FROM followups WHERE id = ? AND user_id = ? "
                "AND status = 'active'",
                (followup_id, user_id),
            )
            contact_id, stored, _ = await self._upsert_contact(tx, user_id, name, now)
            await tx.execute(
                "UPDATE followups SET contact_id = ? WHERE id = ? AND user_id = ? "
                "AND status = 'active'",
                (contact_id, followup_id, user_id),
            )
            if was is not None:
                await self._drop_if_unused(tx, user_id, was[0])
        return stored

    @staticmethod
    async def _drop_if_unused(tx: Transaction, user_id: int, contact_id: int) -> None:
        """Delete a contact no follow-up (open or closed), logged contact, note or bond
        refers to: nothing the user told us about them is lost."""
        await tx.execute(
            "DELETE FROM contacts WHERE id = ? AND user_id = ? AND notes = '' AND handle = '' "
            "AND last_contacted IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.contact_id = contacts.id) "
            "AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.contact_id = contacts.id) "
            "AND NOT EXISTS (SELECT 1 FROM bonds b WHERE b.contact_id = contacts.id)",
            (contact_id, user_id),
        )

    async def merge_contact(self, user_id: int, from_id: int, into_id: int) -> str:
        """One person saved under two names ("Eve", "Eve Smith"): what was logged for
        `from_id` (follow-ups, interactions, bonds, notes, the latest contact) moves to
        `into_id` and `from_id` is deleted, all or nothing; the stored name kept."""
        async with self.db.transaction() as tx:
            rows = await tx.all(
                "SELECT id, name, handle, notes, last_contacted FROM contacts "
                "WHERE user_id = ? AND id IN (?, ?)",
                (user_id, from_id, into_id),
            )
            found = {r[0]: r for r in rows}
            if from_id == into_id or len(found) != 2:
                raise ValueError(f"cannot merge contact {from_id} into {into_id}")
            old, new = found[from_id], found[into_id]
            for table in ("followups", "interactions"):
                await tx.execute(
                    f"UPDATE {table} SET contact_id = ? WHERE contact_id = ? AND user_id = ?",
                    (into_id, from_id, user_id),
                )
            await tx.execute(  # a bond noted under both names is kept once
                "UPDATE bonds SET contact_id = ? WHERE contact_id = ? AND user_id = ? "
                "AND text NOT IN (SELECT b.text FROM bonds b WHERE b.contact_id = ?)",
                (into_id, from_id, user_id, into_id),
            )
            for sql in (
                "DELETE FROM bonds WHERE contact_id = ? AND user_id = ?",
                "DELETE FROM contacts WHERE id = ? AND user_id = ?",
            ):
                await tx.execute(sql, (from_id, user_id))
            latest = max((t for t in (old[4], new[4]) if t is not None), default=None)
            await tx.execute(
                "UPDATE contacts SET handle = ?, notes = ?, last_contacted = ? "
                "WHERE id = ? AND user_id = ?",
                (new[2] or old[2], _joined(new[3], old[3]), latest, into_id, user_id),
            )
        return str(new[1])

    async def rename_contact(self, user_id: int, contact_id: int, name: str) -> str:
        """Call a contact by another form of their name, keeping everything logged for
        them; the caller checks that no other contact has that name."""
        async with self.db.transaction() as tx:
            row = await tx.one(
                "UPDATE contacts SET name = ?, name_key = ? WHERE id = ? AND user_id = ? "
                "RETURNING name",
                (name, name_key(name), contact_id, user_id),
            )
        return name if row is None else str(row[0])

    async def close(self, user_id: int, followup_id: int, status: str, now: datetime) -> bool:
        """Mark done or cancelled; its queued jobs are cancelled with it."""
        if status not in ("done", "cancelled"):
            raise ValueError(status)
        async with self.db.transaction() as tx:
            row = await tx.one(
                "UPDATE followups SET status = ?, closed_at = ? WHERE id = ? AND user_id = ? "
                "AND status = 'active' RETURNING id",
                (status, to_unix(now), followup_id, user_id),
            )
            if row is None:
                return False
            await self.queue.cancel(tx, KIND, followup_id)
        return True


def _joined(kept: str, added: str) -> str:
    """Notes saved under two names of one person, both kept (once when they agree)."""
    if not added or added in kept:
        return kept
    return added if kept in added else f"{kept}; {added}"
