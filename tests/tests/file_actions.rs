//! Every standard action on access.fs through HTTP, against the real binary and library.

use wshost_tests::*;

fn host() -> Host {
    Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ))
}

fn names(listing: &Value) -> Vec<String> {
    listing["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn upload_list_stat_download_rename_copy_move_delete() {
    let h = host();
    let (s, v) = h.post_bytes(
        "get_action=upload&ws=files&dir=/&name=hello.txt",
        b"hello world".to_vec(),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["path"], "hello.txt");
    assert_eq!(v["size"], 11);

    let (s, v) = h.post("get_action=mkdir&ws=files&dir=/&dirname=docs");
    assert_eq!((s, v["type"].as_str()), (201, Some("dir")), "{v}");

    let (s, v) = h.get("get_action=ls&ws=files&dir=/");
    assert_eq!(s, 200, "{v}");
    assert_eq!(names(&v), ["docs", "hello.txt"]);

    let (s, v) = h.get("get_action=stat&ws=files&file=/hello.txt");
    assert_eq!((s, v["size"].as_u64()), (200, Some(11)), "{v}");
    assert!(
        v["modified"].as_str().is_some_and(|m| m.ends_with('Z')),
        "{v}"
    );

    let r = h
        .client
        .get(h.action_url("get_action=download&ws=files&file=hello.txt"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.headers()["content-length"], "11");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("hello.txt"));
    assert_eq!(r.bytes().unwrap().as_ref(), b"hello world");

    let (s, v) = h.post("get_action=rename&ws=files&file=/hello.txt&filename_new=renamed.txt");
    assert_eq!((s, v["path"].as_str()), (200, Some("renamed.txt")), "{v}");
    let (s, v) = h.post("get_action=copy&ws=files&file=/renamed.txt&dest=/docs");
    assert_eq!(
        (s, v["path"].as_str()),
        (200, Some("docs/renamed.txt")),
        "{v}"
    );
    let (s, v) = h.post("get_action=move&ws=files&file=/renamed.txt&dest=/docs");
    assert_eq!(
        (s, code(&v)),
        (409, "already_exists"),
        "a move never overwrites: {v}"
    );
    let (s, _) = h.post("get_action=mkdir&ws=files&dir=/&dirname=other");
    assert_eq!(s, 201);
    let (s, v) = h.post("get_action=move&ws=files&file=/renamed.txt&dest=/other");
    assert_eq!(
        (s, v["path"].as_str()),
        (200, Some("other/renamed.txt")),
        "{v}"
    );
    let (_, v) = h.get("get_action=ls&ws=files&dir=/");
    assert_eq!(names(&v), ["docs", "other"]);

    let (s, v) = h.post("get_action=delete&ws=files&file=/docs");
    assert_eq!((s, v["deleted"].as_str()), (200, Some("docs")), "{v}");
    let (s, v) = h.get("get_action=stat&ws=files&file=/docs/renamed.txt");
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");
    assert!(std::fs::read(h.dir.path().join("root/other/renamed.txt")).unwrap() == b"hello world");
}

#[test]
fn pydio_parameter_aliases_and_index_php() {
    let h = host();
    h.post_bytes("get_action=upload&ws=files&name=a.txt", b"a".to_vec());
    for url in [
        format!("{}/index.php?get_action=ls&ws=files", h.url),
        format!("{}/?action=ls&tmp_repository_id=files", h.url),
        format!(
            "{}/index.php?action=ls&tmp_repository_id=files&dir=%2F",
            h.url
        ),
    ] {
        let (s, v) = json_of(h.client.get(&url).send().unwrap());
        assert_eq!((s, names(&v)), (200, vec!["a.txt".to_owned()]), "{url}");
    }
    // A form-encoded POST body carries the parameters too.
    let r = h
        .client
        .post(format!("{}/index.php?get_action=mkdir", h.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("ws=files&dir=%2F&dirname=from%20form")
        .send()
        .unwrap();
    let (s, v) = json_of(r);
    assert_eq!((s, v["path"].as_str()), (201, Some("from form")), "{v}");
}

#[test]
fn listing_is_paginated() {
    let h = host();
    let (s, _) = h.get("get_action=ls&ws=files"); // opens the workspace, creating ROOT
    assert_eq!(s, 200);
    let root = h.dir.path().join("root");
    for i in 0..25 {
        std::fs::write(root.join(format!("f{i:02}")), [i as u8]).unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (s, v) = h.get(&format!("get_action=ls&ws=files&limit=10&cursor={cursor}"));
        assert_eq!(s, 200, "{v}");
        pages += 1;
        seen.extend(names(&v));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).map(|i| format!("f{i:02}")).collect();
    assert_eq!(seen, want);
}

#[test]
fn range_downloads() {
    let h = host();
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    h.post_bytes("get_action=upload&ws=files&name=r.bin", data.clone());
    let get = |range: &str| {
        h.client
            .get(h.action_url("get_action=download&ws=files&file=r.bin"))
            .header("range", range)
            .send()
            .unwrap()
    };
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=100-2000", 100, 999),
    ] {
        let r = get(range);
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {start}-{end}/1000").as_str(),
            "{range}"
        );
        assert_eq!(
            r.headers()["content-length"],
            (end - start + 1).to_string().as_str()
        );
        assert_eq!(r.bytes().unwrap().as_ref(), &data[start..=end], "{range}");
    }
    let r = get("bytes=1000-");
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */1000");
    let (_, v) = json_of(r);
    assert_eq!(code(&v), "invalid_range");
    // Several ranges: the whole file, as RFC 9110 allows.
    let r = get("bytes=0-1,5-6");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().len(), 1000);
}

