//! Browser sessions. The cookie value is 32 random bytes in base64url; the store keeps only
//! its SHA-256, so a copy of the database opens no session. Each session carries its own
//! CSRF token (Pydio's `secure_token`).

use std::time::Duration;

use super::crypto::{random_token, token_hash};
use super::{expiry, now, Store, StoreError, User};

/// A session just created: the cookie value and CSRF token, shown this once.
#[derive(Clone)]
pub(crate) struct NewSession {
    /// The cookie value.
    pub(crate) token: String,
    /// The CSRF token state-changing requests must carry.
    pub(crate) csrf: String,
    /// When the session ends, in unix seconds.
    pub(crate) expires_at: i64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A live session.
#[derive(Clone)]
pub(crate) struct Session {
    /// Whose session it is.
    pub(crate) user: User,
    /// The CSRF token of this session.
    pub(crate) csrf: String,
    /// When the session ends, in unix seconds.
    pub(crate) expires_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a session for `user` lasting `ttl`; [`StoreError::NotFound`] for an unknown
    /// user.
    pub(crate) async fn create_session(
        &self,
        user: &str,
        ttl: Duration,
    ) -> Result<NewSession, StoreError> {
        let token = random_token(32);
        let csrf = random_token(32);
        let expires_at = expiry(ttl);
        let done = sqlx::query(
            "INSERT INTO sessions (token_hash, csrf, created_at, expires_at, user_name) \
             SELECT $1, $2, $3, $4, name FROM users WHERE name = $5",
        )
        .bind(token_hash(&token))
        .bind(&csrf)
        .bind(now())
        .bind(expires_at)
        .bind(user)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user '{user}'")));
        }
        Ok(NewSession {
            token,
            csrf,
            expires_at,
        })
    }

    /// The session whose cookie value is `token`; `None` if unknown or expired (an expired
    /// one is deleted).
    pub(crate) async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let hash = token_hash(token);
        let snapshot = self.snapshot().await?;
        if let Some(session) = snapshot.as_ref().and_then(|s| s.sessions.get(&hash)) {
            if session.expires_at > now() {
                return Ok(Some(session));
            }
        }
        let row: Option<(String, i64, String, i64, i64)> = sqlx::query_as(
            "SELECT s.csrf, s.expires_at, u.name, u.admin, u.created_at \
             FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((csrf, expires_at, name, admin, created_at)) = row else {
            return Ok(None);
        };
        if expires_at <= now() {
            self.delete_session_hash(&hash).await?;
            return Ok(None);
        }
        let session = Session {
            user: User::from_row((name, admin, created_at)),
            csrf,
            expires_at,
        };
        if let Some(s) = snapshot {
            s.sessions.put(hash, session.clone());
        }
        Ok(Some(session))
    }

    /// Ends the session whose cookie value is `token` (nothing if there is none).
    pub(crate) async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        self.delete_session_hash(&token_hash(token)).await
    }

    async fn delete_session_hash(&self, hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
