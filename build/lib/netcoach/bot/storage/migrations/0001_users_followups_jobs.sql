-- Users, their contacts and follow-ups, and the jobs queue every due item shares.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    timezone TEXT,
    prefs TEXT NOT NULL DEFAULT '{}',
    awaiting TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (platform, platform_user_id)
);
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    handle TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    last_contacted INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, name_key)
);
CREATE TABLE bonds (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX bonds_contact ON bonds(contact_id);
CREATE INDEX bonds_user ON bonds(user_id);
CREATE TABLE interactions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL
);
CREATE INDEX interactions_contact ON interactions(contact_id, at);
CREATE INDEX interactions_user ON interactions(user_id);
CREATE TABLE followups (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    note TEXT NOT NULL DEFAULT '',
    cadence TEXT,
    anchor INTEGER,
    occurrence INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'done', 'cancelled')),
    created_at INTEGER NOT NULL,
    closed_at INTEGER
);
CREATE INDEX followups_user ON followups(user_id, status, due_at);
CREATE INDEX followups_contact ON followups(contact_id);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id INTEGER NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    occurrence INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'claimed', 'sent', 'failed', 'undeliverable', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    repeat INTEGER NOT NULL DEFAULT 0,
    claimed_at INTEGER,
    sent_at INTEGER,
    message_id TEXT,
    error TEXT
);
CREATE INDEX jobs_pending ON jobs(run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_claimed ON jobs(id) WHERE state = 'claimed';
CREATE INDEX jobs_ref ON jobs(kind, ref_id);
CREATE INDEX jobs_user ON jobs(user_id, state);
