"""A community (server or group) as the feature sees it: its tip schedule and intro channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Community:
    """A server or group the bot serves, with its tips schedule and intro channel."""

    id: int
    platform: str
    community: str  # the platform's id: Discord server, Telegram group, "console"
    name: str
    timezone: str | None  # None: the configured default
    tips_state: str  # 'off' | 'on' | 'stopped' (the bot could no longer post)
    tips_channel: str | None
    tips_channel_name: str
    tips_time: str  # "HH:MM", local to `timezone`
    tips_every: str  # "day" | "weekday" | "N days"
    tips_playbooks: tuple[str, ...]  # empty: every built-in playbook
    tips_since: datetime | None
    tips_counted: bool  # the platform shows the bot ordinary posts there (activity counts)
    tips_messages: int  # messages seen since the last tip
    tips_job: int | None  # the job the current tip was chosen for
    tips_key: str | None  # ... and that tip
    tips_note: str | None  # the last skip or stop, in words
    intros_channel: str | None
    intros_channel_name: str
