"""No token reaches the logs, even inside a library's exception text."""

from __future__ import annotations

import io
import logging

from netcoach.bot.logs import RedactSecrets

TOKEN = "123456789:AAHxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def test_tokens_are_masked_in_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN, ""]))
    log = logging.getLogger("test-redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
        try:
            raise RuntimeError(f"connect to /bot{TOKEN}/getUpdates refused")
        except RuntimeError:
            log.exception("polling stopped")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out
    assert out.count("***") == 2 and "RuntimeError" in out and "polling stopped" in out
