//! [`DropboxPlugin`] and [`DropboxDriver`]: the `Plugin` and `Driver` implementations of
//! `access.dropbox`, and the token handling every call goes through ([`DropboxDriver::call`]).
//! The small operations (stat, mkdir, delete, rename, copy, verify) live here.

use std::sync::Arc;

use plugin_api::{
    parent, ActionRequest, ActionResponse, ByteRange, ByteSource, CallContext, Capabilities,
    Driver, Entry, ErrorKind, Host, ListPage, PageRequest, Plugin, PluginError, ReadResult, Result,
    WorkspaceConfig, WriteOptions, WsPath,
};
use serde_json::{json, Value};

use crate::config::{DropboxConfig, TokenScope};
use crate::connection::Connection;
use crate::core::{Core, Metadata};
use crate::error::{shown, ApiError};
use crate::oauth::{self, GrantError};
use crate::{lister, reader, writer};

/// The `access.dropbox` plugin: opens a [`DropboxDriver`] per workspace and serves the OAuth2
/// callback `dropbox_oauth_authorize`.
#[derive(Debug)]
pub struct DropboxPlugin {
    core: Arc<Core>,
}

impl Plugin for DropboxPlugin {
    type Driver = DropboxDriver;
    const ID: &'static str = "access.dropbox";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const ACTIONS: &'static [&'static str] =
        &["dropbox_oauth_authorize", "dropbox_oauth_disconnect"];

    fn new(host: Host) -> Result<Self> {
        Ok(DropboxPlugin {
            core: Arc::new(Core::new(host)?),
        })
    }

    fn open(&self, config: WorkspaceConfig) -> Result<DropboxDriver> {
        let cfg = DropboxConfig::from_workspace(&config, &self.core.host.public_url())?;
        Ok(DropboxDriver {
            core: self.core.clone(),
            cfg,
        })
    }

    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            "dropbox_oauth_authorize" => {
                Ok(oauth::callback(&self.core.host, &self.core.http, ctx, &req))
            }
            other => Err(PluginError::unsupported(&format!(
                "action {other} without a workspace"
            ))),
        }
    }
}

/// One workspace: a folder of a Dropbox account (`ROOT`), reached with the caller's tokens.
///
/// Behaviour a client can observe:
/// - Without tokens (or once Dropbox has revoked them), every operation answers
///   `authorization_required` with a fresh authorize URL.
/// - Dropbox paths are case-insensitive: `A.txt` and `a.txt` are the same file.
/// - `mkdir` of a folder whose parent is missing answers `NotFound` (Dropbox itself would
///   create the parents).
pub struct DropboxDriver {
    core: Arc<Core>,
    cfg: DropboxConfig,
}

