"""Follow-ups and keep-in-touch cadences: the commands, their grammar, the nudge buttons.

The nudge itself is built in nudge.py and sent by the due source in due.py.

Usage (the same on every platform):
    /followup Maria in 3 days send her the testing notes
    /keepintouch Tom every 2 weeks
    /followups               /done 12      /snooze 12 2.5 hours     /cancel 12
    /contacted Tom had coffee               /contacts      /contact Tom
    /contact Tom bond we both ran the Berlin marathon
    /timezone Europe/London

Every reply here is about personal data, so every reply is private. Ids are only ever
resolved within the asking user's own rows: someone else's id reads as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from netcoach.bot.clock import Clock
from netcoach.bot.features.drafts import clean_draft, short_reply
from netcoach.bot.kernel import (
    Action,
    Command,
    Feature,
    Param,
    ParamValue,
    Reply,
    Request,
    Segment,
    UserError,
    UserRef,
    answer_privately,
    bold,
    choices,
    code,
    italic,
)
from netcoach.bot.review import PlaybookSet
from netcoach.bot.storage import User, Users
from netcoach.bot.timeparse import (
    QUOTED_NAME,
    WhenError,
    describe_delta,
    format_local,
    matching_zones,
    never_a_name,
    occurrence,
    on_weekday,
    parse_cadence,
    parse_duration,
    parse_when,
    resolve_timezone,
    split_when,
    zone_or,
)

from .due import Nudges
from .model import Contact, FollowUp, named, names_part_of, same_name
from .nudge import note_opener, sendable
from .repository import FollowUpRepository

MAX_NOTE = 500
MAX_NAME = 80
MAX_LIST = 50
_CADENCE_TAIL = re.compile(
    r"^(?P<who>.+?)[\s,:]+(?P<cadence>(?:every|once)\b.*|daily|weekly|fortnightly|biweekly|monthly"
    r"|quarterly|yearly|annually)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CADENCE_HEAD = re.compile(
    r"(?:every|once|daily|weekly|fortnightly|biweekly|monthly|quarterly|yearly|annually)\b",
    re.IGNORECASE,
)
_ID = re.compile(r"^#?(\d{1,12})$")
_SNOOZE = {"1d": timedelta(days=1), "1w": timedelta(weeks=1)}
_EDITS = ("who", "note", "when")
_EDITABLE = {"person": "who", "name": "who", "contact": "who", "notes": "note", "time": "when"}


@dataclass(frozen=True, slots=True)
class Settings:
    default_timezone: str = "UTC"
    default_time: time = time(9, 0)
    max_note: int = MAX_NOTE


async def suggest_zones(user: UserRef, typed: str) -> list[tuple[str, str]]:
    return [(zone, zone) for zone in matching_zones(typed)]


async def keepintouch_grammar(req: Request) -> dict[str, ParamValue]:
    """ "Tom every 2 weeks", "Tom Baker, monthly", or the cadence first, "every month Pat":
    with no note to tell apart, either order reads the same."""
    if len(req.text) > MAX_NAME + 60:  # a name and a cadence are short; and the pattern
        raise UserError(  # below is slow on long runs of separators
            "That is too long for a name and a cadence, e.g. ",
            code("/keepintouch Tom every 2 weeks"),
            ". Nothing was saved.",
        )
    m = _CADENCE_TAIL.match(req.text.strip())
    found = (
        _cadence_first(req.text.strip()) if m is None else {"who": m["who"], "every": m["cadence"]}
    )
    if found and _is_cadence(str(found["who"])):
        return {}  # "every month every month" names nobody
    return found


def _is_cadence(text: str) -> bool:
    try:
        parse_cadence(text)
    except WhenError:
        return False
    return True


def _cadence_first(text: str) -> dict[str, ParamValue]:
    """ "every month Pat": the longest run of leading words that is a cadence, then who
    (never empty: "every month" alone names nobody)."""
    if not _CADENCE_HEAD.match(text):
        return {}
    words = text.split()
    for n in range(min(len(words) - 1, 6), 0, -1):
        cadence = " ".join(words[:n]).rstrip(",:")
        if _is_cadence(cadence):
            return {"who": " ".join(words[n:]).lstrip(",:-–—").strip(), "every": cadence}
    return {}


ZONE_PARAM = Param("zone", "Area/City, e.g. Europe/Lisbon (type to search)", complete=suggest_zones)


def _name_goes_on(word: str) -> bool:
    """A capitalised word after a name is more of it ("Ana Lopez"); "I" starts a note."""
    return word[:1].isupper() and not re.match(r"I\b", word)


def _name(text: str) -> str:
    """Collapse whitespace, control and invisible characters so a name or a note prints
    on one line (a note of zero-width spaces is no note)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


