//! Workspace grants: which user may read, or read and write, which workspace. The workspace
//! may be one declared in the config file, so grants reference users but not workspaces.

use std::str::FromStr;

use super::{Store, StoreError};

/// A user's right on one workspace; written `"r"` or `"rw"` (in JSON, the CLI and the
/// database alike).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
pub(crate) enum Access {
    /// List, stat and download.
    #[serde(rename = "r")]
    Read,
    /// Everything `Read` allows, and upload, mkdir, delete, rename, copy, move.
    #[serde(rename = "rw")]
    ReadWrite,
}

impl Access {
    /// `"r"` or `"rw"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Access::Read => "r",
            Access::ReadWrite => "rw",
        }
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Access {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Access, StoreError> {
        match text {
            "r" => Ok(Access::Read),
            "rw" => Ok(Access::ReadWrite),
            other => Err(StoreError::Invalid(format!(
                "invalid access {other:?}: expected \"r\" (read) or \"rw\" (read-write)"
            ))),
        }
    }
}

fn stored_access(text: &str) -> Result<Access, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown access {text:?} in the acl table")))
}

fn sorted(rows: Vec<(String, String)>) -> Result<Vec<(String, Access)>, StoreError> {
    let mut out = rows
        .into_iter()
        .map(|(name, access)| Ok((name, stored_access(&access)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.sort();
    Ok(out)
}

impl Store {
    /// Gives `user` `access` to `workspace`, replacing any earlier grant;
    /// [`StoreError::NotFound`] for an unknown user.
    pub(crate) async fn grant(
        &self,
        workspace: &str,
        user: &str,
        access: Access,
    ) -> Result<(), StoreError> {
        if workspace.is_empty() {
            return Err(StoreError::Invalid(
                "a workspace id must not be empty".into(),
            ));
        }
        let done = sqlx::query(
            "INSERT INTO acl (workspace, access, user_name) \
             SELECT $1, $2, name FROM users WHERE name = $3 \
             ON CONFLICT (workspace, user_name) DO UPDATE SET access = excluded.access",
        )
        .bind(workspace)
        .bind(access.as_str())
        .bind(user)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user '{user}'")));
        }
        Ok(())
    }

    /// Removes `user`'s grant on `workspace`; `false` if there was none.
    pub(crate) async fn revoke(&self, workspace: &str, user: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM acl WHERE workspace = $1 AND user_name = $2")
            .bind(workspace)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// `user`'s grant on `workspace`, if any.
    pub(crate) async fn access(
        &self,
        workspace: &str,
        user: &str,
    ) -> Result<Option<Access>, StoreError> {
        let snapshot = self.snapshot().await?;
        let key = (workspace.to_owned(), user.to_owned());
        if let Some(access) = snapshot.as_ref().and_then(|s| s.grants.get(&key)) {
            return Ok(access);
        }
        let row: Option<(String,)> =
            sqlx::query_as("SELECT access FROM acl WHERE workspace = $1 AND user_name = $2")
                .bind(workspace)
                .bind(user)
                .fetch_optional(&self.pool)
                .await?;
        let access = row.map(|(access,)| stored_access(&access)).transpose()?;
        if let Some(s) = snapshot {
            s.grants.put(key, access);
        }
        Ok(access)
    }

    /// Who may use `workspace`, sorted by user.
    pub(crate) async fn acl(&self, workspace: &str) -> Result<Vec<(String, Access)>, StoreError> {
        let rows = sqlx::query_as("SELECT user_name, access FROM acl WHERE workspace = $1")
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?;
        sorted(rows)
    }

    /// The workspaces `user` was granted, sorted by workspace.
    pub(crate) async fn user_workspaces(
        &self,
        user: &str,
    ) -> Result<Vec<(String, Access)>, StoreError> {
        let rows = sqlx::query_as("SELECT workspace, access FROM acl WHERE user_name = $1")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        sorted(rows)
    }
}
