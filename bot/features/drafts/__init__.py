"""Draft review in chat: /review, a plain private message, "review as…" buttons, /history.

The package itself exports only what `netcoach review` shares with the chat (what a draft
is, how a review reads), so the command line never loads the database layer; the feature
is `.feature.DraftReview`, its table `.repository.HistoryRepository`.
"""

from .grammar import DEFAULT_MAX_CHARS, clean_draft, split_review
from .render import CONTEXT_LABELS, format_review

__all__ = ["CONTEXT_LABELS", "DEFAULT_MAX_CHARS", "clean_draft", "format_review", "split_review"]
