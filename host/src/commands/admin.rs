//! The administration commands of the CLI: users, tokens, workspaces, plugin toggles. They
//! work on the same store as the server (so they also work while it runs, and on every
//! instance sharing a PostgreSQL store) through the same code as the REST API.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::cli::{AdminOpts, TemplateCommand, TokenCommand, UserCommand, WorkspaceCommand};
use crate::access;
use crate::admin::{
    self, plugin_view, workspace_view, Creation, OwnInput, TemplateInput, TemplateView, Viewer,
    WorkspaceInput, WorkspaceView,
};
use crate::app::boot;
use crate::app::error::AppError;
use crate::app::Shared;
use crate::config::Config;
use crate::store::Store;

/// Runs `f` with the application state of `opts` (plugins loaded only when a call needs
/// one), printing its value as JSON or text. The store must exist: only `serve` creates one.
fn run<F, Fut>(opts: &AdminOpts, f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Shared) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(Value, String)>>,
{
    with_runtime(opts, |config| async move {
        let state: Shared =
            Arc::new(boot::boot(config, boot::Plugins::OnDemand, boot::Open::Existing).await?);
        let answer = f(state.clone()).await;
        state.store.close().await;
        answer
    })
}

/// Runs `f` with the store of `opts` alone: users and tokens need no manifest, no
/// workspace and no plugin. The store must exist, with its key; nothing is migrated.
fn run_store<F, Fut>(opts: &AdminOpts, f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(Value, String)>>,
{
    with_runtime(opts, |config| async move {
        let store = boot::open_existing_store(&config).await?;
        let answer = f(store.clone()).await;
        store.close().await;
        answer
    })
}

/// `wshost migrate`: applies the migrations the existing store lacks (an absent store, one
/// without wshost's schema, or one ahead of this binary is refused) and says where it stands.
pub(super) fn migrate(settings: &crate::config::Settings) -> anyhow::Result<ExitCode> {
    let opts = AdminOpts {
        settings: settings.clone(),
        json: false,
    };
    with_runtime(&opts, |config| async move {
        let store = boot::open_existing_store_as(&config, crate::store::Schema::Upgrade).await?;
        let version = store.schema_version().await;
        store.close().await;
        let (version, applied, known) = version?;
        Ok((
            json!({ "version": version }),
            format!(
                "the store is at schema version {version}: {applied} of this wshost's {known} \
                 migrations applied; `wshost serve --no-migrate` may start on it"
            ),
        ))
    })
}

/// `wshost backup FILE`: a consistent copy of the existing SQLite store, taken online.
pub(super) fn backup(
    file: &std::path::Path,
    settings: &crate::config::Settings,
) -> anyhow::Result<ExitCode> {
    let opts = AdminOpts {
        settings: settings.clone(),
        json: false,
    };
    let file = file.to_path_buf();
    with_runtime(&opts, |config| async move {
        let store = boot::open_existing_store(&config).await?;
        let done = store.backup_into(&file).await;
        store.close().await;
        done.with_context(|| format!("cannot back the store up into {}", file.display()))?;
        let key = match &config.secret_key {
            crate::config::SecretKeySource::File(path) => {
                format!("the key file {}", path.display())
            }
            crate::config::SecretKeySource::Given(_) => "secret_key / WSHOST_SECRET_KEY".to_owned(),
        };
        Ok((
            json!({ "file": file }),
            format!(
                "backed the store up into {}; keep the secrets key ({key}) with it: the \
                 encrypted values cannot be read without it",
                file.display()
            ),
        ))
    })
}

/// Loads the config of `opts`, runs `f` on a runtime and prints its answer.
fn with_runtime<F, Fut>(opts: &AdminOpts, f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(Value, String)>>,
{
    let config = Config::load(&opts.settings)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let (value, text) = runtime.block_on(f(config))?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if !text.is_empty() {
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Turns an API error into a CLI error with the same message (and field errors listed).
fn cli_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Fields(fields) => anyhow::anyhow!(
            "invalid parameters:\n{}",
            fields
                .iter()
                .map(|f| format!("  {}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow::anyhow!("{}", other.message()),
    }
}

fn read_password() -> anyhow::Result<String> {
    eprint!("password (one line on standard input): ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    admin::check_password_strength(&password).map_err(cli_error)?;
    Ok(password)
}

pub(crate) fn user(cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Add { name, admin, opts } => {
            let password = read_password()?;
            run_store(&opts, |store| async move {
                let user = store
                    .create_user(&name, &password, admin)
                    .await
                    .map_err(|e| cli_error(e.into()))?;
                Ok((
                    json!({ "user": user }),
                    format!(
                        "created user {}{}",
                        user.name,
                        if admin { " (administrator)" } else { "" }
                    ),
                ))
            })
        }
        UserCommand::List { opts } => run_store(&opts, |store| async move {
            let users = store.users().await?;
            let text = users
                .iter()
                .map(|u| format!("{}{}", u.name, if u.admin { "  (admin)" } else { "" }))
                .collect::<Vec<_>>()
                .join("\n");
            Ok((json!({ "users": users }), text))
        }),
        UserCommand::Passwd { name, opts } => {
            let password = read_password()?;
            run_store(&opts, |store| async move {
                store
                    .set_password(&name, &password)
                    .await
                    .map_err(|e| cli_error(e.into()))?;
                Ok((
                    json!({ "updated": name }),
                    format!("password of {name} changed; their sessions ended"),
                ))
            })
        }
        UserCommand::Delete { name, opts } => run_store(&opts, |store| async move {
            if !store.delete_user(&name).await? {
                bail!("no user '{name}'");
            }
            Ok((json!({ "deleted": name }), format!("deleted user {name}")))
        }),
    }
}

pub(crate) fn token(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create { user, label, opts } => run_store(&opts, |store| async move {
            let new = store
                .create_token(&user, &label)
                .await
                .map_err(|e| cli_error(e.into()))?;
            // The token alone on stdout, so that `TOKEN=$(wshost token create bob)` works.
            Ok((
                json!({ "id": new.id, "user": user, "token": new.token }),
                new.token,
            ))
        }),
        TokenCommand::List { user, opts } => run_store(&opts, |store| async move {
            if let Some(name) = &user {
                if store.user(name).await?.is_none() {
                    bail!("no user '{name}'");
                }
            }
            // What `GET /api/tokens` answers an administrator: never the token itself.
            let tokens = store.tokens(user.as_deref()).await?;
            let text = tokens.iter().map(token_text).collect::<Vec<_>>().join("\n");
            Ok((json!({ "tokens": tokens }), text))
        }),
        TokenCommand::Revoke { id, opts } => run_store(&opts, |store| async move {
            // As `DELETE /api/tokens/{id}` for an administrator: anyone's token.
            if !store.delete_token(&id, None).await? {
                bail!("no token '{id}' (`wshost token list` shows the ids)");
            }
            Ok((json!({ "deleted": id }), format!("revoked token {id}")))
        }),
    }
}

/// One line per token: id, user, label, created, last used (UTC, to the second).
fn token_text(t: &crate::store::TokenInfo) -> String {
    let when = |secs: i64| {
        u64::try_from(secs).map_or_else(
            |_| secs.to_string(),
            |s| {
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(s),
                )
                .to_string()
            },
        )
    };
    format!(
        "{}\t{}\t{}\tcreated {}\tlast used {}",
        t.id,
        t.user,
        if t.label.is_empty() { "-" } else { &t.label },
        when(t.created_at),
        t.last_used_at.map_or_else(|| "never".to_owned(), when)
    )
}

fn parse_params(params: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .with_context(|| format!("--param {p}: expected NAME=VALUE"))
        })
        .collect()
}

fn ws_text(v: &WorkspaceView) -> String {
    let definition = v.definition.as_ref();
    format!(
        "{}\t{}\t{}\t{}{}",
        v.id,
        v.driver,
        definition.map_or("", |d| match d.source {
            crate::plugins::workspaces::Source::Config => "config",
            crate::plugins::workspaces::Source::Store => "store",
        }),
        v.label,
        definition
            .and_then(|d| d.error)
            .map(|e| format!("\t(unavailable: {e})"))
            .unwrap_or_default()
    )
}

pub(crate) fn workspace(cmd: WorkspaceCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkspaceCommand::Create {
            driver,
            label,
            id,
            description,
            params,
            all_users,
            dry_run,
            no_verify,
            opts,
        } => {
            let params = parse_params(&params)?;
            run(&opts, |s| async move {
                let input = WorkspaceInput {
                    id,
                    label,
                    description,
                    driver,
                    params,
                    all_users,
                };
                let how = Creation {
                    dry_run,
                    verify: !no_verify,
                };
                let created = admin::create_workspace(&s, input, how)
                    .await
                    .map_err(cli_error)?;
                let id = &created.record.id;
                let mut text = if dry_run {
                    format!("valid: workspace {id} would be created (dry run)")
                } else {
                    format!("created workspace {id}")
                };
                if let Some(sentence) = &created.verified {
                    text.push_str(&format!("\nverified: {sentence}"));
                }
                let v = json!({ "id": id, "dry_run": dry_run, "verified": created.verified });
                Ok((v, text))
            })
        }
        WorkspaceCommand::List { opts } => run(&opts, |s| async move {
            let all = s.all_workspaces().await.map_err(cli_error)?;
            let list: Vec<WorkspaceView> = all
                .iter()
                .map(|ws| workspace_view(&s, ws, Viewer::Admin))
                .collect();
            let text = list.iter().map(ws_text).collect::<Vec<_>>().join("\n");
            Ok((json!({ "workspaces": list }), text))
        }),
        WorkspaceCommand::Show { id, opts } => run(&opts, |s| async move {
            let ws = s
                .workspace(&id)
                .await
                .map_err(cli_error)?
                .with_context(|| format!("no workspace '{id}'"))?;
            let grants = s.store.acl(&id).await?;
            let mut v = json!(workspace_view(&s, &ws, Viewer::Admin));
            v["grants"] = json!(grants
                .iter()
                .map(|(u, a)| json!({"user": u, "access": a.as_str()}))
                .collect::<Vec<_>>());
            let text = serde_json::to_string_pretty(&v)?;
            Ok((v, text))
        }),
        WorkspaceCommand::Verify { id, opts } => run(&opts, |s| async move {
            let warnings = admin::workspace_warnings(&s, &id)
                .await
                .map_err(cli_error)?;
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let target = access::operator(&id);
            let message = admin::verify_workspace(&s, &target)
                .await
                .map_err(cli_error)?;
            // What the driver declares it can do, now that it is open: a read-only driver
            // shows no write, mkdir, delete, rename or copy.
            let caps = target.driver().capabilities(&s).await.map_err(cli_error)?;
            Ok((
                json!({ "ok": true, "message": message, "capabilities": caps.names(), "warnings": warnings }),
                format!("ok: {message}\ncapabilities: {}", caps.names().join(", ")),
            ))
        }),
        WorkspaceCommand::Delete { id, opts } => run(&opts, |s| async move {
            admin::delete_workspace(&s, &id).await.map_err(cli_error)?;
            Ok((json!({ "deleted": id }), format!("deleted workspace {id}")))
        }),
        WorkspaceCommand::Grant {
            id,
            user,
            access,
            opts,
        } => run(&opts, |s| async move {
            let access = admin::grant(&s, &id, &user, &access)
                .await
                .map_err(cli_error)?;
            Ok((
                json!({ "workspace": id, "user": user, "access": access.as_str() }),
                format!("granted {user} {} on {id}", access.as_str()),
            ))
        }),
        WorkspaceCommand::Revoke { id, user, opts } => run(&opts, |s| async move {
            admin::revoke(&s, &id, &user).await.map_err(cli_error)?;
            Ok((
                json!({ "workspace": id, "user": user, "revoked": true }),
                format!("revoked {user} on {id}"),
            ))
        }),
    }
}

