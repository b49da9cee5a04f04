"""Discord benchmark: DM drafts per second and round trip, netcoach vs a bare echo bot.

    .venv/bin/python bench/discord_bench.py [--drafts 1500] [--concurrency 32]

Both bots are the real discord.py client on the same fake Discord (tests/fake_discord.py,
127.0.0.1) in the same run: the fake sends a DM (MESSAGE_CREATE) and times until it records
the bot's reply (POST /channels/{id}/messages). The echo bot replies with the text; netcoach
reviews the draft (the whole core: coach, review, follow-up intercept, hand-over check in
SQLite). Round trips are measured one at a time (p50/p99), throughput with `concurrency`
users writing at once. Target: netcoach >= 80% of the echo bot's drafts per second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import yarl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake servers

from fake_discord import Call, FakeDiscord  # noqa: E402

from netcoach.adapters.discord.platform import DiscordAdapter  # noqa: E402
from netcoach.bot.app import build, load_config  # noqa: E402

DRAFTS = [
    "Hi Ciarán, I'm also on the Dublin Bus drivers' union WhatsApp — saw your message about the "
    "new rota app. I figured out how to export shifts to Google Calendar; want the steps?",
    "Hi Tom! Check out my new course, 50% off this week. Book a call and I'll show you our "
    "platform!!! It will change your business.",
    "Hello Dr. Okafor, I loved your talk on community gardens at the Leeds meetup. How did you "
    "get the council on board? No pressure at all if your plate is full.",
    "Hey, could you refer me to a role at your company? I have 15 years of experience in sales "
    "and I have won several awards.",
]


class EchoBot(discord.Client):
    """The baseline: the same intents and reply shape, no netcoach."""

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None and not message.author.bot:
            await message.channel.send(
                message.content[:2000],
                reference=message.to_reference(fail_if_not_exists=False),
                allowed_mentions=discord.AllowedMentions.none(),
            )


def echo_bot() -> EchoBot:
    intents = discord.Intents.none()
    intents.guilds = intents.dm_messages = True
    return EchoBot(intents=intents, guild_ready_timeout=0.01, max_messages=None)


class Meter:
    """Matches each DM the fake sends to the reply that references it."""

    def __init__(self, fake: FakeDiscord):
        self.fake = fake
        self.pending: dict[int, tuple[float, asyncio.Future[float]]] = {}
        fake.listeners.append(self.on_call)

    def on_call(self, call: Call) -> None:
        if call.method != "POST" or not call.path.startswith("/channels/") or call.status >= 300:
            return
        ref = (call.json or {}).get("message_reference") or {}
        entry = self.pending.pop(int(ref.get("message_id", 0)), None)
        if entry is not None and not entry[1].done():
            entry[1].set_result(time.perf_counter() - entry[0])

    async def round_trip(self, user: int, text: str) -> float:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        data = self.fake.message_payload(
            self.fake.dm_channel(str(user)),
            {"id": str(user), "username": f"u{user}", "discriminator": "0", "avatar": None},
            text,
        )
        self.pending[int(data["id"])] = (time.perf_counter(), fut)
        await self.fake.dispatch("MESSAGE_CREATE", data)
        return await asyncio.wait_for(fut, 10)


async def measure(meter: Meter, drafts: int, concurrency: int) -> dict[str, float]:
    for i in range(50):  # warm-up: caches, DM channels, SQLite pages
        await meter.round_trip(1000 + i % concurrency, DRAFTS[i % len(DRAFTS)])
    sequential = [
        await meter.round_trip(1000 + i % concurrency, DRAFTS[i % len(DRAFTS)])
        for i in range(min(drafts, 500))
    ]
    counter = iter(range(drafts))

    async def user(uid: int) -> None:
        for i in counter:
            await meter.round_trip(uid, DRAFTS[i % len(DRAFTS)])

    start = time.perf_counter()
    await asyncio.gather(*(user(1000 + u) for u in range(concurrency)))
    elapsed = time.perf_counter() - start
    ordered = sorted(sequential)
    return {
        "rate": drafts / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


async def serve_bot(kind: str, api_url: str, gateway_url: str) -> None:
    """The child process: one bot against the fake, until terminated."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    if kind == "echo":
        discord.http.Route.BASE = api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        async with echo_bot() as bot:
            await bot.start(FakeDiscord.token_expected)
        return
    with tempfile.TemporaryDirectory() as tmp:
        config_file = Path(tmp) / "netcoach.yaml"
        config_file.write_text(f"database: {Path(tmp) / 'bench.sqlite3'}\nlog_level: WARNING\n")
        app = await build(load_config(config_file, env={}))
        adapter = DiscordAdapter(
            FakeDiscord.token_expected,
            api_base_url=api_url,
            gateway_url=gateway_url,
            guild_ready_timeout=0.01,
        )
        app.add_adapter(adapter)
        try:
            await app.serve()
        finally:
            await app.close()


@contextlib.asynccontextmanager
async def bot_process(kind: str, fake: FakeDiscord) -> AsyncIterator[None]:
    """Each bot runs in its own process, as against the real Discord: the fake's work is
    not charged to the bot."""
    before = fake.identifies
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", kind, fake.api_url, fake.gateway_url
    )
    try:
        while fake.identifies == before or not fake.sockets:
            if proc.returncode is not None:
                raise RuntimeError(f"the {kind} bot exited with {proc.returncode}")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # READY handled, guild wait over
        yield
    finally:
        proc.terminate()
        await proc.wait()


async def main(drafts: int, concurrency: int) -> float:
    fake = await FakeDiscord(with_guild=False).start()
    meter = Meter(fake)
    results: dict[str, dict[str, float]] = {}
    try:
        for name, kind in (("echo bot", "echo"), ("netcoach", "netcoach")):
            async with bot_process(kind, fake):
                results[name] = await measure(meter, drafts, concurrency)
    finally:
        await fake.stop()

    print(f"Discord DM drafts: {drafts} at concurrency {concurrency}; real discord.py in its own")
    print("process against a fake Discord on 127.0.0.1")
    print(f"{'':10} {'drafts/s':>9} {'p50 ms':>8} {'p99 ms':>8}   (round trip, one at a time)")
    for name, r in results.items():
        print(f"{name:10} {r['rate']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f}")
    ratio = results["netcoach"]["rate"] / results["echo bot"]["rate"]
    verdict = "meets" if ratio >= 0.8 else "MISSES"
    print(f"netcoach / echo bot throughput: {ratio:.0%} ({verdict} the 80% target)")
    return ratio


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--serve", nargs=3, metavar=("KIND", "API", "GATEWAY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(serve_bot(*args.serve))
        sys.exit(0)
    asyncio.run(main(args.drafts, args.concurrency))  # prints the figures and the target
