"""discord.py events as neutral requests (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import discord

from netcoach.bot.kernel import OFFLINE, ParamValue, PlaceRef, Platform, Request, UserRef

PLATFORM = "discord"
_TYPED_COMMAND = re.compile(r"/([A-Za-z][A-Za-z0-9_-]{0,31})(?:\s+(.*))?", re.DOTALL)


def user_ref(user: discord.abc.User) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.display_name)


def place_ref(channel_id: int | None, guild_id: int | None) -> PlaceRef:
    if guild_id is None:
        return PlaceRef(PLATFORM, str(channel_id or ""), "dm")
    return PlaceRef(PLATFORM, str(channel_id or ""), "group", community=str(guild_id))


def to_request(message: discord.Message, platform: Platform = OFFLINE) -> Request | None:
    """A DM or a server post as a neutral request: a draft to review (or a post the core
    observes), or `/command rest` typed as text (Discord sends it as text when the user does
    not pick the command from the menu)."""
    if message.author.bot or message.webhook_id is not None:
        return None
    guild_id = message.guild.id if message.guild else None
    place = place_ref(message.channel.id, guild_id)
    user = user_ref(message.author)
    m = _TYPED_COMMAND.fullmatch(message.content.strip())
    if m is not None and guild_id is None:
        command, rest = m.group(1).lower(), (m.group(2) or "").strip()
        return Request(user, place, command, rest, platform=platform)
    return Request(user, place, "", message.content, platform=platform)


def interaction_request(
    interaction: discord.Interaction,
    command: str,
    values: Mapping[str, Any] | None = None,
    platform: Platform = OFFLINE,
    text: str = "",
) -> Request:
    """Typed options arrive as params (empty ones dropped), so the core never re-parses them."""
    params: dict[str, ParamValue] = {}
    for name, value in (values or {}).items():
        if isinstance(value, discord.abc.User):
            params[name] = user_ref(value)
        elif isinstance(value, discord.abc.Snowflake):  # a channel, resolved or partial
            params[name] = f"<#{value.id}>"
        elif value is not None and str(value).strip():
            params[name] = str(value)
    return Request(
        user_ref(interaction.user),
        place_ref(interaction.channel_id, interaction.guild_id),
        command,
        text,
        params,
        platform,
    )
