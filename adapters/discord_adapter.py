"""The Discord adapter: DMs, slash commands, a review modal, a context menu, persistent buttons.

    discord:
      enabled: true            # token from ${DISCORD_TOKEN}; see docs/discord.md
      dev_guild_id: ""         # sync commands to one server while developing (instant)

What a user gets: a DM to the bot is reviewed as a draft; `/review` opens a modal; the
message context menu "Review as draft"; every core command as a slash command with typed
options, ephemeral in servers; nudges by DM as an embed with buttons that keep working after
a restart (their custom ids carry the action and match one DynamicItem registered at start-up).

Intents: `guilds`, `dm_messages` and `guild_messages` (none privileged): DMs to a bot carry
their text; server posts arrive without it and only count towards a tips channel's activity.
The privileged message-content intent is requested only when some server has intro coaching
on (`/intros watch`, read at start-up; see docs/community.md). Commands in servers arrive as
interactions, whose payloads carry what they need. Every message is sent with
AllowedMentions.none(): a reviewed draft or a tip pings no one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zoneinfo
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from netcoach.bot.config import Config, ConfigError
from netcoach.bot.features.community import Community
from netcoach.bot.features.drafts import CONTEXT_LABELS, DEFAULT_MAX_CHARS
from netcoach.bot.features.followups import FollowUps
from netcoach.bot.kernel import (
    Button,
    DeliveryError,
    PlaceRef,
    Reply,
    Request,
    Segment,
    UserRef,
    Where,
    split_markup,
)
from netcoach.bot.review import CONTEXTS

if TYPE_CHECKING:
    from netcoach.bot.kernel import Coach

log = logging.getLogger(__name__)

TOKEN_VAR = "DISCORD_TOKEN"
MAX_CONTENT = 2000
MAX_EMBED = 4096
MAX_MODAL_TEXT = 4000  # Discord's limit for a text input
MAX_RATE_LIMIT_WAIT = 60.0  # seconds
MAX_CHOICES = 25  # Discord's limit for autocomplete answers
CUSTOM_ID_PREFIX = "nc:"
NO_MENTIONS = discord.AllowedMentions.none()
EMBED_KINDS = frozenset({"nudge"})  # shown as an embed; everything else as plain content
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_.\-]{20,200}")
_TYPED_COMMAND = re.compile(r"/([A-Za-z][A-Za-z0-9_-]{0,31})(?:\s+(.*))?", re.DOTALL)


# -- translation in: Discord -> neutral ---------------------------------------------------


def user_ref(user: discord.abc.User) -> UserRef:
    return UserRef("discord", str(user.id), user.display_name)


def place_ref(channel_id: int | None, guild_id: int | None) -> PlaceRef:
    if guild_id is None:
        return PlaceRef("discord", str(channel_id or ""), "dm")
    return PlaceRef("discord", str(channel_id or ""), "group", community=str(guild_id))


def to_request(message: discord.Message) -> Request | None:
    """A DM as a neutral request: a draft to review, or `/command rest` typed as text."""
    if message.author.bot:
        return None
    guild_id = message.guild.id if message.guild else None
    place = place_ref(message.channel.id, guild_id)
    user = user_ref(message.author)
    m = _TYPED_COMMAND.fullmatch(message.content.strip())
    if m is not None:  # Discord sends "/cmd" as text when the user does not pick the command
        return Request(user, place, m.group(1).lower(), (m.group(2) or "").strip(), raw=message)
    return Request(user, place, "", message.content, raw=message)


def interaction_request(
    interaction: discord.Interaction,
    command: str,
    text: str = "",
    args: dict[str, Any] | None = None,
) -> Request:
    """Typed options arrive in `args` (empty ones dropped), so the core never re-parses them."""
    clean = {k: str(v).strip() for k, v in (args or {}).items() if v is not None and str(v).strip()}
    return Request(
        user_ref(interaction.user),
        place_ref(interaction.channel_id, interaction.guild_id),
        command,
        text,
        clean,
        raw=interaction,
    )


# -- translation out: neutral -> Discord --------------------------------------------------


class Page(NamedTuple):
    """One Discord message: content or an embed, and the buttons (on the last page only)."""

    content: str | None
    embed: discord.Embed | None
    view: discord.ui.View | None


# Anything escape_markdown or escape_mentions would change; most text has none of it, and
# skipping the two substitutions then halves the cost of rendering a review.
_MAY_NEED_ESCAPE = re.compile(r"[_\\~|*`@\[]|^\s*[>#-]", re.MULTILINE)


def escape(text: str) -> str:
    """User text shown as written: Markdown escaped, mentions defused (AllowedMentions too)."""
    if not _MAY_NEED_ESCAPE.search(text):
        return text
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _inline_code(text: str) -> str:
    if not text:
        return ""
    if "`" not in text:
        return f"`{text}`"
    safe = text.replace("``", "`\u200b`")  # a double backtick would end the span
    return f"`` {safe} ``"


def render_segment(seg: Segment) -> str:
    if seg.style == "code":
        return _inline_code(seg.text)
    text = escape(seg.text)
    marker = {"bold": "**", "italic": "*", "mark": "__"}.get(seg.style, "")
    core = text.strip()
    if not marker or not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"nc:(?P<action>[^\s]{1,97})",
):
    """Every netcoach button. The custom id is "nc:" + Button.action, so a press works on any
    message, sent before or after a restart, without keeping a View per message in memory."""

    def __init__(self, action: str, label: str = "", primary: bool = False):
        style = discord.ButtonStyle.primary if primary else discord.ButtonStyle.secondary
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=(label or action)[:80], custom_id=CUSTOM_ID_PREFIX + action, style=style
        )
        super().__init__(button)
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ActionButton:
        return cls(match["action"], getattr(item, "label", "") or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if isinstance(adapter, DiscordAdapter):
            await adapter.on_press(interaction, self.action)


def buttons_view(buttons: Sequence[Button]) -> discord.ui.View | None:
    return _buttons_view(tuple(buttons)) if buttons else None


@lru_cache(maxsize=512)
def _buttons_view(buttons: tuple[Button, ...]) -> discord.ui.View:
    """Stopped views are only serialised, never mutated, so equal button sets share one."""
    view = discord.ui.View(timeout=None)
    for i, b in enumerate(buttons[:25]):
        if len(CUSTOM_ID_PREFIX + b.action) <= 100 and " " not in b.action:
            view.add_item(ActionButton(b.action, b.label, primary=i == 0))
    view.stop()  # render-only: ActionButton's pattern dispatches presses, nothing is stored
    return view


def render(reply: Reply) -> list[Page]:
    """Reply -> Discord messages, split on segment boundaries; buttons go on the last one."""
    as_embed = reply.kind in EMBED_KINDS
    limit = MAX_EMBED if as_embed else MAX_CONTENT
    rendered = {seg: render_segment(seg) for seg in reply.body}
    whole = "".join(rendered[seg] for seg in reply.body)
    if len(whole) <= limit:  # the common case: one message, rendered once
        groups = [whole]
    else:
        cached = lambda seg: rendered.get(seg) or render_segment(seg)  # noqa: E731
        groups = [
            "".join(cached(s) for s in group) for group in split_markup(reply.body, limit, cached)
        ]
    texts = [text for group in groups if (text := group.strip())] or ["\u200b"]
    pages = []
    for i, text in enumerate(texts):
        view = buttons_view(reply.buttons) if i == len(texts) - 1 else None
        if as_embed:
            pages.append(Page(None, discord.Embed(description=text, colour=0x2F80ED), view))
        else:
            pages.append(Page(text, None, view))
    return pages


def _message_kwargs(page: Page, *, editing: bool = False) -> dict[str, Any]:
    kw: dict[str, Any] = {"content": page.content, "allowed_mentions": NO_MENTIONS}
    if page.embed is not None or editing:
        kw["embed"] = page.embed
    if page.view is not None or editing:
        kw["view"] = page.view
    return kw


def _files(reply: Reply) -> list[discord.File]:
    """A reply's attachments (a data export) as Discord files."""
    return [discord.File(io.BytesIO(a.data), filename=a.filename) for a in reply.attachments]


