"""The Feature base class: every hook the router calls, each a no-op until a feature needs it.

A feature (drafts, follow-ups, community, profiles, privacy) overrides only what it uses;
the router calls every hook on every feature, so there is no `getattr` guessing and a typo
in a hook's name is a type error, not a silently ignored method.
"""

from __future__ import annotations

from collections.abc import Sequence

from .commands import Action, Command
from .types import Reply, Request, UserRef


class Feature:
    def commands(self) -> Sequence[Command]:
        """The commands this feature answers (help, menus and slash commands come from here)."""
        return ()

    def actions(self) -> Sequence[Action]:
        """The button actions this feature answers, by prefix."""
        return ()

    async def notices(self, req: Request) -> list[Reply]:
        """Side notes shown before the answer to any request (a nudge that could not be
        pushed); also the place to record that a user was seen somewhere."""
        return []

    async def observe(self, req: Request) -> list[Reply]:
        """A plain post in a group, not addressed to the bot (activity, intro coaching).
        The router lets through only replies to the author's private chat and reactions."""
        return []

    async def intercept(self, req: Request) -> str | None:
        """How a plain private message is meant, when this feature asked for it (after
        "Draft" on a nudge: a follow-up draft); the review context, or None."""
        return None

    async def forgotten(self, user: UserRef) -> None:
        """Everything about `user` was deleted: drop what this feature keeps in memory."""

    async def reads_posts(self, platform: str) -> bool:
        """Whether this feature needs the text of ordinary group posts on `platform` now
        (a platform that must ask for that, like Discord's message-content intent, asks
        only while some feature does)."""
        return False
