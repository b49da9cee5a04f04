"""Small bounded memories an adapter keeps about recent messages, in memory only."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A small LRU map: remembers the newest `size` entries, forgets the oldest."""

    def __init__(self, size: int = 1000):
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def items(self) -> list[tuple[K, V]]:
        """Oldest first."""
        return list(self._items.items())

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class DraftMemory:
    """Drafts behind reviews whose "review as…" buttons cannot read the draft back from the
    chat (an ephemeral review, a private answer to a group draft, the console). Memory
    only and bounded: a restart forgets them, and the core then asks for the draft again."""

    def __init__(self, size: int = 1000):
        self._drafts: Recent[tuple[str, str], str] = Recent(size)

    def keep(self, chat: str, message: str, draft: str) -> None:
        if draft:
            self._drafts.put((chat, message), draft)

    def recall(self, chat: str, message: str) -> str:
        return self._drafts.get((chat, message)) or ""


class SentKeys:
    """Delivery keys already sent in this process and their message ids: a repeat of the
    same job (after a retry whose first try did go out) is recognised, not shown twice."""

    def __init__(self, size: int = 1000):
        self._sent: Recent[str, str] = Recent(size)

    def sent(self, key: str) -> str | None:
        return self._sent.get(key) if key else None

    def record(self, key: str, message_id: str) -> None:
        if key:
            self._sent.put(key, message_id)
