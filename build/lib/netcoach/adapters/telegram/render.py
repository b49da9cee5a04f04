"""Replies as Telegram messages (pure): HTML with every character of text escaped, and
inline keyboards whose callback data fits Telegram's 64 bytes."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from netcoach.adapters.toolkit import pages
from netcoach.bot.kernel import Button, Reply, Request, Segment

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit on a message's text
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data
_TAGS = {"bold": "b", "italic": "i", "code": "code", "mark": "u"}
# Telegram allows only some emoji as reactions; the core's wave becomes a welcoming hug.
REACTIONS = {"👋": "🤗"}


def render_segment(seg: Segment) -> str:
    """HTML for one segment; every character of text is escaped, whatever its style."""
    text = html.escape(seg.text, quote=False)
    tag = _TAGS.get(seg.style)
    return f"<{tag}>{text}</{tag}>" if tag and text else text


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Inline buttons; short labels pair up on a row. Over-long callback data is dropped."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        size = len(button.action.encode())
        if size > MAX_CALLBACK_BYTES:
            log.error("button %r dropped: %d bytes of callback data", button.label, size)
            continue
        native = InlineKeyboardButton(button.label, callback_data=button.action)
        if rows and len(rows[-1]) == 1 and max(len(button.label), len(rows[-1][0].text)) <= 14:
            rows[-1].append(native)
        else:
            rows.append([native])
    return InlineKeyboardMarkup(rows) if rows else None


def render(reply: Reply) -> tuple[str, InlineKeyboardMarkup | None]:
    """One message: HTML text and its inline keyboard (for edits and short replies)."""
    return "".join(render_segment(s) for s in reply.body), keyboard(reply.buttons)


def render_pages(
    reply: Reply, limit: int = MAX_TEXT
) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Messages of at most `limit` characters; the keyboard goes under the last one."""
    texts = pages(reply.body, limit, render_segment, "…", strip=False)
    markup = keyboard(reply.buttons)
    return [(t, markup if i == len(texts) - 1 else None) for i, t in enumerate(texts)]


def deep_link(bot_username: str) -> str:
    return f"https://t.me/{bot_username}?start=review"


def start_privately(req: Request, bot_username: str) -> Reply:
    """What a group sees when the user cannot be written to privately: no draft content."""
    link = deep_link(bot_username)
    name = req.user.name or "there"
    return Reply.of(
        req.place,
        f"{name}, I answer privately so your drafts stay between us, but Telegram won't let "
        f"me message you until you start a chat with me: {link} — press Start, then send it "
        "again there.",
    )
