"""The two errors that cross the kernel's boundary.

`UserError` is the one way a handler says "no, and here is why": the router turns it into
a private reply, so handlers never build refusal replies by hand. `DeliveryError` is the
one way an adapter says a send failed, and how: the scheduler's retry policy reads it.
"""

from __future__ import annotations

from .markup import Segment


class UserError(Exception):
    """Input the user can fix; `parts` (text and styled segments) are shown to them as is."""

    def __init__(self, *parts: Segment | str):
        super().__init__("".join(p if isinstance(p, str) else p.text for p in parts))
        self.parts = parts


class DeliveryError(Exception):
    """A send failed. `permanent` means retrying cannot help (blocked bot, DMs closed);
    `deferred` means this process cannot deliver it at all (that platform is not running
    here), so it waits without using up its tries."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        deferred: bool = False,
    ):
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after
        self.deferred = deferred
