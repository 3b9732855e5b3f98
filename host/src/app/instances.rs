//! Which configuration each instance of a store serves, so that instances serving different
//! ones are noticed (during a rolling restart, `files` once pointed at two folders on two
//! instances, unseen). Each instance records a fingerprint of what it serves — its declared
//! workspaces, its plugin libraries, its manifests, host.toml's plugin switches, its public
//! URL and version — in the store (`serve`, refreshed every [`HEARTBEAT`]); `/readyz`, the
//! admin UI and `config check` compare it with the other live instances'.
//!
//! What is recorded tells nothing of the configuration to whoever reads the store: the
//! workspaces (whose params hold secrets) only as keyed digests, the libraries and manifests
//! as SHA-256 digests of public files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::app::{AppState, Shared};
use crate::config::Config;
use crate::manifest::Manifest;
use crate::plugins::registry::library_file_name;
use crate::store::{hex, InstanceRecord, Store, StoreError};

/// How often a running instance refreshes its row.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(10);
/// An instance whose row is older than this has stopped (or lost the store) and is not
/// compared.
pub(crate) const LIVE: Duration = Duration::from_secs(35);

/// What one instance serves, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Details {
    /// wshost's version.
    version: String,
    public_url: String,
    /// Declared workspace id → keyed digest of its declaration.
    workspaces: BTreeMap<String, String>,
    /// Plugin id → SHA-256 of its library, or `"absent"`.
    libraries: BTreeMap<String, String>,
    /// Plugin id → SHA-256 of its manifest, as read.
    manifests: BTreeMap<String, String>,
    /// Plugin id → `true` / `false`: host.toml's `[plugins] enabled` / `disabled`.
    switches: BTreeMap<String, bool>,
}

/// This instance, as it records itself.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    /// `host name:port`.
    pub(crate) name: String,
    pub(crate) fingerprint: String,
    pub(crate) details: Details,
}

/// Another live instance that serves something else.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Disagreement {
    pub(crate) instance: String,
    pub(crate) fingerprint: String,
    /// Seconds since it last refreshed its row.
    pub(crate) seen_secs_ago: i64,
    /// What differs, each as a phrase ("workspace 'files' differs").
    pub(crate) differences: Vec<String>,
}

impl Served {
    /// What `config` serves with `manifests`, recorded as `name`; reads every plugin library
    /// (run it off the async workers).
    pub(crate) fn of(
        name: String,
        config: &Config,
        manifests: &[Manifest],
        store: &Store,
    ) -> Served {
        let details = Details::of(config, manifests, store);
        Served {
            name,
            fingerprint: details.fingerprint(store),
            details,
        }
    }

    /// The row this instance writes, started at `started_at` (unix seconds).
    pub(crate) fn record(&self, started_at: i64) -> InstanceRecord {
        InstanceRecord {
            instance: self.name.clone(),
            fingerprint: self.fingerprint.clone(),
            details: serde_json::to_string(&self.details).expect("details serialize"),
            started_at,
            seen_at: started_at,
        }
    }

    /// The rows of the live instances, other than this one, that serve something else.
    pub(crate) async fn disagreeing(
        &self,
        store: &Store,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let mut live = store.live_instances(LIVE).await?;
        live.retain(|r| r.instance != self.name && r.fingerprint != self.fingerprint);
        Ok(live)
    }

    /// [`Served::disagreeing`], each with what differs.
    pub(crate) async fn disagreements(
        &self,
        store: &Store,
    ) -> Result<Vec<Disagreement>, StoreError> {
        let now = unix_now();
        Ok(self
            .disagreeing(store)
            .await?
            .into_iter()
            .map(|r| {
                let theirs: Details = serde_json::from_str(&r.details).unwrap_or_default();
                let mut differences = self.details.differences(&theirs);
                if differences.is_empty() {
                    // Same parts, other digests: a newer wshost that records more.
                    differences.push("its record is of another form".to_owned());
                }
                Disagreement {
                    instance: r.instance,
                    fingerprint: r.fingerprint,
                    seen_secs_ago: now.saturating_sub(r.seen_at).max(0),
                    differences,
                }
            })
            .collect())
    }
}

