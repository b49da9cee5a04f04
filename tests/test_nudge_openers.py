"""Nudge openers a person would send (issue 14): the private note is used only when it can
be turned into a true, grammatical sentence, nothing is invented, and every opener passes
the follow-up review."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from followup_fakes import FakeClock, settled

from netcoach.adapters.console import ConsoleAdapter
from netcoach.bot.app import build, load_config
from netcoach.bot.features.followups import pick_opener
from netcoach.bot.features.followups.nudge import PLAIN_OPENERS, bond_opener, note_opener
from netcoach.bot.review import PlaybookSet, review

INVENTED = re.compile(
    r"\b(?:I saw|I came across|I found|came up in|I was at|news|our chat|reminded me|"
    r"I remembered)\b",
    re.IGNORECASE,
)
NOTES = [
    "send her the testing notes",
    "Send him the slides asap",
    "ask about her new job",
    "ask her about the launch",
    "congratulate her on the promotion",
    "thank him for the intro to Priya",
    "introduce her to Tom",
    "the testing notes",
    "her new job",
    "met at PyCon",
    "coffee next week?",
    "send asap",
    "ask if I can visit the lab",
    "pitch our enterprise plan, 20% off",
    "buy now!!! {name}",
    "x" * 400,
]


def _ready(text: str, playbooks: PlaybookSet) -> bool:
    result = review(text, "follow-up", playbooks)
    return result.verdict == "ready" and all(f.severity == "tip" for f in result.findings)


async def test_the_issue_example_reads_like_a_message(tmp_path: Path) -> None:
    config = tmp_path / "netcoach.yaml"
    config.write_text(f"database: {tmp_path / 'n.sqlite3'}\n")
    clock = FakeClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    app = await build(load_config(config, env={}), clock=clock)
    app.scheduler._call_later = clock.call_later
    out = io.StringIO()
    console = ConsoleAdapter(None, out, interactive=False)
    app.add_adapter(console)
    scheduler = asyncio.create_task(app.scheduler.run())
    try:
        await console.handle_line(
            app.coach, "/followup Maria in 1 minute send her the testing notes"
        )
        await settled(app.scheduler)
        clock.advance(timedelta(minutes=1))
        await settled(app.scheduler)
        shown = out.getvalue()
        assert (
            "A way to open: Hi Maria, I'm sending over the testing notes. How are things going "
            "on your side?" in shown
        )
        assert "I remembered send" not in shown and "about send her" not in shown
    finally:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await app.close()


@pytest.mark.parametrize("note", NOTES)
def test_every_opener_passes_the_review_and_never_pastes_an_order_to_yourself(
    note: str, playbooks: PlaybookSet
) -> None:
    for occurrence in range(6):
        opener = pick_opener(playbooks, 7, occurrence, "Maria", (), note)
        assert _ready(opener, playbooks), opener
        assert not INVENTED.search(opener), opener
        assert "{" not in opener and "send her" not in opener.lower()
        assert "Maria" in opener


def test_a_note_is_used_only_in_a_shape_that_reads_as_a_message() -> None:
    assert note_opener("ask about her new job", "Ana") == (
        "Hi Ana, how are things going with your new job? I'd love to hear."
    )
    assert note_opener("congratulate him on the award", "Ana") == (
        "Hi Ana, congratulations on the award! What's next for you?"
    )
    assert note_opener("introduce her to Tom", "Ana").startswith(
        "Hi Ana, would an introduction to Tom be useful to you?"
    )
    for unusable in ("met at PyCon", "send asap", "ask if I can visit", "coffee next week?"):
        assert note_opener(unusable, "Ana") is None, unusable


def test_bonds_are_said_as_what_you_have_in_common(playbooks: PlaybookSet) -> None:
    clause = bond_opener("we both ran the Berlin marathon", "Ana")
    assert clause == (
        "Hi Ana, you came to mind today, since we both ran the Berlin marathon. How are "
        "things going on your side?"
    )
    assert _ready(clause, playbooks) and review(clause, "follow-up").signals["shared_bond"]
    assert bond_opener("she loves jazz", "Ana") is None  # whose words? not a shared bond


def test_the_builtin_openers_claim_nothing(playbooks: PlaybookSet) -> None:
    seen = {pick_opener(playbooks, n, k, "Maria") for n in range(1, 6) for k in range(10)}
    assert len(seen) > 1
    assert not [o for o in seen if INVENTED.search(o)]
    recent = {pick_opener(playbooks, 1, k, "Maria", since=timedelta(days=2)) for k in range(10)}
    assert not [o for o in recent if "been a while" in o]  # only when it has been


@pytest.mark.parametrize("opener", PLAIN_OPENERS)
def test_the_plain_openers_pass_the_follow_up_review(opener: str, playbooks: PlaybookSet) -> None:
    assert _ready(opener.format(name="Maria"), playbooks)
