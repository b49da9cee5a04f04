"""Draft review in chat: /review, a plain private message, "review as…" buttons, /history.

The package itself exports only what `netcoach review` shares with the chat (what a draft
is, how a review reads), so the command line never loads the database layer; the feature
is `.feature.DraftReview`, its table `.repository.HistoryRepository`.
"""

from .grammar import CONTEXT_ALIASES, DEFAULT_MAX_CHARS, clean_draft, short_reply, split_review
from .render import CONTEXT_LABELS, format_review, nothing_to_fix

__all__ = [
    "CONTEXT_ALIASES",
    "CONTEXT_LABELS",
    "DEFAULT_MAX_CHARS",
    "clean_draft",
    "format_review",
    "nothing_to_fix",
    "short_reply",
    "split_review",
]
