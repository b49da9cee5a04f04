"""Configuration: one YAML file, `${ENV}` expansion, every key checked at load.

Unknown keys are errors (naming the key and the file) because a misspelt key that is
silently ignored is the hardest configuration bug to find. So is a value of the wrong type
or out of range, silently turned into something else: every key has a `Rule` (its type,
range or choices), checked once `${ENV}` is expanded, and a value it refuses is an error
naming the key and the file. Errors never repeat a value that may be secret.

The core's keys are here; each adapter declares its own section (`CONFIG`, its defaults,
and `CONFIG_RULES`) in its package, and bot/app.py puts them together. Checks that need
the core's parsers (a time zone that exists, a time of day) are added by bot/app.py too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
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

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ConfigError(Exception):
    """A configuration problem, worded for the person running netcoach."""


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "text"


class Rule:
    """What one key accepts. `check` returns the value to keep, or raises ValueError with
    the rest of a sentence that begins with the key ("must be …")."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Rule):
    what: str = "text"
    required: bool = False
    max_len: int = 1000

    def check(self, value: Any) -> Any:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValueError(f"must be {self.what}, not {_kind(value)}{self._hint(value)}")
        if self.required and not value.strip():
            raise ValueError("must not be empty")
        if len(value) > self.max_len:
            raise ValueError(f"must be {self.what} of at most {self.max_len:,} characters")
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value

    def _hint(self, value: Any) -> str:
        return " (write it in quotes)" if isinstance(value, int | float) else ""


