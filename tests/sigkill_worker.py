"""A real netcoach delivery process for tests/test_sigkill.py (not a test itself).

    python tests/sigkill_worker.py DB OUT [--send-delay S]

Runs the real store, follow-up feature and scheduler with a file "platform" that appends
one JSON line per delivery and fsyncs it, and exits once nothing more is due. Like a
platform with idempotency keys (Discord's enforce_nonce), the file adapter remembers the
keys it has shown and records a repeat instead of showing it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack

from netcoach.bot.clock import SystemClock
from netcoach.bot.kernel import Reply, UserRef

REPEAT_MARK = "restarted while sending"


class FileAdapter:
    platform = "file"

    def __init__(self, path: Path, delay: float):
        self.path = path
        self.delay = delay
        self.shown: set[str] = set()
        if path.exists():
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                if entry["event"] == "shown":
                    self.shown.add(entry["key"])
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def __call__(self, user: UserRef, reply: Reply, key: str) -> str:
        await asyncio.sleep(self.delay)  # a platform round trip
        event = "repeat" if key in self.shown else "shown"
        entry = {"event": event, "key": key, "flagged": REPEAT_MARK in reply.text}
        os.write(self.fd, (json.dumps(entry) + "\n").encode())
        os.fsync(self.fd)
        self.shown.add(key)
        return key


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("out")
    parser.add_argument("--send-delay", type=float, default=0.01)
    args = parser.parse_args()
    stack = await Stack.open(args.db)
    try:
        clock = SystemClock()
        adapter = FileAdapter(Path(args.out), args.send_delay)
        followups = stack.followups(clock)
        scheduler = stack.scheduler(clock, adapter, [followups.due], batch=50, concurrency=1)
        await scheduler.start()
        while await scheduler.run_due():
            pass
    finally:
        await stack.close()


if __name__ == "__main__":
    asyncio.run(main())
