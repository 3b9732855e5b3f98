//! Per-user workspaces (issue 23): one definition whose params hold `{user}`, a folder per
//! user. Through the real binary and the real access.fs plugin: "My files" of the embedded
//! defaults on both store backends (each user's uploads land in their own folder, made on
//! first use; each lists only their own; anonymous callers are refused; no grant needed),
//! the hostile-path suite run from one user's folder at the other's, over the file actions
//! and over WebDAV, the `personal_workspace` switch, a declared keyword workspace with
//! `all_users = "r"`, keyword validation (REST, `config check`) and the CLI operator's
//! refusal of a workspace that needs a user.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use wshost_tests::webdav::{self, Dav};
use wshost_tests::*;

/// The content of each user's planted file: found in an answer to the other user, it is a
/// read across users.
const ALICE_SECRET: &str = "ALICE-PRIVATE-CONTENT";
const BOB_SECRET: &str = "BOB-PRIVATE-CONTENT";

/// A host on the embedded defaults (its host.toml declares no `[[workspaces]]`), with the
/// store `config` adds (nothing: SQLite in the data folder).
fn default_host(config: &str) -> Host {
    Host::start(HostSetup::new(
        config.to_owned(),
        vec![manifest("access.fs.toml")],
    ))
}

/// The same on a fresh PostgreSQL database.
fn pg_default_host(db: &PgDatabase) -> Host {
    default_host(&format!(
        "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
        db.url
    ))
}

/// `DATA_DIR`, as the host's config names it.
fn data_dir(h: &Host) -> PathBuf {
    h.dir.path().join("data")
}

/// `DATA_DIR/personal`, where "My files" keeps a folder per user.
fn personal(h: &Host) -> PathBuf {
    data_dir(h).join("personal")
}

/// GET `/?QUERY` as `client`: status and JSON.
fn get(h: &Host, client: &Client, query: &str) -> (u16, Value) {
    json_of(client.get(h.action_url(query)).send().unwrap())
}

/// POST `/?QUERY` with `body` as `client`: status and JSON.
fn post(h: &Host, client: &Client, query: &str, body: &[u8]) -> (u16, Value) {
    json_of(
        client
            .post(h.action_url(query))
            .body(body.to_vec())
            .send()
            .unwrap(),
    )
}

