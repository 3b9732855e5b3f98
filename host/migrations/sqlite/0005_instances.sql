-- Issue 22: what is shared between the instances of one store beyond its data. Keep in step
-- with ../postgres/0005_instances.sql: same columns and meaning.

-- Each running instance's configuration fingerprint (declared workspaces, plugins,
-- manifests), so that instances serving different configurations are noticed. A row is
-- written at start, refreshed every few seconds and removed at a clean stop; one not
-- refreshed for a while belongs to an instance that died and is ignored, then removed.
CREATE TABLE instances (
    instance    TEXT PRIMARY KEY,        -- host name:port
    fingerprint TEXT NOT NULL,           -- keyed hash of details
    details     TEXT NOT NULL,           -- JSON: version, public_url, keyed hashes per part
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL
);

-- Failed logins per user name (lower-cased), counted by every instance together: a guesser
-- spreading attempts over the instances of a balancer meets one limit.
CREATE TABLE login_failures (
    user_name TEXT PRIMARY KEY,
    failures  INTEGER NOT NULL,
    since_ms  INTEGER NOT NULL                -- the window's start, unix milliseconds
);
CREATE INDEX login_failures_since ON login_failures (since_ms);
