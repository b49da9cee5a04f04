"""The Telegram adapter: polling, answering where the core says, nudges and tips, and the
per-request Platform (who administers a group, what the bot may see and do there)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from netcoach.adapters.toolkit import (
    DEFAULT_BACKOFF,
    Backoff,
    DraftMemory,
    Recent,
    SentKeys,
    confirm,
    delivering,
    refuse,
    wait_to_retry,
)
from netcoach.bot.config import Config, ConfigError
from netcoach.bot.kernel import (
    ALONE,
    OFFLINE,
    Coach,
    DeliveryError,
    PlaceRef,
    Platform,
    Reply,
    Request,
    UserRef,
    Where,
    Workers,
)

from . import PLATFORM, TOKEN_VAR
from .inbound import draft_of, observed, place_ref, to_request, user_ref
from .render import MAX_TEXT, REACTIONS, render_pages, start_privately

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_MENTION = re.compile(r"(?<![\w.])@\w")
_CHAT_ID = re.compile(r"-?\d{6,}")
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_T = TypeVar("_T")
ADMIN_STATUSES = ("creator", "administrator")


def check_token(token: str) -> str:
    """The token, or a ConfigError naming the variable (the token itself is never shown)."""
    token = (token or "").strip()
    if not token:
        raise ConfigError(
            f"Telegram is enabled but {TOKEN_VAR} is not set. Create a bot with @BotFather, "
            f"then `export {TOKEN_VAR}=<the token it gives you>` (or set telegram.enabled: false)."
        )
    if not _TOKEN.match(token):
        raise ConfigError(
            f"{TOKEN_VAR} does not look like a Telegram bot token (digits, a colon, then at "
            "least 30 letters, digits, '_' or '-'). Copy it again from @BotFather."
        )
    return token


_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, slots=True)
class Webhook:
    """Telegram posts updates to `url`; netcoach listens on listen:port at url's path."""

    url: str
    listen: str = "0.0.0.0"
    port: int = 8443
    secret_token: str = ""

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.url).path.lstrip("/")


def from_config(config: Config) -> TelegramAdapter:
    """The adapter for `netcoach run`; fails fast on a missing or malformed token."""
    section = config.section("telegram")
    hook = section["webhook"]
    webhook = None
    if str(hook["url"]).strip():
        url, secret = str(hook["url"]).strip(), str(hook["secret_token"]).strip()
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{config.source}: telegram.webhook.url must be an https:// URL")
        if not secret or not _SECRET.match(secret):
            raise ConfigError(
                f"{config.source}: telegram.webhook.secret_token must be set (1-256 letters, "
                "digits, _ or -), e.g. ${TELEGRAM_WEBHOOK_SECRET}: it is how netcoach knows "
                "a post came from Telegram"
            )
        webhook = Webhook(url, str(hook["listen"]), int(hook["port"]), secret)
    return TelegramAdapter(
        check_token(section.get("token", "")), base_url=section["base_url"], webhook=webhook
    )


