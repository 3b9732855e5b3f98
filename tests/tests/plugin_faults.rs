//! Plugins that misbehave or do not belong: the host refuses or survives them, and keeps
//! serving the others.

use std::process::Command;

use wshost_tests::*;

fn faulty_config() -> String {
    format!(
        "{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n",
        fs_config()
    )
}

#[test]
fn panics_in_a_driver_and_an_action_fail_the_request_not_the_host() {
    let mut h = Host::start(HostSetup::new(
        faulty_config(),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    for _ in 0..3 {
        let (s, v) = h.get("get_action=stat&ws=faulty&file=panic");
        assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("stat"),
            "{v}"
        );

        let (s, v) = h.get("get_action=faulty_panic");
        assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("faulty_panic"),
            "{v}"
        );

        // A stream that panics midway cuts the response; the host lives on.
        let r = h
            .client
            .get(h.action_url("get_action=download&ws=faulty&file=panic-stream"))
            .send();
        if let Ok(r) = r {
            assert!(
                r.bytes().is_err(),
                "a truncated body must not look complete"
            );
        }
        assert!(h.alive(), "host died:\n{}", h.log());

        // The same plugin and the other plugins keep serving.
        let (s, v) = h.get("get_action=stat&ws=faulty&file=hello.txt");
        assert_eq!(s, 200, "{v}");
        let (s, _) = h.get("get_action=ls&ws=files");
        assert_eq!(s, 200);
    }
    let (s, v) = h.get("get_action=faulty_echo&ws=faulty&x=1");
    assert_eq!(
        (s, v["workspace"].as_str(), v["query"]["x"].as_str()),
        (202, Some("faulty"), Some("1")),
        "{v}"
    );
}

#[test]
fn every_error_kind_maps_to_its_status() {
    let h = Host::start(HostSetup::new(
        faulty_config(),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    for (kind, status) in [
        ("not_found", 404),
        ("already_exists", 409),
        ("permission_denied", 403),
        ("invalid_input", 400),
        ("invalid_range", 416),
        ("authorization_required", 401),
        ("rate_limited", 429),
        ("conflict", 409),
        ("unsupported", 501),
        ("unavailable", 503),
        ("insufficient_storage", 507),
        ("internal", 500),
    ] {
        let (s, v) = h.get(&format!("get_action=stat&ws=faulty&file=error-{kind}"));
        assert_eq!((s, code(&v)), (status, kind), "{v}");
    }
    // A read-only driver answers "unsupported" for writes.
    let (s, v) = h.post("get_action=mkdir&ws=faulty&dir=/&dirname=x");
    assert_eq!((s, code(&v)), (501, "unsupported"), "{v}");
}

#[test]
fn refused_plugins_are_named_with_their_reason_and_the_others_load() {
    // A real shared library that is not a plugin, and a file that is not a library at all.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.c"),
        "int not_a_plugin(void) { return 1; }\n",
    )
    .unwrap();
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.path().join("libnotaplugin.so"))
        .arg(dir.path().join("x.c"))
        .status()
        .expect("run cc (gcc is part of every machine this project runs on)");
    assert!(cc.success());
    let not_a_plugin = std::fs::read(dir.path().join("libnotaplugin.so")).unwrap();

    let mismatch = "id = \"access.mismatch\"\ntype = \"access\"\nlabel = \"Mismatch\"\nlibrary = \"access_impostor\"\nenabled = true\n\n[[actions]]\nname = \"faulty_panic\"\nrights = \"public\"\n";
    let h = Host::start(HostSetup {
        config: fs_config(),
        env: Vec::new(),
        plugin_files: vec![
            ("libnotaplugin.so".into(), not_a_plugin),
            ("libgarbage.so".into(), b"not an ELF file".to_vec()),
        ],
        manifests: vec![
            manifest("access.fs.toml"),
            manifest("access.faulty.toml"),
            manifest("access.impostor.toml"),
            ("access.mismatch.toml".into(), mismatch.into()),
            (
                "access.notaplugin.toml".into(),
                "id = \"access.notaplugin\"\ntype = \"access\"\nlabel = \"N\"\nlibrary = \"notaplugin\"\nenabled = true\n".into(),
            ),
            (
                "access.garbage.toml".into(),
                "id = \"access.garbage\"\ntype = \"access\"\nlabel = \"G\"\nlibrary = \"garbage\"\nenabled = true\n".into(),
            ),
            ("access.broken.toml".into(), "id = \"access.broken\"\ntype = \n".into()),
        ],
    });
    let out = Command::new(wshost_exe())
        .args(["plugins", "list", "--json", "--config"])
        .arg(h.dir.path().join("host.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed in {list}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("access.fs"), "loaded");
    assert_eq!(status("access.faulty"), "loaded");
    let dup = status("access.impostor");
    assert!(
        dup.contains("faulty_panic") && dup.contains("access.faulty"),
        "{dup}"
    );
    let mis = status("access.mismatch");
    assert!(
        mis.contains("access.impostor") && mis.contains("access.mismatch"),
        "{mis}"
    );
    let broken = status("access.broken");
    assert!(
        broken.contains("access.broken.toml:2:"),
        "names file, line and column: {broken}"
    );
    let not_plugin = status("access.notaplugin");
    assert!(
        not_plugin.contains("libnotaplugin.so") && not_plugin.contains("not a wshost plugin"),
        "{not_plugin}"
    );
    let garbage = status("access.garbage");
    assert!(
        garbage.contains("libgarbage.so") && garbage.contains("not a loadable library"),
        "{garbage}"
    );

    // The host serves what loaded.
    let (s, _) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
    let (s, v) = h.get("get_action=faulty_panic");
    assert_eq!(
        (s, code(&v)),
        (500, "plugin_panicked"),
        "served by access.faulty, not the impostor: {v}"
    );
}
