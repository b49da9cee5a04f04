"""What a draft is and what /review's words mean."""

from __future__ import annotations

import re

from netcoach.bot.review import CONTEXTS

DEFAULT_MAX_CHARS = 4000  # drafts longer than this are refused (config: review.max_chars)
_TO = re.compile(r"^\s*to\s+([^:\n]{1,80}):\s*(.+)$", re.IGNORECASE | re.DOTALL)


def split_review(text: str) -> tuple[str, str, str]:
    """What follows /review: "[context] [to <who>:] <draft>" -> (context, who, draft).

    Adapters use it too, to keep the draft for "review as…" buttons without the prefix.
    """
    context, draft = "", text
    first, _, rest = text.strip().partition(" ")
    if first.lower() in CONTEXTS:
        context, draft = first.lower(), rest.strip()
    to = _TO.match(draft)
    if to:
        return context, to.group(1).strip(), to.group(2)
    return context, "", draft


def clean_draft(text: str) -> str:
    """Drop control characters (but keep line breaks and tabs) and outer whitespace."""
    kept = "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160))
    return kept.strip()
