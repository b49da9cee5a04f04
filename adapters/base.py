"""The adapter contract: translate platform events to neutral Requests and Replies back.

An adapter holds no business rule. If two adapters would need the same `if`, it belongs
in the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.types import Reply, UserRef

if TYPE_CHECKING:
    from bot.coach import Coach


class Adapter(Protocol):
    platform: str
    max_text_len: int

    async def run(self, coach: Coach) -> None:
        """Serve until cancelled; release every connection in `finally`."""
        ...

    async def deliver(self, user: UserRef, reply: Reply) -> str:
        """Send `reply` privately to `user` (a nudge) and return the platform message id.

        Raises bot.types.DeliveryError: permanent=True when the user cannot be reached
        (blocked the bot, DMs closed), otherwise the scheduler retries with backoff.
        """
        ...
