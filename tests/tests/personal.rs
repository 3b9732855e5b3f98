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
    let (s, acl) = json_of(
        h.client
            .get(h.api("workspaces/my-files/acl"))
            .send()
            .unwrap(),
    );
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
    assert!(
        root.join("alice").is_dir(),
        "first use makes alice's folder"
    );
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
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["a.txt".to_owned()]),
        "{v}"
    );
    let (s, v) = get(h, &bob, "get_action=ls&ws=my-files");
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["b.txt".to_owned()]),
        "{v}"
    );
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
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["admin.txt".to_owned()]),
        "{v}"
    );
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

// ---- Cross-user paths: the hostile-path suite from one user's folder at the other's ----

/// Two users of "My files", each with a file holding their secret; the attacker's folder
/// also holds `sub/` and symlinks at the victim's folder.
struct Pair {
    host: Host,
    alice: Client,
    bob: Client,
}

fn pair() -> Pair {
    let host = default_host("");
    let alice = host.add_user("alice", false);
    let bob = host.add_user("bob", false);
    for (client, name, secret) in [(&alice, "a.txt", ALICE_SECRET), (&bob, "b.txt", BOB_SECRET)] {
        let (s, v) = post(
            &host,
            client,
            &format!("get_action=upload&ws=my-files&name={name}"),
            secret.as_bytes(),
        );
        assert_eq!(s, 201, "{v}");
    }
    Pair { host, alice, bob }
}

/// The symlinks planted in the attacker's folder: (name, target). VICTIM is the victim's
/// user name, PERSONAL the absolute `DATA_DIR/personal`.
const LINKS: &[(&str, &str)] = &[
    ("link", "../VICTIM"),
    ("link-file", "../VICTIM/FILE"),
    ("abs-link", "PERSONAL/VICTIM"),
    ("up", ".."),
    ("sub/up", "../.."),
];

/// One direction of the suite: `attacker` (user name and session) aims at `victim`'s file.
struct Attack<'a> {
    h: &'a Host,
    attacker: &'a Client,
    /// The attacker's own file (`a.txt` or `b.txt`).
    own: &'a str,
    /// The victim's user name and file.
    victim: &'a str,
    victim_file: &'a str,
    victim_secret: &'a str,
    /// The attacker's folder.
    folder: PathBuf,
}

impl Attack<'_> {
    /// Puts back what a previous request may have moved, deleted or replaced in the
    /// attacker's own folder.
    fn restore(&self) {
        let folder = &self.folder;
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        if !folder.join(self.own).is_file() {
            let _ = std::fs::remove_dir_all(folder.join(self.own));
            std::fs::write(folder.join(self.own), b"own").unwrap();
        }
        let personal = personal(self.h).display().to_string();
        for (name, target) in LINKS {
            let target = target
                .replace("VICTIM", self.victim)
                .replace("FILE", self.victim_file)
                .replace("PERSONAL", &personal);
            let path = folder.join(name);
            match std::fs::read_link(&path) {
                Ok(t) if t == Path::new(&target) => continue,
                _ => {
                    let _ = std::fs::remove_file(&path);
                    let _ = std::fs::remove_dir_all(&path);
                    symlink(&target, &path).unwrap();
                }
            }
        }
    }
}

/// How a hostile value travels: percent-encoded by the test (the host decodes it back to
/// exactly this text), or put into the query as it is (the host decodes it once).
#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Wire(String),
}

impl Input {
    fn query_value(&self) -> String {
        match self {
            Input::Text(t) => url_encode(t),
            Input::Wire(w) => w.clone(),
        }
    }
}

