"""The console adapter: reads lines, prints replies, and is the admin of a pretend community."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from netcoach.adapters.toolkit import DraftMemory, SentKeys, confirm
from netcoach.bot.kernel import Attachment, Button, Coach, PlaceRef, Reply, UserRef, Where

from .inbound import QUIT, YOU, to_request
from .render import render

COMMUNITY = "console"
_MENTION = re.compile(r"(?<![\w.])@\w")


@dataclass(frozen=True, slots=True)
class ConsolePlatform:
    """The console is one pretend community whose admin is you; any #name is a channel."""

    max_text: int = 100_000

    def is_channel(self, word: str) -> bool:
        return word.startswith("#")

    def mentions(self, text: str) -> bool:
        return _MENTION.search(text) is not None

    async def where(self, channel: str = "") -> Where:
        name = channel.strip().lstrip("#") or "community"
        return Where(
            community=COMMUNITY,
            community_name="your console community",
            admin=True,
            admin_rule="the console user",
            channel=PlaceRef("console", name, "group"),
            channel_name=f"#{name}",
            sees_posts=False,
            note="the console has no other members posting",
        )


class ConsoleAdapter:
    platform = "console"

    def __init__(
        self,
        lines: AsyncIterator[str] | None = None,
        out: TextIO | None = None,
        *,
        interactive: bool | None = None,
        files_dir: Path | None = None,
    ):
        self._lines = lines
        self.out = out or sys.stdout
        self.interactive = (
            sys.stdin.isatty() and self.out.isatty() if interactive is None else interactive
        )
        self.files_dir = files_dir or Path.cwd()  # where attachments (data exports) go
        self.choices: list[Button] = []  # the buttons of the last reply that had some
        self._choices_from = ""  # ...and that reply's message id
        self._drafts = DraftMemory()
        self._sent_keys = SentKeys()
        self._shown = 0
        self._write: Callable[[str], None] = self._plain_write
        self.facts = ConsolePlatform()

    # -- output ---------------------------------------------------------------------------

    def _plain_write(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()

    def show(self, reply: Reply) -> str:
        """Print a reply; its buttons become the current numbered choices. A console cannot
        edit what it printed, so replacing intents (edit_pressed…) print anew."""
        self._shown += 1
        message_id = f"console-{self._shown}"
        if reply.buttons:
            self.choices, self._choices_from = list(reply.buttons), message_id
            self._drafts.keep("console", message_id, reply.draft)
        text = render(reply, color=self.interactive)
        for attachment in reply.attachments:
            text += f"\nSaved to {self._save(attachment)}"
        self._write(text)
        return message_id

    def _save(self, attachment: Attachment) -> Path:
        """Write an attachment next to where netcoach runs, never over an existing file."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / Path(attachment.filename).name
        stem, n = path.stem, 1
        while path.exists():
            path, n = path.with_name(f"{stem}-{n}{path.suffix}"), n + 1
        path.write_bytes(attachment.data)
        return path

    async def deliver(self, user: UserRef, reply: Reply, key: str = "") -> str:
        if (seen := self._sent_keys.sent(key)) is not None:
            return seen  # already shown in this session
        message_id = self.show(reply)
        self._sent_keys.record(key, message_id)
        return message_id

    async def post(self, place: PlaceRef, reply: Reply, key: str = "") -> str:
        """A post into a pretend channel: printed with the channel's name."""
        labelled = Reply.of(place, f"[#{place.id}] ", kind=reply.kind)
        return await self.deliver(YOU, replace(labelled, body=labelled.body + reply.body), key)

    # -- input ----------------------------------------------------------------------------

    async def run(self, coach: Coach) -> None:
        """Serve until /quit, end of input, or cancellation."""
        if self.interactive and self._lines is None:
            await self._run_interactive(coach)
        else:
            async for line in self._lines or _stdin_lines():
                if not await self.handle_line(coach, line):
                    return

    async def handle_line(self, coach: Coach, line: str) -> bool:
        """Answer one typed line; False when the user asked to quit."""
        if line.strip().lower() in QUIT:
            return False
        draft = self._drafts.recall("console", self._choices_from)
        req = to_request(line, self.choices, draft, self.facts)
        if req is None:
            return True
        for reply in await coach.handle(req):
            await confirm(reply, self.show(reply))
        return True

    async def _run_interactive(self, coach: Coach) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.patch_stdout import patch_stdout

        session: PromptSession[str] = PromptSession()
        with patch_stdout(raw=True):
            self.out = sys.stdout  # the patched proxy: prints land above the prompt
            print("netcoach chat — send a draft to review, /help for commands, /quit to leave.")
            while True:
                try:
                    line = await session.prompt_async("you> ")
                except (EOFError, KeyboardInterrupt):
                    return
                if not await self.handle_line(coach, line):
                    return


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines from a non-terminal stdin, read by a daemon thread so shutdown never waits."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed first: nothing to tell
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line
