//! The access log: one line per request, written when its answer has been sent (or dropped),
//! with who asked (`user`), what (`action`, `workspace`), the outcome (`status`, `bytes` of
//! body sent, `latency_ms`), from where (`client`: the peer, or the `X-Forwarded-For` client
//! when the peer is a trusted proxy) and the `request_id`, all as fields of the event (so
//! top-level members of a JSON line).

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

use crate::config::Cidr;

/// What the handlers learn of a request that its head does not say.
#[derive(Debug, Default)]
struct Noted {
    user: Option<String>,
    action: Option<String>,
    workspace: Option<String>,
}

tokio::task_local! {
    static NOTED: RefCell<Noted>;
}

/// Notes the authenticated user of the current request (a no-op outside a request).
pub(crate) fn note_user(name: &str) {
    let _ = NOTED.try_with(|n| n.borrow_mut().user = Some(name.to_owned()));
}

/// Who performs an administration operation, for its log line (`admin = …`): the
/// authenticated caller of the current request (the door checked they are an
/// administrator), or `console` outside any request (the CLI, run by the machine's operator).
/// The operations stay caller-free; this is read from the request, like its id.
pub(crate) fn acting_admin() -> String {
    NOTED
        .try_with(|n| n.borrow().user.clone())
        .map(|user| user.unwrap_or_else(|| "-".to_owned()))
        .unwrap_or_else(|_| "console".to_owned())
}

/// Notes the action of the current request (the `get_action` name).
pub(crate) fn note_action(action: &str) {
    let _ = NOTED.try_with(|n| n.borrow_mut().action = Some(action.to_owned()));
}

/// Notes the workspace the current request is about.
pub(crate) fn note_workspace(workspace: &str) {
    let _ = NOTED.try_with(|n| n.borrow_mut().workspace = Some(workspace.to_owned()));
}

/// The middleware that writes the access line of every request.
pub(crate) async fn layer(req: Request, next: Next, trusted: Arc<Vec<Cidr>>) -> Response {
    let started = Instant::now();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let client = client(peer, &forwarded, &trusted);
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => format!("{} {}", req.method(), req.uri().path()),
    };
    let (response, noted) = NOTED
        .scope(RefCell::new(Noted::default()), async {
            let response = next.run(req).await;
            (response, NOTED.with(RefCell::take))
        })
        .await;
    let (parts, body) = response.into_parts();
    let line = Line {
        user: noted.user,
        action: noted.action.unwrap_or(route),
        workspace: noted.workspace,
        status: parts.status.as_u16(),
        client,
        request_id,
        started,
        bytes: 0,
    };
    let body = Body::new(Counted {
        inner: body,
        line: Some(line),
    });
    Response::from_parts(parts, body)
}

/// The client's address: the peer's, unless the peer is a trusted proxy, then the last
/// address of `X-Forwarded-For` that is not itself a trusted proxy (the leftmost if all are).
fn client(peer: Option<IpAddr>, forwarded: &str, trusted: &[Cidr]) -> String {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return "-".to_owned();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let hops: Vec<IpAddr> = forwarded
        .split(',')
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(**ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
        .to_string()
}

/// The access line of one request, written once its body is done.
struct Line {
    user: Option<String>,
    action: String,
    workspace: Option<String>,
    status: u16,
    client: String,
    request_id: String,
    started: Instant,
    bytes: u64,
}

impl Line {
    fn write(&self) {
        let latency_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        tracing::info!(
            target: "wshost::access",
            user = self.user.as_deref(),
            action = %self.action,
            workspace = self.workspace.as_deref(),
            status = self.status,
            bytes = self.bytes,
            latency_ms,
            client = %self.client,
            request_id = %self.request_id,
            "request"
        );
    }
}

/// A response body that counts what it sends and writes the access line at its end.
struct Counted {
    inner: Body,
    line: Option<Line>,
}

impl Counted {
    fn finish(&mut self) {
        if let Some(line) = self.line.take() {
            line.write();
        }
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(line)) = (frame.data_ref(), self.line.as_mut()) {
                    line.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
        assert_eq!(
            client(ip("192.0.2.7"), "203.0.113.9", &trusted),
            "192.0.2.7"
        );
        assert_eq!(
            client(ip("10.1.2.3"), "203.0.113.9", &trusted),
            "203.0.113.9"
        );
        assert_eq!(
            client(
                ip("10.1.2.3"),
                "198.51.100.1, 203.0.113.9, 10.9.9.9",
                &trusted
            ),
            "203.0.113.9",
            "the last hop no trusted proxy added"
        );
        assert_eq!(client(ip("::1"), "garbage", &trusted), "::1");
        assert_eq!(
            client(ip("::ffff:10.0.0.1"), "10.0.0.2", &trusted),
            "10.0.0.2"
        );
        assert_eq!(client(ip("10.0.0.1"), "", &[]), "10.0.0.1");
        assert_eq!(client(None, "203.0.113.9", &trusted), "-");
    }

    #[test]
    fn cidr_blocks_contain_their_addresses() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(c("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("0.0.0.0/0").contains(ip("192.0.2.1")));
        assert!(c("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!c("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(c("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assert!(!c("2001:db8::/32").contains(ip("10.0.0.1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy".parse::<Cidr>().is_err());
    }
}