@dataclass(frozen=True, slots=True)
class TelegramPlatform:
    """What Telegram can tell the core about one request: asked of the Bot API on demand."""

    adapter: TelegramAdapter
    user: UserRef
    place: PlaceRef
    title: str = ""  # the group's title, when the request came from a group
    max_text: int = MAX_TEXT

    def is_channel(self, word: str) -> bool:
        """A group named in a command: "#its title", "@username" or its chat id."""
        return word.startswith(("#", "@")) or _CHAT_ID.fullmatch(word) is not None

    def mentions(self, text: str) -> bool:
        return _MENTION.search(text) is not None

    async def where(self, channel: str = "") -> Where:
        """The group a command came from (or the chat named by @username or id): whether the
        sender is its creator or an administrator (asked with getChatMember on every call),
        and whether the bot may post there and sees its ordinary messages."""
        place, user, call = self.place, self.user, self.adapter._call
        if place.kind != "group":
            return Where()
        bot = await self.adapter._bot()
        member = await call(lambda: bot.get_chat_member(int(place.id), int(user.id)))
        here = Where(
            community=place.id,
            community_name=self.title,
            admin=member.status in ADMIN_STATUSES,
            admin_rule="the group's creator and administrators",
        )
        target: int | str = int(place.id)
        name = here.community_name or "this group"
        if channel.strip() and channel.strip() not in (place.id, f"#{name}"):
            wanted = channel.strip().lstrip("#")
            try:
                chat = await call(
                    lambda: bot.get_chat(int(wanted) if wanted.lstrip("-").isdigit() else wanted)
                )
            except TelegramError:
                return replace(here, channel_name=channel.strip())
            target, name = chat.id, chat.title or chat.username or str(chat.id)
            if str(chat.id) != place.id:
                # Settings belong to the group they act on: the sender must administer
                # *that* group, asked of the platform now, not the group they typed in.
                here = await self._other_group(bot, chat.id, name, user.id)
        try:
            mine = await call(lambda: bot.get_chat_member(target, bot.id))
        except TelegramError as exc:
            return replace(here, channel_name=name, note=exc.message)
        problem = ""
        if mine.status in ("left", "kicked"):
            problem = "I am not a member of it; add me first"
        elif mine.status == "restricted" and getattr(mine, "can_send_messages", True) is False:
            problem = "missing permission: Send Messages"
        sees = bool(bot.can_read_all_group_messages) or mine.status == "administrator"
        return replace(
            here,
            channel=PlaceRef(PLATFORM, str(target), "group"),
            channel_name=name,
            cannot_post=problem,
            sees_posts=sees,
            note=""
            if sees
            else "Telegram's privacy mode hides ordinary group messages from bots. Make me an "
            "administrator of the group, or turn privacy mode off in @BotFather (/setprivacy), "
            "then remove and re-add me",
        )

    async def _other_group(self, bot: Any, chat_id: int, name: str, uid: str) -> Where:
        """A group named in a command typed elsewhere, with the sender's own standing in it;
        any doubt (not a member, the lookup refused) counts as not an administrator."""
        try:
            member = await self.adapter._call(lambda: bot.get_chat_member(chat_id, int(uid)))
            admin = member.status in ADMIN_STATUSES
        except TelegramError:
            admin = False
        return Where(
            community=str(chat_id),
            community_name=name,
            admin=admin,
            admin_rule=f"the creator and administrators of {name}",
        )


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates from different chats run concurrently; one chat's run in arrival order.

    Sequential processing would cap the bot at one update per Bot API round trip (10-20 a
    second against the real Telegram); full concurrency could review an edit before the
    draft it edits. Tasks start in arrival order, and asyncio locks are FIFO. Four in flight
    reach Telegram's own 30 messages/s limit at usual round-trip times; more only adds
    httpcore's per-connection bookkeeping (measured in bench/telegram_bench.py).
    """

    def __init__(self, max_concurrent_updates: int = 4):
        # PTB's own semaphore is taken before our per-chat lock, so a busy chat waiting on
        # its lock would hold a slot; let PTB admit many, and bound the work after the lock.
        super().__init__(256)
        self._work = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key: object = None
        if isinstance(update, Update):
            chat, user = update.effective_chat, update.effective_user
            key = chat.id if chat else user.id if user else None
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._work:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]  # idle chats cost nothing
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


SCHEDULED = -1  # rate_limit_args of a scheduled send: one try, a 429 goes back to the scheduler


class ReplyFirstRateLimiter(AIORateLimiter):
    """AIORateLimiter, except for scheduled sends (nudges, tips): a 429 there is raised at
    once instead of waited out. Waiting it out would pause every other request behind it
    (AIORateLimiter holds all calls while it sleeps), so one nudge's back-off would make
    people waiting for a reply wait too; the scheduler moves the nudge's due time instead."""

    async def process_request(
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args != SCHEDULED:
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        group: int | str | bool = False
        if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str):
            group = chat_id
        return await self._run_request(
            chat=chat_id is not None,
            group=group,
            allow_paid_broadcast=data.get("allow_paid_broadcast", False),
            callback=callback,
            args=args,
            kwargs=kwargs,
        )


