"""One of everything reads as one (issue 14: "1 rows", "1 stored drafts")."""

from __future__ import annotations

from pathlib import Path

from followup_fakes import FakeClock
from stack import Stack
from test_community import T0, World

from netcoach.bot.review import PlaybookSet
from netcoach.bot.timeparse import plural


def test_plural() -> None:
    assert [plural(n, "row") for n in (0, 1, 2, 1200)] == [
        "0 rows",
        "1 row",
        "2 rows",
        "1,200 rows",
    ]
    assert plural(2, "person", "people") == "2 people"


async def test_a_community_that_needs_one_message_between_tips_says_one_message(
    tmp_path: Path, playbooks: PlaybookSet
) -> None:
    store = await Stack.open(tmp_path / "c.sqlite3")
    world = World(store, FakeClock(T0), playbooks, min_messages_between_tips=1)
    await world.start()
    try:
        said = await world.say("/tips on")
        assert "fewer than 1 message arrived" in said and "1 messages" not in said
    finally:
        await world.stop()
        await store.close()
