//! Where a login comes from. A login has no session yet, so no CSRF token can protect it: a
//! page on another site could post a form with the attacker's credentials to the login and
//! log the visitor's browser in as the attacker (login CSRF), after which what the victim
//! uploads lands in the attacker's account. Browsers say where a request comes from:
//! `Sec-Fetch-Site` (every current browser), else `Origin`. A login is refused when either
//! names another origin. A request with neither comes from no browser (curl, scripts, API
//! clients), so it cannot have been forged by a page, and is accepted.

use axum::http::{header, HeaderMap};

use crate::app::error::AppError;

/// Refuses a request that a browser sent on behalf of another origin than the host's own.
///
/// `Sec-Fetch-Site` decides when present: `same-origin` (the host's own page) and `none` (the
/// user typed or bookmarked it) pass, `same-site` (a sibling host or another port) and
/// `cross-site` do not. Without it, `Origin` decides: it must be the origin of `public_url`,
/// or name the host and port the request was sent to (`Host`), so a host reached under
/// another name than its public URL still accepts its own pages; `Origin: null` (sandboxed
/// frames, `data:` pages) is refused.
pub(crate) fn check_same_origin(public_url: &str, headers: &HeaderMap) -> Result<(), AppError> {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or(""));
    if let Some(site) = text("sec-fetch-site") {
        return match site.trim().to_ascii_lowercase().as_str() {
            "same-origin" | "none" => Ok(()),
            _ => Err(AppError::CrossSite),
        };
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return Ok(());
    };
    let Ok(origin) = url::Url::parse(origin.trim()) else {
        return Err(AppError::CrossSite);
    };
    if !matches!(origin.scheme(), "http" | "https") || origin.host_str().is_none() {
        return Err(AppError::CrossSite);
    }
    let own = url::Url::parse(public_url).is_ok_and(|own| own.origin() == origin.origin());
    let host = origin.host_str().unwrap_or_default();
    let authority = match origin.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let sent_to =
        text(header::HOST.as_str()).is_some_and(|h| h.trim().eq_ignore_ascii_case(&authority));
    if own || sent_to {
        Ok(())
    } else {
        Err(AppError::CrossSite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&'static str, &'static str)]) -> bool {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("a header value"));
        }
        check_same_origin("https://files.example.com", &headers).is_ok()
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(check(&[]));
        assert!(check(&[("host", "files.example.com")]));
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        assert!(check(&[("sec-fetch-site", "same-origin")]));
        assert!(check(&[("sec-fetch-site", "none")]));
        assert!(!check(&[("sec-fetch-site", "cross-site")]));
        assert!(!check(&[("sec-fetch-site", "same-site")]));
        assert!(!check(&[("sec-fetch-site", "bogus")]));
        // The Origin of a cross-site request cannot talk its way past the browser's verdict.
        assert!(!check(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://files.example.com")
        ]));
    }

    #[test]
    fn origin_must_be_the_public_url_or_the_host_asked() {
        assert!(check(&[("origin", "https://files.example.com")]));
        assert!(check(&[("origin", "https://FILES.example.com:443")]));
        assert!(check(&[
            ("origin", "http://10.0.0.5:8080"),
            ("host", "10.0.0.5:8080")
        ]));
        assert!(!check(&[("origin", "http://evil.example")]));
        assert!(!check(&[("origin", "http://files.example.com")]), "scheme");
        assert!(
            !check(&[("origin", "https://files.example.com:8443")]),
            "port"
        );
        assert!(!check(&[
            ("origin", "http://evil.example"),
            ("host", "files.example.com")
        ]));
        assert!(!check(&[("origin", "null")]));
        assert!(!check(&[("origin", "garbage")]));
    }
}
