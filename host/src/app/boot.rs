//! Start-up, in dependency order: the store (migrations, secrets key, first admin), the
//! manifests, the workspaces (validated against them), then the plugins (whose host services
//! need the store and the workspaces). A bad manifest, library or workspace is refused on its
//! own and logged; only a store that cannot be opened stops the host.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::app::AppState;
use crate::config::{Config, Database, SecretKeySource};
use crate::manifest::{self, Manifest};
use crate::plugins::registry::Registry;
use crate::plugins::services::PluginServices;
use crate::plugins::workspaces::Workspaces;
use crate::store::{SecretKey, Store};

/// The first pause between two attempts to reach the database at start-up, and the longest.
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// Opens the store the config names, creating the SQLite file and the secrets key on first
/// start (`serve` only). A database that cannot be reached is tried again with
/// backoff (each retry logged with its cause) until `database_startup_wait_secs` have passed;
/// any other failure (a wrong key, a refused login, a failed migration) stops at once.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let key = match &config.secret_key {
        SecretKeySource::Given(text) => SecretKey::from_base64(text)
            .context("the secrets key (secret_key / WSHOST_SECRET_KEY) is invalid")?,
        SecretKeySource::File(path) => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!(
                    "cannot create the data folder {}",
                    config.data_dir.display()
                )
            })?;
            let (key, created) = SecretKey::load_or_create(path)
                .with_context(|| format!("cannot read the secrets key {}", path.display()))?;
            if created {
                tracing::warn!(
                    "generated a new secrets key in {}: back it up, encrypted data cannot be read without it",
                    path.display()
                );
            }
            key
        }
    };
    let url = match &config.database {
        Database::Sqlite(path) => crate::store::sqlite_url(path)?,
        Database::Postgres(url) => url.clone(),
    };
    wait_for_database(config, || async {
        Store::open_with(&url, key.clone(), config.database_acquire_timeout)
            .await
            .with_context(|| format!("cannot open the store {:?}", config.database))
    })
    .await
}

/// Runs `open` until it succeeds, or fails otherwise than by an unreachable database, or
/// `database_startup_wait_secs` have passed: `serve`'s start-up, with or without migrations,
/// rides out a database that is still coming up. Each retry is logged with its cause.
async fn wait_for_database<F, Opening>(config: &Config, open: F) -> anyhow::Result<Store>
where
    F: Fn() -> Opening,
    Opening: std::future::Future<Output = anyhow::Result<Store>>,
{
    let budget = config.database_startup_wait;
    let started = Instant::now();
    let mut pause = FIRST_RETRY;
    let mut retries = 0u32;
    loop {
        let error = match open().await {
            Ok(store) => {
                if retries > 0 {
                    tracing::info!(
                        "the database answered after {retries} retries ({} s)",
                        started.elapsed().as_secs()
                    );
                }
                return Ok(store);
            }
            Err(e) => e,
        };
        let unavailable = error.chain().any(|cause| {
            cause
                .downcast_ref::<crate::store::StoreError>()
                .is_some_and(crate::store::StoreError::is_unavailable)
        });
        if !unavailable || budget.is_zero() {
            return Err(error);
        }
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(error.context(format!(
                "the database did not answer within {} s (database_startup_wait_secs)",
                budget.as_secs()
            )));
        }
        let sleep = pause.min(left);
        retries += 1;
        tracing::warn!(
            "{error:#}; retrying in {:.2} s (waiting up to {} s for the database: \
             database_startup_wait_secs)",
            sleep.as_secs_f64(),
            budget.as_secs()
        );
        tokio::time::sleep(sleep).await;
        pause = (pause * 2).min(LONGEST_RETRY);
    }
}

/// Creates the first administrator when the store has no user: with `WSHOST_ADMIN_PASSWORD`,
/// or a random password written to `DATA_DIR/initial-admin-password` (mode 0600), whose
/// path is logged. The password itself never reaches the log stream, which log collectors
/// keep and many people read.
pub(crate) async fn first_admin(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match std::env::var("WSHOST_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::store::random_token(18), true),
    };
    if !generated {
        store.create_user("admin", &password, true).await?;
        tracing::info!(
            "created the administrator 'admin' with the password from WSHOST_ADMIN_PASSWORD"
        );
        return Ok(());
    }
    // Written before the user exists: a password nobody can read would lock everyone out.
    let path = data_dir.join(INITIAL_ADMIN_PASSWORD);
    write_private(&path, &format!("{password}\n")).with_context(|| {
        format!(
            "writing the first administrator's password to {}",
            path.display()
        )
    })?;
    if let Err(e) = store.create_user("admin", &password, true).await {
        let _ = std::fs::remove_file(&path);
        return Err(e.into());
    }
    tracing::warn!(
        path = %path.display(),
        "created the administrator 'admin' with a one-time password, in {} (mode 0600): log in, \
         change it (wshost user passwd admin) and delete the file",
        path.display()
    );
    Ok(())
}

/// The file, in the data folder, that holds the first administrator's generated password.
pub(crate) const INITIAL_ADMIN_PASSWORD: &str = "initial-admin-password";

/// Writes `text` to a new file at `path` readable by its owner only (replacing a file left by
/// an earlier start that failed before creating the user).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// When start-up loads the enabled plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plugins {
    /// All of them now (`serve`, `plugins list`): a refusal is logged at start.
    Load,
    /// Each when a call first needs it (administration commands): a command that touches
    /// no driver dlopens nothing.
    OnDemand,
}

