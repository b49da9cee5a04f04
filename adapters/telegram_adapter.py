"""The Telegram adapter: netcoach in Telegram through python-telegram-bot 22.x.

    export TELEGRAM_BOT_TOKEN=123456789:AA...   # from @BotFather
    netcoach run

What users get: any private text is a draft to review (buttons under the review re-review
it in another context; editing the draft edits the review). Every core command works as
/command, with @botname accepted in groups. Replies the core marks private go to the
user's private chat, never to the group; when Telegram refuses that (the user never
started the bot), the group gets a deep link to start, without any draft content.
Nudges arrive privately with inline buttons; pressing one edits the nudge.

The adapter only translates: `to_request(update)` and `render(reply)` are pure, and every
decision stays in the core. Drafts are never written anywhere; to re-review a draft the
adapter reads it back from the message the review replied to (kept by Telegram).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram import User as TgUser
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
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from netcoach.bot.config import Config, ConfigError
from netcoach.bot.features.drafts import split_review
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

if TYPE_CHECKING:
    from netcoach.bot.kernel import Coach

log = logging.getLogger(__name__)

PLATFORM = "telegram"
TOKEN_VAR = "TELEGRAM_BOT_TOKEN"
MAX_TEXT = 4096  # Telegram's limit on a message's text
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_TAGS = {"bold": "b", "italic": "i", "code": "code", "mark": "u"}
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_T = TypeVar("_T")


# -- configuration ------------------------------------------------------------------------


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


def from_config(config: Config) -> TelegramAdapter:
    """The adapter for `netcoach run`; fails fast on a missing or malformed token."""
    section = config.section("telegram")
    return TelegramAdapter(check_token(section.get("token", "")), base_url=section["base_url"])


# -- rendering (pure) -----------------------------------------------------------------------


def render_segment(seg: Segment) -> str:
    """HTML for one segment; every character of text is escaped, whatever its style."""
    text = html.escape(seg.text, quote=False)
    tag = _TAGS.get(seg.style)
    return f"<{tag}>{text}</{tag}>" if tag and text else text


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Inline buttons; short labels pair up on a row. Over-long callback data is dropped."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        size = len(button.action.encode())
        if size > MAX_CALLBACK_BYTES:
            log.error("button %r dropped: %d bytes of callback data", button.label, size)
            continue
        native = InlineKeyboardButton(button.label, callback_data=button.action)
        if rows and len(rows[-1]) == 1 and max(len(button.label), len(rows[-1][0].text)) <= 14:
            rows[-1].append(native)
        else:
            rows.append([native])
    return InlineKeyboardMarkup(rows) if rows else None


def render(reply: Reply) -> tuple[str, InlineKeyboardMarkup | None]:
    """One message: HTML text and its inline keyboard (for edits and short replies)."""
    return "".join(render_segment(s) for s in reply.body), keyboard(reply.buttons)


def render_pages(
    reply: Reply, limit: int = MAX_TEXT
) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Messages of at most `limit` characters, split at paragraphs or sentences before
    rendering (so no tag is cut); the keyboard goes under the last one."""
    pages = split_markup(reply.body, limit, render_segment)
    texts = ["".join(render_segment(s) for s in page) for page in pages]
    texts = [t for t in texts if t.strip()] or ["…"]
    markup = keyboard(reply.buttons)
    return [(t, markup if i == len(texts) - 1 else None) for i, t in enumerate(texts)]


# -- translation (pure) ---------------------------------------------------------------------


def _user(user: TgUser) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.full_name)


def _place(chat: Chat) -> PlaceRef:
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
    """The draft a message holds: its text, or what follows `/review [context]`."""
    if message is None or not message.text:
        return ""
    if message.from_user is not None and message.from_user.is_bot:
        return ""  # a review, not a draft
    parsed = parse_command(message, bot_username)
    if parsed is None:
        return ""
    command, rest = parsed
    if not command:
        return message.text
    if command != "review":
        return ""
    return split_review(rest)[2]


