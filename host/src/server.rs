//! The HTTP/1 accept loop. axum::serve is the usual choice, but it exposes neither a header
//! read timeout (so a slow-loris client could hold connections open forever) nor socket
//! options; this is the same hyper server with those set, and graceful shutdown. Each request
//! carries its connection's peer address as `ConnectInfo<SocketAddr>`.

use std::future::Future;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::config::Limits;

/// hyper's default read buffer (~400 KB): kept, because body reads are sized by it.
const READ_BUFFER: usize = 400 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the connections in
/// flight to finish their current request (idle keep-alive connections close at once).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // The head must fit the buffer; the exact header limit is checked per request (431).
        .max_buf_size(READ_BUFFER.max(limits.max_header_bytes + 1024));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, most often: wait for connections to close
                    // rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Streamed responses otherwise wait for delayed ACKs (Nagle): ~40 ms per response.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY on a connection from {peer}: {e}");
        }
        // The peer's address, for the rules that depend on it (`auth::resolve_client`
        // accepts Basic over plain http only from this machine); read as axum's
        // `ConnectInfo<SocketAddr>`, which `into_make_service_with_connect_info` would set.
        let with_peer =
            app.clone()
                .map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
        let service = TowerToHyperService::new(with_peer);
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
