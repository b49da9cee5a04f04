"""What an adapter tells the core about the platform a request came from.

Community commands need platform facts only the adapter can answer: is the sender an admin
there, may the bot post in that channel, does it see ordinary posts. The adapter hands each
request a `Platform` bound to that request's native event, so the core asks questions
instead of reading platform objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .types import PlaceRef, Reply, UserRef

if TYPE_CHECKING:
    from .router import Coach


@dataclass(frozen=True, slots=True)
class Where:
    """What the platform says about a request's community and a channel in it."""

    community: str = ""  # the server/group id; "" outside a community (a DM)
    community_name: str = ""
    admin: bool = False  # the requester may manage the community (checked on every call)
    admin_rule: str = "its admins"  # who counts as an admin here, for the refusal
    channel: PlaceRef | None = None  # the channel asked about; None when there is none
    channel_name: str = ""
    cannot_post: str = ""  # why the bot cannot post there, naming the missing permission
    sees_posts: bool = True  # ordinary posts there reach the bot (activity, intros)
    reads_text: bool = True  # ...with their text (Discord: the message-content intent)
    note: str = ""  # a platform fact worth telling the admin (e.g. Telegram privacy mode)


class Platform(Protocol):
    """Handed to the core with each request; answers for that request's platform."""

    @property
    def max_text(self) -> int:
        """The most characters one message may hold there."""
        ...

    def is_channel(self, word: str) -> bool:
        """Whether a typed word names a channel or group ("#general", "<#123>", an id)."""
        ...

    def mentions(self, text: str) -> bool:
        """Whether `text` would ping someone if posted there ("@everyone", "<@123>")."""
        ...

    async def where(self, channel: str = "") -> Where:
        """The request's community, whether the sender administers it, and `channel` in it
        ("" = the request's own channel)."""
        ...


_MENTION = re.compile(r"(?<![\w.])@\w")


@dataclass(frozen=True, slots=True)
class Offline:
    """The platform of a request no adapter received (the CLI, a test): no community."""

    max_text: int = 4096

    def is_channel(self, word: str) -> bool:
        return word.startswith("#")

    def mentions(self, text: str) -> bool:
        return _MENTION.search(text) is not None

    async def where(self, channel: str = "") -> Where:
        return Where()


OFFLINE = Offline()


class Adapter(Protocol):
    """A chat platform: serves requests to the router and sends what the scheduler pushes."""

    platform: str

    async def run(self, coach: Coach) -> None:
        """Serve until cancelled; release every connection in `finally`."""
        ...

    async def deliver(self, user: UserRef, reply: Reply, key: str = "") -> str:
        """Send `reply` privately to `user` (a nudge); the platform message id.

        `key` is the same for every attempt at one job: an adapter that can, drops a
        repeat (Discord as the message nonce). Raises DeliveryError: permanent when the user
        cannot be reached (blocked the bot, DMs closed); otherwise the scheduler retries.
        """
        ...

    async def post(self, place: PlaceRef, reply: Reply, key: str = "") -> str:
        """Post `reply` into a channel or group (a community tip); errors as for deliver."""
        ...


class Workers(Protocol):
    """What several workers sharing one database agree on (bot/storage/coordination.py):
    who polls a platform, whether an update was already handled, which shards are whose."""

    async def lead(self, role: str) -> None:
        """Return once this process holds `role` (at most one process does at a time)."""
        ...

    async def first_time(self, platform: str, update_id: int) -> bool:
        """True the first time an update is seen by any worker, False ever after."""
        ...

    async def shard_ids(self, platform: str, total: int) -> list[int]:
        """This worker's share of the platform's shards; call again to renew its lease."""
        ...


@dataclass(frozen=True, slots=True)
class Alone:
    """One process and no shared record: every role, update and shard is its own."""

    async def lead(self, role: str) -> None:
        return None

    async def first_time(self, platform: str, update_id: int) -> bool:
        return True

    async def shard_ids(self, platform: str, total: int) -> list[int]:
        return list(range(total))


ALONE = Alone()