/// The items of `GET /api/workspaces` as `client` sees them, by id.
fn workspaces(h: &Host, client: &Client) -> BTreeMap<String, Value> {
    let (s, v) = json_of(client.get(h.api("workspaces")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    v["workspaces"]
        .as_array()
        .unwrap_or_else(|| panic!("no workspaces in {v}"))
        .iter()
        .map(|w| (w["id"].as_str().unwrap().to_owned(), w.clone()))
        .collect()
}

fn ids(list: &BTreeMap<String, Value>) -> Vec<&str> {
    list.keys().map(String::as_str).collect()
}

/// The names in `dir`, sorted (empty when it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every entry under a folder, not following symlinks: relative path → file content, link
/// target, or "dir".
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(items) = std::fs::read_dir(dir) else {
            return;
        };
        for item in items.flatten() {
            let path = item.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("link -> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(base, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- Two users on "My files" ----

/// Two users on the default "My files", on whichever store `h` runs.
fn two_users_get_their_own_folders(h: &Host) {
    let root = personal(h);
    let alice = h.add_user("alice", false);
    let bob = h.add_user("bob", false);

    // Offered to every user, without a grant; a personal workspace, made by no one.
    for (name, client) in [("alice", &alice), ("bob", &bob)] {
        let list = workspaces(h, client);
        assert_eq!(ids(&list), ["my-files"], "{name} sees: {list:?}");
        let ws = &list["my-files"];
        assert_eq!(ws["label"], "My files", "{ws}");
        assert_eq!(ws["access"], "rw", "{ws}");
        assert_eq!(ws["personal"], true, "{ws}");
        assert!(ws["template"].is_null() && ws["owner"].is_null(), "{ws}");
        assert!(ws.get("params").is_none(), "a user sees no params: {ws}");
    }
    let (s, acl) = json_of(h.client.get(h.api("workspaces/my-files/acl")).send().unwrap());
    assert_eq!(s, 200, "{acl}");
    assert_eq!(acl["grants"], json!([]), "nobody holds a grant: {acl}");
    // The admin's view: the definition as written, keywords unexpanded.
    let admin_view = &workspaces(h, &h.client)["my-files"];
    assert_eq!(admin_view["personal"], true, "{admin_view}");
    assert_eq!(
        admin_view["params"]["ROOT"], "{data_dir}/personal/{user}",
        "{admin_view}"
    );
    assert_eq!(admin_view["all_users"], "rw", "{admin_view}");

    // Signing in and listing workspaces make no folder; the first request does, the user's only.
    assert!(!root.join("alice").exists() && !root.join("bob").exists());
    let (s, v) = get(h, &alice, "get_action=ls&ws=my-files");
    assert_eq!(s, 200, "{v}");
    assert_eq!(listed_names(&v), Vec::<String>::new());
    assert!(root.join("alice").is_dir(), "first use makes alice's folder");
    assert!(!root.join("bob").exists(), "and not bob's");

    let (s, v) = post(
        h,
        &alice,
        "get_action=upload&ws=my-files&name=a.txt",
        ALICE_SECRET.as_bytes(),
    );
    assert_eq!(s, 201, "{v}");
    assert!(!root.join("bob").exists());
    let (s, v) = post(
        h,
        &bob,
        "get_action=upload&ws=my-files&name=b.txt",
        BOB_SECRET.as_bytes(),
    );
    assert_eq!(s, 201, "{v}");

    // On disk: each file in its owner's folder, nothing else anywhere under personal/.
    assert_eq!(names(&root), ["alice", "bob"]);
    assert_eq!(
        tree(&root.join("alice")),
        BTreeMap::from([("a.txt".into(), ALICE_SECRET.into())])
    );
    assert_eq!(
        tree(&root.join("bob")),
        BTreeMap::from([("b.txt".into(), BOB_SECRET.into())])
    );

    // Each lists and reads only their own.
    let (s, v) = get(h, &alice, "get_action=ls&ws=my-files");
    assert_eq!((s, listed_names(&v)), (200, vec!["a.txt".to_owned()]), "{v}");
    let (s, v) = get(h, &bob, "get_action=ls&ws=my-files");
    assert_eq!((s, listed_names(&v)), (200, vec!["b.txt".to_owned()]), "{v}");
    let r = alice
        .get(h.action_url("get_action=download&ws=my-files&file=a.txt"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), ALICE_SECRET);
    let r = alice
        .get(h.action_url("get_action=download&ws=my-files&file=b.txt"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404, "bob's file is not in alice's folder");
    assert!(!contains(&r.bytes().unwrap(), BOB_SECRET.as_bytes()));
    let (s, v) = get(h, &bob, "get_action=stat&ws=my-files&file=a.txt");
    assert_eq!(s, 404, "{v}");

    // Anonymous callers are refused, before any folder is made.
    let anonymous = Client::new();
    for (method, query) in [
        ("GET", "get_action=ls&ws=my-files"),
        ("GET", "get_action=download&ws=my-files&file=a.txt"),
        ("POST", "get_action=upload&ws=my-files&name=anon.txt"),
        ("POST", "get_action=mkdir&ws=my-files&dir=/&dirname=anon"),
    ] {
        let r = match method {
            "GET" => anonymous.get(h.action_url(query)),
            _ => anonymous.post(h.action_url(query)).body("anon"),
        }
        .send()
        .unwrap();
        assert_eq!(r.status(), 401, "anonymous {method} {query}");
        assert!(!contains(&r.bytes().unwrap(), ALICE_SECRET.as_bytes()));
    }
    assert_eq!(names(&root), ["alice", "bob"], "anonymous made no folder");

    // The admin has a folder of their own too, apart from both.
    let (s, v) = h.post_bytes(
        "get_action=upload&ws=my-files&name=admin.txt",
        b"admin".to_vec(),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(names(&root), ["admin", "alice", "bob"]);
    assert_eq!(names(&root.join("admin")), ["admin.txt"]);
    let (s, v) = h.get("get_action=ls&ws=my-files");
    assert_eq!((s, listed_names(&v)), (200, vec!["admin.txt".to_owned()]), "{v}");
    assert_eq!(names(&root.join("alice")), ["a.txt"]);
    assert_eq!(names(&root.join("bob")), ["b.txt"]);
}

#[test]
fn two_users_on_my_files_each_get_their_own_folder() {
    let h = default_host("");
    two_users_get_their_own_folders(&h);
}

#[test]
fn two_users_on_my_files_each_get_their_own_folder_on_postgresql() {
    let db = PgDatabase::create();
    let h = pg_default_host(&db);
    two_users_get_their_own_folders(&h);
}