/// Now, in unix seconds, as the store counts `seen_at`.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Records this instance in the store now and every [`HEARTBEAT`] until the process ends,
/// and makes it known to `state.served` once its fingerprint is computed (in the
/// background: reading the libraries should not delay the start).
pub(crate) async fn keep_recorded(state: Shared) {
    let manifests: Vec<Manifest> = state
        .registry
        .records()
        .iter()
        .filter_map(|r| r.manifest.clone())
        .collect();
    let of = state.clone();
    let Ok(served) = tokio::task::spawn_blocking(move || {
        let name = instance_name(&of.config);
        Served::of(name, &of.config, &manifests, &of.store)
    })
    .await
    else {
        return;
    };
    let record = served.record(unix_now());
    tracing::info!(
        instance = %served.name,
        fingerprint = %served.fingerprint,
        "configuration fingerprint recorded"
    );
    let _ = state.served.set(served);
    loop {
        if let Err(e) = state.store.instance_seen(&record).await {
            // The store logs an outage itself, once.
            tracing::debug!("cannot record this instance: {e}");
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

/// Removes this instance's row: a clean stop, so the others stop comparing with it at once.
pub(crate) async fn forget(state: &AppState) {
    if let Some(served) = state.served.get() {
        if let Err(e) = state.store.instance_gone(&served.name).await {
            tracing::debug!("cannot remove this instance's record: {e}");
        }
    }
}

impl Disagreement {
    /// One line: `instance NAME (seen 3 s ago) serves another configuration than WHOSE: …`.
    pub(crate) fn line(&self, whose: &str) -> String {
        format!(
            "instance {} (seen {} s ago) serves another configuration than {whose}: {}",
            self.instance,
            self.seen_secs_ago,
            self.differences.join("; ")
        )
    }
}

impl Details {
    fn of(config: &Config, manifests: &[Manifest], store: &Store) -> Details {
        let workspaces = config
            .workspaces
            .iter()
            .map(|ws| {
                let declared = serde_json::json!({
                    "driver": ws.driver,
                    "label": ws.label,
                    "description": ws.description,
                    "params": ws.params,
                    "all_users": ws.all_users.map(crate::store::Access::as_str),
                });
                let bytes = serde_json::to_vec(&declared).expect("a declaration serializes");
                (ws.id.clone(), store.keyed_digest(&bytes))
            })
            .collect();
        let mut libraries = BTreeMap::new();
        let mut digests = BTreeMap::new();
        for m in manifests {
            if digests.contains_key(&m.id) {
                // As start-up does: the first manifest of an id is the one served.
                continue;
            }
            let file = library_file_name(&m.library);
            let digest = config
                .plugin_dirs
                .iter()
                .map(|d| d.join(&file))
                .find(|p| p.is_file())
                .and_then(|p| file_digest(&p).ok())
                .unwrap_or_else(|| "absent".to_owned());
            libraries.insert(m.id.clone(), digest);
            let text = serde_json::to_vec(m).expect("a manifest serializes");
            digests.insert(m.id.clone(), hex(&Sha256::digest(text)));
        }
        let switches = config
            .enabled
            .iter()
            .map(|id| (id.clone(), true))
            .chain(config.disabled.iter().map(|id| (id.clone(), false)))
            .collect();
        Details {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            public_url: config.public_url.clone(),
            workspaces,
            libraries,
            manifests: digests,
            switches,
        }
    }

    /// A keyed digest of everything, short enough to read.
    fn fingerprint(&self, store: &Store) -> String {
        let bytes = serde_json::to_vec(self).expect("details serialize");
        store.keyed_digest(&bytes)[..16].to_owned()
    }

    /// What differs between `self` (here) and `theirs` (there), each as a phrase.
    fn differences(&self, theirs: &Details) -> Vec<String> {
        let mut out = Vec::new();
        if self.version != theirs.version {
            out.push(format!(
                "wshost {} here, {} there",
                self.version, theirs.version
            ));
        }
        if self.public_url != theirs.public_url {
            out.push(format!(
                "public_url {} here, {} there",
                self.public_url, theirs.public_url
            ));
        }
        compare(&mut out, "workspace", &self.workspaces, &theirs.workspaces);
        compare(
            &mut out,
            "plugin library",
            &self.libraries,
            &theirs.libraries,
        );
        compare(&mut out, "manifest", &self.manifests, &theirs.manifests);
        let ids: BTreeSet<&String> = self.switches.keys().chain(theirs.switches.keys()).collect();
        let said = |s: Option<&bool>| match s {
            Some(true) => "enabled",
            Some(false) => "disabled",
            None => "not switched",
        };
        for id in ids {
            let (here, there) = (self.switches.get(id), theirs.switches.get(id));
            if here != there {
                out.push(format!(
                    "plugin '{id}' {} in host.toml here, {} there",
                    said(here),
                    said(there)
                ));
            }
        }
        out
    }
}

/// Adds to `out` how the maps of `what` differ: only here, only there, or other values.
fn compare(
    out: &mut Vec<String>,
    what: &str,
    here: &BTreeMap<String, String>,
    there: &BTreeMap<String, String>,
) {
    let ids: BTreeSet<&String> = here.keys().chain(there.keys()).collect();
    for id in ids {
        match (here.get(id), there.get(id)) {
            (Some(_), None) => out.push(format!("{what} '{id}' only here")),
            (None, Some(_)) => out.push(format!("{what} '{id}' only there")),
            (Some(a), Some(b)) if a != b => out.push(format!("{what} '{id}' differs")),
            _ => {}
        }
    }
}

/// The SHA-256 of the file at `path`, read in pieces (a library may be tens of MiB).
fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// The name an instance serving `config` records itself under: this machine's host name
/// (Linux; `localhost` when unknown) and the port it listens on.
fn instance_name(config: &Config) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", config.listen.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> Details {
        Details {
            version: "0.1.0".into(),
            public_url: "http://a".into(),
            workspaces: [("files".into(), "1".into()), ("docs".into(), "2".into())].into(),
            libraries: [("access.fs".into(), "L".into())].into(),
            manifests: [("access.fs".into(), "M".into())].into(),
            switches: [("access.s3".into(), true)].into(),
        }
    }

    #[test]
    fn every_difference_is_named_once() {
        let here = details();
        assert!(here.differences(&here.clone()).is_empty());
        let mut there = details();
        there.version = "0.2.0".into();
        there.workspaces.insert("files".into(), "other".into());
        there.workspaces.remove("docs");
        there.workspaces.insert("new".into(), "3".into());
        there.libraries.insert("access.fs".into(), "absent".into());
        there.switches.insert("access.s3".into(), false);
        assert_eq!(
            here.differences(&there),
            [
                "wshost 0.1.0 here, 0.2.0 there",
                "workspace 'docs' only here",
                "workspace 'files' differs",
                "workspace 'new' only there",
                "plugin library 'access.fs' differs",
                "plugin 'access.s3' enabled in host.toml here, disabled there",
            ]
        );
    }
}