/// The families of tests/confinement.rs, aimed at `victim`'s folder and file `file` from a
/// sibling folder of `DATA_DIR/personal` (`personal`, absolute).
fn cross_user_inputs(victim: &str, file: &str, personal: &Path) -> Vec<Input> {
    let v = victim;
    let f = file;
    let abs = personal.display().to_string();
    let mut texts: Vec<String> = vec![
        // `..` from every depth and with separator noise.
        format!("../{v}/{f}"),
        format!("../{v}"),
        format!("../{v}/"),
        format!("/../{v}/{f}"),
        format!("./../{v}/{f}"),
        format!("sub/../../{v}/{f}"),
        format!("sub/./../../{v}/{f}"),
        format!(".//..//{v}//{f}"),
        format!("a.txt/../../{v}/{f}"),
        format!("b.txt/../../{v}/{f}"),
        format!("../../personal/{v}/{f}"),
        format!("../../../{v}/{f}"),
        "..".into(),
        "../".into(),
        "/..".into(),
        "sub/../..".into(),
        format!("../{v}/new.txt"),
        // Percent-encoded once more than the transport: literal names inside the folder.
        format!("%2e%2e/{v}/{f}"),
        format!("%2E%2E/{v}"),
        format!(".%2e/{v}/{f}"),
        format!("..%2f{v}%2f{f}"),
        format!("%2e%2e%2f{v}"),
        format!("%252e%252e/{v}/{f}"),
        format!("..%5c{v}%5c{f}"),
        format!("%c0%ae%c0%ae/{v}/{f}"),
        // Backslashes.
        format!("..\\{v}\\{f}"),
        format!("\\..\\{v}"),
        format!("sub\\..\\..\\{v}\\{f}"),
        "..\\".into(),
        // NUL and control characters.
        format!("\0/../{v}/{f}"),
        format!("..\0/{v}/{f}"),
        format!("../{v}/{f}\0"),
        format!("a.txt\0../{v}"),
        format!("\n/../{v}/{f}"),
        // Absolute paths, the real one of the victim's file included.
        format!("{abs}/{v}/{f}"),
        format!("{abs}/{v}"),
        format!("/{abs}/{v}/{f}"),
        format!("file://{abs}/{v}/{f}"),
        format!("~{v}/{f}"),
        format!("/proc/self/root{abs}/{v}/{f}"),
        // Unicode lookalikes of `.` and `/`.
        format!("\u{2024}\u{2024}/{v}/{f}"),
        format!("\u{FF0E}\u{FF0E}/{v}/{f}"),
        format!("..\u{2215}{v}\u{2215}{f}"),
        format!("..\u{FF0F}{v}\u{FF0F}{f}"),
        format!(".\u{200B}./{v}/{f}"),
        format!("\u{FEFF}../{v}/{f}"),
        // Through the planted symlinks.
        "link".into(),
        format!("link/{f}"),
        "link/new.txt".into(),
        "link-file".into(),
        "abs-link".into(),
        format!("abs-link/{f}"),
        "up".into(),
        format!("up/{v}/{f}"),
        format!("up/{v}"),
        format!("sub/up/personal/{v}/{f}"),
    ];
    // The victim's name in other cases and spellings: another folder, or none.
    texts.push(format!("../{}/{f}", v.to_uppercase()));
    let mut inputs: Vec<Input> = texts.drain(..).map(Input::Text).collect();
    for w in [
        format!("../{v}/{f}"),
        format!("%2e%2e/{v}/{f}"),
        format!("..%2f{v}%2f{f}"),
        format!("..%2F{v}"),
        format!("%2e%2e%2f{v}%2f{f}"),
        format!("%252e%252e%252f{v}"),
        format!("..%00/{v}/{f}"),
        "%00".into(),
        format!("..%5c{v}%5c{f}"),
        format!("..%c0%af{v}"),
        format!("%2F..%2F{v}%2F{f}"),
    ] {
        inputs.push(Input::Wire(w));
    }
    inputs
}

