//! access.s3 against a real S3-compatible server, SeaweedFS (started by each test, see
//! `wshost_tests::s3`), through the real `wshost` binary and the real `libaccess_s3.so`: the
//! conformance suite; a cross-check with boto3 both ways; multipart uploads byte for byte and a
//! cut upload that leaves no object and no multipart upload; wrong keys, wrong region,
//! missing bucket, a server that answers 503 before it succeeds, a server that is down; the
//! whole flow through the host.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wshost_tests::s3::{Fault, FaultProxy, Weed, BUCKET};
use wshost_tests::*;

const DRIVER: &str = "access.s3";
const WS: &str = "bucket";

/// A host with access.s3 enabled and an access.fs workspace `files` beside it.
fn host() -> Host {
    Host::start(HostSetup::new(
        format!("[plugins]\nenabled = [\"access.s3\"]\n{}", fs_config()),
        vec![manifest("access.s3.toml"), manifest("access.fs.toml")],
    ))
}

#[test]
fn the_conformance_suite_passes() {
    let weed = Weed::start();
    let (ok, out) = plugins_test(DRIVER, &weed.params());
    assert!(ok, "{out}\nweed:\n{}", weed.log());
    assert!(out.contains("conformance of access.s3"), "{out}");
    assert!(out.contains("40 passed, 0 failed, 0 skipped"), "{out}");
    assert!(
        !out.contains(&weed.secret_key),
        "the secret in the report:\n{out}"
    );
    assert_eq!(
        weed.keys(""),
        Vec::<String>::new(),
        "the scratch folder is removed"
    );
}

#[test]
fn the_whole_flow_through_the_host() {
    let weed = Weed::start();
    let h = host();
    h.create_workspace(DRIVER, WS, weed.params(), &[]);
    let v = h.verify(WS);
    assert_eq!(v["ok"], json!(true), "{v}");
    let message = v["message"].as_str().unwrap();
    for part in [
        BUCKET,
        weed.endpoint.as_str(),
        weed.access_key.as_str(),
        "us-east-1",
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
    assert!(!message.contains(&weed.secret_key));

    // Two parts of 5 MiB and a remainder, through ?get_action=upload.
    let big: Vec<u8> = (0..12)
        .flat_map(|i| pattern_chunk(23, i, 1 << 20))
        .collect();
    let big = [&big[..], b"tail"].concat();
    let (s, v) = h.post_bytes(
        &format!("get_action=upload&ws={WS}&dir=/&name=big.bin"),
        big.clone(),
    );
    assert_eq!(
        (s, v["size"].as_u64()),
        (201, Some(big.len() as u64)),
        "{v}"
    );
    assert!(
        weed.get("big.bin") == big,
        "boto3 reads other bytes than were uploaded"
    );
    assert_eq!(
        weed.uploads(),
        Vec::<String>::new(),
        "no multipart upload left open"
    );

    let r = h
        .client
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=/big.bin")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap()[..] == big[..], "the download differs");
    let r = h
        .client
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=/big.bin")))
        .header("range", "bytes=5242870-5242889")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        &r.bytes().unwrap()[..],
        &big[5_242_870..5_242_890],
        "a range across parts"
    );

    let (s, v) = h.post(&format!("get_action=mkdir&ws={WS}&dir=/&dirname=docs"));
    assert_eq!(s, 201, "{v}");
    assert!(
        weed.keys("docs/").contains(&"docs/".to_owned()),
        "mkdir writes a marker"
    );
    let (s, v) = h.post(&format!("get_action=copy&ws={WS}&file=/big.bin&dest=/docs"));
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = h.post(&format!(
        "get_action=rename&ws={WS}&file=/big.bin&filename_new=moved.bin"
    ));
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = h.post(&format!(
        "get_action=move&ws={WS}&file=/moved.bin&dest=/docs"
    ));
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/docs"));
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["big.bin".to_owned(), "moved.bin".to_owned()]),
        "{v}"
    );
    assert!(weed.get("docs/moved.bin") == big, "the moved object");
    let (s, v) = h.post(&format!("get_action=delete&ws={WS}&file=/docs"));
    assert!(matches!(s, 200 | 204), "{s} {v}");
    assert_eq!(
        weed.keys(""),
        Vec::<String>::new(),
        "the folder and all in it are deleted"
    );
}

