"""What a draft is and what /review's words mean."""

from __future__ import annotations

import re

from netcoach.bot.review import CONTEXTS

DEFAULT_MAX_CHARS = 4000  # drafts longer than this are refused (config: review.max_chars)
_TO = re.compile(r"^\s*to\s+([^:\n]{1,80}):\s*(.+)$", re.IGNORECASE | re.DOTALL)
# Other ways people write a context's name.
CONTEXT_ALIASES = {
    "followup": "follow-up",
    "follow_up": "follow-up",
    "follow": "follow-up",
    "first": "dm",
    "first-message": "dm",
    "message": "dm",
    "intro-post": "intro",
    "introduce": "introduction",
}


def split_review(text: str) -> tuple[str, str, str]:
    """What follows /review: "[context] [to <who>:] <draft>" -> (context, who, draft).

    Adapters use it too, to keep the draft for "review as…" buttons without the prefix.
    """
    context, draft = "", text
    first, _, rest = text.strip().partition(" ")
    named = CONTEXT_ALIASES.get(first.lower(), first.lower())
    if named in CONTEXTS:
        context, draft = named, rest.strip()
    to = _TO.match(draft)
    if to:
        return context, to.group(1).strip(), to.group(2)
    return context, "", draft


def clean_draft(text: str) -> str:
    """Drop control characters (but keep line breaks and tabs) and outer whitespace."""
    kept = "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160))
    return kept.strip()


# Short replies people type to a bot, which are not drafts to review.
_HELP = frozenset({"help", "?", "??", "commands", "menu", "start", "what can you do", "h"})
_ANSWERS = frozenset(
    {"yes", "y", "yep", "yeah", "yup", "sure", "no", "n", "nope", "nah"}
)  # fmt: skip
_THANKS = frozenset(
    {"ok", "okay", "k", "kk", "thanks", "thank you", "thx", "ty", "cool", "great", "nice",
     "got it", "alright", "fine", "perfect", "awesome", "👍", "cheers", "thanks a lot", "done"}
)  # fmt: skip
_GREETINGS = frozenset(
    {"hi", "hello", "hey", "hiya", "heya", "yo", "howdy", "greetings", "hallo", "hola",
     "morning", "evening", "afternoon", "good", "dear", "sup", "hej", "bonjour", "ciao"}
)  # fmt: skip
_EXAMPLE_DRAFT = "Hi Ana, loved your talk on soil health — how did you get started?"
# Scripts that pack a word into a character or two, or write no spaces between words
# (kana, CJK, Hangul, Thai): there, characters, not spaces, tell a sentence from a word.
_DENSE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_DENSE_DRAFT = 6  # characters: "こんにちは" alone is a greeting, a sentence is longer


def short_reply(text: str) -> tuple[str, ...] | None:
    """An answer for a message that is not a draft (ok, yes, help, asdf, a 4,000-letter
    word), or None when it should be reviewed. A bare greeting ("hi") is reviewed: that
    review is the useful answer."""
    said = " ".join(re.sub(r"[!.,;:]+", " ", text.lower()).split())
    words = re.findall(r"[^\W_]+(?:['’][^\W_]+)?", text.lower())
    if said in _HELP:
        return (
            "Type /help to see what I can do. To have a message reviewed, send me the whole "
            f"draft, e.g. “{_EXAMPLE_DRAFT}”",
        )
    if said in _ANSWERS:
        return (
            f"“{text.strip()}” to what? To answer a question of mine, use its buttons; to "
            "have a message reviewed, send me the whole draft, or type /help.",
        )
    if said in _THANKS:
        return ("👍 Send me a draft whenever you're ready, or type /help.",)
    if len(words) > 2 or any(w in _GREETINGS for w in words):
        return None
    if len(_DENSE.findall(text)) >= _DENSE_DRAFT:
        return None
    if len(text) > 40:
        return (
            f"That is {len(text):,} characters without the words of a message, so there is "
            "nothing for me to review. Send the draft you plan to send, e.g. "
            f"“{_EXAMPLE_DRAFT}”",
        )
    return (
        f"“{text.strip()}” is too short for me to review. Send me the whole message you "
        f"plan to send, e.g. “{_EXAMPLE_DRAFT}”, or type /help.",
    )
