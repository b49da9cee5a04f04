"""Neutral types shared by the core and every adapter.

Ids are strings everywhere: Telegram chat ids can be negative and Discord ids are
64-bit snowflakes, so neither fits a single integer type across platforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .markup import Markup, Segment, plain

if TYPE_CHECKING:
    from .platform import Platform

PlaceKind = Literal["dm", "group"]


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: str
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class PlaceRef:
    platform: str
    id: str
    kind: PlaceKind = "dm"
    community: str = ""  # the server or group a channel belongs to ("" = the place itself)

    @property
    def community_key(self) -> str:
        """One name per community across platforms, e.g. "discord:1234" for a server."""
        return f"{self.platform}:{self.community or self.id}"


@dataclass(frozen=True, slots=True)
class Button:
    """An action the user can take; `action` is short ("done:12") to fit Telegram's 64 bytes."""

    label: str
    action: str


ParamValue = str | UserRef  # text as typed, or a member of the platform


@dataclass(frozen=True, slots=True)
class Request:
    """One thing a user asked for.

    `command` is "" for a plain message (a draft, or a post the bot only observes) and
    "press" for a button, with the button's action in `text`. For a command, `text` is what
    was typed after it and `params` the command's typed params: given natively by the
    platform (Discord options, a Telegram reply's author) or parsed from `text` by the
    router, once, with the command's grammar. Handlers read `params` only.
    """

    user: UserRef
    place: PlaceRef
    command: str = ""
    text: str = ""
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    platform: Platform = field(default_factory=lambda: _offline())

    def arg(self, name: str) -> str:
        """A text param, stripped; "" when absent (or when it names a member)."""
        value = self.params.get(name)
        return value.strip() if isinstance(value, str) else ""

    def member(self, name: str) -> UserRef | None:
        value = self.params.get(name)
        return value if isinstance(value, UserRef) else None


def _offline() -> Platform:
    from .platform import OFFLINE

    return OFFLINE


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a reply (a data export); adapters send it natively."""

    filename: str
    data: bytes


class Receipt(Protocol):
    """Told by the adapter whether a reply reached the platform (a hand-over is recorded
    as delivered only once the platform accepted it)."""

    async def accepted(self, message_id: str) -> None: ...

    async def refused(self, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """What the core wants shown, and how; the core decides, every adapter carries it out.

    private          only the asker may see it: ephemeral where the platform has that (a
                     Discord server), else their private chat (a Telegram group)
    dm_only          goes to the user's private chat even where an ephemeral answer exists
                     (a note about a post the bot only observed, which nobody asked for)
    replaces_trigger answers a message that may be edited: when it is, the new answer
                     replaces this one where the platform can edit (Telegram)
    edit_pressed     shown in place of the message whose button was pressed (a snoozed
                     nudge, a re-review), so a stale button cannot be pressed twice
    draft            the draft a review is about, for its "review as…" buttons where it
                     cannot be read back from the chat; kept in memory only
    kind             "review", "nudge", "tip", "reaction", "export"… picks a native form
    receipt          when set, the adapter reports whether the platform accepted the reply
                     (`toolkit.confirm`); a reply that was never reported is treated as lost
    """

    place: PlaceRef
    body: Markup
    buttons: tuple[Button, ...] = ()
    private: bool = False
    dm_only: bool = False
    replaces_trigger: bool = False
    edit_pressed: bool = False
    draft: str = ""
    kind: str = "message"
    attachments: tuple[Attachment, ...] = ()
    receipt: Receipt | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.body)

    @classmethod
    def of(cls, place: PlaceRef, *parts: Segment | str, **kw: Any) -> Reply:
        return cls(place, tuple(plain(p) if isinstance(p, str) else p for p in parts), **kw)


def answer_privately(req: Request, *parts: Segment | str) -> list[Reply]:
    """The usual answer to a personal command: one reply only the asker sees."""
    return [Reply.of(req.place, *parts, private=True)]
