"""A fake Telegram Bot API server on 127.0.0.1, for driving the real python-telegram-bot.

Tests never reach Telegram: the real `Application` is pointed at this server
(`base_url=fake.base_url`). It records every call with its decoded parameters, hands
queued updates to long polls, keeps every message it has seen so replies and callback
queries carry the message they belong to (as Telegram does), and can be told to fail:
429 with `retry_after`, 403 for users who blocked the bot or never started it, 5xx.

PTB posts form fields: plain strings raw and everything else JSON-encoded, so string
fields are kept as sent and the rest is decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnopq"
_STRING_FIELDS = {"text", "parse_mode", "callback_query_id", "url", "language_code", "caption"}
_TAG = re.compile(r"<[^>]+>")

Json = dict[str, Any]


@dataclass
class Call:
    method: str
    params: Json
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None = None


def user(uid: int, first_name: str = "Ana", username: str | None = None) -> Json:
    found: Json = {"id": uid, "is_bot": False, "first_name": first_name}
    if username:
        found["username"] = username
    return found


def private_chat(u: Json) -> Json:
    return {"id": u["id"], "type": "private", "first_name": u["first_name"]}


def group_chat(chat_id: int = -1001234567890, title: str = "Founders") -> Json:
    return {"id": chat_id, "type": "supergroup", "title": title}


class FakeTelegram:
    """One bot's view of the Bot API: `await FakeTelegram().start()` or `async with`."""

    def __init__(self, token: str = TOKEN, username: str = "netcoach_bot", latency: float = 0.0):
        self.token = token
        self.latency = latency  # seconds added to every answer but getUpdates (benchmarks)
        self.me: Json = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "netcoach",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], Json] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.blocked: set[int] = set()  # users who blocked the bot
        self.unstarted: set[int] = set()  # users who never pressed Start
        self.chats: dict[int, Json] = {}
        self.on_call: Callable[[Call], None] | None = None
        self._updates: list[Json] = []
        self.pushed: list[Json] = []  # every update ever pushed
        self.webhook: Json | None = None  # what setWebhook was last given
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._pollers: set[asyncio.Event] = set()
        self._recorded = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        """Wake parked long polls first, or aiohttp would wait them out."""
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- what users do ----------------------------------------------------------------------

    def send(
        self,
        sender: Json,
        text: str,
        chat: Json | None = None,
        reply_to: Json | None = None,
    ) -> Json:
        """A user sends `text` (commands get their bot_command entity, as Telegram does)."""
        chat = chat or private_chat(sender)
        message: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "text": text,
        }
        if m := re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": m.end()}]
        if reply_to is not None:
            message["reply_to_message"] = _without_reply(reply_to)
        self._store(message)
        self.push({"message": message})
        return message

    def edit(self, message: Json, text: str) -> Json:
        """The user edits an earlier message."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self._store(edited)
        self.push({"edited_message": edited})
        return edited

    def press(self, message: Json, data: str, presser: Json | None = None) -> str:
        """The user presses an inline button on a message the bot sent; returns the query id."""
        current = self.messages[(message["chat"]["id"], message["message_id"])]
        query_id = str(next(self._query_ids))
        presser = presser or user(current["chat"]["id"], current["chat"].get("first_name", "A"))
        query = {
            "id": query_id,
            "from": presser,
            "chat_instance": "ci-1",
            "data": data,
            "message": current,
        }
        self.push({"callback_query": query})
        return query_id

    def update(self, sender: Json, text: str) -> Json:
        """An update carrying `text` from `sender`, not queued (for a webhook post)."""
        self.send(sender, text)
        self._updates.pop()  # not for getUpdates: the test posts it
        return self.pushed[-1]

    def push(self, update: Json) -> None:
        full = {"update_id": next(self._update_ids), **update}
        self.pushed.append(full)
        self._updates.append(full)
        self._wake_pollers()

    def redeliver(self, updates: list[Json]) -> None:
        """Hand out these updates again, as Telegram does with updates a poller fetched but
        never confirmed (it died before its next getUpdates)."""
        self._updates = sorted([*self._updates, *updates], key=lambda u: int(u["update_id"]))
        self._wake_pollers()

    def fail(self, method: str, status: int, description: str, *, retry_after: int | None = None):
        """The next call of `method` fails this way (queue several by calling again)."""
        self.faults.setdefault(method, []).append(Fault(status, description, retry_after))

    # -- what tests look at -----------------------------------------------------------------

    def called(self, method: str, *, ok: bool | None = True) -> list[Call]:
        return [
            c for c in self.calls if c.method == method and (ok is None or (c.status == 200) == ok)
        ]

    def sent_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.called("sendMessage") if c.params.get("chat_id") == chat_id]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        where: Callable[[Call], bool] = lambda c: True,
        ok: bool | None = True,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Wait (bounded) until `count` matching calls were received; return them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [c for c in self.called(method, ok=ok) if where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [f"{c.method}:{c.status}" for c in self.calls]
                raise AssertionError(f"expected {count} x {method}, got {len(found)}; saw {seen}")
            self._recorded.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recorded.wait(), remaining)

    def message(self, call: Call) -> Json:
        """The message a sendMessage/editMessageText call produced, as stored now."""
        return self.messages[(call.result["chat"]["id"], call.result["message_id"])]

    # -- the server -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = _decode(await request.post())
        call = Call(method, params)
        if request.match_info["token"] != self.token:
            return self._error(call, 401, "Unauthorized")
        faults = self.faults.get(method)
        if faults:
            fault = faults.pop(0)
            return self._error(call, fault.status, fault.description, fault.retry_after)
        if self.latency and method != "getUpdates":
            await asyncio.sleep(self.latency)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(call, 400, f"Bad Request: the fake has no method {method}")
        try:
            result = await handler(params)
        except _ApiError as exc:
            return self._error(call, exc.status, exc.description)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    def _error(
        self, call: Call, status: int, description: str, retry_after: int | None = None
    ) -> web.Response:
        body: Json = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        call.status, call.result = status, body
        self._record(call)
        return web.json_response(body, status=status)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._recorded.set()
        if self.on_call is not None:
            self.on_call(call)

    def _wake_pollers(self) -> None:
        for event in self._pollers:
            event.set()

    def _store(self, message: Json) -> None:
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        self.chats[message["chat"]["id"]] = message["chat"]

    # -- Bot API methods --------------------------------------------------------------------

    async def _api_getMe(self, params: Json) -> Json:
        return self.me

    async def _api_deleteWebhook(self, params: Json) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: Json) -> bool:
        self.webhook = params  # url, secret_token, allowed_updates
        return True

    async def _api_setMyCommands(self, params: Json) -> bool:
        return True

    async def _api_answerCallbackQuery(self, params: Json) -> bool:
        return True

    async def _api_getUpdates(self, params: Json) -> list[Json]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        event = asyncio.Event()
        self._pollers.add(event)
        try:
            while not self._updates and not self._closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                event.clear()
                try:
                    async with asyncio.timeout(remaining):  # no extra task, unlike wait_for
                        await event.wait()
                except TimeoutError:
                    break
        finally:
            self._pollers.discard(event)
        return self._updates[: int(params.get("limit") or 100)]

    def _check_reachable(self, chat_id: int) -> None:
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.unstarted:
            raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    async def _api_sendDocument(self, params: Json) -> Json:
        """A file upload: the call keeps its name and bytes for the test to read."""
        chat_id = int(params["chat_id"])
        self._check_reachable(chat_id)
        upload = params["document"]
        params["document"] = {"filename": upload.filename, "data": upload.file.read()}
        message: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chats.get(chat_id) or {"id": chat_id, "type": "private"},
            "from": self.me,
            "document": {
                "file_id": f"doc-{chat_id}",
                "file_unique_id": "d",
                "file_name": upload.filename,
            },
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _api_sendMessage(self, params: Json) -> Json:
        chat_id = int(params["chat_id"])
        self._check_reachable(chat_id)
        if not _visible(params["text"]).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(_visible(params["text"])) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        chat = self.chats.get(chat_id) or {"id": chat_id, "type": "private", "first_name": "?"}
        message: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.me,
            "text": _visible(params["text"]),
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        if reply_to is not None and (chat_id, reply_to) in self.messages:
            message["reply_to_message"] = _without_reply(self.messages[(chat_id, reply_to)])
        self._store(message)
        return message

    async def _api_editMessageText(self, params: Json) -> Json:
        key = (int(params["chat_id"]), int(params["message_id"]))
        self._check_reachable(key[0])
        old = self.messages.get(key)
        if old is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text = _visible(params["text"])
        markup = params.get("reply_markup")
        if text == old["text"] and markup == old.get("reply_markup"):
            raise _ApiError(400, "Bad Request: message is not modified")
        message = {**old, "text": text, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        self._store(message)
        return message


class _ApiError(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def _decode(form: Any) -> Json:
    out: Json = {}
    for key, value in form.items():
        if key in _STRING_FIELDS or not isinstance(value, str):
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _visible(text: str) -> str:
    """What a Telegram user would see of an HTML message."""
    return html.unescape(_TAG.sub("", text))


def _without_reply(message: Json) -> Json:
    return {k: v for k, v in message.items() if k != "reply_to_message"}


async def serve(**kwargs: Any) -> AsyncIterator[FakeTelegram]:
    """For a pytest fixture: `yield from` style helper."""
    fake = await FakeTelegram(**kwargs).start()
    try:
        yield fake
    finally:
        await fake.close()