def _retry_is_safe(exc: BaseException) -> bool:
    """A network error after which the request surely did not take effect (so a retry
    cannot send twice): connection failures, pool time-outs, 5xx from the server."""
    if isinstance(exc, BadRequest) or not isinstance(exc, NetworkError):
        return False
    if isinstance(exc, TimedOut):
        return isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout) or (
            "Pool timeout" in exc.message
        )
    return True


class TelegramAdapter:
    platform = PLATFORM

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "",
        poll_timeout: float = 10.0,
        retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
        startup_backoff: tuple[float, float] = DEFAULT_BACKOFF,
        rate_limits: tuple[float, float] = (30.0, 20.0),
        max_rate_retries: int = 3,
        ready_timeout: float = 30.0,
        memory: int = 1000,
        concurrency: int = 4,
        webhook: Webhook | None = None,
    ):
        self.token = check_token(token)
        self.base_url = base_url.strip()
        self.poll_timeout = poll_timeout
        self.retry_delays = tuple(retry_delays)
        self.startup_backoff = startup_backoff
        self.rate_limits = rate_limits  # messages/s overall, messages/min per group (0 = off)
        self.max_rate_retries = max_rate_retries
        self.ready_timeout = ready_timeout
        self.concurrency = concurrency  # updates in flight at once, from different chats
        self.webhook = webhook
        self.username = ""
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.ready = asyncio.Event()
        self._coach: Coach | None = None
        self._answers: Recent[tuple[int, int], int] = Recent(memory)  # (chat, trigger) -> answer
        self._drafts = DraftMemory(memory)  # drafts behind reviews that cannot read them back
        self._sent_keys = SentKeys(memory)
        self._unrecorded_until = float("-inf")  # when to report a failing dedupe again
        # Several workers on one database: one polls at a time, and an update a dead poller
        # fetched but did not confirm is not handled again (set by the app).
        self.workers: Workers = ALONE
        self.polling = False
        httpx_log = logging.getLogger("httpx")
        if httpx_log.getEffectiveLevel() < logging.WARNING:
            httpx_log.setLevel(logging.WARNING)  # httpx logs URLs, and URLs hold the token

    # -- lifecycle ---------------------------------------------------------------------------

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        overall, per_group = self.rate_limits
        builder = (
            ApplicationBuilder()
            .token(self.token)
            .rate_limiter(
                ReplyFirstRateLimiter(
                    overall_max_rate=overall,
                    group_max_rate=per_group,
                    max_retries=self.max_rate_retries,
                )
            )
            .get_updates_read_timeout(self.poll_timeout + 10)
            .concurrent_updates(ChatOrderedProcessor(self.concurrency))
        )
        if self.base_url:
            builder = builder.base_url(self.base_url)
            if self.base_url.endswith("/bot"):
                builder = builder.base_file_url(self.base_url[: -len("bot")] + "file/bot")
        app = builder.build()
        app.add_handler(TypeHandler(Update, self._first_time), group=-1)
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGES & filters.TEXT, self._on_message)
        )
        app.add_handler(CallbackQueryHandler(self._on_press))
        app.add_error_handler(self._on_error)
        return app

    async def run(self, coach: Coach) -> None:
        """Poll Telegram until cancelled; every connection is closed in `finally`. Sending
        (nudges, tips) works at once; polling starts once this worker leads (one getUpdates
        consumer per bot: the others stand by and take over when it dies)."""
        self._coach = coach
        app = self.application = self._build()
        try:
            await self._retrying(app.initialize)
            await app.start()
            self.username = app.bot.username
            await self._set_commands(app, coach)
            self.ready.set()
            if self.webhook is not None:  # every worker takes the updates posted to it
                await self._retrying(lambda: self._start_webhook(app))
                log.info("telegram: serving as @%s; updates by webhook", self.username)
            else:
                await self.workers.lead("telegram:getUpdates")
                await self._retrying(lambda: self._start_polling(app))
                self.polling = True
                log.info("telegram: serving as @%s; this worker polls for updates", self.username)
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self.ready.clear()
            self.polling = False
            await self._stop(app)

    async def _start_polling(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await app.updater.start_polling(  # type: ignore[union-attr]
            poll_interval=0,
            timeout=int(self.poll_timeout),
            allowed_updates=["message", "edited_message", "callback_query"],
            error_callback=self._on_poll_error,
        )

    async def _start_webhook(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        hook = self.webhook
        assert hook is not None
        await app.updater.start_webhook(  # type: ignore[union-attr]
            listen=hook.listen,
            port=hook.port,
            url_path=hook.path,
            webhook_url=hook.url,
            secret_token=hook.secret_token,
            allowed_updates=["message", "edited_message", "callback_query"],
        )

    async def _first_time(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Drop an update another poller (or this one before a restart) already handled.
        When the database cannot record it (locked, full, read-only) the update is handled
        anyway, and that is logged once a minute at most, not once per update."""
        try:
            first = await self.workers.first_time(PLATFORM, update.update_id)
        except Exception as exc:
            now = time.monotonic()
            if now >= self._unrecorded_until:
                self._unrecorded_until = now + 60.0
                log.error(
                    "telegram: cannot record updates as handled (%s: %s); handling them "
                    "anyway; the next report comes in 60 s at the earliest",
                    type(exc).__name__,
                    exc,
                )
            return
        if not first:
            log.info("telegram: update %d was already handled; skipped", update.update_id)
            raise ApplicationHandlerStop

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        """getMe, or start polling: network trouble is retried with backoff, a bad token
        is not."""
        backoff = Backoff(*self.startup_backoff)
        while True:
            try:
                await step()
                return
            except InvalidToken:
                raise ConfigError(
                    f"Telegram rejected the token in {TOKEN_VAR} (unauthorized). Check it with "
                    "@BotFather (/mybots → API Token) and set it again."
                ) from None
            except RetryAfter as exc:  # flood control at start-up: wait as long as asked
                wait = exc.retry_after
                seconds = float(wait if isinstance(wait, int | float) else wait.total_seconds())
                reason = f"rate limited for {seconds:g} s"
                await wait_to_retry(PLATFORM, "the Bot API", reason, backoff, at_least=seconds)
            except NetworkError as exc:
                if isinstance(exc, BadRequest):
                    raise
                await wait_to_retry(PLATFORM, "the Bot API", self._redact(str(exc)), backoff)

    async def _stop(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        steps: list[Callable[[], Awaitable[None]]] = []
        if app.updater is not None and app.updater.running:
            steps.append(app.updater.stop)
        if app.running:
            steps.append(app.stop)
        steps += [app.shutdown, app.bot.shutdown]  # bot.shutdown: if initialize() half-failed
        for step in steps:
            try:
                await step()
            except Exception as exc:  # keep going: the rest must still be closed
                log.warning("telegram: shutdown step failed: %s", self._redact(str(exc)))

    async def _set_commands(
        self, app: Application[Any, Any, Any, Any, Any, Any], coach: Coach
    ) -> None:
        """The command menu, from the core's registry, for private chats and groups."""
        entries = [(c.name, c.summary) for c in coach.commands.values()]
        entries += [("help", "what I can do"), ("start", "what netcoach is and how to begin")]
        commands = [
            BotCommand(name, summary[:256] or name)
            for name, summary in sorted(set(entries))
            if _COMMAND_NAME.match(name)
        ]
        group = [c for c in commands if c.command != "start"]
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
            await app.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())
        except TelegramError as exc:  # the menu is a convenience: serve without it
            log.warning("telegram: could not set the command menu: %s", self._redact(str(exc)))

    def _redact(self, text: str) -> str:
        return text.replace(self.token, "<TELEGRAM_BOT_TOKEN>")

    def _on_poll_error(self, exc: TelegramError) -> None:
        log.warning("telegram: polling failed (%s); retrying", self._redact(str(exc)))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        exc = context.error
        log.error(
            "telegram: handling an update failed: %s: %s",
            type(exc).__name__,
            self._redact(str(exc)),
            exc_info=(type(exc), exc, exc.__traceback__) if exc else None,
        )

    # -- sending -----------------------------------------------------------------------------

    async def _bot(self) -> Any:
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self.ready_timeout)
            except TimeoutError:
                raise DeliveryError("telegram is not connected yet", outage=True) from None
        assert self.application is not None
        return self.application.bot

    async def _call(self, fn: Callable[[], Awaitable[_T]]) -> _T:
        """One Bot API call; safe network failures retried with backoff (429s are retried
        by AIORateLimiter inside the call)."""
        for delay in (*self.retry_delays, None):
            try:
                return await fn()
            except NetworkError as exc:
                if delay is None or not _retry_is_safe(exc):
                    raise
                log.info("telegram: %s; retrying in %g s", self._redact(str(exc)), delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _send(
        self, chat_id: int, reply: Reply, reply_to: int | None = None, *, scheduled: bool = False
    ) -> list[Message]:
        bot = await self._bot()
        limits = {"rate_limit_args": SCHEDULED} if scheduled else {}
        sent: list[Message] = []
        for text, markup in render_pages(reply):
            params = (
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            )
            send = partial(
                bot.send_message,
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=params,
                link_preview_options=_NO_PREVIEW,
                **limits,
            )
            sent.append(await self._call(send))
        for attachment in reply.attachments:  # a data export: a document in the same chat
            upload = partial(
                bot.send_document, chat_id, attachment.data, filename=attachment.filename, **limits
            )
            sent.append(await self._call(upload))
        return sent

    async def _edit(self, chat_id: int, message_id: int, reply: Reply) -> bool:
        """Edit a message in place; False when it cannot be (gone, or too long for one)."""
        pages = render_pages(reply)
        if len(pages) != 1:
            return False
        text, markup = pages[0]
        bot = await self._bot()
        try:
            await self._call(
                lambda: bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=_NO_PREVIEW,
                )
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            log.info("telegram: cannot edit message %s: %s", message_id, exc.message)
            return False
        return True

    async def deliver(self, user: UserRef, reply: Reply, key: str = "") -> str:
        """A nudge to the user's private chat. 403 (blocked, never started) is permanent."""
        return await self._send_once(int(user.id), reply, key, bad_request_is_final=False)

    # -- communities -------------------------------------------------------------------------

    async def post(self, place: PlaceRef, reply: Reply, key: str = "") -> str:
        """A post into a group (a community tip). Removed from the group, or no right to
        write there: permanent, so the schedule stops instead of failing every day."""
        return await self._send_once(int(place.id), reply, key, bad_request_is_final=True)

    async def _send_once(
        self, chat_id: int, reply: Reply, key: str, *, bad_request_is_final: bool
    ) -> str:
        """Send unless `key` was already delivered; Telegram's refusals become
        DeliveryErrors, permanent when retrying cannot help (blocked, removed, no chat)."""
        if (seen := self._sent_keys.sent(key)) is not None:
            return seen

        def classify(exc: Exception) -> DeliveryError | None:
            if isinstance(exc, Forbidden):
                return DeliveryError(f"telegram: {exc.message}", permanent=True)
            if isinstance(exc, BadRequest):
                final = bad_request_is_final or "chat not found" in exc.message.lower()
                return DeliveryError(f"telegram: {exc.message}", permanent=final)
            if isinstance(exc, RetryAfter):
                wait = exc.retry_after
                seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
                return DeliveryError("telegram: rate limited", retry_after=float(seconds))
            if isinstance(exc, TimedOut) and not _retry_is_safe(exc):
                # The request left and no answer came: it may have gone through.
                return DeliveryError(f"telegram: {exc.message}", uncertain=True)
            if isinstance(exc, NetworkError):  # 5xx, refused connection, DNS: Telegram is down
                return DeliveryError(f"telegram: {self._redact(str(exc))}", outage=True)
            if isinstance(exc, TelegramError):
                return DeliveryError(f"telegram: {self._redact(str(exc))}")
            return None

        async with delivering(classify):
            sent = await self._send(chat_id, reply, scheduled=True)
        message_id = str(sent[-1].message_id)
        self._sent_keys.record(key, message_id)
        return message_id

    async def _react(self, message: Message, emoji: str) -> None:
        """A reaction on the message the core answered; a refusal is not worth an error."""
        bot = await self._bot()
        try:
            await self._call(
                lambda: bot.set_message_reaction(
                    message.chat_id, message.message_id, REACTIONS.get(emoji, emoji)
                )
            )
        except TelegramError as exc:
            log.info("telegram: cannot react to a message: %s", exc.message)

    # -- receiving ---------------------------------------------------------------------------

    # -- receiving ---------------------------------------------------------------------------

    def _platform(self, update: Update) -> Platform:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return OFFLINE
        title = (chat.title or "") if chat.type != "private" else ""
        return TelegramPlatform(self, user_ref(user), place_ref(chat), title)

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message or an edit: ask the core, then answer where the core said."""
        if self._coach is None:
            return
        platform = self._platform(update)
        commands = self._coach.commands
        req = to_request(update, self.username, commands, platform) or observed(update, platform)
        message = update.effective_message
        if req is None or message is None:
            return
        replies = await self._coach.handle(req)
        await self._answer(req, replies, message, edited=update.edited_message is not None)

    async def _on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button: stop the spinner, then answer as the core says (maybe in its place)."""
        query: CallbackQuery | None = update.callback_query
        if query is None:
            return
        with contextlib.suppress(TelegramError):  # only stops the spinner; never fatal
            await self._call(query.answer)
        req = to_request(update, self.username, platform=self._platform(update))
        if req is None or self._coach is None or not isinstance(query.message, Message):
            return
        message = query.message
        if not req.arg("draft"):
            kept = self._drafts.recall(str(message.chat_id), str(message.message_id))
            if kept:
                req = replace(req, params={**req.params, "draft": kept})
        replies = await self._coach.handle(req)
        await self._answer(req, replies, message, pressed=message)

    async def _answer(
        self,
        req: Request,
        replies: Sequence[Reply],
        message: Message,
        *,
        edited: bool = False,
        pressed: Message | None = None,
    ) -> None:
        """Carry out each reply's intents (see Reply): a private reply from a group goes to
        the user's private chat (or, when Telegram refuses, the group gets a link to start
        one); an answer to an edited draft edits the earlier answer; a button's outcome may
        replace the pressed message."""
        fallback_sent = False
        for reply in replies:
            if reply.kind == "reaction":
                await self._react(message, reply.text)
                continue
            if reply.dm_only or (reply.private and req.place.kind == "group"):
                try:
                    sent = await self._send(int(req.user.id), reply)
                except Forbidden as exc:
                    await refuse(reply, f"telegram: {exc.message}")
                    if not reply.dm_only and not fallback_sent:
                        link = start_privately(req, self.username)
                        await self._send(message.chat_id, link, message.message_id)
                        fallback_sent = True
                    continue
                await confirm(reply, sent[-1].message_id)
                self._keep_draft(sent[-1], reply)  # no reply link there to read it back from
                continue
            chat_id = int(reply.place.id)
            same_chat = chat_id == message.chat_id
            in_place = reply.edit_pressed and pressed is not None and same_chat
            if in_place and pressed and await self._edit(chat_id, pressed.message_id, reply):
                await confirm(reply, pressed.message_id)
                if not draft_of(pressed.reply_to_message, self.username):
                    self._keep_draft(pressed, reply)
                continue
            if reply.replaces_trigger and same_chat:
                key = (chat_id, message.message_id)
                earlier = self._answers.get(key)
                if edited and earlier is not None and await self._edit(chat_id, earlier, reply):
                    await confirm(reply, earlier)
                    continue
                sent = await self._send(chat_id, reply, message.message_id)
                await confirm(reply, sent[-1].message_id)
                self._answers.put(key, sent[-1].message_id)
                if not draft_of(message, self.username):  # no reply link to read it from
                    self._keep_draft(sent[-1], reply)
                continue
            sent = await self._send(chat_id, reply, message.message_id if same_chat else None)
            await confirm(reply, sent[-1].message_id)

    def _keep_draft(self, sent: Message, reply: Reply) -> None:
        if reply.draft and reply.buttons:
            self._drafts.keep(str(sent.chat_id), str(sent.message_id), reply.draft)
