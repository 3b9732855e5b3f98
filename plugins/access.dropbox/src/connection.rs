//! Who may change a workspace's Dropbox connection: the rule behind connecting (starting or
//! completing an authorization) and disconnecting.
//!
//! The rule: whoever cannot administer a workspace cannot change what its other users see.
//! - A per-user connection (`TOKEN_SCOPE = user`) is the caller's own: any user the host let
//!   through connects and disconnects it.
//! - A shared connection (`TOKEN_SCOPE = workspace`) is what every user of the workspace reads
//!   and writes into: only an administrator connects or disconnects it.
//! - A service account (`REFRESH_TOKEN` set by an administrator) is never connected through
//!   the OAuth flow and never revoked by a request: it changes only with the parameter.
//!
//! The caller's rights come from the host in the call context
//! ([`plugin_api::CallContext::rights`]); a context without them (a host older than
//! plugin-api 1.0.1) counts as the least rights.

use plugin_api::{CallContext, ErrorKind, PluginError, Result};

use crate::config::{DropboxConfig, TokenScope};

/// Whose Dropbox account a workspace shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connection {
    /// Each user's own account (`TOKEN_SCOPE = user`).
    PerUser,
    /// One account for every user, connected through the OAuth flow (`TOKEN_SCOPE = workspace`).
    Shared,
    /// One account for every user, from the `REFRESH_TOKEN` parameter.
    ServiceAccount,
}

impl Connection {
    /// The connection kind of workspace `cfg`.
    pub(crate) fn of(cfg: &DropboxConfig) -> Connection {
        match (&cfg.refresh_token, cfg.token_scope) {
            (Some(_), _) => Connection::ServiceAccount,
            (None, TokenScope::User) => Connection::PerUser,
            (None, TokenScope::Workspace) => Connection::Shared,
        }
    }

    /// Refuses `ctx` unless it may connect workspace `ws` (start or complete an
    /// authorization).
    pub(crate) fn may_connect(self, ctx: &CallContext, ws: &str) -> Result<()> {
        match self {
            Connection::PerUser => Ok(()),
            Connection::Shared if ctx.is_admin() => Ok(()),
            Connection::Shared => Err(denied(format!(
                "workspace '{ws}' is not connected to Dropbox, and its connection is shared by \
                 all its users: an administrator connects it"
            ))),
            // Only reached when Dropbox refused the service account: the workspace is down
            // until an administrator sets a working refresh token.
            Connection::ServiceAccount => Err(PluginError::new(
                ErrorKind::Unavailable,
                format!(
                    "workspace '{ws}' uses a service account (its REFRESH_TOKEN parameter): \
                     nobody connects it through Dropbox's page; an administrator sets the parameter"
                ),
            )),
        }
    }

    /// Refuses `ctx` unless it may disconnect workspace `ws` (revoke its tokens and forget
    /// them).
    pub(crate) fn may_disconnect(self, ctx: &CallContext, ws: &str) -> Result<()> {
        match self {
            Connection::PerUser => Ok(()),
            Connection::Shared if ctx.is_admin() => Ok(()),
            Connection::Shared => Err(denied(format!(
                "the Dropbox connection of workspace '{ws}' is shared by all its users: only an \
                 administrator may disconnect it"
            ))),
            Connection::ServiceAccount if ctx.is_admin() => Err(PluginError::new(
                ErrorKind::Conflict,
                format!(
                    "workspace '{ws}' uses a service account (its REFRESH_TOKEN parameter), which \
                     a request never revokes: clear or replace the parameter instead"
                ),
            )),
            Connection::ServiceAccount => Err(denied(format!(
                "workspace '{ws}' uses a service account set by an administrator: it cannot be \
                 disconnected"
            ))),
        }
    }
}

fn denied(message: String) -> PluginError {
    PluginError::new(ErrorKind::PermissionDenied, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::testing::ctx;
    use plugin_api::{WorkspaceConfig, WorkspaceRights};

    fn connection(params: &[(&str, &str)]) -> Connection {
        let config = WorkspaceConfig {
            id: "db".into(),
            params: [("CLIENT_ID", "appkey")]
                .iter()
                .chain(params)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        Connection::of(&DropboxConfig::from_workspace(&config, "https://x.example").unwrap())
    }

    #[test]
    fn only_an_administrator_changes_what_other_users_see() {
        let per_user = connection(&[]);
        let shared = connection(&[("TOKEN_SCOPE", "workspace")]);
        let service = connection(&[("TOKEN_SCOPE", "user"), ("REFRESH_TOKEN", "r")]);
        assert_eq!(
            (per_user, shared, service),
            (
                Connection::PerUser,
                Connection::Shared,
                Connection::ServiceAccount
            )
        );
        let unknown = ctx("carol");
        let as_ = |r| ctx("carol").with_rights(r);
        let (read, write, admin) = (
            as_(WorkspaceRights::Read),
            as_(WorkspaceRights::Write),
            as_(WorkspaceRights::Admin),
        );
        // (connection, caller, may connect, may disconnect)
        let cases = [
            (per_user, &unknown, None, None),
            (per_user, &read, None, None),
            (per_user, &admin, None, None),
            (
                shared,
                &unknown,
                Some("an administrator connects it"),
                Some("only an administrator"),
            ),
            (
                shared,
                &read,
                Some("an administrator connects it"),
                Some("only an administrator"),
            ),
            (
                shared,
                &write,
                Some("an administrator connects it"),
                Some("only an administrator"),
            ),
            (shared, &admin, None, None),
            (
                service,
                &read,
                Some("service account"),
                Some("cannot be disconnected"),
            ),
            (
                service,
                &admin,
                Some("service account"),
                Some("never revokes"),
            ),
        ];
        for (conn, caller, connect, disconnect) in cases {
            let what = format!("{conn:?} as {:?}", caller.rights());
            let got = |r: Result<()>| r.err().map(|e| e.message);
            let (c, d) = (
                got(conn.may_connect(caller, "db")),
                got(conn.may_disconnect(caller, "db")),
            );
            assert_eq!(c.is_some(), connect.is_some(), "connect, {what}: {c:?}");
            assert_eq!(
                d.is_some(),
                disconnect.is_some(),
                "disconnect, {what}: {d:?}"
            );
            for (message, part) in [(c, connect), (d, disconnect)] {
                if let (Some(m), Some(p)) = (message, part) {
                    assert!(m.contains(p) && m.contains("'db'"), "{what}: {m}");
                }
            }
        }
    }
}
