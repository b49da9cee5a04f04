"""A typed line as a neutral request."""

from __future__ import annotations

from netcoach.bot.kernel import OFFLINE, Button, PlaceRef, Platform, Request, UserRef

YOU = UserRef("console", "you", "you")
PLACE = PlaceRef("console", "you", "dm")
QUIT = {"/quit", "/exit", "/q"}


def press_request(button: Button, draft: str = "", platform: Platform = OFFLINE) -> Request:
    """A pressed button; `draft` is the draft the message with that button was about."""
    params = {"draft": draft} if draft else {}
    return Request(YOU, PLACE, "press", button.action, params, platform)


def to_request(
    line: str, choices: list[Button], draft: str = "", platform: Platform = OFFLINE
) -> Request | None:
    """A typed line as a neutral request; None for blank lines. A number presses that
    choice of the last reply with buttons; `draft` is the draft that reply was about."""
    text = line.strip()
    if not text:
        return None
    if text.isdigit() and len(text) <= 2:  # a numbered choice, never a one-digit draft
        pressed = choices[int(text) - 1] if 1 <= int(text) <= len(choices) else None
        params = {"draft": draft} if draft else {}
        action = pressed.action if pressed else ""
        return Request(YOU, PLACE, "press", action, params, platform)
    if text.startswith("/"):
        command, _, rest = text[1:].partition(" ")
        return Request(YOU, PLACE, command.lower(), rest.strip(), platform=platform)
    return Request(YOU, PLACE, "", line.rstrip("\r\n"), platform=platform)
