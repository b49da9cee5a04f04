"""Playbooks are data that communities extend, so loading must catch every mistake."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from netcoach.bot.cli import main
from netcoach.bot.review import (
    BUILTIN_DIR,
    PlaybookError,
    PlaybookSet,
    engine_for,
    load_playbooks,
    parse_playbook,
    review,
)

VALID = textwrap.dedent(
    """\
    id: local-etiquette
    title: Local etiquette
    principle: Say which meetup you met at.
    contexts: [dm]
    rules:
      - id: no-meetup-name
        kind: phrases
        severity: warn
        weight: 10
        phrases: ["the meetup"]
        message: "Name '{match}'."
        suggestion: "Say which one."
        examples: {fail: ["We met at the meetup."], pass: ["We met at PyData Leeds."]}
    tips: [one tip, two tips, three tips, four tips, five tips]
    """
)


def _examples(playbooks: PlaybookSet):
    for playbook in playbooks:
        for check in (*playbook.rules, *playbook.detectors):
            yield pytest.param(check, id=f"{playbook.id}/{check.id}")


@pytest.mark.parametrize("check", list(_examples(load_playbooks())))
def test_every_rule_fails_its_fail_examples_and_passes_its_pass_examples(check, playbooks):
    engine = engine_for(playbooks)
    assert check.examples_fail and check.examples_pass, "every rule needs fail and pass examples"
    context = sorted(check.contexts)[0]
    # Fired, whether or not a stronger rule of the same playbook reports the same words.
    for text in check.examples_fail:
        assert check.id in engine.fired_ids(text, context), f"should fire: {text!r}"
    for text in check.examples_pass:
        assert check.id not in engine.fired_ids(text, context), f"should not fire: {text!r}"


def test_built_in_playbooks_cover_the_nine_principles_with_enough_tips(playbooks):
    ids = {p.id for p in playbooks}
    assert ids >= {
        "networking-not-marketing",
        "listen-and-help-first",
        "shared-bond",
        "about-them",
        "give-before-you-take",
        "first-impression",
        "stay-in-touch",
        "introduce-yourself",
        "introductions",
    }
    assert all(len(p.tips) >= 5 for p in playbooks)
    assert sum(len(p.tips) for p in playbooks) >= 60


def test_a_valid_playbook_folder_extends_the_built_ins(tmp_path: Path):
    (tmp_path / "local.yaml").write_text(VALID)
    playbooks = load_playbooks([tmp_path])
    result = review("Great to see you at the meetup, how was your trip?", "dm", playbooks)
    assert "no-meetup-name" in [f.rule for f in result.findings]


def test_a_playbook_with_a_built_in_id_replaces_it(tmp_path: Path):
    (tmp_path / "x.yaml").write_text(VALID.replace("id: local-etiquette", "id: about-them"))
    playbooks = load_playbooks([tmp_path])
    assert playbooks.get("about-them").title == "Local etiquette"
    assert len(playbooks.playbooks) == len(load_playbooks().playbooks)


def test_rules_can_be_switched_off_by_id():
    playbooks = load_playbooks(disabled_rules=["bare-greeting"])
    assert "bare-greeting" not in [f.rule for f in review("hey", "dm", playbooks).findings]
    with pytest.raises(PlaybookError, match="no-such-rule"):
        load_playbooks(disabled_rules=["no-such-rule"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: phrases", "kind: sparkle"), "'kind' must be one of"),
        (("severity: warn", "severity: fatal"), "'severity' must be one of"),
        (('examples: {fail: ["We met at the meetup."], ', "examples: {"), "'examples' must have"),
        (("weight: 10", "weight: 10\n    colour: red"), "unknown key 'colour'"),
        (("contexts: [dm]", "contexts: [dm, sms]"), "unknown context 'sms'"),
        (("weight: 10", "weight: 10\n    when_signals: [vibes]"), "'when_signals' must be"),
        (("tips: [one tip, two tips, ", "tips: ["), "needs at least 5 tips"),
        (("title: Local etiquette", "title: Local etiquette\ntitle: Again"), "duplicate key"),
        (
            ('phrases: ["the meetup"]', 'kind2: x\n    pattern: "(unclosed"'),
            "unknown key 'kind2'",
        ),
    ],
)
def test_a_broken_playbook_is_rejected_with_file_line_and_reason(change, expected):
    text = VALID.replace(*change)
    assert text != VALID
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, "local.yaml")
    assert expected in str(info.value)
    assert "local.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("title: Local", "colour: red\ntitle: Local"), "local.yaml:2: unknown key 'colour'"),
        (("contexts: [dm]", "contexts: [dm, sms]"), "local.yaml:4: unknown context 'sms'"),
        (("tips: [one tip, two tips, ", "tips: ["), ": needs at least 5 tips"),
    ],
)
def test_a_problem_with_the_playbook_itself_names_its_line(change, expected):
    text = VALID.replace(*change)
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, "local.yaml")
    line = next(p for p in info.value.problems if expected.split(":")[-1] in p)
    assert expected in line and line.split(":")[1].isdigit(), line


def test_a_bad_regex_names_the_rule_and_its_line():
    text = VALID.replace("kind: phrases", "kind: pattern").replace(
        'phrases: ["the meetup"]', 'patterns: [{"(unclosed": "We met at the meetup."}]'
    )
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, "local.yaml")
    assert "local.yaml:6: rule no-meetup-name: bad regular expression" in str(info.value)


def test_duplicate_rule_ids_are_an_error():
    rule = VALID.split("rules:\n", 1)[1].split("tips:")[0]
    text = VALID.replace("tips:", rule + "tips:")
    with pytest.raises(PlaybookError, match="duplicate id"):
        parse_playbook(text, "local.yaml")


def test_unsafe_yaml_tags_are_refused():
    with pytest.raises(PlaybookError, match=r"local\.yaml"):
        parse_playbook("!!python/object/apply:os.system ['true']", "local.yaml")


def test_playbooks_check_reports_every_problem_and_exits_non_zero(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text(VALID.replace("severity: warn", "severity: fatal"))
    (tmp_path / "b.yaml").write_text("id: [unclosed")
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "a.yaml" in out and "severity" in out
    assert "b.yaml" in out


def test_playbooks_check_passes_on_the_built_ins(capsys):
    assert main(["playbooks", "check", str(BUILTIN_DIR)]) == 0


def test_playbooks_list_shows_rule_counts_and_contexts(capsys):
    assert main(["playbooks", "list"]) == 0
    out = capsys.readouterr().out
    assert "networking-not-marketing" in out and "rules" in out and "dm" in out


def test_playbooks_check_runs_each_rules_examples(tmp_path, capsys):
    wrong = VALID.replace(
        'examples: {fail: ["We met at the meetup."], pass: ["We met at PyData Leeds."]}',
        'examples: {fail: ["We met at PyData Leeds."], pass: ["We met at the meetup."]}',
    )
    (tmp_path / "local.yaml").write_text(wrong)
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "rule no-meetup-name: its fail example does not fire" in out
    assert "rule no-meetup-name: its pass example fires" in out


def test_playbooks_check_shows_example_mismatches_with_their_line_beside_broken_files(
    tmp_path, capsys
):
    wrong = VALID.replace(
        'examples: {fail: ["We met at the meetup."], pass: ["We met at PyData Leeds."]}',
        'examples: {fail: ["We met at PyData Leeds."], pass: ["We met at the meetup."]}',
    )
    (tmp_path / "local.yaml").write_text(wrong)
    (tmp_path / "broken.yaml").write_text("id: [unclosed")
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    line = wrong.splitlines().index("  - id: no-meetup-name") + 1
    assert "broken.yaml" in out
    assert f"local.yaml:{line}: rule no-meetup-name: its fail example does not fire" in out


def test_a_broken_file_does_not_make_other_rules_examples_look_wrong(tmp_path, capsys, monkeypatch):
    for path in BUILTIN_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "networking-not-marketing.yaml").write_text("id: [unclosed")
    monkeypatch.setattr("netcoach.bot.review.schema.BUILTIN_DIR", tmp_path)  # checked alone
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "networking-not-marketing.yaml" in out
    assert "example" not in out  # rules that yield to a pitch are not judged without it


def test_playbooks_check_on_an_empty_folder_is_an_error(tmp_path, capsys):
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    assert "no playbook files" in capsys.readouterr().out


def test_a_duplicate_rule_is_reported_at_its_own_line():
    rule = VALID.split("rules:\n", 1)[1].split("tips:")[0]
    text = VALID.replace("tips:", rule.replace("severity: warn", "severity: fatal") + "tips:")
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, "local.yaml")
    second = text.splitlines().index("  - id: no-meetup-name", 6) + 1
    assert f"local.yaml:{second}: rule no-meetup-name: duplicate id" in str(info.value)
    assert f"local.yaml:{second}: rule no-meetup-name: 'severity'" in str(info.value)


def _rule_with(phrases: str) -> str:
    return VALID.replace('phrases: ["the meetup"]', f"phrases: {phrases}")


@pytest.mark.parametrize(
    ("phrases", "expected"),
    [
        ('["{mine} .. meetup"]', "needs an example it matches"),
        ('["(our|my meetup"]', "unbalanced parentheses"),
        ('["the meetup .."]', "'..' must stand between two words"),
        ('["(the)? meetup"]', "cannot start or end with an optional"),
        ('["the mee*tup"]', "is neither a word, a word*, nor a {class}"),
        ('[{"the meetup": ""}]', "phrase: example text"),
    ],
)
def test_a_phrase_that_cannot_be_compiled_is_refused_with_its_reason(phrases, expected):
    with pytest.raises(PlaybookError) as info:
        parse_playbook(_rule_with(phrases), "local.yaml")
    assert expected in str(info.value) and "rule no-meetup-name" in str(info.value)


def test_every_alternative_is_checked_against_its_own_example(tmp_path: Path, capsys):
    (tmp_path / "local.yaml").write_text(
        _rule_with('[{"the (meetup|meet-up) in {name}": "We met at the meetup in town."}]')
    )
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "'the (meetup|meet-up) in {name}' does not match its example" in out


def test_an_unknown_word_class_is_named_with_its_rule_and_line(tmp_path: Path):
    (tmp_path / "local.yaml").write_text(_rule_with('[{"the {venues}": "We met at the meetup."}]'))
    with pytest.raises(PlaybookError, match=r"unknown word class \{venues\}") as info:
        load_playbooks([tmp_path])
    assert re.search(r"local\.yaml:\d+: rule \S+: 'the \{venues\}'", str(info.value))


def test_a_community_vocabulary_adds_word_classes_its_rules_use(tmp_path: Path):
    (tmp_path / "words.yaml").write_text("vocabulary:\n  venues: [meetup, meet-up, hackathon]\n")
    (tmp_path / "local.yaml").write_text(
        _rule_with('[{"the {venues}": "We met at the hackathon."}]')
    )
    playbooks = load_playbooks([tmp_path])
    findings = review("Great to see you at the hackathon, how was your trip?", "dm", playbooks)
    assert "no-meetup-name" in [f.rule for f in findings.findings]


def test_a_word_class_that_includes_itself_is_refused(tmp_path: Path):
    (tmp_path / "words.yaml").write_text("vocabulary:\n  a: ['{b}']\n  b: ['{a}']\n")
    (tmp_path / "local.yaml").write_text(VALID)
    with pytest.raises(PlaybookError, match="includes itself"):
        load_playbooks([tmp_path])


def test_a_problem_must_weigh_enough_to_revise_on_its_own():
    text = VALID.replace("severity: warn", "severity: problem")
    with pytest.raises(PlaybookError, match="a problem weighs 41 to 100"):
        parse_playbook(text, "local.yaml")


def test_a_billion_laughs_playbook_is_refused_at_once_with_its_line(tmp_path: Path, capsys):
    lines = ["id: lol", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        lines.append(f"{chr(97 + n)}: &{chr(97 + n)} [{', '.join([f'*{chr(96 + n)}'] * 9)}]")
    (tmp_path / "lol.yaml").write_text("\n".join(lines) + "\n")
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "lol.yaml: line 3: aliases (*a) are not allowed" in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("id: local-etiquette", "id: local-etiquette\n? [a, b]\n: c"),
            "a key must be a plain word",
        ),
        (("id: local-etiquette", "id: local-etiquette\n1: one"), "unknown key '1'"),
        (("kind: phrases", "kind: ratio\n    max: 0.5\n    min_first: lots"), "'min_first'"),
        (("kind: phrases", "kind: phrases\n    at_least: two"), "'at_least' must be a whole"),
        (
            ("kind: phrases", "kind: phrases\n    at_least: 2"),
            "'at_least' is 2 but the check lists 1",
        ),
    ],
)
def test_odd_yaml_shapes_are_errors_naming_file_and_line_not_tracebacks(change, expected):
    with pytest.raises(PlaybookError) as info:
        parse_playbook(VALID.replace(*change), "local.yaml")
    assert expected in str(info.value) and "local.yaml" in str(info.value)


def test_a_rule_with_at_least_fires_only_when_that_many_of_its_phrases_occur_apart():
    text = VALID.replace(
        'phrases: ["the meetup"]',
        'phrases: ["the meetup", "the venue", "meetup venue"]\n    at_least: 2',
    )
    text = text.replace('{fail: ["We met at the meetup."]', '{fail: ["The meetup at the venue."]')
    playbooks = PlaybookSet((parse_playbook(text, "local.yaml"),))
    one = review("Great to see you at the meetup!", "dm", playbooks)
    overlapping = review("Great to see you at the meetup venue!", "dm", playbooks)
    both = review("Great to see you at the meetup; the venue was packed.", "dm", playbooks)
    again = review("The meetup venue was lovely; see you at the meetup!", "dm", playbooks)
    assert [f.rule for f in one.findings] == [] == [f.rule for f in overlapping.findings]
    assert [(f.rule, f.excerpt) for f in both.findings] == [("no-meetup-name", "the meetup")]
    # "the meetup" overlaps "meetup venue" where it first occurs, and recurs on its own.
    assert [(f.rule, f.excerpt) for f in again.findings] == [("no-meetup-name", "The meetup")]


WELCOME_DETECTOR = """\
id: welcome-intros
title: Welcome intros
principle: A welcome post introduces two people.
contexts: [introduction]
signals:
  - id: please-welcome
    kind: phrases
    signal: introduces
    unless_signals: [pitch]
    phrases: ["please welcome"]
    examples: {hit: ["Please welcome Dana, our new tester."], miss: ["Welcome aboard."]}
