//! Templates (issue 23): an administrator publishes a workspace definition with some params
//! fixed; each user makes, uses and deletes their own workspaces from it, never seeing the
//! fixed params, never seeing another user's; the administrator sees every one. On both
//! store backends, through the REST API and the CLI.

use std::io::Write;
use std::process::{Command, Stdio};

use wshost_tests::*;

fn host(extra: &str) -> Host {
    Host::start(HostSetup::new(
        format!("personal_workspace = false\n{}{extra}", fs_config()),
        vec![manifest("access.fs.toml"), manifest("access.sftp.toml")],
    ))
}

/// A template on access.fs: ROOT fixed to a folder per user under the data folder, CREATE
/// left to each user, at most two workspaces per user.
fn publish(h: &Host) -> Value {
    let (s, v) = json_of(
        h.client
            .post(h.api("templates"))
            .json(&json!({
                "id": "projects",
                "label": "Projects",
                "driver": "access.fs",
                "params": { "ROOT": "{data_dir}/projects/{user}" },
                "user_params": ["CREATE"],
                "max_per_user": 2,
            }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    v
}

fn own(h: &Host, client: &Client, body: Value) -> (u16, Value) {
    json_of(
        client
            .post(h.api("templates/projects/workspaces"))
            .json(&body)
            .send()
            .unwrap(),
    )
}

fn workspace_ids(h: &Host, client: &Client) -> Vec<String> {
    let (s, v) = json_of(client.get(h.api("workspaces")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    v["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect()
}

fn a_user_makes_uses_and_deletes_their_own_workspace(h: &Host) {
    let admin_view = publish(h);
    assert_eq!(admin_view["fixed"]["ROOT"], "{data_dir}/projects/{user}");
    let alice = h.add_user("alice", false);
    let bob = h.add_user("bob", false);

    // Users see what they fill in, never the fixed params.
    let (s, v) = json_of(alice.get(h.api("templates")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    let t = &v["templates"][0];
    assert_eq!(t["id"], "projects");
    assert_eq!(t["user_params"][0]["name"], "CREATE");
    assert_eq!(t["user_params"].as_array().unwrap().len(), 1);
    assert!(
        t.get("fixed").is_none(),
        "fixed params shown to a user: {t}"
    );
    assert!(!v.to_string().contains("projects/{user}"), "{v}");

    // Nor can they set one.
    let (s, v) = own(
        h,
        &alice,
        json!({ "label": "Mine", "params": { "ROOT": "/etc", "CREATE": "true" } }),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["fields"][0]["field"], "ROOT", "{v}");
    assert!(v.to_string().contains("set by the template"), "{v}");

    let (s, v) = own(
        h,
        &alice,
        json!({ "label": "Mine", "params": { "CREATE": "true" } }),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], "alice-mine");
    assert_eq!(v["owner"], "alice");
    assert_eq!(v["template"], "projects");
    assert_eq!(v["access"], "rw");
    assert!(v.get("params").is_none(), "{v}");

    // Alice uses it: the file lands in her folder of the template's fixed ROOT.
    let (s, v) = json_of(
        alice
            .post(h.action_url("get_action=upload&ws=alice-mine&name=plan.txt"))
            .body("alice's plan")
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    let on_disk = h.dir.path().join("data/projects/alice/plan.txt");
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "alice's plan");
    assert!(workspace_ids(h, &alice).contains(&"alice-mine".to_owned()));

    // Bob neither sees nor uses nor deletes it.
    assert!(!workspace_ids(h, &bob).contains(&"alice-mine".to_owned()));
    let (s, _) = json_of(
        bob.get(h.action_url("get_action=ls&ws=alice-mine"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 403);
    let (s, _) = json_of(bob.get(h.api("workspaces/alice-mine")).send().unwrap());
    assert_eq!(s, 403);
    let (s, _) = json_of(bob.delete(h.api("workspaces/alice-mine")).send().unwrap());
    assert_eq!(s, 403);
    let (s, v) = json_of(bob.get(h.api("templates/projects")).send().unwrap());
    assert_eq!(s, 200);
    assert_eq!(v["workspaces"], json!([]), "bob sees only his own: {v}");

    // The template's limit per user.
    let (s, v) = own(h, &alice, json!({ "label": "Second" }));
    assert_eq!(s, 201, "{v}");
    let (s, v) = own(h, &alice, json!({ "label": "Third" }));
    assert_eq!(s, 409, "{v}");
    assert_eq!(code(&v), "limit_reached", "{v}");
    let (s, v) = own(h, &bob, json!({ "label": "Mine" }));
    assert_eq!(s, 201, "the limit is per user: {v}");

    // The administrator sees every workspace made from it, and who owns each.
    let (_, v) = json_of(h.client.get(h.api("templates/projects")).send().unwrap());
    assert_eq!(
        v["workspaces"],
        json!(["alice-mine", "alice-second", "bob-mine"])
    );
    let (_, v) = json_of(h.client.get(h.api("workspaces/alice-mine")).send().unwrap());
    assert_eq!(v["owner"], "alice");
    assert_eq!(v["params"]["ROOT"], "{data_dir}/projects/{user}", "{v}");
    // ... and cannot delete the template while they exist.
    let (s, v) = json_of(h.client.delete(h.api("templates/projects")).send().unwrap());
    assert_eq!(s, 409, "{v}");

    // A template is no workspace: nobody lists or opens it.
    assert!(!workspace_ids(h, &h.client).contains(&"projects".to_owned()));
    let (s, _) = json_of(
        h.client
            .get(h.action_url("get_action=ls&ws=projects"))
            .send()
            .unwrap(),
    );
    assert_ne!(s, 200);

    // Alice deletes hers; it is gone for her at once.
    let (s, v) = json_of(alice.delete(h.api("workspaces/alice-mine")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    let (s, _) = json_of(
        alice
            .get(h.action_url("get_action=ls&ws=alice-mine"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 403);
    for id in ["alice-second", "bob-mine"] {
        let (s, v) = json_of(
            h.client
                .delete(h.api(&format!("workspaces/{id}")))
                .send()
                .unwrap(),
        );
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = json_of(h.client.delete(h.api("templates/projects")).send().unwrap());
    assert_eq!(s, 200, "{v}");
}

#[test]
fn a_user_makes_uses_and_deletes_a_workspace_from_a_template_on_sqlite() {
    a_user_makes_uses_and_deletes_their_own_workspace(&host(""));
}

#[test]
fn a_user_makes_uses_and_deletes_a_workspace_from_a_template_on_postgresql() {
    let db = PgDatabase::create();
    let extra = format!(
        "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
        db.url
    );
    // Top-level keys go before the [[workspaces]] tables.
    let h = Host::start(HostSetup::new(
        format!("{extra}personal_workspace = false\n{}", fs_config()),
        vec![manifest("access.fs.toml")],
    ));
    a_user_makes_uses_and_deletes_their_own_workspace(&h);
}

#[test]
fn a_template_edit_reaches_its_workspaces_and_users_secrets_are_sealed() {
    let h = host("[plugins]\nenabled = [\"access.sftp\"]\n");
    // An SFTP template: the server fixed by the administrator, each user's account theirs.
    let (s, v) = json_of(
        h.client
            .post(h.api("templates"))
            .json(&json!({
                "id": "sftp-own",
                "label": "My SFTP account",
                "driver": "access.sftp",
                "params": { "HOST": "127.0.0.1", "HOST_KEY": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
                "user_params": ["USER", "PASSWORD", "ROOT"],
            }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    let alice = h.add_user("alice", false);
    let secret = "alice-sftp-s3cret-9f2c";
    let (s, v) = json_of(
        alice
            .post(h.api("templates/sftp-own/workspaces?verify=false"))
            .json(&json!({ "label": "Home", "params": { "USER": "alice", "PASSWORD": secret } }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    // Sealed at rest like any password param, and never answered.
    let db = std::fs::read(h.dir.path().join("data/wshost.db")).unwrap();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the user's password is in the database file in clear"
    );
    let (_, v) = json_of(h.client.get(h.api("workspaces/alice-home")).send().unwrap());
    assert_eq!(v["secrets_set"], json!(["PASSWORD"]), "{v}");
    assert!(!v.to_string().contains(secret));
    assert_eq!(v["params"]["HOST"], "127.0.0.1", "fixed params joined: {v}");

    // The administrator moves the server: the workspace follows.
    let (s, v) = json_of(
        h.client
            .put(h.api("templates/sftp-own"))
            .json(&json!({
                "label": "My SFTP account",
                "driver": "access.sftp",
                "params": { "HOST": "sftp.example", "HOST_KEY": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
                "user_params": ["USER", "PASSWORD", "ROOT"],
            }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    let (_, v) = json_of(h.client.get(h.api("workspaces/alice-home")).send().unwrap());
    assert_eq!(v["params"]["HOST"], "sftp.example", "{v}");
    assert_eq!(v["params"]["USER"], "alice", "{v}");

    // Field errors name the field: a user param the driver does not have.
    let (s, v) = json_of(
        h.client
            .post(h.api("templates"))
            .json(&json!({ "label": "Bad", "driver": "access.fs", "user_params": ["NOPE"] }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["fields"][0]["field"], "user_params", "{v}");
    // And an admin-only operation stays admin-only.
    let (s, _) = json_of(
        alice
            .post(h.api("templates"))
            .json(&json!({ "label": "Mine", "driver": "access.fs" }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 403);
}

fn wshost(h: &Host, args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(wshost_exe())
        .args(args)
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"").unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn templates_from_the_command_line() {
    let h = host("");
    let alice = h.add_user("alice", false);
    let (ok, out, err) = wshost(
        &h,
        &[
            "template",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "Projects",
            "--param",
            "ROOT={data_dir}/projects/{user}",
            "--user-param",
            "CREATE",
            "--max-per-user",
            "1",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("created template projects"), "{out}");
    let (ok, out, err) = wshost(
        &h,
        &[
            "template",
            "use",
            "projects",
            "--user",
            "alice",
            "--label",
            "Work",
            "--param",
            "CREATE=true",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("created workspace alice-work for alice from template projects"),
        "{out}"
    );
    // Usable at once by its owner on the running server.
    let (s, v) = json_of(
        alice
            .get(h.action_url("get_action=ls&ws=alice-work"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    let (ok, out, err) = wshost(
        &h,
        &[
            "template", "use", "projects", "--user", "alice", "--label", "More",
        ],
    );
    assert!(!ok && err.contains("the template allows 1"), "{out}{err}");
    let (ok, out, _) = wshost(&h, &["template", "list"]);
    assert!(
        ok && out.contains("projects") && out.contains("made: alice-work"),
        "{out}"
    );
    let (ok, _, err) = wshost(&h, &["template", "delete", "projects"]);
    assert!(!ok && err.contains("delete those first"), "{err}");
    let (ok, _, err) = wshost(&h, &["workspace", "delete", "alice-work"]);
    assert!(ok, "{err}");
    let (ok, _, err) = wshost(&h, &["template", "delete", "projects"]);
    assert!(ok, "{err}");
}
