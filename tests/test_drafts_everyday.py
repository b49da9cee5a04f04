"""Reviews in the chat as people use them (issue 14), through the real console adapter:
short replies, wording that fits the context, the recipient, whole-word quotes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_chat import ConsoleChat
from followup_fakes import FakeClock

from netcoach.bot.app import App, build, load_config
from netcoach.bot.features.drafts import format_review, nothing_to_fix
from netcoach.bot.review import review

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
GREETING_ONLY = "is only a greeting"


async def _chat(tmp_path: Path, extra: str = "") -> App:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(f"database: {tmp_path / 'c.sqlite3'}\n{extra}")
    return await build(load_config(config_file, env={}), clock=FakeClock(T0))


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[ConsoleChat]:
    app = await _chat(tmp_path)
    yield ConsoleChat(app)
    await app.close()


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("ok", "Send me a draft whenever you're ready"),
        ("Thanks!", "Send me a draft whenever you're ready"),
        ("yes", "“yes” to what? To answer a question of mine, use its buttons"),
        ("no", "“no” to what? To answer a question of mine, use its buttons"),
        ("help", "Type /help to see what I can do."),
        ("asdf", "“asdf” is too short for me to review."),
        ("a" * 4000, "That is 4,000 characters without the words of a message"),
    ],
)
async def test_short_replies_get_a_sensible_answer(
    chat: ConsoleChat, typed: str, answer: str
) -> None:
    said = await chat.say(typed)
    assert answer in said
    assert GREETING_ONLY not in said and "/100" not in said


async def test_a_bare_greeting_is_still_reviewed(chat: ConsoleChat) -> None:
    assert GREETING_ONLY in await chat.say("hi")


async def test_a_command_typed_without_its_slash_is_answered_then_hinted(
    chat: ConsoleChat,
) -> None:
    said = await chat.say("followup Maria in 2 weeks")
    assert said.index("/100") < said.index("If you meant the command, type")
    assert "/followup Maria in 2 weeks" in said
    # "done" is a short reply, not a draft: the hint promises no review.
    said = await chat.say("done")
    assert "/100" not in said and "review of it" not in said
    assert "If you meant the command, type" in said and "/done" in said


@pytest.mark.parametrize(
    ("draft", "language"),
    [
        ("こんにちは、あなたの講演がとても良かったです。", "Japanese"),
        ("안녕하세요 반갑습니다", "Korean"),
        ("你好，我很喜欢你昨天的演讲。", "Chinese"),
    ],
)
async def test_a_draft_written_without_spaces_is_reviewed_not_called_too_short(
    chat: ConsoleChat, draft: str, language: str
) -> None:
    said = await chat.say(draft)
    assert f"A draft in {language}" in said and "too short" not in said


@pytest.mark.parametrize(
    ("context", "draft", "line"),
    [
        (
            "dm",
            "Hi Lena, we're both in the NHS Nurses Slack — how did you get your team to agree "
            "on the new rota? Happy to share our template if it helps.",
            "Nothing to fix: it names what you have in common, it's about them and it gives "
            "before it takes.",
        ),
        (
            "follow-up",
            "Hi Tom, here's the article I mentioned at lunch — hope it helps with the migration.",
            # "the migration" is his: the learnt about-them detector counts it.
            "Nothing to fix: it's about them, it brings something useful and it asks for nothing.",
        ),
        (
            "introduction",
            "Tom, meet Ana: you both run meetups in Leeds and said you'd like to compare "
            "notes. Happy to share the venue list I keep, too.",
            # An offer in words (`offer-of-help`), so the line holds whatever the learnt
            # models read after a retrain.
            "Nothing to fix: it says what each can give the other.",
        ),
    ],
)
def test_nothing_to_fix_says_only_what_is_true_in_that_context(
    context: str, draft: str, line: str
) -> None:
    result = review(draft, context)
    assert not result.findings
    assert nothing_to_fix(result) == line


async def test_followup_is_accepted_as_a_context_name(chat: ConsoleChat) -> None:
    said = await chat.say("/review followup Hi Tom, here's the article I mentioned. Hope it helps!")
    assert "(as a follow-up)" in said


async def test_review_to_a_contact_shows_the_specific_bond_tip_only(chat: ConsoleChat) -> None:
    await chat.say("/contact Tom bond we both row")
    said = await chat.say("/review to Tom: Hi Tom, how is the new job going?")
    assert "You share something the draft doesn't mention: we both row." in said
    assert "No shared bond" not in said
    assert said.count("Mention the shared bond") == 1


async def test_review_to_an_unknown_contact_says_so(chat: ConsoleChat) -> None:
    said = await chat.say("/review to Nobody: Hi Sam, loved your talk on soil. How did you start?")
    assert "I don't know anyone called “Nobody” among your contacts" in said
    assert "/100" in said  # the review itself is still there


async def test_the_length_refusal_uses_the_configured_limit(tmp_path: Path) -> None:
    app = await _chat(tmp_path, "review:\n  max_chars: 200\n")
    try:
        said = await ConsoleChat(app).say("Hi Ana, " + "I loved your talk on soil health. " * 10)
        assert "I review up to 200" in said and "1,000" not in said
    finally:
        await app.close()


async def test_plurals(chat: ConsoleChat) -> None:
    await chat.say("/history on")
    await chat.say("Hi Ana, loved your talk on soil health — how did you get started?")
    assert "I deleted 1 stored draft." in await chat.say("/history off")


def test_a_draft_in_another_language_says_reviews_are_english_only() -> None:
    draft = (
        "Bonjour Marie, j'ai adoré ta conférence sur la santé des sols. Comment as-tu commencé ?"
    )
    result = review(draft, "dm")
    assert not result.english
    text = "".join(s.text for s in format_review(result, draft))
    assert text.startswith("🌐 A draft in French") and "I review English drafts only" in text
    assert "asks for nothing" not in text and "it's about them" not in text
    assert "ready to send" not in text and "/100" not in text


@pytest.mark.parametrize("typed", ["/review", "/review intro", "/review follow-up   "])
async def test_review_with_no_draft_says_where_the_draft_goes(
    chat: ConsoleChat, typed: str
) -> None:
    said = await chat.say(typed)
    assert "Put the draft after the command" in said and "“”" not in said
