"""Learnt detectors: a model trained on labelled drafts sets a signal like any detector."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
from labelled import REAL_LOCKED, REAL_TRAIN

from netcoach.bot.cli import main
from netcoach.bot.review import BUILTIN_DIR, PlaybookError, load_playbooks, review
from netcoach.bot.review.model import ModelError, load_model, train
from netcoach.bot.review.text import Text

DATA = Path(__file__).parent / "data"

ABOUT = [
    ("How did the move to Lisbon go for your team?", True),
    ("Congrats on the new bakery, the sourdough looked amazing.", True),
    ("Your talk on rota planning made me rethink ours.", True),
    ("How are the tomatoes doing after the hail?", True),
    ("Loved your thread about night shifts.", True),
    ("What got you into glassblowing?", True),
    ("I am a sales manager with ten years of experience.", False),
    ("I have built my portfolio over many years.", False),
    ("Please refer me to your recruiter.", False),
    ("I run a bookkeeping business for freelancers.", False),
    ("My new course launches next week.", False),
    ("I am looking for a job in marketing.", False),
]


def _labelled(path: Path, rows: list[tuple[str, bool]]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"context": "dm", "text": t, "verdict": "ready", "about_them": y}) + "\n"
            for t, y in rows
        ),
        encoding="utf-8",
    )
    return path


def test_a_model_learns_the_signal_from_labelled_drafts_and_scores_new_ones():
    model = train(ABOUT, iterations=100)
    about = model.probability(Text("How did your talk on night shifts go?"))
    mine = model.probability(Text("I am a sales manager looking for a job."))
    assert about > 0.5 > mine


def test_training_is_deterministic_so_a_shipped_model_can_be_rebuilt():
    assert train(ABOUT, iterations=20).to_json() == train(ABOUT, iterations=20).to_json()


def test_training_needs_both_kinds_of_example():
    with pytest.raises(ModelError, match="both kinds"):
        train([(t, True) for t, _ in ABOUT])


def test_a_community_trains_a_model_and_uses_it_in_its_own_playbook(tmp_path, capsys):
    labelled = _labelled(tmp_path / "mine.jsonl", ABOUT)
    (tmp_path / "models").mkdir()
    out = tmp_path / "models" / "about.json"
    assert main(["playbooks", "train", "about_them", str(labelled), "--out", str(out)]) == 0
    assert "12 labelled drafts" in capsys.readouterr().out
    (tmp_path / "ours.yaml").write_text(
        textwrap.dedent(
            """\
            id: ours
            title: Ours
            principle: Say something about them.
            contexts: [dm]
            signals:
              - id: our-learnt-about-them
                kind: model
                signal: about_them
                model: models/about.json
                examples:
                  hit: ["Congrats on the new bakery, how is it going?"]
                  miss: ["I am a sales manager looking for a job."]
            rules:
              - id: our-nothing-about-them
                kind: require
                any_signals: [about_them]
                severity: warn
                weight: 10
                message: "Nothing about them."
                suggestion: "Add a line about them."
                examples: {fail: ["I sell insurance."], pass: ["Loved your mural!"]}
            tips: [one tip, two tips, three tips, four tips, five tips]
            """
        ),
        encoding="utf-8",
    )
    assert main(["playbooks", "check", str(tmp_path)]) == 0
    playbooks = load_playbooks([tmp_path])
    draft = "I sell insurance. Congrats on the new bakery, how is it going?"
    result = review(draft, "dm", playbooks)
    assert result.signals["about_them"]
    assert "our-nothing-about-them" not in {f.rule for f in result.findings}


@pytest.mark.parametrize(
    ("model_line", "threshold", "problem"),
    [
        ("model: models/missing.json", "0.5", "cannot read the model"),
        ("model: broken.json", "0.5", "cannot read the model"),
        ("model: notamodel.json", "0.5", "not a netcoach model"),
        ("model: models/about-them.json", "1.5", "'threshold' must be a number between 0 and 1"),
    ],
)
def test_a_bad_model_or_threshold_is_named_with_its_rule(tmp_path, model_line, threshold, problem):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "about-them.json").write_bytes(
        (BUILTIN_DIR / "models" / "about-them.json").read_bytes()
    )
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "notamodel.json").write_text('{"format": 1, "weights": []}', encoding="utf-8")
    (tmp_path / "ours.yaml").write_text(
        textwrap.dedent(
            f"""\
            id: ours
            title: Ours
            principle: Say something about them.
            signals:
              - id: learnt-bit
                kind: model
                signal: about_them
                {model_line}
                threshold: {threshold}
                examples: {{hit: ["How is the bakery?"], miss: ["I sell insurance."]}}
            rules:
              - id: nothing-here
                kind: require
                any_signals: [about_them]
                severity: tip
                weight: 5
                message: "Nothing about them."
                suggestion: "Add a line about them."
                examples: {{fail: ["I sell insurance."], pass: ["Loved your mural!"]}}
            tips: [one tip, two tips, three tips, four tips, five tips]
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(PlaybookError) as raised:
        load_playbooks([tmp_path])
    assert any("learnt-bit" in p and problem in p for p in raised.value.problems)


