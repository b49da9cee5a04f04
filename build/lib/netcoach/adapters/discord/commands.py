"""Slash commands generated from the core's Commands: options from typed params, menus from
choices, autocomplete from completers, a modal for a paragraph (a draft), and a message
context menu for a command that takes one. No second list of commands lives here.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import discord
from discord import app_commands

from netcoach.bot.kernel import Command, Completer, Param, Request

MAX_CHOICES = 25  # Discord's limit for menu entries and autocomplete answers
MAX_MODAL_TEXT = 4000  # Discord's limit for a text input
_ANNOTATIONS: dict[str, Any] = {"text": str, "member": discord.User, "channel": discord.TextChannel}

AppCommand = app_commands.Command[Any, ..., Any] | app_commands.ContextMenu


class Answers(Protocol):
    """The adapter, as the generated commands see it."""

    max_draft: int

    def request(
        self, interaction: discord.Interaction, command: str, values: Mapping[str, Any]
    ) -> Request: ...

    async def answer(self, interaction: discord.Interaction, req: Request) -> None: ...


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label(param: Param) -> str:
    """A modal field's label (45 characters at most): the description's first words."""
    return _short(param.description.split(" (")[0].capitalize(), 45)


def app_commands_for(commands: Sequence[Command], adapter: Answers) -> list[AppCommand]:
    out: list[AppCommand] = []
    for command in commands:
        out.append(slash_command(command, adapter))
        paragraph = _paragraph(command)
        if paragraph is not None:
            out.append(context_menu(command, paragraph, adapter))
    return out


def _paragraph(command: Command) -> Param | None:
    return next((p for p in command.params if p.kind == "paragraph"), None)


def slash_command(command: Command, adapter: Answers) -> app_commands.Command[Any, ..., Any]:
    """The slash command: each param an option (required ones first, as Discord wants);
    a paragraph param is asked for in a modal instead, which the options pre-fill."""
    options = sorted((p for p in command.params if p.kind != "paragraph"), key=_optional)
    paragraph = _paragraph(command)

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        if paragraph is not None:
            modal = ParagraphModal(adapter, command, paragraph, values)
            await interaction.response.send_modal(modal)
            return
        if command.admin and not interaction.response.is_done():
            # Acknowledge now: Discord allows 3 s, and the admin check may ask Discord first.
            await interaction.response.defer(ephemeral=True, thinking=True)
        await adapter.answer(interaction, adapter.request(interaction, command.name, values))

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for p in options:
        kind = _ANNOTATIONS[p.kind]
        parameters.append(
            inspect.Parameter(
                p.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=kind if p.required else kind | None,
                default=inspect.Parameter.empty if p.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    if options:
        app_commands.describe(**{p.name: _short(p.description, 100) for p in options})(callback)
    menus = {
        p.name: [
            app_commands.Choice(name=_short(label, 100), value=value)
            for value, label in p.choices[:MAX_CHOICES]
        ]
        for p in options
        if p.choices
    }
    if menus:
        app_commands.choices(**menus)(callback)
    slash: app_commands.Command[Any, ..., Any] = app_commands.Command(
        name=command.name, description=_short(command.summary, 100), callback=callback
    )
    for p in options:
        if p.complete is not None:
            slash.autocomplete(p.name)(_autocomplete(p.complete))
    if command.admin:  # hidden from members by default; the core still checks on every call
        slash.default_permissions = discord.Permissions(manage_guild=True)
    return slash


def _optional(param: Param) -> bool:
    return not param.required


def _autocomplete(complete: Completer) -> Any:
    async def suggest(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        from .inbound import user_ref

        found = await complete(user_ref(interaction.user), current)
        return [
            app_commands.Choice(name=_short(label, 100), value=value)
            for label, value in found[:MAX_CHOICES]
        ]

    return suggest


def context_menu(command: Command, paragraph: Param, adapter: Answers) -> app_commands.ContextMenu:
    """A message's menu entry that hands the message's text to the command as its paragraph."""

    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        values = {paragraph.name: message.content}
        await adapter.answer(interaction, adapter.request(interaction, command.name, values))

    return app_commands.ContextMenu(name=f"{command.name.capitalize()} as draft", callback=callback)


class ParagraphModal(discord.ui.Modal):
    """A command's paragraph param as a text box, with its menus (choices) above it."""

    def __init__(
        self, adapter: Answers, command: Command, paragraph: Param, values: Mapping[str, Any]
    ):
        super().__init__(title=_short(command.name.capitalize(), 45), timeout=900)
        self.adapter = adapter
        self.command = command
        self.paragraph = paragraph
        self.values = dict(values)
        self.menus: dict[str, discord.ui.Select[discord.ui.View]] = {}
        for p in command.params:
            if p.choices and p.kind != "paragraph":
                menu: discord.ui.Select[discord.ui.View] = discord.ui.Select(
                    options=[
                        discord.SelectOption(
                            label=_short(label.capitalize(), 100),
                            value=value,
                            default=value == values.get(p.name),
                        )
                        for value, label in p.choices[:MAX_CHOICES]
                    ],
                    min_values=1,
                    max_values=1,
                    required=False,
                )
                self.menus[p.name] = menu
                self.add_item(discord.ui.Label(text=_label(p), component=menu))
        self.text: discord.ui.TextInput[discord.ui.View] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            max_length=max(1, min(adapter.max_draft, MAX_MODAL_TEXT)),
            placeholder="Paste the message you are about to send…",
        )
        self.add_item(discord.ui.Label(text=_label(paragraph), component=self.text))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        values = dict(self.values)
        for name, menu in self.menus.items():
            if menu.values:
                values[name] = menu.values[0]
        values[self.paragraph.name] = self.text.value
        req = self.adapter.request(interaction, self.command.name, values)
        await self.adapter.answer(interaction, req)
