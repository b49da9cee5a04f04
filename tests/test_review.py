"""The review as a user sees it: verdicts, quoted findings, accuracy, and odd input."""

from __future__ import annotations

import json
import random
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from labelled import BLIND, CORPUS, DEV_SET, DEVSTYLE, FRESH, HOLDOUT, read_jsonl

from netcoach.bot.review import CONTEXTS, ReviewError, review
from netcoach.bot.review.patterns import alternation
from netcoach.bot.review.text import _TOKEN as TOKEN
from netcoach.bot.review.text import Text

LABELS = ("pitch", "shared_bond", "about_them", "ask")
REQUIRED_ACCURACY = 0.9


def accuracy(rows: list[dict]) -> dict[str, float]:
    hits: dict[str, list[int]] = {k: [0, 0] for k in ("verdict", *LABELS, "offers_help")}
    for row in rows:
        result = review(row["text"], row["context"])
        got = {"verdict": result.verdict, **result.signals}
        for key, (_, total) in hits.items():
            if row.get(key) is None:
                continue
            hits[key][1] = total + 1
            hits[key][0] += got[key] == row[key]
    return {k: right / total for k, (right, total) in hits.items() if total}


@pytest.mark.parametrize(
    "path",
    [DEV_SET, CORPUS, HOLDOUT, BLIND, FRESH, DEVSTYLE],
    ids=["dev-set", "corpus", "holdout", "blind", "fresh", "devstyle"],
)
def test_verdict_and_signal_accuracy_meet_the_bar(path, capsys):
    rows = read_jsonl(path)
    scores = accuracy(rows)
    with capsys.disabled():
        print(
            f"\n{path.name} ({len(rows)} drafts): "
            + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
        )
    for key in ("verdict", *LABELS):
        assert scores[key] >= REQUIRED_ACCURACY, f"{key} accuracy {scores[key]:.3f}"


def test_the_own_corpora_are_large_varied_and_not_copied_from_the_dev_set():
    ours = [read_jsonl(path) for path in (CORPUS, HOLDOUT, BLIND, FRESH, DEVSTYLE)]
    assert sum(map(len, ours)) >= 850
    assert all({r["context"] for r in rows} == set(CONTEXTS) for rows in ours)
    dev_texts = {r["text"] for r in read_jsonl(DEV_SET)}
    assert not {r["text"] for rows in ours for r in rows} & dev_texts


def test_review_has_the_documented_json_shape():
    data = review("Hi Ana, loved your talk on soil health! How did you start?").to_dict()
    assert set(data) == {
        "context", "language", "score", "verdict", "likely_ignored", "calibrated", "signals",
        "findings",
    }  # fmt: skip
    assert data["language"] == "en"
    assert set(data["signals"]) == {
        "pitch", "ask", "shared_bond", "about_them", "offers_help", "bare_greeting",
        "introduces", "self_focus", "word_count", "question_count",
    }  # fmt: skip
    json.dumps(data)  # plain data all the way down
    assert data["signals"]["word_count"] == 12 and data["signals"]["question_count"] == 1


def test_every_finding_quotes_the_words_behind_it_and_names_its_principle():
    text = "Dear Sir/Madam, check out my course. Could you refer me to your boss?"
    result = review(text)
    assert result.verdict == "revise"
    for finding in result.findings:
        start, end = finding.span
        assert text[start:end].startswith(finding.excerpt.rstrip("…"))
        assert finding.principle and finding.suggestion
    rules = {f.rule: f for f in result.findings}
    assert rules["template-opener"].excerpt == "Dear Sir/Madam"
    assert rules["pitch-in-first-contact"].excerpt == "check out my course"
    assert "check out my course" in rules["pitch-in-first-contact"].message
    assert rules["favour-from-a-stranger"].excerpt == "Could you refer"


def test_a_revise_verdict_always_says_what_to_change_and_scores_below_ready():
    ready = review(
        "Hi Sam, congrats on the new role at the library! How are the first weeks going?"
    )
    revise = review("Hello! I'd like to add you to my professional network.")
    assert ready.verdict == "ready" and revise.verdict == "revise"
    assert ready.score > revise.score
    assert any(f.severity == "problem" and f.suggestion for f in revise.findings)


