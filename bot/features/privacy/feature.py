"""The user's control over their data: /mydata (everything, as a JSON file) and /forget.

Both work from the schema through the privacy repository, so a table added later is
exported and forgotten too. Features that keep something about a user in memory are told
through their `forgotten` hook.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from netcoach.bot.clock import Clock
from netcoach.bot.kernel import (
    Action,
    Attachment,
    Button,
    Command,
    Feature,
    Reply,
    Request,
    answer_privately,
    bold,
    code,
)
from netcoach.bot.storage import Users

from .repository import PrivacyRepository

_say = answer_privately


class Privacy(Feature):
    def __init__(
        self, repo: PrivacyRepository, users: Users, clock: Clock, others: Sequence[Feature] = ()
    ):
        self.repo = repo
        self.users = users
        self.clock = clock
        self.others = tuple(others)

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "mydata",
                "",
                "everything netcoach stores about you, as a JSON file",
                "mydata",
                self.cmd_mydata,
            ),
            Command(
                "forget",
                "",
                "delete everything netcoach stores about you (asks first)",
                "forget",
                self.cmd_forget,
            ),
        )

    def actions(self) -> Sequence[Action]:
        return (Action("forget", self.press_forget),)

    async def cmd_mydata(self, req: Request) -> list[Reply]:
        user = await self.users.ensure(req.user, self.clock.now())
        data = await self.repo.export_user(user)
        now = self.clock.now()
        document = {
            "exported_at": now.isoformat(),
            "about": "Every row netcoach stores about you, table by table. Times are Unix "
            "seconds (UTC).",
            "tables": data,
        }
        blob = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
        rows = sum(len(v) for v in data.values())
        name = f"netcoach-data-{now:%Y%m%d-%H%M%S}.json"
        return [
            Reply.of(
                req.place,
                f"Here is everything I store about you: {rows} rows in {len(data)} tables.",
                private=True,
                kind="export",
                attachments=(Attachment(name, blob),),
            )
        ]

    async def cmd_forget(self, req: Request) -> list[Reply]:
        return [
            Reply.of(
                req.place,
                bold("Delete everything about you?"),
                " Your profile, contacts, follow-ups and reminders, stored drafts, the tips "
                "you were shown and your coaching settings will be gone for good (a "
                "community's own tip schedule belongs to the community and stays). ",
                code("/mydata"),
                " first if you want a copy.",
                buttons=(
                    Button("Yes, forget me", "forget:yes"),
                    Button("No, keep it", "forget:no"),
                ),
                private=True,
            )
        ]

    async def press_forget(self, req: Request) -> list[Reply]:
        """The answer replaces the question, so "Yes, forget me" cannot be pressed twice."""
        return [replace(r, edit_pressed=True) for r in await self._forget(req)]

    async def _forget(self, req: Request) -> list[Reply]:
        if req.text != "forget:yes":
            return _say(req, "Nothing was deleted.")
        user = await self.users.find(req.user)
        if user is None:
            return _say(req, "I have nothing stored about you.")
        counts = await self.repo.forget_user(user)
        for feature in self.others:
            await feature.forgotten(req.user)
        rows = sum(counts.values())
        return _say(
            req,
            f"Done: I deleted all {rows} rows about you. Goodbye for now — "
            "anything you send from here on starts afresh.",
        )
