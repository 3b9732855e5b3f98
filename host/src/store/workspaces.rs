//! Workspaces created at run time. Their params are one JSON object; the value of each
//! param named in `secret_params` is sealed on its own, bound to the workspace id and the
//! param name, and kept base64-encoded in that object.
//!
//! A workspace may be open to every signed-in user (`all_users`, "My files"), may be a
//! template users make their own workspaces from (`template_spec`), or may be one of those
//! (`template` and `owner`, fixed when it is made).

use std::collections::{BTreeMap, BTreeSet};

use super::crypto::{b64_decode, b64_encode, Aad};
use super::{now, Access, Backend, Store, StoreError};

/// What makes a workspace a template: which params each user fills in for their own
/// workspace, and how many a user may make. Stored as JSON in `template_spec`.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct TemplateSpec {
    /// The names of the params the user gives; the admin fixes every other param (and the
    /// user never sees those).
    pub(crate) user_params: BTreeSet<String>,
    /// How many workspaces one user may make from the template; `None`: no limit.
    pub(crate) max_per_user: Option<u32>,
}

/// A workspace as stored, with its params in clear (the store seals and opens the secret
/// ones). `Debug` shows param names only, never values.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct WorkspaceRecord {
    /// Unique id, used in `?ws=`.
    pub(crate) id: String,
    /// Display name.
    pub(crate) label: String,
    /// Longer text for people.
    pub(crate) description: String,
    /// The id of the driver plugin (`access.fs`).
    pub(crate) driver: String,
    /// The driver params, by name.
    pub(crate) params: BTreeMap<String, String>,
    /// The names of the params whose values are secret (encrypted at rest, never shown).
    pub(crate) secret_params: BTreeSet<String>,
    /// 1 when created, plus one per update. Set by the store.
    pub(crate) version: i64,
    /// When it was created, in unix seconds. Set by the store.
    pub(crate) created_at: i64,
    /// When it was last changed, in unix seconds. Set by the store.
    pub(crate) updated_at: i64,
    /// The access every signed-in user has without a grant; `None`: grants only.
    pub(crate) all_users: Option<Access>,
    /// `Some` when this workspace is a template users make their own workspaces from.
    pub(crate) template_spec: Option<TemplateSpec>,
    /// The template a user made this workspace from. Fixed when it is stored.
    pub(crate) template: Option<String>,
    /// The user who made it; deleting them deletes it. Fixed when it is stored.
    pub(crate) owner: Option<String>,
}

impl std::fmt::Debug for WorkspaceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceRecord")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("driver", &self.driver)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .field("secret_params", &self.secret_params)
            .field("version", &self.version)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("all_users", &self.all_users)
            .field("template_spec", &self.template_spec)
            .field("template", &self.template)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// A `workspaces` row: id, label, description, driver, params, secret_params, version,
/// created_at, updated_at, all_users, template_spec, template, owner.
type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLUMNS: &str = "SELECT id, label, description, driver, params, secret_params, version, \
                       created_at, updated_at, all_users, template_spec, template, owner \
                       FROM workspaces";

/// The limit an owned workspace is inserted under.
struct Quota<'a> {
    template: &'a str,
    owner: &'a str,
    max_per_user: Option<u32>,
}

impl Store {
    /// Stores a new workspace (version 1, timestamps now); [`StoreError::AlreadyExists`] if
    /// the id is taken. The new workspace starts with no grant and no plugin data: rows left
    /// under its id (by a config workspace of that id, or a grant stored before grants
    /// checked that their workspace exists) are deleted with the insert.
    pub(crate) async fn insert_workspace(&self, ws: &WorkspaceRecord) -> Result<(), StoreError> {
        self.insert(ws, None).await
    }

    /// Stores a workspace a user made from a template, as [`Store::insert_workspace`] does,
    /// unless its owner already has `max_per_user` workspaces from that template
    /// ([`StoreError::Limit`]; `None`: no limit). `ws.template` and `ws.owner` must be set
    /// ([`StoreError::Invalid`]), the owner must exist and the template must be one
    /// ([`StoreError::NotFound`], [`StoreError::Invalid`]).
    ///
    /// The count and the insert are one transaction no other insert for the same owner runs
    /// beside, on any instance, so two racing requests cannot both take the last place:
    /// SQLite's `BEGIN IMMEDIATE` takes the file's write lock before the count; PostgreSQL
    /// locks the owner's `users` row (`FOR UPDATE`), which exists, unlike the row that would
    /// break the limit.
    pub(crate) async fn insert_owned_workspace(
        &self,
        ws: &WorkspaceRecord,
        max_per_user: Option<u32>,
    ) -> Result<(), StoreError> {
        let (Some(template), Some(owner)) = (ws.template.as_deref(), ws.owner.as_deref()) else {
            return Err(StoreError::Invalid(format!(
                "workspace '{}' is made by a user from a template: it needs both",
                ws.id
            )));
        };
        let quota = Quota {
            template,
            owner,
            max_per_user,
        };
        self.insert(ws, Some(quota)).await
    }

