"""Logging that cannot leak a token or what people wrote, at any level.

- Tokens: every secret is masked in a record's message and traceback before any handler
  sees it, whatever a library puts there.
- Message text: netcoach's own records name commands, ids and outcomes, never what someone
  wrote. The chat, HTTP and database libraries print raw updates, API payloads and SQL
  parameters (people's drafts, notes, reviews) at DEBUG, so their records below INFO are
  dropped; their INFO and above (connecting, reconnecting, errors) are kept.
- Lost connections: a library that logs a traceback for a network failure it is about to
  retry (discord.py's reconnect loop) is logged in one line instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

MASK = "***"
# Libraries whose records below INFO carry message bodies (updates, API calls, SQL params).
CHATTY = (
    "aiohttp",
    "aiosqlite",
    "discord",
    "hpack",
    "httpcore",
    "httpx",
    "telegram",
    "websockets",
)
_NETWORK_ERRORS = ("ClientError", "ConnectionClosed", "GatewayNotFound", "NetworkError")


def _is_library(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in CHATTY)


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's message and traceback before any handler sees it."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.redact(record.getMessage()), ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = self.redact(text), None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class NoMessageText(logging.Filter):
    """Drops the chatty libraries' records below INFO: at DEBUG they carry message bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not _is_library(record.name)


class OneLineNetworkErrors(logging.Filter):
    """A library's traceback for a network failure (it retries on its own) as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and _is_library(record.name)):
            return True
        exc = record.exc_info[1]
        names = {cls.__name__ for cls in type(exc).__mro__}
        if isinstance(exc, OSError | TimeoutError) or names & set(_NETWORK_ERRORS):
            said = str(exc).strip()
            record.msg = f"{record.getMessage()} ({type(exc).__name__}{': ' if said else ''}{said})"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


def guard(handler: logging.Handler, secrets: Iterable[str]) -> None:
    """Every filter above on one handler, in the order they must run."""
    handler.addFilter(OneLineNetworkErrors())  # before the redactor formats tracebacks
    handler.addFilter(NoMessageText())
    handler.addFilter(RedactSecrets(secrets))


def guard_everywhere(secrets: Iterable[str]) -> None:
    """Guard every handler of the root logger (where records end up)."""
    secrets = list(secrets)
    for handler in logging.getLogger().handlers:
        guard(handler, secrets)


def configure(level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Logging for `netcoach run` and `netcoach chat`: one line per record on stderr, at
    `level` (checked by the config), through the filters above."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=stream or sys.stderr,
    )
    guard_everywhere(secrets)
    for name in CHATTY:  # not even created: their DEBUG records would be dropped anyway
        if logging.getLogger(name).getEffectiveLevel() < logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its URLs contain bot tokens
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
