//! A real OpenSSH `sshd` for the SFTP tests: started by the test, unprivileged, on a free
//! 127.0.0.1 port, with a host key and an authorized key generated for it in a temporary
//! folder (see `/work/shared/reference/test-servers.md` for why each setting is there).
//!
//! Unprivileged, sshd can only log in the account it runs as, and checks a password through
//! PAM's `unix_chkpwd`, which only answers for that same account. So the tests run it as a
//! dedicated account, [`ACCOUNT`], whose password `tests/setup.sh` sets at random and keeps in
//! [`PASSWORD_FILE`] (readable by root only); the test process, root, starts sshd under that
//! account with `setpriv`. Each missing piece fails the test through [`require`].
//!
//! Also here: [`SlowLink`], a TCP relay that delays what the server sends, to make one
//! workspace's server slow without touching the others.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{free_port, require};

/// The account the test sshd runs as and logs in (created by `tests/setup.sh`).
pub const ACCOUNT: &str = "wshost-sftp";
/// Where `tests/setup.sh` keeps that account's password.
pub const PASSWORD_FILE: &str = "/etc/wshost-tests/sftp-password";
/// The sshd binary (Debian `openssh-server`); sshd wants an absolute path to re-execute.
pub const SSHD: &str = "/usr/sbin/sshd";

/// How a workspace logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// `PASSWORD`.
    Password,
    /// `PRIVATE_KEY`, an unencrypted ed25519 key, sent on one line as a form would.
    Key,
}