/// Every file action of access.fs on "My files" with the hostile value `v` in each path or
/// name parameter (`own` the attacker's file): (method, query).
fn actions(v: &str, own: &str) -> Vec<(&'static str, String)> {
    let ws = "ws=my-files";
    vec![
        ("GET", format!("get_action=stat&{ws}&file={v}")),
        ("GET", format!("get_action=download&{ws}&file={v}")),
        ("GET", format!("get_action=ls&{ws}&dir={v}")),
        ("POST", format!("get_action=upload&{ws}&file={v}")),
        (
            "POST",
            format!("get_action=upload&{ws}&dir={v}&name=up.txt"),
        ),
        ("POST", format!("get_action=upload&{ws}&dir=/&name={v}")),
        ("POST", format!("get_action=delete&{ws}&file={v}")),
        (
            "POST",
            format!("get_action=mkdir&{ws}&dir={v}&dirname=made"),
        ),
        ("POST", format!("get_action=mkdir&{ws}&dir=/&dirname={v}")),
        (
            "POST",
            format!("get_action=rename&{ws}&file={v}&filename_new=renamed"),
        ),
        (
            "POST",
            format!("get_action=rename&{ws}&file={own}&filename_new={v}"),
        ),
        ("POST", format!("get_action=move&{ws}&file={v}&dest=/sub")),
        ("POST", format!("get_action=move&{ws}&file={own}&dest={v}")),
        ("POST", format!("get_action=copy&{ws}&file={v}&dest=/sub")),
        ("POST", format!("get_action=copy&{ws}&file={own}&dest={v}")),
    ]
}

/// The suite in one direction; the number of requests sent.
fn attack(a: &Attack) -> usize {
    let h = a.h;
    let root = personal(h);
    let victim_folder = root.join(a.victim);
    let victim_before = tree(&victim_folder);
    assert_eq!(
        victim_before,
        BTreeMap::from([(a.victim_file.to_owned(), a.victim_secret.to_owned())])
    );
    let top_before = names(&root);
    let secret = a.victim_secret.as_bytes();
    let inputs = cross_user_inputs(a.victim, a.victim_file, &root);
    let (mut requests, mut server_errors) = (0, Vec::new());
    for input in &inputs {
        let v = input.query_value();
        for (method, query) in actions(&v, a.own) {
            a.restore();
            let url = h.action_url(&query);
            let r = match method {
                "GET" => a.attacker.get(&url),
                _ => a.attacker.post(&url).body("pwned"),
            }
            .send()
            .unwrap();
            let status = r.status().as_u16();
            let body = r.bytes().unwrap();
            requests += 1;
            let what = format!("{input:?}: {method} {query} -> {status}");
            assert!(!contains(&body, secret), "CROSS-USER READ: {what}");
            assert_eq!(
                tree(&victim_folder),
                victim_before,
                "CROSS-USER CHANGE: the victim's folder changed after {what}"
            );
            assert_eq!(
                names(&root),
                top_before,
                "CROSS-USER CHANGE: something was made beside the users' folders after {what}"
            );
            if status >= 500 {
                server_errors.push(format!("{what} {}", String::from_utf8_lossy(&body)));
            }
        }
    }
    // Nothing the requests did left the victim's secret in the attacker's folder (a copy
    // through a link).
    for (path, content) in tree(&a.folder) {
        assert!(
            !content.contains(a.victim_secret),
            "CROSS-USER COPY: {path} holds the victim's secret"
        );
    }
    assert!(
        server_errors.is_empty(),
        "hostile paths must be refused as client errors:\n{}",
        server_errors.join("\n")
    );

    // The plain attacks are refused outright, not merely harmless: reads and writes at the
    // victim's file through `..`, its encoded forms, its absolute path and the symlinks.
    let v = a.victim;
    let f = a.victim_file;
    let abs = root.display();
    let strict: Vec<String> = vec![
        url_encode(&format!("../{v}/{f}")),
        format!("..%2f{v}%2f{f}"),
        format!("%2e%2e/{v}/{f}"),
        format!("%2e%2e%2f{v}%2f{f}"),
        url_encode(&format!("{abs}/{v}/{f}")),
        url_encode(&format!("..\\{v}\\{f}")),
        url_encode(&format!("../{v}/{f}\0")),
        format!("..%00/{v}/{f}"),
        url_encode(&format!("link/{f}")),
        url_encode(&format!("abs-link/{f}")),
        url_encode(&format!("up/{v}/{f}")),
    ];
    let mut accepted = Vec::new();
    for p in &strict {
        for (method, query) in [
            ("GET", format!("get_action=download&ws=my-files&file={p}")),
            ("GET", format!("get_action=stat&ws=my-files&file={p}")),
            ("POST", format!("get_action=delete&ws=my-files&file={p}")),
            (
                "POST",
                format!("get_action=rename&ws=my-files&file={p}&filename_new=taken"),
            ),
            (
                "POST",
                format!("get_action=copy&ws=my-files&file={p}&dest=/sub"),
            ),
            (
                "POST",
                format!("get_action=upload&ws=my-files&file={p}&overwrite=true"),
            ),
        ] {
            a.restore();
            let url = h.action_url(&query);
            let r = match method {
                "GET" => a.attacker.get(&url),
                _ => a.attacker.post(&url).body("pwned"),
            }
            .send()
            .unwrap();
            let status = r.status().as_u16();
            requests += 1;
            if !(400..500).contains(&status) {
                accepted.push(format!("{method} {query} -> {status}"));
            }
        }
        for dir in [p.as_str(), "link", "abs-link", "up"] {
            let (s, v) = get(
                h,
                a.attacker,
                &format!("get_action=ls&ws=my-files&dir={dir}"),
            );
            requests += 1;
            if !(400..500).contains(&s) {
                accepted.push(format!("ls {dir} -> {s} {v}"));
            }
        }
    }
    // A symlink itself is a leaf of the attacker's own folder (access.fs shows it as a
    // zero-byte file; stat, rename and delete act on the link): what would follow it is
    // refused.
    for query in [
        "get_action=download&ws=my-files&file=link-file".to_owned(),
        "get_action=copy&ws=my-files&file=link-file&dest=/sub".into(),
        "get_action=copy&ws=my-files&file=link&dest=/sub".into(),
        "get_action=copy&ws=my-files&file=abs-link&dest=/sub".into(),
        "get_action=copy&ws=my-files&file=up&dest=/sub".into(),
    ] {
        a.restore();
        let method = if query.contains("download") {
            "GET"
        } else {
            "POST"
        };
        let url = h.action_url(&query);
        let r = match method {
            "GET" => a.attacker.get(&url),
            _ => a.attacker.post(&url),
        }
        .send()
        .unwrap();
        let status = r.status().as_u16();
        requests += 1;
        if !(400..500).contains(&status) {
            accepted.push(format!("{method} {query} -> {status}"));
        }
    }
    assert!(
        accepted.is_empty(),
        "cross-user requests must be refused:\n{}",
        accepted.join("\n")
    );
    assert_eq!(
        tree(&victim_folder),
        victim_before,
        "the victim's file is intact"
    );
    requests
}

