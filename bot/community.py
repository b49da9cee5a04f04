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

Tips go through the one scheduler as jobs of kind "tip" (ref_id: the community). The tip
for a slot is chosen and recorded when its job is claimed, before it is sent: a restart
that finds the slot already chosen does not post it again (it says so in `/tips status`),
and a slot that fell due while netcoach was down is posted late, never skipped silently.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from netcoach.bot.clock import Clock
from netcoach.bot.kernel import (
    Action,
    Command,
    Feature,
    PlaceRef,
    Reply,
    Request,
    Segment,
    Where,
    answer_privately,
    bold,
    code,
    italic,
)
from netcoach.bot.review import PlaybookSet, ReviewError, review
from netcoach.bot.scheduler import Due, Outgoing
from netcoach.bot.store import Community as Row
from netcoach.bot.store import Job, Store
from netcoach.bot.timeparse import (
    Cadence,
    WhenError,
    format_local,
    is_time_of_day,
    next_after,
    parse_time_of_day,
    resolve_timezone,
)
from netcoach.bot.timeparse.civil import at as civil_at

WAVE = "👋"
OWN_PRINCIPLE = "From this community"
MAX_OWN_TIPS = 200
MAX_EVERY_DAYS = 30
RECENT_ON_DEMAND = 20  # `/tip` avoids the last this many tips shown to the user
_MENTION = re.compile(r"(?<![\w.])@\w|<[@#][!&]?\d+>")
_QUOTES = "\"'“”‘’«»"
_ID = re.compile(r"^#?(\d{1,12})$")


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    default_timezone: str = "UTC"
    min_messages_between_tips: int = 5
    intro_note_every_days: int = 30
    wave_at_ready_intros: bool = False


@dataclass(frozen=True, slots=True)
class Tip:
    key: str  # stable across playbook edits that keep the text: "<playbook>:<hash>" or "own:<id>"
    text: str
    principle: str  # the playbook's title, named in every posted tip


@dataclass(frozen=True, slots=True)
class TipsOptions:
    channel: str = ""
    at: str | None = None  # "HH:MM"
    every: str | None = None  # "day" | "weekday" | "N days"
    playbooks: tuple[str, ...] | None = None


class OptionError(ValueError):
    """A `/tips on` option that does not parse; the message says what would."""


# -- pure helpers ---------------------------------------------------------------------------


def parse_clock_text(text: str) -> str:
    """ "9", "09:00", "9am", "6.30pm", "18h30" -> "HH:MM"; OptionError otherwise."""
    try:
        return f"{parse_time_of_day(text):%H:%M}"
    except WhenError as exc:
        raise OptionError(str(exc)) from None


def parse_every(words: Sequence[str]) -> str:
    """ "day", "weekday", "2 days" (after the word "every") -> the stored cadence."""
    text = " ".join(words).strip().lower()
    if text in ("day", "daily", "1 day", "days"):
        return "day"
    if text in ("weekday", "weekdays", "working day", "workday", "workdays"):
        return "weekday"
    m = re.fullmatch(r"(\d{1,3}) ?days?", text)
    if m and 1 <= int(m[1]) <= MAX_EVERY_DAYS:
        return "day" if int(m[1]) == 1 else f"{int(m[1])} days"
    raise OptionError(
        f"“every {text}” is not a cadence I know. Use every day, every weekday or "
        f"every N days (N from 2 to {MAX_EVERY_DAYS})."
    )


