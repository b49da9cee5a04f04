"""Telling the core whether a reply reached the platform (`Reply.receipt`).

A hand-over (a reminder shown in a reply because it could not be pushed) is recorded as
delivered only when the adapter confirms that the platform accepted the reply carrying it.
"""

from __future__ import annotations

import logging

from netcoach.bot.kernel import Reply

log = logging.getLogger(__name__)


async def confirm(reply: Reply, message_id: object) -> None:
    """The platform accepted `reply` (as message `message_id`)."""
    if reply.receipt is not None:
        try:
            await reply.receipt.accepted(str(message_id))
        except Exception:  # the reply is out; recording it failing must not undo that
            log.exception("could not record a delivered hand-over")


async def refuse(reply: Reply, reason: str) -> None:
    """The platform refused `reply`: what it carried stays waiting."""
    if reply.receipt is not None:
        try:
            await reply.receipt.refused(reason)
        except Exception:
            log.exception("could not record a refused hand-over")
