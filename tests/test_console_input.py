"""The console as people type into it: any bytes, stable numbered choices, typed labels,
Ctrl-C on a half-typed line, and no terminal at all."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from followup_fakes import FakeClock, settled

from netcoach.adapters.console import YOU, ConsoleAdapter
from netcoach.bot.app import App, build, load_config

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[App, FakeClock]]:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(f"database: {tmp_path / 'c.sqlite3'}\ntimezone: Europe/Lisbon\n")
    clock = FakeClock(T0)
    built = await build(load_config(config_file, env={}), clock=clock)
    built.scheduler._call_later = clock.call_later
    yield built, clock
    await built.close()


def _console(built: App, tmp_path: Path | None = None) -> tuple[ConsoleAdapter, io.StringIO]:
    out = io.StringIO()
    console = ConsoleAdapter(None, out, interactive=False, files_dir=tmp_path)
    built.add_adapter(console)
    return console, out


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    env.pop("DISCORD_TOKEN", None)
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


def _chat(tmp_path: Path, stdin: bytes | None, **env: str) -> subprocess.CompletedProcess[bytes]:
    config = tmp_path / "netcoach.yaml"
    config.write_text(f"database: {tmp_path / 'n.sqlite3'}\nlog_level: WARNING\n")
    return subprocess.run(
        [sys.executable, "-m", "netcoach.bot.cli", "chat", "--config", str(config)],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        timeout=60,
        env=_env(**env),
        cwd=tmp_path,
    )


# -- bytes people pipe in -------------------------------------------------------------------


def test_an_invalid_utf8_byte_in_piped_input_is_replaced_and_the_chat_goes_on(
    tmp_path: Path,
) -> None:
    script = b"caf\xe9 \xff\n/followup Maria tomorrow send the notes\n/followups\n"
    done = _chat(tmp_path, script, PYTHONIOENCODING="utf-8:strict")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "#1 Maria" in out  # the lines after the bad byte were read
    assert b"Traceback" not in done.stderr


def test_lone_surrogates_never_reach_the_database(tmp_path: Path) -> None:
    # Under C.UTF-8 Python reads invalid bytes as lone surrogates (surrogateescape).
    script = b"/followup Ma\xffria tomorrow note \xed\xa0\x80 end\n/followups\n"
    done = _chat(tmp_path, script, LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8:surrogateescape")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "Ma\ufffdria" in out and "#1" in out
    assert b"Traceback" not in done.stderr


async def test_lone_surrogates_typed_into_the_adapter_are_stored_as_replacements(
    app: tuple[App, FakeClock],
) -> None:
    built, _ = app
    console, out = _console(built)
    await console.handle_line(built.coach, "/followup Ma\udcffria tomorrow bring \ud800 notes")
    await console.handle_line(built.coach, "/followups")
    assert "Ma\ufffdria" in out.getvalue() and "Sorry" not in out.getvalue()


def test_no_terminal_and_no_input_says_what_to_do(tmp_path: Path) -> None:
    done = _chat(tmp_path, None)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith("netcoach: the console chat needs a terminal") and "Traceback" not in err
    assert "not a terminal" in err and "docker run -it" in err and "netcoach review" in err
    assert "TELEGRAM_BOT_TOKEN" in err


# -- numbered choices -----------------------------------------------------------------------


async def test_every_nudge_keeps_its_numbers_when_several_arrive_together(
    app: tuple[App, FakeClock],
) -> None:
    built, clock = app
    console, out = _console(built)
    scheduler = asyncio.create_task(built.scheduler.run())
    for name in ("Ana", "Ben", "Cy", "Di"):
        await console.handle_line(built.coach, f"/followup {name} in 1 hour")
    await settled(built.scheduler)
    clock.advance(timedelta(hours=1))
    await settled(built.scheduler)
    shown = out.getvalue()
    assert "[1] Done  [2] Snooze 1 day  [3] Snooze 1 week  [4] Draft" in shown
    assert "[13] Done  [14] Snooze 1 day  [15] Snooze 1 week  [16] Draft" in shown
    first = shown.index("Time to follow up with")
    assert shown[first:].startswith("Time to follow up with Ana")  # [1] is Ana's

    await console.handle_line(built.coach, "1")  # the first nudge, not the latest
    assert "Marked #1 done — nice work following up with Ana" in out.getvalue()
    await console.handle_line(built.coach, "6")  # Ben's "Snooze 1 day"
    assert "I'll remind you about Ben" in out.getvalue()

    # A nudge arriving while you type does not change what a number means.
    await console.handle_line(built.coach, "/followup Eve in 1 hour")
    await settled(built.scheduler)
    clock.advance(timedelta(hours=1))
    await settled(built.scheduler)
    await console.handle_line(built.coach, "9")
    assert "nice work following up with Cy" in out.getvalue()
    scheduler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await scheduler


async def test_a_number_with_no_button_is_explained(app: tuple[App, FakeClock]) -> None:
    built, _ = app
    console, out = _console(built)
    await console.handle_line(built.coach, "4")
    assert "There is no choice 4: no message with numbered choices is on screen." in out.getvalue()
    await console.handle_line(built.coach, "Hi Ana, loved your talk on soil. How did you start?")
    for typed in ("0", "99"):
        await console.handle_line(built.coach, typed)
        said = out.getvalue().rstrip().rsplit("\n\n", 1)[-1]
        assert said.startswith(f"There is no choice {typed}.")
        assert "the latest are 1–3: [1] Review as intro post" in said
    assert "That button no longer works" not in out.getvalue()


async def test_yes_and_no_answer_the_forget_question(
    app: tuple[App, FakeClock], tmp_path: Path
) -> None:
    built, _ = app
    console, out = _console(built, tmp_path)
    await console.handle_line(built.coach, "/followup Maria tomorrow")
    await console.handle_line(built.coach, "/forget")
    await console.handle_line(built.coach, "no")
    assert out.getvalue().rstrip().endswith("Nothing was deleted.")
    await console.handle_line(built.coach, "/forget")
    await console.handle_line(built.coach, "Yes")
    assert "Done: I deleted all" in out.getvalue()
    assert await built.users.find(YOU) is None


async def test_a_typed_label_answers_only_the_message_just_shown(
    app: tuple[App, FakeClock],
) -> None:
    built, _ = app
    console, out = _console(built)
    await console.handle_line(built.coach, "/followup Maria tomorrow")
    await console.handle_line(built.coach, "/forget")
    await console.handle_line(built.coach, "/followups")  # something else came in between
    await console.handle_line(built.coach, "yes")
    assert "Done: I deleted" not in out.getvalue()
    assert await built.users.find(YOU) is not None


async def test_a_typed_word_that_names_no_single_button_is_a_message(
    app: tuple[App, FakeClock],
) -> None:
    built, _ = app
    console, out = _console(built)
    await console.handle_line(built.coach, "Hi Ana, loved your talk on soil. How did you start?")
    await console.handle_line(built.coach, "review")  # all three buttons start with it
    assert "(as an intro post)" not in out.getvalue()  # no button was pressed


# -- the interactive prompt -------------------------------------------------------------------


async def test_ctrl_c_clears_a_half_typed_line_and_on_an_empty_line_leaves(
    app: tuple[App, FakeClock],
) -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    built, _ = app
    with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
        console = ConsoleAdapter(interactive=True)
        task = asyncio.create_task(console.run(built.coach))
        keys.send_text("/followup Half typed tomorrow")
        keys.send_text("\x03")  # Ctrl-C: the line is dropped, the chat goes on
        keys.send_text("/followup Maria tomorrow\r")
        user = None
        for _ in range(500):  # the prompt runs on the real loop: wait for it to answer
            user = await built.users.find(YOU)
            if user and await built.features.followups.repo.of_user(user.id):
                break
            await asyncio.sleep(0.01)
        assert not task.done()
        assert user is not None
        names = [f.contact_name for f in await built.features.followups.repo.of_user(user.id)]
        assert names == ["Maria"]
        keys.send_text("\x03")  # on an empty line Ctrl-C leaves
        await asyncio.wait_for(task, timeout=10)
