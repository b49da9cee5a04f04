"""Connecting to a platform, the same way on every platform.

A platform that cannot be reached at start-up (no route, DNS, a 5xx, a time-out) is
retried with capped exponential backoff, one warning line per attempt:

    telegram: cannot reach the Bot API (Connect call failed); retrying in 4 s
    discord: cannot reach Discord (Bad Gateway); retrying in 4 s

Only what retrying cannot fix ends the platform's `run()`: a token the platform rejects
(401) is a ConfigError naming the variable, in one line. bot/app.py then stops that
platform alone; the other platforms and the scheduler keep running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("netcoach.adapters")

DEFAULT_BACKOFF = (1.0, 60.0)  # seconds: the first wait, and the longest


@dataclass
class Backoff:
    """1 s, 2 s, 4 s … up to `cap`; `reset()` once a connection worked."""

    first: float = DEFAULT_BACKOFF[0]
    cap: float = DEFAULT_BACKOFF[1]
    attempts: int = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


async def wait_to_retry(
    platform: str,
    what: str,
    reason: str,
    backoff: Backoff,
    *,
    at_least: float = 0.0,
) -> None:
    """Say, in one line, that `what` cannot be reached and when the next try is; wait
    (`at_least` as long as the platform asked, after a 429)."""
    delay = max(backoff.next(), at_least)
    log.warning("%s: cannot reach %s (%s); retrying in %g s", platform, what, reason, delay)
    await sleep(delay)


sleep: Callable[[float], Awaitable[object]] = asyncio.sleep  # tests replace it