    /// The one insert of a workspace, counted against `quota` when it has one.
    async fn insert(
        &self,
        ws: &WorkspaceRecord,
        quota: Option<Quota<'_>>,
    ) -> Result<(), StoreError> {
        if ws.id.is_empty() {
            return Err(StoreError::Invalid(
                "a workspace id must not be empty".into(),
            ));
        }
        let (params, secret_params) = self.seal_params(ws)?;
        let template_spec = encode_spec(ws)?;
        let now = now();
        let mut tx = match (&quota, self.backend) {
            (Some(_), Backend::Sqlite) => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool.begin().await?,
        };
        if let Some(quota) = &quota {
            check_quota(&mut tx, self.backend, quota).await?;
        }
        let done = sqlx::query(
            "INSERT INTO workspaces (id, label, description, driver, params, secret_params, \
             version, created_at, updated_at, all_users, template_spec, template, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&ws.id)
        .bind(&ws.label)
        .bind(&ws.description)
        .bind(&ws.driver)
        .bind(params)
        .bind(secret_params)
        .bind(1_i64)
        .bind(now)
        .bind(now)
        .bind(ws.all_users.map(|a| a.as_str()))
        .bind(template_spec)
        .bind(ws.template.as_deref())
        .bind(ws.owner.as_deref())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::AlreadyExists(format!("workspace '{}'", ws.id)));
        }
        for table in ["acl", "kv", "dav_props"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE workspace = $1"))
                .bind(&ws.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a workspace's label, description, driver, params (all of them: merging
    /// untouched secret params is the caller's job), `all_users` and `template_spec`, bumps
    /// its version and `updated_at`; [`StoreError::NotFound`] for an unknown id.
    /// `ws.version`, the timestamps, `ws.template` and `ws.owner` are ignored: where a
    /// workspace comes from and whose it is never change.
    pub(crate) async fn update_workspace(&self, ws: &WorkspaceRecord) -> Result<(), StoreError> {
        let (params, secret_params) = self.seal_params(ws)?;
        let template_spec = encode_spec(ws)?;
        let done = sqlx::query(
            "UPDATE workspaces SET label = $1, description = $2, driver = $3, params = $4, \
             secret_params = $5, all_users = $6, template_spec = $7, version = version + 1, \
             updated_at = $8 WHERE id = $9",
        )
        .bind(&ws.label)
        .bind(&ws.description)
        .bind(&ws.driver)
        .bind(params)
        .bind(secret_params)
        .bind(ws.all_users.map(|a| a.as_str()))
        .bind(template_spec)
        .bind(now())
        .bind(&ws.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("workspace '{}'", ws.id)));
        }
        Ok(())
    }

    /// One workspace, secret params decrypted.
    pub(crate) async fn workspace(&self, id: &str) -> Result<Option<WorkspaceRecord>, StoreError> {
        let snapshot = self.snapshot().await?;
        if let Some(ws) = snapshot.as_ref().and_then(|s| s.workspaces.get(id)) {
            return Ok(ws);
        }
        let row: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let ws = row.map(|row| self.open_row(row)).transpose()?;
        if let Some(s) = snapshot {
            s.workspaces.put(id.to_owned(), ws.clone());
        }
        Ok(ws)
    }

