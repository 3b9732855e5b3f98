//! The store's error type, and the scrubbing that keeps database credentials out of its
//! messages.
//!
//! Messages name what failed and what was expected; they never hold a secret: no password,
//! key, token or decrypted value, and no password from a database URL.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// The database could not be reached when the store was opened.
    #[error("cannot connect to the database at {url}: {}", redact(&.source.to_string()))]
    Connect {
        /// The database URL, with any password replaced by `***`.
        url: String,
        /// What the driver said.
        #[source]
        source: sqlx::Error,
    },
    /// The database cannot be reached: the connection was refused or cut, no pooled
    /// connection came within `database_acquire_timeout_secs`, or the server is shutting
    /// down or starting up. Requests answer 503 `store_unavailable`; the outage itself is
    /// logged once by [`super::health`].
    #[error("the database does not answer: {}", redact(&.0.to_string()))]
    Unavailable(sqlx::Error),
    /// A query failed (the database answered, with an error).
    #[error("database error: {}", redact(&.0.to_string()))]
    Database(sqlx::Error),
    /// Running the schema migrations failed.
    #[error("database migration failed: {}", redact(&.0.to_string()))]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The store is absent, or its schema is not the one this binary knows, and it may not
    /// be created or migrated here; says where it looked and what is wrong.
    #[error("{0}")]
    Schema(String),
    /// The secrets key decrypts nothing this store holds.
    #[error(
        "the secrets key does not match the one this store was created with (restore the \
         original key: without it the encrypted secrets cannot be read)"
    )]
    WrongKey,
    /// A secrets key that is not 32 bytes of base64; says which key and what was wrong.
    #[error("invalid secrets key: {0}")]
    BadKey(String),
    /// A value given to the store breaks a rule (a user name, an empty password...).
    #[error("{0}")]
    Invalid(String),
    /// Creating something that exists already; holds what, e.g. `user 'alice'`.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// Changing something that does not exist; holds what, e.g. `user 'alice'`.
    #[error("{0} does not exist")]
    NotFound(String),
    /// Deleting something others still depend on; says what and what depends on it, e.g.
    /// a template with workspaces made from it.
    #[error("{0}")]
    InUse(String),
    /// Creating one more of something a limit counts (a user's workspaces from one
    /// template); says whose, how many there are and how many are allowed.
    #[error("{0}")]
    Limit(String),
    /// A stored secret failed to decrypt: it was altered or copied from another row.
    #[error("a stored secret could not be decrypted: it was altered or does not belong here")]
    Crypto,
    /// A stored row holds something this version cannot read.
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// A WebDAV dead property (its XML, or its name or namespace) is larger than the store
    /// keeps; the WebDAV door answers 507 Insufficient Storage.
    #[error("the property '{name}' is {size} bytes: at most {max} are kept")]
    PropTooLarge {
        /// The property's local name (cut to 64 characters).
        name: String,
        /// Its size in bytes.
        size: usize,
        /// The most the store keeps.
        max: usize,
    },
    /// A resource would hold more WebDAV dead properties than the store keeps.
    #[error("{path} would have {count} properties: at most {max} are kept")]
    TooManyProps {
        /// The resource, as `workspace:/path`.
        path: String,
        /// How many it would have.
        count: usize,
        /// The most the store keeps.
        max: usize,
    },
    /// The owner XML of a WebDAV lock is larger than the store keeps.
    #[error("the lock owner is {size} bytes: at most {max} are kept")]
    LockOwnerTooLarge {
        /// Its size in bytes.
        size: usize,
        /// The most the store keeps.
        max: usize,
    },
    /// A file could not be read or written; names the file.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Every password slot stayed taken while the caller waited; try again after this long.
    #[error("too many password checks at once")]
    Busy(std::time::Duration),
    /// A blocking task (password hashing) panicked or was cancelled.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    /// Sorts a driver error: cannot reach the database ([`StoreError::Unavailable`], which
    /// marks the database unreachable in [`super::health`]) or any other database error.
    fn from(e: sqlx::Error) -> Self {
        if unreachable(&e) {
            super::health::failed(&redact(&e.to_string()));
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}

/// Whether `e` says the database cannot be reached (rather than that it refused a query):
/// an I/O error (refused, reset, timed out), no pooled connection in time, a closed pool, a
/// connection-class SQLSTATE (`08…`), or a server shutting down or starting up (`57P01`,
/// `57P02`, `57P03`).
pub(crate) fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl StoreError {
    /// Whether this is [`StoreError::Unavailable`], or a failed connection at open for the
    /// same reasons: the database may answer later.
    pub(crate) fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Connect { source, .. } => unreachable(source),
            StoreError::Migration(sqlx::migrate::MigrateError::Execute(e)) => unreachable(e),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Replaces the password in every `scheme://user:password@host` and every `password=value`
/// in `text` by `***`.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    redact_password_params(&out)
}

fn redact_password_params(text: &str) -> String {
    const NEEDLE: &str = "password=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.to_ascii_lowercase().find(NEEDLE) {
        out.push_str(&rest[..i + NEEDLE.len()]);
        out.push_str("***");
        let tail = &rest[i + NEEDLE.len()..];
        let end = tail
            .find(|c: char| c == '&' || c == '#' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_url_passwords() {
        let cases = [
            (
                "postgres://bob:s3cret@db:5432/x",
                "postgres://bob:***@db:5432/x",
            ),
            ("at postgres://bob@db/x ok", "at postgres://bob@db/x ok"),
            (
                "postgres://db/x?user=a&password=s3cret&x=1",
                "postgres://db/x?user=a&password=***&x=1",
            ),
            (
                "sqlite:///var/lib/wshost/wshost.db?mode=rwc",
                "sqlite:///var/lib/wshost/wshost.db?mode=rwc",
            ),
            (
                "a: postgresql://u:p%40ss@h/d, b: postgres://v:q@h",
                "a: postgresql://u:***@h/d, b: postgres://v:***@h",
            ),
            ("no url here", "no url here"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "input: {input}");
        }
    }
}
