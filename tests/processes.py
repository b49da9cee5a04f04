"""`netcoach run` as a real process, for tests that need what an operator sees: its stderr
line by line, its exit status after SIGTERM. The fakes it talks to run in the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Running:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    status: int | None = None

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def until(self, predicate: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        """The first stderr line for which `predicate` holds, once it has been written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for line in self.lines:
                if predicate(line):
                    return line
            if self.process.returncode is not None:
                raise AssertionError(f"netcoach ended before {what}:\n{self.stderr}")
            assert loop.time() < deadline, f"timed out waiting for {what}:\n{self.stderr}"
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def netcoach_run(config: Path, env: dict[str, str]) -> AsyncIterator[Running]:
    """Start `netcoach run --config config`; on exit, SIGTERM it and record its status."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "netcoach.bot.cli", "run", "--config", str(config)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=config.parent,
    )
    running = Running(process)

    async def read() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            running.lines.append(raw.decode("utf-8", "replace"))

    reader = asyncio.create_task(read())
    try:
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        running.status = await asyncio.wait_for(process.wait(), 30)
        await asyncio.wait_for(reader, 30)


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """`netcoach ARGS` in a fresh interpreter, as a user's shell would run it."""
    return subprocess.run(
        [sys.executable, "-m", "netcoach.bot.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
