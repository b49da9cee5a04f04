"""A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.py offline.

It answers just enough for a bot to log in, receive dispatched events and send messages,
and records every REST call so tests assert on the payloads Discord would have received.
Faults (403 code 50007, 429 with retry_after, 401) are queued per route with `fail`.

Usage:
    fake = await FakeDiscord().start()
    adapter = DiscordAdapter("x" * 30, api_base_url=fake.api_url, gateway_url=fake.gateway_url)
    await fake.dm("42", "Hi Maria!")              # a MESSAGE_CREATE in a DM
    call = await fake.wait_for("POST", "/channels/")  # what the bot sent
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from aiohttp import WSMsgType, web

APP_ID = "900000000000000001"
BOT_ID = "900000000000000002"
GUILD_ID = "910000000000000001"
GUILD_CHANNEL = "910000000000000002"
EPOCH = "2026-11-26T10:00:00.000000+00:00"


@dataclass
class Call:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    status: int = 200


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def user_payload(user_id: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


class FakeDiscord:
    def __init__(self, *, with_guild: bool = True) -> None:
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.identifies = 0
        self.identified: list[
            tuple[web.WebSocketResponse, list[int] | None]
        ] = []  # shard per IDENTIFY
        self.resumes = 0
        self.seq = 0
        self.with_guild = with_guild
        self.bot = user_payload(BOT_ID, "netcoach", bot=True)
        self.messages: dict[str, dict[str, Any]] = {}  # every message the bot sent, by id
        self.user_messages: dict[str, dict[str, Any]] = {}  # every DM a test user sent
        self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.listeners: list[Callable[[Call], None]] = []  # told of every answered call
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> str:
        return str(950000000000000000 + next(self._ids))

    # -- faults and waiting -------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        self.faults.append(
            Fault(method, re.compile(path_regex), status, body, headers or {}, times)
        )

    def find(self, method: str, path_part: str = "", **query: str) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and path_part in c.path
            and all(c.query.get(k) == v for k, v in query.items())
        ]

    async def wait_for(
        self, method: str, path_part: str = "", *, count: int = 1, timeout: float = 5.0
    ) -> Call:
        """The `count`-th successful call matching, polling until it is recorded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [c for c in self.find(method, path_part) if c.status < 300]
            if len(found) >= count:
                return found[count - 1]
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(c.method, c.path, c.status) for c in self.calls]
                raise TimeoutError(f"no {method} {path_part} #{count}; calls: {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def live_shards(self) -> list[list[int] | None]:
        """The shard each open gateway connection identified as."""
        return [shard for ws, shard in self.identified if ws in self.sockets]

    async def wait_connected(self, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.sockets and self.seq >= 1):
            if loop.time() > deadline:
                raise TimeoutError("the bot did not connect to the fake gateway")
            await asyncio.sleep(0.005)

    # -- gateway ------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        try:
            await self._send(ws, {"op": 10, "d": {"heartbeat_interval": 41250}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                await self._on_frame(ws, json.loads(msg.data))
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
            self._changed.set()
        return ws

    async def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(payload))

    async def _on_frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == 1:
            await self._send(ws, {"op": 11})
        elif op == 2:
            self.identifies += 1
            self.identified.append((ws, (frame.get("d") or {}).get("shard")))
            ready = {
                "v": 10,
                "user": self.bot,
                "guilds": [{"id": GUILD_ID, "unavailable": True}] if self.with_guild else [],
                "session_id": f"session-{self.identifies}",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": APP_ID, "flags": 0},
                "private_channels": [],
                "relationships": [],
            }
            if shard := (frame.get("d") or {}).get("shard"):
                ready["shard"] = shard  # as Discord does for a sharded IDENTIFY
            await self._dispatch_to(ws, "READY", ready)
            if self.with_guild:
                await self._dispatch_to(ws, "GUILD_CREATE", self.guild_payload())
        elif op == 6:
            self.resumes += 1
            await self._dispatch_to(ws, "RESUMED", {})
        self._changed.set()

    async def _dispatch_to(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        self.seq += 1
        await self._send(ws, {"op": 0, "t": event, "s": self.seq, "d": data})

    async def dispatch(self, event: str, data: Any) -> None:
        """Send a DISPATCH event to the connected bot."""
        if not self.sockets:
            await self.wait_connected()
        await self._dispatch_to(self.sockets[-1], event, data)

    async def reconnect(self) -> None:
        """Op 7: Discord asks the bot to reconnect (and resume)."""
        ws = self.sockets[-1]
        await self._send(ws, {"op": 7, "d": None})

    def guild_payload(self) -> dict[str, Any]:
        return {
            "id": GUILD_ID,
            "name": "Networking Club",
            "unavailable": False,
            "owner_id": "1",
            "member_count": 2,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [
                {
                    "id": GUILD_ID,
                    "name": "@everyone",
                    "permissions": "0",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "channels": [
                {
                    "id": GUILD_CHANNEL,
                    "type": 0,
                    "name": "general",
                    "position": 0,
                    "guild_id": GUILD_ID,
                }
            ],
            "members": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "premium_tier": 0,
            "large": False,
        }

    # -- events a test sends ------------------------------------------------------------

    def dm_channel(self, user_id: str) -> str:
        return self.dm_channels.setdefault(user_id, str(800000000000000000 + int(user_id)))

    def message_payload(
        self,
        channel_id: str,
        author: dict[str, Any],
        content: str,
        *,
        message_id: str | None = None,
        guild_id: str | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": message_id or self.snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": EPOCH,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if guild_id:
            data["guild_id"] = guild_id
        return data

    async def dm(self, user_id: str, content: str, name: str = "ana") -> dict[str, Any]:
        """The user sends the bot a DM; returns the message payload."""
        data = self.message_payload(self.dm_channel(user_id), user_payload(user_id, name), content)
        self.user_messages[data["id"]] = data
        await self.dispatch("MESSAGE_CREATE", data)
        return data

    def _interaction(
        self, kind: int, data: dict[str, Any], user_id: str, *, guild: bool, name: str = "ana"
    ) -> dict[str, Any]:
        user = user_payload(user_id, name)
        payload: dict[str, Any] = {
            "id": self.snowflake(),
            "application_id": APP_ID,
            "type": kind,
            "data": data,
            "token": f"tok{next(self._ids)}",
            "version": 1,
            "locale": "en-GB",
            "app_permissions": "0",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "authorizing_integration_owners": {},
        }
        if guild:
            payload.update(
                guild_id=GUILD_ID,
                channel_id=GUILD_CHANNEL,
                channel={"id": GUILD_CHANNEL, "type": 0, "guild_id": GUILD_ID, "name": "general"},
                member={
                    "user": user,
                    "roles": [],
                    "joined_at": EPOCH,
                    "deaf": False,
                    "mute": False,
                    "permissions": "0",
                    "flags": 0,
                },
                guild_locale="en-GB",
                context=0,
            )
        else:
            channel = self.dm_channel(user_id)
            payload.update(
                channel_id=channel, channel={"id": channel, "type": 1}, user=user, context=1
            )
        return payload

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: str = "42",
        guild: bool = True,
        focused: str | None = None,
        resolved: dict[str, Any] | None = None,
        guild_command: bool = False,
    ) -> dict[str, Any]:
        """A slash command (or, with `focused`, an autocomplete request for that option)."""
        opts = []
        for key, value in (options or {}).items():
            kind = {bool: 5, int: 4}.get(type(value), 3)
            if isinstance(value, dict):  # {"user": id}
                kind, value = 6, value["user"]
            opt: dict[str, Any] = {"name": key, "type": kind, "value": value}
            if key == focused:
                opt["focused"] = True
            opts.append(opt)
        data: dict[str, Any] = {"id": self.snowflake(), "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if guild_command:
            data["guild_id"] = GUILD_ID
        payload = self._interaction(4 if focused else 2, data, user_id, guild=guild)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def context_menu(
        self, target: dict[str, Any], *, user_id: str = "42", guild: bool = True
    ) -> dict[str, Any]:
        data = {
            "id": self.snowflake(),
            "name": "Review as draft",
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        payload = self._interaction(2, data, user_id, guild=guild)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def press(
        self, message: dict[str, Any], custom_id: str, *, user_id: str = "42", guild: bool = False
    ) -> dict[str, Any]:
        """The user presses a button on a message the bot sent."""
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._interaction(3, data, user_id, guild=guild)
        payload["message"] = message
        payload["channel_id"] = message["channel_id"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def submit_modal(
        self,
        modal: dict[str, Any],
        values: dict[str, Any],
        *,
        user_id: str = "42",
        guild: bool = True,
    ) -> dict[str, Any]:
        """Submit the modal the bot opened; `values` maps a component's custom id to its value
        (a list for a select menu)."""
        components = []
        for row in modal["components"]:
            inner = row.get("component") or row["components"][0]
            value = values.get(inner["custom_id"])
            if inner["type"] == 3:
                submitted = {"type": 3, "custom_id": inner["custom_id"], "values": value or []}
            else:
                submitted = {"type": 4, "custom_id": inner["custom_id"], "value": value or ""}
            if row["type"] == 18:
                components.append({"type": 18, "id": row.get("id", 1), "component": submitted})
            else:
                components.append({"type": 1, "components": [submitted]})
        data = {"custom_id": modal["custom_id"], "components": components}
        payload = self._interaction(5, data, user_id, guild=guild)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # -- REST ---------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif raw:  # multipart: the JSON part is payload_json
                body = {"raw": raw.decode("utf-8", "replace")}
        call = Call(request.method, path, dict(request.query), body)
        self.calls.append(call)
        try:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == request.method
                    and fault.pattern.search(path)
                ):
                    fault.times -= 1
                    call.status = fault.status
                    return _json(fault.body, fault.status, fault.headers)
            token_auth = not path.startswith(("/interactions/", "/webhooks/"))  # no bot token
            if token_auth and request.headers.get("Authorization") != f"Bot {self.token_expected}":
                call.status = 401
                return _json({"message": "401: Unauthorized", "code": 0}, 401)
            result = self._route(request.method, path, body, request.query)
            if result is None:
                call.status = 404
                return _json({"message": "Unknown route", "code": 0}, 404)
            status, payload = result
            call.status = status
            if status == 204:
                return web.Response(status=204)
            return _json(payload, status)
        finally:
            self._changed.set()
            for listener in self.listeners:
                listener(call)

    token_expected = "x" * 30 + ".fake.token"

    def _route(self, method: str, path: str, body: Any, query: Any) -> tuple[int, Any] | None:
        if (method, path) == ("GET", "/users/@me"):
            return 200, self.bot
        if (method, path) == ("GET", "/gateway/bot"):
            limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
            return 200, {"url": self.gateway_url, "shards": 2, "session_start_limit": limit}
        if (method, path) == ("GET", "/oauth2/applications/@me"):
            return 200, {
                "id": APP_ID,
                "name": "netcoach",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload("1", "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "summary": "",
            }
        if method == "PUT" and re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path):
            guild = re.search(r"/guilds/(\d+)/", path)
            return 200, [
                {
                    "description": "",
                    **cmd,
                    "id": self.snowflake(),
                    "application_id": APP_ID,
                    "version": "1",
                    "default_member_permissions": None,
                    **({"guild_id": guild.group(1)} if guild else {}),
                }
                for cmd in body or []
            ]
        if (method, path) == ("POST", "/users/@me/channels"):
            user_id = str(body["recipient_id"])
            return 200, {
                "id": self.dm_channel(user_id),
                "type": 1,
                "recipients": [user_payload(user_id, "ana")],
                "last_message_id": None,
            }
        m = re.fullmatch(r"/channels/(\d+)/messages", path)
        if m and method == "POST":
            return 200, self._store_message(m.group(1), body)
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if m and method == "GET":
            found = self.messages.get(m.group(2)) or self.user_messages.get(m.group(2))
            return (200, found) if found else (404, {"message": "Unknown Message", "code": 10008})
        m = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if m and method == "POST":
            interaction: dict[str, Any] = {"id": m.group(1), "type": 2}
            if body and body.get("type") in (4, 5):
                message = self._store_message("0", body.get("data") or {})
                interaction["response_message_id"] = message["id"]
                interaction["response_message_ephemeral"] = bool(
                    (body.get("data") or {}).get("flags", 0) & 64
                )
            return 200, {"interaction": interaction}
        m = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(/messages/(@original|\d+))?", path)
        if m and method in ("POST", "PATCH"):
            return 200, self._store_message("0", body or {})
        return None

    def _store_message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        message = self.message_payload(channel_id, self.bot, body.get("content") or "")
        message["embeds"] = body.get("embeds") or []
        message["components"] = body.get("components") or []
        message["flags"] = body.get("flags") or 0
        ref = body.get("message_reference")
        if ref:
            message["type"] = 19
            message["message_reference"] = ref
        self.messages[message["id"]] = message
        return message


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Content-Type exactly application/json: discord.py rejects a charset suffix."""
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


@pytest.fixture(autouse=True)
def restore_discord_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter sets these process-wide knobs from config; put them back afterwards.

    Autouse in every module that imports it from here."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