/// A running sshd, stopped (with every session it started) when dropped.
pub struct Sshd {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Config, keys and the workspace folder; owned by [`ACCOUNT`].
    pub dir: tempfile::TempDir,
    /// `{dir}/root`: the folder the tests give as `ROOT`.
    pub root: PathBuf,
    /// The host key's fingerprint, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    /// [`ACCOUNT`]'s password.
    pub password: String,
    /// The text of a private key in `authorized_keys`.
    pub private_key: String,
    uid: u32,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `id -u NAME`, or our own uid without a name.
fn uid_of(name: Option<&str>) -> Option<u32> {
    output(Command::new("id").arg("-u").args(name))?
        .parse()
        .ok()
}

/// Gives `path` (not following a symlink) to the account.
pub fn give(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None)
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

impl Sshd {
    /// Checks the prerequisites, generates the keys and starts sshd.
    pub fn start() -> Sshd {
        if !Path::new(SSHD).is_file() {
            require(&format!("{SSHD} (Debian package openssh-server)"));
        }
        if output(Command::new("ssh-keygen").arg("-V")).is_none()
            && !Path::new("/usr/bin/ssh-keygen").is_file()
        {
            require("ssh-keygen (Debian package openssh-client)");
        }
        if uid_of(None) != Some(0) {
            require("root, to start sshd as the test account (run the tests as root)");
        }
        let Some(uid) = uid_of(Some(ACCOUNT)) else {
            require(&format!(
                "the account {ACCOUNT} that tests/setup.sh creates"
            ));
        };
        let Ok(password) = std::fs::read_to_string(PASSWORD_FILE) else {
            require(&format!(
                "{PASSWORD_FILE}, the password tests/setup.sh sets for {ACCOUNT}"
            ));
        };
        let dir = tempfile::Builder::new()
            .prefix("wshost-sshd-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        let keygen = |file: &str, kind: &str| {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-C", "wshost-test", "-f"])
                .arg(d.join(file))
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ssh-keygen -t {kind} failed");
        };
        keygen("host_key", "ed25519");
        keygen("user_key", "ed25519");
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir(d.join("root")).unwrap();
        let fingerprint = output(
            Command::new("ssh-keygen")
                .arg("-lf")
                .arg(d.join("host_key.pub")),
        )
        .and_then(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .expect("ssh-keygen -lf host_key.pub");
        let private_key = std::fs::read_to_string(d.join("user_key")).unwrap();
        // sshd reads everything as the account; the folder itself must be reachable.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for name in [
            "",
            "host_key",
            "host_key.pub",
            "user_key",
            "user_key.pub",
            "authorized_keys",
            "root",
        ] {
            give(&d.join(name), uid);
        }
        let mut sshd = Sshd {
            port: 0,
            root: d.join("root"),
            dir,
            fingerprint,
            password: password.trim().to_owned(),
            private_key,
            uid,
            child: None,
            log: Arc::default(),
        };
        sshd.launch(None);
        sshd
    }

    /// Starts sshd on `port`, or on a free port (retried on a clash).
    fn launch(&mut self, port: Option<u16>) {
        for _ in 0..5 {
            let port = port.unwrap_or_else(free_port);
            let d = self.dir.path();
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nUsePAM yes\nStrictModes no\n\
                 Subsystem sftp internal-sftp\nMaxStartups 100\nMaxSessions 100\nPrintMotd no\n\
                 LogLevel VERBOSE\n",
                d = d.display()
            );
            let path = d.join("sshd_config");
            std::fs::write(&path, config).unwrap();
            give(&path, self.uid);
            let mut child = Command::new("setpriv")
                .args([
                    "--reuid",
                    ACCOUNT,
                    "--regid",
                    ACCOUNT,
                    "--init-groups",
                    SSHD,
                    "-D",
                    "-e",
                    "-f",
                ])
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start sshd through setpriv");
            let log = Arc::new(Mutex::new(String::new()));
            let mut stderr = child.stderr.take().unwrap();
            let sink = log.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let text = log.lock().unwrap().clone();
                if text.contains("Server listening on") {
                    self.port = port;
                    self.child = Some(child);
                    self.log = log;
                    return;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    if text.contains("Address already in use") {
                        break; // try another port (or the same one again, for a restart)
                    }
                    panic!("sshd exited at start:\n{text}");
                }
                assert!(Instant::now() < deadline, "sshd did not start:\n{text}");
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("sshd could not listen after 5 tries:\n{}", self.log());
    }

    /// The workspace parameters of this server, logging in by `login`, with `ROOT` = `root`.
    pub fn params(&self, login: Login) -> Vec<(String, String)> {
        let mut params = vec![
            ("HOST".to_owned(), "127.0.0.1".to_owned()),
            ("PORT".into(), self.port.to_string()),
            ("USER".into(), ACCOUNT.into()),
            ("HOST_KEY".into(), self.fingerprint.clone()),
            ("ROOT".into(), self.root.display().to_string()),
        ];
        params.push(match login {
            Login::Password => ("PASSWORD".into(), self.password.clone()),
            // One line: the host refuses line breaks in a password-type value.
            Login::Key => ("PRIVATE_KEY".into(), self.private_key.replace('\n', " ")),
        });
        params
    }

    /// A fresh private key that is not in `authorized_keys`, on one line.
    pub fn unauthorized_key(&self) -> String {
        let path = self
            .dir
            .path()
            .join(format!("stranger_{:x}", rand::random::<u32>()));
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ssh-keygen of a stranger's key failed");
        std::fs::read_to_string(path).unwrap().replace('\n', " ")
    }

    /// Everything sshd logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server goes away: sshd and every session process it started are killed, so the
    /// driver's open connections break mid-call.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The sessions first, found before their parent dies and they are re-parented.
        let doomed = descendants(child.id());
        let _ = child.kill();
        let _ = child.wait();
        for pid in doomed {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Starts sshd again on the same port, with the same keys.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        self.launch(Some(port));
    }

    /// Gives `path` (created by the test as root) to the account sshd runs as.
    pub fn give(&self, path: &Path) {
        give(path, self.uid);
    }

    /// Writes a file under `root`, owned by the account.
    pub fn put(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::write(&path, bytes).unwrap();
        self.give(&path);
        path
    }

    /// Creates a folder under `root`, owned by the account.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(&path).unwrap();
        self.give(&path);
        path
    }

    /// Makes `rel` under `root` a symlink to `target`, owned by the account.
    pub fn symlink(&self, target: &Path, rel: &str) {
        let path = self.root.join(rel);
        std::os::unix::fs::symlink(target, &path).unwrap();
        self.give(&path);
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every process below `pid`, from `/proc` (a process's parent is field 4 of its `stat`).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name (field 2) is in parentheses and may hold spaces.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.push((child, ppid));
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// A TCP relay on a free port to `127.0.0.1:target` that holds every piece the server sends
/// for `delay` before passing it on: a slow server, as its clients see it. Stopped when
/// dropped.
pub struct SlowLink {
    /// The relay's port.
    pub port: u16,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
}

impl SlowLink {
    /// Starts the relay.
    pub fn start(target: u16, delay: Duration) -> SlowLink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let served = Arc::new(AtomicU64::new(0));
        let counted = served.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let counted = counted.clone();
                std::thread::spawn(move || relay(client, server, Duration::ZERO, None));
                std::thread::spawn(move || relay(s2, c2, delay, Some(counted)));
            }
        });
        SlowLink { port, stop, served }
    }

    /// How many bytes the server has sent through the relay so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

/// Passes what `from` sends on to `to`, each piece after `delay`, counting it in `count`.
fn relay(mut from: TcpStream, mut to: TcpStream, delay: Duration, count: Option<Arc<AtomicU64>>) {
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        if let Some(count) = &count {
            count.fetch_add(n as u64, Ordering::SeqCst);
        }
        std::thread::sleep(delay);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}
