"""Community features: scheduled tips in a channel, kind coaching of intro posts, tips on demand.

Usage — admins of a Discord server (Manage Server) or a Telegram group (creator or
administrator); on the console you are the admin of your own pretend community:
    /tips on #general time 09:00 every weekday networking-not-marketing about-them
    /tips status      /tips preview      /tips off      /tips timezone Europe/Lisbon
    /tips add "Ask one question about their work first."      /tips remove 3
    /intros watch #introductions      /intros off
Everyone:
    /tip          a tip you have not seen lately
    /coach off    no private notes about your intro posts (/coach on: notes again)

Platform facts — who is an admin, whether a channel exists and the bot may post there,
whether the platform shows the bot ordinary posts — come from the adapter's `where()`.
Every decision is made here, the same for every platform.

Tips go through the one scheduler as jobs of kind "tip" (ref_id: the community); their due
source is due.TipSlots.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from netcoach.bot.clock import Clock
from netcoach.bot.kernel import (
    Action,
    Command,
    Feature,
    Param,
    ParamValue,
    PlaceRef,
    Reply,
    Request,
    Segment,
    UserError,
    Where,
    answer_privately,
    bold,
    choices,
    code,
    italic,
)
from netcoach.bot.review import PlaybookSet, ReviewError, review
from netcoach.bot.scheduling import JobQueue
from netcoach.bot.storage import Users
from netcoach.bot.timeparse import WhenError, format_local, plural, resolve_timezone, zone_or

from .due import TipSlots
from .grammar import (
    OptionError,
    describe_every,
    parse_clock_text,
    parse_tips_on,
    strip_quotes,
)
from .model import Community as Row
from .repository import KIND, CommunityRepository
from .tips import Tip, builtin_tips, next_in_rotation, next_slot, tip_body, tips_for

WAVE = "👋"
MAX_OWN_TIPS = 200
RECENT_ON_DEMAND = 20  # `/tip` avoids the last this many tips shown to the user
TIPS_ACTIONS = ("on", "off", "status", "preview", "add", "remove", "timezone")
_ID = re.compile(r"^#?(\d{1,12})$")


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    default_timezone: str = "UTC"
    min_messages_between_tips: int = 5
    intro_note_every_days: int = 30
    wave_at_ready_intros: bool = False


async def _action_then_text(req: Request) -> dict[str, ParamValue]:
    action, _, rest = req.text.strip().partition(" ")
    return {"action": action, "text": rest.strip()}


class Community(Feature):
    """The community feature; `due` is the scheduler's source for its tip slots."""

    def __init__(
        self,
        repo: CommunityRepository,
        users: Users,
        queue: JobQueue,
        clock: Clock,
        playbooks: PlaybookSet,
        settings: CommunitySettings = CommunitySettings(),
        rng: random.Random | None = None,
    ):
        self.repo = repo
        self.users = users
        self.queue = queue
        self.clock = clock
        self.playbooks = playbooks
        self.settings = settings
        self.rng = rng or random.Random()
        self.default_zone = resolve_timezone(settings.default_timezone)
        self.builtin = builtin_tips(playbooks)
        self.playbook_ids = tuple(p.id for p in playbooks if p.tips)
        self.due = TipSlots(
            repo, self.builtin, self.default_zone, settings.min_messages_between_tips, self.rng
        )

    # -- registry -------------------------------------------------------------------------

    def commands(self) -> list[Command]:
        return [
            Command(
                "tips",
                "on|off|status|preview|add|remove|timezone …",
                "community admins: scheduled networking tips in a channel",
                "tips on #general time 09:00 every weekday",
                self.cmd_tips,
                params=(
                    Param("action", "what to do", required=True, choices=choices(*TIPS_ACTIONS)),
                    Param(
                        "text", "e.g. time 09:00 every weekday · a tip in quotes · an id · a zone"
                    ),
                    Param(
                        "channel", "where tips are posted (default: this channel)", kind="channel"
                    ),
                ),
                grammar=_action_then_text,
                admin=True,
            ),
            Command(
                "intros",
                "watch <channel> | off",
                "community admins: kind private notes on intro posts",
                "intros watch #introductions",
                self.cmd_intros,
                params=(
                    Param(
                        "action",
                        "what to do",
                        required=True,
                        choices=choices("watch", "off", "status"),
                    ),
                    Param("channel", "the introductions channel", kind="channel"),
                ),
                admin=True,
            ),
            Command("tip", "", "a networking tip you have not seen lately", "tip", self.cmd_tip),
            Command(
                "coach",
                "off | on",
                "stop (or allow) private notes about your intro posts",
                "coach off",
                self.cmd_coach,
                params=(
                    Param(
                        "setting",
                        "off: no notes about your intro posts; on: notes again",
                        choices=choices("off", "on"),
                    ),
                ),
            ),
        ]

    def actions(self) -> list[Action]:
        return []

    # -- helpers --------------------------------------------------------------------------

    _say = staticmethod(answer_privately)

    def _zone(self, c: Row) -> ZoneInfo:
        return zone_or(c.timezone, self.default_zone)

    async def _admin(self, req: Request, channel: str = "") -> tuple[Where, Row]:
        """The community and channel, if the requester may manage them; else a refusal."""
        where = await req.platform.where(channel)
        if not where.community:
            raise UserError(
                "Community settings belong to a server or group: run this command there "
                "(community admins only).",
            )
        if not where.admin:
            raise UserError(
                f"Sorry, only {where.admin_rule} can change community settings. Nothing was "
                "changed. You can still use ",
                code("/tip"),
                " for a tip of your own.",
            )
        row = await self.repo.ensure(
            req.user.platform, where.community, where.community_name, self.clock.now()
        )
        return where, row

    def _tips_for(self, c: Row, own: Sequence[tuple[int, str]]) -> list[Tip]:
        return tips_for(self.builtin, c, own)

    def _channel_problem(self, where: Where, asked: str) -> str:
        if where.channel is None:
            shown = asked or "this channel"
            return (
                f"I can't find the channel {shown} in this community. Name one I can see, "
                "e.g. #general, or run the command in the channel itself."
            )
        if where.cannot_post:
            return f"I can't post in {where.channel_name}: {where.cannot_post}."
        return ""

    # -- /tips ------------------------------------------------------------------------------

    async def cmd_tips(self, req: Request) -> list[Reply]:
        action, rest, channel = req.arg("action").lower(), req.arg("text"), req.arg("channel")
        if action == "on" and not channel:
            try:
                channel = parse_tips_on(rest, self.playbook_ids, req.platform.is_channel).channel
            except OptionError:
                channel = ""  # reported below, once the requester is known to be an admin
        where, row = await self._admin(req, channel if action == "on" else "")
        handler = {
            "on": self._tips_on,
            "off": self._tips_off,
            "status": self._tips_status,
            "": self._tips_status,
            "preview": self._tips_preview,
            "add": self._tips_add,
            "remove": self._tips_remove,
            "timezone": self._tips_timezone,
        }.get(action)
        if handler is None:
            return self._say(
                req,
                f"I don't know /tips {action}. Use ",
                code("/tips on | off | status | preview | add | remove | timezone"),
                ", e.g. ",
                code("/tips on #general time 09:00 every weekday"),
                ".",
            )
        return await handler(req, where, row, rest.strip())

    async def _tips_on(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        try:
            options = parse_tips_on(rest, self.playbook_ids, req.platform.is_channel)
        except OptionError as exc:
            return self._say(req, str(exc), " Nothing was changed.")
        asked = req.arg("channel") or options.channel
        if problem := self._channel_problem(where, asked):
            return self._say(req, problem, " Nothing was changed.")
        assert where.channel is not None
        at = options.at or (c.tips_time if c.tips_state != "off" else None)
        try:
            at = parse_clock_text(at) if at else "09:00"
            every = options.every or (c.tips_every if c.tips_state != "off" else "day")
        except OptionError as exc:
            return self._say(req, str(exc), " Nothing was changed.")
        playbooks = options.playbooks
        if playbooks is None:
            playbooks = c.tips_playbooks if c.tips_state != "off" else ()
        now = self.clock.now()
        tz = self._zone(c)
        since = now if c.tips_state != "on" or c.tips_since is None else c.tips_since
        anchor = since.astimezone(tz).date()
        first = next_slot(now, at, every, anchor, tz)
        await self.repo.set_tips(
            c.id,
            channel=where.channel.id,
            channel_name=where.channel_name,
            at=at,
            every=every,
            playbooks=playbooks,
            counted=where.sees_posts,
            since=since,
            first_due=first,
        )
        own = (await self.repo.own_tips([c.id]))[c.id]
        count = len(self._tips_for(replace_playbooks(c, playbooks), own))
        names = ", ".join(self.playbooks.title_of(p) for p in playbooks) or "every playbook"
        parts: list[Segment | str] = [
            "Tips are on in ",
            bold(where.channel_name),
            f": {describe_every(every, at)} ({tz.key}), from {names} — ",
            f"{plural(count, 'tip')}, each shown once before any repeats. First tip: ",
            bold(format_local(first, tz)),
            ".",
        ]
        parts += ["\n", *self._activity_rule(where.sees_posts, where.note)]
        return self._say(req, *parts)

    def _activity_rule(self, counted: bool, note: str = "") -> list[Segment | str]:
        n = self.settings.min_messages_between_tips
        if not counted:
            return [
                "Activity is not counted here: ",
                note or "the platform does not show me ordinary posts in this channel",
                ". Tips post on schedule.",
            ]
        if n <= 0:
            return ["Tips post on schedule, whatever the activity."]
        return [
            f"A slot is skipped (and /tips status says so) when fewer than {plural(n, 'message')} "
            "arrived since the last tip: no tips into a silent channel."
        ]

    async def _tips_off(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        if not await self.repo.stop_tips(c.id, "off"):
            if c.tips_state == "stopped":
                await self.repo.stop_tips(c.id, "off")
            return self._say(req, "Tips are not on in this community; nothing to switch off.")
        return self._say(
            req, "Tips are off: nothing more will be posted in ", bold(c.tips_channel_name), "."
        )

    async def _tips_status(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        tz = self._zone(c)
        own = (await self.repo.own_tips([c.id]))[c.id]
        parts: list[Segment | str] = [bold("Community tips"), f" — time zone {tz.key}"]
        if c.tips_state == "off":
            parts += ["\nTips are off. Start them with ", code("/tips on #channel time 09:00")]
        else:
            state = "on" if c.tips_state == "on" else "stopped"
            parts += ["\nTips are ", bold(state), " in ", bold(c.tips_channel_name)]
            parts += [f", {describe_every(c.tips_every, c.tips_time)}."]
            jobs = await self.queue.latest(KIND, c.id, 10)
            pending = [j for j in jobs if j.waiting]
            if c.tips_state == "on" and pending:
                parts += ["\nNext tip: ", bold(format_local(pending[-1].due_at, tz)), "."]
            names = ", ".join(self.playbooks.title_of(p) for p in c.tips_playbooks)
            parts += [f"\nPlaybooks: {names or 'all'}"]
            tips = self._tips_for(c, own)
            rotation = (await self.repo.rotations([(c.platform, c.tips_channel or "")]))[
                (c.platform, c.tips_channel or "")
            ]
            shown = len([k for k in rotation[0][: rotation[1]] if k in {t.key for t in tips}])
            parts += [f" — {plural(len(tips), 'tip')}; {shown} shown in this round."]
            parts += ["\nActivity: "]
            n = self.settings.min_messages_between_tips
            if not c.tips_counted:
                parts += ["not counted (I can't see ordinary posts there); tips post on schedule."]
            elif n <= 0:
                parts += ["not required."]
            else:
                parts += [f"{c.tips_messages} of {plural(n, 'message')} since the last tip"]
                parts += [
                    " — the next tip will be posted."
                    if c.tips_messages >= n
                    else f" — the next slot is skipped unless {n - c.tips_messages} more arrive."
                ]
            posted = [j for j in jobs if j.sent]
            if posted:
                parts += ["\nLast tip posted: ", format_local(posted[0].due_at, tz), "."]
        if c.tips_note:
            parts += ["\n", italic(c.tips_note)]
        parts += [f"\nCommunity's own tips: {len(own)}"]
        for tip_id, text in own[:20]:
            parts += ["\n", code(f"#{tip_id}"), " ", _short(text)]
        if c.intros_channel:
            parts += ["\nIntro coaching: watching ", bold(c.intros_channel_name), "."]
        return self._say(req, *parts)

    async def _tips_preview(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        own = (await self.repo.own_tips([c.id]))[c.id]
        tips = self._tips_for(c, own)
        if not tips:
            return self._say(req, 'There are no tips to show: add one with /tips add "…".')
        channel = c.tips_channel or (where.channel.id if where.channel else "")
        cycle, position = (await self.repo.rotations([(c.platform, channel)]))[
            (c.platform, channel)
        ]
        key, _, _ = next_in_rotation(cycle, position, [t.key for t in tips], random.Random(0))
        tip = next(t for t in tips if t.key == key)
        return [
            Reply(
                req.place,
                (
                    italic("Preview — the next tip will look like this:"),
                    Segment("\n\n"),
                    *tip_body(tip),
                ),
                private=True,
            )
        ]

    async def _tips_add(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        text = strip_quotes(rest)
        if not text:
            example = code('/tips add "Ask before you pitch."')
            return self._say(req, "What is the tip? e.g. ", example)
        if req.platform.mentions(text):
            return self._say(
                req,
                "Tips can't contain mentions (@someone, @everyone, a role or channel link): a "
                "daily tip must never ping anyone. Nothing was added.",
            )
        limit = req.platform.max_text - 80  # room for the heading
        if len(text) > limit:
            return self._say(
                req,
                f"That tip is {len(text)} characters; on {req.user.platform} a tip can be at "
                f"most {limit}. Nothing was added — a tip works best as one short line.",
            )
        own = (await self.repo.own_tips([c.id]))[c.id]
        if len(own) >= MAX_OWN_TIPS:
            return self._say(req, f"This community already has {MAX_OWN_TIPS} tips of its own.")
        tip_id = await self.repo.add_tip(c.id, " ".join(text.split()), self.clock.now())
        return self._say(
            req,
            "Added community tip ",
            code(f"#{tip_id}"),
            ": ",
            italic(text),
            " — it joins the rotation. ",
            code(f"/tips remove {tip_id}"),
            " takes it out.",
        )

    async def _tips_remove(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        m = _ID.match(rest)
        if m is None:
            return self._say(req, "Which tip? Give its id, e.g. ", code("/tips remove 3"), ".")
        removed = await self.repo.remove_tip(c.id, int(m[1]))
        if removed is None:
            return self._say(
                req,
                f"This community has no tip #{m[1]}. ",
                code("/tips status"),
                " lists its own tips.",
            )
        return self._say(req, f"Removed tip #{m[1]}: ", italic(_short(removed)))

    async def _tips_timezone(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        name = rest
        if not name.strip():
            tz = self._zone(c)
            return self._say(
                req,
                f"This community's tips use {tz.key}. Change it with ",
                code("/tips timezone Area/City"),
                ".",
            )
        try:
            tz = resolve_timezone(name)
        except WhenError as exc:
            return self._say(req, str(exc), " Nothing was changed.")
        await self.repo.set_timezone(c.id, tz.key)
        parts: list[Segment | str] = [f"Community time zone set to {tz.key}."]
        if c.tips_state == "on" and c.tips_channel:
            now = self.clock.now()
            anchor = (c.tips_since or now).astimezone(tz).date()
            first = next_slot(now, c.tips_time, c.tips_every, anchor, tz)
            await self.repo.set_tips(
                c.id,
                channel=c.tips_channel,
                channel_name=c.tips_channel_name,
                at=c.tips_time,
                every=c.tips_every,
                playbooks=c.tips_playbooks,
                counted=c.tips_counted,
                since=c.tips_since or now,
                first_due=first,
            )
            parts += [" Next tip: ", bold(format_local(first, tz)), "."]
        return self._say(req, *parts)

    # -- /intros ----------------------------------------------------------------------------

    async def cmd_intros(self, req: Request) -> list[Reply]:
        action, channel = req.arg("action").lower(), req.arg("channel")
        where, c = await self._admin(req, channel if action == "watch" else "")
        if action == "off":
            if not c.intros_channel:
                return self._say(req, "Intro coaching is not on in this community.")
            await self.repo.set_intros(c.id, None)
            return self._say(req, "Intro coaching is off: I no longer read ", c.intros_channel_name)
        if action != "watch":
            if c.intros_channel:
                return self._say(
                    req, "Intro coaching is watching ", bold(c.intros_channel_name), "."
                )
            return self._say(
                req, "Intro coaching is off. Start it with ", code("/intros watch #introductions")
            )
        if problem := self._channel_problem(where, channel):
            return self._say(req, problem, " Nothing was changed.")
        assert where.channel is not None
        if not where.sees_posts:
            return self._say(
                req,
                f"I can't watch {where.channel_name}: ",
                where.note or "the platform does not show me ordinary posts there",
                ". Nothing was changed.",
            )
        await self.repo.set_intros(c.id, where.channel.id, where.channel_name)
        days = self.settings.intro_note_every_days
        parts: list[Segment | str] = [
            "Intro coaching is on in ",
            bold(where.channel_name),
            ". When a new intro there reads like a pitch or says nothing personal, its author "
            f"gets a private, friendly note with two suggestions — at most one every {days} "
            "days, never a public reply, and nothing is deleted. Members opt out with ",
            code("/coach off"),
            ".",
        ]
        if not where.reads_text:
            parts += ["\n", bold("One more step: "), where.note or "I can't read post text yet."]
        return self._say(req, *parts)

    # -- /tip and /coach ---------------------------------------------------------------------

    async def cmd_tip(self, req: Request) -> list[Reply]:
        user = await self.users.ensure(req.user, self.clock.now())
        tips = list(self.builtin)
        if not tips:
            return self._say(req, "I have no tips loaded.")
        recent = set(await self.repo.tips_seen(user.id, min(RECENT_ON_DEMAND, len(tips) // 2)))
        fresh = [t for t in tips if t.key not in recent] or tips
        tip = self.rng.choice(fresh)
        await self.repo.saw_tip(user.id, tip.key, self.clock.now())
        return [Reply(req.place, tip_body(tip), private=True, kind="tip")]

    async def cmd_coach(self, req: Request) -> list[Reply]:
        setting = req.arg("setting").lower()
        user = await self.users.ensure(req.user, self.clock.now())
        if setting in ("off", "stop", "no"):
            await self.repo.set_coach_optout(user.id, True, self.clock.now())
            return self._say(
                req,
                "Done: I won't send you notes about your intro posts in any community. ",
                code("/coach on"),
                " allows them again.",
            )
        if setting in ("on", "start", "yes"):
            await self.repo.set_coach_optout(user.id, False, self.clock.now())
            return self._say(req, "Notes about your intro posts are on again. Thanks!")
        off = await self.repo.coach_opted_out(user.id)
        return self._say(
            req,
            "Notes about your intro posts are ",
            bold("off" if off else "on"),
            ". Change with ",
            code("/coach on" if off else "/coach off"),
            ".",
        )

    # -- group messages: activity and intros ---------------------------------------------------

    async def reads_posts(self, platform: str) -> bool:
        """Intro coaching reads intro posts: only while some community watches its intros."""
        return await self.repo.any_intros(platform)

    async def observe(self, req: Request) -> list[Reply]:
        """A post in a group: counts towards the tips channel's activity; in a watched intro
        channel, a post that needs work earns its author a private note."""
        if not req.text.strip():
            return []
        found = await self.repo.at_channel(req.place.platform, req.place.id)
        if not found:
            return []
        if any(c.tips_state == "on" and c.tips_channel == req.place.id for c in found):
            await self.repo.count_message(req.place.platform, req.place.id)
        replies: list[Reply] = []
        for c in found:
            if c.intros_channel == req.place.id:
                replies += await self._coach_intro(req, c)
        return replies

    async def _coach_intro(self, req: Request, c: Row) -> list[Reply]:
        try:
            result = review(req.text, "intro", self.playbooks)
        except ReviewError:
            return []
        if result.verdict == "ready":
            if self.settings.wave_at_ready_intros:
                return [Reply.of(req.place, WAVE, kind="reaction")]
            return []
        now = self.clock.now()
        known = await self.users.find(req.user)
        if known is not None and await self.repo.coach_opted_out(known.id):
            return []
        user = known or await self.users.ensure(req.user, now)
        every = timedelta(days=self.settings.intro_note_every_days)
        if not await self.repo.note_intro(user.id, c.id, now, every):
            return []
        suggestions: list[str] = []
        for finding in result.findings:
            if finding.suggestion and finding.suggestion not in suggestions:
                suggestions.append(finding.suggestion)
        name = req.user.name or "there"
        where = c.intros_channel_name or "the introductions channel"
        parts: list[Segment | str] = [
            f"Hi {name}! I'm netcoach, the networking coach in {c.name or 'your community'}. "
            f"Thanks for introducing yourself in {where}. "
            + (
                "Two ideas that usually bring"
                if len(suggestions) > 1
                else "One idea that usually brings"
            )
            + " more replies to an intro:"
        ]
        for i, suggestion in enumerate(suggestions[:2], start=1):
            parts += [f"\n{i}. ", suggestion]
        parts += [
            "\n\nNo need to change anything — your post stays as it is. I won't write about "
            f"your intros again for {self.settings.intro_note_every_days} days, and ",
            code("/coach off"),
            " stops these notes.",
        ]
        dm = PlaceRef(req.user.platform, req.user.id, "dm")
        return [Reply.of(dm, *parts, private=True, kind="intro-note")]


def replace_playbooks(c: Row, playbooks: Sequence[str]) -> Row:
    return replace(c, tips_playbooks=tuple(playbooks))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
