//! The administration CLI mirrors the API and works on the same store as a running server.

use std::io::Write;
use std::process::{Command, Stdio};

use wshost_tests::*;

fn wshost(h: &Host, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(wshost_exe())
        .args(args)
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn users_tokens_workspaces_and_toggles_from_the_command_line() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let (ok, _, err) = wshost(&h, &["user", "add", "dana"], "dana-password\n");
    assert!(ok, "{err}");
    let (ok, _, err) = wshost(&h, &["user", "add", "shorty"], "short\n");
    assert!(!ok && err.contains("at least 8"), "{err}");

    // The token alone on stdout, usable at once against the running server.
    let (ok, token, err) = wshost(&h, &["token", "create", "dana", "--label", "ci"], "");
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert!(
        token.starts_with("wsh_") && !token.contains(char::is_whitespace),
        "{token:?}"
    );

    let root = h.dir.path().join("cli-ws");
    let root_param = format!("ROOT={}", root.display());
    let (ok, out, err) = wshost(
        &h,
        &[
            "workspace",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "From CLI",
            "--param",
            &root_param,
            "--param",
            "CREATE=true",
            "--dry-run",
        ],
        "",
    );
    assert!(ok && out.contains("dry run"), "{out}{err}");
    let (ok, out, err) = wshost(
        &h,
        &[
            "workspace",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "From CLI",
            "--param",
            "CREATE=maybe",
        ],
        "",
    );
    assert!(
        !ok && err.contains("ROOT") && err.contains("CREATE"),
        "field errors: {out}{err}"
    );
    let (ok, out, err) = wshost(
        &h,
        &[
            "workspace",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "From CLI",
            "--param",
            &root_param,
            "--param",
            "CREATE=true",
        ],
        "",
    );
    assert!(ok && out.contains("from-cli"), "{out}{err}");
    let (ok, _, err) = wshost(&h, &["workspace", "grant", "from-cli", "dana", "rw"], "");
    assert!(ok, "{err}");
    let (ok, out, err) = wshost(&h, &["workspace", "list", "--json"], "");
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = list["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["files", "from-cli"]);
    let (ok, out, err) = wshost(&h, &["workspace", "verify", "from-cli"], "");
    assert!(ok && out.starts_with("ok:"), "{out}{err}");

    let bearer = Client::new();
    let r = bearer
        .post(h.action_url("get_action=mkdir&ws=from-cli&dir=/&dirname=made"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "the server sees what the CLI wrote");

    let (ok, _, err) = wshost(&h, &["plugins", "disable", "access.fs"], "");
    assert!(ok, "{err}");
    let r = bearer
        .get(h.action_url("get_action=ls&ws=from-cli"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "disabled from the CLI, refused by the server at once"
    );
    let (ok, _, err) = wshost(&h, &["plugins", "enable", "access.fs"], "");
    assert!(ok, "{err}");

    let (ok, _, err) = wshost(&h, &["workspace", "revoke", "from-cli", "dana"], "");
    assert!(ok, "{err}");
    let r = bearer
        .get(h.action_url("get_action=ls&ws=from-cli"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let (ok, _, err) = wshost(&h, &["workspace", "delete", "from-cli"], "");
    assert!(ok, "{err}");
    let (ok, _, err) = wshost(&h, &["user", "delete", "dana"], "");
    assert!(ok, "{err}");
    let r = bearer
        .get(h.action_url("get_action=ls&ws=files"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401, "a deleted user's tokens die with them");
}

/// Administration commands load no plugin they do not need: users, tokens and the
/// workspace list open the store (and read manifests) only; verify loads the one driver it
/// calls.
#[test]
fn administration_commands_load_only_the_plugins_they_call() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    for args in [
        &["user", "list"][..],
        &["token", "create", "admin", "--label", "x"],
        &["workspace", "list"],
        &["workspace", "show", "files"],
    ] {
        let (ok, _, err) = wshost(&h, args, "");
        assert!(ok, "{args:?}: {err}");
        assert!(
            !err.contains("plugin loaded"),
            "{args:?} loaded a plugin:\n{err}"
        );
    }
    let (ok, out, err) = wshost(&h, &["workspace", "verify", "files"], "");
    assert!(ok && out.starts_with("ok:"), "{out}\n{err}");
    assert!(
        out.contains("\ncapabilities: stat, list, read, read_range, write, mkdir, delete, rename, copy, verify"),
        "verify shows what the driver declares:\n{out}"
    );
    assert!(
        err.contains("plugin loaded") && err.contains("access.fs"),
        "{err}"
    );
}
