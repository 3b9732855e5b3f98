//! The workspace parameters of `access.sftp` (see `manifests/access.sftp.toml`), parsed and
//! checked once when a workspace is opened, so that every later failure is about the server and
//! never about a malformed value. The secrets (`PASSWORD`, `PRIVATE_KEY`,
//! `PRIVATE_KEY_PASSPHRASE`) are kept in [`Auth`], whose `Debug` shows only which method is set.

use std::fmt;
use std::time::Duration;

use plugin_api::{PluginError, Result, WorkspaceConfig};

use crate::hostkey::Fingerprint;

/// `PORT` when unset.
pub(crate) const DEFAULT_PORT: u64 = 22;
/// `CONNECTIONS` when unset: enough for a few concurrent transfers, few enough that a server's
/// `MaxStartups`/`MaxSessions` defaults (10) are never the limit.
pub(crate) const DEFAULT_CONNECTIONS: u64 = 4;
/// The most connections one workspace may keep to its server.
pub(crate) const MAX_CONNECTIONS: u64 = 64;
/// `TIMEOUT_SECS` when unset.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// The longest `TIMEOUT_SECS` accepted: beyond it a dead server holds a host thread too long.
pub(crate) const MAX_TIMEOUT_SECS: u64 = 600;

/// How the driver logs in.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `PASSWORD`.
    Password(String),
    /// `PRIVATE_KEY` (PEM or OpenSSH text) and its optional `PRIVATE_KEY_PASSPHRASE`.
    Key {
        /// The private key's text.
        pem: String,
        /// Its passphrase, when it is encrypted.
        passphrase: Option<String>,
    },
}

impl Auth {
    /// The method's name, as messages and `Debug` show it.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Password(_) => "password",
            Auth::Key { .. } => "private key",
        }
    }
}

impl fmt::Debug for Auth {
    /// Written by hand: only the method shows, never a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Password(_) => f.write_str("Password(<hidden>)"),
            Auth::Key { passphrase, .. } => write!(
                f,
                "Key {{ pem: <hidden>, passphrase: {} }}",
                if passphrase.is_some() {
                    "<hidden>"
                } else {
                    "none"
                }
            ),
        }
    }
}

/// A workspace's configuration, parsed from its validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpConfig {
    /// The workspace id (for messages).
    pub workspace: String,
    /// `HOST`: the server's name or address.
    pub host: String,
    /// `PORT`: its SSH port.
    pub port: u16,
    /// `USER`: the account to log in as.
    pub user: String,
    /// `PASSWORD` or `PRIVATE_KEY` (+ passphrase).
    pub auth: Auth,
    /// `HOST_KEY`: the pinned fingerprint of the server's host key.
    pub host_key: Fingerprint,
    /// `ROOT`: the remote folder shown, as given (absolute, or relative to the login folder);
    /// `"."` for the login folder. Resolved with the server's realpath on each connection.
    pub root: String,
    /// `CONNECTIONS`: the most SSH connections the workspace keeps open at once.
    pub connections: usize,
    /// `TIMEOUT_SECS`: connect, handshake and each protocol call; also how long a call waits
    /// for a free connection.
    pub timeout: Duration,
}

fn bad(ws: &str, why: impl fmt::Display) -> PluginError {
    PluginError::invalid_input(format!("workspace '{ws}': {why}"))
}