# -- slash command options: the platform's typed form of each core command's usage ---------

_DESCRIBE: dict[str, dict[str, str]] = {
    "review": {"context": "what the draft is for (default: a first message)"},
    "followup": {
        "when": "e.g. in 3 days, next friday 10am, 2026-12-01",
        "who": "a name, if they are not a member here",
        "member": "a member of this server",
        "note": "what to follow up about",
    },
    "keepintouch": {"who": "whom to keep in touch with", "every": "e.g. every 2 weeks, monthly"},
    "done": {"followup": "the follow-up (type to search yours)"},
    "snooze": {"followup": "the follow-up (type to search yours)", "when": "e.g. 2 days"},
    "cancel": {"followup": "the follow-up (type to search yours)"},
    "contacted": {"who": "whom you were in touch with", "note": "what happened"},
    "contact": {
        "who": "the person",
        "note": "save notes about them",
        "bond": "add something you share",
    },
    "timezone": {"zone": "Area/City, e.g. Europe/Lisbon (type to search)"},
    "bond": {"member": "a member of this server", "contact": "or one of your contacts"},
    "text": {"text": "the command's arguments, as in /help"},
    "tips": {
        "action": "what to do",
        "text": "e.g. time 09:00 every weekday about-them · a tip in quotes · an id · a zone",
        "channel": "where tips are posted (default: this channel)",
    },
    "intros": {"action": "what to do", "channel": "the introductions channel"},
    "coach": {"setting": "off: no notes about your intro posts; on: notes again"},
}


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_choices(current: str) -> list[app_commands.Choice[str]]:
    """Zone names containing what was typed ("lisb", "new york"), prefix matches first."""
    typed = current.strip().lower().replace(" ", "_")
    names = _zone_names()
    hits = [n for n in names if typed in n.lower()] if typed else list(names)
    hits.sort(key=lambda n: (not n.lower().split("/")[-1].startswith(typed), n))
    return [app_commands.Choice(name=n, value=n) for n in hits[:MAX_CHOICES]]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class ReviewModal(discord.ui.Modal):
    """/review: a paragraph field for the draft and a menu for its context."""

    def __init__(self, adapter: DiscordAdapter, context: str):
        super().__init__(title="Review a draft", timeout=900)
        self.adapter = adapter
        self.context = context
        self.context_menu: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            options=[
                discord.SelectOption(label=CONTEXT_LABELS[c].capitalize(), value=c)
                for c in CONTEXTS
            ],
            min_values=1,
            max_values=1,
            required=False,
        )
        for option in self.context_menu.options:
            option.default = option.value == context
        self.draft: discord.ui.TextInput[discord.ui.View] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            max_length=adapter.max_draft,
            placeholder="Paste the message you are about to send…",
        )
        self.add_item(discord.ui.Label(text="What is it?", component=self.context_menu))
        self.add_item(discord.ui.Label(text="Your draft", component=self.draft))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        context = self.context_menu.values[0] if self.context_menu.values else self.context
        args = {"draft": self.draft.value, "context": context}
        await self.adapter.answer(interaction, interaction_request(interaction, "review", "", args))