def to_request(update: Update, bot_username: str = "") -> Request | None:
    """A Telegram update as a neutral Request; None when it is not for netcoach.

    Button presses carry the reviewed draft (from the message the review replied to) in
    args["draft"]; `/review` sent as a reply reviews the replied-to message. Only edits of
    private plain drafts count (an edited command must not run twice), and plain group
    chatter is not addressed to the bot.
    """
    query = update.callback_query
    if query is not None:
        if not query.data or not isinstance(query.message, Message):
            return None
        message = query.message
        args: dict[str, str] = {}
        if draft := draft_of(message.reply_to_message, bot_username):
            args["draft"] = draft
        return Request(
            _user(query.from_user), _place(message.chat), "press", query.data, args, raw=update
        )
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.text is None:
        return None
    user, place = _user(message.from_user), _place(message.chat)
    parsed = parse_command(message, bot_username)
    if parsed is None:
        return None
    command, rest = parsed
    if not command and place.kind != "dm":
        return None
    if update.edited_message is not None and (command or place.kind != "dm"):
        return None
    if not command:
        return Request(user, place, "", message.text, raw=update)
    args = {}
    replied = message.reply_to_message
    other = replied.from_user if replied is not None else None
    if command in ("bond", "review") and other and not other.is_bot and other != message.from_user:
        args["member"] = str(other.id)  # "/bond" as a reply to someone: with them
        args["member_name"] = other.first_name
    if command == "review" and (draft := draft_of(replied, bot_username)):
        args["draft"] = draft
        if rest:
            args["context"] = rest.split()[0].lower()
    return Request(user, place, command, rest, args, raw=update)


def observed(update: Update) -> Request | None:
    """A new plain post in a group, for the core to observe (activity, intro coaching);
    None for anything else. It is not addressed to the bot, so it is never answered in
    the group."""
    message = update.message
    if message is None or message.from_user is None or not message.text:
        return None
    if message.from_user.is_bot or _place(message.chat).kind != "group":
        return None
    if (message.entities or ()) and message.entities[0].type == "bot_command":
        return None
    return Request(_user(message.from_user), _place(message.chat), "", message.text, raw=update)


# Telegram allows only some emoji as reactions; the core's wave becomes a welcoming hug.
REACTIONS = {"👋": "🤗"}
ADMIN_STATUSES = ("creator", "administrator")


def deep_link(bot_username: str) -> str:
    return f"https://t.me/{bot_username}?start=review"


def start_privately(req: Request, bot_username: str) -> Reply:
    """What a group sees when the user cannot be written to privately: no draft content."""
    link = deep_link(bot_username)
    name = req.user.name or "there"
    return Reply.of(
        req.place,
        f"{name}, I answer privately so your drafts stay between us, but Telegram won't let "
        f"me message you until you start a chat with me: {link} — press Start, then send it "
        "again there.",
    )


# -- the adapter ----------------------------------------------------------------------------


