//! What a deployment decides: enabled and disabled plugins, declarative workspaces, and the
//! CLI that inspects plugins.

use std::process::Command;

use wshost_tests::*;

#[test]
fn a_disabled_plugin_answers_distinct_errors_for_its_actions_and_workspaces() {
    let h = Host::start(HostSetup::new(
        format!(
            "[plugins]\ndisabled = [\"access.faulty\"]\n{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n\
             [[workspaces]]\nid = \"broken\"\ndriver = \"access.fs\"\nparams = {{ CREATE = \"perhaps\" }}\n\
             [[workspaces]]\nid = \"ghost\"\ndriver = \"access.nothing\"\n",
            fs_config()
        ),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    let (s, v) = h.get("get_action=faulty_panic");
    assert_eq!((s, code(&v)), (409, "plugin_disabled"), "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("access.faulty"));
    let (s, v) = h.get("get_action=ls&ws=faulty");
    assert_eq!((s, code(&v)), (409, "driver_disabled"), "{v}");
    // A workspace whose params fail the manifest's validation, and one with no such driver.
    let (s, v) = h.get("get_action=ls&ws=broken");
    assert_eq!((s, code(&v)), (503, "workspace_unavailable"), "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("ROOT") && msg.contains("CREATE"),
        "field-level reasons: {msg}"
    );
    let (s, v) = h.get("get_action=ls&ws=ghost");
    assert_eq!((s, code(&v)), (503, "workspace_unavailable"), "{v}");
    // The rest works.
    let (s, _) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
    assert!(
        h.log().contains("workspace refused"),
        "start-up names refused workspaces"
    );
}

#[test]
fn the_default_deployment_serves_the_files_workspace() {
    // No [[workspaces]]: the embedded default, `files` on DATA_DIR/files.
    let h = Host::start(HostSetup::new(
        String::new(),
        vec![manifest("access.fs.toml")],
    ));
    let (s, v) = h.post_bytes("get_action=upload&ws=files&name=a.txt", b"abc".to_vec());
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        std::fs::read(h.dir.path().join("data/files/a.txt")).unwrap(),
        b"abc"
    );
}

#[test]
fn plugins_check_accepts_a_good_library_and_explains_a_bad_one() {
    let target = build();
    let run = |args: &[&str]| {
        let out = Command::new(wshost_exe()).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let fs_lib = target.join("libaccess_fs.so");
    let fs_manifest = root().join("manifests/access.fs.toml");
    let (ok, out) = run(&[
        "plugins",
        "check",
        fs_lib.to_str().unwrap(),
        "--manifest",
        fs_manifest.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("ok: access.fs"), "{out}");

    let faulty_manifest = root().join("tests/manifests/access.faulty.toml");
    let (ok, out) = run(&[
        "plugins",
        "check",
        fs_lib.to_str().unwrap(),
        "--manifest",
        faulty_manifest.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        out.contains("libaccess_fs.so")
            && out.contains("access.faulty")
            && out.contains("access.fs"),
        "{out}"
    );

    let (ok, out) = run(&["plugins", "check", "/etc/hostname"]);
    assert!(!ok);
    assert!(
        out.contains("/etc/hostname") && out.contains("not a loadable library"),
        "{out}"
    );

    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["plugins", "list", "--help"],
        &["plugins", "check", "--help"],
    ] {
        let (ok, out) = run(args);
        assert!(ok && out.contains("Usage"), "{args:?}: {out}");
    }
}

/// The systemd unit docs/operations.md shows is the one the Debian package installs, to the
/// letter (tests/tests/package.rs checks the package's copy).
#[test]
fn the_documented_systemd_unit_is_the_packaged_one() {
    assert_eq!(
        unit::documented_unit(),
        unit::packaged_unit(),
        "docs/operations.md must show {} as it is",
        unit::UNIT_FILE
    );
}

/// The systemd unit of `docs/operations.md` as an operator pastes it: systemd's own check
/// accepts it (with the binary at the path the unit names), and `wshost` starts from its
/// `ExecStart` line with the paths mapped into a scratch root (issue 22, trap 5).
#[test]
fn the_documented_systemd_unit_verifies_and_its_command_line_starts_the_host() {
    build();
    let exe = wshost_exe().display().to_string();
    let unit = unit::documented_unit();
    for needed in [
        "StateDirectory=wshost",
        "WorkingDirectory=/var/lib/wshost",
        "User=wshost",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed}");
    }
    unit::verify(&unit.replace("/usr/bin/wshost", &exe));

    // Its command line, the deployment's paths mapped into the scratch root.
    let scratch = tempfile::tempdir().unwrap();
    let port = free_port();
    let etc = scratch.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("host.toml"),
        format!("listen = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let state = scratch.path().join("var/lib/wshost");
    let mut child = unit::command(&unit, "ExecStart", |arg| {
        arg.replace("/usr/bin/wshost", &exe)
            .replace("/etc/wshost", &etc.display().to_string())
            .replace("/var/lib/wshost", &state.display().to_string())
            .replace(
                "/usr/lib/wshost/plugins",
                &target_dir().display().to_string(),
            )
            .replace(
                "/usr/share/wshost/manifests",
                &root().join("manifests").display().to_string(),
            )
    })
    .env("WSHOST_ADMIN_PASSWORD", "unit-admin-password")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let ready = unit::wait_ready(port, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ready, 200, "the host started from the unit's command line");
    assert!(
        state.join("wshost.db").is_file() && state.join("secret.key").is_file(),
        "its state is in the state directory"
    );
}
