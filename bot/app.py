"""The composition root: config -> database -> playbooks -> features -> Coach -> scheduler
-> adapters. The only module that imports features and adapters.

Nothing here decides anything a user sees; it only builds the parts in order, runs them
together and takes them down cleanly (database closed, no traceback) on Ctrl-C, SIGTERM
or /quit.

Each adapter is a package `netcoach.adapters.<platform>` whose light `__init__` declares its
config section (`CONFIG`) and `from_config(config) -> Adapter`, which imports the platform's
library only when called: a console session never loads discord or telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from netcoach.bot.clock import Clock, SystemClock
from netcoach.bot.config import RULES as CORE_RULES
from netcoach.bot.config import Config, ConfigError, Rule
from netcoach.bot.config import load_config as load_config_with
from netcoach.bot.features.community import Community, CommunityRepository, CommunitySettings
from netcoach.bot.features.drafts.feature import DraftReview
from netcoach.bot.features.drafts.repository import HistoryRepository
from netcoach.bot.features.followups import FollowUpRepository, FollowUps, Settings
from netcoach.bot.features.privacy import Privacy, PrivacyRepository
from netcoach.bot.features.profiles import ProfileRepository, Profiles, Tags
from netcoach.bot.kernel import Adapter, Coach, DeliveryError, PlaceRef, Reply, UserRef
from netcoach.bot.logs import configure as configure_logging
from netcoach.bot.review import PlaybookError, load_playbooks
from netcoach.bot.scheduling import HandOver, JobQueue, Scheduler
from netcoach.bot.storage import (
    Coordination,
    Database,
    InstanceLock,
    PgDatabase,
    StoreError,
    Users,
    is_url,
    open_database,
    storage_fault,
)
from netcoach.bot.timeparse import WhenError, parse_time_of_day, resolve_timezone

log = logging.getLogger(__name__)
PLATFORMS = ("telegram", "discord")  # chat platforms, started when enabled in the config
ADAPTERS = ("console", *PLATFORMS)


def _adapter_package(name: str) -> Any:
    return importlib.import_module(f"netcoach.adapters.{name}")


def config_rules() -> dict[str, Rule]:
    """Every key's rule: the core's and each adapter's (dotted keys)."""
    rules = dict(CORE_RULES)
    for name in ADAPTERS:
        rules.update({f"{name}.{k}": r for k, r in _adapter_package(name).CONFIG_RULES.items()})
    return rules


def load_config(path: str | Path | None, env: dict[str, str] | None = None) -> Config:
    """The config file with every adapter's section known, every key checked (see
    bot/config.py), and the values the core must parse parsed once here: a time zone that
    exists, a time of day."""
    sections = {name: _adapter_package(name).CONFIG for name in ADAPTERS}
    config = load_config_with(path, env, sections, config_rules())
    _core_settings(config)
    return config


def _core_settings(config: Config) -> tuple[str, time]:
    """The default time zone and time of day, or a ConfigError naming the key and file."""
    try:
        default_time = parse_time_of_day(config["default_time"])
    except WhenError:
        raise ConfigError(
            f"{config.source}: 'default_time' must look like 09:00, not {config['default_time']!r}"
        ) from None
    try:
        resolve_timezone(config["timezone"])
    except WhenError as exc:
        said = str(exc)
        raise ConfigError(f"{config.source}: 'timezone': {said[:1].lower()}{said[1:]}") from None
    return config["timezone"], default_time


class Deliverer:
    """The scheduler's sender: hands a reply to the adapter of the user's platform."""

    def __init__(self) -> None:
        self.adapters: dict[str, Adapter] = {}

    async def __call__(self, user: UserRef | PlaceRef, reply: Reply, key: str) -> str:
        adapter = self.adapters.get(user.platform)
        if adapter is None:
            raise DeliveryError(
                f"the {user.platform} adapter is not running", retry_after=600, deferred=True
            )
        if isinstance(user, PlaceRef):  # a post into a channel or group (a community tip)
            return await adapter.post(user, reply, key=key)
        return await adapter.deliver(user, reply, key=key)


