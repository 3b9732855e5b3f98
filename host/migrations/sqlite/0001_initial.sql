-- wshost store, initial schema (SQLite). Keep in step with ../postgres/0001_initial.sql:
-- same tables, columns and meaning; only the types differ (BIGINT/BYTEA there).
-- Timestamps are unix seconds. Secrets are sealed by the host (nonce || ciphertext).

-- Store-wide facts; `key_check` holds a known plaintext sealed with the secrets key.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE users (
    name          TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,              -- argon2id PHC string
    admin         INTEGER NOT NULL DEFAULT 0, -- 0 or 1
    created_at    INTEGER NOT NULL
) STRICT;

-- Browser sessions; only the SHA-256 of the cookie value is kept.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE
) STRICT;
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- API tokens; only the SHA-256 of the token is kept.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    user_name    TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE
) STRICT;
CREATE INDEX tokens_user ON tokens (user_name);

-- Workspaces created at run time. `params` is a JSON object; the values of the names listed
-- in `secret_params` (a JSON array) are sealed and stored base64-encoded.
CREATE TABLE workspaces (
    id            TEXT PRIMARY KEY NOT NULL,
    label         TEXT NOT NULL,
    description   TEXT NOT NULL,
    driver        TEXT NOT NULL,
    params        TEXT NOT NULL,
    secret_params TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Grants. No foreign key on `workspace`: config-declared workspaces are not in the table.
CREATE TABLE acl (
    workspace TEXT NOT NULL,
    access    TEXT NOT NULL CHECK (access IN ('r', 'rw')),
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    PRIMARY KEY (workspace, user_name)
) STRICT;
CREATE INDEX acl_user ON acl (user_name);

-- Run-time enable/disable overrides of the deployment's plugin settings.
CREATE TABLE plugin_toggles (
    plugin     TEXT PRIMARY KEY NOT NULL,
    enabled    INTEGER NOT NULL, -- 0 or 1
    updated_at INTEGER NOT NULL
) STRICT;

-- Plugins' key-value data. '' in `workspace` / `user_name` means "not scoped to one".
CREATE TABLE kv (
    plugin     TEXT NOT NULL,
    workspace  TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    kv_key     TEXT NOT NULL,
    value      BLOB NOT NULL, -- sealed
    expires_at INTEGER,
    PRIMARY KEY (plugin, workspace, user_name, kv_key)
) STRICT;
CREATE INDEX kv_workspace ON kv (workspace);
CREATE INDEX kv_user ON kv (user_name);
CREATE INDEX kv_expiry ON kv (expires_at);
