"""The console adapter: chat with netcoach in a terminal, or script it through a pipe.

    netcoach chat                      # interactive: nudges print above the prompt
    printf '/followup Maria tomorrow\\n/followups\\n' | netcoach chat   # one reply per line

You are user "you" on platform "console". A plain line is a draft to review; `/review
[context] <draft>`, every other command with a leading slash, and `/quit`. Buttons show as
numbered choices ("[1] Done  [2] Snooze 1 day") and typing the number presses the button.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from netcoach.bot.features.drafts import split_review
from netcoach.bot.kernel import (
    Attachment,
    Button,
    PlaceRef,
    Reply,
    Request,
    Segment,
    UserRef,
    Where,
)

if TYPE_CHECKING:
    from netcoach.bot.kernel import Coach

YOU = UserRef("console", "you", "you")
PLACE = PlaceRef("console", "you", "dm")
COMMUNITY = "console"
QUIT = {"/quit", "/exit", "/q"}
_BOLD, _UNDERLINE, _RESET = "\x1b[1m", "\x1b[4m", "\x1b[0m"


def to_request(line: str, choices: list[Button], last_draft: str = "") -> Request | None:
    """A typed line as a neutral request; None for blank lines."""
    text = line.strip()
    if not text:
        return None
    if text.isdigit() and len(text) <= 2:  # a numbered choice, never a one-digit draft
        pressed = choices[int(text) - 1] if 1 <= int(text) <= len(choices) else None
        args = {"draft": last_draft} if last_draft else {}
        return Request(YOU, PLACE, "press", pressed.action if pressed else "", args)
    if text.startswith("/"):
        command, _, rest = text[1:].partition(" ")
        return Request(YOU, PLACE, command.lower(), rest.strip())
    return Request(YOU, PLACE, "", line.rstrip("\r\n"))


def render_segment(seg: Segment, color: bool = False) -> str:
    if seg.style == "bold" and color:
        return f"{_BOLD}{seg.text}{_RESET}"
    if seg.style == "mark" and color:  # reviews already quote marked words; underline them
        return f"{_UNDERLINE}{seg.text}{_RESET}"
    return seg.text


def render(reply: Reply, color: bool = False, first_choice: int = 1) -> str:
    """Plain text (ANSI bold on a terminal); buttons as numbered choices."""
    text = "".join(render_segment(s, color) for s in reply.body)
    if reply.buttons:
        choices = "  ".join(f"[{first_choice + i}] {b.label}" for i, b in enumerate(reply.buttons))
        text += "\n" + choices
    return text


class ConsoleAdapter:
    platform = "console"
    max_text_len = 100_000

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
        self.choices: list[Button] = []
        self.last_draft = ""
        self._seen_keys: dict[str, str] = {}
        self._sent = 0
        self._write: Callable[[str], None] = self._plain_write

    # -- output ---------------------------------------------------------------------------

    def _plain_write(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()

    def show(self, reply: Reply) -> str:
        """Print a reply; its buttons become the current numbered choices."""
        if reply.buttons:
            self.choices = list(reply.buttons)
        text = render(reply, color=self.interactive)
        for attachment in reply.attachments:
            text += f"\nSaved to {self._save(attachment)}"
        self._write(text)
        self._sent += 1
        return f"console-{self._sent}"

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
        if key and key in self._seen_keys:
            return self._seen_keys[key]  # already shown in this session
        message_id = self.show(reply)
        if key:
            self._seen_keys[key] = message_id
        return message_id

    async def send(self, reply: Reply) -> str:
        return self.show(reply)

    # -- community (you are the admin of a pretend community) --------------------------------

    async def where(self, req: Request, channel: str = "") -> Where:
        """The console is one pretend community whose admin is you; any #name is a channel."""
        name = channel.strip().lstrip("#") or "community"
        return Where(
            community=COMMUNITY,
            community_name="your console community",
            admin=req.user == YOU,
            admin_rule="the console user",
            channel=PlaceRef("console", name, "group"),
            channel_name=f"#{name}",
            sees_posts=False,
            note="the console has no other members posting",
        )

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
        req = to_request(line, self.choices, self.last_draft)
        if req is None:
            return True
        if req.command == "":
            self.last_draft = req.text
        elif req.command == "review":  # "/review intro Hi all": keep the draft, not "intro"
            self.last_draft = split_review(req.text)[2]
        for reply in await coach.handle(req):
            self.show(reply)
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