def test_train_keeps_only_words_found_in_min_df_drafts(tmp_path, capsys):
    labelled = _labelled(tmp_path / "mine.jsonl", ABOUT)
    sizes = {}
    for min_df in (1, 2):
        out = tmp_path / f"m{min_df}.json"
        args = ["playbooks", "train", "about_them", str(labelled), "--out", str(out)]
        assert main([*args, "--min-df", str(min_df)]) == 0
        model = load_model(out)
        assert model.about["min_df"] == min_df
        sizes[min_df] = len(model.table)
    assert sizes[1] > sizes[2] > 0
    out = tmp_path / "m0.json"
    args = ["playbooks", "train", "about_them", str(labelled), "--out", str(out), "--min-df", "0"]
    assert main(args) == 2
    assert "--min-df" in capsys.readouterr().err
    assert not out.exists()


def test_train_refuses_a_file_with_one_kind_of_label_with_a_clear_message(tmp_path, capsys):
    labelled = _labelled(tmp_path / "one.jsonl", [(t, True) for t, _ in ABOUT])
    out = tmp_path / "m.json"
    assert main(["playbooks", "train", "about_them", str(labelled), "--out", str(out)]) == 2
    assert "both kinds" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("name", sorted(p.name for p in (BUILTIN_DIR / "models").glob("*.json")))
def test_the_shipped_models_were_trained_on_the_current_training_data_never_the_locked_split(
    name: str,
):
    about = load_model(BUILTIN_DIR / "models" / name).about
    where = {REAL_TRAIN.name: REAL_TRAIN, **{p.name: p for p in DATA.glob("drafts*.jsonl")}}
    used = {d["file"]: d["sha256"] for d in about["data"]}
    assert REAL_LOCKED.name not in used
    assert REAL_TRAIN.name in used
    for file, digest in used.items():
        current = hashlib.sha256(where[file].read_bytes()).hexdigest()[:16]
        assert current == digest, f"{file} changed since {name} was trained: run `make models`"


def test_a_learnt_detector_quotes_the_sentence_it_scores_highest():
    model = load_model(BUILTIN_DIR / "models" / "about-them.json")
    draft = "I work in logistics. How did the warehouse move go for your team last month?"
    start, end = model.strongest_sentence(Text(draft))
    assert draft[start:end] == "How did the warehouse move go for your team last month?"


def test_a_draft_in_another_language_is_not_judged_by_the_english_models():
    result = review("Hola Marta, vi tu charla en la PyCon. ¿Cómo te fue con el proyecto?", "dm")
    assert result.language == "es"
    assert not result.signals["about_them"] and not result.findings
