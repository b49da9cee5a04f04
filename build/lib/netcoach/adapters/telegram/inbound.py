"""Telegram updates as neutral requests (pure).

A command's words go to the core as typed (the core parses them, once, with the command's
grammar); what only Telegram knows goes as native params: a command sent as a reply to
someone's message names that person (`member`) and, for a command that takes a paragraph,
hands over that message's text (`/review` as a reply reviews the replied-to message).
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Chat, Message, Update
from telegram import User as TgUser

from netcoach.bot.kernel import (
    OFFLINE,
    Command,
    ParamValue,
    PlaceRef,
    Platform,
    Request,
    UserRef,
)

PLATFORM = "telegram"


def user_ref(user: TgUser) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.full_name)


def place_ref(chat: Chat) -> PlaceRef:
    return PlaceRef(PLATFORM, str(chat.id), "dm" if chat.type == Chat.PRIVATE else "group")


def parse_command(message: Message, bot_username: str = "") -> tuple[str, str] | None:
    """(command, rest) of a message; command "" for plain text; None if for another bot."""
    text = message.text or ""
    first = next(iter(message.entities or ()), None)
    if first is None or first.type != "bot_command" or first.offset != 0:
        return "", text
    name, _, addressed = text[1 : first.length].partition("@")
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    return name.lower(), text[first.length :].strip()


def draft_of(message: Message | None, bot_username: str = "") -> str:
    """The draft a message is, when it is one: a person's plain text (not a command, not
    the bot's own message)."""
    if message is None or not message.text:
        return ""
    if message.from_user is not None and message.from_user.is_bot:
        return ""  # a review, not a draft
    parsed = parse_command(message, bot_username)
    return message.text if parsed is not None and not parsed[0] else ""


def to_request(
    update: Update,
    bot_username: str = "",
    commands: Mapping[str, Command] | None = None,
    platform: Platform = OFFLINE,
) -> Request | None:
    """A Telegram update as a neutral Request; None when it is not for netcoach.

    Button presses carry the reviewed draft, read back from the message the review replied
    to. Only edits of private plain drafts count (an edited command must not run twice),
    and plain group chatter is not addressed to the bot (see `observed`). Telegram's
    /start opens a private chat: it is an empty message, which the core greets.
    """
    query = update.callback_query
    if query is not None:
        if not query.data or not isinstance(query.message, Message):
            return None
        message = query.message
        params: dict[str, ParamValue] = {}
        if draft := draft_of(message.reply_to_message, bot_username):
            params["draft"] = draft
        user, place = user_ref(query.from_user), place_ref(message.chat)
        return Request(user, place, "press", query.data, params, platform)
    sent = update.message or update.edited_message
    if sent is None or sent.from_user is None or sent.text is None:
        return None
    message, text = sent, sent.text
    user, place = user_ref(sent.from_user), place_ref(sent.chat)
    parsed = parse_command(message, bot_username)
    if parsed is None:
        return None
    command, rest = parsed
    if not command and place.kind != "dm":
        return None
    if update.edited_message is not None and (command or place.kind != "dm"):
        return None
    if not command:
        return Request(user, place, "", text, platform=platform)
    if command == "start" and place.kind == "dm":
        return Request(user, place, "", "", platform=platform)
    return Request(user, place, command, rest, _replied(message, commands, command), platform)


def _replied(
    message: Message, commands: Mapping[str, Command] | None, command: str
) -> dict[str, ParamValue]:
    """What a command sent as a reply says natively: whose message, and its text."""
    replied = message.reply_to_message
    known = (commands or {}).get(command)
    if replied is None or known is None:
        return {}
    params: dict[str, ParamValue] = {}
    other = replied.from_user
    for param in known.params:
        if param.kind == "member" and other and not other.is_bot and other != message.from_user:
            params[param.name] = UserRef(PLATFORM, str(other.id), other.first_name)
        elif param.kind == "paragraph" and (text := draft_of(replied)):
            params[param.name] = text
    return params


def observed(update: Update, platform: Platform = OFFLINE) -> Request | None:
    """A new plain post in a group, for the core to observe (activity, intro coaching);
    None for anything else."""
    message = update.message
    if message is None or message.from_user is None or not message.text:
        return None
    if message.from_user.is_bot or place_ref(message.chat).kind != "group":
        return None
    if (message.entities or ()) and message.entities[0].type == "bot_command":
        return None
    user, place = user_ref(message.from_user), place_ref(message.chat)
    return Request(user, place, "", message.text, platform=platform)
