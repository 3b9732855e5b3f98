//! The rules every suite lives by: a missing prerequisite fails its test, in CI and out of it,
//! naming the prerequisite and the setup command; and CI runs the README's test command as the
//! README writes it.

use std::process::Command;

use wshost_tests::{require, root, SETUP_COMMAND};

/// What the probe reports missing.
const PROBE: &str = "a prerequisite no machine has (the probe of prerequisites.rs)";

#[test]
#[ignore = "a probe: a_missing_prerequisite_fails_in_and_out_of_ci runs it in a child process"]
fn probe_of_a_missing_prerequisite() {
    require(PROBE);
}

#[test]
fn a_missing_prerequisite_fails_in_and_out_of_ci() {
    for ci in [Some("true"), Some("false"), None] {
        let mut run = Command::new(std::env::current_exe().expect("this test's executable"));
        run.args([
            "--exact",
            "probe_of_a_missing_prerequisite",
            "--include-ignored",
            "--test-threads=1",
        ]);
        match ci {
            Some(value) => run.env("CI", value),
            None => run.env_remove("CI"),
        };
        let out = run.output().expect("run the probe");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "CI={ci:?}: the probe passed:\n{text}"
        );
        assert!(
            text.contains("1 failed") && text.contains("0 passed"),
            "CI={ci:?}: the probe must be the one failed test:\n{text}"
        );
        for needed in [PROBE, SETUP_COMMAND] {
            assert!(
                text.contains(needed),
                "CI={ci:?}: the failure must name `{needed}`:\n{text}"
            );
        }
    }
}

/// The line of the fenced `sh` block that follows "Run every test" in the README.
fn readme_test_command() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("Run every test"))
        .skip_while(|l| *l != "```sh")
        .skip(1);
    let command = lines
        .next()
        .expect("a test command in README.md")
        .to_owned();
    assert_eq!(
        lines.next(),
        Some("```"),
        "the README's test command is one line"
    );
    command
}

#[test]
fn ci_runs_the_readme_test_command_which_sets_everything_up() {
    let command = readme_test_command();
    assert!(
        command.starts_with(&format!("{SETUP_COMMAND} && ")) && command.contains("cargo test"),
        "the README's test command sets up, then tests: `{command}`"
    );
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect("read .ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run does not run the README's test command `{command}` as a line of its own"
    );
}
