"""Hand-over: what could not be pushed to a user is shown the next time they write."""

from __future__ import annotations

from netcoach.bot.kernel import Feature, Reply, Request

from .scheduler import Scheduler


class HandOver(Feature):
    """A Coach feature that shows a user what could not be pushed to them earlier."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler

    async def notices(self, req: Request) -> list[Reply]:
        if req.command == "" and req.place.kind == "group":
            return []  # an observed group post: the bot is not talking to them there
        return await self.scheduler.hand_over(req.user, req.place)
