//! The Debian package (docs/operations.md, "Debian package"): built by the documented
//! commands, unpacked into a scratch root, checked file by file, and started there from its
//! unit's command lines. The maintainer scripts are read, not run: they need root and would
//! change this machine.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wshost_tests::*;

/// The drivers the package carries.
const PLUGINS: &[&str] = &["access.fs", "access.dropbox", "access.sftp", "access.s3"];

/// The lines of the `sh` block that follows "## Debian package" in docs/operations.md: the
/// build commands.
fn documented_build_commands() -> Vec<String> {
    repository("docs/operations.md")
        .lines()
        .skip_while(|l| *l != "## Debian package")
        .skip_while(|l| *l != "```sh")
        .skip(1)
        .take_while(|l| *l != "```")
        .map(str::to_owned)
        .collect()
}

/// Runs the documented `cargo deb` line for the dev profile the tests build (CI builds no
/// release; cargo-deb 3.8, pinned by tests/setup.sh, warns that it may refuse dev builds some
/// day), writing the package into `out`. Answers the package's path.
fn build_package(out: &Path) -> PathBuf {
    let commands = documented_build_commands();
    let [cargo_build, cargo_deb] = &commands[..] else {
        panic!("docs/operations.md: expected two build commands under \"## Debian package\", got {commands:?}");
    };
    // build() is the dev build of what the documented `cargo build --release` builds.
    for krate in [
        "wshost",
        "access-fs",
        "access-dropbox",
        "access-sftp",
        "access-s3",
    ] {
        assert!(
            cargo_build.contains(&format!("-p {krate} "))
                || cargo_build.ends_with(&format!("-p {krate}")),
            "docs/operations.md: the package's `cargo build` does not build {krate}: {cargo_build}"
        );
    }
    build();
    let args: Vec<&str> = cargo_deb
        .strip_prefix("cargo ")
        .unwrap_or_else(|| panic!("docs/operations.md: not a cargo command: {cargo_deb}"))
        .split_whitespace()
        .collect();
    let installed = cargo()
        .args([args[0], "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        require("cargo-deb (`cargo deb`)");
    }
    let made = cargo()
        .args(&args)
        .args(["--profile", "dev", "--fast", "--output"])
        .arg(out)
        .output()
        .expect("run cargo deb");
    assert!(
        made.status.success(),
        "{cargo_deb} --profile dev failed:\n{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let debs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    match &debs[..] {
        [deb] => deb.clone(),
        _ => panic!(
            "cargo deb made {debs:?} in {}, expected one .deb",
            out.display()
        ),
    }
}

/// Runs `dpkg-deb ARGS` and fails the test with its error.
fn dpkg_deb(args: &[&Path]) {
    let out = Command::new("dpkg-deb")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                require("dpkg-deb (Debian dpkg)")
            }
            panic!("run dpkg-deb: {e}")
        });
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text of the unpacked file `rel` under `sysroot`, which the package must hold.
fn packaged(sysroot: &Path, rel: &str) -> String {
    let path = sysroot.join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the package lacks /{rel} ({}: {e})", path.display()))
}

