"""No token reaches the logs, even inside a library's exception text."""

from __future__ import annotations

import io
import logging

from netcoach.bot.logs import RedactSecrets, guard

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


def _guarded(secrets: list[str]) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    guard(handler, secrets)
    return stream, handler


def test_library_records_below_info_never_reach_a_handler() -> None:
    """At DEBUG, python-telegram-bot and discord.py print updates and API payloads:
    people's drafts. Dropped; their INFO and netcoach's own DEBUG stay."""
    stream, handler = _guarded([])
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.DEBUG)
    try:
        for name in ("telegram.ext.ExtBot", "discord.gateway", "discord.http", "httpcore.http11"):
            library = logging.getLogger(name)
            level, library.level = library.level, logging.DEBUG
            library.debug("payload {'text': 'my secret draft'}")
            library.level = level
        logging.getLogger("telegram.ext.Application").info("Application started")
        logging.getLogger("netcoach.bot.scheduling").debug("job 7 claimed")
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    out = stream.getvalue()
    assert "draft" not in out
    assert "Application started" in out and "job 7 claimed" in out


def test_a_library_network_traceback_is_one_line_and_a_bug_keeps_its_traceback() -> None:
    stream, handler = _guarded([TOKEN])
    log = logging.getLogger("discord.client")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ConnectionRefusedError(111, f"Connect call failed for /bot{TOKEN}")
        except OSError:
            log.exception("Attempting a reconnect in %.2fs", 1.5)
        try:
            raise KeyError("session_id")
        except KeyError:
            log.exception("a bug in a library")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    first, *rest = stream.getvalue().splitlines()
    assert first.startswith("Attempting a reconnect in 1.50s (ConnectionRefusedError: ")
    assert TOKEN not in stream.getvalue()
    assert rest[0] == "a bug in a library" and "Traceback" in rest[1] and "KeyError" in rest[-1]


def test_every_secret_in_the_config_is_masked(tmp_path) -> None:
    from netcoach.bot.app import _secrets, load_config

    path = tmp_path / "config.yaml"
    path.write_text(
        "database: postgresql://netcoach:Pg-pass-4471@db.example.org/netcoach\n"
        "telegram:\n  webhook:\n    secret_token: ${HOOK}\n"
    )
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DISCORD_TOKEN": "MTIz.discord-token-value",
        "HOOK": "hook-secret-99",
    }
    found = set(_secrets(load_config(path, env=env)))
    assert {TOKEN, "MTIz.discord-token-value", "hook-secret-99", "Pg-pass-4471"} <= found
