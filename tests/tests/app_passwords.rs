//! App passwords (API tokens for WebDAV clients) over HTTP against the real binary: one made
//! with the CLI shows on its owner's page; the page makes one for its visitor alone and shows
//! it once, with the URL and user name to paste; forms need the session's CSRF token; a user
//! revokes only their own. Basic logins with them are tested with the WebDAV door.

use std::process::Command;

use reqwest::blocking::Client;
use wshost_tests::*;

const PAGE: &str = "/ui/app-passwords";

/// A client with `headers` that does not follow redirects.
fn client_with(headers: reqwest::header::HeaderMap) -> Client {
    Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The text of the element `<code id="ID">…</code>` in `html`.
fn code(html: &str, id: &str) -> Option<String> {
    let start = format!("<code id=\"{id}\">");
    let rest = &html[html.find(&start)? + start.len()..];
    Some(rest[..rest.find("</code>")?].to_owned())
}

/// Who `token` logs in as, by `/api/me` (`None`: refused with 401).
fn owner(h: &Host, token: &str) -> Option<String> {
    let r = Client::new()
        .get(h.api("me"))
        .bearer_auth(token)
        .send()
        .unwrap();
    if r.status() == 401 {
        return None;
    }
    let (status, v) = json_of(r);
    assert_eq!(status, 200, "{v}");
    v["user"]["name"].as_str().map(str::to_owned)
}

/// The app passwords `user` sees on their page: (id, label).
fn listed(h: &Host, user: &Client) -> (String, Vec<(String, String)>) {
    let r = user.get(format!("{}{PAGE}", h.url)).send().unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    let mut rows = Vec::new();
    for part in html.split("<tr data-token=\"").skip(1) {
        let id = part.split('"').next().unwrap().to_owned();
        let label = part
            .split("<th scope=\"row\">")
            .nth(1)
            .and_then(|s| s.split("</th>").next())
            .unwrap()
            .to_owned();
        rows.push((id, label));
    }
    (html, rows)
}

#[test]
fn the_app_passwords_page_makes_shows_once_lists_and_revokes() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("ann", false);
    h.add_user("bob", false);
    let ann_headers = h.session_headers("ann", "ann-password");
    let ann = client_with(ann_headers.clone());
    let csrf = ann_headers["x-csrf-token"].to_str().unwrap().to_owned();
    let ann_cookie_only = client_with({
        let mut m = ann_headers.clone();
        m.remove("x-csrf-token");
        m
    });
    let bob = client_with(h.session_headers("bob", "bob-password"));

    // Made by the operator with the CLI: on ann's page, by name, without the secret.
    let out = Command::new(wshost_exe())
        .args(["token", "create", "ann", "--label", "laptop", "--config"])
        .arg(h.dir.path().join("host.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let laptop = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(owner(&h, &laptop).as_deref(), Some("ann"));
    let (html, rows) = listed(&h, &ann);
    assert_eq!(rows.len(), 1, "{html}");
    assert_eq!(rows[0].1, "laptop");
    assert!(!html.contains(&laptop), "the secret is never shown again");
    assert!(html.contains("href=\"/ui/app-passwords\""), "in the nav");
    let (_, bobs) = listed(&h, &bob);
    assert!(bobs.is_empty(), "bob sees none of ann's: {bobs:?}");

    // Made on the page: shown once, with what a WebDAV client needs, and never cached.
    let r = ann
        .post(format!("{}{PAGE}", h.url))
        .form(&[("csrf", csrf.as_str()), ("label", " phone ")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().unwrap();
    let password = code(&html, "new-password").expect("the new password is shown");
    assert!(password.starts_with("wsh_"), "{password}");
    assert_eq!(code(&html, "new-user").as_deref(), Some("ann"));
    let url = code(&html, "new-url").unwrap().replace("&#x2f;", "/");
    assert_eq!(url, format!("{}/dav/", h.url));
    assert!(html.contains("will not be shown again"), "{html}");
    assert_eq!(owner(&h, &password).as_deref(), Some("ann"));
    let (html, rows) = listed(&h, &ann);
    let mut labels: Vec<&str> = rows.iter().map(|(_, l)| l.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["laptop", "phone"]);
    assert!(!html.contains(&password) && !html.contains("new-password"));
    let phone_id = rows.iter().find(|(_, l)| l == "phone").unwrap().0.clone();

    // A device needs a name; without the CSRF token nothing is made.
    let r = ann
        .post(format!("{}{PAGE}", h.url))
        .form(&[("csrf", csrf.as_str()), ("label", "  ")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("Name the device"));
    let r = ann_cookie_only
        .post(format!("{}{PAGE}", h.url))
        .form(&[("label", "forged")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        listed(&h, &ann).1.len(),
        2,
        "nothing made by the refused posts"
    );

    // Revoking: never another user's (as unknown as a missing one), never without the token.
    let revoke = format!("{}{PAGE}/{phone_id}/revoke", h.url);
    let bob_csrf = bob
        .get(h.api("me"))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = bob
        .post(&revoke)
        .form(&[("csrf", bob_csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = ann_cookie_only.post(&revoke).send().unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(owner(&h, &password).as_deref(), Some("ann"), "still valid");
    let r = ann
        .post(&revoke)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{PAGE}?revoked=1"));
    assert_eq!(owner(&h, &password), None, "refused at once");
    assert_eq!(
        owner(&h, &laptop).as_deref(),
        Some("ann"),
        "the other one stays"
    );
    let (html, rows) = listed(&h, &ann);
    assert_eq!(rows.len(), 1, "{html}");
    assert_eq!(rows[0].1, "laptop");
    let r = ann
        .get(format!("{}{PAGE}?revoked=1", h.url))
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("was revoked"));

    // Anonymous visitors are sent to the login page, and come back here.
    let r = client_with(Default::default())
        .get(format!("{}{PAGE}", h.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/ui/login?next=%2Fui%2Fapp-passwords"
    );
}
