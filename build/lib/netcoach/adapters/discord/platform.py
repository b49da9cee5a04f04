"""The Discord adapter: the connection, answering interactions and DMs as the core says,
nudges and tips, and the per-request Platform (Manage Server, channel permissions).

Intents: `guilds`, `dm_messages` and `guild_messages` (none privileged): DMs to a bot carry
their text; server posts arrive without it and only count towards a tips channel's activity.
The privileged message-content intent is requested only while the core needs post text
(some server has intro coaching on; read at start-up, see docs/community.md). Commands in
servers arrive as interactions, whose payloads carry what they need.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from netcoach.adapters.toolkit import (
    DEFAULT_BACKOFF,
    Backoff,
    DraftMemory,
    confirm,
    delivering,
    refuse,
    wait_to_retry,
)
from netcoach.bot.config import Config, ConfigError
from netcoach.bot.kernel import (
    ALONE,
    Coach,
    Command,
    DeliveryError,
    PlaceRef,
    Reply,
    Request,
    UserRef,
    Where,
    Workers,
)

from . import PLATFORM, TOKEN_VAR
from .commands import MAX_MODAL_TEXT, app_commands_for
from .inbound import interaction_request, place_ref, to_request
from .render import MAX_CONTENT, NO_MENTIONS, ActionButton, files_of, message_kwargs, render

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAIT = 60.0  # seconds
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_.\-]{20,200}")
_MENTION = re.compile(r"(?<![\w.])@\w|<[@#][!&]?\d+>")
_CHANNEL = re.compile(r"<#\d+>|#?\d{15,22}")


async def _unused(req: Request) -> list[Reply]:  # /help is answered by the router itself
    return []


@dataclass(frozen=True, slots=True)
class DiscordPlatform:
    """What Discord can tell the core about one request (from its interaction, if any)."""

    adapter: DiscordAdapter
    interaction: discord.Interaction | None = None
    max_text: int = MAX_CONTENT

    def is_channel(self, word: str) -> bool:
        return word.startswith("#") or _CHANNEL.fullmatch(word) is not None

    def mentions(self, text: str) -> bool:
        return _MENTION.search(text) is not None

    async def where(self, channel: str = "") -> Where:
        """The server of a slash command: Manage Server, read from the interaction's member
        permissions on every call; and a channel (#name, <#id> or this one) with the
        bot's permission to post there."""
        interaction = self.interaction
        if interaction is None or interaction.guild_id is None:
            return Where()
        guild = interaction.guild
        here = Where(
            community=str(interaction.guild_id),
            community_name=guild.name if guild else "",
            admin=interaction.permissions.manage_guild,
            admin_rule="members with the Manage Server permission",
            reads_text=self.adapter.reads_text,
            note=""
            if self.adapter.reads_text
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
            bot = self.adapter.bot
            assert bot is not None and bot.user is not None and guild is not None
            member = guild.me or await guild.fetch_member(bot.user.id)
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


class _Unreachable(Exception):
    """Discord could not be reached, or a session ended in a way worth retrying."""

    def __init__(self, bot: discord.Client, reason: str, wait: float = 0.0):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait  # at least this long before the next try (a 429's retry_after)
        self.connected = bot.is_ready()  # the session had worked


def _is_unreachable(exc: BaseException) -> bool:
    """Failures that retrying can fix: no route, DNS, time-outs, Discord's 5xx and 429s."""
    if isinstance(exc, discord.DiscordServerError | discord.RateLimited | discord.GatewayNotFound):
        return True
    if isinstance(exc, discord.HTTPException):
        return exc.status in (408, 429) or exc.status >= 500
    return isinstance(exc, OSError | TimeoutError | aiohttp.ClientError)


def _reason(exc: BaseException) -> str:
    """A short, token-free reason for the log line."""
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class NetcoachBot(commands.Bot):
    """commands.Bot that knows its adapter, so buttons and the modal can reach the coach."""

    def __init__(self, adapter: DiscordAdapter, **kwargs: Any):
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **kwargs)
        self.adapter = adapter

    async def setup_hook(self) -> None:
        await self.adapter.setup(self)

    async def on_message(self, message: discord.Message) -> None:  # no prefix commands
        await self.adapter.on_message(message)


class NetcoachShardedBot(commands.AutoShardedBot):
    """The same bot running a subset of the shards (`shard_ids` of `shard_count`)."""

    def __init__(self, adapter: DiscordAdapter, **kwargs: Any):
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **kwargs)
        self.adapter = adapter

    async def setup_hook(self) -> None:
        await self.adapter.setup(self)  # type: ignore[arg-type]

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:  # Discord allows one IDENTIFY per 5 s (max_concurrency 1)
            await asyncio.sleep(self.adapter.identify_spacing)