def parse_tips_on(text: str, playbook_ids: Sequence[str]) -> TipsOptions:
    """`[channel] [time HH:MM] [every day|weekday|N days] [playbook…]`, in any order."""
    words = text.replace(",", " ").split()
    channel, at, every = "", None, None
    chosen: list[str] = []
    i = 0
    while i < len(words):
        word, low = words[i], words[i].lower().rstrip(":")
        if word.startswith(("#", "<#", "@")) or re.fullmatch(r"-?\d{6,}", word):
            if channel:
                raise OptionError("Please name one channel only.")
            channel = word
        elif low in ("time", "at"):
            if i + 1 >= len(words):
                raise OptionError(f"“{word}” needs a time after it, e.g. {low} 09:00.")
            at = parse_clock_text(words[i + 1])
            i += 1
        elif is_time_of_day(low):
            at = parse_clock_text(low)
        elif low == "every":
            rest = words[i + 1 : i + 3]
            if rest and rest[0].isdigit():
                every, i = parse_every(rest[:2]), i + len(rest[:2])
            else:
                every, i = parse_every(rest[:1]), i + len(rest[:1])
        elif low in ("daily", "weekdays"):
            every = parse_every([low])
        elif low == "all":
            chosen = list(playbook_ids)
        elif low in playbook_ids:
            if low not in chosen:
                chosen.append(low)
        else:
            raise OptionError(
                f"I don't know “{word}”. After /tips on come a channel (#name), a time "
                f"(time 09:00), a cadence (every day | weekday | N days) and playbooks: "
                f"{', '.join(playbook_ids)}."
            )
        i += 1
    return TipsOptions(channel, at, every, tuple(chosen) if chosen else None)


def describe_every(every: str, at: str) -> str:
    if every == "day":
        return f"every day at {at}"
    if every == "weekday":
        return f"every weekday (Mon–Fri) at {at}"
    return f"every {every} at {at}"


def tips_cadence(every: str) -> Cadence:
    """The stored "day" | "weekday" | "N days" as the one recurrence model."""
    if every == "weekday":
        return Cadence(1, "days", weekdays_only=True)
    return Cadence(int(every.split()[0]) if every.endswith("days") else 1, "days")


def next_slot(after: datetime, at: str, every: str, anchor: date, tz: ZoneInfo) -> datetime:
    """The first posting time strictly after `after`, in the community's zone."""
    hours, minutes = (int(x) for x in at.split(":"))
    return next_after(civil_at(anchor, time(hours, minutes), tz), tips_cadence(every), after)


def next_in_rotation(
    cycle: Sequence[str], position: int, keys: Sequence[str], rng: random.Random
) -> tuple[str, list[str], int]:
    """(tip key, cycle, position after it): each tip once per cycle, in a shuffled order.

    Tips added mid-cycle join the end of the current cycle; tips no longer selected are
    passed over. A new cycle is shuffled afresh and never starts with the tip just shown.
    """
    available = set(keys)
    order = list(cycle)
    known = set(order)
    new = [k for k in keys if k not in known]
    rng.shuffle(new)
    order += new
    while position < len(order) and order[position] not in available:
        position += 1
    if position >= len(order):
        last = order[position - 1] if 0 < position <= len(order) else None
        order = sorted(available)
        rng.shuffle(order)
        if len(order) > 1 and order[0] == last:
            order[0], order[1] = order[1], order[0]
        position = 0
    return order[position], order, position + 1


def strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        return text[1:-1].strip()
    return text


def _tip_key(playbook_id: str, text: str) -> str:
    return f"{playbook_id}:{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def tip_body(tip: Tip) -> tuple[Segment, ...]:
    """A posted tip: the principle it comes from, then the one-liner."""
    return (bold(f"💡 Networking tip — {tip.principle}"), Segment("\n"), Segment(tip.text))


# -- the feature ------------------------------------------------------------------------------