@dataclass(frozen=True)
class TimeOfDay(Text):
    what: str = 'a time of day such as "09:00"'
    required: bool = True
    max_len: int = 20

    def _hint(self, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads 9:30 as a base-60 number (570)
            hours, minutes = divmod(value, 60)
            return (
                "; YAML reads a time without quotes as a number, so write it in quotes: "
                f'default_time: "{hours}:{minutes:02d}"'
            )
        return super()._hint(value)


@dataclass(frozen=True)
class Zone(Text):
    """An IANA name's shape; whether the zone exists is checked by bot/app.py."""

    what: str = "a time zone name such as Europe/London"
    required: bool = True
    max_len: int = 64

    def check(self, value: Any) -> Any:
        value = super().check(value)
        if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", value.strip()):
            raise ValueError(f"must be {self.what} (letters, digits, '_', '-', '+' and '/')")
        return value.strip()


@dataclass(frozen=True)
class Url(Text):
    """Empty, or an address with one of `schemes`; never repeated in an error (it may
    carry a password)."""

    what: str = "an address"
    example: str = "https://example.org"
    schemes: tuple[str, ...] = ("http", "https")

    def check(self, value: Any) -> Any:
        value = super().check(value).strip()
        if value and not re.match(rf"(?:{'|'.join(self.schemes)})://[^\s/]", value):
            schemes = " or ".join(f"{s}://" for s in self.schemes)
            raise ValueError(
                f"must be empty or an address starting with {schemes}, like {self.example}"
            )
        return value


@dataclass(frozen=True)
class Digits(Rule):
    what: str = "an id (digits)"

    def check(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if isinstance(value, str) and (not value.strip() or value.strip().isdigit()):
            return value.strip()
        raise ValueError(f"must be empty or {self.what}")


@dataclass(frozen=True)
class Choice(Rule):
    choices: tuple[str, ...]

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in self.choices:
            return value.strip().upper()
        shown = repr(value)[:40] if isinstance(value, str | int | float) else _kind(value)
        raise ValueError(f"must be one of {', '.join(self.choices)}, not {shown}")


@dataclass(frozen=True)
class CountOr(Rule):
    """Empty, one of `words`, or a whole number from 1 to `high` (kept as text)."""

    words: tuple[str, ...]
    high: int

    def check(self, value: Any) -> Any:
        if value is None:
            return ""
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if isinstance(value, bool) or text is None:
            text = "?"
        if text in ("", *self.words) or (text.isdigit() and 1 <= int(text) <= self.high):
            return text
        words = ", ".join(f'"{w}"' for w in self.words)
        raise ValueError(f'must be "" (none), {words} or a whole number from 1 to {self.high}')


@dataclass(frozen=True)
class Whole(Rule):
    low: int
    high: int

    def check(self, value: Any) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (self.low <= value <= self.high)
        ):
            got = _kind(value) if not isinstance(value, int) or isinstance(value, bool) else value
            raise ValueError(f"must be a whole number from {self.low} to {self.high}, not {got}")
        return value


@dataclass(frozen=True)
class Flag(Rule):
    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {_kind(value)}")
        return value


@dataclass(frozen=True)
class Enabled(Rule):
    def check(self, value: Any) -> Any:
        if value is True or value is False or value == "auto":
            return value
        raise ValueError("must be true, false or auto")


@dataclass(frozen=True)
class Texts(Rule):
    what: str = "text"
    max_items: int = 1000

    def check(self, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"must be a list of {self.what} ([] for none), not {_kind(value)}")
        item = Text(self.what, required=True)
        try:
            items = [item.check(v) for v in value]
        except ValueError:
            raise ValueError(f"must be a list of {self.what}, each non-empty text") from None
        if len(items) > self.max_items:
            raise ValueError(f"must hold at most {self.max_items:,} entries")
        return items


@dataclass(frozen=True)
class Folders(Texts):
    """Paths that must name existing folders when the config is read, not when a review
    first needs them."""

    what: str = "folder paths"

    def check(self, value: Any) -> Any:
        items = super().check(value)
        for item in items:
            if not Path(item).is_dir():
                raise ValueError(f"must be a list of {self.what}; {item!r} is not a folder")
        return items


RULES: dict[str, Rule] = {
    "database": Text("a file path or a postgresql:// URL", required=True, max_len=4096),
    "timezone": Zone(),
    "default_time": TimeOfDay(),
    "log_level": Choice(LOG_LEVELS),
    "review.max_chars": Whole(1, 100_000),
    "playbooks.dirs": Folders(),
    "playbooks.disabled_rules": Texts("rule ids"),
    "scheduler.max_attempts": Whole(1, 100),
    "scheduler.retry_seconds": Whole(1, 86_400),
    "scheduler.outage_retry_max_seconds": Whole(1, 86_400),
    "scheduler.concurrency": Whole(1, 1000),
    "scheduler.lease_seconds": Whole(2, 3600),
    "scheduler.rate_limits.telegram": Whole(1, 1000),
    "scheduler.rate_limits.discord": Whole(1, 1000),
    "community.min_messages_between_tips": Whole(0, 100_000),
    "community.intro_note_every_days": Whole(1, 3650),
    "community.wave_at_ready_intros": Flag(),
}


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
    rules: Mapping[str, Rule] | None = None,
    *,
    foreign: Iterable[str] = (),
) -> Config:
    """Read `path` (or defaults when None) and expand `${VAR}` from `env` (default:
    os.environ). `sections` adds the adapters' sections (name -> defaults) and `rules`
    their keys' rules (dotted key -> Rule). `foreign` names sections read by parts not
    loaded (the adapters, for `netcoach review`): kept out, unchecked."""
    env = dict(os.environ) if env is None else env
    defaults = {**DEFAULTS, **{k: dict(v) for k, v in (sections or {}).items()}}
    every_rule = {**RULES, **(rules or {})}
    source = "(defaults)" if path is None else str(path)
    raw: Any = {}
    if path is not None:
        path = Path(path)
        try:
            raw = load_yaml(path.read_text(encoding="utf-8"), source)
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: config file not found") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
        except (YamlError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
        raw = {k: v for k, v in raw.items() if k not in set(foreign) or k in defaults}
    data = _expand(_merge(defaults, raw, "", source), env, source)
    _check(data, defaults, every_rule, source)
    return Config(data, source)


def _check(
    data: dict[str, Any], defaults: dict[str, Any], rules: Mapping[str, Rule], source: str
) -> None:
    """Every leaf through its rule (or, for a key nobody gave one, the rule its default's
    type implies), in place."""

    def walk(node: dict[str, Any], dflt: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(dflt.get(key), dict):
                walk(value, dflt[key], f"{name}.")
                continue
            rule = rules.get(name) or _implied(dflt.get(key), key)
            try:
                node[key] = rule.check(value)
            except ValueError as exc:
                raise ConfigError(f"{source}: '{name}' {exc}") from None

    walk(data, defaults, "")


def _implied(default: Any, key: str) -> Rule:
    if key == "enabled":
        return Enabled()
    if isinstance(default, bool):
        return Flag()
    if isinstance(default, int):
        return Whole(0, 2**31 - 1)
    if isinstance(default, list):
        return Texts()
    return Text()


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
    """The defaults with the given values over them; unknown keys and a value where a
    section belongs are errors here, the values' own rules are checked after expansion."""
    out: dict[str, Any] = {}
    for key in given:
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known here: {known})")
    for key, default in defaults.items():
        if key not in given:
            out[key] = _copy(default)
        elif isinstance(default, dict):
            value = given[key]
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{prefix}{key}' must be a mapping")
            out[key] = _merge(default, value, f"{prefix}{key}.", source)
        else:
            out[key] = _copy(given[key])
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value
