"""What every adapter needs and no core module should know: bounded memories of recent
messages, paging a reply into platform-sized messages, and mapping a platform's refusals
to the scheduler's DeliveryError."""

from .errors import delivering
from .memory import DraftMemory, Recent, SentKeys
from .pages import pages

__all__ = ["DraftMemory", "Recent", "SentKeys", "delivering", "pages"]
