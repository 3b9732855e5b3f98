//! API tokens (`Authorization: Bearer wsh_…`): shown once at creation, kept as SHA-256.
//! Each has a short public id, used to list and revoke it.

use super::crypto::{random_token, token_hash};
use super::snapshot::TokenOwner;
use super::{now, Store, StoreError, User};

/// What every API token starts with (so a leaked one is recognizable by scanners).
pub(crate) const TOKEN_PREFIX: &str = "wsh_";
/// `last_used_at` is rewritten at most this often, so that using a token is not a write
/// on every request.
const LAST_USED_GRANULARITY: i64 = 60;
/// The longest label accepted, in characters.
const MAX_LABEL: usize = 200;

/// A token just created: the secret is in `token`, shown this once.
#[derive(Clone)]
pub(crate) struct NewToken {
    /// The token's public id.
    pub(crate) id: String,
    /// The secret: `wsh_` and 43 base64url characters.
    pub(crate) token: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What can be shown about a token: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct TokenInfo {
    /// The token's public id.
    pub(crate) id: String,
    /// Whose token it is.
    pub(crate) user: String,
    /// What its owner called it.
    pub(crate) label: String,
    /// When it was created, in unix seconds.
    pub(crate) created_at: i64,
    /// When it was last used (to the minute), in unix seconds.
    pub(crate) last_used_at: Option<i64>,
}

impl Store {
    /// Creates an API token for `user`; [`StoreError::NotFound`] for an unknown user.
    pub(crate) async fn create_token(
        &self,
        user: &str,
        label: &str,
    ) -> Result<NewToken, StoreError> {
        if label.chars().count() > MAX_LABEL {
            return Err(StoreError::Invalid(format!(
                "the token label is too long: at most {MAX_LABEL} characters"
            )));
        }
        let id = random_token(9);
        let token = format!("{TOKEN_PREFIX}{}", random_token(32));
        let done = sqlx::query(
            "INSERT INTO tokens (id, token_hash, label, created_at, user_name) \
             SELECT $1, $2, $3, $4, name FROM users WHERE name = $5",
        )
        .bind(&id)
        .bind(token_hash(&token))
        .bind(label)
        .bind(now())
        .bind(user)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user '{user}'")));
        }
        Ok(NewToken { id, token })
    }

    /// The owner of the API token `token`, if it is valid; records that it was used.
    pub(crate) async fn token_user(&self, token: &str) -> Result<Option<User>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let snapshot = self.snapshot().await?;
        let known = snapshot.as_ref().and_then(|s| s.tokens.get(&hash));
        let mut owner = match known {
            Some(owner) => owner,
            None => {
                let row: Option<(String, Option<i64>, String, i64, i64)> = sqlx::query_as(
                    "SELECT t.id, t.last_used_at, u.name, u.admin, u.created_at \
                     FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = $1",
                )
                .bind(&hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some((id, last_used_at, name, admin, created_at)) = row else {
                    return Ok(None);
                };
                TokenOwner {
                    id,
                    last_used_at,
                    user: User::from_row((name, admin, created_at)),
                }
            }
        };
        let now = now();
        if owner
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_GRANULARITY)
        {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&owner.id)
                .execute(&self.pool)
                .await?;
            owner.last_used_at = Some(now);
        }
        let user = owner.user.clone();
        if let Some(s) = snapshot {
            s.tokens.put(hash, owner);
        }
        Ok(Some(user))
    }

    /// The tokens of `user`, or of everyone; sorted by user, then creation, then id.
    pub(crate) async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        const COLUMNS: &str = "SELECT id, user_name, label, created_at, last_used_at FROM tokens";
        type Row = (String, String, String, i64, Option<i64>);
        let rows: Vec<Row> = match user {
            Some(user) => {
                sqlx::query_as(&format!("{COLUMNS} WHERE user_name = $1"))
                    .bind(user)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query_as(COLUMNS).fetch_all(&self.pool).await?,
        };
        let mut tokens: Vec<TokenInfo> = rows
            .into_iter()
            .map(|(id, user, label, created_at, last_used_at)| TokenInfo {
                id,
                user,
                label,
                created_at,
                last_used_at,
            })
            .collect();
        tokens.sort_by(|a, b| (&a.user, a.created_at, &a.id).cmp(&(&b.user, b.created_at, &b.id)));
        Ok(tokens)
    }

    /// Revokes the token with public id `id`, if it belongs to `owner` (any user's for
    /// `None`); `false` if there was no such token. One statement, so that the token checked
    /// is the token deleted.
    pub(crate) async fn delete_token(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = match owner {
            Some(owner) => {
                sqlx::query("DELETE FROM tokens WHERE id = $1 AND user_name = $2")
                    .bind(id)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM tokens WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }
}
