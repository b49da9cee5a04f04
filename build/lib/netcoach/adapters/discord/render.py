"""Replies as Discord messages (pure): Markdown with user text escaped and mentions defused,
content or an embed, and persistent buttons whose custom ids carry the action."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple, Protocol, runtime_checkable

import discord

from netcoach.adapters.toolkit import pages as pages_of
from netcoach.bot.kernel import Button, Reply, Segment

MAX_CONTENT = 2000
MAX_EMBED = 4096
CUSTOM_ID_PREFIX = "nc:"
NO_MENTIONS = discord.AllowedMentions.none()
EMBED_KINDS = frozenset({"nudge"})  # shown as an embed; everything else as plain content


@runtime_checkable
class Presses(Protocol):
    """Whoever answers button presses (the adapter), reached through the bot."""

    async def on_press(self, interaction: discord.Interaction, action: str) -> None: ...


class Page(NamedTuple):
    """One Discord message: content or an embed, and the buttons (on the last page only)."""

    content: str | None
    embed: discord.Embed | None
    view: discord.ui.View | None


# Anything escape_markdown or escape_mentions would change; most text has none of it, and
# skipping the two substitutions then halves the cost of rendering a review.
_MAY_NEED_ESCAPE = re.compile(r"[_\\~|*`@\[]|^\s*[>#-]", re.MULTILINE)


def escape(text: str) -> str:
    """User text shown as written: Markdown escaped, mentions defused (AllowedMentions too)."""
    if not _MAY_NEED_ESCAPE.search(text):
        return text
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _inline_code(text: str) -> str:
    if not text:
        return ""
    if "`" not in text:
        return f"`{text}`"
    safe = text.replace("``", "`\u200b`")  # a double backtick would end the span
    return f"`` {safe} ``"


def render_segment(seg: Segment) -> str:
    if seg.style == "code":
        return _inline_code(seg.text)
    text = escape(seg.text)
    marker = {"bold": "**", "italic": "*", "mark": "__"}.get(seg.style, "")
    core = text.strip()
    if not marker or not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"nc:(?P<action>[^\s]{1,97})",
):
    """Every netcoach button. The custom id is "nc:" + Button.action, so a press works on any
    message, sent before or after a restart, without keeping a View per message in memory."""

    def __init__(self, action: str, label: str = "", primary: bool = False):
        style = discord.ButtonStyle.primary if primary else discord.ButtonStyle.secondary
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=(label or action)[:80], custom_id=CUSTOM_ID_PREFIX + action, style=style
        )
        super().__init__(button)
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ActionButton:
        return cls(match["action"], getattr(item, "label", "") or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if isinstance(adapter, Presses):
            await adapter.on_press(interaction, self.action)


def buttons_view(buttons: Sequence[Button]) -> discord.ui.View | None:
    return _buttons_view(tuple(buttons)) if buttons else None


@lru_cache(maxsize=512)
def _buttons_view(buttons: tuple[Button, ...]) -> discord.ui.View:
    """Stopped views are only serialised, never mutated, so equal button sets share one."""
    view = discord.ui.View(timeout=None)
    for i, b in enumerate(buttons[:25]):
        if len(CUSTOM_ID_PREFIX + b.action) <= 100 and " " not in b.action:
            view.add_item(ActionButton(b.action, b.label, primary=i == 0))
    view.stop()  # render-only: ActionButton's pattern dispatches presses, nothing is stored
    return view


def render(reply: Reply) -> list[Page]:
    """Reply -> Discord messages, split on segment boundaries; buttons go on the last one."""
    as_embed = reply.kind in EMBED_KINDS
    limit = MAX_EMBED if as_embed else MAX_CONTENT
    texts = pages_of(reply.body, limit, render_segment, "\u200b")
    pages = []
    for i, text in enumerate(texts):
        view = buttons_view(reply.buttons) if i == len(texts) - 1 else None
        if as_embed:
            pages.append(Page(None, discord.Embed(description=text, colour=0x2F80ED), view))
        else:
            pages.append(Page(text, None, view))
    return pages


def message_kwargs(page: Page, *, editing: bool = False) -> dict[str, Any]:
    kw: dict[str, Any] = {"content": page.content, "allowed_mentions": NO_MENTIONS}
    if page.embed is not None or editing:
        kw["embed"] = page.embed
    if page.view is not None or editing:
        kw["view"] = page.view
    return kw


def files_of(reply: Reply) -> list[discord.File]:
    """A reply's attachments (a data export) as Discord files."""
    return [discord.File(io.BytesIO(a.data), filename=a.filename) for a in reply.attachments]