class Community(Feature):
    """The community feature; also the scheduler's due source for kind 'tip'."""

    kind = "tip"
    prebuild = False  # `load` records the tip it picks, so only claimed jobs are built

    def __init__(
        self,
        store: Store,
        clock: Clock,
        playbooks: PlaybookSet,
        settings: CommunitySettings = CommunitySettings(),
        adapters: Mapping[str, Any] | None = None,
        rng: random.Random | None = None,
    ):
        self.store = store
        self.clock = clock
        self.playbooks = playbooks
        self.settings = settings
        self.adapters: Mapping[str, Any] = adapters if adapters is not None else {}
        self.rng = rng or random.Random()
        self.default_zone = resolve_timezone(settings.default_timezone)
        self.builtin = tuple(Tip(_tip_key(p.id, t), t, p.title) for p in playbooks for t in p.tips)
        self.playbook_ids = tuple(p.id for p in playbooks if p.tips)

    # -- registry -------------------------------------------------------------------------

    def commands(self) -> list[Command]:
        return [
            Command(
                "tips",
                "on|off|status|preview|add|remove|timezone …",
                "community admins: scheduled networking tips in a channel",
                "tips on #general time 09:00 every weekday",
                self.cmd_tips,
                admin=True,
            ),
            Command(
                "intros",
                "watch <channel> | off",
                "community admins: kind private notes on intro posts",
                "intros watch #introductions",
                self.cmd_intros,
                admin=True,
            ),
            Command("tip", "", "a networking tip you have not seen lately", "tip", self.cmd_tip),
            Command(
                "coach",
                "off | on",
                "stop (or allow) private notes about your intro posts",
                "coach off",
                self.cmd_coach,
            ),
        ]

    def actions(self) -> list[Action]:
        return []

    # -- helpers --------------------------------------------------------------------------

    _say = staticmethod(answer_privately)

    def _zone(self, c: Row) -> ZoneInfo:
        if c.timezone:
            try:
                return resolve_timezone(c.timezone)
            except WhenError:
                pass  # tzdata changed under us: fall back, don't fail
        return self.default_zone

    def _places(self, platform: str) -> Any | None:
        adapter = self.adapters.get(platform)
        return adapter if adapter is not None and hasattr(adapter, "where") else None

    async def _admin(self, req: Request, channel: str = "") -> tuple[Where, Row] | list[Reply]:
        """The community and channel, if the requester may manage them; else a refusal."""
        places = self._places(req.user.platform)
        if places is None:
            return self._say(req, f"Community features are not available on {req.user.platform}.")
        where: Where = await places.where(req, channel)
        if not where.community:
            return self._say(
                req,
                "Community settings belong to a server or group: run this command there "
                "(community admins only).",
            )
        if not where.admin:
            return self._say(
                req,
                f"Sorry, only {where.admin_rule} can change community settings. Nothing was "
                "changed. You can still use ",
                code("/tip"),
                " for a tip of your own.",
            )
        row = await self.store.ensure_community(
            req.user.platform, where.community, where.community_name, self.clock.now()
        )
        return where, row

    def _tips_for(self, c: Row, own: Sequence[tuple[int, str]]) -> list[Tip]:
        chosen = set(c.tips_playbooks)
        tips = [t for t in self.builtin if not chosen or t.key.split(":")[0] in chosen]
        return tips + [Tip(f"own:{i}", text, OWN_PRINCIPLE) for i, text in own]

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
        action, _, rest = req.text.strip().partition(" ")
        action = (req.args.get("action") or action).lower()
        if req.args.get("action"):
            rest = req.text.strip()
        channel = req.args.get("channel", "")
        if action == "on" and not channel:
            try:
                channel = parse_tips_on(rest, self.playbook_ids).channel
            except OptionError:
                channel = ""  # reported below, once the requester is known to be an admin
        gate = await self._admin(req, channel if action == "on" else "")
        if isinstance(gate, list):
            return gate
        where, row = gate
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
            options = parse_tips_on(rest, self.playbook_ids)
        except OptionError as exc:
            return self._say(req, str(exc), " Nothing was changed.")
        asked = req.args.get("channel") or options.channel
        if problem := self._channel_problem(where, asked):
            return self._say(req, problem, " Nothing was changed.")
        assert where.channel is not None
        at = req.args.get("time") or options.at or (c.tips_time if c.tips_state != "off" else None)
        try:
            at = parse_clock_text(at) if at else "09:00"
            every = options.every or (c.tips_every if c.tips_state != "off" else "day")
            if req.args.get("every"):
                every = parse_every(req.args["every"].removeprefix("every").split())
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
        await self.store.set_tips(
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
        own = (await self.store.community_tips([c.id]))[c.id]
        count = len(self._tips_for(replace_playbooks(c, playbooks), own))
        names = ", ".join(self.playbooks.title_of(p) for p in playbooks) or "every playbook"
        parts: list[Segment | str] = [
            "Tips are on in ",
            bold(where.channel_name),
            f": {describe_every(every, at)} ({tz.key}), from {names} — {count} tips, each "
            "shown once before any repeats. First tip: ",
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
            f"A slot is skipped (and /tips status says so) when fewer than {n} messages "
            "arrived since the last tip: no tips into a silent channel."
        ]

    async def _tips_off(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        if not await self.store.stop_tips(c.id, "off"):
            if c.tips_state == "stopped":
                await self.store.stop_tips(c.id, "off")
            return self._say(req, "Tips are not on in this community; nothing to switch off.")
        return self._say(
            req, "Tips are off: nothing more will be posted in ", bold(c.tips_channel_name), "."
        )

    async def _tips_status(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        tz = self._zone(c)
        own = (await self.store.community_tips([c.id]))[c.id]
        parts: list[Segment | str] = [bold("Community tips"), f" — time zone {tz.key}"]
        if c.tips_state == "off":
            parts += ["\nTips are off. Start them with ", code("/tips on #channel time 09:00")]
        else:
            state = "on" if c.tips_state == "on" else "stopped"
            parts += ["\nTips are ", bold(state), " in ", bold(c.tips_channel_name)]
            parts += [f", {describe_every(c.tips_every, c.tips_time)}."]
            jobs = await self.store.recent_jobs("tip", c.id, 10)
            pending = [j for j in jobs if j.state in ("pending", "claimed")]
            if c.tips_state == "on" and pending:
                parts += ["\nNext tip: ", bold(format_local(pending[-1].due_at, tz)), "."]
            names = ", ".join(self.playbooks.title_of(p) for p in c.tips_playbooks)
            parts += [f"\nPlaybooks: {names or 'all'}"]
            tips = self._tips_for(c, own)
            rotation = (await self.store.rotations([(c.platform, c.tips_channel or "")]))[
                (c.platform, c.tips_channel or "")
            ]
            shown = len([k for k in rotation[0][: rotation[1]] if k in {t.key for t in tips}])
            parts += [f" — {len(tips)} tips; {shown} shown in this round."]
            parts += ["\nActivity: "]
            n = self.settings.min_messages_between_tips
            if not c.tips_counted:
                parts += ["not counted (I can't see ordinary posts there); tips post on schedule."]
            elif n <= 0:
                parts += ["not required."]
            else:
                parts += [f"{c.tips_messages} of {n} messages since the last tip"]
                parts += [
                    " — the next tip will be posted."
                    if c.tips_messages >= n
                    else f" — the next slot is skipped unless {n - c.tips_messages} more arrive."
                ]
            posted = [j for j in jobs if j.state == "sent"]
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
        own = (await self.store.community_tips([c.id]))[c.id]
        tips = self._tips_for(c, own)
        if not tips:
            return self._say(req, 'There are no tips to show: add one with /tips add "…".')
        channel = c.tips_channel or (where.channel.id if where.channel else "")
        cycle, position = (await self.store.rotations([(c.platform, channel)]))[
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
        text = strip_quotes(req.args.get("tip") or rest)
        if not text:
            example = code('/tips add "Ask before you pitch."')
            return self._say(req, "What is the tip? e.g. ", example)
        if _MENTION.search(text):
            return self._say(
                req,
                "Tips can't contain mentions (@someone, @everyone, a role or channel link): a "
                "daily tip must never ping anyone. Nothing was added.",
            )
        places = self._places(req.user.platform)
        limit = int(getattr(places, "max_text_len", 2000)) - 80  # room for the heading
        if len(text) > limit:
            return self._say(
                req,
                f"That tip is {len(text)} characters; on {req.user.platform} a tip can be at "
                f"most {limit}. Nothing was added — a tip works best as one short line.",
            )
        own = (await self.store.community_tips([c.id]))[c.id]
        if len(own) >= MAX_OWN_TIPS:
            return self._say(req, f"This community already has {MAX_OWN_TIPS} tips of its own.")
        tip_id = await self.store.add_community_tip(c.id, " ".join(text.split()), self.clock.now())
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
        m = _ID.match(req.args.get("id") or rest)
        if m is None:
            return self._say(req, "Which tip? Give its id, e.g. ", code("/tips remove 3"), ".")
        removed = await self.store.remove_community_tip(c.id, int(m[1]))
        if removed is None:
            return self._say(
                req,
                f"This community has no tip #{m[1]}. ",
                code("/tips status"),
                " lists its own tips.",
            )
        return self._say(req, f"Removed tip #{m[1]}: ", italic(_short(removed)))

    async def _tips_timezone(self, req: Request, where: Where, c: Row, rest: str) -> list[Reply]:
        name = req.args.get("zone") or rest
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
        await self.store.set_community_timezone(c.id, tz.key)
        parts: list[Segment | str] = [f"Community time zone set to {tz.key}."]
        if c.tips_state == "on" and c.tips_channel:
            now = self.clock.now()
            anchor = (c.tips_since or now).astimezone(tz).date()
            first = next_slot(now, c.tips_time, c.tips_every, anchor, tz)
            await self.store.set_tips(
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
        action, _, rest = req.text.strip().partition(" ")
        action = (req.args.get("action") or action).lower()
        channel = req.args.get("channel") or rest.strip()
        gate = await self._admin(req, channel if action == "watch" else "")
        if isinstance(gate, list):
            return gate
        where, c = gate
        if action == "off":
            if not c.intros_channel:
                return self._say(req, "Intro coaching is not on in this community.")
            await self.store.set_intros(c.id, None)
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
        await self.store.set_intros(c.id, where.channel.id, where.channel_name)
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
        user = await self.store.ensure_user(req.user, self.clock.now())
        tips = list(self.builtin)
        if not tips:
            return self._say(req, "I have no tips loaded.")
        recent = set(await self.store.tips_seen(user.id, min(RECENT_ON_DEMAND, len(tips) // 2)))
        fresh = [t for t in tips if t.key not in recent] or tips
        tip = self.rng.choice(fresh)
        await self.store.saw_tip(user.id, tip.key, self.clock.now())
        return [Reply(req.place, tip_body(tip), private=True, kind="tip")]

    async def cmd_coach(self, req: Request) -> list[Reply]:
        setting = (req.args.get("setting") or req.text).strip().lower()
        user = await self.store.ensure_user(req.user, self.clock.now())
        if setting in ("off", "stop", "no"):
            await self.store.set_coach_optout(user.id, True, self.clock.now())
            return self._say(
                req,
                "Done: I won't send you notes about your intro posts in any community. ",
                code("/coach on"),
                " allows them again.",
            )
        if setting in ("on", "start", "yes"):
            await self.store.set_coach_optout(user.id, False, self.clock.now())
            return self._say(req, "Notes about your intro posts are on again. Thanks!")
        off = await self.store.coach_opted_out(user.id)
        return self._say(
            req,
            "Notes about your intro posts are ",
            bold("off" if off else "on"),
            ". Change with ",
            code("/coach on" if off else "/coach off"),
            ".",
        )

    # -- group messages: activity and intros ---------------------------------------------------

    async def observe(self, req: Request) -> list[Reply]:
        """A post in a group: counts towards the tips channel's activity; in a watched intro
        channel, a post that needs work earns its author a private note."""
        if not req.text.strip():
            return []
        found = await self.store.communities_at(req.place.platform, req.place.id)
        if not found:
            return []
        if any(c.tips_state == "on" and c.tips_channel == req.place.id for c in found):
            await self.store.count_message(req.place.platform, req.place.id)
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
        known = await self.store.find_user(req.user)
        if known is not None and await self.store.coach_opted_out(known.id):
            return []
        user = known or await self.store.ensure_user(req.user, now)
        every = timedelta(days=self.settings.intro_note_every_days)
        if not await self.store.note_intro(user.id, c.id, now, every):
            return []
        suggestions: list[str] = []
        for finding in result.findings:
            if finding.suggestion and finding.suggestion not in suggestions:
                suggestions.append(finding.suggestion)
        name = req.user.name or "there"
        where = c.intros_channel_name or "the introductions channel"
        parts: list[Segment | str] = [
            f"Hi {name}! I'm netcoach, the networking coach in {c.name or 'your community'}. "
            f"Thanks for introducing yourself in {where}. Two ideas that usually bring more "
            "replies to an intro:"
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

    # -- due source -------------------------------------------------------------------------

    async def load(self, dues: Sequence[Due], now: datetime) -> dict[int, Outgoing | None]:
        """Decide each claimed slot: post (recording the chosen tip first) or skip, saying why."""
        communities = await self.store.communities_by_ids(d.job.ref_id for d in dues)
        own = await self.store.community_tips(communities)
        rotations = await self.store.rotations(
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
        c: Row | None,
        own: Mapping[int, Sequence[tuple[int, str]]],
        rotations: Mapping[tuple[str, str], Any],
        now: datetime,
    ) -> Outgoing | None:
        job = due.job
        if c is None or c.tips_state != "on" or not c.tips_channel:
            return None  # switched off since it was queued
        tz = self._zone(c)
        place = PlaceRef(c.platform, c.tips_channel, "group")
        anchor = (c.tips_since or job.due_at).astimezone(tz).date()
        next_due = next_slot(max(now, job.due_at), c.tips_time, c.tips_every, anchor, tz)
        slot = format_local(job.due_at, tz)
        tips = self._tips_for(c, own.get(c.id, ()))

        async def skip(reason: str) -> Outgoing:
            await self.store.set_tips_note(c.id, f"Skipped the tip due {slot}: {reason}.")
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
            n = self.settings.min_messages_between_tips
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
            await self.store.take_tip(
                c.id, job.id, key, (c.platform, c.tips_channel), cycle, position
            )
            note = None
            if due.late is not None:
                missed = _slots_between(job.due_at, now, c, anchor, tz)
                note = f"The tip due {slot} was posted late: netcoach was offline."
                if missed:
                    note += f" {missed} later slot(s) passed while it was down."
            await self.store.set_tips_note(c.id, note)
        return Outgoing(
            place, Reply(place, tip_body(tip), kind="tip"), next_due, job.occurrence + 1
        )

    async def undeliverable(self, job: Job, reason: str) -> None:
        """The bot can no longer post there (removed, or lost a permission): stop the
        schedule instead of failing every day, and tell admins in /tips status."""
        found = (await self.store.communities_by_ids([job.ref_id])).get(job.ref_id)
        if found is None:
            return
        await self.store.stop_tips(
            found.id,
            "stopped",
            f"Tips stopped: I could not post in {found.tips_channel_name} ({reason}). "
            "Fix that, then run /tips on again.",
        )


def replace_playbooks(c: Row, playbooks: Sequence[str]) -> Row:
    return replace(c, tips_playbooks=tuple(playbooks))


def _slots_between(start: datetime, end: datetime, c: Row, anchor: date, tz: ZoneInfo) -> int:
    count, at = 0, start
    while count < 100:
        at = next_slot(at, c.tips_time, c.tips_every, anchor, tz)
        if at > end:
            return count
        count += 1
    return count


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