impl std::fmt::Debug for DropboxDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropboxDriver")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl DropboxDriver {
    pub(crate) fn cfg(&self) -> &DropboxConfig {
        &self.cfg
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Whose tokens this call uses.
    fn owner<'a>(&self, ctx: &'a CallContext) -> Result<&'a str> {
        if self.cfg.refresh_token.is_some() {
            return Ok("");
        }
        match (self.cfg.token_scope, ctx.user.as_deref()) {
            (_, Some(user)) => Ok(user),
            (TokenScope::Workspace, None) => Ok(""),
            (TokenScope::User, None) => Err(PluginError::new(
                ErrorKind::PermissionDenied,
                "this Dropbox workspace needs a logged-in user",
            )),
        }
    }

    /// The error that sends `user` to Dropbox's page — if they may connect this workspace
    /// (`connection`'s rule); else why not, without starting an authorization.
    fn authorization_required(&self, ctx: &CallContext, user: &str, why: &str) -> PluginError {
        if let Err(e) = Connection::of(&self.cfg).may_connect(ctx, &self.cfg.workspace) {
            return PluginError::new(e.kind, format!("{why}: {}", e.message));
        }
        match oauth::authorize_url(&self.core.host, &self.cfg, user, self.cfg.state_ttl) {
            Ok(url) => PluginError::authorization_required(
                format!(
                    "{why}: connect your Dropbox account to workspace '{}'",
                    self.cfg.workspace
                ),
                url,
            ),
            Err(e) => e,
        }
    }

    fn refreshed(
        &self,
        ctx: &CallContext,
        user: &str,
        tokens: &oauth::Tokens,
    ) -> Result<oauth::Tokens> {
        match oauth::refresh(&self.core.http, &self.cfg, tokens) {
            Ok(fresh) => {
                oauth::store(&self.core.host, &self.cfg, user, &fresh)?;
                Ok(fresh)
            }
            Err(GrantError::InvalidGrant) => {
                oauth::forget(&self.core.host, &self.cfg, user)?;
                Err(self.authorization_required(
                    ctx,
                    user,
                    "Dropbox no longer accepts this connection",
                ))
            }
            Err(GrantError::Other(e)) => Err(e),
        }
    }

    /// Runs `f` with the caller's access token: refreshes it when it is about to expire, and
    /// once more when Dropbox says `expired_access_token`; answers `authorization_required`
    /// when there is no usable grant.
    pub(crate) fn call<T>(
        &self,
        ctx: &CallContext,
        f: &mut dyn FnMut(&str) -> Result<T, ApiError>,
    ) -> Result<T> {
        let user = self.owner(ctx)?;
        let mut tokens = match (
            oauth::load(&self.core.host, &self.cfg, user)?,
            &self.cfg.refresh_token,
        ) {
            (Some(t), _) => t,
            // A configured refresh token: get a first access token with it.
            (None, Some(refresh)) => oauth::Tokens {
                access_token: String::new(),
                refresh_token: Some(refresh.clone()),
                expires_at: Some(0),
                account_id: None,
            },
            (None, None) => {
                return Err(self.authorization_required(ctx, user, "not connected to Dropbox"))
            }
        };
        if tokens.expires_soon() {
            tokens = self.refreshed(ctx, user, &tokens)?;
        }
        let mut refreshed = false;
        loop {
            match f(&tokens.access_token) {
                Ok(v) => return Ok(v),
                Err(ApiError::Failed(e)) => return Err(e),
                Err(ApiError::IncorrectOffset(n)) => {
                    return Err(PluginError::internal(format!(
                        "the Dropbox upload session is at byte {n}, not where this upload is"
                    )))
                }
                Err(ApiError::Expired) if !refreshed => {
                    refreshed = true;
                    tokens = self.refreshed(ctx, user, &tokens)?;
                }
                Err(ApiError::Expired | ApiError::Unauthorized(_)) => {
                    oauth::forget(&self.core.host, &self.cfg, user)?;
                    return Err(self.authorization_required(
                        ctx,
                        user,
                        "Dropbox refused the stored access",
                    ));
                }
            }
        }
    }

    /// An RPC call with the caller's token.
    pub(crate) fn rpc(
        &self,
        ctx: &CallContext,
        route: &str,
        arg: Value,
        what: &str,
    ) -> Result<Value> {
        self.call(ctx, &mut |token| {
            self.core.rpc(&self.cfg, token, route, &arg, what)
        })
    }

    fn metadata_of(answer: &Value, what: &str) -> Result<Metadata> {
        Metadata::parse(answer.get("metadata").unwrap_or(answer), what)
    }

    fn relocate(
        &self,
        ctx: &CallContext,
        route: &str,
        verb: &str,
        from: &WsPath,
        to: &WsPath,
    ) -> Result<Entry> {
        let what = format!("{verb} '{}' to '{}'", shown(from), shown(to));
        if from.is_empty() || to.is_empty() {
            return Err(PluginError::invalid_input(format!(
                "cannot {what}: the workspace root cannot be moved or replaced"
            )));
        }
        let arg = json!({
            "from_path": self.cfg.dropbox_path(from),
            "to_path": self.cfg.dropbox_path(to),
            "autorename": false,
            "allow_ownership_transfer": false,
        });
        let answer = self.rpc(ctx, route, arg, &what)?;
        Ok(Self::metadata_of(&answer, &what)?.entry(to.to_owned()))
    }
}

