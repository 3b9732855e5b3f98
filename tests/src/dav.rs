//! Test support for the WebDAV door: app passwords, requests with Basic auth, and the litmus
//! suite run against a door URL with its summary lines and warnings parsed.

use std::path::Path;
use std::process::Command;

use crate::{json_of, require, Client, Host};

/// A user's WebDAV login: the name and an app password (an API token).
pub struct DavLogin {
    /// The user name.
    pub user: String,
    /// The app password.
    pub password: String,
}

/// Makes an app password labelled `label` for the user `session` is logged in as (named
/// `user`), through `POST /api/tokens` as the app-passwords page does.
pub fn app_password(h: &Host, session: &Client, user: &str, label: &str) -> DavLogin {
    let (s, v) = json_of(
        session
            .post(h.api("tokens"))
            .json(&serde_json::json!({ "label": label }))
            .send()
            .expect("POST /api/tokens"),
    );
    assert_eq!(s, 201, "make an app password for {user}: {v}");
    DavLogin {
        user: user.to_owned(),
        password: v["token"].as_str().expect("the token").to_owned(),
    }
}

impl DavLogin {
    /// A request with this login's Basic credentials.
    pub fn request(&self, method: &str, url: &str) -> reqwest::blocking::RequestBuilder {
        Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method"),
                url,
            )
            .basic_auth(&self.user, Some(&self.password))
    }
}

/// Fails the test through [`require`] unless `tool` runs (`tool --version` or `--help`
/// answers at all): `package` is the Debian package tests/setup.sh installs it from.
pub fn require_tool(tool: &str, package: &str) {
    let runs = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty());
    if !runs {
        require(&format!("`{tool}` (Debian package {package})"));
    }
}

/// One group's summary line, as litmus prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LitmusSummary {
    /// The test group (`basic`, `copymove`, `props`, `locks`, `http`).
    pub group: String,
    /// Tests run.
    pub run: u32,
    /// Tests passed.
    pub passed: u32,
    /// Tests failed.
    pub failed: u32,
    /// The line itself.
    pub line: String,
}

/// A warning litmus gave on a test that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LitmusWarning {
    /// The test group.
    pub group: String,
    /// The test's name (`delete_fragment`).
    pub test: String,
    /// What litmus warned of.
    pub text: String,
}

/// What one litmus run printed.
pub struct Litmus {
    /// Everything litmus printed.
    pub output: String,
    /// One per group run.
    pub summaries: Vec<LitmusSummary>,
    /// Every warning, in order.
    pub warnings: Vec<LitmusWarning>,
}

/// Runs `litmus -k URL USER PASSWORD` with `TESTS=groups` in `dir` (litmus writes its
/// debug.log and child.log there).
pub fn litmus(url: &str, login: &DavLogin, groups: &str, dir: &Path) -> Litmus {
    require_tool("litmus", "litmus");
    let out = Command::new("litmus")
        .arg("-k")
        .arg(url)
        .arg(&login.user)
        .arg(&login.password)
        .env("TESTS", groups)
        .current_dir(dir)
        .output()
        .expect("run litmus");
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let (summaries, warnings) = parse_litmus(&output);
    Litmus {
        output,
        summaries,
        warnings,
    }
}

/// The summary lines and warnings of litmus's output: a group starts at "-> running
/// `GROUP':", a test's line is " N. name....... result", and a group ends at "<- summary for
/// `GROUP': of N tests run: P passed, F failed. X%".
pub fn parse_litmus(output: &str) -> (Vec<LitmusSummary>, Vec<LitmusWarning>) {
    let quoted = |s: &str| s.split('`').nth(1)?.split('\'').next().map(str::to_owned);
    let mut group = String::new();
    let mut test = String::new();
    let mut summaries = Vec::new();
    let mut warnings = Vec::new();
    for line in output.lines() {
        if line.starts_with("-> running `") {
            group = quoted(line).unwrap_or_default();
        } else if line.starts_with("<- summary for `") {
            let number = |after: &str| -> u32 {
                line.split(after)
                    .nth(1)
                    .and_then(|s| s.trim().split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            };
            let run = number(": of ");
            let passed = line
                .split(" passed")
                .next()
                .and_then(|s| s.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let failed = number(" passed, ");
            summaries.push(LitmusSummary {
                group: quoted(line).unwrap_or_default(),
                run,
                passed,
                failed,
                line: line.to_owned(),
            });
        } else {
            let trimmed = line.trim_start();
            // " 9. delete_fragment....... WARNING: ..." names the test; a continuation line
            // (only dots, then the result) keeps the last name.
            if let Some((number, rest)) = trimmed.split_once(". ") {
                if number.chars().all(|c| c.is_ascii_digit()) && !number.is_empty() {
                    test = rest.split('.').next().unwrap_or_default().trim().to_owned();
                }
            }
            if let Some((_, text)) = line.split_once("WARNING: ") {
                warnings.push(LitmusWarning {
                    group: group.clone(),
                    test: test.clone(),
                    text: text.trim().to_owned(),
                });
            }
        }
    }
    (summaries, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litmus_output_is_parsed() {
        let out = "\
-> running `basic':
 0. init.................. pass
 8. delete_null........... pass
 9. delete_fragment....... WARNING: DELETE removed collection resource with Request-URI including fragment; unsafe
    ...................... pass (with 1 warning)
10. mkcol................. pass
<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%
-> 1 warning was issued.
-> running `props':
 5. propget............... FAIL (No value given for property {http://example.com/neon/litmus/}prop0)
<- summary for `props': of 30 tests run: 21 passed, 9 failed. 70.0%
";
        let (summaries, warnings) = parse_litmus(out);
        assert_eq!(
            summaries
                .iter()
                .map(|s| (s.group.as_str(), s.run, s.passed, s.failed))
                .collect::<Vec<_>>(),
            vec![("basic", 16, 16, 0), ("props", 30, 21, 9)]
        );
        assert_eq!(
            warnings,
            vec![LitmusWarning {
                group: "basic".into(),
                test: "delete_fragment".into(),
                text:
                    "DELETE removed collection resource with Request-URI including fragment; unsafe"
                        .into(),
            }]
        );
    }
}
