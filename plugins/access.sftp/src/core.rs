//! One SSH connection ([`Conn`]): TCP connect, handshake, host-key pinning, login, the SFTP
//! session and the workspace's folder on the server (`ROOT` through the server's realpath).
//!
//! The order matters for security: the host key is compared with `HOST_KEY` right after the
//! key exchange and before any authentication, so a password is never sent to a server whose
//! key is not the pinned one.
//!
//! Every SFTP call of the driver goes through [`Conn::call`], which maps a failure to a plugin
//! error and marks the connection broken when the failure is the connection's (so the pool
//! drops it instead of handing it out again).

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Instant;

use plugin_api::{PluginError, Result};
use ssh2::{ErrorCode, FileStat, HashType, HostKeyType, Session, Sftp};

use crate::config::{Auth, SftpConfig};
use crate::error::{self, Op};
use crate::ext::Ext;
use crate::hostkey::Fingerprint;

/// Seconds between two keepalive messages on an idle connection: well under the idle cut-off
/// of common NAT boxes and of `ClientAliveInterval`-style server settings.
pub(crate) const KEEPALIVE_SECS: u32 = 15;
/// Mode of new files, before the server's umask (uploads, copies, `copy-data`).
pub(crate) const NEW_FILE_MODE: i32 = 0o644;

/// One logged-in SSH connection with its SFTP session.
pub(crate) struct Conn {
    session: Session,
    sftp: Sftp,
    /// `ROOT` as the server resolved it: absolute, no symlink, no trailing `/` (except `/`).
    root: String,
    /// The raw SFTP channel for OpenSSH's extensions, opened on first use (`None` until then,
    /// `Some(None)` once known to be unavailable).
    ext: Option<Option<Ext>>,
    /// The pinned key this connection was checked against, and its type, for `verify`.
    pub(crate) key_type: &'static str,
    /// Set when a call failed because of the connection: the pool then drops it.
    pub(crate) broken: bool,
    /// When the connection last finished a call.
    pub(crate) idle_since: Instant,
    /// When it last sent a keepalive (or was opened).
    pub(crate) keepalive_at: Instant,
}

impl Conn {
    /// Connects, checks the host key, logs in and resolves `ROOT`.
    pub(crate) fn open(cfg: &SftpConfig) -> Result<Conn> {
        let tcp = tcp(cfg)?;
        let _ = tcp.set_nodelay(true);
        let mut session = Session::new().map_err(|e| error::handshake(cfg, &e))?;
        session.set_timeout(cfg.timeout.as_millis().min(u32::MAX as u128) as u32);
        session.set_tcp_stream(tcp);
        session.handshake().map_err(|e| error::handshake(cfg, &e))?;

        let key_type = session
            .host_key()
            .map_or("unknown", |(_, t)| key_type_name(t));
        let offered = session
            .host_key_hash(HashType::Sha256)
            .and_then(Fingerprint::from_digest);
        if offered != Some(cfg.host_key) {
            return Err(error::host_key_mismatch(cfg, offered, key_type));
        }

        login(&session, cfg)?;
        session.set_keepalive(false, KEEPALIVE_SECS);
        let sftp = session.sftp().map_err(|e| {
            error::transport(&format!("cannot start SFTP on {}: ", cfg.server()), &e)
        })?;
        let root = resolve_root(&sftp, cfg)?;
        Ok(Conn {
            session,
            sftp,
            root,
            ext: None,
            key_type,
            broken: false,
            idle_since: Instant::now(),
            keepalive_at: Instant::now(),
        })
    }

    /// `ROOT` as the server resolved it.
    pub(crate) fn root(&self) -> &str {
        &self.root
    }

    /// Runs one SFTP call; a failure becomes the plugin error for `op` on workspace path
    /// `path`, and marks the connection broken when it is the connection's.
    pub(crate) fn call<T>(
        &mut self,
        op: Op,
        path: &str,
        f: impl FnOnce(&Sftp) -> Result<T, ssh2::Error>,
    ) -> Result<T> {
        f(&self.sftp).map_err(|e| self.failed(op, path, &e))
    }