/// One line per template: id, driver, the params users fill in, the workspaces made.
fn template_text(t: &TemplateView) -> String {
    let user_params: Vec<&str> = t.user_params.iter().map(|p| p.name.as_str()).collect();
    format!(
        "{}\t{}\t{}\tusers fill in: {}\tmade: {}",
        t.id,
        t.driver,
        t.label,
        user_params.join(", "),
        t.workspaces.join(", ")
    )
}

pub(crate) fn template(cmd: TemplateCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TemplateCommand::Create {
            driver,
            label,
            id,
            description,
            params,
            user_params,
            max_per_user,
            opts,
        } => {
            let params = parse_params(&params)?;
            run(&opts, |s| async move {
                let input = TemplateInput {
                    id,
                    label,
                    description,
                    driver,
                    params,
                    user_params: user_params.into_iter().collect(),
                    max_per_user,
                };
                let record = admin::create_template(&s, input).await.map_err(cli_error)?;
                let id = record.id;
                Ok((json!({ "id": id }), format!("created template {id}")))
            })
        }
        TemplateCommand::List { opts } => run(&opts, |s| async move {
            let list = admin::templates(&s, None).await.map_err(cli_error)?;
            let text = list
                .iter()
                .map(template_text)
                .collect::<Vec<_>>()
                .join("\n");
            Ok((json!({ "templates": list }), text))
        }),
        TemplateCommand::Show { id, opts } => run(&opts, |s| async move {
            let v = json!(admin::template(&s, &id, None).await.map_err(cli_error)?);
            let text = serde_json::to_string_pretty(&v)?;
            Ok((v, text))
        }),
        TemplateCommand::Delete { id, opts } => run(&opts, |s| async move {
            admin::delete_template(&s, &id).await.map_err(cli_error)?;
            Ok((json!({ "deleted": id }), format!("deleted template {id}")))
        }),
        TemplateCommand::Use {
            id,
            user,
            label,
            workspace_id,
            params,
            no_verify,
            opts,
        } => {
            let params = parse_params(&params)?;
            run(&opts, |s| async move {
                let owner = s
                    .store
                    .user(&user)
                    .await?
                    .with_context(|| format!("no user '{user}'"))?;
                let input = OwnInput {
                    id: workspace_id,
                    label,
                    description: String::new(),
                    params,
                };
                let created = admin::create_own(&s, &owner, &id, input, !no_verify)
                    .await
                    .map_err(cli_error)?;
                let made = &created.record.id;
                let mut text = format!("created workspace {made} for {user} from template {id}");
                if let Some(sentence) = &created.verified {
                    text.push_str(&format!("\nverified: {sentence}"));
                }
                let v = json!({ "id": made, "owner": user, "template": id, "verified": created.verified });
                Ok((v, text))
            })
        }
    }
}

/// `wshost plugins enable|disable ID`.
pub(crate) fn toggle_plugin(
    id: String,
    enabled: bool,
    opts: AdminOpts,
) -> anyhow::Result<ExitCode> {
    run(&opts, |s| async move {
        let (record, toggles) = admin::set_plugin_enabled(&s, &id, enabled)
            .await
            .map_err(cli_error)?;
        let v = json!(plugin_view(&s, record, &toggles));
        let text = format!(
            "{id}: {}{}",
            if enabled { "enabled" } else { "disabled" },
            v["reason"]
                .as_str()
                .map(|r| format!(" (but refused: {r})"))
                .unwrap_or_default()
        );
        Ok((v, text))
    })
}
