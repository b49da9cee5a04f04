"""The draft-review feature: `/review`, plain drafts in a DM, and "review as…" buttons.

Drafts are reviewed and forgotten: nothing here writes a draft anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from netcoach.bot.kernel import (
    Action,
    Button,
    Command,
    Feature,
    Reply,
    Request,
    Segment,
    bold,
    code,
    italic,
    mark,
    plain,
)
from netcoach.bot.review import CONTEXTS, PlaybookSet, Review, ReviewError, review

if TYPE_CHECKING:
    from netcoach.bot.profiles import Profiles

CONTEXT_LABELS = {
    "dm": "first message",
    "intro": "intro post",
    "follow-up": "follow-up",
    "introduction": "introduction",
}
_ARTICLE = {"dm": "a", "intro": "an", "follow-up": "a", "introduction": "an"}
SEVERITY_ICONS = {"problem": "✖", "warn": "⚠", "tip": "💡"}
DEFAULT_MAX_CHARS = 4000
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


class DraftReview(Feature):
    """Reviews drafts; `max_chars` guards against pasted novels.

    `profiles`, when given, keeps drafts for users who turned history on and names a
    bond the draft leaves out when the recipient is known.
    """

    def __init__(
        self,
        playbooks: PlaybookSet,
        max_chars: int = DEFAULT_MAX_CHARS,
        profiles: Profiles | None = None,
    ):
        self.playbooks = playbooks
        self.max_chars = max_chars
        self.profiles = profiles

    def commands(self) -> Iterable[Command]:
        yield Command(
            "review",
            "[context] [to <who>:] <draft>",
            "review a draft (contexts: dm, intro, follow-up, introduction)",
            "review intro Hi all, I'm Ana, a nurse in Porto who bakes bread…",
            self.on_review,
        )

    def actions(self) -> Iterable[Action]:
        yield Action("rr", self.on_rereview)

    async def on_review(self, req: Request) -> list[Reply]:
        if "draft" in req.args:  # the adapter separated it (a replied message, a modal)
            typed_context, who, text = "", "", req.args["draft"]
        else:
            typed_context, who, text = split_review(req.text)
        context = req.args.get("context", "") or typed_context
        if who and "member" not in req.args:  # "/review to Maria: Hi Maria, …"
            req = replace(req, args={**req.args, "recipient": who})
        return [await self.respond(req, text, context or "dm")]

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
        return [await self.respond(req, draft, context)]

    async def respond(self, req: Request, text: str, context: str) -> Reply:
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
        if self.profiles is not None:
            extra = await self.profiles.recipient_finding(req, result)
            if extra is not None:
                score = max(0, result.score - 5) if result.verdict == "revise" else result.score
                result = replace(result, findings=(*result.findings, extra), score=score)
            await self.profiles.record(req, text, result)
        others = [c for c in CONTEXTS if c != context]
        buttons = tuple(Button(f"Review as {CONTEXT_LABELS[c]}", f"rr:{c}") for c in others)
        return Reply(req.place, format_review(result, text), buttons, private=True, kind="review")


def clean_draft(text: str) -> str:
    """Drop control characters (but keep line breaks and tabs) and outer whitespace."""
    kept = "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160))
    return kept.strip()


def format_review(result: Review, text: str) -> tuple[Segment, ...]:
    icon = "✅" if result.verdict == "ready" else "✏️"
    verdict = "ready to send" if result.verdict == "ready" else "worth a revision"
    parts: list[Segment] = [
        bold(f"{icon} {result.score}/100 — {verdict}"),
        plain(f" (as {_ARTICLE[result.context]} {CONTEXT_LABELS[result.context]})"),
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
        # Mark the quoted words where the message quotes them ('…'), never inside a word.
        before, found, after = finding.message.partition(f"'{quote}'") if quote else ("", "", "")
        if found:
            before, found, after = before + "'", quote, "'" + after
        whole = finding.span[0] == 0 and finding.span[1] >= len(text.rstrip())
        if quote and found:
            parts += [plain(before), mark(quote), plain(after)]
        elif quote and not whole:  # a finding about something missing quotes nothing
            parts += [plain("“"), mark(quote), plain("” — "), plain(finding.message)]
        else:
            parts.append(plain(finding.message))
        parts += [plain("\n→ "), italic(finding.suggestion)]
    return tuple(parts)
