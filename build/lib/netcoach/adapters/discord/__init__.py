"""The Discord adapter: DMs, slash commands, modals, a context menu, persistent buttons.

    discord:
      enabled: true            # token from ${DISCORD_TOKEN}; see docs/discord.md
      dev_guild_id: ""         # sync commands to one server while developing (instant)

What a user gets: a DM to the bot is reviewed as a draft; every core command is a slash
command whose options, menus and autocomplete come from the command's typed params (a
paragraph param opens a modal); the message context menu "Review as draft"; answers in
servers are ephemeral; nudges by DM as an embed with buttons that keep working after a
restart. Every message is sent with AllowedMentions.none(): a reviewed draft or a tip pings
no one.

inbound   discord.py events -> Request (pure)
render    Reply -> content or embed, and persistent buttons (pure), text escaped
commands  slash commands, modals and autocomplete generated from the core's Commands
platform  the adapter: connection, intents, answering interactions and DMs, nudges and
          tips, the per-request Platform (Manage Server, channel permissions)

This package's import is light: discord.py is loaded by `from_config` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netcoach.bot.config import CountOr, Digits, Enabled, Rule, Text, Url

if TYPE_CHECKING:
    from netcoach.bot.config import Config

    from .platform import DiscordAdapter

PLATFORM = "discord"
TOKEN_VAR = "DISCORD_TOKEN"
CONFIG: dict[str, Any] = {
    "enabled": "auto",
    "token": f"${{{TOKEN_VAR}}}",
    "dev_guild_id": "",
    "api_base_url": "",
    "gateway_url": "",
    "shards": "",
}
CONFIG_RULES: dict[str, Rule] = {
    "enabled": Enabled(),
    "token": Text("a bot token", max_len=500),
    "dev_guild_id": Digits("a server id (digits)"),
    "api_base_url": Url(example="https://discord.com/api/v10"),
    "gateway_url": Url(example="wss://gateway.discord.gg", schemes=("ws", "wss")),
    "shards": CountOr(("auto",), 100_000),
}


def from_config(config: Config) -> DiscordAdapter:
    """Checks the token's presence and shape here, so start-up fails before any connection."""
    from .platform import from_config as build

    return build(config)
