//! The security headers of every answer, set in one layer around the whole router so that no
//! page, API answer, error or download goes without them: a Content-Security-Policy (the
//! UI's pages load script and style only from the host, and no other site may frame them),
//! `X-Content-Type-Options: nosniff`, a Referrer-Policy, `Cache-Control: no-store` (answers
//! are per-user), and HSTS when the public URL is https. A download (an `attachment`
//! answer, whichever action made it) is sandboxed instead: opened in the browser, a file
//! served from the host's origin runs no script there.
//!
//! A header a handler set itself is kept (the static files set their own `Cache-Control`).

use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of everything but downloads. The UI has no inline script or style (its
/// templates load `/ui/static/ui.js` and `ui.css`), so none is allowed; `data:` images are
/// the empty favicon; `frame-ancestors 'none'` keeps the admin pages out of other sites'
/// frames, where a click could be stolen.
pub(crate) const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The policy of a download: the browser treats the file as coming from a unique origin,
/// with scripts, forms and plugins off.
pub(crate) const DOWNLOAD_POLICY: &str = "sandbox";

/// HSTS for a year; sent only when the public URL is https (browsers ignore it over http,
/// and it must not pin a host that is only reached over http).
const HSTS: &str = "max-age=31536000";

/// Which headers the layer adds; decided once from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecurityHeaders {
    hsts: bool,
}

impl SecurityHeaders {
    /// The headers for a host reached at `public_url`.
    pub(crate) fn for_public_url(public_url: &str) -> SecurityHeaders {
        SecurityHeaders {
            hsts: public_url
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://")),
        }
    }

    /// Adds the headers to `headers`, keeping any the handler set.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        let policy = if is_download(headers) {
            DOWNLOAD_POLICY
        } else {
            PAGE_POLICY
        };
        let mut set = |name: HeaderName, value: &'static str| {
            headers
                .entry(name)
                .or_insert(HeaderValue::from_static(value));
        };
        set(header::CONTENT_SECURITY_POLICY, policy);
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        // For browsers without frame-ancestors.
        set(header::X_FRAME_OPTIONS, "DENY");
        // Paths and queries (workspace ids, folder names) never leave for another site.
        set(header::REFERRER_POLICY, "same-origin");
        set(header::CACHE_CONTROL, "no-store");
        if self.hsts {
            set(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
    }
}

/// An answer the browser saves as a file: `Content-Disposition: attachment`.
fn is_download(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().get(..10))
        .is_some_and(|v| v.eq_ignore_ascii_case("attachment"))
}

/// The middleware: runs the request, then adds the headers to its answer.
pub(crate) async fn add(headers: SecurityHeaders, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    headers.apply(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_downloads_get_their_policies() {
        let mut page = HeaderMap::new();
        SecurityHeaders::for_public_url("http://h").apply(&mut page);
        assert_eq!(page[header::CONTENT_SECURITY_POLICY], PAGE_POLICY);
        assert_eq!(page[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(page[header::CACHE_CONTROL], "no-store");
        assert!(page.get(header::STRICT_TRANSPORT_SECURITY).is_none());

        let mut download = HeaderMap::new();
        download.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("Attachment; filename=\"a.html\""),
        );
        download.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        SecurityHeaders::for_public_url("HTTPS://h").apply(&mut download);
        assert_eq!(download[header::CONTENT_SECURITY_POLICY], DOWNLOAD_POLICY);
        assert_eq!(download[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(download[header::CACHE_CONTROL], "no-cache", "kept");
        assert_eq!(download[header::STRICT_TRANSPORT_SECURITY], HSTS);
    }
}
