"""The adapter contract: translate platform events to neutral Requests and Replies back.

An adapter holds no business rule. If two adapters would need the same `if`, it belongs
in the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from netcoach.bot.kernel import PlaceRef, Reply, Request, UserRef

if TYPE_CHECKING:
    from netcoach.bot.kernel import Coach, Where


class Adapter(Protocol):
    platform: str
    max_text_len: int

    async def run(self, coach: Coach) -> None:
        """Serve until cancelled; release every connection in `finally`."""
        ...

    async def deliver(self, user: UserRef, reply: Reply, key: str = "") -> str:
        """Send `reply` privately to `user` (a nudge) and return the platform message id.

        `key` is the same for every attempt at one reminder: an adapter that can, drops a
        repeat (Discord as the message nonce). Raises bot.types.DeliveryError:
        permanent=True when the user cannot be reached (blocked the bot, DMs closed),
        otherwise the scheduler retries with backoff.
        """
        ...

    async def post(self, place: PlaceRef, reply: Reply, key: str = "") -> str:
        """Post `reply` into a channel or group (a community tip); errors as for deliver."""
        ...

    async def where(self, req: Request, channel: str = "") -> Where:
        """Platform facts a community command needs: is the sender an admin, may the bot
        post in the channel, does it see ordinary messages there."""
        ...
