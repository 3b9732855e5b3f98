//! [`DropboxPlugin`] and [`DropboxDriver`]: the `Plugin` and `Driver` implementations of
//! `access.dropbox`. The small operations (mkdir, delete, rename, copy, verify) live here; the
//! token handling every call goes through is `core`'s ([`Workspace::call`]).

use std::sync::Arc;

use plugin_api::{
    parent, ActionRequest, ActionResponse, ByteRange, ByteSource, CallContext, Capabilities,
    Driver, Entry, ErrorKind, Host, ListPage, PageRequest, Plugin, PluginError, ReadResult, Result,
    WorkspaceConfig, WriteOptions, WsPath,
};
use serde_json::{json, Value};

use crate::config::{DropboxConfig, TokenScope};
use crate::connection::Connection;
use crate::core::{Core, Metadata, Workspace};
use crate::error::shown;
use crate::oauth;
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
            ws: Workspace::new(self.core.clone(), cfg),
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
    ws: Workspace,
}

impl std::fmt::Debug for DropboxDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropboxDriver")
            .field("cfg", self.ws.cfg())
            .finish_non_exhaustive()
    }
}

impl DropboxDriver {
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
            "from_path": self.ws.cfg().dropbox_path(from),
            "to_path": self.ws.cfg().dropbox_path(to),
            "autorename": false,
            "allow_ownership_transfer": false,
        });
        let answer = self.ws.rpc(ctx, route, arg, &what)?;
        Ok(Self::metadata_of(&answer, &what)?.entry(to.to_owned()))
    }
}

impl Driver for DropboxDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        self.ws.stat(ctx, path)
    }

    fn list(&self, ctx: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        lister::list(&self.ws, ctx, path, page)
    }

    fn read(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        range: Option<ByteRange>,
    ) -> Result<ReadResult> {
        reader::read(&self.ws, ctx, path, range)
    }

    fn write(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        writer::write(&self.ws, ctx, path, body, options)
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
        let arg = json!({ "path": self.ws.cfg().dropbox_path(path), "autorename": false });
        // The answer is a FolderMetadata struct: no union tag says it is a folder.
        self.ws.rpc(ctx, "files/create_folder_v2", arg, &what)?;
        Ok(Entry::dir(path))
    }

    fn delete(&self, ctx: &CallContext, path: &WsPath) -> Result<()> {
        let what = format!("delete '{}'", shown(path));
        if path.is_empty() {
            return Err(PluginError::invalid_input(format!(
                "cannot {what}: the workspace root cannot be deleted"
            )));
        }
        self.ws.rpc(
            ctx,
            "files/delete_v2",
            json!({ "path": self.ws.cfg().dropbox_path(path) }),
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
        let cfg = self.ws.cfg();
        // The console (or a workspace being created) has no account of its own here, and
        // must not start an authorization nobody will finish.
        if ctx.user.is_none() && cfg.refresh_token.is_none() {
            if cfg.token_scope == TokenScope::User {
                return Ok(
                    "each user connects their own Dropbox account on first use; \
                           nothing to check until then (sign in and verify to check yours)"
                        .into(),
                );
            }
            if oauth::load(&self.ws.core().host, cfg, "")?.is_none() {
                return Ok(
                    "not connected yet: an administrator connects it from the file \
                           browser; nothing to check until then"
                        .into(),
                );
            }
        }
        let account = self
            .ws
            .rpc(ctx, "users/get_current_account", Value::Null, what)?;
        let name = account["name"]["display_name"]
            .as_str()
            .unwrap_or("(no name)");
        let email = account["email"].as_str().unwrap_or("(no email)");
        let folder = if self.ws.cfg().root.is_empty() {
            "the whole account".to_owned()
        } else {
            format!("folder {}", self.ws.cfg().root)
        };
        Ok(format!(
            "connected to the Dropbox account of {name} <{email}>, showing {folder}"
        ))
    }

    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            "dropbox_oauth_disconnect" => {
                // A shared connection or a service account is not the caller's to revoke.
                Connection::of(self.ws.cfg()).may_disconnect(ctx, &self.ws.cfg().workspace)?;
                let user = self.ws.owner(ctx)?;
                let had = match oauth::load(&self.ws.core().host, self.ws.cfg(), user)? {
                    Some(tokens) => {
                        oauth::revoke(
                            &self.ws.core().host,
                            &self.ws.core().http,
                            self.ws.cfg(),
                            &tokens,
                        );
                        oauth::forget(&self.ws.core().host, self.ws.cfg(), user)?;
                        true
                    }
                    None => false,
                };
                Ok(ActionResponse::json(
                    json!({ "disconnected": had, "workspace": self.ws.cfg().workspace })
                        .to_string(),
                ))
            }
            other => Err(PluginError::unsupported(&format!("action {other}"))),
        }
    }
}