@dataclass(frozen=True, slots=True)
class Features:
    drafts: DraftReview
    followups: FollowUps
    profiles: Profiles
    community: Community
    privacy: Privacy
    handover: HandOver


@dataclass
class App:
    config: Config
    db: Database
    users: Users
    queue: JobQueue
    features: Features
    coach: Coach
    scheduler: Scheduler
    deliverer: Deliverer
    adapters: list[Any] = field(default_factory=list)
    lock: InstanceLock | None = None
    workers: Coordination | None = None

    def add_adapter(self, adapter: Adapter) -> None:
        self.adapters.append(adapter)
        self.deliverer.adapters[adapter.platform] = adapter
        if self.workers is not None and hasattr(adapter, "workers"):
            adapter.workers = self.workers  # who polls, updates handled, shards

    async def serve(self) -> None:
        """Run the scheduler and every adapter until an adapter ends by itself (/quit), the
        scheduler ends, or this is cancelled. A platform that fails (a token it rejects,
        a bug) stops alone, in one line: the others and the scheduler keep running, and
        what is due for its users waits for it. Only when no adapter is left does serve()
        end, with the last failure."""
        scheduler = asyncio.create_task(self.scheduler.run(), name="scheduler")
        running = {
            asyncio.create_task(a.run(self.coach), name=f"adapter-{a.platform}"): a
            for a in self.adapters
        }
        try:
            while True:
                done, _ = await asyncio.wait(
                    [scheduler, *running], return_when=asyncio.FIRST_COMPLETED
                )
                if scheduler in done:
                    scheduler.result()  # its failure, if it failed
                    return
                for task in done:
                    adapter = running.pop(task)
                    failure = task.exception()
                    if failure is None:
                        return  # ended by itself: /quit on the console
                    self.deliverer.adapters.pop(adapter.platform, None)
                    if not running:
                        raise failure
                    _report_stopped(adapter.platform, failure)
        finally:
            tasks = [scheduler, *running]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        try:
            if self.workers is not None:
                await self.workers.close()
            await self.db.close()
        finally:
            if self.lock is not None:
                self.lock.release()


def _report_stopped(platform: str, failure: BaseException) -> None:
    """One platform stopped while others run: one line for what the operator can fix (a
    rejected token names its variable), the traceback only for what is a bug."""
    if isinstance(failure, ConfigError | StoreError):
        log.error("%s stopped: %s The other platforms keep running.", platform, failure)
    else:
        log.error(
            "%s stopped after an unexpected error; the other platforms keep running",
            platform,
            exc_info=failure,
        )


async def build(config: Config, *, clock: Clock | None = None) -> App:
    """Everything but the adapters; the caller adds those and then calls serve()."""
    clock = clock or SystemClock()
    settings = Settings(*_core_settings(config))
    playbook_cfg = config.section("playbooks")
    playbooks = load_playbooks(
        playbook_cfg["dirs"], playbook_cfg["disabled_rules"], config=config.source
    )
    database = str(config["database"])
    shared = is_url(database)  # PostgreSQL: several workers may share it
    # One process per SQLite file: a second one is refused before it can send anything.
    lock = None if shared or database == ":memory:" else InstanceLock.acquire(database)
    try:
        db: Database = await open_database(database)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    try:
        privacy_repo = PrivacyRepository(db)
        if problems := await privacy_repo.audit():
            raise StoreError(f"{db.path}: " + "; ".join(problems))
        sched = config.section("scheduler")
        users, queue = Users(db), JobQueue(db, lease_seconds=sched["lease_seconds"])
        workers = Coordination(db, queue.owner, shared=shared, lease_seconds=sched["lease_seconds"])
        rates = sched["rate_limits"]

        async def pace(platform: str) -> None:  # one rate for every worker's scheduled sends
            if wait := await workers.pace(platform, rates.get(platform, 0)):
                await asyncio.sleep(wait)

        deliverer = Deliverer()
        contacts = FollowUpRepository(db, queue)
        followups = FollowUps(contacts, users, clock, playbooks, settings)
        community = Community(
            CommunityRepository(db, queue),
            users,
            queue,
            clock,
            playbooks,
            CommunitySettings(config["timezone"], **config.section("community")),
        )
        scheduler = Scheduler(
            queue,
            users,
            clock,
            deliverer,
            [followups.due, community.due],
            max_attempts=sched["max_attempts"],
            retry_seconds=sched["retry_seconds"],
            outage_retry_max=sched["outage_retry_max_seconds"],
            concurrency=max(1, sched["concurrency"]),
            exclusive=not shared,
            pace=pace if shared else None,
        )
        if isinstance(db, PgDatabase):  # another worker added or moved a job: look again
            await db.listen(scheduler.wake)
        profiles = Profiles(ProfileRepository(db), users, contacts, clock, Tags.load(), playbooks)
        drafts = DraftReview(
            playbooks,
            HistoryRepository(db),
            users,
            clock,
            max_chars=config.section("review")["max_chars"],
            recipient_finding=profiles.recipient_finding,
        )
        handover = HandOver(scheduler)
        others = (drafts, followups, profiles, community, handover)
        privacy = Privacy(privacy_repo, users, clock, others)
        features = Features(drafts, followups, profiles, community, privacy, handover)
        coach = Coach([drafts, followups, profiles, community, privacy, handover])
    except sqlite3.Error as exc:  # e.g. a file damaged past its first page
        await db.close()
        if lock is not None:
            lock.release()
        raise storage_fault(database, exc) from None
    except BaseException:
        await db.close()
        if lock is not None:
            lock.release()
        raise
    return App(
        config, db, users, queue, features, coach, scheduler, deliverer, lock=lock, workers=workers
    )


