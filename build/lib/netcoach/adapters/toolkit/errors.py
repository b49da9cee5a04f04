"""Platform refusals as DeliveryErrors, the one language the scheduler's retry policy reads.

Each adapter says what its platform's exceptions mean (`classify`): "this person cannot be
reached" is permanent, "slow down" carries the wait, and anything else (5xx, time-outs,
refused connections) is transient and retried with backoff.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from netcoach.bot.kernel import DeliveryError

Classify = Callable[[Exception], DeliveryError | None]


@asynccontextmanager
async def delivering(classify: Classify) -> AsyncIterator[None]:
    """Run one send; the platform's exceptions leave as DeliveryErrors."""
    try:
        yield
    except DeliveryError:
        raise
    except Exception as exc:
        mapped = classify(exc)
        raise (mapped or DeliveryError(f"{type(exc).__name__}: {exc}")) from exc
