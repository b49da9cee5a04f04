"""Start-up faults are one line on stderr and exit status 2, never a traceback (issue 11).

The database file: not a database, damaged, a folder, in a folder that cannot be created,
read-only (file or folder), locked by another process, a migration failing half-way.
Each case runs the real `netcoach chat` in a subprocess; the read-only cases run it as an
unprivileged user when the tests run as root (root ignores file permissions).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netcoach.bot.storage import Database, StoreError
from netcoach.bot.storage.db import migrations

NOBODY = 65534


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