#[test]
fn bad_requests_get_distinct_json_errors() {
    let h = host();
    h.post_bytes("get_action=upload&ws=files&name=x.txt", b"x".to_vec());
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "ws=files", 400, "missing_action"),
        ("GET", "get_action=nope&ws=files", 404, "unknown_action"),
        ("GET", "get_action=ls&ws=nowhere", 404, "unknown_workspace"),
        ("GET", "get_action=ls", 400, "missing_parameter"),
        ("GET", "get_action=stat&ws=files", 400, "missing_parameter"),
        (
            "GET",
            "get_action=ls&ws=files&limit=0",
            400,
            "invalid_parameter",
        ),
        (
            "GET",
            "get_action=ls&ws=files&limit=abc",
            400,
            "invalid_parameter",
        ),
        (
            "GET",
            "get_action=stat&ws=files&file=missing",
            404,
            "not_found",
        ),
        ("GET", "get_action=ls&ws=files&dir=x.txt", 409, "conflict"),
        (
            "GET",
            "get_action=delete&ws=files&file=x.txt",
            405,
            "method_not_allowed",
        ),
        (
            "POST",
            "get_action=mkdir&ws=files&dir=/&dirname=x.txt",
            409,
            "already_exists",
        ),
        (
            "POST",
            "get_action=mkdir&ws=files&dir=/nope&dirname=a",
            404,
            "not_found",
        ),
        (
            "POST",
            "get_action=rename&ws=files&file=x.txt&filename_new=a/b",
            400,
            "invalid_path",
        ),
        (
            "POST",
            "get_action=copy&ws=files&file=x.txt",
            400,
            "missing_parameter",
        ),
        (
            "POST",
            "get_action=delete&ws=files&file=/",
            400,
            "invalid_parameter",
        ),
        (
            "POST",
            "get_action=upload&ws=files&dir=/&name=x.txt&overwrite=false",
            409,
            "already_exists",
        ),
        (
            "POST",
            "get_action=upload&ws=files&dir=/missing&name=y.txt",
            404,
            "not_found",
        ),
    ];
    for (method, query, status, want) in cases {
        let r = match *method {
            "GET" => h.client.get(h.action_url(query)),
            _ => h.client.post(h.action_url(query)),
        }
        .send()
        .unwrap();
        let (s, v) = json_of(r);
        assert_eq!((s, code(&v)), (*status, *want), "{method} {query}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{query}"
        );
    }
}

