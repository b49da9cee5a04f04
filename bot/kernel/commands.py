"""The command registry: one list every adapter reads, so help, menus and slash commands agree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .types import Reply, Request

Handler = Callable[[Request], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # typed as /name on every platform
    usage: str  # arguments, e.g. "<who> <when> [note]"
    summary: str  # one line, shown in help and in platform command menus
    example: str  # a full example line without the leading slash
    handler: Handler
    admin: bool = False  # only community admins may run it


@dataclass(frozen=True, slots=True)
class Action:
    """A button handler: `prefix` is the part of Button.action before the first ':'."""

    prefix: str
    handler: Handler
