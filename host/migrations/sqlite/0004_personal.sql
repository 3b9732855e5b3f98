-- Per-user workspaces and templates (issue 23). Keep in step with
-- ../postgres/0004_personal.sql: same columns and meaning. The generation triggers (0002)
-- already count every change to `workspaces`, including the rows a user's deletion
-- cascades to.
--
-- SQLite adds a column with a REFERENCES clause only if its default is NULL (checked while
-- foreign keys are on), which these have; existing rows read NULL in all four: an ordinary
-- workspace, no template, no owner, no access without a grant.

-- The access every signed-in user has without a grant ("My files"); NULL: only grants.
ALTER TABLE workspaces ADD COLUMN all_users TEXT CHECK (all_users IN ('r', 'rw'));
-- Non-NULL marks the row as a template users make their own workspaces from: JSON
-- {"user_params": ["NAME", ...], "max_per_user": 3 or null}, the params the user fills in
-- (the admin fixes every other one) and how many workspaces one user may make from it.
ALTER TABLE workspaces ADD COLUMN template_spec TEXT;
-- The template a user made this workspace from. No action on delete: a template cannot go
-- while workspaces made from it exist.
ALTER TABLE workspaces ADD COLUMN template TEXT REFERENCES workspaces (id);
-- The user who made it; their workspaces go with them.
ALTER TABLE workspaces ADD COLUMN owner TEXT REFERENCES users (name) ON DELETE CASCADE;

-- Counting a user's workspaces from one template (the limit) and listing a template's.
CREATE INDEX workspaces_template ON workspaces (template, owner);
-- What a user's deletion cascades to.
CREATE INDEX workspaces_owner ON workspaces (owner);
