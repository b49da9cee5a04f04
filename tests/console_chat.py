"""A user typing into the console adapter of a built App, one line at a time."""

from __future__ import annotations

import io
from pathlib import Path

from netcoach.adapters.console import ConsoleAdapter
from netcoach.bot.app import App


class ConsoleChat:
    def __init__(self, app: App, files: Path | None = None):
        self.app, self.out, self.files = app, io.StringIO(), files
        self.console = ConsoleAdapter(None, self.out, interactive=False, files_dir=files)
        app.add_adapter(self.console)

    async def say(self, line: str) -> str:
        """What the bot answered to this line."""
        start = len(self.out.getvalue())
        await self.console.handle_line(self.app.coach, line)
        return self.out.getvalue()[start:].strip()
