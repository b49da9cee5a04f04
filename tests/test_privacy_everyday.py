"""/mydata and /forget as people read them (issue 14), through the real console adapter:
a readable export, and /forget that deletes the export files the console saved."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_chat import ConsoleChat
from followup_fakes import FakeClock

from netcoach.bot.app import build, load_config

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[ConsoleChat]:
    config_file = tmp_path / "netcoach.yaml"
    config_file.write_text(f"database: {tmp_path / 'c.sqlite3'}\n")
    app = await build(load_config(config_file, env={}), clock=FakeClock(T0))
    files = tmp_path / "here"
    yield ConsoleChat(app, files)
    await app.close()


async def test_the_export_reads_as_a_person_would_expect(chat: ConsoleChat) -> None:
    await chat.say("/followup Пётр tomorrow привет из Москвы")
    await chat.say("/history on")
    await chat.say("Hi Ana, loved your talk on soil health — how did you get started?")
    said = await chat.say("/mydata")
    saved = sorted(chat.files.glob("netcoach-data-*.json"))
    assert len(saved) == 1 and f"Saved to {saved[0]}" in said
    raw = saved[0].read_bytes()
    assert "Пётр".encode() in raw and b"\\u" not in raw  # non-Latin text as itself
    document = json.loads(raw)
    tables = document["tables"]
    assert tables["contacts"][0]["name"] == "Пётр"
    assert tables["followups"][0]["note"] == "привет из Москвы"
    assert ISO.match(tables["followups"][0]["due_at"]) and ISO.match(document["exported_at"])
    assert tables["drafts"][0]["missed"] == []  # JSON, not JSON inside a string
    assert tables["users"][0]["prefs"] == {}
    everything = json.dumps(tables)
    for internal in ("user_id", "name_key", "awaiting", "claimed_at", "attempts"):
        assert f'"{internal}"' not in everything, internal
    for rows in tables.values():
        for row in rows:
            for column, value in row.items():
                if column.endswith("_at") and value is not None:
                    assert isinstance(value, str) and ISO.match(value), (column, value)


async def test_counts_use_plurals(chat: ConsoleChat) -> None:
    said = await chat.say("/mydata")
    assert "Here is everything I store about you: 1 row in 1 table." in said
    await chat.say("/forget")
    assert "Done: I deleted all 1 row about you." in await chat.say("1")


async def test_forget_mentions_and_deletes_the_files_mydata_saved(chat: ConsoleChat) -> None:
    await chat.say("/followup Maria tomorrow")
    await chat.say("/mydata")
    await chat.say("/mydata")
    chat.files.joinpath("notes.json").write_text("mine")  # not netcoach's: left alone
    asked = await chat.say("/forget")
    assert f"The 2 files /mydata saved in {chat.files} will be deleted too." in asked
    assert asked.index("deleted too") < asked.index("[1] Yes, forget me")
    said = await chat.say("yes")
    assert "Deleted the 2 files /mydata saved: netcoach-data-" in said
    assert not list(chat.files.glob("netcoach-data-*.json"))
    assert chat.files.joinpath("notes.json").exists()


async def test_no_the_forget_question_keeps_the_files(chat: ConsoleChat) -> None:
    await chat.say("/mydata")
    await chat.say("/forget")
    assert (await chat.say("no")) == "Nothing was deleted."
    assert len(list(chat.files.glob("netcoach-data-*.json"))) == 1
