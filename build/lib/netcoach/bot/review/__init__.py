"""The review: pure functions from a draft and playbooks to a score, a verdict and findings.

Nothing here touches storage, time or a platform; the rest of netcoach imports the review
only through the names below.
"""

from .engine import Engine, Finding, Review, ReviewError, builtin_playbooks, engine_for, review
from .schema import (
    BUILTIN_DIR,
    CONTEXTS,
    Check,
    Playbook,
    PlaybookError,
    PlaybookSet,
    check_dirs,
    load_playbooks,
    parse_playbook,
)

__all__ = [
    "BUILTIN_DIR",
    "CONTEXTS",
    "Check",
    "Engine",
    "Finding",
    "Playbook",
    "PlaybookError",
    "PlaybookSet",
    "Review",
    "ReviewError",
    "builtin_playbooks",
    "check_dirs",
    "engine_for",
    "load_playbooks",
    "parse_playbook",
    "review",
]
