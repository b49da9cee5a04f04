"""The console chat: scripted through a pipe, numbered buttons, clean start and stop."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from followup_fakes import FakeClock, settled

from netcoach.adapters.console import YOU, ConsoleAdapter, render, to_request
from netcoach.bot.app import App, build, load_config
from netcoach.bot.kernel import Button, PlaceRef, Reply, bold, plain

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_buttons_render_as_numbered_choices() -> None:
    reply = Reply(
        PlaceRef("console", "you"),
        (bold("Time to follow up with Maria"), plain("\nnote")),
        (Button("Done", "done:1"), Button("Snooze 1 day", "snz:1:1d")),
    )
    assert render(reply) == "Time to follow up with Maria\nnote\n[1] Done  [2] Snooze 1 day"
    assert "\x1b[1m" in render(reply, color=True)


def test_typed_lines_become_neutral_requests() -> None:
    choices = [Button("Done", "done:1"), Button("Draft", "draft:1")]
    assert to_request("   ", choices) is None
    req = to_request("/FollowUp Maria tomorrow", choices)
    assert req is not None and (req.command, req.text) == ("followup", "Maria tomorrow")
    req = to_request("2", choices)
    assert req is not None and (req.command, req.text) == ("press", "draft:1")
    req = to_request("3", choices)  # no such choice: a press the coach says is not there
    assert req is not None and (req.command, req.text) == ("press", "")
    req = to_request("Hi Maria, how was the launch?", [])
    assert req is not None and req.command == "" and req.user == YOU


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line + "\n"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[App, FakeClock]]:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(
        f"database: {tmp_path / 'c.sqlite3'}\ntimezone: Europe/Lisbon\ndefault_time: '08:30'\n"
    )
    clock = FakeClock(T0)
    built = await build(load_config(config_file, env={}), clock=clock)
    built.scheduler._call_later = clock.call_later
    yield built, clock
    await built.close()


async def test_a_nudge_prints_and_typing_its_number_presses_the_button(
    app: tuple[App, FakeClock],
) -> None:
    built, clock = app
    out = io.StringIO()
    console = ConsoleAdapter(_lines(), out, interactive=False)
    built.add_adapter(console)
    scheduler = asyncio.create_task(built.scheduler.run())
    await console.run(built.coach)  # nothing typed yet
    await console.handle_line(built.coach, "/followup Maria in 2 hours send the notes")
    assert "Thu 26 Nov 2026, 12:00 (Europe/Lisbon)" in out.getvalue()
    await settled(built.scheduler)
    clock.advance(timedelta(hours=2))
    await settled(built.scheduler)
    shown = out.getvalue()
    assert "Time to follow up with Maria" in shown
    assert "[1] Done  [2] Snooze 1 day  [3] Snooze 1 week  [4] Draft" in shown
    await console.handle_line(built.coach, "1")
    assert "Marked #1 done" in out.getvalue()
    await console.handle_line(built.coach, "/followups")
    assert (
        out.getvalue()
        .rstrip()
        .endswith("No open follow-ups. Add one with /followup Maria in 3 days.")
    )
    scheduler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await scheduler


async def test_a_repeated_delivery_key_is_shown_once() -> None:
    out = io.StringIO()
    console = ConsoleAdapter(_lines(), out, interactive=False)
    reply = Reply.of(PlaceRef("console", "you"), "Time to follow up with Maria")
    first = await console.deliver(YOU, reply, key="job:7")
    again = await console.deliver(YOU, reply, key="job:7")
    assert first == again and out.getvalue().count("Maria") == 1


def _write_config(tmp_path: Path) -> Path:
    config = tmp_path / "netcoach.yaml"
    config.write_text(f"database: {tmp_path / 'netcoach.sqlite3'}\nlog_level: WARNING\n")
    return config


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    env.pop("DISCORD_TOKEN", None)  # no platform: `run` falls back to the console
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def test_netcoach_chat_can_be_scripted_through_a_pipe(tmp_path: Path) -> None:
    script = "/followup Maria in 3 days send her the testing notes\n/followups\n/nonsense\n/quit\n"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "netcoach.bot.cli",
            "chat",
            "--config",
            str(_write_config(tmp_path)),
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "I'll remind you to follow up with Maria" in done.stdout
    assert "#1 Maria — " in done.stdout
    assert "I don't know the command /nonsense" in done.stdout
    assert "Traceback" not in done.stderr
    assert (tmp_path / "netcoach.sqlite3").exists()
    assert not (tmp_path / "netcoach.sqlite3-wal").exists()  # closed cleanly


def test_netcoach_run_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "netcoach.bot.cli", "run", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("/followup Maria tomorrow\n")
    proc.stdin.flush()
    line = proc.stdout.readline()  # the confirmation: the bot is up and the row written
    assert "Maria" in line
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "netcoach stopped" in err
    assert not (tmp_path / "netcoach.sqlite3-wal").exists()


async def test_the_interactive_prompt_takes_commands_and_nudges_until_quit(
    app: tuple[App, FakeClock],
) -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    built, _ = app
    with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
        console = ConsoleAdapter(interactive=True)
        task = asyncio.create_task(console.run(built.coach))
        keys.send_text("/followup Maria tomorrow send the notes\r")
        user = None
        for _ in range(500):  # the prompt runs on the real loop: wait for it to answer
            user = await built.users.find(YOU)
            if user and await built.features.followups.repo.of_user(user.id):
                break
            await asyncio.sleep(0.01)
        assert user is not None and len(await built.features.followups.repo.of_user(user.id)) == 1
        nudge = Reply.of(PlaceRef("console", "you"), "Time to follow up with Maria")
        assert await console.deliver(YOU, nudge, key="job:1")  # arrives while the prompt waits
        keys.send_text("/quit\r")
        await asyncio.wait_for(task, timeout=10)