impl SftpConfig {
    /// Parses and checks the parameters.
    pub fn from_workspace(config: &WorkspaceConfig) -> Result<Self> {
        let ws = config.id.as_str();
        let host = config.require("HOST")?.trim();
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c == '/' || c == '@')
        {
            return Err(bad(
                ws,
                format!("HOST must be a host name or IP address, got '{host}'"),
            ));
        }
        // An IPv6 literal may come bracketed, as in URLs.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = config.get_u64("PORT", DEFAULT_PORT)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad(ws, format!("PORT must be between 1 and 65535, got {port}")))?;
        let user = config.require("USER")?;
        if user.chars().any(|c| c.is_control()) {
            return Err(bad(ws, "USER must not contain control characters"));
        }
        let auth = match (config.get("PASSWORD"), config.get("PRIVATE_KEY")) {
            (Some(password), None) => Auth::Password(password.to_owned()),
            (None, Some(pem)) => Auth::Key {
                pem: key_text(ws, pem)?,
                passphrase: config.get("PRIVATE_KEY_PASSPHRASE").map(str::to_owned),
            },
            (None, None) => {
                return Err(bad(
                    ws,
                    "set PASSWORD or PRIVATE_KEY: the server needs one of them to log in",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    ws,
                    "set PASSWORD or PRIVATE_KEY, not both: say which one the server expects",
                ))
            }
        };
        if matches!(auth, Auth::Password(_)) && config.get("PRIVATE_KEY_PASSPHRASE").is_some() {
            return Err(bad(
                ws,
                "PRIVATE_KEY_PASSPHRASE is set but PRIVATE_KEY is not",
            ));
        }
        let host_key = Fingerprint::parse(config.require("HOST_KEY")?)
            .map_err(|why| bad(ws, format!("HOST_KEY {why}")))?;
        let root = match config.get("ROOT").map(str::trim) {
            None | Some("") => ".".to_owned(),
            Some(root) if root.chars().any(char::is_control) => {
                return Err(bad(ws, "ROOT must not contain control characters"))
            }
            Some("/") => "/".to_owned(),
            Some(root) => root.trim_end_matches('/').to_owned(),
        };
        let connections = config.get_u64("CONNECTIONS", DEFAULT_CONNECTIONS)?;
        if !(1..=MAX_CONNECTIONS).contains(&connections) {
            return Err(bad(
                ws,
                format!("CONNECTIONS must be between 1 and {MAX_CONNECTIONS}, got {connections}"),
            ));
        }
        let timeout = config.get_u64("TIMEOUT_SECS", DEFAULT_TIMEOUT_SECS)?;
        if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
            return Err(bad(
                ws,
                format!("TIMEOUT_SECS must be between 1 and {MAX_TIMEOUT_SECS}, got {timeout}"),
            ));
        }
        Ok(SftpConfig {
            workspace: ws.to_owned(),
            host: host.to_owned(),
            port,
            user: user.to_owned(),
            auth,
            host_key,
            root,
            connections: connections as usize,
            timeout: Duration::from_secs(timeout),
        })
    }

    /// `user@host:port`, for messages.
    pub fn server(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// The private key's text, with the line breaks a one-line value has lost. The manifest's
/// `password` type is one line (the host refuses line breaks in it, and a browser's password
/// field strips them from a paste), so a key arrives with its lines joined by spaces, by
/// nothing, or written as `\n`. The base64 body between the BEGIN and END lines is re-cut
/// into 64-character lines, which every PEM and OpenSSH key reader accepts.
fn key_text(ws: &str, pem: &str) -> Result<String> {
    let pem = pem.trim().replace("\\n", "\n");
    let begin = pem.find("-----BEGIN ");
    let header_end = begin.and_then(|b| pem[b + 11..].find("-----").map(|i| b + 11 + i + 5));
    let end = pem.rfind("-----END ");
    let (Some(begin), Some(header_end), Some(end)) = (begin, header_end, end) else {
        return Err(bad(
            ws,
            "PRIVATE_KEY must be a private key in PEM or OpenSSH text, from -----BEGIN ... PRIVATE KEY----- to -----END ... PRIVATE KEY-----",
        ));
    };
    if pem.contains('\n') || header_end > end {
        return Ok(format!("{pem}\n"));
    }
    let body: String = pem[header_end..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut text = format!("{}\n", &pem[begin..header_end]);
    for line in body.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
        text.push('\n');
    }
    text.push_str(&pem[end..]);
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

    fn parse(params: &[(&str, &str)]) -> Result<SftpConfig> {
        let mut all: Vec<(&str, &str)> = vec![("HOST", "sftp.example"), ("USER", "ann")];
        all.extend_from_slice(params);
        let config = WorkspaceConfig {
            id: "ssh".into(),
            params: all
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        SftpConfig::from_workspace(&config)
    }

    #[test]
    fn defaults() {
        let c = parse(&[("PASSWORD", "pw"), ("HOST_KEY", FP)]).unwrap();
        assert_eq!((c.port, c.root.as_str(), c.connections), (22, ".", 4));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.server(), "ann@sftp.example:22");
        let c = parse(&[
            ("PASSWORD", "pw"),
            ("HOST_KEY", FP),
            ("ROOT", "/srv/files/"),
        ])
        .unwrap();
        assert_eq!(c.root, "/srv/files");
    }

    #[test]
    fn refuses_bad_parameters_naming_the_field() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("PASSWORD", "pw")], "HOST_KEY is required"),
            (
                &[("PASSWORD", "pw"), ("HOST_KEY", "abc")],
                "HOST_KEY must be",
            ),
            (
                &[("PASSWORD", "pw"), ("HOST_KEY", "MD5:aa:bb")],
                "HOST_KEY must be",
            ),
            (&[("HOST_KEY", FP)], "set PASSWORD or PRIVATE_KEY"),
            (
                &[("HOST_KEY", FP), ("PASSWORD", "pw"), ("PRIVATE_KEY", key)],
                "not both",
            ),
            (
                &[("HOST_KEY", FP), ("PRIVATE_KEY", "not a key")],
                "PRIVATE_KEY must be",
            ),
            (
                &[("HOST_KEY", FP), ("PASSWORD", "pw"), ("PORT", "70000")],
                "PORT must be between 1 and 65535",
            ),
            (
                &[("HOST_KEY", FP), ("PASSWORD", "pw"), ("CONNECTIONS", "0")],
                "CONNECTIONS must be between",
            ),
            (
                &[("HOST_KEY", FP), ("PASSWORD", "pw"), ("TIMEOUT_SECS", "0")],
                "TIMEOUT_SECS must be between",
            ),
            (
                &[("HOST_KEY", FP), ("PASSWORD", "pw"), ("HOST", "a b")],
                "HOST must be",
            ),
        ];
        for (params, why) in cases {
            let e = parse(params).unwrap_err();
            assert!(e.message.contains(why), "{params:?}: {}", e.message);
        }
    }

    #[test]
    fn a_key_pasted_on_one_line_gets_its_line_breaks_back() {
        let want = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            "A".repeat(64),
            "B".repeat(6)
        );
        let body = format!("{}{}", "A".repeat(64), "B".repeat(6));
        for pasted in [
            // Joined by spaces, by nothing (a browser's password field), or by `\n`.
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY----- {} {} -----END OPENSSH PRIVATE KEY-----",
                &body[..30],
                &body[30..]
            ),
            format!("-----BEGIN OPENSSH PRIVATE KEY-----{body}-----END OPENSSH PRIVATE KEY-----"),
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\\n{body}\\n-----END OPENSSH PRIVATE KEY-----"
            ),
        ] {
            let c = parse(&[("HOST_KEY", FP), ("PRIVATE_KEY", &pasted)]).unwrap();
            let Auth::Key { pem, .. } = &c.auth else {
                panic!("{:?}", c.auth)
            };
            assert!(
                pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"),
                "{pasted}: {pem}"
            );
            if !pasted.contains("\\n") {
                assert_eq!(pem, &want, "{pasted}");
            }
        }
    }

    #[test]
    fn debug_hides_every_secret() {
        let key =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nS3CR3TKEY\n-----END OPENSSH PRIVATE KEY-----";
        for params in [
            vec![("HOST_KEY", FP), ("PASSWORD", "pa55word")],
            vec![
                ("HOST_KEY", FP),
                ("PRIVATE_KEY", key),
                ("PRIVATE_KEY_PASSPHRASE", "pa55phrase"),
            ],
        ] {
            let shown = format!("{:?}", parse(&params).unwrap());
            for secret in ["pa55word", "S3CR3TKEY", "pa55phrase"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(shown.contains("<hidden>"), "{shown}");
        }
    }
}
