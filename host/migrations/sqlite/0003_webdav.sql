-- WebDAV locks and dead properties, in the store rather than in one process's memory, so that
-- every instance sharing a database sees the same ones. Keep in step with
-- ../postgres/0003_webdav.sql. Not counted by the generation triggers (0002): no request
-- snapshot reads these tables.

-- Locks (RFC 4918 section 6). `path` is the key the conflict rules compare: the request path
-- below the WebDAV prefix, percent-encoded the one way dav-server encodes it, without the
-- trailing slash of a collection ('/ws/dir'), '' for the root; everything under it is
-- `path || '/' ...`. `href` is the path as it was locked (a collection keeps its slash), for
-- the lock root shown to clients. Expired rows are ignored by every query and swept.
CREATE TABLE dav_locks (
    token        TEXT PRIMARY KEY NOT NULL,
    path         TEXT NOT NULL,
    href         TEXT NOT NULL,
    principal    TEXT,                                 -- the user name that took it
    owner        BLOB,                                 -- the client's <D:owner> element, as XML
    shared       INTEGER NOT NULL CHECK (shared IN (0, 1)),
    deep         INTEGER NOT NULL CHECK (deep IN (0, 1)), -- Depth: infinity
    timeout_secs INTEGER NOT NULL,                     -- as granted, shown as Second-N
    expires_ms   INTEGER NOT NULL,                     -- unix milliseconds
    created_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX dav_locks_path ON dav_locks (path);
CREATE INDEX dav_locks_expiry ON dav_locks (expires_ms);

-- Dead properties (PROPPATCH), per resource: `path` is the driver path in the workspace
-- (relative, no leading or trailing slash, '' for the workspace root). `namespace` is '' for
-- a property in no namespace. `xml` is the whole property element as the client sent it.
CREATE TABLE dav_props (
    workspace TEXT NOT NULL,
    path      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    prefix    TEXT,
    xml       BLOB,
    PRIMARY KEY (workspace, path, namespace, name)
) STRICT;
