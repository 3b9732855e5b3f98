//! Users: a name (which is the id), an argon2id password hash, an admin flag.
//!
//! Hashing runs in `passwords` (argon2id, bounded in concurrency and memory). Checking the
//! password of an unknown user verifies a dummy hash, so both answers take about as long.

use std::sync::OnceLock;

use super::passwords::{hash as hash_password, verify as verify_password};
use super::{now, Store, StoreError};

/// The longest user name accepted.
const MAX_NAME: usize = 64;

/// A user as the rest of the host sees it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct User {
    /// The user's name, which is also their id: `[A-Za-z0-9._-]{1,64}`.
    pub(crate) name: String,
    /// Whether the user may administer the host.
    pub(crate) admin: bool,
    /// When the user was created, in unix seconds.
    pub(crate) created_at: i64,
}

impl User {
    pub(super) fn from_row((name, admin, created_at): (String, i64, i64)) -> User {
        User {
            name,
            admin: admin != 0,
            created_at,
        }
    }
}

/// What a user name is made of, as clients are told.
pub(crate) const USER_NAME_RULE: &str =
    "a user name is 1 to 64 characters among A-Z, a-z, 0-9, '.', '_' and '-'";

/// Whether `name` can be a user's name: 1 to 64 of `A-Z a-z 0-9 . _ -`. Checked before a
/// login does anything with a name, so nothing longer is ever kept or logged.
pub(crate) fn is_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks a new user name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub(crate) fn validate_user_name(name: &str) -> Result<(), StoreError> {
    if is_user_name(name) {
        Ok(())
    } else {
        // The name is quoted only when short: the message goes back to the client.
        let shown: String = name.chars().take(MAX_NAME + 1).collect();
        Err(StoreError::Invalid(format!(
            "invalid user name {shown:?}: expected 1 to {MAX_NAME} characters among A-Z, a-z, \
             0-9, '.', '_' and '-'"
        )))
    }
}

fn validate_password(password: &str) -> Result<(), StoreError> {
    if password.is_empty() {
        return Err(StoreError::Invalid("the password must not be empty".into()));
    }
    Ok(())
}

/// A hash of a random password, verified against for unknown users.
async fn dummy_hash() -> Result<String, StoreError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password(&super::crypto::random_token(16)).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

impl Store {
    /// Creates a user; [`StoreError::AlreadyExists`] if the name is taken.
    pub(crate) async fn create_user(
        &self,
        name: &str,
        password: &str,
        admin: bool,
    ) -> Result<User, StoreError> {
        validate_user_name(name)?;
        validate_password(password)?;
        let hash = hash_password(password).await?;
        let created_at = now();
        let done = sqlx::query(
            "INSERT INTO users (name, password_hash, admin, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(hash)
        .bind(i64::from(admin))
        .bind(created_at)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::AlreadyExists(format!("user '{name}'")));
        }
        Ok(User {
            name: name.to_owned(),
            admin,
            created_at,
        })
    }

    /// The user, if `name` exists and `password` is theirs; `None` otherwise (unknown user
    /// and wrong password look the same, and take about as long).
    pub(crate) async fn check_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, password_hash, admin, created_at FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some((name, hash, admin, created_at)) => {
                let ok = verify_password(password, hash).await?;
                Ok(ok.then(|| User::from_row((name, admin, created_at))))
            }
            None => {
                verify_password(password, dummy_hash().await?).await?;
                Ok(None)
            }
        }
    }

    /// Replaces a user's password and ends all their sessions; [`StoreError::NotFound`] for
    /// an unknown user. API tokens stay valid.
    pub(crate) async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        validate_password(password)?;
        let hash = hash_password(password).await?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(hash)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user '{name}'")));
        }
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One user.
    pub(crate) async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query_as("SELECT name, admin, created_at FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(User::from_row))
    }

    /// All users, sorted by name.
    pub(crate) async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query_as("SELECT name, admin, created_at FROM users")
            .fetch_all(&self.pool)
            .await?;
        let mut users: Vec<User> = rows.into_iter().map(User::from_row).collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
    }

    /// Deletes a user with their sessions, tokens, grants and key-value data, and the
    /// workspaces they made from templates with those workspaces' grants, key-value data and
    /// WebDAV dead properties; `false` if there was no such user.
    pub(crate) async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Before the user goes: the cascade would delete their workspaces, and with them
        // the list of ids these rows are found by (they have no foreign key on `workspace`).
        for table in ["acl", "kv", "dav_props"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE workspace IN (SELECT id FROM workspaces WHERE owner = $1)"
            ))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // The foreign keys cascade too; explicit deletes keep this true whatever the
        // connection's settings, and kv rows have no foreign key ('' means "no user").
        sqlx::query("DELETE FROM workspaces WHERE owner = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        for table in ["sessions", "tokens", "acl", "kv"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_name = $1"))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// How many users exist (0 on first start: time to create the first admin).
    pub(crate) async fn user_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}
