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


# What a ready draft does well, per context, each said only when its signal is set.
_STRENGTHS: dict[str, tuple[tuple[str, str], ...]] = {
    "dm": (
        ("shared_bond", "it names what you have in common"),
        ("about_them", "it's about them"),
        ("offers_help", "it gives before it takes"),
    ),
    "follow-up": (
        ("about_them", "it's about them"),
        ("offers_help", "it brings something useful"),
        ("shared_bond", "it recalls what you share"),
    ),
    "intro": (
        ("offers_help", "it reaches out to others"),
        ("about_them", "it invites others in"),
    ),
    "introduction": (
        ("shared_bond", "it says what the two have in common"),
        ("offers_help", "it says what each can give the other"),
    ),
}


def nothing_to_fix(result: Review) -> str:
    """The line under a draft with no findings: only what is true of it, in its context."""
    if not result.english:
        return "Nothing to fix in its length and form."
    said = [words for signal, words in _STRENGTHS[result.context] if result.signals.get(signal)]
    asks = result.signals.get("ask") or "it gives before it takes" in said
    if result.context in ("dm", "follow-up") and not asks:
        said.append("it asks for nothing")
    if not said:
        return "Nothing to fix."
    listed = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    return f"Nothing to fix: {listed}."


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
                "\n\nI review English drafts only for now, so I checked its length, links "
                "and formatting, not what it says."
            )
        )
    if result.calibrated and result.verdict == "revise":
        which = "These findings look" if len(result.findings) > 1 else "This finding looks"
        parts.append(
            plain(
                f"\n\n{which} small, but in the real messages I learnt from, drafts like this "
                "one were mostly ignored: worth fixing before you send."
            )
        )
    elif result.calibrated:
        which, them = (
            ("these findings", "them") if len(result.findings) > 1 else ("this finding", "it")
        )
        parts.append(
            plain(
                f"\n\nIn the real messages I learnt from, drafts like this one mostly got an "
                f"answer despite {which}: it can go as it is, but read {them} first."
            )
        )
    if not result.findings:
        parts.append(plain(f"\n\n{nothing_to_fix(result)}"))
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
