"""What every adapter needs and no core module should know: bounded memories of recent
messages, paging a reply into platform-sized messages, and mapping a platform's refusals
to the scheduler's DeliveryError."""

from .errors import delivering
from .memory import DraftMemory, Recent, SentKeys
from .pages import pages
from .receipts import confirm, refuse

__all__ = ["DraftMemory", "Recent", "SentKeys", "confirm", "delivering", "pages", "refuse"]
