//! The systemd unit, `packaging/debian/wshost.service`, which the Debian package installs and
//! docs/operations.md shows: reading it, checking it with systemd's own verifier, and running
//! the command lines it gives systemd.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::{require, root};

/// The unit file in the repository, as the package ships it.
pub const UNIT_FILE: &str = "packaging/debian/wshost.service";

/// The unit's text in the repository.
pub fn packaged_unit() -> String {
    let path = root().join(UNIT_FILE);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The unit as docs/operations.md shows it: the fenced block that starts with the unit file's
/// first line (`# /usr/lib/systemd/system/wshost.service…`), up to its closing fence.
pub fn documented_unit() -> String {
    let doc = std::fs::read_to_string(root().join("docs/operations.md"))
        .expect("read docs/operations.md");
    let unit = packaged_unit();
    let first = unit.lines().next().expect("an empty unit file");
    let start = doc
        .find(&format!("```ini\n{first}\n"))
        .unwrap_or_else(|| {
            panic!("docs/operations.md has no ```ini block starting with `{first}`, the first line of {UNIT_FILE}")
        })
        + "```ini\n".len();
    let end = doc[start..]
        .find("```")
        .expect("the unit's block in docs/operations.md is closed")
        + start;
    doc[start..end].to_owned()
}

/// Runs `systemd-analyze verify` on `unit` (its text, with its executable's path mapped to one
/// that exists: systemd checks it) and fails the test with what systemd said about it.
pub fn verify(unit: &str) {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.is_file() {
        require("systemd-analyze (Debian systemd)");
    }
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("wshost.service");
    std::fs::write(&file, unit).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&file)
        .output()
        .expect("run systemd-analyze verify");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && !said.contains("wshost.service:"),
        "systemd-analyze verify:\n{said}\nof the unit:\n{unit}"
    );
}

/// The command of `unit`'s `KEY=` line (`ExecStart`, `ExecStartPre`), each argument passed
/// through `map` (which moves the deployment's paths somewhere else). A leading `-` (systemd's
/// "a failure does not stop the unit") is dropped.
pub fn command(unit: &str, key: &str, map: impl Fn(&str) -> String) -> Command {
    let prefix = format!("{key}=");
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the unit has no {key}= line:\n{unit}"));
    let line = line.strip_prefix('-').unwrap_or(line);
    let mut args = line.split_whitespace().map(map);
    let mut command = Command::new(args.next().unwrap_or_else(|| panic!("an empty {key}=")));
    command.args(args);
    command
}

/// Waits up to 30 s for `GET /readyz` on `port` to answer, and returns its status (0 when
/// nothing answered, or when `child` exited first).
pub fn wait_ready(port: u16, child: &mut Child) -> u16 {
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::blocking::get(&url) {
            return r.status().as_u16();
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
