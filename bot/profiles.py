"""Profiles, shared bonds and the user's control over their data.

    /profile set interests sourdough, trail running     /profile show
    /profile visibility community                       /profile clear interests
    /bond @member        (or a contact's name)          /mydata
    /forget              (asks first)                   /history on | off | (show)

Everything is opt-in: a profile is `off` until its owner says otherwise, `private`
profiles only help their owner's own drafts, and `bond` only ever uses what both people
chose to share with the community they are both in. Drafts are stored only with history
on, and switching it off deletes them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from functools import partial

from netcoach.bot.bonds import CAPPED as HOLDER_CAP
from netcoach.bot.bonds import FIELDS, VISIBILITY, SharedTag, field_name, opener, rank
from netcoach.bot.clock import Clock
from netcoach.bot.kernel import (
    Action,
    Attachment,
    Button,
    Command,
    Feature,
    Reply,
    Request,
    Segment,
    UserRef,
    answer_privately,
    bold,
    code,
    italic,
)
from netcoach.bot.review import Finding, PlaybookSet, Review
from netcoach.bot.store import Store, User
from netcoach.bot.tags import TagError, Tags

HISTORY_SHOWN = 10
COUNT_TTL = timedelta(minutes=10)
MAX_CACHED_COUNTS = 50_000


class Profiles(Feature):
    """The profile, bond and data-control feature."""

    def __init__(self, store: Store, clock: Clock, tags: Tags, playbooks: PlaybookSet):
        self.store = store
        self.clock = clock
        self.tags = tags
        self.titles = {p.id: p.title for p in playbooks}
        self._seen: set[tuple[int, str, date]] = set()  # memberships recorded today
        self._counts: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._history: set[tuple[str, str]] | None = None  # users who keep draft history

    def commands(self) -> list[Command]:
        return [
            Command(
                "profile",
                "set <field> <values> | show | clear [field] | visibility <level>",
                "describe yourself (opt-in) so netcoach can find what you share with others",
                "profile set interests sourdough, trail running",
                self.cmd_profile,
            ),
            Command(
                "bond",
                "<member or contact>",
                "what you have in common with someone, rarest first, and an opener",
                "bond Maria",
                self.cmd_bond,
            ),
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
            Command(
                "history",
                "[on | off]",
                "keep your reviewed drafts (off by default) and see your progress",
                "history on",
                self.cmd_history,
            ),
        ]

    def actions(self) -> list[Action]:
        return [Action("forget", self.press_forget)]

    async def notices(self, req: Request) -> list[Reply]:
        """Remember which communities a user takes part in (for bonds); says nothing."""
        if req.place.kind == "group":
            user = await self.store.find_user(req.user)
            if user is not None:
                community, today = req.place.community_key, self.clock.now().date()
                if self._seen and next(iter(self._seen))[2] != today:
                    self._seen.clear()  # only today's visits matter
                if (user.id, community, today) not in self._seen:
                    await self.store.touch_membership(user.id, community, self.clock.now())
                    self._seen.add((user.id, community, today))
        return []

    # -- profile ---------------------------------------------------------------------------

    async def _user(self, req: Request) -> User:
        # Membership of a group is recorded by `notices`, after every request there.
        return await self.store.ensure_user(req.user, self.clock.now())

    async def cmd_profile(self, req: Request) -> list[Reply]:
        user = await self._user(req)
        verb, _, rest = req.text.strip().partition(" ")
        verb = verb.lower()
        if verb in ("", "show"):
            return await self._show(req, user)
        if verb == "set":
            raw_field, _, values = rest.strip().partition(" ")
            field = field_name(raw_field)
            if field is None:
                return _say(req, f"I don't know the field '{raw_field}'. ", *_field_help())
            if not values.strip():
                return _say(req, "Give at least one value, e.g. ", code(f"/profile set {field} …"))
            try:
                tags = self.tags.parse(values)
            except TagError as exc:
                return _say(req, str(exc), " Nothing was changed.")
            await self.store.set_profile_field(user.id, field, tags)
            visibility, _ = await self.store.profile(user.id)
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
            field = field_name(rest) if rest.strip() else None
            if rest.strip() and field is None:
                return _say(req, f"I don't know the field '{rest.strip()}'. ", *_field_help())
            removed = await self.store.clear_profile(user.id, field)
            what = FIELDS[field] if field else "your whole profile"
            return _say(req, f"Cleared {what} ({removed} value{'s' * (removed != 1)}).")
        if verb == "visibility":
            level = rest.strip().lower()
            if level not in VISIBILITY:
                return _say(req, "Choose one: ", *_visibility_help())
            await self.store.set_visibility(user.id, level)
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
        visibility, tags = await self.store.profile(user.id)
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
        member_id = req.args.get("member", "")
        name = req.args.get("member_name", "") or req.text.strip()
        if not member_id and not name:
            return _say(req, "Who with? e.g. ", code("/bond Maria"), " (a member or a contact).")
        if member_id:
            return await self._bond_with_member(req, user, member_id, name or "them")
        contact = await self.store.find_contact(user.id, name)
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
        visibility, _ = await self.store.profile(user.id)
        their_visibility, _ = await self.store.profile(member.id)
        if visibility != "community" or their_visibility != "community":
            return []
        if req.place.kind == "group":
            community = req.place.community_key
            await self.store.touch_membership(user.id, community, self.clock.now())
            if community not in await self.store.shared_communities(user.id, member.id):
                return []
        else:
            communities = await self.store.shared_communities(user.id, member.id)
            if not communities:
                return []
            community = communities[0]
        shared = await self.store.shared_tags(user.id, member.id)
        if not shared:
            return []
        store = self.store
        members = await self._counted(community, "", partial(store.visible_members, community))
        bonds = []
        for field, key, display in shared:
            holders = await self._counted(
                community, key, partial(store.tag_holders, community, key, HOLDER_CAP)
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
        self, req: Request, user: User, member_id: str, name: str
    ) -> list[Reply]:
        member = await self.store.find_user(UserRef(req.user.platform, member_id, name))
        if member is not None and member.id == user.id:
            return _say(req, "That's you! Pick someone else.")
        visibility, _ = await self.store.profile(user.id)
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
        if result.signals.get("shared_bond") or not (
            req.args.get("member") or req.args.get("recipient")
        ):
            return None
        user = await self.store.find_user(req.user)
        if user is None:
            return None
        member_id, name = req.args.get("member", ""), req.args.get("recipient", "")
        bond_text = ""
        if member_id:
            member = await self.store.find_user(UserRef(req.user.platform, member_id))
            visibility, _ = await self.store.profile(user.id)
            if member is not None and visibility != "off":
                bonds = await self.member_bonds(req, user, member)
                bond_text = f"{bonds[0].display} ({bonds[0].rarity})" if bonds else ""
        elif name:
            contact = await self.store.find_contact(user.id, name)
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

    # -- data control ------------------------------------------------------------------------

    async def cmd_mydata(self, req: Request) -> list[Reply]:
        user = await self.store.ensure_user(req.user, self.clock.now())
        data = await self.store.export_user(user)
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
        if req.text != "forget:yes":
            return _say(req, "Nothing was deleted.")
        user = await self.store.find_user(req.user)
        if user is None:
            return _say(req, "I have nothing stored about you.")
        counts = await self.store.forget_user(user)
        if self._history is not None:
            self._history.discard((user.platform, user.platform_user_id))
        self._seen = {s for s in self._seen if s[0] != user.id}
        rows = sum(counts.values())
        return _say(
            req,
            f"Done: I deleted all {rows} rows about you. Goodbye for now — "
            "anything you send from here on starts afresh.",
        )

    async def cmd_history(self, req: Request) -> list[Reply]:
        user = await self.store.ensure_user(req.user, self.clock.now())
        arg = req.text.strip().lower()
        if arg in ("on", "off"):
            removed = await self.store.set_history(user.id, arg == "on")
            if self._history is not None:
                (self._history.add if arg == "on" else self._history.discard)(
                    (user.platform, user.platform_user_id)
                )
            if arg == "on":
                return _say(
                    req,
                    "History is on: I'll keep the drafts you send for review, so "
                    "you can see your progress with ",
                    code("/history"),
                    ". Turn it off any time; that deletes them.",
                )
            return _say(req, f"History is off and I deleted {removed} stored drafts.")
        if arg:
            return _say(
                req,
                "Use ",
                code("/history on"),
                ", ",
                code("/history off"),
                " or ",
                code("/history"),
                ".",
            )
        if not await self.store.keeps_history(user.id):
            return _say(
                req,
                "History is off, so I don't keep your drafts. ",
                code("/history on"),
                " to start.",
            )
        drafts = await self.store.drafts(user.id)
        if not drafts:
            return _say(req, "No drafts reviewed since history was turned on.")
        parts: list[Segment | str] = [bold("Your recent reviews")]
        for at, context, score, _ in drafts[:HISTORY_SHOWN]:
            parts += [f"\n• {at:%d %b %H:%M} — {score}/100 ({context})"]
        missed = Counter(p for *_, m in drafts for p in m)
        if missed:
            parts += ["\n\n", bold("Principles you miss most often")]
            for playbook, count in missed.most_common(3):
                parts += [f"\n• {self.titles.get(playbook, playbook)} — {count}×"]
        return _say(req, *parts)

    async def record(self, req: Request, text: str, result: Review) -> None:
        """Keep a reviewed draft when (and only when) the user switched history on."""
        if self._history is None:
            self._history = await self.store.history_users()
        if (req.user.platform, req.user.id) not in self._history:
            return  # the common case: history is off, nothing is stored and nothing queried
        user = await self.store.find_user(req.user)
        if user is None:
            return
        missed = sorted({f.playbook for f in result.findings if f.severity != "tip"})
        await self.store.add_draft(
            user.id, self.clock.now(), result.context, result.score, result.verdict, missed, text
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