rules:
  - id: welcome-too-short
    kind: count
    metric: words
    min: 3
    severity: tip
    weight: 1
    message: "Say a little more."
    suggestion: "One line about each of them."
    examples: {fail: ["Welcome!"], pass: ["Please welcome Dana today."]}
tips: [one, two, three, four, five]
"""

WELCOME_RULE = """\
id: welcome-rules
title: Welcome rules
principle: A welcome says what each person does.
contexts: [introduction]
rules:
  - id: welcome-needs-a-role
    kind: require
    when_signals: [introduces]
    any_phrases: ["works on", "works at"]
    severity: warn
    weight: 20
    message: "Say what they do."
    suggestion: "Add their role."
    examples:
      fail: ["Please welcome Dana to the channel!"]
      pass: ["Please welcome Dana, who works on the compiler."]
tips: [one, two, three, four, five]
"""


def test_a_community_detector_runs_before_the_rules_that_read_its_signal(tmp_path: Path):
    # The detector yields to a pitch, which once put it after the built-in rule that
    # treats "you worked with" as a request to be introduced; now it always runs first.
    (tmp_path / "a-welcome.yaml").write_text(WELCOME_DETECTOR)
    playbooks = load_playbooks([tmp_path])
    draft = "Ana, please welcome Ben to the studio. You worked with his sister at Naver."
    result = review(draft, "introduction", playbooks)
    assert result.signals["introduces"] and not result.signals["ask"]
    assert "intro-without-opt-in" in [f.rule for f in result.findings]


def test_a_rule_gated_on_a_signal_from_a_broken_file_is_not_judged(tmp_path, capsys):
    (tmp_path / "a-detect.yaml").write_text(
        WELCOME_DETECTOR.replace(
            "contexts: [introduction]\n", "contexts: [introduction]\ncolour: red\n"
        )
    )
    (tmp_path / "b-rules.yaml").write_text(WELCOME_RULE)
    assert main(["playbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "unknown key 'colour'" in out
    assert "welcome-needs-a-role" not in out


def test_a_rule_gated_on_a_signal_nothing_sets_is_refused_at_load(tmp_path: Path):
    # Only introduction drafts can be found to introduce two people: a DM rule that waits
    # for it would never fire, which once went unnoticed.
    (tmp_path / "b-rules.yaml").write_text(WELCOME_RULE.replace("[introduction]", "[dm]"))
    with pytest.raises(PlaybookError) as info:
        load_playbooks([tmp_path])
    assert "welcome-needs-a-role: nothing sets introduces in its contexts (dm)" in str(info.value)


def test_disabling_what_a_gated_rule_waits_for_is_refused_with_a_hint():
    with pytest.raises(PlaybookError) as info:
        load_playbooks(disabled_rules=["makes-an-introduction", "names-each-other"])
    message = str(info.value)
    assert "rule intro-without-opt-in: nothing sets introduces" in message
    assert "disable the rule too" in message


def test_a_gated_rule_in_several_contexts_is_checked_where_it_can_fire(tmp_path, capsys):
    # Its examples were judged in its first context (dm), where nothing introduces.
    (tmp_path / "a-welcome.yaml").write_text(WELCOME_DETECTOR)
    (tmp_path / "b-rules.yaml").write_text(
        WELCOME_RULE.replace("contexts: [introduction]", "contexts: [dm, introduction]")
    )
    assert main(["playbooks", "check", str(tmp_path)]) == 0, capsys.readouterr().out