#[test]
fn no_path_reaches_another_users_folder() {
    let p = pair();
    let h = &p.host;
    let root = personal(h);
    let mut requests = 0;
    for (attacker, own, victim, victim_file, victim_secret, name) in [
        (&p.alice, "a.txt", "bob", "b.txt", BOB_SECRET, "alice"),
        (&p.bob, "b.txt", "alice", "a.txt", ALICE_SECRET, "bob"),
    ] {
        let a = Attack {
            h,
            attacker,
            own,
            victim,
            victim_file,
            victim_secret,
            folder: root.join(name),
        };
        requests += attack(&a);
        // The attacker's folder back to their own file alone (the suite left harmless
        // literal names in it), the victim of the other direction.
        let own_secret = if name == "alice" {
            ALICE_SECRET
        } else {
            BOB_SECRET
        };
        std::fs::remove_dir_all(&a.folder).unwrap();
        std::fs::create_dir(&a.folder).unwrap();
        std::fs::write(a.folder.join(own), own_secret).unwrap();
    }
    // Both files where they were, unchanged, and each still the only one its owner lists.
    assert_eq!(
        std::fs::read_to_string(root.join("bob/b.txt")).unwrap(),
        BOB_SECRET
    );
    assert_eq!(
        std::fs::read_to_string(root.join("alice/a.txt")).unwrap(),
        ALICE_SECRET
    );
    println!("cross-user hostile paths: {requests} requests, 0 reads or changes across users");
}

