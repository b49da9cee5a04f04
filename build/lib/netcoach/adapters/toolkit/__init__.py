"""What every adapter needs and no core module should know: bounded memories of recent
messages, paging a reply into platform-sized messages, mapping a platform's refusals
to the scheduler's DeliveryError, and connecting with capped backoff."""

from .connecting import DEFAULT_BACKOFF, Backoff, wait_to_retry
from .errors import delivering
from .memory import DraftMemory, Recent, SentKeys
from .pages import pages
from .receipts import confirm, refuse

__all__ = [
    "DEFAULT_BACKOFF",
    "Backoff",
    "DraftMemory",
    "Recent",
    "SentKeys",
    "confirm",
    "delivering",
    "pages",
    "refuse",
    "wait_to_retry",
]
