"""Start-up faults are one line on stderr and exit status 2, never a traceback; each chat
platform starts, retries and fails on its own (issue 11).

The database file: not a database, damaged, a folder, in a folder that cannot be created,
read-only (file or folder), locked by another process, a migration failing half-way.
Each case runs the real `netcoach chat` in a subprocess; the read-only cases run it as an
unprivileged user when the tests run as root (root ignores file permissions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from fake_discord import (
    FakeDiscord,
    restore_discord_endpoints,  # noqa: F401 - autouse fixture
)
from fake_telegram import TOKEN as TELEGRAM_TOKEN
from fake_telegram import FakeTelegram, user
from processes import netcoach_run

from netcoach.adapters.discord.platform import from_config as discord_from_config
from netcoach.adapters.telegram.platform import TelegramAdapter
from netcoach.adapters.toolkit import connecting
from netcoach.bot.app import App, build, load_config
from netcoach.bot.config import ConfigError
from netcoach.bot.storage import Database, StoreError
from netcoach.bot.storage.db import migrations

NOBODY = 65534
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder every user may enter (pytest's own tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="netcoach-startup-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o777)
        shutil.rmtree(folder)


def netcoach_chat(database: Path, folder: Path, *, unprivileged: bool = False) -> tuple[int, str]:
    config = folder / "netcoach.yaml"
    config.write_text(f"database: {database}\n", encoding="utf-8")
    config.chmod(0o644)
    command = [sys.executable, "-m", "netcoach.bot.cli", "chat", "--config", str(config)]
    if unprivileged and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    done = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=folder
    )
    return done.returncode, done.stderr


async def _good_database(path: Path, upto: int | None = None) -> None:
    scripts = migrations()
    db = await Database.open(path, scripts=scripts if upto is None else scripts[:upto])
    await db.close()
    sqlite = sqlite3.connect(path)
    sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sqlite.close()


def _random(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 32)


def _text(path: Path) -> None:
    path.write_text("name,email\nAna,ana@example.org\n" * 50, encoding="utf-8")


async def _garbled(path: Path) -> None:
    await _good_database(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page, overwritten
    path.write_bytes(bytes(data))


async def _truncated(path: Path) -> None:
    await _good_database(path)
    path.write_bytes(path.read_bytes()[:1500])


def _folder(path: Path) -> None:
    path.mkdir()


CASES: dict[str, tuple[Callable, str]] = {
    "random bytes": (_random, "is not a SQLite database"),
    "a text file": (_text, "is not a SQLite database"),
    "garbled": (_garbled, "is damaged"),
    "truncated": (_truncated, "is damaged"),
    "a folder": (_folder, "is a folder"),
}


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("netcoach: ")
    return lines[0]


@pytest.mark.parametrize("case", list(CASES))
async def test_a_file_that_is_not_a_usable_database_is_one_line_and_left_alone(
    place: Path, case: str
) -> None:
    make, says = CASES[case]
    path = place / "netcoach.sqlite3"
    if (made := make(path)) is not None:
        await made
    before = path.read_bytes() if path.is_file() else None
    status, stderr = netcoach_chat(path, place)
    line = _one_line(stderr)
    assert status == 2 and str(path) in line and says in line, line
    assert "point 'database'" in line or "restore" in line  # what to do
    if before is not None:
        assert path.read_bytes() == before


def test_a_database_whose_folder_cannot_be_created(place: Path) -> None:
    (place / "notes").write_text("a file, not a folder")
    path = place / "notes" / "netcoach.sqlite3"
    status, stderr = netcoach_chat(path, place)
    line = _one_line(stderr)
    assert status == 2 and str(path) in line and "cannot create the folder" in line


async def test_a_migration_failing_half_way_changes_nothing(place: Path) -> None:
    """A file at schema version 2 where someone already made a `communities` table: the
    step to version 3 fails on it, rolls back whole, and netcoach says so in one line."""
    path = place / "netcoach.sqlite3"
    await _good_database(path, upto=2)
    sqlite = sqlite3.connect(path)
    sqlite.execute("CREATE TABLE communities (id INTEGER PRIMARY KEY)")
    sqlite.commit()
    sqlite.close()
    before = path.read_bytes()
    status, stderr = netcoach_chat(path, place)
    line = _one_line(stderr)
    assert status == 2 and str(path) in line
    assert "version 2 to 3" in line and "communities already exists" in line
    assert "still at version 2" in line
    sqlite = sqlite3.connect(path)
    assert sqlite.execute("PRAGMA user_version").fetchone() == (2,)
    tables = {r[0] for r in sqlite.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "community_tips" not in tables  # nothing of the failed step
    sqlite.close()
    assert path.read_bytes() == before


@pytest.mark.parametrize("existing", [False, True])
async def test_a_read_only_folder(place: Path, existing: bool) -> None:
    folder = place / "data"
    folder.mkdir()
    path = folder / "netcoach.sqlite3"
    if existing:
        await _good_database(path)
    folder.chmod(0o555)
    status, stderr = netcoach_chat(path, place, unprivileged=True)
    line = _one_line(stderr)
    assert status == 2 and str(folder) in line and "read-only" in line, line


async def test_a_read_only_file(place: Path) -> None:
    path = place / "netcoach.sqlite3"
    await _good_database(path)
    path.chmod(0o444)
    status, stderr = netcoach_chat(path, place, unprivileged=True)
    line = _one_line(stderr)
    assert status == 2 and str(path) in line and "read-only" in line, line


async def test_a_database_locked_by_another_process(place: Path) -> None:
    path = place / "netcoach.sqlite3"
    await _good_database(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as info:
            await Database.open(path, busy_timeout_ms=0)
    finally:
        other.close()
    assert str(path) in str(info.value) and "locked by another process" in str(info.value)


# -- platforms start, retry and fail on their own ----------------------------------------------


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_discord_unreachable_does_not_take_telegram_or_the_process_down(
    tmp_path: Path,
) -> None:
    """`netcoach run` with both platforms, and no route to Discord: Telegram serves, Discord
    keeps retrying (one line each time), SIGTERM ends it all cleanly."""
    port = _closed_port()
    config = tmp_path / "netcoach.yaml"
    env = {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "DISCORD_TOKEN": FakeDiscord.token_expected}
    async with FakeTelegram() as telegram:
        config.write_text(
            f"database: {tmp_path / 'n.sqlite3'}\n"
            f"telegram:\n  base_url: {telegram.base_url}\n"
            f"discord:\n  api_base_url: http://127.0.0.1:{port}/api/v10\n"
            f"  gateway_url: ws://127.0.0.1:{port}/gateway\n"
        )
        async with netcoach_run(config, env) as netcoach:
            await netcoach.until(lambda line: "serving as @" in line, "telegram")
            telegram.send(user(1001, "Ana"), "Hi Maria! Check out my new course!")
            await telegram.wait_for("sendMessage", timeout=30)
            await netcoach.until(lambda line: "discord: cannot reach Discord" in line, "a retry")
            assert netcoach.process.returncode is None  # still running
    assert netcoach.status == 0, netcoach.stderr
    assert "Traceback" not in netcoach.stderr
    assert all(len(line) < 400 for line in netcoach.lines), netcoach.stderr  # one line each


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    fake = await FakeDiscord().start()
    yield fake
    await fake.stop()


async def _built(tmp_path: Path, discord_url: str, gateway_url: str, token: str) -> App:
    config = tmp_path / "netcoach.yaml"
    config.write_text(
        f"database: {tmp_path / 'n.sqlite3'}\ndiscord:\n  enabled: true\n"
        f"  api_base_url: {discord_url}\n  gateway_url: {gateway_url}\n"
    )
    return await build(load_config(config, env={"DISCORD_TOKEN": token}))


async def test_a_rejected_discord_token_stops_discord_alone(
    tmp_path: Path, discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord says 401: Discord stops in one line naming DISCORD_TOKEN; Telegram and the
    scheduler go on; nudges for Discord users wait for it."""
    secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.rejected-token-value"
    app = await _built(tmp_path, discord_fake.api_url, discord_fake.gateway_url, secret)
    async with FakeTelegram() as telegram:
        discord_adapter = discord_from_config(app.config)
        telegram_adapter = TelegramAdapter(TELEGRAM_TOKEN, base_url=telegram.base_url)
        app.add_adapter(telegram_adapter)
        app.add_adapter(discord_adapter)
        serving = asyncio.create_task(app.serve())
        try:
            await asyncio.wait_for(telegram_adapter.ready.wait(), 10)
            await _until(lambda: "discord" not in app.deliverer.adapters, "discord to stop")
            telegram.send(user(1001, "Ana"), "Hi Maria! Check out my new course!")
            await telegram.wait_for("sendMessage")
            assert not serving.done()
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            await app.close()
    [stopped] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    line = stopped.getMessage()
    assert "DISCORD_TOKEN" in line and "discord" in line and secret not in caplog.text
    assert stopped.exc_info is None and "\n" not in line