class FollowUps(Feature):
    """The follow-up feature; `due` is the scheduler's source for its nudges."""

    def __init__(
        self,
        repo: FollowUpRepository,
        users: Users,
        clock: Clock,
        playbooks: PlaybookSet | None = None,
        settings: Settings = Settings(),
    ):
        self.repo = repo
        self.users = users
        self.clock = clock
        self.playbooks = playbooks
        self.settings = settings
        self.default_zone = resolve_timezone(settings.default_timezone)
        self.due = Nudges(repo, users, playbooks, self.default_zone)

    # -- registry -----------------------------------------------------------------------

    def commands(self) -> list[Command]:
        which = Param(
            "followup",
            "the follow-up (type to search yours)",
            required=True,
            complete=self.matching,
        )
        return [
            Command(
                "followup",
                "<who> <when> [note]",
                "remind me to follow up with someone",
                "followup Maria in 3 days send her the testing notes",
                self.cmd_followup,
                params=(
                    Param("when", "e.g. in 3 days, next friday 10am, 2026-12-01", required=True),
                    Param("who", "a name, if they are not a member here"),
                    Param("member", "a member of this server", kind="member"),
                    Param("note", "what to follow up about"),
                ),
                grammar=self.followup_grammar,
            ),
            Command(
                "keepintouch",
                "<who> every <N days|weeks|months, or a weekday> (either order)",
                "a recurring reminder; logging a contact restarts it",
                "keepintouch Tom every 2 weeks",
                self.cmd_keepintouch,
                params=(
                    Param("who", "whom to keep in touch with", required=True),
                    Param("every", "e.g. every 2 weeks, monthly, every monday", required=True),
                ),
                grammar=keepintouch_grammar,
            ),
            Command(
                "followups",
                "",
                "overdue, losing touch, then upcoming, with ids",
                "followups",
                self.cmd_followups,
            ),
            Command(
                "done",
                "<id>",
                "mark a follow-up done (logs a contact)",
                "done 12",
                self.cmd_done,
                params=(which,),
            ),
            Command(
                "snooze",
                "<id> <when>",
                "push a follow-up back (2 days) or set when it is due (friday 9am)",
                "snooze 12 2.5 hours",
                self.cmd_snooze,
                params=(
                    which,
                    Param(
                        "when",
                        "2 days pushes it back; friday 9am or in 2 hours sets it",
                        required=True,
                    ),
                ),
            ),
            Command(
                "cancel", "<id>", "drop a follow-up", "cancel 12", self.cmd_cancel, params=(which,)
            ),
            Command(
                "edit",
                "<id> who|note|when <value>",
                "change the person, the note or the time of a follow-up",
                "edit 12 note bring the slides",
                self.cmd_edit,
                params=(
                    which,
                    Param("what", "what to change", required=True, choices=choices(*_EDITS)),
                    Param("value", "the new person, note or time (an empty note removes it)"),
                ),
                grammar=self.edit_grammar,
            ),
            Command(
                "contacted",
                "<who> [note]",
                "log that you were in touch (adds someone new); restarts keep-in-touch",
                "contacted Tom had coffee, he's hiring",
                self.cmd_contacted,
                params=(
                    Param("who", "whom you were in touch with", required=True),
                    Param("note", "what happened"),
                ),
                grammar=self.contacted_grammar,
            ),
            Command("contacts", "", "the people you follow up with", "contacts", self.cmd_contacts),
            Command(
                "contact",
                "<who> [note <text> | bond <text>]",
                "notes, shared bonds and history for one person",
                "contact Tom bond we both ran the Berlin marathon",
                self.cmd_contact,
                params=(
                    Param("who", "the person", required=True),
                    Param("note", "save notes about them"),
                    Param("bond", "add something you share"),
                ),
                grammar=self.contact_grammar,
            ),
            Command(
                "timezone",
                "<Area/City>",
                "the time zone your reminders use",
                "timezone Europe/London",
                self.cmd_timezone,
                params=(ZONE_PARAM,),
            ),
        ]

    def actions(self) -> list[Action]:
        return [
            Action("done", self.press_done),
            Action("snz", self.press_snooze),
            Action("draft", self.press_draft),
        ]

    # -- helpers ------------------------------------------------------------------------

    def _zone(self, user: User) -> ZoneInfo:
        return zone_or(user.timezone, self.default_zone)

    def _anchor_today(self, tz: ZoneInfo, now: datetime) -> datetime:
        """Today at the default time: cadences count from the day, not the minute."""
        local = now.astimezone(tz)
        return datetime.combine(local.date(), self.settings.default_time, tzinfo=tz)

    async def _user(self, req: Request) -> User:
        return await self.users.ensure(req.user, self.clock.now())

    _say = staticmethod(answer_privately)

    def _check_note(self, note: str) -> str | None:
        if len(note) > self.settings.max_note:
            return (
                f"That note is {len(note)} characters; notes can be at most "
                f"{self.settings.max_note}. Nothing was saved — please shorten it."
            )
        return None

    @staticmethod
    def _check_name(who: str) -> str | None:
        if not who:
            return "Please say who to follow up with, e.g. /followup Maria in 3 days."
        if len(who) > MAX_NAME:
            return f"That name is longer than {MAX_NAME} characters. Nothing was saved."
        return None

    async def _owned(self, req: Request, raw: str) -> tuple[User, FollowUp]:
        """The asker's open follow-up with that id; a UserError for anyone else's."""
        user = await self._user(req)
        m = _ID.match(raw.strip())
        if not m:
            example = _ID_EXAMPLES.get(req.command, "/done 12")
            raise UserError(
                "Which one? Give its id (a number), e.g. ", code(example), f". {_LIST_HINT}"
            )
        found = await self.repo.get(user.id, int(m.group(1)))
        if found is None or found.status != "active":
            raise UserError(f"I have no open follow-up #{m.group(1)} for you. {_LIST_HINT}")
        return user, found

    async def _find_contact(self, user: User | None, text: str) -> tuple[Contact | None, str, str]:
        """The longest run of leading words naming a known contact, and the rest; a name
        typed short ("Jean-Luc" for "Dr. Jean-Luc O'Neil") when it names only one. A
        quoted name is taken whole. Someone new is the first word and the capitalised
        words after it ("Ana Lopez lunch"): a known "Maria Lopez" is not "Maria Garcia"."""
        if quoted := QUOTED_NAME.match(text):
            who, rest = _name(quoted["who"]), _name(quoted["rest"])
            contact = None if user is None else await self.repo.find_contact(user.id, who)
            return contact, contact.name if contact else who, rest
        words = text.split()
        if user is not None:
            names = await self.repo.contact_names(user.id)  # read once, matched in memory
            for n in range(min(len(words), 6), 0, -1):
                found = named(names, " ".join(words[:n]))
                if found is not None and (contact := await self.repo.contact(user.id, found)):
                    return contact, contact.name, " ".join(words[n:])
            for n in range(min(len(words), 6), 0, -1):
                if n < len(words) and _name_goes_on(words[n]):
                    continue  # "Maria" of "Maria Garcia" is not the known Maria Lopez
                contact = await self._contact_named(user, " ".join(words[:n]), names)
                if contact is not None:
                    return contact, contact.name, " ".join(words[n:])
        n = 1
        while n < min(len(words), 4) and _name_goes_on(words[n]):
            n += 1
        return None, " ".join(words[:n]), " ".join(words[n:])

    async def _contact_named(
        self, user: User, who: str, names: list[tuple[int, str]] | None = None
    ) -> Contact | None:
        """The contact called `who`, or the only one whose name contains it; a UserError
        when it could be several. `names` spares reading the contacts' names again."""
        contact, like = await self.repo.contact_called(user.id, who, names)
        if contact is None and len(like) > 1:
            *others, last = [c.name for c in like]
            raise UserError(
                f"“{who}” could be {', '.join(others)} or {last}. "
                "Say which with more of the name. Nothing was changed."
            )
        return contact

    async def matching(self, user: UserRef, typed: str, limit: int = 25) -> list[tuple[str, str]]:
        """(label, id) of the user's open follow-ups whose id, name or note contains
        `typed`: for autocomplete, read-only (it must not hand over parked nudges)."""
        found = await self.users.find(user)
        if found is None:
            return []
        typed = typed.strip().lstrip("#").lower()
        out = []
        for f in await self.repo.of_user(found.id):
            label = f"#{f.id} {f.contact_name}"
            if f.cadence:
                label += f" ({f.cadence})"
            if f.note:
                label += f" — {f.note}"
            if typed in label.lower():
                out.append((label, str(f.id)))
        return out[:limit]

    # -- commands -----------------------------------------------------------------------

    async def followup_grammar(self, req: Request) -> dict[str, ParamValue]:
        """ "Maria in 3 days send her the notes": who, then when, then a note."""
        user = await self.users.find(req.user)
        tz = self._zone(user) if user is not None else self.default_zone
        try:
            parsed = split_when(req.text, self.clock.now(), tz, self.settings.default_time)
        except WhenError as exc:
            raise UserError(str(exc), " Nothing was saved.") from None
        return {"who": parsed.who, "when": parsed.when_text, "note": parsed.note}

    async def cmd_followup(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        tz, now = self._zone(user), self.clock.now()
        member = req.member("member")
        who = _name(member.name if member is not None else req.arg("who"))
        when_text, note = req.arg("when"), _name(req.arg("note"))
        if not who and not when_text:
            return self._say(
                req,
                "Tell me who and when, e.g. ",
                code("/followup Maria in 3 days send her the testing notes"),
                ".",
            )
        if problem := self._check_name(who):
            return self._say(req, problem)
        try:
            when = parse_when(when_text, now, tz, self.settings.default_time)
        except WhenError as exc:
            return self._say(req, str(exc), " Nothing was saved.")
        if problem := self._check_name(who) or self._check_note(note):
            return self._say(req, problem)
        if same := await self._same_time(user, who, when):
            return self._say(
                req,
                "You already have ",
                code(f"#{same.id}"),
                f" to follow up with {same.contact_name} at that same time, ",
                bold(format_local(when, tz)),
                (f", about “{_short(same.note)}”" if same.note else ""),
                ". Nothing new was saved; ",
                code(f"/edit {same.id} note …"),
                " changes its note.",
            )
        followup = await self.repo.add(user.id, who, note, when, now)
        self._prepare_opener(note)
        parts: list[Segment | str] = [
            "Got it. I'll remind you to follow up with ",
            bold(followup.contact_name),  # as saved: "eve-smith" is the Eve Smith known
            f" “{when_text}”: ",  # what was read as the time, then what it means
            bold(format_local(when, tz)),
            f", in {describe_delta(when - now)}.",
        ]
        if note:
            parts += ["\nNote: ", italic(note)]
        parts += ["\nId ", code(f"#{followup.id}"), " — ", code(f"/snooze {followup.id} <when>")]
        parts += [" or ", code(f"/cancel {followup.id}"), " to change it."]
        return self._say(req, *parts)

    def _prepare_opener(self, note: str) -> None:
        """Review the note's opener now, while the user waits a moment anyway, so a burst
        of nudges later finds it reviewed."""
        if (template := note_opener(note, "{name}")) is not None:
            sendable(template, self.playbooks)

    async def _same_time(self, user: User, who: str, when: datetime) -> FollowUp | None:
        """An open one-off follow-up with the same person at the same moment."""
        contact = await self.repo.find_contact(user.id, who)
        if contact is None:
            return None
        for f in await self.repo.of_user(user.id, contact_id=contact.id):
            if not f.cadence and f.due_at == when:
                return f
        return None

    async def cmd_edit(self, req: Request) -> list[Reply]:
        """ "/edit 12 who Maria Lopez", "/edit 12 note bring the slides", "/edit 12 when
        friday": change one thing about an open follow-up."""
        user, f = await self._owned(req, req.arg("followup"))
        what, value = req.arg("what").lower(), _name(req.arg("value"))
        what = _EDITABLE.get(what, what)
        if what not in ("who", "note", "when") or (what != "note" and not value):
            return self._say(
                req,
                "Change who, the note or when, e.g. ",
                code(f"/edit {f.id} who Maria Lopez"),
                ", ",
                code(f"/edit {f.id} note bring the slides"),
                " or ",
                code(f"/edit {f.id} when friday 10am"),
                ". Nothing was changed.",
            )
        tz, now = self._zone(user), self.clock.now()
        if what == "when":
            if f.cadence:
                return self._say(
                    req,
                    f"#{f.id} keeps in touch {f.cadence}; ",
                    code(f"/snooze {f.id} <when>"),
                    " moves its next nudge. Nothing was changed.",
                )
            try:
                when = parse_when(value, now, tz, self.settings.default_time)
            except WhenError as exc:
                return self._say(req, str(exc), " Nothing was changed.")
            return await self._snooze(req, user, f, when, tz, now, said="Moved")
        if what == "note":
            if problem := self._check_note(value):
                return self._say(req, problem)
            await self.repo.set_note(user.id, f.id, value)
            self._prepare_opener(value)
            if not value:
                return self._say(req, "Removed the note of ", code(f"#{f.id}"), ".")
            return self._say(req, "The note of ", code(f"#{f.id}"), " is now ", italic(value), ".")
        return await self._edit_who(req, user, f, value, tz, now)

    async def _edit_who(
        self, req: Request, user: User, f: FollowUp, value: str, tz: ZoneInfo, now: datetime
    ) -> list[Reply]:
        """Another person for one follow-up; the reply says where the old name's history
        went, since /contacts lists the old name only while something refers to it."""
        if problem := self._check_name(value):
            return self._say(req, problem)
        if never_a_name(value, now, tz, self.settings.default_time):
            return self._reads_as_time(req, f, value)
        target = await self._edit_target(user, f, value)
        if target is not None and target.id == f.contact_id:
            return self._say(
                req, code(f"#{f.id}"), f" is already about {target.name}. Nothing was changed."
            )
        if f.cadence and target is not None:
            for other in await self.repo.of_user(user.id, contact_id=target.id):
                if other.cadence and other.id != f.id:
                    return self._say(
                        req,
                        f"You already keep in touch with {target.name} {other.cadence} (",
                        code(f"#{other.id}"),
                        "). Nothing was changed.",
                    )
        name, history = await self._rename(user, f, target, value, now)
        return self._say(
            req,
            code(f"#{f.id}"),
            f" is now about {name} (was {f.contact_name}), ",
            bold(format_local(f.due_at, tz)),
            f".{history}",
        )

    def _reads_as_time(self, req: Request, f: FollowUp, value: str) -> list[Reply]:
        """ "/edit 12 who next friday" meant when: nobody is called that, so say which
        command changes the time rather than save a contact named "next friday"."""
        if f.cadence:
            return self._say(
                req,
                "That reads as a time: ",
                code(f"/snooze {f.id} {value}"),
                " moves its next nudge. Nothing was changed.",
            )
        return self._say(
            req,
            "That reads as a time: ",
            code(f"/edit {f.id} when {value}"),
            " changes when. Nothing was changed.",
        )

    async def _edit_target(self, user: User, f: FollowUp, value: str) -> Contact | None:
        """The known contact a new name means, read as /contacted reads it: the name, its
        words, or a part that fits only one contact (a UserError naming them when several
        do). A part of this reminder's own contact's name ("Eve" of "Eve Smith") is a
        shorter form to rename it to, not a match."""
        found = await self._contact_named(user, value)
        if found is not None and found.id == f.contact_id and names_part_of(value, found.name):
            return None
        return found

    async def _rename(
        self, user: User, f: FollowUp, target: Contact | None, value: str, now: datetime
    ) -> tuple[str, str]:
        """(the new name as stored, a sentence on the old name's history, if any).

        A fuller or shorter form of the same name ("Eve" -> "Eve Smith") is a correction:
        the contact is renamed, or merged into the "Eve Smith" already known, with what
        was logged for them, unless another open reminder still names them (maybe two
        Eves). Any other change moves only this reminder: the old contact is dropped when
        nothing else refers to it, and kept (and listed) with its history otherwise, never
        merged into someone else's ("Tom's wife" is not Tom)."""
        old = await self.repo.contact(user.id, f.contact_id)
        others = await self.repo.of_user(user.id, contact_id=f.contact_id, active_only=False)
        others = [o for o in others if o.id != f.id]
        still_open = any(o.status == "active" for o in others)
        logged = old is not None and (old.has_history or bool(others))
        if not still_open and same_name(f.contact_name, target.name if target else value):
            if target is None:
                name = await self.repo.rename_contact(user.id, f.contact_id, value)
            else:
                name = await self.repo.merge_contact(user.id, f.contact_id, target.id)
            return (
                name,
                f" What you logged for {f.contact_name} is now under {name}." if logged else "",
            )
        name = await self.repo.move_to(user.id, f.id, target.name if target else value, now)
        if logged and not still_open:
            return name, f" {f.contact_name} stays in /contacts with what you logged for them."
        return name, ""

    async def edit_grammar(self, req: Request) -> dict[str, ParamValue]:
        """ "12 note bring the slides": the id, what to change, the new value."""
        raw_id, _, rest = req.text.strip().partition(" ")
        what, _, value = rest.strip().partition(" ")
        return {"followup": raw_id, "what": what, "value": value.strip()}

    async def cmd_keepintouch(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        tz, now = self._zone(user), self.clock.now()
        who, cadence_text = req.arg("who"), req.arg("every")
        if not who or not cadence_text:
            return self._say(
                req,
                "Tell me who and how often, e.g. ",
                code("/keepintouch Tom every 2 weeks"),
                ". Nothing was saved.",
            )
        who = _name(who)
        if problem := self._check_name(who):
            return self._say(req, problem)
        try:
            cadence = parse_cadence(cadence_text)
        except WhenError as exc:
            return self._say(req, str(exc), " Nothing was saved.")
        replaced = ""
        contact = await self.repo.find_contact(user.id, who)
        if contact is not None:
            for old in await self.repo.of_user(user.id, contact_id=contact.id):
                if old.cadence:
                    await self.repo.close(user.id, old.id, "cancelled", now)
                    replaced = f" (this replaces keeping in touch {old.cadence}, #{old.id})"
        anchor = on_weekday(self._anchor_today(tz, now), cadence, first=True)
        first = occurrence(anchor, cadence, 1)
        followup = await self.repo.add(
            user.id,
            contact.name if contact else who,
            "",
            first,
            now,
            cadence=cadence.describe(),
            anchor=anchor,
            occurrence=1,
        )
        return self._say(
            req,
            "Got it. I'll nudge you to keep in touch with ",
            bold(followup.contact_name),
            f" {cadence.describe()}{replaced}. First nudge: ",
            bold(format_local(first, tz)),
            ". Logging a contact (",
            code(f"/contacted {followup.contact_name}"),
            " or Done) restarts the count from that day. Id ",
            code(f"#{followup.id}"),
            ".",
        )

    async def cmd_followups(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        tz, now = self._zone(user), self.clock.now()
        items = await self.repo.of_user(user.id)
        if not items:
            return self._say(
                req,
                "No open follow-ups. Add one with ",
                code("/followup Maria in 3 days"),
                ".",
            )
        overdue = [f for f in items if not f.cadence and f.due_at <= now]
        losing = [f for f in items if f.cadence and f.due_at <= now]
        upcoming = [f for f in items if f.due_at > now]
        parts: list[Segment | str] = []
        shown = 0
        for title, group in (
            ("Overdue", overdue),
            ("Losing touch", losing),
            ("Upcoming", upcoming),
        ):
            if not group:
                continue
            parts += ["\n\n" if parts else "", bold(title)]
            for f in group:
                if shown >= MAX_LIST:
                    break
                shown += 1
                parts += ["\n", code(f"#{f.id}"), f" {f.contact_name} — "]
                if f.cadence and f.due_at <= now:
                    parts += [f"{f.cadence}; no contact for {describe_delta(now - _since(f))}"]
                elif f.due_at <= now:
                    parts += [f"was due {format_local(f.due_at, tz)}"]
                else:
                    parts += [format_local(f.due_at, tz)]
                    if f.cadence:
                        parts += [f" ({f.cadence})"]
                if f.note:
                    parts += [" — ", italic(_short(f.note))]
        if len(items) > shown:
            parts += [f"\n…and {len(items) - shown} more."]
        return self._say(req, *parts)

    async def cmd_done(self, req: Request) -> list[Reply]:
        return await self._done(req, *await self._owned(req, req.arg("followup")))

    async def _done(self, req: Request, user: User, f: FollowUp) -> list[Reply]:
        tz, now = self._zone(user), self.clock.now()
        await self.repo.log_contact(user.id, f.contact_id, now, f.note, "done")
        if not f.cadence:
            await self.repo.close(user.id, f.id, "done", now)
            restarted = await self._restart_cadences(user, f.contact_id, tz, now)
            return self._say(
                req,
                "Marked ",
                code(f"#{f.id}"),
                f" done — nice work following up with {f.contact_name}.",
                restarted,
            )
        restarted = await self._restart_cadences(user, f.contact_id, tz, now)
        return self._say(req, f"Logged contact with {f.contact_name}.", restarted)

    async def _restart_cadences(
        self, user: User, contact_id: int, tz: ZoneInfo, now: datetime
    ) -> str:
        """Every keep-in-touch for this contact counts again from today."""
        notes = []
        for f in await self.repo.of_user(user.id, contact_id=contact_id):
            if not f.cadence:
                continue
            cadence = parse_cadence(f.cadence)
            anchor = on_weekday(self._anchor_today(tz, now), cadence, first=False)
            nxt = occurrence(anchor, cadence, 1)
            await self.repo.reschedule(user.id, f.id, nxt, anchor=anchor, occurrence=1)
            notes.append(f" Keeping in touch {f.cadence}: next nudge {format_local(nxt, tz)}.")
        return "".join(notes)

    async def cmd_snooze(self, req: Request) -> list[Reply]:
        raw_id, when_text = req.arg("followup"), req.arg("when")
        user, f = await self._owned(req, raw_id)
        tz, now = self._zone(user), self.clock.now()
        when_text = when_text.strip()
        if not when_text:
            return self._say(
                req, "Until when? e.g. ", code(f"/snooze {f.id} 2 days"), ". Nothing was changed."
            )
        duration = parse_duration(when_text)
        try:
            # "snooze 12 2 days" pushes a reminder back: from its due time when that is
            # still ahead, from now when it has come (never earlier than it was).
            when = (
                max(now, f.due_at) + duration
                if duration
                else parse_when(when_text, now, tz, self.settings.default_time)
            )
        except WhenError as exc:
            return self._say(req, str(exc), " Nothing was changed.")
        return await self._snooze(req, user, f, when, tz, now)

    async def _snooze(
        self,
        req: Request,
        user: User,
        f: FollowUp,
        when: datetime,
        tz: ZoneInfo,
        now: datetime,
        said: str = "Snoozed",
    ) -> list[Reply]:
        await self.repo.reschedule(user.id, f.id, when)
        return self._say(
            req,
            f"{said} — I'll remind you about {f.contact_name} on ",
            bold(format_local(when, tz)),
            f" (in {describe_delta(when - now)}). ",
            code(f"#{f.id}"),
        )

    async def cmd_cancel(self, req: Request) -> list[Reply]:
        user, f = await self._owned(req, req.arg("followup"))
        await self.repo.close(user.id, f.id, "cancelled", self.clock.now())
        what = (
            f"keeping in touch with {f.contact_name}"
            if f.cadence
            else f"following up with {f.contact_name}"
        )
        return self._say(req, "Cancelled ", code(f"#{f.id}"), f" ({what}).")

    async def contacted_grammar(self, req: Request) -> dict[str, ParamValue]:
        """ "Tom Baker had coffee": the longest run of words naming a contact, then a note."""
        user = await self.users.find(req.user)
        _, who, note = await self._find_contact(user, _name(req.text))
        return {"who": who, "note": note}

    async def contact_grammar(self, req: Request) -> dict[str, ParamValue]:
        """ "Tom", "Tom note met at PyCon", "Tom bond we both row"."""
        text = _name(req.text)
        user = await self.users.find(req.user)
        contact, who, rest = await self._find_contact(user, text)
        verb, _, value = rest.partition(" ")
        if verb.lower() in ("note", "notes", "bond") and value.strip():
            return {"who": who, ("bond" if verb.lower() == "bond" else "note"): value.strip()}
        return {"who": contact.name if contact is not None else text}

    async def cmd_contacted(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        tz, now = self._zone(user), self.clock.now()
        who, note = _name(req.arg("who")), _name(req.arg("note"))
        if not who:
            return self._say(
                req, "Who were you in touch with? e.g. ", code("/contacted Tom had coffee"), "."
            )
        contact = await self._contact_named(user, who)
        if problem := self._check_name(who) or self._check_note(note):
            return self._say(req, problem)
        new = contact is None
        if contact is None:  # people met are logged too; the reply says they are new
            contact = await self.repo.ensure_contact(user.id, who, now)
        await self.repo.log_contact(user.id, contact.id, now, note, "contacted")
        restarted = await self._restart_cadences(user, contact.id, tz, now)
        said: list[Segment | str] = ["Logged: in touch with ", bold(contact.name), " today."]
        if new:  # a typo of someone known would otherwise pass unseen
            said += [
                " New contact: ",
                code(f"/followup {contact.name} in 2 weeks"),
                " or ",
                code(f"/keepintouch {contact.name} every month"),
                " sets a reminder.",
            ]
        return self._say(req, *said, restarted)

    async def cmd_contacts(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        now = self.clock.now()
        contacts = await self.repo.contacts(user.id)
        if not contacts:
            return self._say(req, "No contacts yet: they appear when you add a follow-up.")
        cadences = {f.contact_id: f.cadence for f in await self.repo.of_user(user.id) if f.cadence}
        parts: list[Segment | str] = [bold("Your contacts")]
        for c in contacts[:MAX_LIST]:
            last = (
                f"last contact {describe_delta(now - c.last_contacted)} ago"
                if c.last_contacted
                else "no contact logged"
            )
            extra = f"; keep in touch {cadences[c.id]}" if c.id in cadences else ""
            parts += ["\n• ", bold(c.name), f" — {last}{extra}"]
        if len(contacts) > MAX_LIST:
            parts += [f"\n…and {len(contacts) - MAX_LIST} more."]
        return self._say(req, *parts)

    async def cmd_contact(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        tz, now = self._zone(user), self.clock.now()
        who = text = _name(req.arg("who"))
        if not text:
            return self._say(req, "Whom? e.g. ", code("/contact Tom"), ".")
        contact = await self._contact_named(user, who)
        updates = [(k, value) for k in ("note", "bond") if (value := _name(req.arg(k)))]
        if updates:
            for _, value in updates:
                if problem := self._check_name(who) or self._check_note(value):
                    return self._say(req, problem)
            if contact is None:
                contact = await self.repo.ensure_contact(user.id, who, now)
            said: list[Segment | str] = []
            for kind, value in updates:
                if kind == "bond":
                    await self.repo.add_bond(user.id, contact.id, value, now)
                    said += [f"Noted a shared bond with {contact.name}: ", italic(value), ". "]
                else:
                    await self.repo.set_contact_notes(user.id, contact.id, value)
                    said += [f"Saved notes for {contact.name}. "]
            return self._say(req, *said)
        if contact is None:
            return self._say(
                req,
                f"I don't know anyone called “{text}” yet. ",
                code("/contacts"),
                " lists the people you follow up with.",
            )
        parts: list[Segment | str] = [bold(contact.name)]
        if contact.notes:
            parts += ["\nNotes: ", italic(contact.notes)]
        if contact.bonds:
            parts += ["\nShared bonds: ", italic("; ".join(contact.bonds))]
        else:
            parts += ["\nNo shared bonds yet: ", code(f"/contact {contact.name} bond <what>")]
        if contact.last_contacted:
            parts += [f"\nLast contact: {describe_delta(now - contact.last_contacted)} ago."]
        history = await self.repo.of_user(user.id, contact_id=contact.id, active_only=False)
        if history:
            parts += ["\n", bold("Follow-ups")]
            for f in history[-10:]:
                what = f.cadence or format_local(f.due_at, tz)
                parts += ["\n", code(f"#{f.id}"), f" {what} — {f.status}"]
                if f.note:
                    parts += [" — ", italic(_short(f.note))]
        log = await self.repo.interactions(user.id, contact.id)
        if log:
            parts += ["\n", bold("In touch")]
            for item in log:
                parts += [f"\n{format_local(item.at, tz)}"]
                if item.note:
                    parts += [" — ", italic(_short(item.note))]
        return self._say(req, *parts)

    async def cmd_timezone(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        name = req.arg("zone")
        if not name:
            zone = self._zone(user)
            return self._say(
                req,
                f"Your reminders use {zone.key}; it is now ",
                bold(format_local(self.clock.now(), zone)),
                ". Change it with ",
                code("/timezone Area/City"),
                ".",
            )
        try:
            zone = resolve_timezone(name)
        except WhenError as exc:
            return self._say(req, str(exc), " Nothing was changed.")
        await self.users.set_timezone(user.id, zone.key)
        return self._say(
            req,
            f"Time zone set to {zone.key}; it is now ",
            bold(format_local(self.clock.now(), zone)),
            ". Existing reminders keep their moment in time.",
        )

    # -- buttons ------------------------------------------------------------------------

    async def _pressed(self, req: Request) -> tuple[User, FollowUp, list[str]] | list[Reply]:
        _, *fields = req.text.split(":")
        try:
            user, followup = await self._owned(req, fields[0] if fields else "")
        except UserError:
            return self._say(req, "That reminder is already closed or isn't yours. ", _LIST_HINT)
        return user, followup, fields[1:]

    async def press_done(self, req: Request) -> list[Reply]:
        pressed = await self._pressed(req)
        if isinstance(pressed, list):
            return _in_place(pressed)  # the nudge is stale: say so in its place
        return _in_place(await self._done(req, pressed[0], pressed[1]))

    async def press_snooze(self, req: Request) -> list[Reply]:
        pressed = await self._pressed(req)
        if isinstance(pressed, list):
            return _in_place(pressed)
        user, f, rest = pressed
        delta = _SNOOZE.get(rest[0] if rest else "")
        if delta is None:
            return self._say(req, "That button no longer works.")
        now = self.clock.now()
        return _in_place(await self._snooze(req, user, f, now + delta, self._zone(user), now))

    async def press_draft(self, req: Request) -> list[Reply]:
        pressed = await self._pressed(req)
        if isinstance(pressed, list):
            return pressed
        user, f, _ = pressed
        await self.users.expect(user, f"draft:{f.id}")
        return self._say(
            req,
            f"Send me your message to {f.contact_name} as your next message and I'll review it "
            "as a follow-up.",
        )

    async def intercept(self, req: Request) -> str | None:
        """After Draft, the user's next plain message is reviewed as a follow-up; a short
        reply ("ok") is answered as such and leaves Draft waiting for the message."""
        if req.command or not req.text.strip() or short_reply(clean_draft(req.text)):
            return None
        awaiting = await self.users.take_expected(req.user)
        return "follow-up" if awaiting and awaiting.startswith("draft:") else None


_LIST_HINT = "/followups lists yours."
_ID_EXAMPLES = {
    "done": "/done 12",
    "snooze": "/snooze 12 2 days",
    "cancel": "/cancel 12",
    "edit": "/edit 12 note bring the slides",
}


def _in_place(replies: list[Reply]) -> list[Reply]:
    """A nudge button's outcome replaces the nudge, so the same button cannot fire twice."""
    return [replace(r, edit_pressed=True) for r in replies]


def _since(f: FollowUp) -> datetime:
    return f.last_contacted or f.anchor or f.due_at


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
