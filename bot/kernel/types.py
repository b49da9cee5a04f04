"""Neutral types shared by the core and every adapter.

Ids are strings everywhere: Telegram chat ids can be negative and Discord ids are
64-bit snowflakes, so neither fits a single integer type across platforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .markup import Markup, Segment, plain

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


@dataclass(frozen=True, slots=True)
class Request:
    """One thing a user asked for.

    `command` is "" for a plain message (a draft to review) and "press" for a button,
    with the button's action in `text`. `text` is the free text after the command as typed;
    `args` holds typed options where the platform has them (Discord slash options), so the
    core never has to re-parse what the platform already separated.
    """

    user: UserRef
    place: PlaceRef
    command: str = ""
    text: str = ""
    args: Mapping[str, str] = field(default_factory=dict)
    raw: Any = None  # the native event; adapters only, the core never reads it


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a reply (a data export); adapters send it natively."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """What the core wants shown. `private` asks for an ephemeral reply or a DM."""

    place: PlaceRef
    body: Markup
    buttons: tuple[Button, ...] = ()
    private: bool = False
    kind: str = "message"  # "review", "nudge", "tip", ... lets adapters pick a native form
    attachments: tuple[Attachment, ...] = ()

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.body)

    @classmethod
    def of(cls, place: PlaceRef, *parts: Segment | str, **kw: Any) -> Reply:
        return cls(place, tuple(plain(p) if isinstance(p, str) else p for p in parts), **kw)


def answer_privately(req: Request, *parts: Segment | str) -> list[Reply]:
    """The usual answer to a personal command: one reply only the asker sees."""
    return [Reply.of(req.place, *parts, private=True)]
