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
    """A send failed, and how; the scheduler's retry policy reads only these flags.

    permanent  retrying cannot help: this person or place cannot be reached (blocked bot,
               DMs closed, removed from the group); parked for a hand-over
    outage     the platform is down or unreachable (5xx, refused connection, DNS): not this
               message's fault, so it waits without using up its tries
    uncertain  the outcome is unknown (the request timed out and may have gone through):
               retried, flagged as a possible repeat
    deferred   this process cannot deliver it at all (that platform is not running here)
    retry_after  the platform asked to slow down: the item waits that long, no try used
    Anything else is an ordinary failure: retried with backoff, then parked.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        deferred: bool = False,
        outage: bool = False,
        uncertain: bool = False,
    ):
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after
        self.deferred = deferred
        self.outage = outage
        self.uncertain = uncertain
