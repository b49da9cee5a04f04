"""The follow-ups' due source: a due follow-up becomes a nudge, and a cadence its next job."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from netcoach.bot.kernel import PlaceRef, UserRef
from netcoach.bot.review import PlaybookSet
from netcoach.bot.scheduling import Due, DueSource, Outgoing
from netcoach.bot.storage import User, Users
from netcoach.bot.timeparse import index_of, next_after, parse_cadence, zone_or

from .model import FollowUp
from .nudge import build_nudge, is_warm, warm_openers
from .repository import KIND, FollowUpRepository


@dataclass(frozen=True, slots=True)
class _Loaded:
    followups: dict[int, FollowUp]
    users: dict[int, User]
    bonds: dict[int, tuple[str, ...]]


class Nudges(DueSource):
    kind = KIND

    def __init__(
        self,
        repo: FollowUpRepository,
        users: Users,
        playbooks: PlaybookSet | None,
        default_zone: ZoneInfo,
    ):
        self.repo = repo
        self.users = users
        self.playbooks = playbooks
        self.default_zone = default_zone

    async def load(self, dues: Sequence[Due], now: datetime) -> _Loaded:
        if not is_warm(self.playbooks):  # once per process, off the event loop's thread
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, warm_openers, self.playbooks)
        followups = await self.repo.by_ids(d.job.ref_id for d in dues)
        users = await self.users.by_ids(f.user_id for f in followups.values())
        bonds = await self.repo.bonds_for(f.contact_id for f in followups.values())
        return _Loaded(followups, users, bonds)

    def build(self, due: Due, loaded: _Loaded, now: datetime) -> Outgoing | None:
        job = due.job
        f = loaded.followups.get(job.ref_id)
        user = loaded.users.get(f.user_id) if f else None
        if f is None or user is None or f.status != "active":
            return None  # closed, snoozed or forgotten since it was queued
        tz = zone_or(user.timezone, self.default_zone)
        reply = build_nudge(
            PlaceRef(user.platform, user.platform_user_id, "dm"),
            f,
            now=now,
            tz=tz,
            occurrence=job.occurrence,
            bonds=loaded.bonds.get(f.contact_id, ()),
            playbooks=self.playbooks,
            late=due.late,
            handed_over=due.handed_over,
            repeat=job.repeat,
        )
        next_due, next_k = None, 0
        if f.cadence and f.anchor is not None:
            cadence = parse_cadence(f.cadence)
            anchor = f.anchor.astimezone(tz)
            next_due = next_after(anchor, cadence, max(now, job.due_at))
            next_k = index_of(anchor, cadence, next_due, job.occurrence + 1)
        ref = UserRef(user.platform, user.platform_user_id, user.name)
        return Outgoing(ref, reply, next_due, next_k)
