"""Discord's slash commands are generated from the core's commands: one registry, no copy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from followup_fakes import FakeClock

from netcoach.adapters.discord.commands import app_commands_for
from netcoach.adapters.discord.platform import DiscordAdapter
from netcoach.bot.app import build, load_config
from netcoach.bot.kernel import Command


async def test_every_core_command_is_a_slash_command_with_its_params(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"database: {tmp_path / 'd.sqlite3'}\n", encoding="utf-8")
    app = await build(
        load_config(config, env={}), clock=FakeClock(datetime(2026, 11, 30, tzinfo=UTC))
    )
    try:
        commands = list(app.coach.commands.values())
        generated = {c.name: c for c in app_commands_for(commands, DiscordAdapter("x" * 30))}
        for command in commands:
            slash = generated[command.name]
            options = {p.name: p for p in slash.parameters}
            typed = [p for p in command.params if p.kind != "paragraph"]
            assert set(options) == {p.name for p in typed}, command.name
            for param in typed:
                option = options[param.name]
                assert option.required == param.required, (command.name, param.name)
                assert [c.value for c in option.choices] == [v for v, _ in param.choices]
                assert option.autocomplete == (param.complete is not None)
        assert "Review as draft" in generated  # a command with a paragraph gets a menu entry
        assert generated["tips"].default_permissions is not None
    finally:
        await app.close()


def test_help_needs_no_params() -> None:
    async def unused(req):  # never called
        return []

    help_command = Command("help", "", "what I do", "help", unused)
    [slash] = app_commands_for([help_command], DiscordAdapter("x" * 30))
    assert slash.name == "help" and not slash.parameters
