-- Communities (servers, groups): scheduled tips, intro coaching, members' notes.
CREATE TABLE communities (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    community TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    timezone TEXT,
    tips_state TEXT NOT NULL DEFAULT 'off' CHECK (tips_state IN ('off', 'on', 'stopped')),
    tips_channel TEXT,
    tips_channel_name TEXT NOT NULL DEFAULT '',
    tips_time TEXT NOT NULL DEFAULT '09:00',
    tips_every TEXT NOT NULL DEFAULT 'day',
    tips_playbooks TEXT NOT NULL DEFAULT '[]',
    tips_since INTEGER,
    tips_counted INTEGER NOT NULL DEFAULT 1,
    tips_messages INTEGER NOT NULL DEFAULT 0,
    tips_job INTEGER,
    tips_key TEXT,
    tips_note TEXT,
    intros_channel TEXT,
    intros_channel_name TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (platform, community)
);
CREATE INDEX communities_tips ON communities(platform, tips_channel);
CREATE INDEX communities_intros ON communities(platform, intros_channel);
CREATE TABLE community_tips (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX community_tips_community ON community_tips(community_id);
CREATE TABLE tip_rotations (
    platform TEXT NOT NULL,
    channel TEXT NOT NULL,
    cycle TEXT NOT NULL DEFAULT '[]',
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, channel)
);
CREATE TABLE intro_notes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    noted_at INTEGER NOT NULL,
    UNIQUE (user_id, community_id)
);
CREATE TABLE coach_optouts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    at INTEGER NOT NULL
);
CREATE TABLE tips_seen (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tip TEXT NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (user_id, tip)
);
