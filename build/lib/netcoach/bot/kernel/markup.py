"""A tiny neutral markup: text as styled segments.

User text travels as its own segment, so each adapter escapes it for its platform
(HTML for Telegram, Markdown for Discord) and a draft can never inject formatting,
links or mentions into the bot's reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

Style = Literal["plain", "bold", "italic", "code", "mark"]


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    style: Style = "plain"


Markup = tuple[Segment, ...]


def plain(text: str) -> Segment:
    return Segment(text)


def bold(text: str) -> Segment:
    return Segment(text, "bold")


def italic(text: str) -> Segment:
    return Segment(text, "italic")


def code(text: str) -> Segment:
    return Segment(text, "code")


def mark(text: str) -> Segment:
    """The exact words a finding is about; highlighted where the platform can."""
    return Segment(text, "mark")


_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"))


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` characters at the gentlest boundary.

    Paragraphs first, then lines, then sentences, then spaces, and only as a last
    resort in the middle of a word.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = _last_break(window, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return [c for c in chunks if c] or [""]


def _last_break(window: str, limit: int) -> int:
    for pattern in _BREAKS:
        ends = [m.end() for m in pattern.finditer(window) if m.start() > 0 and m.end() <= limit]
        if ends and ends[-1] > limit // 3:
            return ends[-1]
    space = window.rfind(" ", limit // 3, limit)
    return space + 1 if space > 0 else limit


def split_markup(
    body: Iterable[Segment], limit: int, render: Callable[[Segment], str]
) -> list[list[Segment]]:
    """Group segments into messages whose rendered length stays within `limit`.

    Splitting happens on segments, before rendering, so an HTML tag or a Markdown
    escape is never cut in half; a segment that alone is too long is split by text.
    """
    pages: list[list[Segment]] = [[]]
    size = 0
    for seg in body:
        for piece in _fitting(seg, limit, render):
            n = len(render(piece))
            if size + n > limit and pages[-1]:
                pages.append([])
                size = 0
            pages[-1].append(piece)
            size += n
    return [p for p in pages if p] or [[]]


def _fitting(seg: Segment, limit: int, render: Callable[[Segment], str]) -> list[Segment]:
    """`seg` cut into pieces that each render within `limit` (escaping can make text longer,
    unevenly: "&" becomes "&amp;"), halving the budget for any piece still too long."""
    if len(render(seg)) <= limit:
        return [seg]
    budget = max(1, limit * len(seg.text) // max(1, len(render(seg))) - 16)
    out: list[Segment] = []
    for text in split_text(seg.text, budget):
        piece = Segment(text, seg.style)
        if len(render(piece)) <= limit or len(text) <= 1:
            out.append(piece)
        else:
            out += _fitting(piece, max(1, limit), render) if budget > 1 else [piece]
    return out
