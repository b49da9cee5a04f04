"""The console adapter: reads lines, prints replies, and is the admin of a pretend community."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from netcoach.adapters.toolkit import DraftMemory, Recent, SentKeys, confirm
from netcoach.bot.config import ConfigError
from netcoach.bot.kernel import (
    Attachment,
    Button,
    Coach,
    PlaceRef,
    Reply,
    Request,
    UserRef,
    Where,
    plain,
)

from .inbound import QUIT, YOU, press_request, to_request
from .render import render

log = logging.getLogger(__name__)
COMMUNITY = "console"
MAX_NUMBERED = 1000  # buttons whose numbers still work
EXPORTS = "netcoach-data-*.json"  # what /mydata saves (the privacy feature names it so)
NO_TERMINAL = (
    "the console chat needs a terminal or typed lines, and stdin had none (it is "
    "not a terminal: /dev/null, or Docker without -it). Run it in a terminal "
    "(docker run -it …), pipe lines in (printf '/help\\n' | netcoach chat), set "
    "TELEGRAM_BOT_TOKEN or DISCORD_TOKEN to serve a chat platform, or review drafts with "
    'netcoach review "your draft".'
)
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
        # Every button shown gets the next number, so a number keeps its meaning while
        # later replies (a nudge arriving as you type) print theirs: number -> (button, id).
        self._numbered: Recent[int, tuple[Button, str]] = Recent(MAX_NUMBERED)
        self._next_number = 1
        self._latest = ""  # the id of the last message shown
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
        self._latest = message_id
        first = self._next_number
        if reply.buttons:
            self.choices, self._choices_from = list(reply.buttons), message_id
            self._drafts.keep("console", message_id, reply.draft)
            for i, button in enumerate(reply.buttons):
                self._numbered.put(first + i, (button, message_id))
            self._next_number += len(reply.buttons)
        if reply.kind == "forget-asked" and (saved := self._exports()):
            note = (
                f"\nThe {_files(len(saved))} /mydata saved in {self.files_dir} will be deleted too."
            )
            reply = replace(reply, body=(*reply.body, plain(note)))
        text = render(reply, color=self.interactive, first_choice=first)
        for attachment in reply.attachments:
            text += f"\nSaved to {self._save(attachment)}"
        if reply.kind == "forgotten":
            text += self._delete_exports()
        self._write(text)
        return message_id

    def _exports(self) -> list[Path]:
        """The data exports /mydata saved here (netcoach-data-*.json)."""
        try:
            return sorted(self.files_dir.glob(EXPORTS))
        except OSError:
            return []

    def _delete_exports(self) -> str:
        """After /forget: the exports saved here go too; say what was deleted."""
        deleted, kept = [], []
        for path in self._exports():
            try:
                path.unlink()
                deleted.append(path.name)
            except OSError as exc:
                kept.append(f"{path} ({exc.strerror})")
        said = ""
        if deleted:
            said += f"\nDeleted the {_files(len(deleted))} /mydata saved: {', '.join(deleted)}."
        if kept:
            said += f"\nCould not delete {', '.join(kept)}; please delete it yourself."
        return said

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

    def number(self, message_id: str, action: str) -> int:
        """The number typed to press `action` on the message `message_id` (for tests)."""
        for n, (button, shown_on) in self._numbered.items():
            if shown_on == message_id and button.action == action:
                return n
        raise KeyError(action)

    async def run(self, coach: Coach) -> None:
        """Serve until /quit, end of input, or cancellation."""
        if self.interactive and self._lines is None:
            await self._run_interactive(coach)
            return
        read = 0
        async for line in self._lines or _stdin_lines():
            read += 1
            if not await self.handle_line(coach, line):
                return
        if read == 0 and self._lines is None and not _stdin_is_terminal():
            raise ConfigError(NO_TERMINAL)  # ends `netcoach run` with status 2, in one line

    async def handle_line(self, coach: Coach, line: str) -> bool:
        """Answer one typed line; False when the user asked to quit."""
        line = readable(line)
        if line.strip().lower() in QUIT:
            return False
        req = self._pressed(line)
        if isinstance(req, str):  # a number that is no button: say so, ask nobody
            self._write(req)
            return True
        if req is None:
            req = to_request(line, [], "", self.facts)
        if req is None:
            return True
        for reply in await coach.handle(req):
            await confirm(reply, self.show(reply))
        return True

    def _pressed(self, line: str) -> Request | str | None:
        """A typed number presses the button shown with it; a typed label ("yes", "done")
        presses the one button it names on the message just shown (not on an older one:
        "yes" typed later must not answer a question asked long ago). A number no button has
        gets an explanation (a str); anything else is not a press (None)."""
        text = line.strip()
        if text.isdigit() and len(text) <= 4:
            found = self._numbered.get(int(text))
            if found is None:
                return self._no_such_number(text)
            button, message_id = found
            return press_request(button, self._drafts.recall("console", message_id), self.facts)
        word = text.lower().rstrip(".!")
        if not word or len(word) > 40 or not self.choices or self._choices_from != self._latest:
            return None  # a typed label answers only the message just shown
        named = [
            b
            for b in self.choices
            if word == b.label.lower() or word == b.label.lower().split(" ")[0].rstrip(",")
        ]
        if len(named) != 1:
            return None
        draft = self._drafts.recall("console", self._choices_from)
        return press_request(named[0], draft, self.facts)

    def _no_such_number(self, typed: str) -> str:
        if not self.choices:
            return f"There is no choice {typed}: no message with numbered choices is on screen."
        first = self._next_number - len(self.choices)
        last = self._next_number - 1
        shown = "  ".join(f"[{first + i}] {b.label}" for i, b in enumerate(self.choices))
        oldest = min(n for n, _ in self._numbered.items())
        return (
            f"There is no choice {typed}. Type the number in brackets next to a choice; "
            f"the latest are {first}–{last}: {shown}"
            + (f" (earlier messages' choices from {oldest} still work)." if oldest < first else ".")
        )

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
                except EOFError:
                    return
                except KeyboardInterrupt:
                    if session.default_buffer.text.strip():
                        continue  # Ctrl-C clears a half-typed line, as in a shell
                    return  # ...and on an empty line leaves, as Ctrl-D does
                if not await self.handle_line(coach, line):
                    return


def _files(n: int) -> str:
    return "file" if n == 1 else f"{n} files"


def readable(line: str) -> str:
    """Text that is safe to store: lone surrogates (from a terminal or a surrogateescape
    stdin) become U+FFFD, as invalid bytes do when stdin is read."""
    if not any("\ud800" <= c <= "\udfff" for c in line):
        return line
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in line)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed
        return False


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines from a non-terminal stdin, read by a daemon thread so shutdown never waits.
    Bytes are decoded as UTF-8 with replacement: an invalid byte never stops the reader,
    and the end of input (or a read error) always ends the loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed first: nothing to tell
            try:
                stream = getattr(sys.stdin, "buffer", None)
                if stream is None:  # a text-only stdin (replaced in tests)
                    for text in sys.stdin:
                        loop.call_soon_threadsafe(queue.put_nowait, readable(text))
                else:
                    for raw in stream:
                        text = raw.decode("utf-8", errors="replace")
                        loop.call_soon_threadsafe(queue.put_nowait, text)
            except (OSError, ValueError):
                log.warning("stopped reading the console's input", exc_info=True)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line
