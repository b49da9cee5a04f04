"""A review as a reply: score and verdict, then each finding with the words behind it."""

from __future__ import annotations

from netcoach.bot.kernel import Segment, bold, italic, mark, plain
from netcoach.bot.review import Review

CONTEXT_LABELS = {
    "dm": "first message",
    "intro": "intro post",
    "follow-up": "follow-up",
    "introduction": "introduction",
}
_ARTICLE = {"dm": "a", "intro": "an", "follow-up": "a", "introduction": "an"}
SEVERITY_ICONS = {"problem": "✖", "warn": "⚠", "tip": "💡"}


def format_review(result: Review, text: str) -> tuple[Segment, ...]:
    icon = "✅" if result.verdict == "ready" else "✏️"
    verdict = "ready to send" if result.verdict == "ready" else "worth a revision"
    parts: list[Segment] = [
        bold(f"{icon} {result.score}/100 — {verdict}")
        if result.english
        else bold(f"🌐 A draft in {result.language_name}"),
        plain(f" (as {_ARTICLE[result.context]} {CONTEXT_LABELS[result.context]})"),
    ]
    if not result.english:
        parts.append(
            plain(
                "\n\nFor now I review English drafts only, so I checked just what does not "
                "depend on the language: length, links, capitals, exclamation marks and emoji"
                + (" — nothing to fix there." if not result.findings else ".")
            )
        )
    elif not result.findings:
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
