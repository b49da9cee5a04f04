-- Several workers on one database: each platform update handled once, Discord shards
-- handed out with leases, and one pace for scheduled sends shared by every worker.
CREATE TABLE handled_updates (
    platform TEXT NOT NULL,
    update_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (platform, update_id)
);
CREATE INDEX handled_updates_at ON handled_updates(at);
CREATE TABLE shards (
    platform TEXT NOT NULL,
    shard INTEGER NOT NULL,
    total INTEGER NOT NULL,
    owner TEXT,
    lease_until INTEGER,
    PRIMARY KEY (platform, shard)
);
CREATE TABLE send_pace (
    platform TEXT PRIMARY KEY,
    next_ms INTEGER NOT NULL
);
