"""The Telegram adapter: netcoach in Telegram through python-telegram-bot 22.x.

    export TELEGRAM_BOT_TOKEN=123456789:AA...   # from @BotFather
    netcoach run

What users get: any private text is a draft to review (buttons under the review re-review
it in another context; editing the draft edits the review). Every core command works as
/command, with @botname accepted in groups. Replies the core marks private go to the
user's private chat, never to the group; when Telegram refuses that (the user never
started the bot), the group gets a deep link to start, without any draft content.
Nudges arrive privately with inline buttons; a button's outcome replaces the message it
was pressed on when the core says so.

inbound   Update -> Request (pure): commands, drafts, presses, observed group posts
render    Reply -> HTML and inline keyboards (pure), every character of user text escaped
platform  the adapter: polling, sending and editing, the per-request Platform (admins,
          privacy mode), Telegram's refusals as DeliveryErrors

This package's import is light: python-telegram-bot is loaded by `from_config` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netcoach.bot.config import Enabled, Rule, Text, Url, Whole

if TYPE_CHECKING:
    from netcoach.bot.config import Config

    from .platform import TelegramAdapter

PLATFORM = "telegram"
TOKEN_VAR = "TELEGRAM_BOT_TOKEN"
CONFIG: dict[str, Any] = {
    "enabled": "auto",
    "token": f"${{{TOKEN_VAR}}}",
    "base_url": "",
    # Webhook mode instead of polling (any number of workers behind a load balancer):
    # url = the public HTTPS address Telegram posts to; netcoach listens on listen:port.
    "webhook": {"url": "", "listen": "0.0.0.0", "port": 8443, "secret_token": ""},
}
CONFIG_RULES: dict[str, Rule] = {
    "enabled": Enabled(),
    "token": Text("a bot token", max_len=500),
    "base_url": Url(example="http://127.0.0.1:8081/bot"),
    "webhook.url": Url(example="https://bot.example.org/telegram"),
    "webhook.listen": Text("an address to listen on, such as 0.0.0.0", required=True, max_len=255),
    "webhook.port": Whole(1, 65535),
    "webhook.secret_token": Text("a secret (1-256 of A-Z, a-z, 0-9, _ and -)", max_len=256),
}


def from_config(config: Config) -> TelegramAdapter:
    """The adapter for `netcoach run`; fails fast on a missing or malformed token."""
    from .platform import from_config as build

    return build(config)
