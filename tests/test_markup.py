"""Long replies are split into messages that each fit the platform, after escaping."""

from __future__ import annotations

import html

import pytest

from netcoach.bot.kernel import Segment, bold, plain, split_markup, split_text


def escaped(seg: Segment) -> str:
    return html.escape(seg.text)


@pytest.mark.parametrize(
    "text",
    ["a" * 2000 + "&" * 2000, "&" * 9000, "<b>" * 3000, ("word " * 3000).strip()],
)
def test_every_page_fits_even_when_escaping_grows_the_text_unevenly(text: str) -> None:
    pages = split_markup((plain(text),), 4096, escaped)
    assert all(sum(len(escaped(s)) for s in page) <= 4096 for page in pages)
    assert "".join(s.text for page in pages for s in page).replace(" ", "") == text.replace(" ", "")


def test_splits_prefer_paragraphs_then_sentences() -> None:
    text = "First paragraph.\n\nSecond one is here. It has two sentences."
    assert split_text(text, 30) == [
        "First paragraph.",
        "Second one is here.",
        "It has two sentences.",
    ]


def test_styles_survive_a_split() -> None:
    pages = split_markup((bold("x" * 50), plain("y" * 50)), 60, escaped)
    assert [[s.style for s in page] for page in pages] == [["bold"], ["plain"]]
