"""The command line as people use it (issue 14): one-line usage errors, help for every
option, `followup` as a context name, --batch that says when lines failed."""

from __future__ import annotations

import json

import pytest
from processes import run_cli

from netcoach.bot.cli import main


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["review", "--contxt", "x", "hi"], "unrecognized arguments: --contxt"),
        (["review", "--contxt", "dm", "hi"], "did you mean --context?"),
        (["review", "--jsn", "hi"], "did you mean --json?"),
        (["playbooks", "eval", "--wrost", "3", "f.jsonl"], "did you mean --worst?"),
        (["playbooks", "check", "--config", "c.yaml"], "--config is an option of another"),
        (["review", "Hi", "Ana,", "how", "was", "it?"], "quote text that has spaces"),
        (["review", "-c", "nope", "hi"], "invalid choice: 'nope'"),
        (["frob"], "invalid choice: 'frob'"),
        (["review", "--batch"], "expected one argument"),
    ],
)
def test_usage_errors_are_one_line_with_status_2(args: list[str], said: str) -> None:
    done = run_cli(*args)
    err = done.stderr.decode()
    assert done.returncode == 2
    assert err.count("\n") == 1 and said in err and "--help" in err
    assert "usage:" not in err


def test_every_review_option_has_help() -> None:
    out = " ".join(run_cli("review", "--help").stdout.decode().split())
    assert "follow-up (also: followup)" in out
    assert "add a folder of playbooks" in out
    assert "exit status 1 when some lines" in out


def test_followup_is_accepted_as_a_context(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["review", "--json", "-c", "followup", "Hi Tom, here's the link. Hope it helps!"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["context"] == "follow-up"


def test_batch_exits_1_when_lines_failed_and_says_why_in_words() -> None:
    lines = [
        b'{"id": 1, "text": "Hi Ana, loved your talk on soil! How did you start?"}',
        b"not json",
        b"[1, 2]",
        b'{"id": 4}',
        b'{"id": 5, "text": "Hi Tom, here is the link. Hope it helps!", "context": "followup"}',
        b'{"id": 6, "text": "caf\xe9"}',
    ]
    done = run_cli("review", "--batch", "-", stdin=b"\n".join(lines) + b"\n")
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        'netcoach: 4 of 6 lines could not be reviewed (see their "error")'
    )
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o.get("verdict") is not None for o in out] == [True, False, False, False, True, False]
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert errors[2].startswith("the line is not valid JSON")
    assert "Expecting value" not in errors[2] and "char 0" not in errors[2]
    assert errors[3].startswith("each line must be a JSON object")
    assert errors[4].startswith('no "text" to review')
    assert errors[6] == "the line is not valid UTF-8 (byte 23)"
    assert out[4]["context"] == "follow-up"


def test_batch_with_every_line_fine_exits_0() -> None:
    done = run_cli("review", "--batch", "-", stdin=b'{"id": 1, "text": "Hi Ana, how are you?"}\n')
    assert done.returncode == 0 and done.stderr == b""


def test_a_config_error_about_playbooks_names_the_file_and_the_key(tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("playbooks:\n  disabled_rules: [no-such-rule]\n")
    done = run_cli("review", "--config", str(config), "Hi Ana, how was the talk?")
    err = done.stderr.decode()
    assert done.returncode == 2
    assert f"{config}: 'playbooks.disabled_rules': rule 'no-such-rule' does not exist" in err
