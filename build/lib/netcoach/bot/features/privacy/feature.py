"""The user's control over their data: /mydata (everything, as a JSON file) and /forget.

Both work from the schema through the privacy repository, so a table added later is
exported and forgotten too. Features that keep something about a user in memory are told
through their `forgotten` hook.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

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
from netcoach.bot.timeparse import plural

from .repository import PrivacyRepository

_say = answer_privately
# Reply kinds an adapter may act on: one that saved /mydata's files where netcoach runs (the
# console) mentions them under the question, and deletes them once the user is forgotten.
FORGET_ASKED = "forget-asked"
FORGOTTEN = "forgotten"
# Columns that are netcoach's own working state, not something about the person: lookup
# keys, the table's link back to the user, retry bookkeeping.
INTERNAL = frozenset({"user_id", "awaiting", "claimed_at", "run_at", "repeat", "attempts"})
INTERNAL_OF = {"profile_tags": frozenset({"tag"}), "jobs": frozenset({"ref_id", "message_id"})}
TIME_COLUMNS = frozenset({"at", "anchor", "last_contacted"})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _value(column: str, value: Any) -> Any:
    if (column in TIME_COLUMNS or column.endswith("_at")) and isinstance(value, int | float):
        return _iso(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)  # a list or settings kept as JSON text
        except ValueError:
            return value
    return value


def readable_export(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Rows as a person reads them: times as ISO dates, JSON kept in text as JSON, and
    netcoach's working fields (keys, the user id on every row, retry counts) left out."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in tables.items():
        hidden = INTERNAL | INTERNAL_OF.get(table, frozenset())
        out[table] = [
            {
                column: _value(column, value)
                for column, value in row.items()
                if column not in hidden
                and not column.endswith("_key")
                and not (table == "users" and column == "id")
            }
            for row in rows
        ]
    return out


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
        data = readable_export(await self.repo.export_user(user))
        now = self.clock.now()
        document = {
            "exported_at": _iso(now),
            "about": "Everything netcoach stores about you, table by table. Times are ISO "
            "8601 in UTC. Working fields netcoach keeps only to do its job (lookup keys, "
            "retry counters) are left out.",
            "tables": data,
        }
        blob = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        rows = sum(len(v) for v in data.values())
        tables = sum(1 for v in data.values() if v)
        name = f"netcoach-data-{now:%Y%m%d-%H%M%S}.json"
        return [
            Reply.of(
                req.place,
                f"Here is everything I store about you: {plural(rows, 'row')} in "
                f"{plural(tables, 'table')}.",
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
                kind=FORGET_ASKED,
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
        return [
            Reply.of(
                req.place,
                f"Done: I deleted all {plural(rows, 'row')} about you. Goodbye for now — "
                "anything you send from here on starts afresh.",
                private=True,
                kind=FORGOTTEN,
            )
        ]
