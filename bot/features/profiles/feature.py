"""Profiles and shared bonds.

    /profile set interests sourdough, trail running     /profile show
    /profile visibility community                       /profile clear interests
    /bond @member        (or a contact's name)

Everything is opt-in: a profile is `off` until its owner says otherwise, `private`
profiles only help their owner's own drafts, and `bond` only ever uses what both people
chose to share with the community they are both in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from functools import partial

from netcoach.bot.clock import Clock
from netcoach.bot.features.followups import FollowUpRepository
from netcoach.bot.kernel import (
    Command,
    Feature,
    Param,
    ParamValue,
    Reply,
    Request,
    Segment,
    UserRef,
    answer_privately,
    bold,
    choices,
    code,
    italic,
)
from netcoach.bot.review import Finding, PlaybookSet, Review
from netcoach.bot.storage import User, Users

from .bonds import CAPPED as HOLDER_CAP
from .bonds import FIELDS, VISIBILITY, SharedTag, field_name, opener, rank
from .repository import ProfileRepository
from .tags import TagError, Tags

COUNT_TTL = timedelta(minutes=10)
MAX_CACHED_COUNTS = 50_000
MAX_VALUES = 20  # per field: a person has a few towns and employers, not hundreds of guesses
# /bond between the same two people: a few answers a minute, so nobody can set guessed
# values over and over to learn what another member's profile holds.
BOND_ANSWERS = 3
BOND_WINDOW = timedelta(minutes=1)


PROFILE_ACTIONS = ("set", "add", "remove", "show", "clear", "visibility")


class TooOften(Exception):
    """The same two people's bonds were asked for too often just now."""

    def __init__(self, wait: timedelta):
        self.wait = wait


async def profile_grammar(req: Request) -> dict[str, ParamValue]:
    """ "set|add|remove <field> <values>", "clear [field]", "visibility <level>", "show"."""
    verb, _, rest = req.text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("set", "add", "remove"):
        field, _, values = rest.partition(" ")
        return {"action": verb, "field": field, "value": values}
    if verb == "clear":
        return {"action": verb, "field": rest}
    return {"action": verb, "value": rest}


