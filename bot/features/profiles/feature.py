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


PROFILE_ACTIONS = ("set", "show", "clear", "visibility")


async def profile_grammar(req: Request) -> dict[str, ParamValue]:
    """ "set <field> <values>", "clear [field]", "visibility <level>", "show"."""
    verb, _, rest = req.text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "set":
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

    def commands(self) -> list[Command]:
        return [
            Command(
                "profile",
                "set <field> <values> | show | clear [field] | visibility <level>",
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
        if verb == "set":
            raw_field, values = req.arg("field"), req.arg("value")
            field = field_name(raw_field)
            if field is None:
                return _say(req, f"I don't know the field '{raw_field}'. ", *_field_help())
            if not values.strip():
                return _say(req, "Give at least one value, e.g. ", code(f"/profile set {field} …"))
            try:
                tags = self.tags.parse(values)
            except TagError as exc:
                return _say(req, str(exc), " Nothing was changed.")
            await self.repo.set_field(user.id, field, tags)
            visibility, _ = await self.repo.get(user.id)
            parts: list[Segment | str] = [
                f"Saved {FIELDS[field]}: ",
                bold(", ".join(display for _, display in tags)),
                ".",
            ]
            if visibility == "off":
                parts += [
                    " Your profile is off, so it isn't used yet: ",
                    code("/profile visibility private"),
                    " uses it for your own drafts, ",
                    code("/profile visibility community"),
                    " also lets members of your communities find what you share.",
                ]
            return _say(req, *parts)
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
            code("show"),
            ", ",
            code("clear [field]"),
            " or ",
            code("visibility private|community|off"),
            ".",
        )

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
        contact = await self.contacts.find_contact(user.id, name)
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
        bonds = await self.member_bonds(req, user, member) if member else []
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

    async def recipient_finding(self, req: Request, result: Review) -> Finding | None:
        """For a review with a known recipient: name the bond the draft leaves out."""
        ref, name = req.member("member"), req.arg("recipient")
        if result.signals.get("shared_bond") or not (ref or name):
            return None
        user = await self.users.find(req.user)
        if user is None:
            return None
        bond_text = ""
        if ref is not None:
            member = await self.users.find(ref)
            visibility, _ = await self.repo.get(user.id)
            if member is not None and visibility != "off":
                bonds = await self.member_bonds(req, user, member)
                bond_text = f"{bonds[0].display} ({bonds[0].rarity})" if bonds else ""
        elif name:
            contact = await self.contacts.find_contact(user.id, name)
            bond_text = contact.bonds[0] if contact and contact.bonds else ""
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
        )


_VISIBILITY = {
    "off": "Your profile isn't used for anything.",
    "private": "Your profile helps only your own drafts; nobody else can match with it.",
    "community": "Members of communities you share can see what you have in common.",
}


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