#[test]
fn objects_boto3_wrote_list_and_download_and_what_wshost_wrote_boto3_reads() {
    let weed = Weed::start();
    let h = host();
    h.create_workspace(DRIVER, WS, weed.params(), &[("PREFIX", "team")]);
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("team/ünïcødé 名前.txt", b"unicode".to_vec()),
        ("team/with spaces.txt", b"spaces".to_vec()),
        ("team/a+b=c&d.txt", b"plus".to_vec()),
        ("team/looks/like/folders.txt", b"deep".to_vec()),
        ("team/marker-only/", Vec::new()),
        // boto3's managed transfer: multipart above 8 MiB.
        (
            "team/boto-multipart.bin",
            (0..9).flat_map(|i| pattern_chunk(31, i, 1 << 20)).collect(),
        ),
        ("outside.txt", b"not in the workspace".to_vec()),
    ];
    for (key, bytes) in &objects {
        weed.put(key, bytes);
    }
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(
        (s, listed_names(&v)),
        (
            200,
            [
                "a+b=c&d.txt",
                "boto-multipart.bin",
                "looks",
                "marker-only",
                "with spaces.txt",
                "ünïcødé 名前.txt"
            ]
            .map(String::from)
            .to_vec()
        ),
        "{v}"
    );
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/looks/like"));
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["folders.txt".to_owned()]),
        "{v}"
    );
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/marker-only"));
    assert_eq!((s, listed_names(&v)), (200, Vec::<String>::new()), "{v}");
    for (key, bytes) in objects
        .iter()
        .filter(|(k, _)| k.starts_with("team/") && !k.ends_with('/'))
    {
        let file = &key["team".len()..];
        let r = h
            .client
            .get(h.action_url(&format!("get_action=download&ws={WS}")))
            .query(&[("file", file)])
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "download {file}");
        assert!(r.bytes().unwrap()[..] == bytes[..], "{file} differs");
    }

    // The other way: what wshost writes, boto3 reads byte for byte, under PREFIX.
    for (name, bytes) in [
        ("from wshost ü+.txt", b"hello from wshost".to_vec()),
        ("zero.bin", Vec::new()),
        (
            "parts.bin",
            (0..11)
                .flat_map(|i| pattern_chunk(37, i, 1 << 20))
                .collect(),
        ),
    ] {
        let r = h
            .client
            .post(h.action_url(&format!("get_action=upload&ws={WS}&dir=/looks")))
            .query(&[("name", name)])
            .body(bytes.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "upload {name}");
        assert!(
            weed.get(&format!("team/looks/{name}")) == bytes,
            "boto3 reads {name} differently"
        );
    }
    assert_eq!(weed.uploads(), Vec::<String>::new());
}

/// Opens an upload of `announced` bytes, sends `cut` of them and closes the connection.
fn cut_upload(h: &Host, name: &str, announced: usize, cut: usize) {
    let addr = h.url.trim_start_matches("http://");
    let auth: String = h
        .session_headers("admin", ADMIN_PASSWORD)
        .iter()
        .map(|(k, v)| format!("{k}: {}\r\n", v.to_str().unwrap()))
        .collect();
    let mut tcp = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /?get_action=upload&ws={WS}&dir=/&name={name} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {announced}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let _ = tcp.write_all(&pattern_chunk(5, 0, cut));
    let _ = tcp.flush();
    std::thread::sleep(Duration::from_millis(500)); // let the bytes reach the server
    drop(tcp);
}

#[test]
fn a_cut_upload_leaves_no_object_and_no_multipart_upload() {
    let weed = Weed::start();
    let h = host();
    h.create_workspace(DRIVER, WS, weed.params(), &[]);
    weed.put("target.bin", b"the previous version");
    // Within one part (a single PUT never sent), and past two parts (a multipart upload
    // begun, then aborted).
    for (name, cut) in [
        ("target.bin", 3 << 20),
        ("new.bin", 12 << 20),
        ("target.bin", 11 << 20),
    ] {
        cut_upload(&h, name, 16 << 20, cut);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (keys, uploads) = (weed.keys(""), weed.uploads());
            if keys == ["target.bin"] && uploads.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "after a cut upload to {name}: keys {keys:?}, multipart uploads {uploads:?}\nhost log:\n{}",
                h.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(weed.get("target.bin"), b"the previous version");
    }
}

/// The error code and message of verify and of a listing of the workspace `id`.
fn failures(h: &Host, id: &str) -> ((String, String), (u16, String, String)) {
    let v = h.verify(id);
    assert_eq!(v["ok"], json!(false), "{v}");
    let verified = (
        code(&v).to_owned(),
        v["error"]["message"].as_str().unwrap_or("").to_owned(),
    );
    let (s, v) = h.get(&format!("get_action=ls&ws={id}&dir=/"));
    let listed = (
        s,
        code(&v).to_owned(),
        v["error"]["message"].as_str().unwrap_or("").to_owned(),
    );
    (verified, listed)
}

