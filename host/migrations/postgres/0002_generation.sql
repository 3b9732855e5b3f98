-- A counter of changes to what the request path reads (users, sessions, tokens, grants,
-- plugin toggles, workspaces), bumped by triggers in the same transaction as the change.
-- Hosts cache those reads per generation (host/src/store/snapshot.rs) and ask only this row
-- per request, so a change made by any instance or by the CLI holds on the next request.
-- Keep in step with ../sqlite/0002_generation.sql.
CREATE TABLE generation (
    id    BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);

CREATE FUNCTION wshost_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION wshost_bump_generation();
CREATE TRIGGER sessions_changed AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION wshost_bump_generation();
-- Recording that a token was used (`last_used_at`) changes nothing a request decides on.
CREATE TRIGGER tokens_changed AFTER INSERT OR DELETE OR UPDATE OF id, token_hash, user_name ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION wshost_bump_generation();
CREATE TRIGGER workspaces_changed AFTER INSERT OR UPDATE OR DELETE ON workspaces
    FOR EACH STATEMENT EXECUTE FUNCTION wshost_bump_generation();
CREATE TRIGGER acl_changed AFTER INSERT OR UPDATE OR DELETE ON acl
    FOR EACH STATEMENT EXECUTE FUNCTION wshost_bump_generation();
CREATE TRIGGER plugin_toggles_changed AFTER INSERT OR UPDATE OR DELETE ON plugin_toggles
    FOR EACH STATEMENT EXECUTE FUNCTION wshost_bump_generation();
