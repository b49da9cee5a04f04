"""The Coach: neutral requests in, neutral replies out, for every platform alike.

Features (review, follow-ups, community, bonds) contribute commands and button actions;
the coach routes to them, builds the help text from the same registry, and makes sure
one user's bad input or a bug in one feature never takes the bot down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from .commands import Action, Command, positional
from .errors import UserError
from .feature import Feature
from .markup import bold, code, plain
from .types import ParamValue, Reply, Request

log = logging.getLogger(__name__)
QUIET_SECONDS = 60.0  # failing observed posts are reported at most once in this long


class _Quiet:
    """Failures nobody asked about (observed posts): the first one of a window is logged,
    the rest are counted and summed up by the first one after the window."""

    def __init__(self, monotonic: Callable[[], float]):
        self._monotonic = monotonic
        self._until = float("-inf")
        self._silenced = 0

    def failed(self, exc: Exception) -> None:
        now = self._monotonic()
        if now < self._until:
            self._silenced += 1
            return
        more = f"; {self._silenced + 1} more since the last report" if self._silenced else ""
        self._until, self._silenced = now + QUIET_SECONDS, 0
        log.error(
            "a post not addressed to me could not be handled (%s: %s)%s; such posts fail "
            "silently, and the next report comes in %g s at the earliest",
            type(exc).__name__,
            exc,
            more,
            QUIET_SECONDS,
            exc_info=(type(exc), exc, exc.__traceback__) if not more else None,
        )


class Coach:
    def __init__(
        self,
        features: Sequence[Feature],
        default_command: str = "review",
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.features = tuple(features)
        self._quiet = _Quiet(monotonic)
        self.commands: dict[str, Command] = {}
        self.actions: dict[str, Action] = {}
        for feature in self.features:
            for command in feature.commands():
                if command.name in self.commands:
                    raise ValueError(f"two features define the command '{command.name}'")
                self.commands[command.name] = command
            for action in feature.actions():
                self.actions[action.prefix] = action
        self.default_command = default_command

    async def handle(self, req: Request) -> list[Reply]:
        """Answer one request; unexpected errors become an apology, never a crash. A post
        not addressed to the bot (an observed group post) is never answered because of a
        fault: it fails silently, reported in the log at most once a minute."""
        if self.is_observed(req):
            return await self._observed_quietly(req)
        try:
            replies = await self._route(req)
        except UserError as exc:
            replies = [Reply.of(req.place, *exc.parts, private=True)]
        except Exception:
            log.exception("command %r failed", req.command)
            replies = [
                Reply.of(
                    req.place,
                    "Sorry, something went wrong on my side. Please try again in a moment; "
                    f"{'/help' if req.command in ('', 'press') else '/' + req.command} "
                    "shows how it is used.",
                    private=True,
                )
            ]
        notices: list[Reply] = []
        for feature in self.features:
            try:  # a failing side note must not hide the answer itself
                notices += await feature.notices(req)
            except Exception:
                log.exception("notices of %s failed", type(feature).__name__)
        return notices + replies

    async def _route(self, req: Request) -> list[Reply]:
        name = req.command.strip().lower().lstrip("/")
        if name == "press":
            prefix = req.text.split(":", 1)[0]
            action = self.actions.get(prefix)
            if action is None:
                return [Reply.of(req.place, "That button no longer works.", private=True)]
            return await action.handler(req)
        if name == "":
            return await self._draft(req)
        if name == "help":
            return [self.help(req)]
        command = self.commands.get(name)
        if command is None:
            return [
                Reply.of(
                    req.place,
                    "I don't know the command ",
                    code(f"/{name}"),
                    ". Type ",
                    code("/help"),
                    " to see what I can do.",
                    private=True,
                )
            ]
        return await command.handler(await self._parsed(command, req))

    @staticmethod
    async def _parsed(command: Command, req: Request) -> Request:
        """The words typed after the command, parsed once into its params; params the
        platform sent natively win over the same names parsed from text."""
        parsed: Mapping[str, ParamValue] = {}
        if req.text.strip():
            if command.grammar is not None:
                parsed = await command.grammar(req)
            else:
                parsed = positional(command.params, req.text)
        return replace(req, text="", params={**parsed, **req.params})

    async def _draft(self, req: Request) -> list[Reply]:
        """A plain private message is a draft to review, as written: it is never parsed as
        the review command's words ("dm me if…" keeps its "dm"). A feature may say how it is
        meant (after "Draft" on a nudge: a follow-up)."""
        if not req.text.strip():
            return [self.welcome(req)]
        context = ""
        for feature in self.features:
            if (said := await feature.intercept(req)) is not None:
                context = said
                break
        command = self.commands[self.default_command]
        params: dict[str, ParamValue] = {**req.params, "draft": req.text}
        if context:
            params["context"] = context
        replies = await command.handler(replace(req, command=command.name, text="", params=params))
        return replies + ([] if context else self._slash_hint(req))

    def _slash_hint(self, req: Request) -> list[Reply]:
        """A short message that starts with a command's name in lowercase ("followup Maria
        in 2 weeks") was probably meant as the command: it is still answered as a draft (it
        may be one: "contact me if…"), and the hint follows whatever that answer is."""
        words = req.text.split()
        name = words[0] if words else ""  # typed as a command is: lowercase
        if name not in self.commands or len(words) > 12 or "\n" in req.text.strip():
            return []
        typed = " ".join(words)
        return [
            Reply.of(
                req.place,
                "If you meant the command, type ",
                code(f"/{typed}"),
                ": commands start with a slash.",
                private=True,
            )
        ]

    @staticmethod
    def is_observed(req: Request) -> bool:
        """A plain post in a group: not addressed to the bot."""
        return req.command.strip().lstrip("/") == "" and req.place.kind == "group"

    async def _observed_quietly(self, req: Request) -> list[Reply]:
        """Every feature observes the post, then records whatever it records (notices); a
        failing hook does not stop the others, and the post counts once as failed."""
        replies: list[Reply] = []
        failure: Exception | None = None
        hooks = [(f, f.observe) for f in self.features] + [(f, f.notices) for f in self.features]
        for feature, hook in hooks:
            try:
                replies += self._unspoken(feature, await hook(req))
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            self._quiet.failed(failure)
        return replies

    @staticmethod
    def _unspoken(feature: Feature, replies: list[Reply]) -> list[Reply]:
        """A plain message in a group is not for the bot; features may still observe it
        (to count activity, or coach an intro post privately). It was not addressed to the
        bot, so it is never answered there: only private notes (by DM) and reactions."""
        kept = []
        for reply in replies:
            if reply.kind == "reaction":
                kept.append(reply)
            elif reply.private or reply.dm_only:
                kept.append(replace(reply, private=True, dm_only=True))
            else:
                log.error("%s answered an observed post in public; dropped", feature)
        return kept

    async def reads_posts(self, platform: str) -> bool:
        """Whether any feature needs the text of ordinary group posts on `platform`."""
        for feature in self.features:
            if await feature.reads_posts(platform):
                return True
        return False

    def help(self, req: Request) -> Reply:
        parts = [bold("netcoach commands"), plain("\n")]
        for command in sorted(self.commands.values(), key=lambda c: c.name):
            usage = f" {command.usage}" if command.usage else ""
            parts += [plain("\n"), code(f"/{command.name}{usage}"), plain(f" — {command.summary}")]
            parts += [plain("\n   e.g. "), code(f"/{command.example}")]
        parts += [
            plain("\n\nSend me any draft message in a private chat and I will review it."),
        ]
        return Reply(req.place, tuple(parts), private=True)

    def welcome(self, req: Request) -> Reply:
        return Reply.of(
            req.place,
            bold("Hi! I'm netcoach."),
            " I help you network the way that works: listen and help first, find the "
            "common bond, give before you take, and stay in touch.\n\n"
            "• Send me a draft (a first message, an intro post, a follow-up) and I'll "
            "score it and suggest fixes.\n"
            "• ",
            code("/followup Maria in 2 weeks"),
            " and I'll remind you with a suggested opener.\n\n"
            "I don't store your drafts unless you turn history on. ",
            code("/help"),
            " lists everything.",
            private=True,
        )
