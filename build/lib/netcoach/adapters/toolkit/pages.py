"""A reply's body as platform-sized messages, split before rendering so no markup is cut."""

from __future__ import annotations

from collections.abc import Callable

from netcoach.bot.kernel import Markup, Segment, split_markup


def pages(
    body: Markup, limit: int, render: Callable[[Segment], str], empty: str, strip: bool = True
) -> list[str]:
    """Rendered messages of at most `limit` characters, split at paragraphs, lines or
    sentences (segments are split before rendering, so an HTML tag or a Markdown escape is
    never cut in half); blank pages are dropped, the rest stripped unless `strip` is False,
    and `empty` stands for a body with no text."""
    rendered = {seg: render(seg) for seg in body}
    whole = "".join(rendered[seg] for seg in body)
    if len(whole) <= limit:  # the common case: one message, rendered once
        groups = [whole]
    else:
        cached = lambda seg: rendered.get(seg) or render(seg)  # noqa: E731
        groups = ["".join(cached(s) for s in group) for group in split_markup(body, limit, cached)]
    kept = [group.strip() if strip else group for group in groups if group.strip()]
    return kept or [empty]
