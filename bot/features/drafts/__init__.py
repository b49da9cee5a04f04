"""Draft review in chat: /review, a plain private message, "review as…" buttons, /history."""

from .feature import DEFAULT_MAX_CHARS, DraftReview
from .grammar import clean_draft, split_review
from .render import CONTEXT_LABELS, format_review
from .repository import HistoryRepository

__all__ = [
    "CONTEXT_LABELS",
    "DEFAULT_MAX_CHARS",
    "DraftReview",
    "HistoryRepository",
    "clean_draft",
    "format_review",
    "split_review",
]