    /// All workspaces, sorted by id, secret params decrypted.
    pub(crate) async fn workspaces(&self) -> Result<Vec<WorkspaceRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(COLUMNS).fetch_all(&self.pool).await?;
        let mut all = rows
            .into_iter()
            .map(|row| self.open_row(row))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    /// The workspaces users made from `template`: those of `owner`, or everyone's; sorted
    /// by id, secret params decrypted.
    pub(crate) async fn made_from(
        &self,
        template: &str,
        owner: Option<&str>,
    ) -> Result<Vec<WorkspaceRecord>, StoreError> {
        let rows: Vec<Row> = match owner {
            Some(owner) => {
                sqlx::query_as(&format!("{COLUMNS} WHERE template = $1 AND owner = $2"))
                    .bind(template)
                    .bind(owner)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as(&format!("{COLUMNS} WHERE template = $1"))
                    .bind(template)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        // Sorted here, not by SQL: PostgreSQL would order by its collation.
        let mut all = rows
            .into_iter()
            .map(|row| self.open_row(row))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    /// Deletes a workspace with its grants, its plugins' key-value data and its WebDAV dead
    /// properties; `false` if there was no such workspace (then nothing is deleted: a
    /// config-declared workspace of that id keeps its grants). [`StoreError::InUse`] for a
    /// template users have made workspaces from: those go first.
    pub(crate) async fn delete_workspace(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The foreign key refuses it as well, but as a bare database error; this names the
        // reason. One made from it between this count and the delete meets the foreign key.
        let (instances,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM workspaces WHERE template = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if instances > 0 {
            return Err(StoreError::InUse(format!(
                "template '{id}' cannot be deleted: users made {instances} workspace(s) from \
                 it; delete those first"
            )));
        }
        let done = sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for table in ["acl", "kv", "dav_props"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE workspace = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The `params` and `secret_params` columns for `ws`.
    fn seal_params(&self, ws: &WorkspaceRecord) -> Result<(String, String), StoreError> {
        let mut params = BTreeMap::new();
        for (name, value) in &ws.params {
            let stored = if ws.secret_params.contains(name) {
                let aad = Aad::new("ws", &[&ws.id, name]);
                b64_encode(&self.cipher.seal(&aad, value.as_bytes())?)
            } else {
                value.clone()
            };
            params.insert(name.as_str(), stored);
        }
        let json = |value: serde_json::Result<String>| {
            value.map_err(|e| StoreError::Internal(format!("cannot encode params: {e}")))
        };
        Ok((
            json(serde_json::to_string(&params))?,
            json(serde_json::to_string(&ws.secret_params))?,
        ))
    }

    /// A record from a row, secret params decrypted.
    fn open_row(&self, row: Row) -> Result<WorkspaceRecord, StoreError> {
        let (
            id,
            label,
            description,
            driver,
            params,
            secret_params,
            version,
            created_at,
            updated_at,
            all_users,
            template_spec,
            template,
            owner,
        ) = row;
        let corrupt = |what: &str| {
            StoreError::Corrupt(format!("the {what} of workspace '{id}' are not valid JSON"))
        };
        let mut params: BTreeMap<String, String> =
            serde_json::from_str(&params).map_err(|_| corrupt("params"))?;
        let secret_params: BTreeSet<String> =
            serde_json::from_str(&secret_params).map_err(|_| corrupt("secret param names"))?;
        for name in &secret_params {
            if let Some(value) = params.get_mut(name) {
                let aad = Aad::new("ws", &[&id, name]);
                let plain = self.cipher.open(&aad, &b64_decode(value)?)?;
                *value = String::from_utf8(plain).map_err(|_| StoreError::Crypto)?;
            }
        }
        let all_users = all_users
            .map(|text| {
                text.parse::<Access>().map_err(|_| {
                    StoreError::Corrupt(format!(
                        "unknown all-users access {text:?} of workspace '{id}'"
                    ))
                })
            })
            .transpose()?;
        let template_spec = template_spec
            .map(|json| serde_json::from_str(&json).map_err(|_| corrupt("template spec")))
            .transpose()?;
        Ok(WorkspaceRecord {
            id,
            label,
            description,
            driver,
            params,
            secret_params,
            version,
            created_at,
            updated_at,
            all_users,
            template_spec,
            template,
            owner,
        })
    }
}

/// The `template_spec` column for `ws`.
fn encode_spec(ws: &WorkspaceRecord) -> Result<Option<String>, StoreError> {
    ws.template_spec
        .as_ref()
        .map(|spec| {
            serde_json::to_string(spec)
                .map_err(|e| StoreError::Internal(format!("cannot encode template spec: {e}")))
        })
        .transpose()
}

/// Refuses an owned workspace past its template's limit, inside the insert's transaction:
/// the owner must exist (on PostgreSQL its row is locked until the insert commits, so the
/// owner's inserts count one after the other) and the template must be one.
async fn check_quota(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    quota: &Quota<'_>,
) -> Result<(), StoreError> {
    let Quota {
        template,
        owner,
        max_per_user,
    } = *quota;
    let lock = match backend {
        // The transaction holds the file's write lock already.
        Backend::Sqlite => "SELECT name FROM users WHERE name = $1",
        Backend::Postgres => "SELECT name FROM users WHERE name = $1 FOR UPDATE",
    };
    let found: Option<(String,)> = sqlx::query_as(lock)
        .bind(owner)
        .fetch_optional(&mut *conn)
        .await?;
    if found.is_none() {
        return Err(StoreError::NotFound(format!("user '{owner}'")));
    }
    let spec: Option<(Option<String>,)> =
        sqlx::query_as("SELECT template_spec FROM workspaces WHERE id = $1")
            .bind(template)
            .fetch_optional(&mut *conn)
            .await?;
    match spec {
        None => return Err(StoreError::NotFound(format!("template '{template}'"))),
        Some((None,)) => {
            return Err(StoreError::Invalid(format!(
                "workspace '{template}' is not a template"
            )))
        }
        Some((Some(_),)) => {}
    }
    let Some(max) = max_per_user else {
        return Ok(());
    };
    let (made,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM workspaces WHERE template = $1 AND owner = $2")
            .bind(template)
            .bind(owner)
            .fetch_one(&mut *conn)
            .await?;
    if made >= i64::from(max) {
        let noun = |n: i64| if n == 1 { "workspace" } else { "workspaces" };
        return Err(StoreError::Limit(format!(
            "user '{owner}' already has {made} {} from template '{template}'; the template \
             allows {max}",
            noun(made)
        )));
    }
    Ok(())
}