#[test]
fn over_webdav_each_user_sees_only_their_own_folder() {
    let p = pair();
    let h = &p.host;
    let root = personal(h);
    let alice_folder = root.join("alice");
    for (name, target) in [
        ("link", "../bob".to_owned()),
        ("link-file", "../bob/b.txt".into()),
        ("abs-link", root.join("bob").display().to_string()),
    ] {
        symlink(target, alice_folder.join(name)).unwrap();
    }
    let bob_before = tree(&root.join("bob"));
    let alice_dav = Dav::basic(h, "alice", &webdav::app_password(h, &p.alice));
    let bob_dav = Dav::basic(h, "bob", &webdav::app_password(h, &p.bob));

    // Each PROPFIND of /dav/my-files/ is the caller's own folder.
    let a = alice_dav.send("PROPFIND", "/dav/my-files/", &[("Depth", "1")], b"");
    assert_eq!(a.status, 207, "{}", a.text());
    let hrefs = webdav::hrefs(&a);
    assert!(
        hrefs.iter().any(|h| h.ends_with("/dav/my-files/a.txt")),
        "{hrefs:?}"
    );
    assert!(
        !hrefs.iter().any(|h| h.contains("b.txt")),
        "alice sees bob's file: {hrefs:?}"
    );
    let b = bob_dav.send("PROPFIND", "/dav/my-files/", &[("Depth", "1")], b"");
    assert_eq!(b.status, 207, "{}", b.text());
    let hrefs = webdav::hrefs(&b);
    assert!(
        hrefs.iter().any(|h| h.ends_with("/dav/my-files/b.txt")),
        "{hrefs:?}"
    );
    assert!(!hrefs.iter().any(|h| h.contains("a.txt")), "{hrefs:?}");
    let a = alice_dav.send("GET", "/dav/my-files/a.txt", &[], b"");
    assert_eq!((a.status, a.text().as_str()), (200, ALICE_SECRET));
    let a = alice_dav.send("GET", "/dav/my-files/b.txt", &[], b"");
    assert_eq!(a.status, 404, "{}", a.text());

    // Paths and Destinations at bob's folder, as the bytes an attacker sends.
    let abs = webdav::encode_path(&root.join("bob/b.txt").display().to_string());
    let mut refused = Vec::new();
    for (method, path, headers) in [
        (
            "GET",
            "/dav/my-files/../bob/b.txt".to_owned(),
            Vec::<(&str, String)>::new(),
        ),
        ("GET", "/dav/my-files/%2e%2e/bob/b.txt".into(), vec![]),
        ("GET", "/dav/my-files/..%2fbob%2fb.txt".into(), vec![]),
        ("GET", "/dav/my-files/..\\bob\\b.txt".into(), vec![]),
        ("GET", "/dav/my-files/b.txt%00".into(), vec![]),
        ("GET", format!("/dav/my-files/{abs}"), vec![]),
        (
            "GET",
            format!("/dav/my-files/%2F{}", abs.trim_start_matches('/')),
            vec![],
        ),
        ("GET", "/dav/my-files/link/b.txt".into(), vec![]),
        ("GET", "/dav/my-files/link-file".into(), vec![]),
        ("GET", "/dav/my-files/abs-link/b.txt".into(), vec![]),
        (
            "PROPFIND",
            "/dav/my-files/../bob/".to_owned(),
            vec![("Depth", "1".into())],
        ),
        (
            "PROPFIND",
            "/dav/my-files/link/sub/".into(),
            vec![("Depth", "1".into())],
        ),
        ("PUT", "/dav/my-files/../bob/b.txt".into(), vec![]),
        ("PUT", "/dav/my-files/link/b.txt".into(), vec![]),
        ("PUT", "/dav/my-files/link/new.txt".into(), vec![]),
        ("DELETE", "/dav/my-files/link/b.txt".into(), vec![]),
        ("DELETE", "/dav/my-files/%2e%2e/bob/b.txt".into(), vec![]),
        (
            "MOVE",
            "/dav/my-files/link/b.txt".into(),
            vec![("Destination", "/dav/my-files/stolen.txt".into())],
        ),
        (
            "COPY",
            "/dav/my-files/link-file".into(),
            vec![("Destination", "/dav/my-files/stolen.txt".into())],
        ),
        (
            "COPY",
            "/dav/my-files/a.txt".into(),
            vec![("Destination", "/dav/my-files/../bob/b.txt".into())],
        ),
        (
            "MOVE",
            "/dav/my-files/a.txt".into(),
            vec![("Destination", "/dav/my-files/link/b.txt".into())],
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let body: &[u8] = if method == "PUT" { b"pwned" } else { b"" };
        let a = alice_dav.send(method, &path, &headers, body);
        let what = format!("{method} {path} {headers:?} -> {}", a.status);
        assert!(
            !contains(&a.body, BOB_SECRET.as_bytes()),
            "CROSS-USER READ: {what}"
        );
        assert_eq!(
            tree(&root.join("bob")),
            bob_before,
            "CROSS-USER CHANGE: {what}"
        );
        if a.status < 400 || (a.status >= 500 && a.status != 502) {
            refused.push(format!("{what}: {}", a.text().trim()));
        }
    }
    // A symlink is a zero-byte leaf of alice's folder: its PROPFIND names it alone.
    for link in ["link", "abs-link"] {
        let a = alice_dav.send(
            "PROPFIND",
            &format!("/dav/my-files/{link}/"),
            &[("Depth", "1")],
            b"",
        );
        let hrefs = webdav::hrefs(&a);
        if a.status < 400 && hrefs != [format!("/dav/my-files/{link}/")] {
            refused.push(format!("PROPFIND {link}/ -> {} {hrefs:?}", a.status));
        }
        assert!(
            !a.text().contains("b.txt"),
            "CROSS-USER LISTING: {}",
            a.text()
        );
    }
    assert!(
        refused.is_empty(),
        "alice's WebDAV requests at bob's folder must be refused:\n{}",
        refused.join("\n")
    );
    assert!(!alice_folder.join("stolen.txt").exists());
    assert_eq!(
        std::fs::read_to_string(alice_folder.join("a.txt")).unwrap(),
        ALICE_SECRET,
        "alice's own file stayed"
    );
    assert_eq!(names(&root), ["alice", "bob"]);
}

// ---- The personal_workspace switch ----

#[test]
fn personal_workspace_false_removes_my_files() {
    let h = default_host("personal_workspace = false\n");
    let alice = h.add_user("alice", false);
    assert_eq!(ids(&workspaces(&h, &h.client)), ["files"]);
    assert!(workspaces(&h, &alice).is_empty());
    let (s, v) = get(&h, &alice, "get_action=ls&ws=my-files");
    assert_eq!(s, 403, "{v}");
    let (s, v) = post(&h, &alice, "get_action=upload&ws=my-files&name=a.txt", b"a");
    assert_eq!(s, 403, "{v}");
    let (s, v) = h.get("get_action=ls&ws=my-files");
    assert_eq!(s, 404, "the admin is told it does not exist: {v}");
    assert!(!personal(&h).exists(), "no personal folder is made");
}

#[test]
fn personal_workspace_true_adds_my_files_beside_declared_workspaces() {
    // Declared workspaces alone: no My files unless asked for.
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let alice = h.add_user("alice", false);
    assert_eq!(ids(&workspaces(&h, &h.client)), ["files"]);
    let (s, v) = get(&h, &alice, "get_action=ls&ws=my-files");
    assert_eq!(s, 403, "{v}");
    drop(h);

    let h = Host::start(HostSetup::new(
        format!("personal_workspace = true\n{}", fs_config()),
        vec![manifest("access.fs.toml")],
    ));
    let alice = h.add_user("alice", false);
    assert_eq!(ids(&workspaces(&h, &h.client)), ["files", "my-files"]);
    let list = workspaces(&h, &alice);
    assert_eq!(
        ids(&list),
        ["my-files"],
        "files needs a grant, My files does not"
    );
    assert_eq!(list["my-files"]["personal"], true);
    assert_eq!(list["my-files"]["access"], "rw");
    let (s, v) = post(
        &h,
        &alice,
        "get_action=upload&ws=my-files&name=a.txt",
        b"alice's",
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        std::fs::read(personal(&h).join("alice/a.txt")).unwrap(),
        b"alice's"
    );
    assert!(!h.dir.path().join("root/a.txt").exists());
}

// ---- A declared keyword workspace with all_users = "r" ----

#[test]
fn a_declared_keyword_workspace_opens_per_user_with_all_users_access() {
    let h = Host::start(HostSetup::new(
        "[[workspaces]]\nid = \"team\"\nlabel = \"Team\"\ndriver = \"access.fs\"\nall_users = \"r\"\n\
         params = { ROOT = \"AJXP_DATA_PATH/team/AJXP_USER\", CREATE = true }\n"
            .into(),
        vec![manifest("access.fs.toml")],
    ));
    let team = data_dir(&h).join("team");
    let alice = h.add_user("alice", false);
    assert_eq!(
        ids(&workspaces(&h, &h.client)),
        ["team"],
        "declared workspaces replace the defaults, My files included"
    );
    let list = workspaces(&h, &alice);
    assert_eq!(ids(&list), ["team"], "{list:?}");
    assert_eq!(list["team"]["access"], "r");
    assert_eq!(list["team"]["personal"], true);
    let admin_view = &workspaces(&h, &h.client)["team"];
    assert_eq!(
        admin_view["params"]["ROOT"],
        "AJXP_DATA_PATH/team/AJXP_USER"
    );
    assert_eq!(admin_view["all_users"], "r");

    // Read: alice lists her (empty) folder; write: refused, nothing written.
    let (s, v) = get(&h, &alice, "get_action=ls&ws=team");
    assert_eq!((s, listed_names(&v)), (200, Vec::<String>::new()), "{v}");
    for query in [
        "get_action=upload&ws=team&name=a.txt",
        "get_action=mkdir&ws=team&dir=/&dirname=d",
    ] {
        let (s, v) = post(&h, &alice, query, b"a");
        assert_eq!(s, 403, "{query}: {v}");
    }
    assert!(names(&team.join("alice")).is_empty(), "{:?}", tree(&team));

    // The admin (read-write) writes into their own folder, made on first use.
    assert!(!team.join("admin").exists());
    let (s, v) = h.post_bytes("get_action=upload&ws=team&name=x.txt", b"admin's".to_vec());
    assert_eq!(s, 201, "{v}");
    assert_eq!(std::fs::read(team.join("admin/x.txt")).unwrap(), b"admin's");
    let (s, v) = get(&h, &alice, "get_action=ls&ws=team");
    assert_eq!((s, listed_names(&v)), (200, Vec::<String>::new()), "{v}");

    // A grant raises alice to read-write, still in her own folder.
    h.grant("team", "alice", "rw");
    let (s, v) = post(
        &h,
        &alice,
        "get_action=upload&ws=team&name=a.txt",
        b"alice's",
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(std::fs::read(team.join("alice/a.txt")).unwrap(), b"alice's");
    assert_eq!(names(&team), ["admin", "alice"]);
    assert_eq!(names(&team.join("admin")), ["x.txt"]);
}

// ---- Keyword validation ----

/// `POST /api/workspaces` of an access.fs workspace `id` on `root`, checked by the driver.
fn create(h: &Host, id: &str, root: &str) -> (u16, Value) {
    json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({
                "id": id,
                "label": id,
                "driver": "access.fs",
                "params": { "ROOT": root, "CREATE": "true" },
            }))
            .send()
            .unwrap(),
    )
}