def platform_adapters(config: Config) -> list[Adapter]:
    """The chat platforms enabled in config (imported only then)."""
    found = []
    for name in PLATFORMS:
        if not config.platform_enabled(name):  # "auto": on when its token is set
            continue
        try:
            found.append(_adapter_package(name).from_config(config))
        except ImportError as exc:
            raise ConfigError(f"{config.source}: {name} is enabled but {exc}") from exc
    return found


def console_wanted(config: Config, others: Sequence[Adapter]) -> bool:
    setting = config.section("console")["enabled"]  # true, false or auto (checked at load)
    if setting == "auto":
        return not others  # the console when no platform is enabled
    return bool(setting)


async def _main(config: Config, mode: str) -> None:
    app = await build(config)
    try:
        if mode == "run":
            for adapter in platform_adapters(config):
                app.add_adapter(adapter)
        if mode == "chat" or console_wanted(config, app.adapters):
            app.add_adapter(_adapter_package("console").ConsoleAdapter())
        if not app.adapters:
            raise ConfigError(f"{config.source}: no adapter is enabled")
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        await app.serve()
    finally:
        await app.close()


def _secrets(config: Config) -> list[str]:
    """What no log line may show: the platforms' tokens, the webhook's secret, the
    password in a PostgreSQL URL."""
    from urllib.parse import urlsplit

    found = [str(config[name]["token"]) for name in PLATFORMS]
    found.append(str(config["telegram"]["webhook"]["secret_token"]))
    if is_url(str(config["database"])):
        found.append(urlsplit(str(config["database"])).password or "")
    return found


def _start(config_path: str | None, mode: str) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"netcoach: {exc}", file=sys.stderr)
        return 2
    configure_logging(config["log_level"], _secrets(config))
    try:
        asyncio.run(_main(config, mode))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("netcoach stopped.", file=sys.stderr)
    except (ConfigError, StoreError, PlaybookError) as exc:
        print(f"netcoach: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # the database failed the scheduler or an adapter at start
        print(f"netcoach: {storage_fault(config['database'], exc)}", file=sys.stderr)
        return 2
    return 0


def run(config_path: str | None = None) -> int:
    """`netcoach run`: every adapter enabled in config, or the console when none is."""
    return _start(config_path, "run")


def chat(config_path: str | None = None) -> int:
    """`netcoach chat`: the console, with the scheduler, so nudges arrive while you type."""
    return _start(config_path, "chat")


if __name__ == "__main__":
    sys.exit(chat(sys.argv[1] if len(sys.argv) > 1 else None))