impl Driver for DropboxDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let what = format!("stat '{}'", shown(path));
        if self.cfg.dropbox_path(path).is_empty() {
            // Dropbox has no metadata for its root; checking the token keeps the answer honest.
            self.call(ctx, &mut |_| Ok(()))?;
            return Ok(Entry::dir(""));
        }
        let arg = json!({ "path": self.cfg.dropbox_path(path) });
        let answer = self.rpc(ctx, "files/get_metadata", arg, &what)?;
        let meta = Metadata::parse(&answer, &what)?;
        if meta.is("deleted") {
            return Err(PluginError::not_found(format!("cannot {what}: not found")));
        }
        Ok(meta.entry(path.to_owned()))
    }

    fn list(&self, ctx: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        lister::list(self, ctx, path, page)
    }

    fn read(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        range: Option<ByteRange>,
    ) -> Result<ReadResult> {
        reader::read(self, ctx, path, range)
    }

    fn write(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        writer::write(self, ctx, path, body, options)
    }

    fn mkdir(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let what = format!("create folder '{}'", shown(path));
        if path.is_empty() {
            return Err(PluginError::already_exists(format!(
                "cannot {what}: it is the workspace root"
            )));
        }
        let up = parent(path);
        if !up.is_empty() {
            match self.stat(ctx, up) {
                Ok(e) if e.is_dir => {}
                Ok(_) => {
                    return Err(PluginError::conflict(format!(
                        "cannot {what}: '{}' is a file",
                        shown(up)
                    )))
                }
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(PluginError::not_found(format!(
                        "cannot {what}: the folder '{}' does not exist",
                        shown(up)
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        let arg = json!({ "path": self.cfg.dropbox_path(path), "autorename": false });
        // The answer is a FolderMetadata struct: no union tag says it is a folder.
        self.rpc(ctx, "files/create_folder_v2", arg, &what)?;
        Ok(Entry::dir(path))
    }

    fn delete(&self, ctx: &CallContext, path: &WsPath) -> Result<()> {
        let what = format!("delete '{}'", shown(path));
        if path.is_empty() {
            return Err(PluginError::invalid_input(format!(
                "cannot {what}: the workspace root cannot be deleted"
            )));
        }
        self.rpc(
            ctx,
            "files/delete_v2",
            json!({ "path": self.cfg.dropbox_path(path) }),
            &what,
        )?;
        Ok(())
    }

    fn rename(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.relocate(ctx, "files/move_v2", "move", from, to)
    }

    fn copy(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.relocate(ctx, "files/copy_v2", "copy", from, to)
    }

    fn verify(&self, ctx: &CallContext) -> Result<String> {
        let what = "verify the Dropbox connection";
        let account = self.rpc(ctx, "users/get_current_account", Value::Null, what)?;
        let name = account["name"]["display_name"]
            .as_str()
            .unwrap_or("(no name)");
        let email = account["email"].as_str().unwrap_or("(no email)");
        let folder = if self.cfg.root.is_empty() {
            "the whole account".to_owned()
        } else {
            format!("folder {}", self.cfg.root)
        };
        Ok(format!(
            "connected to the Dropbox account of {name} <{email}>, showing {folder}"
        ))
    }

    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            "dropbox_oauth_disconnect" => {
                // A shared connection or a service account is not the caller's to revoke.
                Connection::of(&self.cfg).may_disconnect(ctx, &self.cfg.workspace)?;
                let user = self.owner(ctx)?;
                let had = match oauth::load(&self.core.host, &self.cfg, user)? {
                    Some(tokens) => {
                        oauth::revoke(&self.core.host, &self.core.http, &self.cfg, &tokens);
                        oauth::forget(&self.core.host, &self.cfg, user)?;
                        true
                    }
                    None => false,
                };
                Ok(ActionResponse::json(
                    json!({ "disconnected": had, "workspace": self.cfg.workspace }).to_string(),
                ))
            }
            other => Err(PluginError::unsupported(&format!("action {other}"))),
        }
    }
}
