//! `wshost serve`: boots the application state and serves it until a signal, then drains.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::app::{boot, instances};
use crate::config::{Config, Settings};
use crate::{server, telemetry, web};

/// `wshost serve`; with `no_migrate`, the store must exist with exactly this binary's schema.
pub(super) fn serve(settings: &Settings, no_migrate: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(settings)?;
    if !no_migrate {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        telemetry::metrics_handle();
        let open = if no_migrate {
            boot::Open::Current
        } else {
            boot::Open::Create
        };
        let state = Arc::new(boot::boot(config, boot::Plugins::Load, open).await?);
        let listen = state.config.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        if let Some(addr) = state.config.metrics_listen {
            let metrics = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?;
            tracing::info!("metrics on http://{addr}/metrics");
            tokio::spawn(async move { axum::serve(metrics, web::metrics_app()).await });
        }
        tracing::info!(
            "wshost listening on http://{} (public URL {})",
            listener.local_addr()?,
            state.config.public_url
        );
        let heartbeat = tokio::spawn(instances::keep_recorded(state.clone()));
        let recorded = state.clone();
        let deadline = state.config.shutdown_deadline;
        let drain = state.config.shutdown_drain;
        let limits = state.config.limits;
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let draining = state.clone();
        let stopping = async move {
            signal().await;
            // First the balancer learns (its health check fails) while requests are still
            // served; only then does the listener close. A second signal cuts the wait short.
            draining
                .draining
                .store(true, std::sync::atomic::Ordering::Relaxed);
            if !drain.is_zero() {
                tracing::info!(
                    "draining: /readyz answers 503 for {drain:?}, then the listener closes"
                );
                tokio::select! {
                    _ = tokio::time::sleep(drain) => {}
                    _ = signal() => tracing::warn!("second signal: closing the listener now"),
                }
            }
            tracing::info!(
                "shutting down: no new connections; in-flight requests have {deadline:?}"
            );
            let _ = stopping_tx.send(());
        };
        let server = server::serve(listener, web::app(state), &limits, stopping);
        // After the first signal the server drains, unless the deadline passes or a second
        // signal arrives: either ends the process at once.
        let forced = async move {
            if stopping_rx.await.is_err() {
                return std::future::pending().await;
            }
            tokio::select! {
                _ = tokio::time::sleep(deadline) => {
                    tracing::warn!("shutdown deadline passed; stopping in-flight requests")
                }
                _ = signal() => tracing::warn!("second signal: stopping at once"),
            }
        };
        tokio::select! {
            () = server => {}
            () = forced => {}
        }
        heartbeat.abort();
        let _ = heartbeat.await;
        instances::forget(&recorded).await;
        recorded.store.close().await;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