/// The field errors of an answer: (field, message).
fn field_errors(v: &Value) -> Vec<(String, String)> {
    v["error"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no field errors in {v}"))
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn keywords_are_kept_as_written_and_unknown_ones_refused_naming_the_field() {
    let h = default_host("");
    let (s, v) = create(&h, "shared", "{data_dir}/shared");
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["params"]["ROOT"], "{data_dir}/shared", "{v}");
    assert_eq!(v["personal"], false, "{v}");
    let (s, v) = json_of(h.client.get(h.api("workspaces/shared")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["params"]["ROOT"], "{data_dir}/shared",
        "stored as written: {v}"
    );
    // Expanded at use: the data folder's `shared`.
    let (s, v) = h.post_bytes("get_action=upload&ws=shared&name=s.txt", b"shared".to_vec());
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        std::fs::read(data_dir(&h).join("shared/s.txt")).unwrap(),
        b"shared"
    );

    // Pydio's aliases and {user}: accepted, a personal workspace.
    let (s, v) = create(&h, "pydio", "AJXP_DATA_PATH/pydio/AJXP_USER");
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["personal"], true, "{v}");

    // Unknown keywords, in either spelling: refused naming ROOT, nothing saved.
    for (id, root, keyword) in [
        ("nope", "/x/{nope}", "{nope}"),
        ("home", "/srv/{home}", "{home}"),
        ("ajxp", "/srv/AJXP_NOPE", "AJXP_NOPE"),
    ] {
        let (s, v) = create(&h, id, root);
        // The host's answer to every field error (as accounts.rs checks for other params).
        assert_eq!((s, code(&v)), (422, "invalid_params"), "{root}: {v}");
        let fields = field_errors(&v);
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!(fields[0].0, "ROOT", "{fields:?}");
        assert!(
            fields[0].1.contains(&format!("unknown keyword {keyword}")),
            "{fields:?}"
        );
        let (s, _) = json_of(
            h.client
                .get(h.api(&format!("workspaces/{id}")))
                .send()
                .unwrap(),
        );
        assert_eq!(s, 404, "{id} was not saved");
    }
}

