"""Strict YAML reading: safe_load semantics plus duplicate-key errors with line numbers.

PyYAML silently keeps the last of two equal keys; in a playbook or a config that hides
a mistake, so a private loader subclass rejects them (PyYAML's global loader is left
untouched).
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class YamlError(Exception):
    """Unreadable YAML; the message names the source and, where known, the line."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The C parser when libyaml is there (playbooks load about 3x faster), else Python."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise YamlError(f"line {line}: a key must be a plain word, not a {type(key).__name__}")
        if key in seen:
            raise YamlError(f"line {line}: duplicate key '{key}' (first at line {seen[key]})")
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, source: str = "<string>") -> Any:
    """Parse one document. Aliases (`*name`) are refused: a few lines of nested aliases
    expand to gigabytes once validated (the "billion laughs"), and nothing needs them."""
    try:
        for event in yaml.parse(text, Loader=_StrictLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise YamlError(
                    f"line {line}: aliases (*{event.anchor}) are not allowed; "
                    "write the value out in full"
                )
        return yaml.load(text, Loader=_StrictLoader)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise YamlError(f"{where}{exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc)) from None


def node_lines(text: str) -> dict[str, list[int]]:
    """Lines of each `id:` value in a YAML text, in order, so load errors can point at the
    rule they are about (the second of two rules with one id included)."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().removeprefix("- ").strip()
        if stripped.startswith("id:"):
            value = stripped[3:].strip().strip("'\"")
            lines.setdefault(value, []).append(number)
    return lines


def top_key_lines(text: str) -> dict[str, int]:
    """The line of each key at the top of a YAML mapping (written at the left margin), so
    an error about a file's own keys can point at them too."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if (m := _TOP_KEY.match(line)) is not None:
            lines.setdefault(m[1].strip("'\""), number)
    return lines


_TOP_KEY = re.compile(r"""(['"]?[^\s#:'"-][^:#]*?['"]?)\s*:(?:\s|$)""")