#[test]
fn wrong_keys_a_missing_bucket_and_a_wrong_region_are_named() {
    let weed = Weed::start();
    let h = host();
    h.create_workspace(
        DRIVER,
        "badsecret",
        weed.params(),
        &[("SECRET_ACCESS_KEY", "not-the-secret")],
    );
    h.create_workspace(
        DRIVER,
        "badkey",
        weed.params(),
        &[("ACCESS_KEY_ID", "AKIANOSUCHKEY")],
    );
    h.create_workspace(
        DRIVER,
        "nobucket",
        weed.params(),
        &[("BUCKET", "no-such-bucket")],
    );
    let proxy = FaultProxy::start(&weed.endpoint, Fault::Region("eu-west-3".into()));
    h.create_workspace(DRIVER, "region", weed.params_at(&proxy.endpoint), &[]);
    h.create_workspace(
        DRIVER,
        "rightregion",
        weed.params_at(&proxy.endpoint),
        &[("REGION", "eu-west-3")],
    );

    for (id, kind, status, part) in [
        (
            "badsecret",
            "permission_denied",
            403,
            "SECRET_ACCESS_KEY does not belong to ACCESS_KEY_ID",
        ),
        (
            "badkey",
            "permission_denied",
            403,
            "does not know the access key id 'AKIANOSUCHKEY'",
        ),
        ("nobucket", "invalid_input", 400, "bucket 'no-such-bucket'"),
        (
            "region",
            "invalid_input",
            400,
            "is in region 'eu-west-3', not 'us-east-1': set REGION to eu-west-3",
        ),
    ] {
        let ((vcode, vmessage), (s, lcode, lmessage)) = failures(&h, id);
        assert_eq!(vcode, kind, "verify of {id}: {vmessage}");
        assert!(vmessage.contains(part), "verify of {id}: {vmessage}");
        assert_eq!(
            (s, lcode.as_str()),
            (status, kind),
            "ls of {id}: {lmessage}"
        );
        assert!(lmessage.contains(part), "ls of {id}: {lmessage}");
        assert!(!vmessage.contains(&weed.secret_key) && !lmessage.contains(&weed.secret_key));
        assert!(!vmessage.contains("X-Amz-Signature") && !lmessage.contains("X-Amz-Signature"));
    }
    let v = h.verify("rightregion");
    assert_eq!(
        v["ok"],
        json!(true),
        "signed for the bucket's region, it passes: {v}"
    );
}

#[test]
fn a_server_that_answers_503_is_retried_and_one_that_is_down_is_unavailable() {
    let weed = Weed::start();
    weed.put("kept.txt", b"kept");
    let h = host();
    let slow = FaultProxy::start(&weed.endpoint, Fault::SlowDown(2));
    h.create_workspace(DRIVER, "slow", weed.params_at(&slow.endpoint), &[]);
    let (s, v) = h.get("get_action=ls&ws=slow&dir=/");
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["kept.txt".to_owned()]),
        "{v}"
    );
    assert_eq!(
        slow.refused.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "{:?}",
        slow.seen.lock().unwrap()
    );

    let overloaded = FaultProxy::start(&weed.endpoint, Fault::SlowDown(1000));
    h.create_workspace(
        DRIVER,
        "overloaded",
        weed.params_at(&overloaded.endpoint),
        &[],
    );
    let (s, v) = h.get("get_action=ls&ws=overloaded&dir=/");
    assert_eq!((s, code(&v)), (503, "unavailable"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("slow down"),
        "{v}"
    );

    let down = format!("http://127.0.0.1:{}", free_port());
    h.create_workspace(DRIVER, "down", weed.params_at(&down), &[]);
    let ((vcode, vmessage), (s, lcode, lmessage)) = failures(&h, "down");
    assert_eq!(vcode, "unavailable", "{vmessage}");
    assert!(vmessage.contains("cannot connect"), "{vmessage}");
    assert_eq!((s, lcode.as_str()), (503, "unavailable"), "{lmessage}");
    let (s, v) = h.post_bytes(
        "get_action=upload&ws=down&dir=/&name=lost.txt",
        b"data".to_vec(),
    );
    assert_eq!((s, code(&v)), (503, "unavailable"), "{v}");
    assert_eq!(weed.keys(""), ["kept.txt"], "nothing lost, nothing added");
}