async def test_a_platform_failing_alone_ends_the_process_with_its_reason(
    tmp_path: Path, discord_fake: FakeDiscord
) -> None:
    app = await _built(tmp_path, discord_fake.api_url, discord_fake.gateway_url, "x" * 40)
    app.add_adapter(discord_from_config(app.config))
    try:
        with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
            await asyncio.wait_for(app.serve(), 10)
    finally:
        await app.close()


async def test_discord_retries_with_capped_backoff_until_it_gets_through(
    tmp_path: Path, discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(4):  # Discord's side is down for a while: 503s (discord.py's own retries
        # of 502s sleep for real), then it answers
        unavailable = {"message": "Service Unavailable", "code": 0}
        discord_fake.fail("GET", r"^/users/@me$", 503, unavailable)
    app = await _built(
        tmp_path, discord_fake.api_url, discord_fake.gateway_url, discord_fake.token_expected
    )
    adapter = discord_from_config(app.config)
    adapter.startup_backoff = (0.001, 0.004)
    adapter.guild_ready_timeout = 0.01
    running = asyncio.create_task(adapter.run(app.coach))
    try:
        await _until(lambda: adapter.bot is not None and adapter.bot.is_ready(), "ready", 10)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await app.close()
    retries = [r.getMessage() for r in caplog.records if "cannot reach Discord" in r.getMessage()]
    assert len(retries) == 4
    assert [m.rsplit("retrying in ", 1)[1] for m in retries] == [
        "0.001 s",
        "0.002 s",
        "0.004 s",
        "0.004 s",
    ]
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("netcoach"))


