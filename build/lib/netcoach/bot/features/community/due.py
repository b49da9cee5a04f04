"""The community's due source: each claimed tip slot is posted, or skipped with a reason.

The tip for a slot is chosen and recorded when its job is claimed, before it is sent: a
restart that finds the slot already chosen does not post it again (it says so in /tips
status), and a slot that fell due while netcoach was down is posted late, never skipped
silently.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from netcoach.bot.kernel import PlaceRef, Reply
from netcoach.bot.scheduling import Due, DueSource, Job, Outgoing
from netcoach.bot.timeparse import format_local, zone_or

from .model import Community
from .repository import KIND, CommunityRepository
from .tips import Tip, next_in_rotation, next_slot, slots_between, tip_body, tips_for


class TipSlots(DueSource):
    kind = KIND
    prebuild = False  # `load` records the tip it picks, so only claimed jobs are built

    def __init__(
        self,
        repo: CommunityRepository,
        builtin: Sequence[Tip],
        default_zone: ZoneInfo,
        min_messages: int,
        rng: random.Random,
    ):
        self.repo = repo
        self.builtin = builtin
        self.default_zone = default_zone
        self.min_messages = min_messages
        self.rng = rng

    async def load(self, dues: Sequence[Due], now: datetime) -> dict[int, Outgoing | None]:
        """Decide each claimed slot: post (recording the chosen tip first) or skip, saying why."""
        communities = await self.repo.by_ids(d.job.ref_id for d in dues)
        own = await self.repo.own_tips(communities)
        rotations = await self.repo.rotations(
            (c.platform, c.tips_channel) for c in communities.values() if c.tips_channel
        )
        out: dict[int, Outgoing | None] = {}
        for due in dues:
            c = communities.get(due.job.ref_id)
            out[due.job.id] = await self._slot(due, c, own, rotations, now)
        return out

    def build(self, due: Due, loaded: dict[int, Outgoing | None], now: datetime) -> Outgoing | None:
        return loaded.get(due.job.id)

    async def _slot(
        self,
        due: Due,
        c: Community | None,
        own: Mapping[int, Sequence[tuple[int, str]]],
        rotations: Mapping[tuple[str, str], Any],
        now: datetime,
    ) -> Outgoing | None:
        job = due.job
        if c is None or c.tips_state != "on" or not c.tips_channel:
            return None  # switched off since it was queued
        tz = zone_or(c.timezone, self.default_zone)
        place = PlaceRef(c.platform, c.tips_channel, "group")
        anchor = (c.tips_since or job.due_at).astimezone(tz).date()
        next_due = next_slot(max(now, job.due_at), c.tips_time, c.tips_every, anchor, tz)
        slot = format_local(job.due_at, tz)
        tips = tips_for(self.builtin, c, own.get(c.id, ()))

        async def skip(reason: str) -> Outgoing:
            await self.repo.set_tips_note(c.id, f"Skipped the tip due {slot}: {reason}.")
            return Outgoing(place, Reply.of(place, ""), next_due, job.occurrence, skip=reason)

        if c.tips_job == job.id and c.tips_key:
            if job.repeat:
                return await skip(
                    "netcoach stopped while posting it, so it may already be in the channel; "
                    "it was not posted again, to avoid a duplicate"
                )
            tip = next((t for t in tips if t.key == c.tips_key), None)  # a retry: same tip
            if tip is None:
                return await skip("its tip was removed before it could be posted")
        else:
            n = self.min_messages
            if c.tips_counted and n > 0 and c.tips_messages < n:
                messages = "message" if c.tips_messages == 1 else "messages"
                return await skip(
                    f"only {c.tips_messages} {messages} since the last tip (tips wait for {n}, "
                    "so the channel is not flooded while it is quiet)"
                )
            if not tips:
                return await skip("there are no tips in the chosen playbooks")
            cycle, position = rotations.get((c.platform, c.tips_channel), ([], 0))
            key, cycle, position = next_in_rotation(
                cycle, position, [t.key for t in tips], self.rng
            )
            tip = next(t for t in tips if t.key == key)
            await self.repo.take_tip(
                c.id, job.id, key, (c.platform, c.tips_channel), cycle, position
            )
            note = None
            if due.late is not None:
                missed = slots_between(job.due_at, now, c, anchor, tz)
                note = f"The tip due {slot} was posted late: netcoach was offline."
                if missed:
                    note += f" {missed} later slot(s) passed while it was down."
            await self.repo.set_tips_note(c.id, note)
        return Outgoing(
            place, Reply(place, tip_body(tip), kind="tip"), next_due, job.occurrence + 1
        )

    async def undeliverable(self, job: Job, reason: str) -> None:
        """The bot can no longer post there (removed, or lost a permission): stop the
        schedule instead of failing every day, and tell admins in /tips status."""
        found = (await self.repo.by_ids([job.ref_id])).get(job.ref_id)
        if found is None:
            return
        await self.repo.stop_tips(
            found.id,
            "stopped",
            f"Tips stopped: I could not post in {found.tips_channel_name} ({reason}). "
            "Fix that, then run /tips on again.",
        )
