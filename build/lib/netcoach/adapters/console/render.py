"""A reply as terminal text: plain, or with ANSI bold and underline on a terminal."""

from __future__ import annotations

from netcoach.bot.kernel import Reply, Segment

_BOLD, _UNDERLINE, _RESET = "\x1b[1m", "\x1b[4m", "\x1b[0m"


def render_segment(seg: Segment, color: bool = False) -> str:
    if seg.style == "bold" and color:
        return f"{_BOLD}{seg.text}{_RESET}"
    if seg.style == "mark" and color:  # reviews already quote marked words; underline them
        return f"{_UNDERLINE}{seg.text}{_RESET}"
    return seg.text


def render(reply: Reply, color: bool = False, first_choice: int = 1) -> str:
    """Plain text (ANSI bold on a terminal); buttons as numbered choices."""
    text = "".join(render_segment(s, color) for s in reply.body)
    if reply.buttons:
        choices = "  ".join(f"[{first_choice + i}] {b.label}" for i, b in enumerate(reply.buttons))
        text += "\n" + choices
    return text
