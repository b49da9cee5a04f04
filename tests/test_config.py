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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("database: [a, b]\n", "'database' must be a file path or a postgresql:// URL"),
        ("database: {a: b}\n", "'database' must be a file path"),
        ('database: "a\\0b"\n', "'database' must not contain control characters"),
        ("log_level: LOUD\n", "'log_level' must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("log_level: 10\n", "'log_level' must be one of DEBUG, INFO"),
        ("scheduler:\n  max_attempts: 0\n", "'scheduler.max_attempts' must be a whole number"),
        ("scheduler:\n  retry_seconds: 1.5\n", "'scheduler.retry_seconds' must be a whole number"),
        (f"timezone: Europe/{'x' * 300}\n", "'timezone' must be"),
        ("timezone: Mars/Olympus_Mons\n", "'timezone': unknown time zone \"Mars/Olympus_Mons\""),
        ("timezone: [UTC]\n", "'timezone' must be"),
        ("default_time: '25:00'\n", "'default_time' must look like 09:00"),
        ("default_time: 9:30\n", 'write it in quotes: default_time: "9:30"'),
        (
            "community:\n  intro_note_every_days: 1000000\n",
            "'community.intro_note_every_days' must be a whole number from 1 to 3650",
        ),
        ("community:\n  min_messages_between_tips: -1\n", "from 0 to"),
        ("community:\n  wave_at_ready_intros: 'yes'\n", "must be true or false"),
        ("review:\n  max_chars: 0\n", "'review.max_chars' must be a whole number from 1 to"),
        ("review:\n  max_chars: true\n", "'review.max_chars' must be a whole number"),
        ("playbooks:\n  dirs: my/playbooks\n", "'playbooks.dirs' must be a list"),
        ("playbooks:\n  dirs: [[a]]\n", "'playbooks.dirs' must be a list of folder paths"),
        ("playbooks:\n  dirs: [/nonexistent]\n", "'/nonexistent' is not a folder"),
        ("playbooks:\n  disabled_rules: [1]\n", "'playbooks.disabled_rules' must be a list of"),
        ("console:\n  enabled: maybe\n", "'console.enabled' must be true, false or auto"),
        ("telegram:\n  base_url: ftp://x/bot\n", "'telegram.base_url' must be"),
        ("discord:\n  dev_guild_id: my-server\n", "'discord.dev_guild_id' must be"),
        ("discord:\n  gateway_url: [x]\n", "'discord.gateway_url' must be"),
        ("telegram:\n  token: [x]\n", "'telegram.token' must be"),
        ("scheduler:\n  concurrency: 0\n", "'scheduler.concurrency' must be a whole number"),
        ("scheduler:\n  rate_limits:\n    discord: -5\n", "'scheduler.rate_limits.discord'"),
        ("discord:\n  shards: lots\n", '\'discord.shards\' must be "" (none), "auto" or a'),
        ("telegram:\n  webhook:\n    port: 70000\n", "'telegram.webhook.port' must be"),
    ],
)
def test_every_key_is_checked_for_type_range_and_choices(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_good_values_are_kept_and_normalised(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "log_level: debug\ndiscord:\n  dev_guild_id: 123456789012345678\n"
        "scheduler:\n  max_attempts: 1\ncommunity:\n  intro_note_every_days: 3650\n"
        "timezone: Europe/Lisbon\ndefault_time: '8:30'\n"
    )
    config = load_config(path, env={})
    assert config["log_level"] == "DEBUG" and config["discord"]["dev_guild_id"] == (
        "123456789012345678"
    )
    assert config["scheduler"]["max_attempts"] == 1
    assert config["community"]["intro_note_every_days"] == 3650


def test_a_secret_is_never_shown_in_a_config_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("telegram:\n  base_url: ${URL}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"URL": "gopher://user:hunter2hunter2@host/bot"})
    assert "hunter2" not in str(info.value)


def test_every_key_has_a_rule():
    from netcoach.bot.app import config_rules

    rules = config_rules()

    def keys(data, prefix=""):
        for key, value in data.items():
            if isinstance(value, dict):
                yield from keys(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    assert set(keys(load_config(None, env={}).data)) == set(rules)


def test_netcoach_review_reads_a_config_that_also_sets_up_platforms(tmp_path, capsys):
    from netcoach.bot.cli import main

    path = tmp_path / "config.yaml"
    path.write_text("review:\n  max_chars: 20\ntelegram:\n  enabled: false\nconsole: {}\n")
    assert main(["review", "--config", str(path), "Hi Ana, how was the talk in Leeds?"]) == 2
    assert "the limit is 20" in capsys.readouterr().err