class NetcoachBot(commands.Bot):
    """commands.Bot that knows its adapter, so buttons and the modal can reach the coach."""

    def __init__(self, adapter: DiscordAdapter, **kwargs: Any):
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **kwargs)
        self.adapter = adapter

    async def setup_hook(self) -> None:
        await self.adapter.setup(self)

    async def on_message(self, message: discord.Message) -> None:  # no prefix commands
        await self.adapter.on_message(message)


class DiscordAdapter:
    platform = "discord"
    max_text_len = MAX_CONTENT

    def __init__(
        self,
        token: str,
        *,
        dev_guild_id: int | None = None,
        api_base_url: str = "",
        gateway_url: str = "",
        sync_state: Path | None = None,
        max_draft: int = MAX_MODAL_TEXT,
        guild_ready_timeout: float = 2.0,
    ):
        self.token = token
        self.dev_guild_id = dev_guild_id
        self.api_base_url = api_base_url.rstrip("/")
        self.gateway_url = gateway_url
        self.sync_state = sync_state
        self.max_draft = max(1, min(max_draft, MAX_MODAL_TEXT))
        self.guild_ready_timeout = guild_ready_timeout
        self.coach: Coach | None = None
        self.bot: NetcoachBot | None = None
        self.synced = False  # whether the last start-up pushed commands to Discord
        # Drafts behind ephemeral reviews (which cannot be fetched back), for "review as…":
        # memory only, bounded, gone on restart.
        self._drafts: OrderedDict[int, str] = OrderedDict()

    def __repr__(self) -> str:  # never show the token
        return f"DiscordAdapter(dev_guild_id={self.dev_guild_id!r})"

    # -- lifecycle ------------------------------------------------------------------------

    def make_bot(self) -> NetcoachBot:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        intents = discord.Intents.none()
        intents.guilds = True  # guild metadata for interactions in servers
        intents.dm_messages = True  # DMs are drafts; their text needs no privileged intent
        intents.guild_messages = True  # server posts: tips wait for activity (no text needed)
        intents.message_content = self.reads_text  # only while a server watches intros
        return NetcoachBot(
            self,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=self.guild_ready_timeout,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            # discord.py waits out rate limits; a longer wait becomes RateLimited, so a nudge
            # is rescheduled by the scheduler instead of holding a task for minutes.
            max_ratelimit_timeout=MAX_RATE_LIMIT_WAIT,
        )

    def _apply_endpoints(self) -> None:
        """discord.py reads these class attributes process-wide (REST and gateway proxies)."""
        if self.api_base_url:
            discord.http.Route.BASE = self.api_base_url
        if self.gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    async def run(self, coach: Coach) -> None:
        """Log in, sync commands if they changed, and serve until cancelled."""
        self.coach = coach
        self._apply_endpoints()
        self.reads_text = await self._intros_watched()
        bot = self.make_bot()
        self.bot = bot
        try:
            try:
                await bot.login(self.token)
            except discord.LoginFailure:
                raise ConfigError(
                    f"Discord rejected the bot token in {TOKEN_VAR}. Reset the token in the "
                    "Developer Portal (Bot → Reset Token) and set it again."
                ) from None
            try:
                await bot.connect(reconnect=True)
            except discord.PrivilegedIntentsRequired:
                if self.reads_text:
                    raise ConfigError(
                        "Discord refused the Message Content intent, which netcoach asks for "
                        "because a server watches intros (/intros watch). Enable it in the "
                        "Developer Portal (Bot → Privileged Gateway Intents), or stop intro "
                        "coaching with /intros off."
                    ) from None
                raise ConfigError(
                    "Discord refused the gateway intents; netcoach needs no privileged intent, "
                    "so check the application in the Developer Portal."
                ) from None
        finally:
            await bot.close()
            self.bot = None

    async def _intros_watched(self) -> bool:
        """Ask for message content only when some server has intro coaching on."""
        community = next(
            (f for f in (self.coach.features if self.coach else ()) if isinstance(f, Community)),
            None,
        )
        return community is not None and await community.repo.any_intros("discord")

    async def setup(self, bot: NetcoachBot) -> None:
        """Runs after login, before the gateway: buttons, commands, and the sync if needed."""
        bot.add_dynamic_items(ActionButton)
        for command in self.app_commands():
            bot.tree.add_command(command)
        await self.sync_commands(bot)

    async def sync_commands(self, bot: NetcoachBot) -> None:
        """Push the command set only when it changed (Discord rate-limits command updates)."""
        guild = discord.Object(self.dev_guild_id) if self.dev_guild_id else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        payload = [c.to_dict(bot.tree) for c in bot.tree.get_commands(guild=guild)]
        scope = f"guild:{self.dev_guild_id}" if guild else "global"
        digest = hashlib.sha256(
            json.dumps([bot.application_id, scope, payload], sort_keys=True).encode()
        ).hexdigest()
        stored = ""
        if self.sync_state is not None and self.sync_state.exists():
            stored = self.sync_state.read_text(encoding="utf-8").strip()
        if stored == digest:
            log.info("Discord commands unchanged; not syncing")
            self.synced = False
            return
        await bot.tree.sync(guild=guild)
        self.synced = True
        log.info("synced %d Discord commands (%s)", len(payload), scope)
        if self.sync_state is not None:
            try:
                self.sync_state.write_text(digest + "\n", encoding="utf-8")
            except OSError as exc:  # not fatal: the next start-up syncs again
                log.warning("could not record the command hash in %s: %s", self.sync_state, exc)

    # -- commands -------------------------------------------------------------------------

    def app_commands(self) -> list[app_commands.Command[Any, ..., Any] | app_commands.ContextMenu]:
        """A slash command for every core command, with typed options where the usage has them."""
        assert self.coach is not None
        typed = self._typed_callbacks()
        out: list[app_commands.Command[Any, ..., Any] | app_commands.ContextMenu] = []
        summaries = {c.name: c.summary for c in self.coach.commands.values()}
        summaries["help"] = "what netcoach can do"
        for name, summary in summaries.items():
            callback = typed.get(name) or self._text_callback(name)
            key = name if name in typed else "text"
            app_commands.describe(**_DESCRIBE.get(key, {}))(callback)
            if name == "review":
                app_commands.choices(
                    context=[app_commands.Choice(name=CONTEXT_LABELS[c], value=c) for c in CONTEXTS]
                )(callback)
            command = app_commands.Command(
                name=name, description=_short(summary, 100), callback=callback
            )
            if name in ("done", "snooze", "cancel"):
                command.autocomplete("followup")(self._followup_choices)
            if name == "timezone":
                command.autocomplete("zone")(self._zone_choices)
            if self.coach.commands.get(name) and self.coach.commands[name].admin:
                # Hidden from members by default; the core still checks on every call.
                command.default_permissions = discord.Permissions(manage_guild=True)
            out.append(command)
        if "review" in summaries:
            out.append(app_commands.ContextMenu(name="Review as draft", callback=self._review_msg))
        return out

    def _text_callback(self, name: str) -> Any:
        adapter = self

        async def callback(interaction: discord.Interaction, text: str | None = None) -> None:
            await adapter.answer(interaction, interaction_request(interaction, name, text or ""))

        return callback

    def _typed_callbacks(self) -> dict[str, Any]:
        answer, req = self.answer, interaction_request

        async def review(interaction: discord.Interaction, context: str | None = None) -> None:
            await interaction.response.send_modal(ReviewModal(self, context or "dm"))

        async def followup(
            interaction: discord.Interaction,
            when: str,
            who: str | None = None,
            member: discord.User | None = None,
            note: str | None = None,
        ) -> None:
            name = member.display_name if member is not None else who
            args = {"who": name, "when": when, "note": note}
            await answer(interaction, req(interaction, "followup", "", args))

        async def keepintouch(interaction: discord.Interaction, who: str, every: str) -> None:
            args = {"who": who, "every": every}
            await answer(interaction, req(interaction, "keepintouch", "", args))

        async def done(interaction: discord.Interaction, followup: str) -> None:
            await answer(interaction, req(interaction, "done", "", {"id": followup}))

        async def snooze(interaction: discord.Interaction, followup: str, when: str) -> None:
            args = {"id": followup, "when": when}
            await answer(interaction, req(interaction, "snooze", "", args))

        async def cancel(interaction: discord.Interaction, followup: str) -> None:
            await answer(interaction, req(interaction, "cancel", "", {"id": followup}))

        async def contacted(
            interaction: discord.Interaction, who: str, note: str | None = None
        ) -> None:
            await answer(interaction, req(interaction, "contacted", "", {"who": who, "note": note}))

        async def contact(
            interaction: discord.Interaction,
            who: str,
            note: str | None = None,
            bond: str | None = None,
        ) -> None:
            args = {"who": who, "note": note, "bond": bond}
            await answer(interaction, req(interaction, "contact", "", args))

        async def bond(
            interaction: discord.Interaction,
            member: discord.User | None = None,
            contact: str | None = None,
        ) -> None:
            args = {"member": member.id, "member_name": member.display_name} if member else {}
            await answer(interaction, req(interaction, "bond", contact or "", args))

        async def timezone(interaction: discord.Interaction, zone: str | None = None) -> None:
            await answer(interaction, req(interaction, "timezone", "", {"zone": zone}))

        async def help(interaction: discord.Interaction) -> None:
            await answer(interaction, req(interaction, "help"))

        async def no_options(name: str, interaction: discord.Interaction) -> None:
            await answer(interaction, req(interaction, name))

        async def followups(interaction: discord.Interaction) -> None:
            await no_options("followups", interaction)

        async def contacts(interaction: discord.Interaction) -> None:
            await no_options("contacts", interaction)

        @app_commands.choices(
            action=[
                app_commands.Choice(name=a, value=a)
                for a in ("on", "off", "status", "preview", "add", "remove", "timezone")
            ]
        )
        async def tips(
            interaction: discord.Interaction,
            action: str,
            text: str | None = None,
            channel: discord.TextChannel | None = None,
        ) -> None:
            args = {"channel": f"<#{channel.id}>" if channel else None}
            await self._defer(interaction)  # the admin check may have to ask Discord first
            await answer(interaction, req(interaction, "tips", f"{action} {text or ''}", args))

        @app_commands.choices(
            action=[app_commands.Choice(name=a, value=a) for a in ("watch", "off", "status")]
        )
        async def intros(
            interaction: discord.Interaction,
            action: str,
            channel: discord.TextChannel | None = None,
        ) -> None:
            args = {"channel": f"<#{channel.id}>" if channel else None}
            await self._defer(interaction)
            await answer(interaction, req(interaction, "intros", action, args))

        @app_commands.choices(setting=[app_commands.Choice(name=a, value=a) for a in ("off", "on")])
        async def coach(interaction: discord.Interaction, setting: str | None = None) -> None:
            await answer(interaction, req(interaction, "coach", setting or ""))

        async def tip(interaction: discord.Interaction) -> None:
            await no_options("tip", interaction)

        return {
            "tips": tips,
            "intros": intros,
            "coach": coach,
            "tip": tip,
            "review": review,
            "followup": followup,
            "keepintouch": keepintouch,
            "followups": followups,
            "done": done,
            "snooze": snooze,
            "cancel": cancel,
            "contacted": contacted,
            "contacts": contacts,
            "contact": contact,
            "timezone": timezone,
            "bond": bond,
            "help": help,
        }

    async def _review_msg(self, interaction: discord.Interaction, message: discord.Message) -> None:
        req = interaction_request(interaction, "review", "", {"draft": message.content})
        await self.answer(interaction, req)

    async def _zone_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return zone_choices(current)

    async def _followup_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The user's open follow-ups matching what they typed (the core decides which)."""
        assert self.coach is not None
        feature = next((f for f in self.coach.features if isinstance(f, FollowUps)), None)
        if feature is None:
            return []
        found = await feature.matching(user_ref(interaction.user), current, MAX_CHOICES)
        return [app_commands.Choice(name=_short(label, 100), value=id_) for label, id_ in found]

    # -- answering ------------------------------------------------------------------------

    @staticmethod
    async def _defer(interaction: discord.Interaction) -> None:
        """Acknowledge now: Discord allows 3 s, and a community command may have to fetch
        the member to check their permissions. The answer follows as a private message."""
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)

    async def answer(self, interaction: discord.Interaction, req: Request) -> None:
        assert self.coach is not None
        await self.respond(interaction, await self.coach.handle(req), draft=req.args.get("draft"))

    async def on_press(self, interaction: discord.Interaction, action: str) -> None:
        """A button: the coach gets the action, and the draft a review's buttons refer to."""
        assert self.coach is not None
        draft = await self._draft_behind(interaction.message)
        req = interaction_request(interaction, "press", action, {"draft": draft})
        replies = await self.coach.handle(req)
        # A re-review replaces the review it was pressed on; anything else is a new message.
        edit = bool(replies) and replies[0].kind == "review" and interaction.message is not None
        await self.respond(interaction, replies, draft=draft, edit_first=edit)

    async def respond(
        self,
        interaction: discord.Interaction,
        replies: Iterable[Reply],
        *,
        draft: str | None = None,
        edit_first: bool = False,
    ) -> None:
        """Replies to an interaction: the first answers it, the rest follow; private ones are
        ephemeral in servers (in a DM only the user sees them anyway)."""
        in_guild = interaction.guild_id is not None
        first = True
        for reply in replies:
            ephemeral = reply.private and in_guild
            pages = render(reply)
            for number, page in enumerate(pages, start=1):
                message_id: int | None = None
                files = _files(reply) if number == len(pages) else []
                if first and edit_first and interaction.message is not None:
                    await interaction.response.edit_message(**_message_kwargs(page, editing=True))
                    message_id = interaction.message.id
                elif not interaction.response.is_done():
                    sent = await interaction.response.send_message(
                        ephemeral=ephemeral, files=files, **_message_kwargs(page)
                    )
                    message_id = sent.message_id
                else:
                    msg = await interaction.followup.send(
                        ephemeral=ephemeral, wait=True, files=files, **_message_kwargs(page)
                    )
                    message_id = msg.id
                first = False
                if draft and page.view is not None and message_id is not None:
                    self._remember(message_id, draft)
        if first and not interaction.response.is_done():
            await interaction.response.defer()

    def _remember(self, message_id: int, draft: str) -> None:
        self._drafts[message_id] = draft
        self._drafts.move_to_end(message_id)
        while len(self._drafts) > 1000:
            self._drafts.popitem(last=False)

    async def _draft_behind(self, message: discord.Message | None) -> str:
        """The draft a review message answered: remembered, or the DM it replied to."""
        if message is None:
            return ""
        if message.id in self._drafts:
            return self._drafts[message.id]
        ref = message.reference
        if ref is None or ref.message_id is None:
            return ""
        if isinstance(ref.resolved, discord.Message):
            return ref.resolved.content
        try:
            return (await message.channel.fetch_message(ref.message_id)).content
        except discord.HTTPException:
            return ""

    async def on_message(self, message: discord.Message) -> None:
        """A DM: review it (or run a typed /command); the answer replies to it, so its
        "review as…" buttons can find the draft again, even after a restart."""
        if self.coach is None:
            return
        if message.guild is not None:
            await self._observe(message)
            return
        req = to_request(message)
        if req is None:
            return
        reference = message.to_reference(fail_if_not_exists=False)
        for reply in await self.coach.handle(req):
            for page in render(reply):
                await message.channel.send(reference=reference, **_message_kwargs(page))

    async def _observe(self, message: discord.Message) -> None:
        """A server post: the core observes it (activity, intro coaching). It was not
        addressed to the bot, so it is never answered in the channel: private replies go
        by DM, a reaction onto the post."""
        assert self.coach is not None
        if message.author.bot or message.webhook_id is not None or message.guild is None:
            return
        req = Request(
            user_ref(message.author),
            place_ref(message.channel.id, message.guild.id),
            "",
            message.content,
            raw=message,
        )
        for reply in await self.coach.handle(req):
            try:
                if reply.kind == "reaction":
                    await message.add_reaction(reply.text)
                elif reply.private:
                    for page in render(reply):
                        await message.author.send(**_message_kwargs(page))
            except discord.HTTPException as exc:  # DMs closed, no reaction right: let it be
                log.info("could not answer a server post privately: %s", exc)

    # -- communities --------------------------------------------------------------------

    reads_text = False  # whether this connection asked for the message-content intent

    async def where(self, req: Request, channel: str = "") -> Where:
        """The server of a slash command: Manage Server, read from the interaction's member
        permissions on every call; and a channel (#name, <#id> or this one) with the
        bot's permission to post there."""
        interaction = req.raw if isinstance(req.raw, discord.Interaction) else None
        if interaction is None or interaction.guild_id is None:
            return Where()
        guild = interaction.guild
        here = Where(
            community=str(interaction.guild_id),
            community_name=guild.name if guild else "",
            admin=interaction.permissions.manage_guild,
            admin_rule="members with the Manage Server permission",
            reads_text=self.reads_text,
            note=""
            if self.reads_text
            else "Discord shows a bot the text of server posts only with the Message Content "
            "intent. Enable it in the Developer Portal (Bot → Privileged Gateway Intents), "
            "then restart netcoach: it asks for that intent only while a server watches intros",
        )
        wanted = channel.strip()
        target_id = interaction.channel_id
        if wanted:
            m = re.fullmatch(r"<#(\d+)>|#?(\d{15,22})", wanted)
            if m:
                target_id = int(m[1] or m[2])
            else:
                name = wanted.lstrip("#").lower()
                channels = guild.text_channels if guild is not None else []
                found = next((c for c in channels if c.name.lower() == name), None)
                if found is None:
                    return replace(here, channel_name=wanted)
                target_id = found.id
        target = guild.get_channel_or_thread(target_id) if guild and target_id else None
        if target is None or not isinstance(target, discord.abc.Messageable):
            return replace(here, channel_name=wanted or "this channel")
        if target_id == interaction.channel_id:
            perms = interaction.app_permissions
        else:
            assert self.bot is not None and self.bot.user is not None and guild is not None
            member = guild.me or await guild.fetch_member(self.bot.user.id)
            perms = target.permissions_for(member)
        missing = [
            label
            for flag, label in (
                ("view_channel", "View Channel"),
                ("send_messages", "Send Messages"),
            )
            if not getattr(perms, flag)
        ]
        return replace(
            here,
            channel=place_ref(target_id, interaction.guild_id),
            channel_name=f"#{getattr(target, 'name', target_id)}",
            cannot_post=f"missing permission: {', '.join(missing)}" if missing else "",
        )

    async def post(self, place: PlaceRef, reply: Reply, key: str = "") -> str:
        """A post into a server channel (a community tip). Forbidden or gone: permanent, so
        the schedule stops instead of failing every day."""

        async def channel(bot: NetcoachBot) -> Any:
            found = bot.get_channel(int(place.id)) or await bot.fetch_channel(int(place.id))
            if not isinstance(found, discord.abc.Messageable):
                raise DeliveryError(f"channel {place.id} cannot hold messages", permanent=True)
            return found

        return await self._send_pages(
            channel,
            reply,
            key,
            refused="Discord refused the post (code {code}): missing permission to send "
            "messages there, or netcoach was removed from the server",
            missing="the channel is gone (code {code}), or netcoach was removed from the server",
        )

    # -- nudges -----------------------------------------------------------------------------

    async def deliver(self, user: UserRef, reply: Reply, key: str = "") -> str:
        """A nudge by DM. DMs closed (50007) or an unknown user: permanent, never retried."""
        return await self._send_pages(
            lambda bot: bot.create_dm(discord.Object(int(user.id))),
            reply,
            key,
            refused="Discord refused the DM (code {code}): DMs closed or bot blocked",
            missing="Discord user not found (code {code})",
        )

    async def _send_pages(
        self,
        channel_of: Callable[[NetcoachBot], Awaitable[Any]],
        reply: Reply,
        key: str,
        *,
        refused: str,
        missing: str,
    ) -> str:
        """Send a reply's pages where `channel_of` says; Discord's refusals become
        DeliveryErrors (permanent when retrying cannot help). `key` becomes the nonce,
        so Discord drops a repeated delivery itself."""
        bot = self.bot
        if bot is None or bot.is_closed() or bot.user is None:
            raise DeliveryError("not connected to Discord yet", retry_after=30)
        try:
            channel = await channel_of(bot)
            last: discord.Message | None = None
            for i, page in enumerate(render(reply)):
                nonce = f"{key}.{i}"[-25:] if key else None  # Discord keeps nonces 25 long
                last = await channel.send(nonce=nonce, **_message_kwargs(page))
        except discord.Forbidden as exc:
            raise DeliveryError(refused.format(code=exc.code), permanent=True) from exc
        except discord.NotFound as exc:
            raise DeliveryError(missing.format(code=exc.code), permanent=True) from exc
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited by Discord", retry_after=exc.retry_after) from exc
        except discord.HTTPException as exc:
            raise DeliveryError(f"Discord error {exc.status} (code {exc.code})") from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"could not reach Discord: {type(exc).__name__}") from exc
        return str(last.id) if last is not None else ""


