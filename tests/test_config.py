"""Configuration mistakes are reported with the key and the file, and secrets come from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcoach.bot.app import load_config
from netcoach.bot.config import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"


def test_no_config_file_means_documented_defaults():
    config = load_config(None, env={})
    assert config["database"] == "netcoach.sqlite3"
    assert config["review"]["max_chars"] == 4000
    assert not config.platform_enabled("telegram") and not config.platform_enabled("discord")


def test_a_platform_token_in_the_environment_turns_that_platform_on():
    config = load_config(None, env={"TELEGRAM_BOT_TOKEN": "123:abc"})
    assert config["telegram"]["token"] == "123:abc"
    assert config.platform_enabled("telegram") and not config.platform_enabled("discord")


def test_the_example_config_loads_and_matches_the_defaults():
    assert load_config(EXAMPLE, env={}).data == load_config(None, env={}).data


def test_tokens_come_from_environment_variables(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("discord:\n  enabled: true\n  token: ${DISCORD_TOKEN}\n")
    config = load_config(path, env={"DISCORD_TOKEN": "abc.def"})
    assert config["discord"]["token"] == "abc.def"
    assert load_config(path, env={})["discord"]["token"] == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("databse: x.db\n", "unknown key 'databse'"),
        ("telegram:\n  tokn: x\n", "unknown key 'telegram.tokn'"),
        ("review:\n  max_chars: lots\n", "'review.max_chars' must be a whole number"),
        ("telegram: yes\n", "'telegram' must be a mapping"),
        ("discord:\n  enabled: 'no'\n", "'discord.enabled' must be true, false or auto"),
        ("a: [1\n", "line 2"),
        ("database: a\ndatabase: b\n", "duplicate key 'database'"),
        ("- just\n- a list\n", "must be a mapping"),
        ('database: ""\n', "'database' must not be empty"),
        ("database: ${NO_SUCH_VAR}\n", "'database' uses ${NO_SUCH_VAR}, which is not set"),
        ("timezone: ${NOPE}\n", "'timezone' uses ${NOPE}, which is not set"),
    ],
)
def test_bad_config_names_the_key_and_the_file(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert message in str(info.value) and str(path) in str(info.value)


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