class _Bounded(OrderedDict[Any, Any]):
    """A small LRU map: remembers recent message links, forgets the oldest."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


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
    max_text_len = MAX_TEXT

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "",
        poll_timeout: float = 10.0,
        retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
        startup_backoff: tuple[float, float] = (1.0, 60.0),
        rate_limits: tuple[float, float] = (30.0, 20.0),
        max_rate_retries: int = 3,
        ready_timeout: float = 30.0,
        memory: int = 1000,
        concurrency: int = 4,
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
        self.username = ""
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.ready = asyncio.Event()
        self._coach: Coach | None = None
        self._reviews = _Bounded(memory)  # (chat, draft message) -> review message
        self._drafts = _Bounded(memory)  # (chat, review message) -> draft, when no reply link
        self._delivered = _Bounded(memory)  # delivery key -> message id
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
                AIORateLimiter(
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
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGES & filters.TEXT, self._on_message)
        )
        app.add_handler(CallbackQueryHandler(self._on_press))
        app.add_error_handler(self._on_error)
        return app

    async def run(self, coach: Coach) -> None:
        """Poll Telegram until cancelled; every connection is closed in `finally`."""
        self._coach = coach
        app = self.application = self._build()
        try:
            await self._connect(app)
            await app.start()
            self.username = app.bot.username
            await self._set_commands(app, coach)
            self.ready.set()
            log.info("telegram: serving as @%s", self.username)
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self.ready.clear()
            await self._stop(app)

    async def _connect(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """getMe and start polling; network trouble is retried with backoff, a bad token is not."""
        first, cap = self.startup_backoff
        attempt = 0
        while True:
            try:
                await app.initialize()
                await app.updater.start_polling(  # type: ignore[union-attr]
                    poll_interval=0,
                    timeout=int(self.poll_timeout),
                    allowed_updates=["message", "edited_message", "callback_query"],
                    error_callback=self._on_poll_error,
                )
                return
            except InvalidToken:
                raise ConfigError(
                    f"Telegram rejected the token in {TOKEN_VAR} (unauthorized). Check it with "
                    "@BotFather (/mybots → API Token) and set it again."
                ) from None
            except NetworkError as exc:
                if isinstance(exc, BadRequest):
                    raise
                delay = min(cap, first * 2**attempt)
                attempt += 1
                log.warning(
                    "telegram: cannot reach the Bot API (%s); retrying in %g s",
                    self._redact(str(exc)),
                    delay,
                )
                await asyncio.sleep(delay)

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
                raise DeliveryError("telegram is not connected yet", retry_after=60) from None
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

    async def _send(self, chat_id: int, reply: Reply, reply_to: int | None = None) -> list[Message]:
        bot = await self._bot()
        sent: list[Message] = []
        for text, markup in render_pages(reply):
            params = (
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            )
            sent.append(
                await self._call(
                    lambda text=text, markup=markup, params=params: bot.send_message(
                        chat_id,
                        text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                        reply_parameters=params,
                        link_preview_options=_NO_PREVIEW,
                    )
                )
            )
        for attachment in reply.attachments:  # a data export: a document in the same chat
            sent.append(
                await self._call(
                    lambda attachment=attachment: bot.send_document(
                        chat_id, attachment.data, filename=attachment.filename
                    )
                )
            )
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

    async def send(self, reply: Reply) -> str:
        """Send to the reply's place (no reply link); returns the last message id."""
        sent = await self._send(int(reply.place.id), reply)
        return str(sent[-1].message_id)

    async def deliver(self, user: UserRef, reply: Reply, key: str = "") -> str:
        """A nudge to the user's private chat. 403 (blocked, never started) is permanent."""
        return await self._send_once(int(user.id), reply, key, bad_request_is_final=False)

    # -- communities -------------------------------------------------------------------------

    async def where(self, req: Request, channel: str = "") -> Where:
        """The group a command came from (or the chat named by @username or id): whether the
        sender is its creator or an administrator (asked with getChatMember on every call),
        and whether the bot may post there and sees its ordinary messages."""
        if req.place.kind != "group":
            return Where()
        bot = await self._bot()
        member = await self._call(lambda: bot.get_chat_member(int(req.place.id), int(req.user.id)))
        chat = req.raw.effective_chat if isinstance(req.raw, Update) else None
        here = Where(
            community=req.place.id,
            community_name=(chat.title if chat is not None else "") or "",
            admin=member.status in ADMIN_STATUSES,
            admin_rule="the group's creator and administrators",
        )
        target: int | str = int(req.place.id)
        name = here.community_name or "this group"
        if channel.strip() and channel.strip() not in (req.place.id, f"#{name}"):
            wanted = channel.strip().lstrip("#")
            try:
                chat = await self._call(
                    lambda: bot.get_chat(int(wanted) if wanted.lstrip("-").isdigit() else wanted)
                )
            except TelegramError:
                return replace(here, channel_name=channel.strip())
            target, name = chat.id, chat.title or chat.username or str(chat.id)
            if str(target) != req.place.id:
                # Settings belong to the group they act on: the sender must administer
                # *that* group, asked of the platform now, not the group they typed in.
                here = await self._other_group(bot, target, name, req.user.id)
        try:
            mine = await self._call(lambda: bot.get_chat_member(target, bot.id))
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
            member = await self._call(lambda: bot.get_chat_member(chat_id, int(uid)))
            admin = member.status in ADMIN_STATUSES
        except TelegramError:
            admin = False
        return Where(
            community=str(chat_id),
            community_name=name,
            admin=admin,
            admin_rule=f"the creator and administrators of {name}",
        )

    async def post(self, place: PlaceRef, reply: Reply, key: str = "") -> str:
        """A post into a group (a community tip). Removed from the group, or no right to
        write there: permanent, so the schedule stops instead of failing every day."""
        return await self._send_once(int(place.id), reply, key, bad_request_is_final=True)

    async def _send_once(
        self, chat_id: int, reply: Reply, key: str, *, bad_request_is_final: bool
    ) -> str:
        """Send unless `key` was already delivered; Telegram's refusals become
        DeliveryErrors, permanent when retrying cannot help (blocked, removed, no chat)."""
        if key and key in self._delivered:
            return self._delivered[key]  # type: ignore[no-any-return]
        try:
            sent = await self._send(chat_id, reply)
        except Forbidden as exc:
            raise DeliveryError(f"telegram: {exc.message}", permanent=True) from None
        except BadRequest as exc:
            final = bad_request_is_final or "chat not found" in exc.message.lower()
            raise DeliveryError(f"telegram: {exc.message}", permanent=final) from None
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            raise DeliveryError("telegram: rate limited", retry_after=float(seconds)) from None
        except TelegramError as exc:
            raise DeliveryError(f"telegram: {self._redact(str(exc))}") from None
        message_id = str(sent[-1].message_id)
        if key:
            self._delivered.put(key, message_id)
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

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message or an edit: ask the core, then answer where the core said."""
        req = to_request(update, self.username) or observed(update)
        message = update.effective_message
        if req is None or message is None or self._coach is None:
            return
        replies = await self._coach.handle(req)
        draft_message = message
        if req.command == "review" and message.reply_to_message is not None and req.args:
            draft_message = message.reply_to_message
        edited = update.edited_message is not None
        await self._answer(req, replies, message, draft_message, edited=edited)

    async def _answer(
        self,
        req: Request,
        replies: Sequence[Reply],
        message: Message,
        draft_message: Message,
        *,
        edited: bool = False,
    ) -> None:
        fallback_sent = False
        for reply in replies:
            if reply.kind == "reaction":
                await self._react(message, reply.text)
                continue
            if reply.private and req.place.kind == "group":
                try:
                    sent = await self._send(int(req.user.id), reply)
                except Forbidden:
                    # A plain post was not addressed to the bot: never answer it in the group.
                    if not fallback_sent and req.command:
                        await self._send(
                            message.chat_id,
                            start_privately(req, self.username),
                            message.message_id,
                        )
                        fallback_sent = True
                    continue
                if reply.kind == "review":
                    self._remember_draft(req, int(req.user.id), sent[-1].message_id, message)
                continue
            chat_id = int(reply.place.id)
            same_chat = chat_id == message.chat_id
            if reply.kind == "review" and same_chat:
                key = (chat_id, draft_message.message_id)
                if (
                    edited
                    and key in self._reviews
                    and await self._edit(chat_id, self._reviews[key], reply)
                ):
                    continue
                sent = await self._send(chat_id, reply, draft_message.message_id)
                self._reviews.put(key, sent[-1].message_id)
                if not draft_of(draft_message, self.username):  # no reply link to read it from
                    self._remember_draft(req, chat_id, sent[-1].message_id, draft_message)
                continue
            await self._send(chat_id, reply, message.message_id if same_chat else None)

    def _remember_draft(self, req: Request, chat_id: int, review_id: int, origin: Message) -> None:
        """Keep a draft in memory (bounded) for re-review buttons on a review that cannot
        reply to its draft, e.g. a group draft answered privately. Never written to disk."""
        if draft := req.args.get("draft") or draft_of(origin, self.username):
            self._drafts.put((chat_id, review_id), draft)

    async def _on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button: answer the callback, then edit the pressed message to show the outcome."""
        query: CallbackQuery = update.callback_query  # type: ignore[assignment]
        with contextlib.suppress(TelegramError):  # only stops the spinner; never fatal
            await self._call(query.answer)
        req = to_request(update, self.username)
        if req is None or self._coach is None or not isinstance(query.message, Message):
            return
        message = query.message
        if "draft" not in req.args:
            remembered = self._drafts.get((message.chat_id, message.message_id))
            if remembered:
                req = replace(req, args={**req.args, "draft": remembered})
        replies = await self._coach.handle(req)
        if (
            replies
            and replies[-1].kind != "review"
            and not (replies[-1].private and req.place.kind == "group")
        ):
            *replies, outcome = replies
            if await self._edit(message.chat_id, message.message_id, outcome):
                await self._answer(req, replies, message, message)
                return
            replies = [*replies, outcome]
        draft_message = message.reply_to_message or message
        await self._answer(req, replies, message, draft_message)
