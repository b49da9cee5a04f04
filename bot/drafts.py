"""The draft-review feature: `/review`, plain drafts in a DM, and "review as…" buttons.

Drafts are reviewed and forgotten: nothing here writes a draft anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.commands import Action, Command
from bot.markup import Segment, bold, code, italic, mark, plain
from bot.playbooks import CONTEXTS, PlaybookSet
from bot.review import Review, ReviewError, review
from bot.types import Button, Reply, Request

CONTEXT_LABELS = {
    "dm": "first message",
    "intro": "intro post",
    "follow-up": "follow-up",
    "introduction": "introduction",
}
SEVERITY_ICONS = {"problem": "✖", "warn": "⚠", "tip": "💡"}
DEFAULT_MAX_CHARS = 4000


class DraftReview:
    """Reviews drafts; `max_chars` guards against pasted novels."""

    def __init__(self, playbooks: PlaybookSet, max_chars: int = DEFAULT_MAX_CHARS):
        self.playbooks = playbooks
        self.max_chars = max_chars

    def commands(self) -> Iterable[Command]:
        yield Command(
            "review",
            "[context] <draft>",
            "review a draft (contexts: dm, intro, follow-up, introduction)",
            "review intro Hi all, I'm Ana, a nurse in Porto who bakes bread…",
            self.on_review,
        )

    def actions(self) -> Iterable[Action]:
        yield Action("rr", self.on_rereview)

    async def on_review(self, req: Request) -> list[Reply]:
        context = req.args.get("context", "")
        text = req.args.get("draft", req.text)
        if not context:
            first, _, rest = text.strip().partition(" ")
            if first.lower() in CONTEXTS:
                context, text = first.lower(), rest
        return [self.reply(req, text, context or "dm")]

    async def on_rereview(self, req: Request) -> list[Reply]:
        """Button "rr:<context>": the adapter passes the original draft in args["draft"]."""
        context = req.text.partition(":")[2]
        draft = req.args.get("draft", "")
        if not draft:
            return [
                Reply.of(
                    req.place,
                    "I no longer have that draft (I don't keep drafts). Send it again, or use ",
                    code(f"/review {context} <draft>"),
                    ".",
                    private=True,
                )
            ]
        return [self.reply(req, draft, context)]

    def reply(self, req: Request, text: str, context: str) -> Reply:
        """The review of `text` as a Reply, or a friendly explanation of why not."""
        text = clean_draft(text)
        if len(text) > self.max_chars:
            return Reply.of(
                req.place,
                f"That draft is {len(text):,} characters; I review up to {self.max_chars:,}. "
                "Send a shorter draft — first messages work best under 1,000 characters.",
                private=True,
            )
        try:
            result = review(text, context, self.playbooks)
        except ReviewError as exc:
            return Reply.of(req.place, str(exc), private=True)
        others = [c for c in CONTEXTS if c != context]
        buttons = tuple(Button(f"Review as {CONTEXT_LABELS[c]}", f"rr:{c}") for c in others)
        return Reply(req.place, format_review(result, text), buttons, private=True, kind="review")


def clean_draft(text: str) -> str:
    """Drop control characters (but keep line breaks and tabs) and outer whitespace."""
    return "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160))


def format_review(result: Review, text: str) -> tuple[Segment, ...]:
    icon = "✅" if result.verdict == "ready" else "✏️"
    verdict = "ready to send" if result.verdict == "ready" else "worth a revision"
    parts: list[Segment] = [
        bold(f"{icon} {result.score}/100 — {verdict}"),
        plain(f" (as a {CONTEXT_LABELS[result.context]})"),
    ]
    if not result.findings:
        parts.append(plain("\n\nNothing to fix: it's about them, it gives before it takes."))
    for finding in result.findings:
        parts += [
            plain(f"\n\n{SEVERITY_ICONS[finding.severity]} "),
            bold(finding.principle),
            plain(": "),
        ]
        quote = finding.excerpt
        before, found, after = finding.message.partition(quote)
        whole = finding.span[0] == 0 and finding.span[1] >= len(text.rstrip())
        if quote and found:
            parts += [plain(before), mark(quote), plain(after)]
        elif quote and not whole:  # a finding about something missing quotes nothing
            parts += [plain("“"), mark(quote), plain("” — "), plain(finding.message)]
        else:
            parts.append(plain(finding.message))
        parts += [plain("\n→ "), italic(finding.suggestion)]
    return tuple(parts)