@pytest.mark.parametrize(
    "text",
    [
        "I won't pitch you anything — I just loved your piece on rural clinics. How did it start?",
        "No sales here: your thread on bread hydration was brilliant. What flour do you use?",
        'Someone said to "book a call" with every contact; I\'d rather ask: how is your shop?',
        "Happy to pitch in on the park clean-up, Ana — want me to bring gloves?",
    ],
)
def test_negation_and_quotes_do_not_read_as_a_pitch(text):
    assert review(text).signals["pitch"] is False


def test_a_real_pitch_after_a_disclaimer_is_still_a_pitch():
    text = "I'm not selling anything, but check out my new course — 50% off this week!"
    assert review(text).signals["pitch"] is True


def test_the_same_words_are_judged_by_their_context():
    intro_request = (
        "Hi Lea, would you be open to asking your colleague Tom if he'd take two questions "
        "about his thesis? I'm writing my first paper on tidal energy and his chapter helped. "
        "Happy to write a short blurb you can forward, and totally fine if not."
    )
    assert review(intro_request, "introduction").verdict == "ready"
    assert review(intro_request, "dm").signals["ask"] is True


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n"])
def test_an_empty_draft_gets_a_clear_message(text):
    with pytest.raises(ReviewError, match="empty"):
        review(text)


def test_an_unknown_context_names_the_valid_ones():
    with pytest.raises(ReviewError, match="dm, intro, follow-up, introduction"):
        review("hello", "email")


def test_full_width_letters_read_as_the_same_words_and_quote_as_written():
    text = (
        "Hi ＡＮＡ， loved your ｔａｌｋ ｏｎ ｔｉｄａｌ ｅｎｅｒｇｙ！ "
        "ｃｏｕｌｄ ｙｏｕ ｒｅｆｅｒ ｍｅ？"
    )
    plain = "Hi ANA, loved your talk on tidal energy! could you refer me?"
    result, expected = review(text), review(plain)
    assert result.verdict == expected.verdict and result.signals == expected.signals
    assert [text[slice(*f.span)] for f in result.findings] == [f.excerpt for f in result.findings]
    assert "ｃｏｕｌｄ ｙｏｕ ｒｅｆｅｒ" in [f.excerpt for f in result.findings]


@pytest.mark.parametrize(
    "text",
    [
        "Hi\u200b Ana\u200d, your\u2060 talk was great! How did you start?",  # zero-width
        "مرحبا سارة، أحببت حديثك عن الطاقة الشمسية. كيف بدأت؟",  # RTL
        "\u202eHi Ana, I loved your talk\u202c",  # bidi override
        "Ｈｉ Ａｎａ 👋🏽👩‍💻 your café's crème brûlée is amazing!",  # full-width, ZWJ emoji
        "Zoë, I loved your tálk on Łódź tram history — how did you find the archive?",
        "e\u0301\u0301\u0301" * 50,  # stacked combining marks
        "İstanbul'daki konuşmanızı çok beğendim!",  # 'İ' lowers to two characters
        "ΟΔΥΣΣΕΑΣ. Hi Ana, I loved your ΣΟΦΙΑΣ talk, could you refer me?",  # final sigma
    ],
)
def test_odd_unicode_gets_a_correct_review_with_valid_spans(text):
    result = review(text)
    for finding in result.findings:
        start, end = finding.span
        assert 0 <= start <= end <= len(text)
    analysed = Text(text)
    assert analysed.toks == TOKEN.findall(analysed.lower)  # tokens line up with the text
    assert len(analysed.cased) == len(analysed.toks)
    for tok, (start, end) in zip(analysed.toks, analysed.offsets, strict=True):
        assert analysed.lower[start:end] == tok


