"""`netcoach review` and `netcoach playbooks` as a person at a terminal uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from processes import run_cli

from netcoach.bot.cli import main


def test_review_prints_score_verdict_and_each_finding_with_its_fix(capsys):
    assert main(["review", "Dear Sir/Madam, check out my new course!"]) == 0
    out = capsys.readouterr().out
    assert "/100" in out and "worth a revision" in out
    assert "[check out my new course]" in out  # the excerpt is marked
    assert "→" in out  # and each finding carries its suggestion


def test_review_json_is_the_review_dict(capsys):
    assert main(["review", "--json", "--context", "intro", "Hi, I'm Sara."]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["context"] == "intro" and data["verdict"] == "revise"
    assert {f["rule"] for f in data["findings"]} >= {"intro-too-short"}


def test_review_reads_stdin_with_a_dash():
    done = run_cli("review", "--json", "-", stdin=b"Hi Kim, congrats on the new job!")
    assert done.returncode == 0
    assert json.loads(done.stdout)["signals"]["about_them"] is True


def test_a_draft_piped_in_is_reviewed_without_the_dash():
    done = run_cli("review", "--json", stdin=b"Hi Kim, congrats on the new job!")
    assert done.returncode == 0 and json.loads(done.stdout)["verdict"] == "ready"


def test_no_draft_at_a_terminal_says_how_to_give_one(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert main(["review"]) == 2
    assert "give a draft" in capsys.readouterr().err


def test_invalid_utf8_on_stdin_is_a_one_line_error_with_status_2():
    done = run_cli("review", "-", stdin=b"Hi \xff\xfe there")
    assert done.returncode == 2
    assert done.stderr.decode().strip().count("\n") == 0
    assert "UTF-8" in done.stderr.decode() and b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["review", "   "], "empty"),
        (["review", "x" * 4001], "limit is 4,000"),
        (["review", "--batch", "/no/such/file.jsonl"], "cannot read"),
    ],
)
def test_usage_and_input_errors_exit_2_with_a_clear_message(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_context_is_refused_by_the_parser():
    done = run_cli("review", "--context", "email", "hello")
    assert done.returncode == 2 and b"invalid choice" in done.stderr


def test_batch_reviews_each_line_and_reports_bad_lines_without_stopping(tmp_path, capsys):
    path = tmp_path / "drafts.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "context": "dm", "text": "hey"}),
                "{not json",
                json.dumps({"id": "c", "context": "email", "text": "hello"}),
                json.dumps({"id": "d", "text": ""}),
                json.dumps(
                    {"id": 5, "context": "intro", "text": "Hi all, I'm Jo. What brings you here?"}
                ),
            ]
        )
    )
    assert main(["review", "--batch", str(path)]) == 1  # some lines failed (issue 14)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("id") for line in lines] == ["a", None, "c", "d", 5]
    assert lines[0]["verdict"] == "revise" and lines[0]["signals"]["bare_greeting"] is True
    assert lines[1]["line"] == 2 and "error" in lines[1]
    assert "Unknown context" in lines[2]["error"] and lines[2]["line"] == 3
    assert "empty" in lines[3]["error"]
    assert lines[4]["context"] == "intro"


def test_batch_from_stdin():
    line = json.dumps({"id": "x", "context": "follow-up", "text": "Just bumping this!"})
    done = run_cli("review", "--batch", "-", stdin=line.encode())
    assert done.returncode == 0
    assert json.loads(done.stdout)["id"] == "x"


def test_extra_playbook_folders_are_used(tmp_path, capsys):
    (tmp_path / "local.yaml").write_text(
        "id: no-jargon\ntitle: No jargon\nprinciple: Plain words.\n"
        "rules:\n  - id: synergy\n    kind: phrases\n    severity: warn\n    weight: 5\n"
        "    phrases: [synergy]\n    message: \"'{match}' is jargon.\"\n"
        "    suggestion: Say what you mean.\n"
        "    examples: {fail: [Great synergy!], pass: [Great work!]}\n"
        "tips: [a, b, c, d, e]\n"
    )
    assert main(["review", "--json", "--playbooks", str(tmp_path), "Such synergy, Ana!"]) == 0
    assert "synergy" in {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}


def test_review_does_not_import_a_chat_platform_library():
    code = (
        "import sys; from netcoach.bot.cli import main; "
        "main(['review', '--json', 'hi there Ana']); "
        "sys.exit(any(m.split('.')[0] in ('discord', 'telegram', 'dateparser', 'aiosqlite') "
        "for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_eval_piped_into_head_stops_quietly():
    """`netcoach playbooks eval FILE | head -1` ends without a traceback."""
    labelled = Path(__file__).parent / "data" / "drafts-dev.jsonl"
    code = (
        "import sys; from netcoach.bot.cli import main; "
        f"sys.exit(main(['playbooks', 'eval', {str(labelled)!r}]))"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader leaves, as head does
        errors = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert b"labelled drafts" in first and b"Traceback" not in errors, errors