/// Builds the whole application state; opens the store as `open` says and loads the
/// enabled plugins as `plugins` says.
pub(crate) async fn boot(config: Config, plugins: Plugins, open: Open) -> anyhow::Result<AppState> {
    let store = match open {
        Open::Create => open_store(&config).await?,
        Open::Existing => open_existing_store(&config).await?,
        Open::Current => wait_for_database(&config, || open_existing_store(&config)).await?,
    };
    tracing::info!(backend = ?store.backend(), "store open");
    if open != Open::Existing {
        first_admin(&store, &config.data_dir).await?;
    }
    let found = manifest::load_dirs(&config.manifest_dirs);
    let mut by_id: BTreeMap<String, Manifest> = BTreeMap::new();
    for m in &found.0 {
        by_id.entry(m.id.clone()).or_insert_with(|| m.clone());
    }
    let manifests = Arc::new(by_id);
    let workspaces = Arc::new(Workspaces::new(
        &config.workspaces,
        |id| manifests.get(id),
        &config.public_url,
        &config.data_dir,
    ));
    let services = {
        let (store, workspaces, manifests) = (store.clone(), workspaces.clone(), manifests.clone());
        let public_url = config.public_url.clone();
        let runtime = tokio::runtime::Handle::current();
        Box::new(move |plugin_id: &str| {
            Arc::new(PluginServices {
                plugin_id: plugin_id.to_owned(),
                public_url: public_url.clone(),
                store: store.clone(),
                workspaces: workspaces.clone(),
                manifests: manifests.clone(),
                runtime: runtime.clone(),
            }) as Arc<dyn plugin_api::HostServices>
        })
    };
    let registry = Arc::new(Registry::new(&config, found, services));
    let toggles = store.plugin_toggles().await?;
    // Each through the plugin-call layer: off the async workers, within the plugin deadline.
    let now = if plugins == Plugins::Load {
        registry.enabled_ids(&toggles)
    } else {
        Vec::new()
    };
    for id in now {
        let _ = crate::plugins::call::load(&registry, &id, &toggles, config.limits.plugin_timeout)
            .await;
    }
    workspaces.log_summary();
    if let Some(warning) = config.local_defaults_warning() {
        tracing::warn!("{warning}");
    }
    Ok(AppState::new(config, store, registry, workspaces))
}

/// Whether start-up may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// `serve`: create the store, its secrets key and the first administrator when absent,
    /// and run the migrations.
    Create,
    /// Every other command: the store must exist with its key; see [`open_existing_store`].
    Existing,
    /// `serve --no-migrate`: as [`Open::Existing`] (the store must exist, with exactly this
    /// binary's schema), and the first administrator is made if the store has no user.
    Current,
}

/// How to point a command at the real store, after a message saying it was not found.
const POINT_AT_THE_STORE: &str = "Point this command at the store `wshost serve` uses: the \
     same --config FILE and environment (WSHOST_DATABASE_URL, WSHOST_SECRET_KEY: the \
     service's environment file), or --data-dir DIR; or run `wshost serve` once to create a \
     new store. Only `serve` creates a store.";

/// Opens the store the config names for a command other than `serve`: it must exist
/// already, with its secrets key. Creates nothing (no data folder, no key, no SQLite file,
/// no administrator) and runs no migration; each refusal says where it looked and how to
/// point the command at the real store.
pub(crate) async fn open_existing_store(config: &Config) -> anyhow::Result<Store> {
    open_existing_store_as(config, crate::store::Schema::Existing).await
}

/// [`open_existing_store`], with the schema treated as `schema` says: `wshost migrate` opens
/// with [`crate::store::Schema::Upgrade`], which runs the migrations the store lacks.
pub(crate) async fn open_existing_store_as(
    config: &Config,
    schema: crate::store::Schema,
) -> anyhow::Result<Store> {
    let url = match &config.database {
        Database::Sqlite(path) => {
            let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            if !shown.is_file() {
                anyhow::bail!(
                    "no store at {}: the SQLite file does not exist (data folder {}).\n{POINT_AT_THE_STORE}",
                    shown.display(),
                    config.data_dir.display()
                );
            }
            crate::store::sqlite_url(path)?
        }
        Database::Postgres(url) => url.clone(),
    };
    let key = match &config.secret_key {
        SecretKeySource::Given(text) => SecretKey::from_base64(text)
            .context("the secrets key (secret_key / WSHOST_SECRET_KEY) is invalid")?,
        SecretKeySource::File(path) => match SecretKey::load(path) {
            Ok(key) => key,
            Err(crate::store::StoreError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                anyhow::bail!(
                    "the secrets key file {} does not exist, and neither WSHOST_SECRET_KEY nor \
                     secret_key is set: the store ({}) cannot be opened without its key, and \
                     commands other than `wshost serve` never make a new one. Give the store's \
                     key (WSHOST_SECRET_KEY in the service's environment file, or secret_key \
                     in host.toml), restore the key file from the backup, or point at the right \
                     data folder with --data-dir or --config.",
                    path.display(),
                    match &config.database {
                        Database::Sqlite(db) => format!("the SQLite file {}", db.display()),
                        Database::Postgres(url) => crate::store::location(url),
                    }
                )
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the secrets key {}", path.display()))
            }
        },
    };
    match Store::open_existing(&url, key, schema).await {
        Ok(store) => Ok(store),
        Err(crate::store::StoreError::Schema(what)) => {
            let hint = if what.contains("run `wshost migrate`") || what.contains("newer wshost") {
                ""
            } else {
                POINT_AT_THE_STORE
            };
            anyhow::bail!("{what}.\n{hint}")
        }
        Err(e) => Err(e).with_context(|| format!("cannot open the store {:?}", config.database)),
    }
}
