"""The community feature's tables: communities, their own tips, tip rotations, intro notes,
members' coaching opt-outs and the tips each member was shown on demand.

A tip schedule's slots are jobs of kind "tip" (ref_id: the community), written through the
job queue in the same transaction as the schedule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from netcoach.bot.scheduling.queue import JobQueue
from netcoach.bot.storage import Database, marks, maybe_from_unix, to_unix

from .model import Community

KIND = "tip"  # the job kind of a community's tip slots


class CommunityRepository:
    def __init__(self, db: Database, queue: JobQueue):
        self.db = db
        self.queue = queue

    async def get(self, platform: str, community: str) -> Community | None:
        row = await self.db.one(
            f"SELECT {_COLS} FROM communities WHERE platform = ? AND community = ?",
            (platform, community),
        )
        return None if row is None else _community(row)

    async def ensure(self, platform: str, community: str, name: str, now: datetime) -> Community:
        """The stored community, created on first use; its display name is refreshed."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO communities (platform, community, name, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, community) "
                "DO UPDATE SET name = excluded.name WHERE excluded.name != ''",
                (platform, community, name, to_unix(now)),
            )
        found = await self.get(platform, community)
        assert found is not None
        return found

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Community]:
        wanted = list(set(ids))
        rows = await self.db.all(
            f"SELECT {_COLS} FROM communities WHERE id IN ({marks(wanted)})", wanted
        )
        return {r[0]: _community(r) for r in rows}

    async def at_channel(self, platform: str, channel: str) -> list[Community]:
        """Communities whose tips or intro channel is `channel`."""
        rows = await self.db.all(
            f"SELECT {_COLS} FROM communities WHERE platform = ? AND "
            "((tips_channel = ? AND tips_state = 'on') OR intros_channel = ?)",
            (platform, channel, channel),
        )
        return [_community(r) for r in rows]

    async def any_intros(self, platform: str) -> bool:
        row = await self.db.one(
            "SELECT 1 FROM communities WHERE platform = ? AND intros_channel IS NOT NULL LIMIT 1",
            (platform,),
        )
        return row is not None

    async def set_timezone(self, community_id: int, timezone: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
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
        async with self.db.transaction() as tx:
            await tx.execute(
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
            await self.queue.cancel(tx, KIND, community_id)
            await self.queue.add(tx, KIND, community_id, None, first_due, 0)

    async def stop_tips(self, community_id: int, state: str, note: str | None = None) -> bool:
        """Tips 'off' (asked) or 'stopped' (the bot can no longer post); queued posts dropped."""
        if state not in ("off", "stopped"):
            raise ValueError(state)
        async with self.db.transaction() as tx:
            changed = (
                await tx.execute(
                    "UPDATE communities SET tips_state = ?, tips_note = ? WHERE id = ? "
                    "AND tips_state IN ('on', 'stopped')",
                    (state, note, community_id),
                )
                == 1
            )
            await self.queue.cancel(tx, KIND, community_id)
        return changed

    async def count_message(self, platform: str, channel: str) -> None:
        """One more message in a tips channel (the activity a tip waits for)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE communities SET tips_messages = tips_messages + 1 "
                "WHERE platform = ? AND tips_channel = ? AND tips_state = 'on'",
                (platform, channel),
            )

    async def add_tip(self, community_id: int, text: str, now: datetime) -> int:
        async with self.db.transaction() as tx:
            row = await tx.one(
                "INSERT INTO community_tips (community_id, text, created_at) VALUES (?, ?, ?) "
                "RETURNING id",
                (community_id, text, to_unix(now)),
            )
        return int(row[0])

    async def remove_tip(self, community_id: int, tip_id: int) -> str | None:
        """The removed tip's text; None when the community has no tip with that id."""
        async with self.db.transaction() as tx:
            row = await tx.one(
                "DELETE FROM community_tips WHERE id = ? AND community_id = ? RETURNING text",
                (tip_id, community_id),
            )
        return None if row is None else str(row[0])

    async def own_tips(self, community_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
        ids = list(set(community_ids))
        out: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
        for cid, tip_id, text in await self.db.all(
            "SELECT community_id, id, text FROM community_tips "
            f"WHERE community_id IN ({marks(ids)}) "
            "ORDER BY id",
            ids,
        ):
            out[cid].append((tip_id, text))
        return out

    async def rotations(self, places: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """(platform, channel) -> (shuffled cycle of tip keys, how many of it were shown)."""
        out: dict[tuple[str, str], Any] = {}
        for platform, channel in set(places):
            row = await self.db.one(
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
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO tip_rotations (platform, channel, cycle, position) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, channel) "
                "DO UPDATE SET cycle = excluded.cycle, position = excluded.position",
                (*place, json.dumps(list(cycle)), position),
            )
            await tx.execute(
                "UPDATE communities SET tips_job = ?, tips_key = ?, tips_messages = 0 WHERE id = ?",
                (job_id, key, community_id),
            )

    async def set_tips_note(self, community_id: int, note: str | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE communities SET tips_note = ? WHERE id = ?", (note, community_id)
            )

    async def set_intros(self, community_id: int, channel: str | None, name: str = "") -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE communities SET intros_channel = ?, intros_channel_name = ? WHERE id = ?",
                (channel, name, community_id),
            )

    async def note_intro(
        self, user_id: int, community_id: int, now: datetime, every: timedelta
    ) -> bool:
        """Claim the right to send this member a note about their intro: False when one
        was sent within `every` (at most one note per member per period)."""
        async with self.db.transaction() as tx:
            rows = await tx.all(  # RETURNING a row: the note may be sent
                "INSERT INTO intro_notes (user_id, community_id, noted_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, community_id) DO UPDATE SET noted_at = excluded.noted_at "
                "WHERE intro_notes.noted_at <= ? RETURNING id",
                (user_id, community_id, to_unix(now), to_unix(now - every)),
            )
        return bool(list(rows))

    async def set_coach_optout(self, user_id: int, off: bool, now: datetime) -> None:
        async with self.db.transaction() as tx:
            if off:
                await tx.execute(
                    "INSERT INTO coach_optouts (user_id, at) VALUES (?, ?) "
                    "ON CONFLICT (user_id) DO NOTHING",
                    (user_id, to_unix(now)),
                )
            else:
                await tx.execute("DELETE FROM coach_optouts WHERE user_id = ?", (user_id,))

    async def coach_opted_out(self, user_id: int) -> bool:
        row = await self.db.one("SELECT 1 FROM coach_optouts WHERE user_id = ?", (user_id,))
        return row is not None

    async def tips_seen(self, user_id: int, limit: int) -> list[str]:
        """The tips most recently shown to this user on demand, newest first."""
        rows = await self.db.all(
            "SELECT tip FROM tips_seen WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [r[0] for r in rows]

    async def saw_tip(self, user_id: int, tip: str, now: datetime, keep: int = 100) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO tips_seen (user_id, tip, at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, tip) DO UPDATE SET at = excluded.at",
                (user_id, tip, to_unix(now)),
            )
            await tx.execute(
                "DELETE FROM tips_seen WHERE user_id = ? AND id NOT IN (SELECT id FROM "
                "tips_seen WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?)",
                (user_id, user_id, keep),
            )


_COLS = (
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
        tips_since=maybe_from_unix(row[11]),
        tips_counted=bool(row[12]),
        tips_messages=row[13],
        tips_job=row[14],
        tips_key=row[15],
        tips_note=row[16],
        intros_channel=row[17],
        intros_channel_name=row[18],
    )