    /// Runs one SFTP call and hands back its raw error (after noting a broken connection), for
    /// callers that look at the status before choosing a kind.
    pub(crate) fn try_call<T>(
        &mut self,
        op: Op,
        path: &str,
        f: impl FnOnce(&Sftp) -> Result<T, ssh2::Error>,
    ) -> Result<Result<T, ssh2::Error>> {
        match f(&self.sftp) {
            Ok(v) => Ok(Ok(v)),
            Err(e) if error::is_transport(&e) => Err(self.failed(op, path, &e)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// The plugin error for `err`; marks the connection broken if it is the connection's.
    pub(crate) fn failed(&mut self, op: Op, path: &str, err: &ssh2::Error) -> PluginError {
        if error::is_transport(err) {
            self.broken = true;
        }
        error::sftp(op, path, err)
    }

    /// `lstat` of a server path: `None` when nothing is there.
    pub(crate) fn lstat(&mut self, op: Op, path: &str, remote: &str) -> Result<Option<FileStat>> {
        match self.try_call(op, path, |s| s.lstat(Path::new(remote)))? {
            Ok(st) => Ok(Some(st)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(error::sftp(op, path, &e)),
        }
    }

    /// Renames `from` onto `to`, replacing `to` atomically when it exists: OpenSSH's
    /// `posix-rename@openssh.com` on the extension channel. `Ok(false)` when the server lacks
    /// the extension (the caller then falls back).
    pub(crate) fn posix_rename(&mut self, path: &str, from: &str, to: &str) -> Result<bool> {
        let Some(ext) = self.ext().filter(|e| e.has_posix_rename()) else {
            return Ok(false);
        };
        let answer = ext.posix_rename(from, to);
        self.ext_outcome(Op::Write, path, "posix-rename", answer)
    }

    /// Copies the file at server path `from` to server path `to`, a new file, on the server:
    /// OpenSSH's `copy-data` on the extension channel. `Ok(false)` when the server lacks the
    /// extension (the caller then streams the copy); a refusal may leave `to` created.
    pub(crate) fn copy_data(&mut self, path: &str, from: &str, to: &str) -> Result<bool> {
        let Some(ext) = self.ext().filter(|e| e.has_copy_data()) else {
            return Ok(false);
        };
        let answer = ext.copy_file(from, to, NEW_FILE_MODE as u32);
        self.ext_outcome(Op::Copy, path, "copy-data", answer)
    }

    /// The extension channel, opened on first use; `None` for a server without a second
    /// SFTP channel (remembered).
    fn ext(&mut self) -> Option<&mut Ext> {
        if self.ext.is_none() {
            self.ext = Some(Ext::open(&self.session).ok());
        }
        self.ext.as_mut().and_then(Option::as_mut)
    }

    /// An extension request's answer as the driver's: done, refused with an SFTP status (as
    /// libssh2's own calls map it), or a failed channel, which breaks the connection.
    fn ext_outcome(
        &mut self,
        op: Op,
        path: &str,
        what: &'static str,
        answer: std::io::Result<std::result::Result<(), u32>>,
    ) -> Result<bool> {
        match answer {
            Ok(Ok(())) => Ok(true),
            Ok(Err(status)) => Err(error::sftp(
                op,
                path,
                &ssh2::Error::new(ErrorCode::SFTP(status as i32), what),
            )),
            Err(e) => {
                self.broken = true;
                Err(error::stream(op, path, &e))
            }
        }
    }

    /// Sends a keepalive; false when the connection is dead.
    pub(crate) fn keepalive(&mut self) -> bool {
        self.keepalive_at = Instant::now();
        self.session.keepalive_send().is_ok()
    }
}

/// Whether an SFTP status says "nothing at this path".
pub(crate) fn is_missing(err: &ssh2::Error) -> bool {
    matches!(err.code(), ErrorCode::SFTP(2) | ErrorCode::SFTP(10))
}

/// Connects to the first address of `HOST` that answers within `TIMEOUT_SECS`.
fn tcp(cfg: &SftpConfig) -> Result<TcpStream> {
    let addrs = (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()
        .map_err(|e| error::connect(cfg, &e))?;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, cfg.timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(error::connect(cfg, &last))
}

/// Logs in with the configured method.
fn login(session: &Session, cfg: &SftpConfig) -> Result<()> {
    // Asking for the methods is the "none" request every client starts with; its answer
    // lets a refusal say what the server would have accepted.
    let offered = session
        .auth_methods(&cfg.user)
        .map(str::to_owned)
        .unwrap_or_default();
    if session.authenticated() {
        return Ok(()); // the server accepted "none"
    }
    let tried = match &cfg.auth {
        Auth::Password(password) => session.userauth_password(&cfg.user, password),
        Auth::Key { pem, passphrase } => {
            session.userauth_pubkey_memory(&cfg.user, None, pem, passphrase.as_deref())
        }
    };
    match tried {
        Ok(()) if session.authenticated() => Ok(()),
        Ok(()) => Err(error::login(
            cfg,
            &offered,
            &ssh2::Error::new(ErrorCode::Session(-18), "not authenticated"),
        )),
        Err(e) => Err(error::login(cfg, &offered, &e)),
    }
}

/// `ROOT` through the server's realpath, checked to be a folder.
fn resolve_root(sftp: &Sftp, cfg: &SftpConfig) -> Result<String> {
    let real = sftp.realpath(Path::new(&cfg.root)).map_err(|e| {
        if is_missing(&e) {
            error::bad_root(cfg, "no such folder on the server")
        } else if error::is_transport(&e) {
            error::transport(&format!("cannot resolve ROOT on {}: ", cfg.server()), &e)
        } else {
            error::bad_root(cfg, "the server refuses to resolve it for this account")
        }
    })?;
    let real = real
        .to_str()
        .ok_or_else(|| error::bad_root(cfg, "its real path is not UTF-8"))?
        .to_owned();
    match sftp.stat(Path::new(&real)) {
        Ok(st) if st.is_dir() => Ok(real),
        Ok(_) => Err(error::bad_root(cfg, "it is a file, not a folder")),
        Err(e) if is_missing(&e) => Err(error::bad_root(cfg, "no such folder on the server")),
        Err(e) => Err(error::transport(
            &format!("cannot check ROOT on {}: ", cfg.server()),
            &e,
        )),
    }
}

/// The SSH name of a host key type, as `ssh-keygen -l` shows it in parentheses.
fn key_type_name(t: HostKeyType) -> &'static str {
    match t {
        HostKeyType::Rsa => "RSA",
        HostKeyType::Dss => "DSA",
        HostKeyType::Ecdsa256 => "ECDSA-256",
        HostKeyType::Ecdsa384 => "ECDSA-384",
        HostKeyType::Ecdsa521 => "ECDSA-521",
        HostKeyType::Ed25519 => "ED25519",
        _ => "unknown type",
    }
}