@pytest.mark.parametrize("down", ["rest", "gateway"])
async def test_discord_unreachable_is_retried_never_raised(
    tmp_path: Path,
    discord_fake: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    down: str,
) -> None:
    """No route to Discord's REST API, or to its gateway (a proxy down): retried, logged in
    one line each time, never an exception out of run()."""
    import discord.backoff

    monkeypatch.setattr(discord.backoff.ExponentialBackoff, "delay", lambda self: 0.0)
    port = _closed_port()
    api = f"http://127.0.0.1:{port}/api/v10" if down == "rest" else discord_fake.api_url
    gateway = f"ws://127.0.0.1:{port}/gateway" if down == "gateway" else discord_fake.gateway_url
    app = await _built(tmp_path, api, gateway, discord_fake.token_expected)
    adapter = discord_from_config(app.config)
    adapter.startup_backoff = (0.001, 0.002)
    running = asyncio.create_task(adapter.run(app.coach))
    try:
        await _until(
            lambda: sum("cannot reach Discord" in r.getMessage() for r in caplog.records) >= 3,
            "three retries",
            10,
        )
        assert not running.done()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await app.close()


async def test_telegram_flood_control_at_start_up_is_waited_out_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 on getMe at start-up (RetryAfter is not a network error to PTB) used to end
    Telegram; it is retried after the wait Telegram asked for, like any other outage."""
    waited: list[float] = []

    async def no_wait(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(connecting, "sleep", no_wait)
    config = tmp_path / "netcoach.yaml"
    config.write_text(f"database: {tmp_path / 'n.sqlite3'}\n")
    app = await build(load_config(config, env={}))
    async with FakeTelegram() as telegram:
        for _ in range(2):
            telegram.fail("getMe", 429, "Too Many Requests: retry after 30", retry_after=30)
        adapter = TelegramAdapter(
            TELEGRAM_TOKEN,
            base_url=telegram.base_url,
            startup_backoff=(0.001, 0.002),
            max_rate_retries=0,
        )
        running = asyncio.create_task(adapter.run(app.coach))
        try:
            await asyncio.wait_for(adapter.ready.wait(), 10)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await app.close()
    waits = [r.getMessage() for r in caplog.records if "rate limited" in r.getMessage()]
    assert (
        waits
        == ["telegram: cannot reach the Bot API (rate limited for 30 s); retrying in 30 s"] * 2
    )
    assert waited == [30, 30]
