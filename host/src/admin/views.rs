//! What a caller learns of a workspace or a plugin: typed views, serialized as the REST
//! API's JSON and read field by field by the UI and the CLI. The one place that decides what
//! a viewer sees; password values are never included, only whether they are set.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::app::AppState;
use crate::manifest::Manifest;
use crate::plugins::registry::{LoadState, Record};
use crate::plugins::workspaces::{Source, Workspace};
use crate::store::{Access, User};

use super::secret_names;

/// Who a workspace's view is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Viewer {
    /// An administrator (REST API or CLI): the definition too, secret values aside.
    Admin,
    /// A user with a grant: what the workspace is and their own access, never its
    /// parameters (host paths, provider endpoints and app ids are the administrator's).
    User(Access),
}

impl Viewer {
    /// How `user`, holding `access` on a workspace, sees it.
    pub(crate) fn of(user: &User, access: Access) -> Viewer {
        if user.admin {
            Viewer::Admin
        } else {
            Viewer::User(access)
        }
    }
}

/// A workspace as one viewer sees it.
#[derive(Debug, Serialize)]
pub(crate) struct WorkspaceView<'a> {
    pub(crate) id: &'a str,
    pub(crate) label: &'a str,
    pub(crate) description: &'a str,
    pub(crate) driver: &'a str,
    pub(crate) driver_label: &'a str,
    pub(crate) access: &'static str,
    /// Whether each user has their own (its params hold `{user}`).
    pub(crate) personal: bool,
    /// The template it was made from, and the user who made it (who owns it).
    pub(crate) template: Option<&'a str>,
    pub(crate) owner: Option<&'a str>,
    /// For administrators only.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) definition: Option<Definition<'a>>,
}

/// A workspace's definition, as administrators see it.
#[derive(Debug, Serialize)]
pub(crate) struct Definition<'a> {
    pub(crate) source: Source,
    pub(crate) read_only: bool,
    /// The access every signed-in user has without a grant.
    pub(crate) all_users: Option<Access>,
    /// The parameters, password parameters left out; keywords as written.
    pub(crate) params: BTreeMap<&'a str, &'a str>,
    /// The password parameters that have a value.
    pub(crate) secrets_set: Vec<&'a str>,
    /// Why the definition was refused, if it was.
    pub(crate) error: Option<&'a str>,
}

/// The label of driver `id`'s manifest, or the id when it has none.
pub(crate) fn driver_label<'a>(state: &'a AppState, id: &'a str) -> &'a str {
    state.registry.manifest(id).map_or(id, |m| m.label.as_str())
}

/// Workspace `ws` as `viewer` may see it.
pub(crate) fn workspace_view<'a>(
    state: &'a AppState,
    ws: &'a Workspace,
    viewer: Viewer,
) -> WorkspaceView<'a> {
    let (access, definition) = match viewer {
        Viewer::User(access) => (access, None),
        Viewer::Admin => (Access::ReadWrite, Some(definition(state, ws))),
    };
    WorkspaceView {
        id: &ws.id,
        label: &ws.label,
        description: &ws.description,
        driver: &ws.driver,
        driver_label: driver_label(state, &ws.driver),
        access: access.as_str(),
        personal: ws.per_user,
        template: ws.made.as_ref().map(|m| m.template.as_str()),
        owner: ws.made.as_ref().map(|m| m.owner.as_str()),
        definition,
    }
}

fn definition<'a>(state: &AppState, ws: &'a Workspace) -> Definition<'a> {
    let secrets = state
        .registry
        .manifest(&ws.driver)
        .map(secret_names)
        .unwrap_or_default();
    let (params, secrets_set, error) = match &ws.setup {
        Ok(cfg) => (
            cfg.params
                .iter()
                .filter(|(k, _)| !secrets.contains(*k))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            cfg.params
                .keys()
                .filter(|k| secrets.contains(*k))
                .map(String::as_str)
                .collect(),
            None,
        ),
        Err(reason) => (BTreeMap::new(), Vec::new(), Some(reason.as_str())),
    };
    Definition {
        source: ws.source,
        read_only: ws.source == Source::Config,
        all_users: ws.all_users,
        params,
        secrets_set,
        error,
    }
}

/// Where a plugin's library stands, as the views name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PluginStatus {
    Loaded,
    Refused,
    NotLoaded,
}

/// A plugin: its manifest, whether it is enabled, and its load status.
#[derive(Debug, Serialize)]
pub(crate) struct PluginView<'a> {
    pub(crate) id: &'a str,
    pub(crate) enabled: bool,
    pub(crate) status: PluginStatus,
    pub(crate) version: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) library: Option<&'a Path>,
    pub(crate) manifest_file: &'a Path,
    pub(crate) manifest: Option<&'a Manifest>,
}

/// Plugin record `r` under `toggles`.
pub(crate) fn plugin_view<'a>(
    state: &AppState,
    r: &'a Record,
    toggles: &BTreeMap<String, bool>,
) -> PluginView<'a> {
    let (status, version, reason) = match r.state() {
        LoadState::Loaded { version, .. } => (PluginStatus::Loaded, Some(version), None),
        LoadState::Refused(reason) => (PluginStatus::Refused, None, Some(reason)),
        LoadState::Idle => (PluginStatus::NotLoaded, None, None),
    };
    PluginView {
        id: &r.id,
        enabled: state.registry.is_enabled(&r.id, toggles),
        status,
        version,
        reason,
        library: r.library_path.as_deref(),
        manifest_file: &r.manifest_path,
        manifest: r.manifest.as_ref(),
    }
}