class Profiles(Feature):
    """The profile and bond feature. `contacts` are the follow-ups' contact book, where a
    user notes bonds with people who are not members anywhere."""

    def __init__(
        self,
        repo: ProfileRepository,
        users: Users,
        contacts: FollowUpRepository,
        clock: Clock,
        tags: Tags,
        playbooks: PlaybookSet,
    ):
        self.repo = repo
        self.users = users
        self.contacts = contacts
        self.clock = clock
        self.tags = tags
        self.titles = {p.id: p.title for p in playbooks}
        # (platform, user id, community) recorded today, and which day that is
        self._seen: set[tuple[str, str, str]] = set()
        self._seen_on: date | None = None
        self._counts: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._asked: dict[frozenset[int], list[datetime]] = {}  # /bond answers per pair

    def commands(self) -> list[Command]:
        return [
            Command(
                "profile",
                "set|add|remove <field> <values> | show | clear [field] | visibility <level>",
                "describe yourself (opt-in) so netcoach can find what you share with others",
                "profile set interests sourdough, trail running",
                self.cmd_profile,
                params=(
                    Param("action", "what to do", choices=choices(*PROFILE_ACTIONS)),
                    Param("field", "which part of your profile", choices=choices(*FIELDS)),
                    Param(
                        "value", "comma-separated values, or a visibility: private|community|off"
                    ),
                ),
                grammar=profile_grammar,
            ),
            Command(
                "bond",
                "<member or contact>",
                "what you have in common with someone, rarest first, and an opener",
                "bond Maria",
                self.cmd_bond,
                params=(
                    Param("member", "a member of this server", kind="member"),
                    Param("contact", "or one of your contacts"),
                ),
            ),
        ]

    async def forgotten(self, user: UserRef) -> None:
        self._seen = {s for s in self._seen if s[:2] != (user.platform, user.id)}

    async def notices(self, req: Request) -> list[Reply]:
        """Remember which communities a user takes part in (for bonds); says nothing."""
        if req.place.kind == "group":
            user = await self.users.find(req.user)
            if user is not None:
                community, today = req.place.community_key, self.clock.now().date()
                if self._seen_on != today:
                    self._seen, self._seen_on = set(), today  # only today's visits matter
                seen = (req.user.platform, req.user.id, community)
                if seen not in self._seen:
                    await self.repo.touch_membership(user.id, community, self.clock.now())
                    self._seen.add(seen)
        return []

    # -- profile ---------------------------------------------------------------------------

    async def _user(self, req: Request) -> User:
        # Membership of a group is recorded by `notices`, after every request there.
        return await self.users.ensure(req.user, self.clock.now())

    async def cmd_profile(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        verb = req.arg("action").lower()
        if verb in ("", "show"):
            return await self._show(req, user)
        if verb in ("set", "add", "remove"):
            return await self._change(req, user, verb)
        if verb == "clear":
            rest = req.arg("field")
            field = field_name(rest) if rest else None
            if rest and field is None:
                return _say(req, f"I don't know the field '{rest}'. ", *_field_help())
            removed = await self.repo.clear(user.id, field)
            what = FIELDS[field] if field else "your whole profile"
            return _say(req, f"Cleared {what} ({removed} value{'s' * (removed != 1)}).")
        if verb == "visibility":
            level = req.arg("value").lower()
            if level not in VISIBILITY:
                return _say(req, "Choose one: ", *_visibility_help())
            await self.repo.set_visibility(user.id, level)
            return _say(req, "Profile visibility is now ", bold(level), ". ", _VISIBILITY[level])
        return _say(
            req,
            "Use ",
            code("/profile set <field> <values>"),
            ", ",
            code("add <field> <values>"),
            ", ",
            code("remove <field> <values>"),
            ", ",
            code("show"),
            ", ",
            code("clear [field]"),
            " or ",
            code("visibility private|community|off"),
            ".",
        )

    async def _change(self, req: Request, user: User, verb: str) -> list[Reply]:
        """set replaces a field's values (and says what it replaced), add and remove
        change some; no field holds more than MAX_VALUES."""
        raw_field, values = req.arg("field"), req.arg("value")
        field = field_name(raw_field)
        if field is None:
            return _say(req, f"I don't know the field '{raw_field}'. ", *_field_help())
        if not values.strip():
            return _say(
                req, "Give at least one value, e.g. ", code(f"/profile {verb} {field} …"), "."
            )
        try:
            typed = self.tags.parse(values)
        except TagError as exc:
            return _say(req, str(exc), " Nothing was changed.")
        _, all_tags = await self.repo.get(user.id)
        had = [(key, display) for f, key, display in all_tags if f == field]
        had_keys = {key for key, _ in had}
        if verb == "remove":
            gone = [display for key, display in had if key in {k for k, _ in typed}]
            missing = [display for key, display in typed if key not in had_keys]
            if not gone:
                return _say(
                    req,
                    f"Your {_LABELS[field]} don't include {_listed(missing)}. ",
                    "Nothing was changed. ",
                    code("/profile show"),
                    " lists them.",
                )
            kept = [(k, d) for k, d in had if k not in {k for k, _ in typed}]
            await self.repo.set_field(user.id, field, kept)
            parts: list[Segment | str] = [
                f"Removed from your {_LABELS[field]}: ",
                bold(_listed(gone)),
                ".",
            ]
            if missing:
                parts += [f" ({_listed(missing)} {_was_were(missing)} not there.)"]
            parts += [f" Now: {_listed([d for _, d in kept]) or 'none'}."]
            return _say(req, *parts)
        new = typed if verb == "set" else had + [t for t in typed if t[0] not in had_keys]
        if len(new) > MAX_VALUES:
            return _say(
                req,
                f"A field holds at most {MAX_VALUES} values, and that would make {len(new)} "
                f"{_LABELS[field]}. Nothing was changed; remove some with ",
                code(f"/profile remove {field} …"),
                " or keep the ones that matter most.",
            )
        await self.repo.set_field(user.id, field, new)
        if verb == "add":
            added = [d for k, d in typed if k not in had_keys]
            parts = [
                f"Added to your {_LABELS[field]}: ",
                bold(_listed(added) or "nothing new"),
                ".",
            ]
            parts += [f" Now: {_listed([d for _, d in new])}."]
        else:
            parts = [f"Saved {FIELDS[field]}: ", bold(_listed([d for _, d in new])), "."]
            replaced = [d for k, d in had if k not in {k for k, _ in new}]
            if replaced:
                parts += [
                    f" This replaced {_listed(replaced)}; to keep values and add more, use ",
                    code(f"/profile add {field} …"),
                    ".",
                ]
        visibility, _ = await self.repo.get(user.id)
        if visibility == "off":
            parts += [
                " Your profile is off, so it isn't used yet: ",
                code("/profile visibility private"),
                " uses it for your own drafts, ",
                code("/profile visibility community"),
                " also lets members of your communities find what you share.",
            ]
        return _say(req, *parts)

    async def _show(self, req: Request, user: User) -> list[Reply]:
        visibility, tags = await self.repo.get(user.id)
        parts: list[Segment | str] = [bold("Your profile"), f" (visibility: {visibility})"]
        if not tags:
            parts += ["\nNothing yet. ", *_field_help()]
        by_field: dict[str, list[str]] = {}
        for field, _, display in tags:
            by_field.setdefault(field, []).append(display)
        for field in FIELDS:
            if field in by_field:
                parts += [f"\n• {field}: ", ", ".join(by_field[field])]
        parts += [f"\n{_VISIBILITY[visibility]}"]
        return _say(req, *parts)

    # -- bonds ---------------------------------------------------------------------------

    async def cmd_bond(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        member = req.member("member")
        name = member.name if member is not None else req.arg("contact")
        if member is None and not name:
            return _say(req, "Who with? e.g. ", code("/bond Maria"), " (a member or a contact).")
        if member is not None:
            return await self._bond_with_member(req, user, member, name or "them")
        contact, _ = await self.contacts.contact_called(user.id, name)
        if contact is not None:
            return self._bond_with_contact(req, contact.name, contact.bonds)
        return _say(
            req,
            f"I don't know anyone called '{name}'. In a server or group, pick the member; "
            "otherwise save what you share with a contact: ",
            code(f"/contact {name} bond we both …"),
            ".",
        )

    async def member_bonds(self, req: Request, user: User, member: User) -> list[SharedTag]:
        """What `user` and `member` share, from profiles both opened to a shared community."""
        visibility, _ = await self.repo.get(user.id)
        their_visibility, _ = await self.repo.get(member.id)
        if visibility != "community" or their_visibility != "community":
            return []
        if req.place.kind == "group":
            community = req.place.community_key
            await self.repo.touch_membership(user.id, community, self.clock.now())
            if community not in await self.repo.shared_communities(user.id, member.id):
                return []
        else:
            communities = await self.repo.shared_communities(user.id, member.id)
            if not communities:
                return []
            community = communities[0]
        self._count_ask(user.id, member.id)
        shared = await self.repo.shared_tags(user.id, member.id)
        if not shared:
            return []
        repo = self.repo
        members = await self._counted(community, "", partial(repo.visible_members, community))
        bonds = []
        for field, key, display in shared:
            holders = await self._counted(
                community, key, partial(repo.tag_holders, community, key, HOLDER_CAP)
            )
            bonds.append(SharedTag(field, key, display, holders, members))
        return rank(bonds)

    def _count_ask(self, a: int, b: int) -> None:
        """One more look at what `a` and `b` share; TooOften past BOND_ANSWERS a minute."""
        now = self.clock.now()
        pair = frozenset((a, b))
        recent = [t for t in self._asked.get(pair, ()) if now - t < BOND_WINDOW]
        if len(recent) >= BOND_ANSWERS:
            self._asked[pair] = recent
            raise TooOften(recent[0] + BOND_WINDOW - now)
        if len(self._asked) > MAX_CACHED_COUNTS:  # forget pairs not asked about lately
            self._asked = {
                p: ts for p, ts in self._asked.items() if ts and now - ts[-1] < BOND_WINDOW
            }
        self._asked[pair] = [*recent, now]

    async def _counted(self, community: str, key: str, count: Callable[[], Awaitable[int]]) -> int:
        """Community counts change slowly; rarity only needs them roughly, so cache a while."""
        now = self.clock.now()
        cached = self._counts.get((community, key))
        if cached is not None and now - cached[1] < COUNT_TTL:
            return cached[0]
        value = await count()
        if len(self._counts) > MAX_CACHED_COUNTS:
            self._counts.clear()
        self._counts[(community, key)] = (value, now)
        return value

    async def _bond_with_member(
        self, req: Request, user: User, ref: UserRef, name: str
    ) -> list[Reply]:
        member = await self.users.find(ref)
        if member is not None and member.id == user.id:
            return _say(req, "That's you! Pick someone else.")
        visibility, _ = await self.repo.get(user.id)
        if visibility != "community":
            return _say(
                req,
                "To find what you share with other members, open your profile to your "
                "communities first: ",
                code("/profile visibility community"),
                ".",
            )
        try:
            bonds = await self.member_bonds(req, user, member) if member else []
        except TooOften as wait:
            seconds = max(1, int(wait.wait.total_seconds() + 0.999))
            return _say(
                req,
                f"You've asked what you share with {name} {BOND_ANSWERS} times in the last "
                f"minute. Ask again in {seconds} second{'s' * (seconds != 1)}.",
            )
        if not bonds:
            return _say(
                req,
                f"I don't see anything you and {name} have both shared here — which may just "
                "mean they haven't filled in a profile. Ask about their work instead:\n",
                italic(opener(name, None)),
            )
        parts: list[Segment | str] = [bold(f"What you share with {name}"), " (rarest first)"]
        for bond in bonds[:5]:
            parts += [f"\n• {bond.display} ({bond.field}) — {bond.rarity}"]
        parts += ["\n\nA first line that mentions the rarest:\n", italic(opener(name, bonds[0]))]
        return _say(req, *parts)

    def _bond_with_contact(self, req: Request, name: str, bonds: tuple[str, ...]) -> list[Reply]:
        if not bonds:
            return _say(
                req,
                f"You haven't noted anything you share with {name}. Add it with ",
                code(f"/contact {name} bond we both …"),
                " — meanwhile, ask about their work:\n",
                italic(opener(name, None)),
            )
        parts: list[Segment | str] = [bold(f"What you noted you share with {name}")]
        parts += [f"\n• {bond}" for bond in bonds]
        parts += ["\n\nMention it in your first line, then ask about them."]
        return _say(req, *parts)

    def _unknown_recipient(self, name: str) -> Finding:
        return Finding(
            rule="unknown-recipient",
            playbook="shared-bond",
            principle=self.titles.get("shared-bond", "Mention the shared bond"),
            severity="tip",
            message=f"I don't know anyone called “{name}” among your contacts, so I "
            "couldn't look for a bond you noted with them.",
            suggestion=f"Check the name with /contacts, or note what you share: "
            f"/contact {name} bond we both …",
            span=(0, 0),
            excerpt="",
        )

    async def recipient_finding(self, req: Request, result: Review) -> Finding | None:
        """For a review with a known recipient: name the bond the draft leaves out; for a
        contact name nobody has, say so."""
        ref, name = req.member("member"), req.arg("recipient")
        if not (ref or name):
            return None
        user = await self.users.find(req.user)
        contact = None
        if ref is None and name:
            if user is not None:
                contact, _ = await self.contacts.contact_called(user.id, name)
            if contact is None:
                return self._unknown_recipient(name)
        if result.signals.get("shared_bond") or user is None:
            return None
        bond_text = ""
        if ref is not None:
            member = await self.users.find(ref)
            visibility, _ = await self.repo.get(user.id)
            if member is not None and visibility != "off":
                try:
                    bonds = await self.member_bonds(req, user, member)
                except TooOften:
                    bonds = []  # the review itself goes on, without the bond
                bond_text = f"{bonds[0].display} ({bonds[0].rarity})" if bonds else ""
        elif contact is not None:
            bond_text = contact.bonds[0] if contact.bonds else ""
        if not bond_text:
            return None
        return Finding(
            rule="unmentioned-bond",
            playbook="shared-bond",
            principle=self.titles.get("shared-bond", "Mention the shared bond"),
            severity="tip",
            message=f"You share something the draft doesn't mention: {bond_text}.",
            suggestion="Name it in your first line — a rare common bond is the best opener.",
            span=(0, 0),
            excerpt="",
            weight=5,
        )


_LABELS = {
    "from": "places you're from",
    "lives": "places you live",
    "communities": "communities",
    "schools": "schools",
    "employers": "employers",
    "interests": "interests",
    "languages": "languages",
    "events": "events",
}
_VISIBILITY = {
    "off": "Your profile isn't used for anything.",
    "private": "Your profile helps only your own drafts; nobody else can match with it.",
    "community": "Members of communities you share can see what you have in common.",
}


def _listed(values: list[str]) -> str:
    return ", ".join(values)


def _was_were(values: list[str]) -> str:
    return "was" if len(values) == 1 else "were"


def _field_help() -> list[Segment | str]:
    return ["Fields: ", ", ".join(FIELDS), ". e.g. ", code("/profile set lives Leeds")]


def _visibility_help() -> list[Segment | str]:
    return [
        code("private"),
        " (only your own drafts), ",
        code("community"),
        " (members of your communities can match with you) or ",
        code("off"),
        ".",
    ]


_say = answer_privately
