"""The learnt verdict model weighs the findings of a draft with a warning or a problem, and
says so when it overrules their points."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from netcoach.bot.cli import main
from netcoach.bot.features.drafts.render import format_review
from netcoach.bot.review import PlaybookError, builtin_playbooks, load_playbooks, review
from netcoach.bot.review.model import WordModel, load_model
from netcoach.bot.review.schema import check_dirs
from netcoach.bot.review.text import Text

PLAYBOOK = textwrap.dedent(
    """\
    id: calibrated
    title: Calibrated
    principle: Say which meetup, and do not sell.
    contexts: [dm]
    rules:
      - id: vague-meetup
        kind: phrases
        severity: tip
        weight: 5
        phrases: ["the meetup"]
        message: "Name '{match}'."
        suggestion: "Say which one."
        examples: {fail: ["We met at the meetup."], pass: ["We met at PyData Leeds."]}
      - id: synergy
        kind: phrases
        severity: warn
        weight: 25
        phrases: ["synergy"]
        message: "'{match}' is jargon."
        suggestion: "Say what you would do together."
        examples: {fail: ["Let's find synergy."], pass: ["Let's pair on the parser."]}
      - id: leverage
        kind: phrases
        severity: warn
        weight: 25
        phrases: ["leverage"]
        message: "'{match}' is jargon."
        suggestion: "Say what you mean."
        examples: {fail: ["We can leverage it."], pass: ["We can use it."]}
      - id: exclamations
        kind: count
        metric: exclamations
        max: 3
        severity: warn
        weight: 10
        message: "Calm the exclamation marks."
        suggestion: "One is plenty."
        examples: {fail: ["Hi!!!!"], pass: ["Hi!"]}
      - id: buy-now
        kind: phrases
        severity: problem
        weight: 45
        phrases: ["buy now"]
        message: "'{match}' is a sale."
        suggestion: "Leave the sale out."
        examples: {fail: ["Buy now!"], pass: ["Hello!"]}
    tips: [one tip, two tips, three tips, four tips, five tips]
    """
)
# "sale" makes a draft likely to be ignored, "thanks" likely to get a reply; a draft with
# neither scores 0.5, which decides nothing. It has learnt about the buy-now rule (a
# weight of 0: it neither raises nor lowers the odds) and about no other problem.
MODEL = WordModel(0.0, {"sale": (1.0, 8.0), "thanks": (1.0, -8.0), "<rule:buy-now>": (1.0, 0.0)})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "verdict.json").write_text(json.dumps(MODEL.to_json()))
    (tmp_path / "calibrated.yaml").write_text(PLAYBOOK)
    (tmp_path / "verdict.yaml").write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.8}\n"
    )
    return tmp_path


@pytest.fixture
def playbooks(folder: Path):
    return load_playbooks([folder], include_builtin=False)


def test_a_warning_under_the_line_in_a_draft_like_ignored_ones_is_to_revise(playbooks):
    text = "Let's find synergy. Big sale today."
    result = review(text, "dm", playbooks)
    assert result.score == 75 and result.verdict == "revise" and result.calibrated
    assert result.likely_ignored is not None and result.likely_ignored > 0.8
    data = result.to_dict()
    assert data["calibrated"] is True and data["likely_ignored"] == round(result.likely_ignored, 3)
    reply = "".join(s.text for s in format_review(result, text))
    assert "75/100 — worth a revision" in reply
    assert "This finding looks small" in reply and "were mostly ignored" in reply


def test_a_context_can_draw_its_own_line(folder: Path):
    text = "Let's find synergy. Big sale today."  # the model gives it 0.9997
    verdict = folder / "verdict.yaml"
    verdict.write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.9999, revise_at_in: {dm: 0.8}}\n"
    )
    assert review(text, "dm", load_playbooks([folder], include_builtin=False)).verdict == "revise"
    verdict.write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.9999, revise_at_in: {intro: 0.8}}\n"
    )
    assert review(text, "dm", load_playbooks([folder], include_builtin=False)).verdict == "ready"


def test_an_intro_post_with_only_a_job_title_is_left_to_the_verdict_model():
    """No human detail (25) and no open door (15) are weak evidence in an intro post: they
    stay on the line, and the learnt model decides."""
    result = review(
        "Hello everyone, I'm Ahmed, a mechanical engineer with five years of experience in "
        "HVAC design at a consultancy, mostly ventilation and energy models for hospitals.",
        "intro",
    )
    assert [f.rule for f in result.findings] == ["intro-nothing-personal", "intro-no-invitation"]
    assert result.score == 60 and result.likely_ignored is not None


def test_a_draft_like_those_that_got_replies_keeps_the_verdict_of_its_points(playbooks):
    result = review("Thanks! Let's find synergy.", "dm", playbooks)
    assert result.verdict == "ready" and not result.calibrated
    assert result.likely_ignored is not None and result.likely_ignored < 0.5
    assert review("Let's find synergy.", "dm", playbooks).likely_ignored == 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Big sale today.",  # no finding: nothing to explain a revise
        "We met at the meetup. Big sale today.",  # a tip alone is not worth a rewrite
    ],
)
def test_the_model_is_not_asked_about_a_draft_with_no_warning(playbooks, text):
    result = review(text, "dm", playbooks)
    assert result.likely_ignored is None and not result.calibrated
    assert result.verdict == "ready"


@pytest.mark.parametrize(
    "text", ["Thanks! Our synergy could leverage your team.", "Thanks for the chat. Buy now."]
)
def test_over_the_line_the_points_decide_when_no_keep_below_is_set(playbooks, text):
    result = review(text, "dm", playbooks)
    assert result.score < 60 and result.likely_ignored is not None
    assert result.likely_ignored < 0.01 and result.verdict == "revise" and not result.calibrated


def test_over_the_line_a_draft_like_those_that_got_answers_is_kept_and_told_why(folder: Path):
    (folder / "verdict.yaml").write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.8, keep_below: 0.5}\n"
    )
    playbooks = load_playbooks([folder], include_builtin=False)
    text = "Thanks for the chat. Buy now."
    result = review(text, "dm", playbooks)
    assert result.score == 55 and result.verdict == "ready" and result.calibrated
    assert result.to_dict()["calibrated"] is True
    reply = "".join(s.text for s in format_review(result, text))
    assert "55/100 — ready to send" in reply
    assert (
        "mostly got an answer despite this finding: it can go as it is, but read it first" in reply
    )
    assert "Buy now" in reply
    # Without "thanks" the model has nothing for it: 0.5 is not under the line.
    assert review("Buy now.", "dm", playbooks).verdict == "revise"


def test_a_decisive_check_keeps_the_points_verdict_over_the_line(folder: Path):
    (folder / "verdict.yaml").write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.8, keep_below: 0.5, "
        "decisive: [buy-now]}\n"
    )
    result = review("Thanks for the chat. Buy now.", "dm", load_playbooks([folder]))
    assert result.verdict == "revise" and not result.calibrated


@pytest.mark.parametrize(
    ("context", "text"),
    [
        (
            "follow-up",
            "Hi Jia, thanks again for the lovely chat at the meetup! As promised, here's the "
            "link to our pricing page. We're offering 3 months free for early adopters until "
            "Sunday, so don't miss out. Let me know when you've signed up!",
        ),
        (
            "dm",
            "Hi Lena, your post about burnout really resonated with me, thank you for writing "
            "it. I'm a certified coach and I have 3 spots left in my 8-week program this "
            "month, and I'd love to offer you one at 20% off.",
        ),
    ],
)
def test_a_sale_wrapped_in_thanks_is_still_sent_back(context: str, text: str):
    """A price or a deal is decisive: the model, which warm words pull towards 'answered',
    may not keep it (two drafts of a hostile test, round 65)."""
    result = review(text, context)
    assert result.verdict == "revise" and result.score < 60
    assert result.likely_ignored is not None and result.likely_ignored < 0.5


def test_a_problem_the_model_has_not_learnt_about_decides_alone(folder: Path):
    (folder / "verdict.yaml").write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.8, keep_below: 0.5}\n"
    )
    unlearnt = WordModel(0.0, {"thanks": (1.0, -8.0)})  # no weight for the buy-now rule
    (folder / "models" / "verdict.json").write_text(json.dumps(unlearnt.to_json()))
    result = review("Thanks for the chat. Buy now.", "dm", load_playbooks([folder]))
    assert result.verdict == "revise" and not result.calibrated
    assert result.likely_ignored is not None and result.likely_ignored < 0.01


def test_a_draft_in_another_language_is_never_calibrated(playbooks):
    # Spanish "sale" (goes out) is the model's English word for a sale.
    text = "¡¡¡¡Hola Marta!!!! Vi tu charla en la PyCon. ¿Cuándo sale el vídeo de la charla?"
    result = review(text, "dm", playbooks)
    assert result.language == "es" and [f.rule for f in result.findings] == ["exclamations"]
    assert result.verdict == "ready" and result.likely_ignored is None


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("{model: models/verdict.json, revise_at: 1.5}", "'revise_at' must be a number"),
        ("{model: models/verdict.json, revise_at: yes}", "'revise_at' must be a number"),
        ("{model: models/none.json, revise_at: 0.8}", "cannot read the model"),
        ("{revise_at: 0.8, cutoff: 3}", "unknown key 'cutoff'"),
        ("[0.8]", "'verdict' must map"),
        (
            "{model: models/verdict.json, revise_at: 0.8, revise_at_in: {chat: 0.5}}",
            "revise_at_in: unknown context 'chat'",
        ),
        (
            "{model: models/verdict.json, revise_at: 0.8, revise_at_in: {intro: 2}}",
            "revise_at_in: 'intro' must be a number between 0 and 1",
        ),
        (
            "{model: models/verdict.json, revise_at: 0.8, revise_at_in: [0.5]}",
            "'revise_at_in' must map contexts to numbers",
        ),
        (
            "{model: models/verdict.json, revise_at: 0.8, keep_below: 1}",
            "'keep_below' must be a number between 0 and 1",
        ),
        (
            "{model: models/verdict.json, revise_at: 0.8, decisive: price-or-deal}",
            "'decisive' must list rule or detector ids",
        ),
        (
            "{model: models/verdict.json, revise_at: 0.8, decisive: [price-or-dael]}",
            "decisive: no rule or detector 'price-or-dael'",
        ),
    ],
)
def test_a_broken_verdict_file_is_an_error_naming_the_file(tmp_path: Path, verdict, expected):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "verdict.json").write_text(json.dumps(MODEL.to_json()))
    (tmp_path / "verdict.yaml").write_text(f"verdict: {verdict}\n")
    with pytest.raises(PlaybookError) as info:
        load_playbooks([tmp_path])
    assert expected in str(info.value) and "verdict.yaml" in str(info.value)


def test_a_broken_verdict_file_does_not_matter_once_the_calibration_is_switched_off(
    tmp_path: Path,
):
    (tmp_path / "verdict.yaml").write_text("verdict: {model: models/none.json, revise_at: 2}\n")
    with pytest.raises(PlaybookError):
        load_playbooks([tmp_path])
    assert load_playbooks([tmp_path], ["calibrated-verdict"]).calibration is None
    assert "verdict.yaml" in " ".join(check_dirs([tmp_path]))


def test_a_community_verdict_file_replaces_the_built_in_one(folder: Path):
    assert builtin_playbooks().calibration is not None
    calibration = load_playbooks([folder]).calibration
    assert calibration is not None and calibration.source == str(folder / "verdict.yaml")


def test_the_calibration_is_switched_off_like_a_rule(playbooks, folder: Path):
    text = "Let's find synergy. Big sale today."
    assert review(text, "dm", playbooks).verdict == "revise"
    off = load_playbooks([folder], ["calibrated-verdict"], include_builtin=False)
    assert off.calibration is None
    result = review(text, "dm", off)
    assert result.verdict == "ready" and result.score == 75 and result.likely_ignored is None


def test_the_built_in_verdict_model_reads_the_context_and_the_findings():
    """The same words can suit a follow-up and not a first message, and a rule can be
    trusted more in one context than in another."""
    calibration = builtin_playbooks().calibration
    assert calibration is not None and calibration.source.endswith("verdict.yaml")
    model = load_model(Path(calibration.source).parent / "models" / "verdict.json")
    assert model.about["signal"] == "verdict"
    assert any(feature.startswith("<follow-up>") for feature in model.table)
    assert "<dm><rule:pitch-in-first-contact>" in model.table
    assert "<sig:offers_help>" in model.table


def test_train_verdict_learns_revise_against_ready_by_context(tmp_path: Path, capsys):
    rows = [
        {"context": "dm", "text": f"Buy my course {n}, huge sale", "verdict": "revise"}
        for n in range(4)
    ] + [
        {"context": "follow-up", "text": f"Thanks for the talk {n}!", "verdict": "ready"}
        for n in range(4)
    ]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "verdict.json"
    assert main(["playbooks", "train", "verdict", str(labelled), "--out", str(out)]) == 0
    assert "from 8 labelled drafts" in capsys.readouterr().out
    model = load_model(out)
    assert model.table["<dm>"][1] > 0 > model.table["<follow-up>"][1]
    # It reads what the built-in playbooks found: a course sold in a first message.
    assert model.table["<dm><rule:pitch-in-first-contact>"][1] > 0
    assert model.probability(Text("Buy my course, huge sale"), "dm") > 0.5
    assert model.probability(Text("Thanks for the talk!"), "follow-up") < 0.5


def test_playbooks_eval_says_how_often_the_calibration_decided_and_was_right(playbooks):
    from netcoach.bot.review.evaluate import Labelled, evaluate, render

    rows = [
        Labelled(1, "a", "dm", "Let's find synergy. Big sale today.", "revise", {}),
        Labelled(2, "b", "dm", "We can leverage it. Big sale today.", "ready", {}),
        Labelled(3, "c", "dm", "We met at the meetup.", "ready", {}),
    ]
    out = render(evaluate(rows, playbooks))
    assert "calibrated verdict: 2 drafts to revise on 40 points or fewer, 1 right" in out


def test_playbooks_eval_also_counts_drafts_kept_over_the_line(folder: Path):
    from netcoach.bot.review.evaluate import Labelled, evaluate, render

    (folder / "verdict.yaml").write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.8, keep_below: 0.5}\n"
    )
    playbooks = load_playbooks([folder], include_builtin=False)
    rows = [
        Labelled(1, "a", "dm", "Thanks for the chat. Buy now.", "ready", {}),
        Labelled(2, "b", "dm", "Thanks, it was fun. Buy now.", "revise", {}),
        Labelled(3, "c", "dm", "Let's find synergy. Big sale today.", "revise", {}),
    ]
    out = render(evaluate(rows, playbooks))
    assert (
        "calibrated verdict: 1 drafts to revise on 40 points or fewer, 1 right; "
        "2 drafts ready on more than 40 points, 1 right"
    ) in out
