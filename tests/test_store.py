"""The store keeps reminders and contacts across restarts and never mixes users' data."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from stack import Stack

from netcoach.bot.kernel import UserRef
from netcoach.bot.scheduling import JobQueue, Outcomes
from netcoach.bot.storage import Database, StoreError
from netcoach.bot.storage.db import migrations

SCHEMA_VERSION = len(migrations())
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ANA = UserRef("console", "ana", "Ana")
BEN = UserRef("telegram", "-1001", "Ben")


@pytest.mark.sqlite_only
async def test_a_fresh_file_is_created_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "netcoach.sqlite3"
    store = await Stack.open(path)
    try:
        assert await store.db.schema_version() == SCHEMA_VERSION
        assert (await store.db.one("PRAGMA journal_mode"))[0] == "wal"
        assert (await store.db.one("PRAGMA foreign_keys"))[0] == 1
        assert (await store.db.one("PRAGMA busy_timeout"))[0] > 0
    finally:
        await store.close()
    assert path.exists()


async def test_follow_ups_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await Stack.open(path)
    user = await store.users.ensure(ANA, NOW)
    created = await store.contacts.add(user.id, "Maria", "send notes", NOW + timedelta(days=3), NOW)
    await store.close()

    store = await Stack.open(path)
    try:
        again = await store.users.ensure(ANA, NOW)
        assert again.id == user.id
        found = await store.contacts.get(user.id, created.id)
        assert found is not None
        assert (found.contact_name, found.note) == ("Maria", "send notes")
        assert found.due_at == NOW + timedelta(days=3)
        assert await store.queue.next_run_at() == NOW + timedelta(days=3)
    finally:
        await store.close()


@pytest.mark.sqlite_only
async def test_an_older_database_is_upgraded_and_a_newer_one_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    sqlite3.connect(old).close()  # version 0: an empty file from before the first migration
    store = await Stack.open(old)
    assert await store.db.schema_version() == SCHEMA_VERSION
    await store.close()

    newer = tmp_path / "newer.sqlite3"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer netcoach"):
        await Stack.open(newer)
    con = sqlite3.connect(newer)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    con.close()


async def test_users_are_keyed_by_platform_and_id(store: Stack) -> None:
    a = await store.users.ensure(UserRef("telegram", "42", "A"), NOW)
    b = await store.users.ensure(UserRef("discord", "42", "B"), NOW)
    renamed = await store.users.ensure(UserRef("telegram", "42", "A2"), NOW)
    assert a.id != b.id
    assert renamed.id == a.id and renamed.name == "A2"


async def test_someone_elses_follow_up_is_invisible_and_unchangeable(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    ben = await store.users.ensure(BEN, NOW)
    fu = await store.contacts.add(ana.id, "Maria", "", NOW + timedelta(days=1), NOW)
    assert await store.contacts.get(ben.id, fu.id) is None
    assert not await store.contacts.close(ben.id, fu.id, "done", NOW)
    assert not await store.contacts.reschedule(ben.id, fu.id, NOW + timedelta(days=9))
    mine = await store.contacts.get(ana.id, fu.id)
    assert mine is not None and mine.status == "active" and mine.due_at == fu.due_at


async def test_contacts_match_names_case_and_space_insensitively(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    await store.contacts.add(ana.id, "María  López", "", NOW + timedelta(days=1), NOW)
    await store.contacts.add(ana.id, "maría lópez", "", NOW + timedelta(days=2), NOW)
    contacts = await store.contacts.contacts(ana.id)
    assert [c.name for c in contacts] == ["María  López"]
    assert len(await store.contacts.of_user(ana.id, contact_id=contacts[0].id)) == 2


@pytest.mark.sqlite_only
async def test_odd_unicode_round_trips(store: Stack) -> None:
    ana = await store.users.ensure(UserRef("console", "ana", "Ana 🚀"), NOW)
    name = "Zoë 'Ž' 李 \u200d🧑‍💻"
    fu = await store.contacts.add(ana.id, name, "note ✓ \x00 end", NOW + timedelta(hours=1), NOW)
    again = await store.contacts.get(ana.id, fu.id)
    assert again is not None and again.contact_name == name and again.note == "note ✓ \x00 end"


async def test_closing_or_snoozing_replaces_the_queued_job(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    fu = await store.contacts.add(ana.id, "Maria", "", NOW + timedelta(days=1), NOW)
    assert await store.contacts.reschedule(ana.id, fu.id, NOW + timedelta(days=2))
    jobs = await store.jobs_for("followup", fu.id)
    assert [j.state for j in jobs] == ["cancelled", "pending"]
    assert jobs[-1].due_at == NOW + timedelta(days=2)
    assert await store.contacts.close(ana.id, fu.id, "done", NOW)
    assert [j.state for j in await store.jobs_for("followup", fu.id)] == ["cancelled"] * 2
    assert await store.queue.next_run_at() is None


async def test_only_expired_leases_are_taken_back_as_possible_repeats(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    await store.contacts.add(ana.id, "Maria", "", NOW, NOW)
    worker = JobQueue(store.db, owner="worker-1", lease_seconds=60)
    claimed = await worker.claim_due(NOW)
    assert len(claimed) == 1 and not claimed[0].repeat
    assert await store.queue.claim_due(NOW) == []  # claimed once only
    assert await store.queue.take_back(NOW + timedelta(seconds=59)) == 0  # a live lease
    assert await worker.renew(NOW + timedelta(seconds=50)) == 1  # its owner renews it
    assert await store.queue.take_back(NOW + timedelta(seconds=100)) == 0
    assert await store.queue.take_back(NOW + timedelta(seconds=111)) == 1  # expired
    again = await store.queue.claim_due(NOW + timedelta(seconds=111))
    assert [j.id for j in again] == [claimed[0].id] and again[0].repeat
    # The first owner's late outcome no longer applies: the job is someone else's now.
    await worker.finish(NOW, Outcomes(sent=[(claimed[0].id, "late")]))
    [job] = await store.queue.by_ids([claimed[0].id])
    assert job.state == "claimed"


async def test_a_process_starting_alone_on_its_store_takes_back_every_claim(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    await store.contacts.add(ana.id, "Maria", "", NOW, NOW)
    await JobQueue(store.db, owner="died", lease_seconds=3600).claim_due(NOW)
    assert await store.queue.take_back(NOW) == 0
    assert await store.queue.take_back(NOW, everything=True) == 1


@pytest.mark.sqlite_only
async def test_export_and_forget_cover_every_user_table(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    ben = await store.users.ensure(BEN, NOW)
    fu = await store.contacts.add(ana.id, "Maria", "notes", NOW + timedelta(days=1), NOW)
    contact = await store.contacts.find_contact(ana.id, "maria")
    assert contact is not None
    await store.contacts.add_bond(ana.id, contact.id, "both ran Berlin", NOW)
    await store.contacts.log_contact(ana.id, contact.id, NOW, "coffee", "contacted")
    await store.contacts.add(ben.id, "Maria", "", NOW + timedelta(days=1), NOW)
    # A table added by a later migration is found without changing export/forget.
    async with store.db.transaction() as tx:
        await tx.execute(
            "CREATE TABLE profiles (id INTEGER PRIMARY KEY, "
            "user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, bio TEXT)"
        )
        await tx.execute("INSERT INTO profiles (user_id, bio) VALUES (?, 'hi')", (ana.id,))
    await store.profile_repo.set_field(ana.id, "interests", [("sailing", "sailing")])
    await store.profile_repo.touch_membership(ana.id, "console:local", NOW)
    await store.history.set_history(ana.id, True)
    await store.history.add(ana.id, NOW, "dm", 80, "ready", [], "Hi Maria!")

    exported = await store.privacy_repo.export_user(ana)
    assert set(exported) >= {
        "users", "contacts", "bonds", "interactions", "followups", "jobs", "profiles",
        "profile_tags", "memberships", "drafts",
    }  # fmt: skip
    assert exported["followups"][0]["id"] == fu.id
    assert exported["bonds"][0]["text"] == "both ran Berlin"
    assert all(len(exported[t]) >= 1 for t in ("followups", "bonds", "profiles", "drafts"))

    counts = await store.privacy_repo.forget_user(ana)
    assert counts["users"] == 1 and counts["followups"] == 1 and counts["profiles"] == 1
    after = await store.privacy_repo.export_user(ana)
    assert all(rows == [] for rows in after.values())
    # Ben's data is untouched.
    assert len(await store.contacts.of_user(ben.id)) == 1
    assert await store.users.find(BEN) is not None


async def test_pending_draft_expectation_is_taken_once(store: Stack) -> None:
    ana = await store.users.ensure(ANA, NOW)
    await store.users.expect(ana, "draft:7")
    assert await store.users.take_expected(ANA) == "draft:7"
    assert await store.users.take_expected(ANA) is None
    assert await store.users.take_expected(UserRef("console", "nobody")) is None


@pytest.fixture
async def store(tmp_path: Path):
    opened = await Stack.open(tmp_path / "store.sqlite3")
    yield opened
    await opened.close()


async def test_forgotten_text_leaves_no_readable_bytes_in_the_file(tmp_path: Path) -> None:
    """Issue 11: with SQLite's default build, text deleted by /forget stayed readable in the
    file. secure_delete is per connection, so it is checked with a build where it is off by
    default (pysqlite3-binary's; Debian's own is built with it on)."""
    sqlite_off = pytest.importorskip("pysqlite3.dbapi2", reason="pysqlite3-binary not installed")
    probe = sqlite_off.connect(":memory:")
    assert probe.execute("PRAGMA secure_delete").fetchone()[0] == 0  # off by default there
    probe.close()
    path = tmp_path / "forget.sqlite3"
    db = await Database.open(path, driver=sqlite_off)
    store = Stack.wrap(db)
    try:
        assert (await db.one("PRAGMA secure_delete"))[0] == 1
        ana = await store.users.ensure(ANA, NOW)
        secret = "Zephyrine-Quolliberry-7731 wants the Lisbon contract"
        await store.contacts.add(ana.id, "Maria", secret, NOW + timedelta(days=1), NOW)
        await store.privacy_repo.forget_user(ana)
        await db.one("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    for file in tmp_path.iterdir():
        assert b"Zephyrine-Quolliberry" not in file.read_bytes(), file.name


async def test_more_users_than_one_query_can_list_are_all_found_by_id(tmp_path: Path) -> None:
    store = await Stack.open(tmp_path / "db.sqlite3")
    try:
        ids = [
            (await store.users.ensure(UserRef("console", f"u{n}", f"User {n}"), NOW)).id
            for n in range(1201)  # three IN (…) lists of at most 500
        ]
        found = await store.users.by_ids([*ids, ids[0]])
        assert sorted(found) == sorted(ids)
        assert found[ids[1200]].name == "User 1200"
    finally:
        await store.close()
