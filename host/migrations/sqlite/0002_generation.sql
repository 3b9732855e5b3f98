-- A counter of changes to what the request path reads (users, sessions, tokens, grants,
-- plugin toggles, workspaces), bumped by triggers in the same transaction as the change.
-- Hosts cache those reads per generation (host/src/store/snapshot.rs) and ask only this row
-- per request, so a change made by any instance or by the CLI holds on the next request.
-- Keep in step with ../postgres/0002_generation.sql.
CREATE TABLE generation (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO generation (id, value) VALUES (1, 0);

CREATE TRIGGER users_insert AFTER INSERT ON users BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER users_update AFTER UPDATE ON users BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER users_delete AFTER DELETE ON users BEGIN UPDATE generation SET value = value + 1; END;

CREATE TRIGGER sessions_insert AFTER INSERT ON sessions BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER sessions_update AFTER UPDATE ON sessions BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER sessions_delete AFTER DELETE ON sessions BEGIN UPDATE generation SET value = value + 1; END;

-- Recording that a token was used (`last_used_at`) changes nothing a request decides on.
CREATE TRIGGER tokens_insert AFTER INSERT ON tokens BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER tokens_update AFTER UPDATE OF id, token_hash, user_name ON tokens BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER tokens_delete AFTER DELETE ON tokens BEGIN UPDATE generation SET value = value + 1; END;

CREATE TRIGGER workspaces_insert AFTER INSERT ON workspaces BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER workspaces_update AFTER UPDATE ON workspaces BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER workspaces_delete AFTER DELETE ON workspaces BEGIN UPDATE generation SET value = value + 1; END;

CREATE TRIGGER acl_insert AFTER INSERT ON acl BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER acl_update AFTER UPDATE ON acl BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER acl_delete AFTER DELETE ON acl BEGIN UPDATE generation SET value = value + 1; END;

CREATE TRIGGER plugin_toggles_insert AFTER INSERT ON plugin_toggles BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER plugin_toggles_update AFTER UPDATE ON plugin_toggles BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER plugin_toggles_delete AFTER DELETE ON plugin_toggles BEGIN UPDATE generation SET value = value + 1; END;
