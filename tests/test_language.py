"""A draft not in English gets no English verdict: measured on real and written samples."""

from __future__ import annotations

import json

import pytest
from labelled import REAL_LOCKED, REAL_TRAIN, ROOT, SYNTHETIC, read_jsonl

from netcoach.bot.review import review
from netcoach.bot.review.language import NAMES

SAMPLES = ROOT / "tests" / "data" / "languages.jsonl"


def test_real_english_messages_are_all_taken_as_english(capsys):
    rows = [r for r in read_jsonl(REAL_TRAIN) + read_jsonl(REAL_LOCKED) if "language" not in r]
    rows += [r for path in SYNTHETIC for r in read_jsonl(path)]
    wrong = [r["text"] for r in rows if review(r["text"], r["context"]).language != "en"]
    with capsys.disabled():
        print(f"\nEnglish drafts taken as English: {len(rows) - len(wrong)}/{len(rows)}")
    assert not wrong


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hi Ana, no agenda here", "en"),  # "no" is Portuguese and Spanish too
        ("no pitch here, promise", "en"),
        ("Salut Marie, ça va?", "fr"),
    ],
)
def test_short_drafts_are_read_in_their_own_language(text, language):
    assert review(text).language == language


def test_written_samples_in_seventeen_languages_are_recognised(capsys):
    rows = read_jsonl(SAMPLES)
    got = [(r["lang"], review(r["text"]).language) for r in rows]
    right = sum(want == have for want, have in got)
    with capsys.disabled():
        print(f"\nlanguage samples recognised: {right}/{len(rows)}")
    assert {r["lang"] for r in rows} - {"en"} <= set(NAMES)
    assert right == len(rows), [pair for pair in got if pair[0] != pair[1]]


def test_real_non_english_drafts_are_recognised_and_never_told_to_revise_on_english_grounds():
    rows = [r for r in read_jsonl(REAL_TRAIN) + read_jsonl(REAL_LOCKED) if "language" in r]
    assert len(rows) >= 10
    for r in rows:
        result = review(r["text"], r["context"])
        assert result.language == r["language"]
        assert result.verdict == "ready", r["text"]
        assert all(f.rule in LANGUAGE_NEUTRAL_RULES for f in result.findings)


LANGUAGE_NEUTRAL_RULES = {
    "too-long",
    "wall-of-text",
    "shouting",
    "emoji-storm",
    "too-many-exclamations",
    "link-in-first-message",
    "intro-too-short",
    "intro-without-context",
}


def test_a_good_spanish_draft_is_ready_and_says_which_language_it_read():
    text = (
        "Hola Marta, vi tu charla en la PyCon de Granada. ¿Cómo resolviste el problema? "
        "Te puedo pasar mis notas si te sirven."
    )
    result = review(text)
    assert result.language == "es" and result.verdict == "ready"
    assert json.loads(json.dumps(result.to_dict()))["language"] == "es"


def test_what_can_still_be_checked_is_checked_in_any_language():
    shouting = "HOLA AMIGOS, COMPREN MIS CURSOS AHORA MISMO, OFERTA ESPECIAL PARA TODOS"
    result = review(shouting)
    assert result.language == "es"
    assert [f.rule for f in result.findings] == ["shouting"]


def test_the_reply_to_a_non_english_draft_says_what_was_and_was_not_checked():
    from netcoach.bot.features.drafts.render import format_review

    text = (
        "Bonjour Claire, j'ai adoré ta présentation sur les jardins partagés. Comment as-tu fait ?"
    )
    reply = "".join(seg.text for seg in format_review(review(text), text))
    assert reply.startswith("🌐 A draft in French") and "English drafts only" in reply
    assert "not what it says" in reply
    assert "ready to send" not in reply and "100/100" not in reply


def test_the_words_of_a_link_vote_for_no_language():
    link = "https://ai.studio/apps/6ce2a7ce-c772-42c4-9e7d-462fa893971b"
    draft = f"{link}\nBrand new to GitHub\n{link}\n{link}"  # "ai" is French for "have"
    assert review(draft, "intro").language == "en"


@pytest.mark.parametrize("draft", ["gracias hola estoy x.com's", "gracias hola estoy a'b.co"])
def test_a_link_that_ends_inside_a_word_takes_no_more_votes_than_the_draft_has(draft):
    # "com" of "x.com's" is not a word of the draft: it once made the vote go negative.
    assert review(draft).language == "es"
