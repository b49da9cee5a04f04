"""The console adapter: chat with netcoach in a terminal, or script it through a pipe.

    netcoach chat                      # interactive: nudges print above the prompt
    printf '/followup Maria tomorrow\\n/followups\\n' | netcoach chat   # one reply per line

You are user "you" on platform "console". A plain line is a draft to review; every command
with a leading slash, and `/quit`. Buttons show as numbered choices ("[1] Done  [2] Snooze
1 day") and typing the number presses the button.

inbound   a typed line -> Request
render    Reply -> text (ANSI bold on a terminal), buttons as numbered choices
platform  the adapter: reading lines, printing, the pretend community you administer
"""

from typing import Any

from netcoach.bot.config import Enabled, Rule

from .inbound import YOU, to_request
from .platform import ConsoleAdapter
from .render import render

PLATFORM = "console"
CONFIG: dict[str, Any] = {"enabled": "auto"}  # auto: the console when no platform is enabled
CONFIG_RULES: dict[str, Rule] = {"enabled": Enabled()}

__all__ = ["CONFIG", "CONFIG_RULES", "PLATFORM", "YOU", "ConsoleAdapter", "render", "to_request"]