/// Hundreds of MiB up and down, streamed on both sides, compared byte for byte.
#[test]
fn large_streamed_upload_and_download() {
    const CHUNK: usize = 1 << 20;
    const CHUNKS: u64 = 300; // 300 MiB
    let h = host();
    let body = reqwest::blocking::Body::sized(
        PatternReader {
            seed: 7,
            chunk: 0,
            chunks: CHUNKS,
            buf: Vec::new(),
            pos: 0,
            len: CHUNK,
        },
        CHUNKS * CHUNK as u64,
    );
    let r = h
        .client
        .put(h.action_url("get_action=upload&ws=files&name=big.bin"))
        .body(body)
        .send()
        .unwrap();
    let (s, v) = json_of(r);
    assert_eq!(
        (s, v["size"].as_u64()),
        (201, Some(CHUNKS * CHUNK as u64)),
        "{v}"
    );

    let mut r = h
        .client
        .get(h.action_url("get_action=download&ws=files&file=big.bin"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut expected = PatternReader {
        seed: 7,
        chunk: 0,
        chunks: CHUNKS,
        buf: Vec::new(),
        pos: 0,
        len: CHUNK,
    };
    let (mut got, mut want) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut total = 0u64;
    loop {
        let n = read_full(&mut r, &mut got);
        if n == 0 {
            break;
        }
        assert_eq!(read_full(&mut expected, &mut want[..n]), n);
        assert!(got[..n] == want[..n], "bytes differ near offset {total}");
        total += n as u64;
    }
    assert_eq!(total, CHUNKS * CHUNK as u64);
}

fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// The deterministic pattern of [`pattern_chunk`], as a reader.
struct PatternReader {
    seed: u64,
    chunk: u64,
    chunks: u64,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl std::io::Read for PatternReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.chunk == self.chunks {
                return Ok(0);
            }
            self.buf = pattern_chunk(self.seed, self.chunk, self.len);
            self.chunk += 1;
            self.pos = 0;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A client that disconnects mid-upload leaves nothing under the target name, the previous
/// version intact, and no temporary file behind.
#[test]
fn interrupted_upload_keeps_the_previous_version() {
    use std::io::Write;
    let h = host();
    let (s, _) = h.post_bytes(
        "get_action=upload&ws=files&name=doc.txt",
        b"version 1".to_vec(),
    );
    assert_eq!(s, 201);
    let session = h.session_headers("admin", ADMIN_PASSWORD);
    let auth: String = session
        .iter()
        .map(|(k, v)| format!("{k}: {}\r\n", v.to_str().unwrap()))
        .collect();
    for target in ["doc.txt", "new.txt"] {
        let addr = h.url.trim_start_matches("http://");
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        write!(
            tcp,
            "POST /?get_action=upload&ws=files&name={target} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 10485760\r\n\r\n"
        )
        .unwrap();
        tcp.write_all(&vec![b'x'; 1 << 20]).unwrap();
        drop(tcp); // cut after 1 MiB of 10
        let root = h.dir.path().join("root");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let names: Vec<String> = std::fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            if names == ["doc.txt"] {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "leftovers after an interrupted upload: {names:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(std::fs::read(root.join("doc.txt")).unwrap(), b"version 1");
    }
}

/// Range sets RFC 9110 allows are served, not refused with 416: a suffix longer than the
/// file is the whole file, overlapping or adjacent ranges are coalesced into one part, and a
/// range past the end is dropped when another one is satisfiable. Only a set with nothing
/// inside the file is unsatisfiable.
#[test]
fn range_sets_are_clamped_and_coalesced() {
    let h = host();
    let data = b"0123456789".to_vec();
    h.post_bytes("get_action=upload&ws=files&name=ten.txt", data.clone());
    let get = |range: &str| {
        h.client
            .get(h.action_url("get_action=download&ws=files&file=ten.txt"))
            .header("range", range)
            .send()
            .unwrap()
    };
    for (range, start, end) in [
        ("bytes=-999999", 0, 9),
        ("bytes=-10", 0, 9),
        ("bytes=0-4,2-8", 0, 8),
        ("bytes=6-9,0-3,3-6", 0, 9),
        ("bytes=2-3,4-5", 2, 5),
        ("bytes=50-60,1-2", 1, 2),
    ] {
        let r = get(range);
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {start}-{end}/10").as_str(),
            "{range}"
        );
        assert_eq!(r.bytes().unwrap().as_ref(), &data[start..=end], "{range}");
    }
    // Disjoint ranges: the whole file (no multipart answer), as RFC 9110 allows.
    let r = get("bytes=0-1,5-6");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().as_ref(), &data[..]);
    for range in ["bytes=10-", "bytes=10-20,30-40"] {
        let r = get(range);
        assert_eq!(r.status(), 416, "{range}");
        assert_eq!(r.headers()["content-range"], "bytes */10", "{range}");
    }
}

/// A zero-byte file has no byte a range could select: whatever the Range header, the answer
/// is its whole, empty content (200, `Content-Length: 0`, no `Content-Range`), which RFC 9110
/// allows (a server may ignore Range), never a 502 blaming the driver.
#[test]
fn a_zero_byte_file_answers_every_range_form_with_its_empty_content() {
    let h = host();
    let (status, _) = h.post_bytes("get_action=upload&ws=files&name=empty.txt", Vec::new());
    assert_eq!(status, 201);
    for range in [
        None,
        Some("bytes=0-"),
        Some("bytes=0-0"),
        Some("bytes=0-10"),
        Some("bytes=-1"),
        Some("bytes=-10"),
        Some("bytes=5-"),
        Some("bytes=0-0,2-3"),
        Some("bytes=-0"),
        Some("pages=1"),
    ] {
        let mut req = h
            .client
            .get(h.action_url("get_action=download&ws=files&file=empty.txt"));
        if let Some(range) = range {
            req = req.header("range", range);
        }
        let r = req.send().unwrap();
        let shown = range.unwrap_or("no Range header");
        assert_eq!(r.status(), 200, "{shown}: {:?}", r.headers());
        assert_eq!(r.headers()["content-length"], "0", "{shown}");
        assert!(r.headers().get("content-range").is_none(), "{shown}");
        assert!(r.bytes().unwrap().is_empty(), "{shown}");
    }
}

/// A file whose name no client path can carry (a backslash, a control character: legal on
/// disk) does not hide its folder: `ls` lists the rest and says how many it left out.
#[test]
fn a_name_no_path_can_carry_is_skipped_and_the_rest_listed() {
    let h = host();
    h.post_bytes("get_action=upload&ws=files&name=ok.txt", b"ok".to_vec());
    let root = h.dir.path().join("root");
    std::fs::write(root.join("back\\slash.txt"), b"x").unwrap();
    std::fs::write(root.join("line\nbreak.txt"), b"x").unwrap();
    let (s, v) = h.get("get_action=ls&ws=files&dir=/");
    assert_eq!(s, 200, "{v}");
    assert_eq!(names(&v), ["ok.txt"], "{v}");
    assert_eq!(v["skipped"], 2, "{v}");
    assert!(
        h.logged("a listing left out entries"),
        "the skipped entries are logged"
    );
    // The browser page renders the folder too.
    let r = h
        .client
        .get(format!("{}/ui/workspaces/files", h.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("ok.txt"));
}