/// The text of the repository's file `rel`.
fn repository(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The keys of the configuration reference's tables in docs/operations.md (their first
/// column's `code`), the host.toml keys an operator may set.
fn reference_keys() -> Vec<String> {
    let doc = repository("docs/operations.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Configuration reference"))
        .expect("docs/operations.md has a \"## Configuration reference\"");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .flat_map(|row| {
            let first = row.split(" |").next().unwrap_or_default();
            format!("`{first}")
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|k| k.trim_start_matches("[plugins] ").to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_debian_package_holds_the_host_and_starts_from_its_unit() {
    let scratch = tempfile::tempdir().unwrap();
    let deb = build_package(scratch.path());
    let sysroot = scratch.path().join("root");
    let control = sysroot.join("DEBIAN");
    dpkg_deb(&["-x".as_ref(), deb.as_path(), sysroot.as_path()]);
    dpkg_deb(&["-e".as_ref(), deb.as_path(), control.as_path()]);

    // The files, where docs/operations.md says they are.
    let exe = sysroot.join("usr/bin/wshost");
    let mode = std::fs::metadata(&exe)
        .unwrap_or_else(|e| panic!("the package lacks /usr/bin/wshost: {e}"))
        .permissions()
        .mode();
    assert!(
        mode & 0o111 != 0,
        "/usr/bin/wshost is not executable: {mode:o}"
    );
    let plugins_dir = sysroot.join("usr/lib/wshost/plugins");
    let manifests_dir = sysroot.join("usr/share/wshost/manifests");
    for id in PLUGINS {
        let library = plugins_dir.join(format!("lib{}.so", id.replace('.', "_")));
        assert!(library.is_file(), "the package lacks {}", library.display());
        assert_eq!(
            packaged(&sysroot, &format!("usr/share/wshost/manifests/{id}.toml")),
            repository(&format!("manifests/{id}.toml")),
            "the package's manifest of {id} is not manifests/{id}.toml"
        );
    }
    assert_eq!(
        names(&manifests_dir),
        names(&root().join("manifests")),
        "the package's manifests are not those of manifests/"
    );
    let shipped_config = packaged(&sysroot, "etc/wshost/host.toml");
    assert_eq!(shipped_config, repository("packaging/debian/host.toml"));
    let unit = packaged(&sysroot, "usr/lib/systemd/system/wshost.service");
    assert_eq!(
        unit,
        unit::packaged_unit(),
        "the package's unit is not {}",
        unit::UNIT_FILE
    );
    for doc in ["README.md", "operations.md"] {
        packaged(&sysroot, &format!("usr/share/doc/wshost/{doc}"));
    }

    // The control files: host.toml a conffile, the user made before the unit starts, the
    // state removed on purge only.
    let conffiles = packaged(&sysroot, "DEBIAN/conffiles");
    assert!(
        conffiles.lines().any(|l| l == "/etc/wshost/host.toml"),
        "DEBIAN/conffiles lacks /etc/wshost/host.toml:\n{conffiles}"
    );
    let depends = packaged(&sysroot, "DEBIAN/control");
    assert!(
        depends
            .lines()
            .any(|l| l.starts_with("Depends:") && l.contains("adduser")),
        "the package does not depend on adduser, which its postinst runs:\n{depends}"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let syntax = Command::new("sh")
            .arg("-n")
            .arg(control.join(script))
            .output()
            .unwrap();
        assert!(
            syntax.status.success(),
            "DEBIAN/{script}: {}",
            String::from_utf8_lossy(&syntax.stderr)
        );
    }
    let postinst = packaged(&sysroot, "DEBIAN/postinst");
    let at = |text: &str, what: &str, script: &str| {
        text.find(what)
            .unwrap_or_else(|| panic!("DEBIAN/{script} lacks `{what}`:\n{text}"))
    };
    let user = at(
        &postinst,
        "adduser --system --group --home /var/lib/wshost",
        "postinst",
    );
    at(
        &postinst,
        "install -d -o wshost -g wshost -m 0700 /var/lib/wshost",
        "postinst",
    );
    at(&postinst, "/etc/wshost/secrets.env", "postinst");
    at(
        &postinst,
        "deb-systemd-helper enable wshost.service",
        "postinst",
    );
    let start = at(
        &postinst,
        "deb-systemd-invoke $_dh_action wshost.service",
        "postinst",
    );
    assert!(
        user < start,
        "DEBIAN/postinst starts the unit before it makes its user"
    );
    at(
        &packaged(&sysroot, "DEBIAN/prerm"),
        "deb-systemd-invoke stop wshost.service",
        "prerm",
    );
    let postrm = packaged(&sysroot, "DEBIAN/postrm");
    let purge = postrm
        .rfind("if [ \"$1\" = purge ]")
        .expect("a purge branch in postrm");
    assert!(
        postrm[purge..].contains("rm -rf /var/lib/wshost") && !postrm[..purge].contains("rm -rf"),
        "DEBIAN/postrm must remove /var/lib/wshost on purge only:\n{postrm}"
    );

    // The shipped host.toml names every key of the reference (host/src/config/load.rs checks
    // that the defaults it shows are the host's).
    for key in reference_keys() {
        assert!(
            shipped_config.contains(&key),
            "packaging/debian/host.toml does not mention `{key}` of the configuration reference"
        );
    }

    // Systemd's check, then the unit's command lines with every absolute path moved under the
    // scratch root, run in the state directory that StateDirectory= would make.
    unit::verify(&unit.replace("/usr/bin/wshost", &exe.display().to_string()));
    let state = sysroot.join("var/lib/wshost");
    std::fs::create_dir_all(&state).unwrap();
    let into_root = |arg: &str| match arg.strip_prefix('/') {
        Some(rel) => sysroot.join(rel).display().to_string(),
        None => arg.to_owned(),
    };
    let out = unit::command(&unit, "ExecStartPre", into_root)
        .current_dir(&state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the unit's config check failed on the shipped host.toml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for id in PLUGINS {
        let out = Command::new(&exe)
            .args(["plugins", "check"])
            .arg(plugins_dir.join(format!("lib{}.so", id.replace('.', "_"))))
            .arg("--manifest")
            .arg(manifests_dir.join(format!("{id}.toml")))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.contains(&format!("ok: {id}")),
            "the packaged {id} does not load:\n{said}"
        );
    }

    let port = free_port();
    let log = scratch.path().join("wshost.log");
    let mut child = unit::command(&unit, "ExecStart", into_root)
        .current_dir(&state)
        .env("WSHOST_LISTEN", format!("127.0.0.1:{port}"))
        .env("WSHOST_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let ready = unit::wait_ready(port, &mut child);
    if ready != 200 {
        let _ = child.kill();
        let _ = child.wait();
        panic!("/readyz answered {ready}; the log:\n{}", log_text());
    }
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::builder()
        .default_headers(session_headers(&url, "admin", ADMIN_PASSWORD))
        .build()
        .unwrap();
    // The default workspace `files` is in the state directory, through access.fs.
    let r = client
        .post(format!("{url}/?get_action=upload&ws=files&name=a.txt"))
        .body("abc")
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "upload: {}", r.text().unwrap_or_default());
    assert_eq!(std::fs::read(state.join("files/a.txt")).unwrap(), b"abc");
    // access.fs serves, and access.dropbox (disabled by its manifest) loads when enabled,
    // both from the package's plugin folder.
    let (_, fs) = json_of(
        client
            .get(format!("{url}/api/plugins/access.fs"))
            .send()
            .unwrap(),
    );
    let (status, dropbox) = json_of(
        client
            .post(format!("{url}/api/plugins/access.dropbox/enable"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{dropbox}");
    for (id, view) in [("access.fs", &fs), ("access.dropbox", &dropbox)] {
        let library = plugins_dir.join(format!("lib{}.so", id.replace('.', "_")));
        assert_eq!(view["status"], "loaded", "{id}: {view}");
        assert_eq!(
            view["library"].as_str(),
            library.to_str(),
            "{id} was not loaded from the package's plugin folder: {view}"
        );
    }

    // SIGTERM: a clean exit, the store and the generated key left in the state directory.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "wshost did not exit within 30 s of SIGTERM:\n{}",
                log_text()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        exit.success(),
        "wshost exited with {exit} after SIGTERM:\n{}",
        log_text()
    );
    for file in ["wshost.db", "secret.key"] {
        assert!(
            state.join(file).is_file(),
            "no {file} in the state directory {}",
            state.display()
        );
    }
}