def test_a_prefix_tree_matches_what_the_plain_alternation_matches():
    """Options in a tree are tried in the order written wherever two can match at the
    same place ("look" before "look over"), so matches end where they always did."""
    rng = random.Random(5)
    words = ["a", "ab", "b", "look", "over", "i", "i'd", "you", "could"]
    for _ in range(400):
        texts = [
            "".join(w + " " for w in rng.choices(words, k=rng.randint(1, 3)))
            for _ in range(rng.randint(1, 8))
        ]
        tree = re.compile(alternation(texts) + "(x )?")
        plain = re.compile("(?:" + "|".join(map(re.escape, texts)) + ")(x )?")
        for _ in range(20):
            subject = "".join(w + " " for w in rng.choices([*words, "x"], k=rng.randint(1, 5)))
            a, b = tree.match(subject), plain.match(subject)
            assert (a and a.span()) == (b and b.span()), (texts, subject)


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail (rather than hang CI) if a regex backtracks catastrophically."""

    def expire(*_: object) -> None:
        raise TimeoutError("review did not finish: catastrophic backtracking?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


ADVERSARIAL = {
    "letters": "a" * 100_000,
    "spaces": " " * 99_999 + "a",
    "words": "our " * 25_000,
    "pronouns": "you your i my " * 7_200,
    "questions": "how is your " * 8_400 + "?",
    "possessives": "your friend's " * 7_200,
    "no-punctuation": ("we offer the best price for your business " * 2_400)[:100_000],
    "symbols": "$%!?#@" * 16_700,
    "quotes": '"' * 100_000,
    "apostrophes": "'a" * 50_000,
    "emoji": "🚀" * 100_000,
    "urls": "x.com/" * 16_700,
    "digits": "1" * 100_000,
    "hyphens": "a-" * 50_000,
    "exclamations": "!" * 99_999 + "x",  # a quadratic sentence split took minutes here
    "full-stops": "." * 99_999 + "x",
    "question-run": "how are you ? " * 7_200,
    "trailing-spaces": "Hi" + " " * 99_998,  # the spaces before each token, tried from each
    "trailing-mixed": "Hi" + " \t\u3000\xa0\u200b" * 19_999,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
@pytest.mark.parametrize("context", CONTEXTS)
def test_no_rule_backtracks_catastrophically_on_100k_adversarial_text(name, context):
    text = ADVERSARIAL[name]
    assert len(text) >= 99_000
    with hang_guard(60):
        result = review(text, context)
    assert result.verdict in ("ready", "revise")


def _python_calls(text: str) -> int:
    """Python-level calls made by one review: a measure of work that does not depend on
    how busy the machine is (tests never assert on time)."""
    calls = 0

    def count(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal calls
        if event == "call":
            calls += 1

    import sys

    review("warm up")  # compile the playbooks outside the count
    sys.setprofile(count)
    try:
        review(text)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize(
    "unit",
    ["!", ".", "'", '"', "a. ", "how are you ? ", "thanks for your help ", "my ", "you ",
     "I saw your post ", "could you refer me ", "we can help your business grow ", "😀", "你好"],
)  # fmt: skip
def test_the_work_of_a_review_grows_linearly_with_the_draft(unit):
    small = _python_calls((unit * 4000)[:2000])
    large = _python_calls((unit * 4000)[:4000])
    assert large <= 2.5 * small + 200, (small, large)


@pytest.mark.parametrize(
    ("text", "quoted", "whole"),
    [
        ("Hi Anna, I'd like to add you to my network.", "like to add you", "I'd like to add you"),
        ("Would you fill in my 3-minute survey?", "minute survey", "3-minute survey"),
        ("HI THERE TOM, I LOVED IT", "THERE TOM, I LOVED IT", "HI THERE TOM, I LOVED IT"),
        ("Hello, I would love to pick your brain.", "love to pick", "I would love to pick"),
        ("Check out my newsletter today", "news", "newsletter"),
        ("Hi Ana!!!!! Loved it", "!", "!!!!!"),
    ],
)
def test_quotes_are_never_clipped_mid_word(text: str, quoted: str, whole: str) -> None:
    from netcoach.bot.review.text import whole_words

    start = text.index(quoted)
    widened = whole_words(text, start, start + len(quoted))
    assert text[widened[0] : widened[1]] == whole


def test_the_json_quotes_the_same_whole_words_the_chat_shows():
    text = "Hi Anna, I'd like to add you to my professional network."
    quotes = [f["excerpt"] for f in review(text).to_dict()["findings"]]
    assert "I'd like to add you to my professional network" in quotes
    assert not any(q.startswith("like") for q in quotes), quotes


@pytest.mark.parametrize(
    ("text", "context", "verdict", "rules"),
    [
        # An offer made freely is not a sales pitch.
        (
            "Hi Raj, happy to help with the Bristol meetup venue, no strings attached. "
            "How many people are you expecting?",
            "dm",
            "ready",
            set(),
        ),
        # A chase that only asks for a call again.
        (
            "Hi Sarah, following up on my email below. Do you have 30 minutes next week for a "
            "quick call?",
            "follow-up",
            "revise",
            {"empty-bump", "time-in-a-follow-up"},
        ),
        # A demo of what we built is a pitch, however warm the opening.
        (
            "Hi Jen, loved your post on month-end close. Would you be up for a 15-minute demo "
            "of what we built?",
            "dm",
            "revise",
            {"pitch-in-first-contact"},
        ),
        # Sales offers in words no topic list holds.
        (
            "Hi Priya, I help growing SaaS teams unlock 3x pipeline through our done-for-you "
            "outbound engine. Would you be open to exploring whether it's a fit?",
            "dm",
            "revise",
            {"pitch-in-first-contact"},
        ),
        (
            "Hi Jen, we are inviting a handful of CFOs to a private beta of our forecasting "
            "platform. Can I save you a seat?",
            "dm",
            "revise",
            {"pitch-in-first-contact"},
        ),
    ],
)
def test_offers_chases_and_demos_as_a_person_reads_them(text, context, verdict, rules):
    result = review(text, context)
    assert result.verdict == verdict
    assert rules <= {f.rule for f in result.findings}
    if not rules:
        assert not result.signals["pitch"] and not result.signals["ask"]


@pytest.mark.parametrize("text", ["x", "a" * 300, "asdf qwer"])
def test_gibberish_is_not_called_a_greeting(text):
    assert "bare-greeting" not in {f.rule for f in review(text).findings}


def test_a_long_draft_is_a_wall_of_text_not_also_too_long():
    rules = [f.rule for f in review("I like long walks and talking about my work. " * 60).findings]
    assert "wall-of-text" in rules and "too-long" not in rules


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hola María, compra mi curso ahora", "es"),
        ("HOLA MARÍA, COMPRA MI CURSO AHORA", "es"),
        ("Hi Jan! Wir waren beide beim FOSDEM. Wie geht's?", "de"),
        ("Hi Tom, how are you?", "en"),
        ("Hello team, the Paris meetup was fun", "en"),
    ],
)
def test_short_drafts_in_other_languages_are_recognised(text, language):
    assert review(text).language == language


def test_introduction_rules_judge_only_a_draft_that_introduces_two_people():
    consent_check = "Hey Blair, still looking for people who can foster cats? I know someone."
    cold_intro = "Ines, meet Joao! You two should talk."
    assert not {f.rule for f in review(consent_check, "introduction").findings} & {
        "intro-without-opt-in",
        "intro-without-context",
    }
    assert review(consent_check, "introduction").signals["introduces"] is False
    fired = {f.rule for f in review(cold_intro, "introduction").findings}
    assert {"intro-without-opt-in", "intro-without-context"} <= fired


def test_a_message_full_of_links_is_sent_back_whatever_its_words():
    links = " ".join(f"example{i}.org/page" for i in range(30))
    text = f"Hi Ana, loved your talk on tidal energy! How did you start? Some reading: {links}"
    result = review(text)
    assert result.verdict == "revise"
    assert "link-dump" in {f.rule for f in result.findings}