class DiscordAdapter:
    platform = PLATFORM
    reads_text = False  # whether this connection asked for the message-content intent

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
        shards: int | str | None = None,  # None: unsharded; "auto": Discord's recommendation
        identify_spacing: float = 5.0,
        startup_backoff: tuple[float, float] = DEFAULT_BACKOFF,
    ):
        self.token = token
        self.dev_guild_id = dev_guild_id
        self.api_base_url = api_base_url.rstrip("/")
        self.gateway_url = gateway_url
        self.sync_state = sync_state
        self.max_draft = max(1, min(max_draft, MAX_MODAL_TEXT))
        self.guild_ready_timeout = guild_ready_timeout
        self.startup_backoff = startup_backoff  # the first and the longest wait to reconnect
        self.shards = shards
        self.identify_spacing = identify_spacing
        self.shard_ids: list[int] = []  # the shards this worker runs now (sharded only)
        # Several workers on one database hand the shards out through it (set by the app).
        self.workers: Workers = ALONE
        self.shard_renew_seconds = 10.0
        self.coach: Coach | None = None
        self.bot: NetcoachBot | None = None
        self.synced = False  # whether the last start-up pushed commands to Discord
        # Drafts behind reviews that cannot be read back (ephemeral ones, answers to a typed
        # /review): memory only, bounded, gone on restart.
        self._drafts = DraftMemory()

    def __repr__(self) -> str:  # never show the token
        return f"DiscordAdapter(dev_guild_id={self.dev_guild_id!r})"

    # -- lifecycle ------------------------------------------------------------------------

    def make_bot(self, sharded: bool = False) -> NetcoachBot:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        intents = discord.Intents.none()
        intents.guilds = True  # guild metadata for interactions in servers
        intents.dm_messages = True  # DMs are drafts; their text needs no privileged intent
        intents.guild_messages = True  # server posts: tips wait for activity (no text needed)
        intents.message_content = self.reads_text  # only while a server watches intros
        kind: Any = NetcoachShardedBot if sharded else NetcoachBot
        return kind(
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
        """Log in, sync commands if they changed, and serve until cancelled. Discord out of
        reach (at start-up, or a session that ended) is retried with capped backoff, one
        line each time; a rejected token or a refused intent ends this platform alone.
        Sharded, this worker runs the shards the database hands it, and reconnects with a
        new set when that changes (a worker joined, or one died and its shards were taken
        over)."""
        self.coach = coach
        self._apply_endpoints()
        self.reads_text = await coach.reads_posts(PLATFORM)
        backoff = Backoff(*self.startup_backoff)
        while True:
            try:
                if self.shards is None:
                    await self._serve(self.make_bot())
                else:
                    await self._serve_shards()
                return  # closed on purpose
            except _Unreachable as exc:
                if exc.connected:
                    backoff.reset()  # it worked for a while: start again from the first wait
                failed = exc
            await wait_to_retry(PLATFORM, "Discord", failed.reason, backoff, at_least=failed.wait)

    async def _serve_shards(self) -> None:
        shards = self.shards
        assert shards is not None
        while True:
            bot = self.make_bot(sharded=True)
            await self._login(bot)
            total = int(shards) if str(shards).isdigit() else 0
            if not total:  # "auto": Discord says how many
                try:
                    async with self._reaching(bot):
                        total, _, _ = await bot.http.get_bot_gateway()
                except BaseException:
                    await bot.close()
                    raise
            await self.workers.shard_ids(PLATFORM, total)  # announce this worker first
            await asyncio.sleep(self.shard_renew_seconds / 2)  # so workers starting together share
            ids = await self.workers.shard_ids(PLATFORM, total)
            while not ids:  # every shard is someone else's: stand by
                await bot.close()
                await asyncio.sleep(self.shard_renew_seconds)
                ids = await self.workers.shard_ids(PLATFORM, total)
                bot = self.make_bot(sharded=True)
                await self._login(bot)
            bot.shard_ids, bot.shard_count = ids, total  # type: ignore[attr-defined]
            self.shard_ids = ids
            log.info("discord: running shards %s of %d", ids, total)
            serving = asyncio.create_task(self._serve(bot, logged_in=True))
            try:
                while not serving.done():
                    done, _ = await asyncio.wait({serving}, timeout=self.shard_renew_seconds)
                    if done:
                        break
                    if await self.workers.shard_ids(PLATFORM, total) != ids:
                        log.info("discord: the shards were handed out anew; reconnecting")
                        break
            finally:
                if not serving.done():
                    serving.cancel()
                await asyncio.gather(serving, return_exceptions=True)
            if serving.done() and not serving.cancelled() and serving.exception() is not None:
                raise serving.exception()  # type: ignore[misc]

    async def _login(self, bot: NetcoachBot) -> None:
        """Log in (REST); the bot is closed again when that fails."""
        try:
            async with self._reaching(bot):
                try:
                    await bot.login(self.token)
                except discord.LoginFailure:
                    raise ConfigError(
                        f"Discord rejected the bot token in {TOKEN_VAR}. Reset the token in the "
                        "Developer Portal (Bot → Reset Token) and set it again."
                    ) from None
        except BaseException:
            await bot.close()
            raise

    async def _serve(self, bot: NetcoachBot, *, logged_in: bool = False) -> None:
        """One gateway session; discord.py resumes a dropped session itself."""
        self.bot = bot
        try:
            if not logged_in:
                await self._login(bot)
            async with self._reaching(bot):
                await bot.connect(reconnect=True)
        finally:
            await bot.close()
            if self.bot is bot:
                self.bot = None

    @contextlib.asynccontextmanager
    async def _reaching(self, bot: NetcoachBot) -> AsyncIterator[None]:
        """Discord's failures, sorted: what retrying can fix (no route, DNS, time-outs,
        5xx, 429, a gateway that closed) leaves as _Unreachable; a refused intent or a
        token the gateway rejects as a ConfigError; anything else as it is (a bug)."""
        try:
            yield
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
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                raise ConfigError(
                    f"Discord rejected the bot token in {TOKEN_VAR} (gateway code 4004). Reset "
                    "the token in the Developer Portal (Bot → Reset Token) and set it again."
                ) from None
            if exc.code in (4010, 4011, 4012, 4013):
                raise ConfigError(
                    f"Discord closed the gateway with code {exc.code} ({exc.reason or 'refused'})"
                    "; netcoach cannot serve Discord as configured."
                ) from None
            raise _Unreachable(bot, f"gateway closed with code {exc.code}") from None
        except AttributeError as exc:
            # discord.py cannot retry a first gateway connection that failed: its reconnect
            # loop reads the session of a websocket it never had. That is "unreachable".
            cause = exc.__context__
            never = getattr(bot, "ws", None) is None
            if never and cause is not None and _is_unreachable(cause):
                raise _Unreachable(bot, _reason(cause)) from None
            raise
        except ConfigError:
            raise
        except Exception as exc:
            if _is_unreachable(exc):
                wait = exc.retry_after if isinstance(exc, discord.RateLimited) else 0.0
                raise _Unreachable(bot, _reason(exc), wait) from None
            raise

    async def setup(self, bot: NetcoachBot) -> None:
        """Runs after login, before the gateway: buttons, commands, and the sync if needed."""
        bot.add_dynamic_items(ActionButton)
        assert self.coach is not None
        help_command = Command("help", "", "what netcoach can do", "help", _unused)
        for command in app_commands_for([*self.coach.commands.values(), help_command], self):
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

    # -- answering ------------------------------------------------------------------------

    def request(
        self,
        interaction: discord.Interaction,
        command: str,
        values: Mapping[str, Any],
        text: str = "",
    ) -> Request:
        platform = DiscordPlatform(self, interaction)
        return interaction_request(interaction, command, values, platform, text)

    async def answer(self, interaction: discord.Interaction, req: Request) -> None:
        assert self.coach is not None
        await self.respond(interaction, await self.coach.handle(req))

    async def on_press(self, interaction: discord.Interaction, action: str) -> None:
        """A button: the coach gets the action, and the draft a review's buttons refer to."""
        assert self.coach is not None
        draft = await self._draft_behind(interaction.message)
        req = self.request(interaction, "press", {"draft": draft}, text=action)
        await self.respond(interaction, await self.coach.handle(req), pressed=True)

    async def respond(
        self, interaction: discord.Interaction, replies: Iterable[Reply], *, pressed: bool = False
    ) -> None:
        """Replies to an interaction: the first answers it (in place of the pressed message
        when the core says so), the rest follow; private ones are ephemeral in servers (in a
        DM only the user sees them anyway); dm_only ones go to the user's DMs."""
        in_guild = interaction.guild_id is not None
        first = True
        for reply in replies:
            if reply.dm_only:
                await self._dm(interaction.user, reply)
                continue
            message_id: int | None = None
            ephemeral = reply.private and in_guild
            pages = render(reply)
            in_place = pressed and reply.edit_pressed and interaction.message is not None
            for number, page in enumerate(pages, start=1):
                message_id = None
                files = files_of(reply) if number == len(pages) else []
                if first and in_place and interaction.message is not None:
                    await interaction.response.edit_message(**message_kwargs(page, editing=True))
                    message_id = interaction.message.id
                elif not interaction.response.is_done():
                    sent = await interaction.response.send_message(
                        ephemeral=ephemeral, files=files, **message_kwargs(page)
                    )
                    message_id = sent.message_id
                else:
                    msg = await interaction.followup.send(
                        ephemeral=ephemeral, wait=True, files=files, **message_kwargs(page)
                    )
                    message_id = msg.id
                first = False
                if page.view is not None and message_id is not None:
                    self._drafts.keep("", str(message_id), reply.draft)
            await confirm(reply, message_id if message_id is not None else interaction.id)
        if first and not interaction.response.is_done():
            await interaction.response.defer()

    async def _dm(self, user: discord.User | discord.Member, reply: Reply) -> None:
        try:
            sent = None
            for page in render(reply):
                sent = await user.send(**message_kwargs(page))
        except discord.HTTPException as exc:  # DMs closed: let it be
            log.info("could not send a private note: %s", exc)
            await refuse(reply, f"Discord refused the DM (code {exc.code})")
            return
        await confirm(reply, sent.id if sent is not None else "")

    async def _draft_behind(self, message: discord.Message | None) -> str:
        """The draft a review message answered: kept, or the DM it replied to."""
        if message is None:
            return ""
        if kept := self._drafts.recall("", str(message.id)):
            return kept
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
        """A DM (a draft, or a typed /command) or a server post the core only observes.
        Answers to a DM reply to it, so its "review as…" buttons can find the draft again,
        even after a restart; a server post is never answered in the channel."""
        if self.coach is None:
            return
        req = to_request(message, DiscordPlatform(self))
        if req is None:
            return
        replies = await self.coach.handle(req)
        if message.guild is not None:
            await self._answer_observed(message, replies)
            return
        reference = message.to_reference(fail_if_not_exists=False)
        for reply in replies:
            pages = render(reply)
            for number, page in enumerate(pages, start=1):
                files = files_of(reply) if number == len(pages) else []  # a /mydata export
                sent = await message.channel.send(
                    reference=reference, files=files, **message_kwargs(page)
                )
                if page.view is not None and reply.draft != message.content:
                    self._drafts.keep("", str(sent.id), reply.draft)  # typed /review: not a draft
            await confirm(reply, sent.id)

    async def _answer_observed(self, message: discord.Message, replies: Iterable[Reply]) -> None:
        for reply in replies:
            try:
                if reply.kind == "reaction":
                    await message.add_reaction(reply.text)
                elif reply.dm_only:
                    for page in render(reply):
                        await message.author.send(**message_kwargs(page))
            except discord.HTTPException as exc:  # DMs closed, no reaction right: let it be
                log.info("could not answer a server post privately: %s", exc)

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
            raise DeliveryError("not connected to Discord yet", outage=True)

        def classify(exc: Exception) -> DeliveryError | None:
            if isinstance(exc, discord.Forbidden):
                return DeliveryError(refused.format(code=exc.code), permanent=True)
            if isinstance(exc, discord.NotFound):
                return DeliveryError(missing.format(code=exc.code), permanent=True)
            if isinstance(exc, discord.RateLimited):
                return DeliveryError("rate limited by Discord", retry_after=exc.retry_after)
            if isinstance(exc, discord.HTTPException):
                down = exc.status >= 500  # Discord is having trouble, not this message
                return DeliveryError(f"Discord error {exc.status} (code {exc.code})", outage=down)
            if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
                # The request left and no answer came: it may have gone through.
                reason = f"no answer from Discord: {type(exc).__name__}"
                return DeliveryError(reason, uncertain=True)
            if isinstance(exc, aiohttp.ClientError | OSError):  # refused, DNS, reset
                return DeliveryError(f"could not reach Discord: {type(exc).__name__}", outage=True)
            return None

        last: discord.Message | None = None
        async with delivering(classify):
            channel = await channel_of(bot)
            for i, page in enumerate(render(reply)):
                nonce = f"{key}.{i}"[-25:] if key else None  # Discord keeps nonces 25 long
                last = await channel.send(nonce=nonce, **message_kwargs(page))
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
    raw_shards = str(section.get("shards") or "").strip().lower()
    if raw_shards not in ("", "auto") and not (raw_shards.isdigit() and int(raw_shards) > 0):
        raise ConfigError(f"{config.source}: discord.shards must be auto or a number of shards")
    raw_guild = str(section.get("dev_guild_id") or "").strip()
    if raw_guild and not raw_guild.isdigit():
        raise ConfigError(f"{config.source}: discord.dev_guild_id must be a server id (digits)")
    database = str(config["database"])
    # The hash of the last command sync, next to an SQLite file; with a shared database
    # (PostgreSQL, several workers) none is kept and each start-up syncs.
    on_file = database != ":memory:" and "://" not in database
    sync_state = Path(database + ".discord-commands") if on_file else None
    return DiscordAdapter(
        token,
        dev_guild_id=int(raw_guild) if raw_guild else None,
        api_base_url=str(section.get("api_base_url") or ""),
        gateway_url=str(section.get("gateway_url") or ""),
        sync_state=sync_state,
        max_draft=int(config.section("review")["max_chars"]),
        shards=(int(raw_shards) if raw_shards.isdigit() else raw_shards) or None,
    )
