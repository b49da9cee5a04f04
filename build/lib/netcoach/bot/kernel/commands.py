"""Commands with typed params: one registry every adapter reads, so help, menus and native
forms (Discord slash options, autocomplete) agree, and no adapter keeps a second list.

A command declares its params; a text platform's words after the command are parsed once,
by the router, with the command's `grammar` (positional words when it has none), into the
same params a platform with native options sends. Handlers read params only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .types import ParamValue, Reply, Request, UserRef

Handler = Callable[[Request], Awaitable[list[Reply]]]
# Text as typed after the command -> params; may look things up (a contact's name).
Grammar = Callable[[Request], Awaitable[Mapping[str, ParamValue]]]
# What a user has typed so far -> (label, value) suggestions, for platforms that complete.
Completer = Callable[[UserRef, str], Awaitable[Sequence[tuple[str, str]]]]

ParamKind = Literal["text", "paragraph", "member", "channel"]


@dataclass(frozen=True, slots=True)
class Param:
    """One typed param. `kind`: text (a word or a line), paragraph (a long text: a draft),
    member (someone on the platform: a UserRef), channel (a channel or group, as typed).
    `choices` are (value, label) pairs; values outside them reach the handler, which says
    what is allowed (platforms with menus only offer the choices)."""

    name: str
    description: str
    required: bool = False
    kind: ParamKind = "text"
    choices: tuple[tuple[str, str], ...] = ()
    complete: Completer | None = None


def choices(*values: str) -> tuple[tuple[str, str], ...]:
    """Choices labelled with their own value."""
    return tuple((v, v) for v in values)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # typed as /name on every platform
    usage: str  # how it is typed, e.g. "<who> <when> [note]"
    summary: str  # one line, shown in help and in platform command menus
    example: str  # a full example line without the leading slash
    handler: Handler
    params: tuple[Param, ...] = ()
    grammar: Grammar | None = None  # None: positional words into the text params
    admin: bool = False  # only community admins may run it (the core checks on every call)


@dataclass(frozen=True, slots=True)
class Action:
    """A button handler: `prefix` is the part of Button.action before the first ':'."""

    prefix: str
    handler: Handler


def positional(params: Sequence[Param], text: str) -> dict[str, ParamValue]:
    """Words into the text params in order; the last one takes the rest of the line."""
    typed = [p for p in params if p.kind in ("text", "paragraph", "channel")]
    out: dict[str, ParamValue] = {}
    rest = text.strip()
    for i, param in enumerate(typed):
        if not rest:
            break
        if i == len(typed) - 1:
            out[param.name] = rest
        else:
            word, _, rest = rest.partition(" ")
            out[param.name] = word
            rest = rest.strip()
    return out