def from_config(config: Config) -> DiscordAdapter:
    """Checks the token's presence and shape here, so start-up fails before any connection."""
    section = config.section("discord")
    token = str(section.get("token") or "").strip()
    if token.lower().startswith("bot "):
        token = token[4:].strip()
    if not token:
        raise ConfigError(
            f"{config.source}: Discord is enabled but {TOKEN_VAR} is not set. Put the bot token "
            f"from the Developer Portal in the {TOKEN_VAR} environment variable."
        )
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(
            f"{config.source}: {TOKEN_VAR} does not look like a Discord bot token (copy it "
            "again from Developer Portal → Bot → Reset Token)."
        )
    raw_guild = str(section.get("dev_guild_id") or "").strip()
    if raw_guild and not raw_guild.isdigit():
        raise ConfigError(f"{config.source}: discord.dev_guild_id must be a server id (digits)")
    database = str(config["database"])
    sync_state = None if database == ":memory:" else Path(database + ".discord-commands")
    return DiscordAdapter(
        token,
        dev_guild_id=int(raw_guild) if raw_guild else None,
        api_base_url=str(section.get("api_base_url") or ""),
        gateway_url=str(section.get("gateway_url") or ""),
        sync_state=sync_state,
        max_draft=int(config.section("review").get("max_chars", DEFAULT_MAX_CHARS)),
    )
