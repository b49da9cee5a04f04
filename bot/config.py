"""Configuration: one YAML file, `${ENV}` expansion, validated against known defaults.

Unknown keys are errors (naming the key and the file) because a misspelt key that is
silently ignored is the hardest configuration bug to find. The core's keys are here; each
adapter declares its own section (`CONFIG` in its package) and bot/app.py puts them together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netcoach.bot.yamlsafe import YamlError, load_yaml

DEFAULTS: dict[str, Any] = {
    "database": "netcoach.sqlite3",
    "timezone": "UTC",
    "default_time": "09:00",
    "log_level": "INFO",
    "review": {"max_chars": 4000},
    "playbooks": {"dirs": [], "disabled_rules": []},
    "scheduler": {
        "max_attempts": 5,
        "retry_seconds": 30,
        "outage_retry_max_seconds": 60,
        "concurrency": 32,
        "lease_seconds": 60,
        # Scheduled sends per second, shared by every worker (PostgreSQL), per platform.
        "rate_limits": {"telegram": 25, "discord": 40},
    },
    "community": {
        "min_messages_between_tips": 5,
        "intro_note_every_days": 30,
        "wave_at_ready_intros": False,
    },
}

_REQUIRED = ("database", "timezone", "default_time")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A configuration problem, worded for the person running netcoach."""


@dataclass(frozen=True)
class Config:
    data: dict[str, Any] = field(default_factory=lambda: _merge(DEFAULTS, {}, "", ""))
    source: str = "(defaults)"

    def platform_enabled(self, name: str) -> bool:
        """`enabled: auto` means: on when the platform's token is set (so never for a
        platform without one)."""
        section = self.data[name]
        if section["enabled"] == "auto":
            return bool(str(section.get("token", "")).strip())
        return bool(section["enabled"])

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.data[name])


def load_config(
    path: str | Path | None,
    env: dict[str, str] | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Read `path` (or defaults when None) and expand `${VAR}` from `env` (default:
    os.environ). `sections` adds the adapters' sections (name -> defaults)."""
    env = dict(os.environ) if env is None else env
    defaults = {**DEFAULTS, **{k: dict(v) for k, v in (sections or {}).items()}}
    if path is None:
        return Config(_expand(_merge(defaults, {}, "", ""), env, "(defaults)"))
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (YamlError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    data = _expand(_merge(defaults, raw, "", str(path)), env, str(path))
    for key in _REQUIRED:
        if not str(data[key]).strip():
            raise ConfigError(f"{path}: '{key}' must not be empty (default: {DEFAULTS[key]!r})")
    return Config(data, str(path))


def _expand(value: Any, env: dict[str, str], source: str, key: str = "") -> Any:
    """Replace `${VAR}` from the environment. An unset variable is an error that names it,
    except in a token (an unset token simply leaves that platform off)."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in env:
                return env[name]
            if key.endswith(".token"):
                return ""
            raise ConfigError(f"{source}: '{key}' uses ${{{name}}}, which is not set")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, env, source, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, source, key) for v in value]
    return value


def _merge(defaults: dict[str, Any], given: dict[str, Any], prefix: str, source: str) -> dict:
    out: dict[str, Any] = {}
    for key in given:
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known here: {known})")
    for key, default in defaults.items():
        if key not in given:
            out[key] = _copy(default)
            continue
        value = given[key]
        if key == "enabled":
            if value not in (True, False, "auto"):
                raise ConfigError(f"{source}: '{prefix}{key}' must be true, false or auto")
            out[key] = value
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{prefix}{key}' must be a mapping")
            out[key] = _merge(default, value, f"{prefix}{key}.", source)
        elif isinstance(default, list):
            if not isinstance(value, list):
                raise ConfigError(f"{source}: '{prefix}{key}' must be a list")
            out[key] = list(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: '{prefix}{key}' must be true or false")
            out[key] = value
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{source}: '{prefix}{key}' must be a whole number >= 0")
            out[key] = value
        else:
            out[key] = "" if value is None else str(value)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value