/// `wshost ARGS --config CONFIG`: success, stdout, stderr.
fn wshost(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(wshost_exe())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("WSHOST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_refuses_an_unknown_keyword_naming_its_key() {
    build();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("manifests")).unwrap();
    let (name, text) = manifest("access.fs.toml");
    std::fs::write(d.join("manifests").join(name), text).unwrap();
    let config = |workspaces: &str| {
        let path = d.join("host.toml");
        std::fs::write(
            &path,
            format!(
                "data_dir = \"{}\"\nmanifest_dirs = [\"{}\"]\nplugin_dirs = [\"{}\"]\n{workspaces}",
                d.join("data").display(),
                d.join("manifests").display(),
                target_dir().display()
            ),
        )
        .unwrap();
        path
    };
    let good = config(
        "[[workspaces]]\nid = \"team\"\ndriver = \"access.fs\"\n\
         params = { ROOT = \"AJXP_DATA_PATH/team/AJXP_USER\", CREATE = true }\n",
    );
    let (ok, out, err) = wshost(&good, &["config", "check"]);
    assert!(ok, "known keywords pass: {out}{err}");
    assert!(out.starts_with("ok:"), "{out}");

    let bad = config(
        "[[workspaces]]\nid = \"bad\"\ndriver = \"access.fs\"\nparams = { ROOT = \"/srv/AJXP_NOPE\" }\n",
    );
    let (ok, out, err) = wshost(&bad, &["config", "check"]);
    assert!(!ok, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("workspaces.params.ROOT"))
        .unwrap_or_else(|| panic!("no problem names workspaces.params.ROOT:\n{out}{err}"));
    assert!(
        line.contains("workspace 'bad'") && line.contains("unknown keyword AJXP_NOPE"),
        "{line}"
    );
    assert!(!d.join("data/team").exists() && !d.join("data/personal").exists());
}

// ---- The CLI operator has no user ----

#[test]
fn the_cli_cannot_verify_a_workspace_that_needs_a_user() {
    let h = default_host("");
    let config = h.dir.path().join("host.toml");
    let (ok, out, err) = wshost(&config, &["workspace", "verify", "my-files"]);
    assert!(!ok, "{out}{err}");
    assert!(err.contains("needs a signed-in user"), "{out}{err}");
    assert!(
        !personal(&h).exists(),
        "no folder made for anybody: {:?}",
        names(&data_dir(&h))
    );
    // The same CLI verifies a workspace that needs none.
    let (ok, out, err) = wshost(&config, &["workspace", "verify", "files"]);
    assert!(ok && out.starts_with("ok:"), "{out}{err}");
    // And shows My files as written.
    let (ok, out, err) = wshost(&config, &["workspace", "show", "my-files", "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["params"]["ROOT"], "{data_dir}/personal/{user}", "{v}");
    assert_eq!(v["personal"], true, "{v}");
}
