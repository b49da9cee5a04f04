-- Opt-in profiles, community memberships for bonds, and opt-in draft history.
ALTER TABLE users ADD COLUMN profile_visibility TEXT NOT NULL DEFAULT 'off'
    CHECK (profile_visibility IN ('off', 'private', 'community'));
ALTER TABLE users ADD COLUMN keep_history INTEGER NOT NULL DEFAULT 0;
CREATE TABLE profile_tags (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    tag TEXT NOT NULL,
    display TEXT NOT NULL,
    UNIQUE (user_id, field, tag)
);
CREATE INDEX profile_tags_tag ON profile_tags(tag, user_id);
CREATE TABLE memberships (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    community TEXT NOT NULL,
    visible INTEGER NOT NULL DEFAULT 0,
    seen_at INTEGER NOT NULL,
    UNIQUE (user_id, community)
);
CREATE INDEX memberships_community ON memberships(community, visible, user_id);
CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    context TEXT NOT NULL,
    score INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    missed TEXT NOT NULL DEFAULT '[]',
    text TEXT NOT NULL
);
CREATE INDEX drafts_user ON drafts(user_id, at);
