"""The learnt verdict model moves only the verdicts the findings leave open, and says so."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from netcoach.bot.cli import main
from netcoach.bot.features.drafts.render import format_review
from netcoach.bot.review import PlaybookError, builtin_playbooks, load_playbooks, review
from netcoach.bot.review.model import WordModel, load_model

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
# neither scores 0.5, which moves nothing.
MODEL = WordModel(0.0, {"sale": (1.0, 8.0), "thanks": (1.0, -8.0)})


@pytest.fixture
def playbooks(tmp_path: Path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "verdict.json").write_text(json.dumps(MODEL.to_json()))
    (tmp_path / "calibrated.yaml").write_text(PLAYBOOK)
    (tmp_path / "verdict.yaml").write_text(
        "verdict: {model: models/verdict.json, revise_at: 0.8, ready_below: 0.2}\n"
    )
    return load_playbooks([tmp_path], include_builtin=False)


def test_a_draft_with_a_small_finding_that_reads_like_ignored_ones_is_to_revise(playbooks):
    result = review("We met at the meetup. Big sale today.", "dm", playbooks)
    assert result.score == 95 and result.verdict == "revise" and result.calibrated
    assert result.likely_ignored is not None and result.likely_ignored > 0.8
    assert result.to_dict()["likely_ignored"] == round(result.likely_ignored, 3)
    reply = "".join(s.text for s in format_review(result, "We met at the meetup. Big sale today."))
    assert "95/100 — worth a revision" in reply and "were mostly ignored" in reply


def test_a_draft_with_no_finding_is_never_moved(playbooks):
    result = review("Big sale today.", "dm", playbooks)
    assert result.verdict == "ready" and not result.calibrated
    assert result.likely_ignored is None  # not even asked


def test_warnings_that_add_up_are_ready_when_drafts_like_it_got_replies(playbooks):
    text = "Thanks! Our synergy could leverage your team."
    result = review(text, "dm", playbooks)
    assert result.score == 50 and result.verdict == "ready" and result.calibrated
    reply = "".join(s.text for s in format_review(result, text))
    assert "mostly got a reply" in reply


def test_a_problem_is_never_overruled(playbooks):
    result = review("Thanks! Buy now.", "dm", playbooks)
    assert result.verdict == "revise" and not result.calibrated
    assert result.likely_ignored is None


def test_a_draft_in_between_keeps_the_verdict_of_its_points(playbooks):
    result = review("We met at the meetup.", "dm", playbooks)
    assert result.verdict == "ready" and result.likely_ignored == 0.5


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("{model: models/verdict.json, revise_at: 1.5, ready_below: 0.2}", "'revise_at'"),
        ("{model: models/verdict.json, revise_at: 0.3, ready_below: 0.4}", "must be below"),
        ("{model: models/none.json, revise_at: 0.8, ready_below: 0.2}", "cannot read the model"),
        ("{revise_at: 0.8, ready_below: 0.2, cutoff: 3}", "unknown key 'cutoff'"),
        ("[0.8]", "'verdict' must map"),
    ],
)
def test_a_broken_verdict_file_is_an_error_naming_the_file(tmp_path: Path, verdict, expected):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "verdict.json").write_text(json.dumps(MODEL.to_json()))
    (tmp_path / "verdict.yaml").write_text(f"verdict: {verdict}\n")
    with pytest.raises(PlaybookError) as info:
        load_playbooks([tmp_path])
    assert expected in str(info.value) and "verdict.yaml" in str(info.value)


def test_the_built_in_verdict_model_reads_the_context(tmp_path: Path):
    """The same words can suit a follow-up and not a first message."""
    calibration = builtin_playbooks().calibration
    assert calibration is not None and calibration.source.endswith("verdict.yaml")
    assert calibration.ready_below < calibration.revise_at
    model = load_model(Path(calibration.source).parent / "models" / "verdict.json")
    assert model.about["signal"] == "verdict"
    assert any(feature.startswith("<follow-up>") for feature in model.table)


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
    assert "<dm>" in model.table and "<follow-up>" in model.table


def test_playbooks_eval_says_how_often_the_calibration_moved_a_verdict_and_was_right(playbooks):
    from netcoach.bot.review.evaluate import Labelled, evaluate, render

    rows = [
        Labelled(1, "a", "dm", "We met at the meetup. Big sale today.", "revise", {}),
        Labelled(2, "b", "dm", "Thanks! Our synergy could leverage your team.", "revise", {}),
        Labelled(3, "c", "dm", "We met at the meetup.", "ready", {}),
    ]
    out = render(evaluate(rows, playbooks))
    assert "calibrated verdict: moved 1 to revise (1 right), moved 1 to ready (0 right)" in out


def test_the_calibration_is_switched_off_like_a_rule(playbooks):
    text = "We met at the meetup. Big sale today."
    assert review(text, "dm", playbooks).verdict == "revise"
    folder = Path(playbooks.calibration.source).parent
    off = load_playbooks([folder], ["calibrated-verdict"], include_builtin=False)
    assert off.calibration is None
    result = review(text, "dm", off)
    assert result.verdict == "ready" and result.score == 95 and result.likely_ignored is None
