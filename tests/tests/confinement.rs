//! access.fs never reaches outside its ROOT: hostile paths are refused by the host's
//! normalizer, and symlinks pointing outside are refused by the driver's capability-based I/O
//! (cap-std), also when a folder is swapped for a symlink between a check and its use.
//!
//! An escape is any answer that carries the secret planted outside ROOT, or any change outside
//! ROOT (a file created, changed or removed next to it). Each suite prints its figure.

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wshost_tests::*;

const SECRET_TEXT: &str = "TOP-SECRET-CONTENT";
const SECRET: &[u8] = SECRET_TEXT.as_bytes();

/// The symlinks planted in ROOT: (name, target). All lead outside or nowhere.
const LINKS: &[(&str, &str)] = &[
    ("link-dir", "OUTSIDE"),
    ("link-file", "OUTSIDE/secret.txt"),
    ("rel-link", "../outside/secret.txt"),
    ("sub/up", "../.."),
    ("dangling", "nowhere/at/all"),
];

struct Setup {
    host: Host,
    root: PathBuf,
    outside: PathBuf,
    /// The recursive content of `outside` at the start.
    outside_before: Tree,
    /// The names in the host's folder (next to `root` and `outside`) at the start.
    top_before: Vec<String>,
}

fn setup() -> Setup {
    let host = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let outside = host.dir.path().join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    std::fs::write(outside.join("sub/keep.txt"), SECRET).unwrap();
    let root = host.dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let s = Setup {
        outside_before: tree(&outside),
        top_before: names(host.dir.path()),
        root,
        outside,
        host,
    };
    restore_fixtures(&s);
    s
}

/// Puts back what a previous request may have moved, deleted or replaced inside ROOT.
fn restore_fixtures(s: &Setup) {
    let root = &s.root;
    std::fs::create_dir_all(root.join("sub")).unwrap();
    if !root.join("inside.txt").is_file() {
        let _ = std::fs::remove_dir_all(root.join("inside.txt"));
        std::fs::write(root.join("inside.txt"), b"inside").unwrap();
    }
    for (name, target) in LINKS {
        let target = target.replace("OUTSIDE", &s.outside.display().to_string());
        let path = root.join(name);
        match std::fs::read_link(&path) {
            Ok(t) if t == Path::new(&target) => continue,
            _ => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_dir_all(&path);
                symlink(&target, &path).unwrap();
            }
        }
    }
}

/// Panics (naming `what`) if anything outside ROOT changed.
fn assert_outside_untouched(s: &Setup, what: &str) {
    assert_eq!(
        tree(&s.outside),
        s.outside_before,
        "ESCAPE: the folder outside ROOT changed after {what}"
    );
    assert_eq!(
        names(s.host.dir.path()),
        s.top_before,
        "ESCAPE: something was created next to ROOT after {what}"
    );
}

/// How a hostile value travels: percent-encoded by the test (the host decodes it back to
/// exactly this text), or put into the query as it is (the host decodes it once).
#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Wire(&'static str),
}

impl Input {
    fn query_value(&self) -> String {
        match self {
            Input::Text(t) => url_encode(t),
            Input::Wire(w) => (*w).to_owned(),
        }
    }
}

/// At least 200 hostile paths, generated family by family.
fn hostile_inputs(outside: &Path) -> Vec<Input> {
    let mut texts: Vec<String> = Vec::new();
    // `..` in every position of a three-segment path, once, twice and three times; with a
    // leading and a trailing slash.
    let segs = ["a", "b", "c"];
    for pos in 0..=segs.len() {
        for reps in 1..=3 {
            let mut parts: Vec<&str> = segs.to_vec();
            for _ in 0..reps {
                parts.insert(pos, "..");
            }
            let p = parts.join("/");
            texts.push(p.clone());
            texts.push(format!("/{p}"));
            texts.push(format!("{p}/"));
        }
    }
    // `..` aiming at the planted secret from every depth and with every separator noise.
    for p in [
        "..",
        "../",
        "/..",
        "/../",
        "./..",
        "../outside",
        "../outside/",
        "../outside/secret.txt",
        "../outside/sub",
        "../../..",
        "../root/inside.txt",
        "sub/../../outside/secret.txt",
        "sub/./../../outside/secret.txt",
        ".//..//outside//secret.txt",
        "sub/../..",
        "sub/..",
        "inside.txt/..",
        "inside.txt/../../outside/secret.txt",
    ] {
        texts.push(p.into());
    }
    // Percent-encoded once more than the transport: after the host's one decoding these are
    // literal names; they may exist, but only inside ROOT.
    for e in [
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "%252e%252e",
        "..%2f",
        "%2e%2e%2f",
        "..%5c",
        "%c0%ae%c0%ae",
        "%uff0e%uff0e",
    ] {
        texts.push(format!("{e}/outside/secret.txt"));
        texts.push(format!("sub/{e}/{e}/outside/secret.txt"));
        texts.push(e.into());
    }
    // Backslashes.
    for p in [
        "..\\outside\\secret.txt",
        "\\..\\outside",
        "sub\\..\\..\\outside\\secret.txt",
        "\\\\server\\share",
        "a\\b",
        "..\\",
        "\\",
    ] {
        texts.push(p.into());
    }
    // NUL and every control character: C0, DEL and C1.
    for c in (0u32..0x20).chain([0x7f]) {
        let c = char::from_u32(c).unwrap();
        texts.push(format!("inside.txt{c}"));
        texts.push(format!("{c}/../outside/secret.txt"));
    }
    for c in 0x80u32..0xa0 {
        texts.push(format!("in{}side.txt", char::from_u32(c).unwrap()));
    }
    // Absolute paths, including the real one of the secret.
    let abs = outside.display().to_string();
    for p in [
        "/etc/passwd".to_owned(),
        "//etc/passwd".into(),
        format!("{abs}/secret.txt"),
        abs.clone(),
        format!("/{abs}/sub"),
        "file:///etc/passwd".into(),
        "C:\\Windows\\win.ini".into(),
        "C:/Windows/win.ini".into(),
        "~/secret.txt".into(),
        "/proc/self/root/etc/passwd".into(),
    ] {
        texts.push(p);
    }
    // Overlong names (256 bytes) and paths (more than 4096 bytes).
    texts.push("a".repeat(256));
    texts.push(format!("sub/{}", "a".repeat(256)));
    texts.push("é".repeat(128));
    texts.push(format!("../{}", "a".repeat(300)));
    texts.push("x/".repeat(2048) + "y");
    texts.push(format!("{}/../outside", "a/".repeat(2100)));
    texts.push(format!("..{}", "/".repeat(5000)));
    texts.push("a".repeat(255)); // the longest name allowed: fine, but inside ROOT
                                 // Unicode lookalikes of `.`, `/` and `\`, and invisible characters.
    for p in [
        "\u{2024}\u{2024}/outside/secret.txt",
        "\u{2024}\u{2024}",
        "\u{FF0E}\u{FF0E}/outside/secret.txt",
        "\u{FF0E}\u{FF0E}",
        "..\u{2215}outside\u{2215}secret.txt",
        "..\u{FF0F}outside\u{FF0F}secret.txt",
        "\u{2025}/outside/secret.txt",
        "..\u{2044}outside",
        "..\u{FF3C}outside",
        "\u{FE52}\u{FE52}/outside",
        ".\u{200B}./outside/secret.txt",
        "\u{202E}txt.exe",
        "\u{FEFF}../outside/secret.txt",
    ] {
        texts.push(p.into());
    }
    // Normalization forms: NFC and NFD spellings, compatibility characters.
    for p in [
        "caf\u{e9}.txt",
        "cafe\u{301}.txt",
        ".\u{301}./outside/secret.txt",
        "\u{212B}",
        "A\u{30A}",
        "\u{FB01}le",
    ] {
        texts.push(p.into());
    }
    // Through the planted symlinks.
    for p in [
        "link-dir",
        "link-dir/secret.txt",
        "link-dir/sub",
        "link-dir/sub/keep.txt",
        "link-dir/new.txt",
        "link-file",
        "rel-link",
        "sub/up",
        "sub/up/outside/secret.txt",
        "dangling",
        "dangling/x",
    ] {
        texts.push(p.into());
    }
    let mut inputs: Vec<Input> = texts.into_iter().map(Input::Text).collect();
    // Put into the query as they are: the host's one decoding makes the first ones `..`.
    for w in [
        "../outside/secret.txt",
        "%2e%2e/outside/secret.txt",
        "%2e%2e%2foutside%2fsecret.txt",
        "..%2F..%2Foutside",
        "%252e%252e%252foutside",
        "..%00",
        "%00",
        "..%5c..%5coutside",
        "..%c0%afoutside",
        "%ff%fe..",
    ] {
        inputs.push(Input::Wire(w));
    }
    inputs
}

/// Every file action of access.fs, with the hostile value `v` in each path or name
/// parameter: (method, query).
fn actions(v: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("get_action=stat&ws=files&file={v}")),
        ("GET", format!("get_action=download&ws=files&file={v}")),
        ("GET", format!("get_action=ls&ws=files&dir={v}")),
        ("POST", format!("get_action=upload&ws=files&file={v}")),
        (
            "POST",
            format!("get_action=upload&ws=files&dir={v}&name=up.txt"),
        ),
        ("POST", format!("get_action=upload&ws=files&dir=/&name={v}")),
        ("POST", format!("get_action=delete&ws=files&file={v}")),
        (
            "POST",
            format!("get_action=mkdir&ws=files&dir={v}&dirname=made"),
        ),
        (
            "POST",
            format!("get_action=mkdir&ws=files&dir=/&dirname={v}"),
        ),
        (
            "POST",
            format!("get_action=rename&ws=files&file={v}&filename_new=renamed"),
        ),
        (
            "POST",
            format!("get_action=rename&ws=files&file=inside.txt&filename_new={v}"),
        ),
        (
            "POST",
            format!("get_action=move&ws=files&file={v}&dest=/sub"),
        ),
        (
            "POST",
            format!("get_action=move&ws=files&file=inside.txt&dest={v}"),
        ),
        (
            "POST",
            format!("get_action=copy&ws=files&file={v}&dest=/sub"),
        ),
        (
            "POST",
            format!("get_action=copy&ws=files&file=inside.txt&dest={v}"),
        ),
    ]
}

#[test]
fn hostile_paths_never_escape_through_any_action() {
    let s = setup();
    let h = &s.host;
    let inputs = hostile_inputs(&s.outside);
    assert!(inputs.len() >= 200, "{} inputs", inputs.len());
    let action_count = actions("x").len();
    let (mut requests, mut accepted, mut server_errors) = (0, 0, Vec::new());
    for input in &inputs {
        let v = input.query_value();
        for (method, query) in actions(&v) {
            restore_fixtures(&s);
            let url = h.action_url(&query);
            let r = match method {
                "GET" => h.client.get(&url),
                _ => h.client.post(&url).body("pwned"),
            }
            .send()
            .unwrap();
            let status = r.status().as_u16();
            let body = r.bytes().unwrap();
            requests += 1;
            assert!(
                !contains(&body, SECRET),
                "ESCAPE: {input:?}: {method} {query} -> {status} read the secret"
            );
            assert_outside_untouched(&s, &format!("{input:?}: {method} {query} -> {status}"));
            if (200..300).contains(&status) {
                accepted += 1;
            }
            if status >= 500 {
                server_errors.push(format!(
                    "{method} {query} -> {status} {}",
                    String::from_utf8_lossy(&body)
                ));
            }
        }
    }
    // Nothing the requests did left a secret inside ROOT either (a copy through a link).
    for (path, content) in tree(&s.root) {
        assert!(
            !content.contains(SECRET_TEXT),
            "ESCAPE: {path} holds the secret"
        );
    }
    assert!(
        server_errors.is_empty(),
        "hostile paths must be refused as client errors:\n{}",
        server_errors.join("\n")
    );
    println!(
        "hostile paths: {} cases × {action_count} actions = {requests} requests, 0 escapes \
         ({accepted} accepted as harmless names inside ROOT, 0 server errors)",
        inputs.len()
    );
}

/// Encoded twice, a traversal is decoded once into a literal, harmless name: it may be
/// created, but only inside ROOT, under exactly that name.
#[test]
fn double_encoded_traversals_are_literal_names_inside_root() {
    let s = setup();
    let h = &s.host;
    for literal in ["..%2Foutside%2Fsecret.txt", "%2e%2e"] {
        let (st, v) = h.post_bytes(
            &format!("get_action=upload&ws=files&file={}", url_encode(literal)),
            b"x".to_vec(),
        );
        assert_eq!((st, v["path"].as_str()), (201, Some(literal)), "{v}");
        assert!(s.root.join(literal).is_file());
    }
    let (st, v) = h.get(&format!(
        "get_action=stat&ws=files&file={}",
        url_encode("%2e%2e/outside/secret.txt")
    ));
    assert_eq!(st, 404, "{v}");
    assert_outside_untouched(&s, "double-encoded uploads");
}

#[test]
fn symlinks_out_of_root_are_not_followed() {
    let s = setup();
    let h = &s.host;
    for (method, query) in [
        ("GET", "get_action=download&ws=files&file=link-file"),
        ("GET", "get_action=download&ws=files&file=rel-link"),
        (
            "GET",
            "get_action=download&ws=files&file=link-dir/secret.txt",
        ),
        ("GET", "get_action=stat&ws=files&file=link-dir/secret.txt"),
        ("GET", "get_action=ls&ws=files&dir=link-dir"),
        ("GET", "get_action=ls&ws=files&dir=sub/up"),
        ("POST", "get_action=upload&ws=files&file=link-dir/new.txt"),
        (
            "POST",
            "get_action=mkdir&ws=files&dir=link-dir&dirname=made",
        ),
        (
            "POST",
            "get_action=delete&ws=files&file=link-dir/secret.txt",
        ),
        (
            "POST",
            "get_action=copy&ws=files&file=inside.txt&dest=link-dir",
        ),
        ("POST", "get_action=copy&ws=files&file=link-file&dest=/sub"),
        ("POST", "get_action=copy&ws=files&file=link-dir&dest=/sub"),
        (
            "POST",
            "get_action=move&ws=files&file=inside.txt&dest=link-dir/sub",
        ),
        (
            "POST",
            "get_action=rename&ws=files&file=link-dir/secret.txt&filename_new=moved.txt",
        ),
    ] {
        let r = match method {
            "GET" => h.client.get(h.action_url(query)),
            _ => h.client.post(h.action_url(query)).body("pwned"),
        }
        .send()
        .unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert!(!body.contains(SECRET_TEXT), "{query} leaked: {body}");
        assert!(
            (400..500).contains(&status),
            "{method} {query} -> {status} {body}"
        );
        assert_outside_untouched(&s, query);
    }
    // An upload onto a link replaces the link; it never writes through it.
    let (st, v) = h.post_bytes(
        "get_action=upload&ws=files&file=link-file&overwrite=true",
        b"replaced".to_vec(),
    );
    assert!((200..300).contains(&st), "{v}");
    assert_eq!(
        std::fs::read(s.root.join("link-file")).unwrap(),
        b"replaced"
    );
    assert!(!std::fs::symlink_metadata(s.root.join("link-file"))
        .unwrap()
        .is_symlink());
    assert_outside_untouched(&s, "upload onto link-file");
    // The listing of the root does not break on escaping links, and shows no outside content.
    let (st, v) = h.get("get_action=ls&ws=files");
    assert_eq!(st, 200, "{v}");
    assert!(!v.to_string().contains("secret.txt"), "{v}");
    // Deleting a link removes the link itself, never its target; deleting a folder that holds
    // a link to a folder outside does not descend into it.
    let (st, v) = h.post("get_action=delete&ws=files&file=link-dir");
    assert_eq!(st, 200, "{v}");
    let (st, v) = h.post("get_action=delete&ws=files&file=sub");
    assert_eq!(st, 200, "{v}");
    assert_outside_untouched(&s, "deleting links");
}

/// A hard link to an outside file, made inside ROOT by someone with local access, is a regular
/// file like any other: the host cannot tell it apart and serves it. What is defended: no
/// request can create a link, and writing to such a file replaces it (temporary file and
/// rename) instead of writing through to the outside inode.
#[test]
fn hard_links_are_replaced_not_written_through_and_never_created() {
    let s = setup();
    let h = &s.host;
    let target = s.host.dir.path().join("hard-target.txt");
    std::fs::write(&target, b"outside inode").unwrap();
    std::fs::hard_link(&target, s.root.join("hard.txt")).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();

    for query in [
        "get_action=upload&ws=files&file=hard.txt&overwrite=true",
        "get_action=upload&ws=files&dir=/&name=hard.txt&overwrite=true",
    ] {
        let (st, v) = h.post_bytes(query, b"new content".to_vec());
        assert!((200..300).contains(&st), "{query}: {v}");
        assert_eq!(std::fs::read(&target).unwrap(), b"outside inode", "{query}");
        let meta = std::fs::metadata(s.root.join("hard.txt")).unwrap();
        assert_ne!(meta.ino(), inode, "{query}: written through the hard link");
        assert_eq!(meta.nlink(), 1);
        assert_eq!(
            std::fs::read(s.root.join("hard.txt")).unwrap(),
            b"new content"
        );
        // Link it again for the next case.
        std::fs::remove_file(s.root.join("hard.txt")).unwrap();
        std::fs::hard_link(&target, s.root.join("hard.txt")).unwrap();
    }
    // Copy and rename leave the outside inode alone too.
    let (st, v) = h.post("get_action=copy&ws=files&file=hard.txt&dest=/sub");
    assert!((200..300).contains(&st), "{v}");
    assert_eq!(
        std::fs::metadata(s.root.join("sub/hard.txt"))
            .unwrap()
            .nlink(),
        1
    );
    assert_eq!(std::fs::metadata(&target).unwrap().nlink(), 2);

    // No action makes links: the link-making names are unknown actions.
    let mut tried = 0;
    for action in ["link", "symlink", "hardlink", "ln", "mklink", "make_link"] {
        for params in [
            "file=inside.txt&dest=/sub",
            "file=/etc/passwd&name=pw",
            "target=../outside&name=l",
        ] {
            let (st, v) = h.post(&format!("get_action={action}&ws=files&{params}"));
            assert!((400..500).contains(&st), "{action}: {st} {v}");
            tried += 1;
        }
    }
    // Whatever ran in this test, every link in ROOT is one the test planted, and the only
    // file with more than one name is the planted hard link.
    let planted: Vec<String> = LINKS.iter().map(|(n, _)| n.to_string()).collect();
    walk_root(&s.root, &s.root, &mut |rel, meta| {
        if meta.is_symlink() {
            assert!(planted.contains(&rel), "a link the host created: {rel}");
        } else if meta.is_file() && meta.nlink() > 1 {
            assert_eq!(rel, "hard.txt", "a hard link the host created");
        }
    });
    println!("hard links: 3 writes replaced, {tried} link-making requests refused, 0 escapes");
}

fn walk_root(base: &Path, dir: &Path, f: &mut dyn FnMut(String, std::fs::Metadata)) {
    for item in std::fs::read_dir(dir).unwrap().flatten() {
        let path = item.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(base).unwrap().display().to_string();
        if meta.is_dir() {
            walk_root(base, &path, f);
        }
        f(rel, meta);
    }
}

/// A folder inside ROOT flips between a real folder and a symlink to the outside while
/// requests hammer it: whatever the timing, no request reads the secret or touches the outside.
#[test]
fn a_folder_swapped_for_a_symlink_between_check_and_use_never_leads_outside() {
    let s = setup();
    let h = &s.host;
    let swap = s.root.join("swap");
    let hold = s.root.join("swap-held");
    std::fs::create_dir_all(swap.join("sub")).unwrap();
    std::fs::write(swap.join("secret.txt"), b"decoy").unwrap();
    std::fs::write(swap.join("sub/keep.txt"), b"decoy").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let flips = Arc::new(AtomicU64::new(0));
    let flipper = {
        let (stop, flips) = (stop.clone(), flips.clone());
        let (swap, hold, outside) = (swap.clone(), hold.clone(), s.outside.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Real folder → symlink to the outside → real folder again.
                if std::fs::rename(&swap, &hold).is_err() {
                    let _ = std::fs::create_dir(&hold);
                }
                let _ = std::fs::create_dir_all(hold.join("sub"));
                if !hold.join("secret.txt").exists() {
                    let _ = std::fs::write(hold.join("secret.txt"), b"decoy");
                }
                let _ = symlink(&outside, &swap);
                std::thread::sleep(Duration::from_micros(50 + n % 200));
                let _ = std::fs::remove_file(&swap);
                let _ = std::fs::remove_dir_all(&swap); // if a request made a real one
                let _ = std::fs::rename(&hold, &swap);
                std::thread::sleep(Duration::from_micros(50 + (n * 7) % 200));
                n += 1;
                flips.store(n, Ordering::Relaxed);
            }
        })
    };

    let queries = |i: u64| -> Vec<(&'static str, String)> {
        vec![
            (
                "GET",
                "get_action=download&ws=files&file=swap/secret.txt".into(),
            ),
            (
                "GET",
                "get_action=download&ws=files&file=swap/sub/keep.txt".into(),
            ),
            (
                "GET",
                "get_action=stat&ws=files&file=swap/secret.txt".into(),
            ),
            ("GET", "get_action=ls&ws=files&dir=swap".into()),
            ("GET", "get_action=ls&ws=files&dir=swap/sub".into()),
            (
                "POST",
                format!("get_action=upload&ws=files&file=swap/new-{i}.txt"),
            ),
            (
                "POST",
                "get_action=upload&ws=files&file=swap/secret.txt&overwrite=true".into(),
            ),
            (
                "POST",
                format!("get_action=mkdir&ws=files&dir=swap&dirname=d{i}"),
            ),
            (
                "POST",
                "get_action=delete&ws=files&file=swap/secret.txt".into(),
            ),
            ("POST", "get_action=delete&ws=files&file=swap/sub".into()),
            (
                "POST",
                format!("get_action=rename&ws=files&file=swap/secret.txt&filename_new=r{i}"),
            ),
            (
                "POST",
                "get_action=move&ws=files&file=swap/secret.txt&dest=/".into(),
            ),
            (
                "POST",
                format!("get_action=copy&ws=files&file=swap/secret.txt&dest=/c{i}"),
            ),
            (
                "POST",
                format!("get_action=copy&ws=files&file=swap&dest=/c{i}"),
            ),
            (
                "POST",
                format!("get_action=mkdir&ws=files&dir=/&dirname=c{i}"),
            ),
        ]
    };
    let deadline = Instant::now() + Duration::from_secs(4);
    let sent = AtomicU64::new(0);
    let leaks = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for worker in 0..2u64 {
            let (sent, leaks, queries) = (&sent, &leaks, &queries);
            scope.spawn(move || {
                let mut i = worker * 1_000_000;
                while Instant::now() < deadline {
                    for (method, query) in queries(i) {
                        let url = h.action_url(&query);
                        let r = match method {
                            "GET" => h.client.get(&url),
                            _ => h.client.post(&url).body("pwned"),
                        }
                        .send()
                        .unwrap();
                        let body = r.bytes().unwrap();
                        if contains(&body, SECRET) {
                            eprintln!("ESCAPE: {query} read the secret");
                            leaks.fetch_add(1, Ordering::Relaxed);
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            });
        }
    });
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    let sent = sent.load(Ordering::Relaxed);
    let flips = flips.load(Ordering::Relaxed);
    assert_eq!(leaks.load(Ordering::Relaxed), 0, "reads of the secret");
    assert_outside_untouched(&s, "the swap race");
    for (path, content) in tree(&s.root) {
        assert!(
            !content.contains(SECRET_TEXT),
            "ESCAPE: {path} holds the secret"
        );
    }
    assert!(sent > 100 && flips > 100, "{sent} requests, {flips} flips");
    println!(
        "symlink swap race: {sent} requests during {flips} flips, 0 reads of the secret, \
         0 changes outside ROOT"
    );
}

// ---- The WebDAV door: request paths and Destination headers ----

/// A hostile value as a WebDAV request path below `/dav/files/`: a text percent-encoded
/// segment by segment (the host decodes it back to exactly that text, `/` kept as the
/// separator), a wire form as it is.
fn dav_path(input: &Input) -> String {
    match input {
        Input::Text(t) => format!("/dav/files/{}", webdav::encode_path(t)),
        Input::Wire(w) => format!("/dav/files/{w}"),
    }
}

/// A WebDAV request: method, path, headers.
type DavRequest = (&'static str, String, Vec<(&'static str, String)>);

/// Every method that takes a path, with the hostile path `p` as the request path or as the
/// Destination (path and absolute URL forms): (method, path, headers).
fn dav_requests(p: &str, authority: &str) -> Vec<DavRequest> {
    vec![
        ("PROPFIND", p.to_owned(), vec![("Depth", "1".into())]),
        ("GET", p.to_owned(), vec![]),
        ("PUT", p.to_owned(), vec![]),
        ("DELETE", p.to_owned(), vec![]),
        ("MKCOL", p.to_owned(), vec![]),
        ("PROPPATCH", p.to_owned(), vec![]),
        (
            "MOVE",
            p.to_owned(),
            vec![("Destination", "/dav/files/sub/moved".into())],
        ),
        (
            "COPY",
            "/dav/files/inside.txt".into(),
            vec![("Destination", p.to_owned())],
        ),
        (
            "MOVE",
            "/dav/files/inside.txt".into(),
            vec![("Destination", format!("http://{authority}{p}"))],
        ),
    ]
}

#[test]
fn hostile_webdav_paths_and_destinations_never_escape() {
    let s = setup();
    let h = &s.host;
    let dav = webdav::Dav::basic(h, "admin", &webdav::app_password(h, &h.client));
    let inputs = hostile_inputs(&s.outside);
    let (mut requests, mut accepted, mut server_errors) = (0, 0, Vec::new());
    for input in &inputs {
        let p = dav_path(input);
        for (method, path, headers) in dav_requests(&p, dav.authority()) {
            restore_fixtures(&s);
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let body: &[u8] = match method {
                "PUT" => b"pwned",
                "PROPPATCH" => webdav::PROPPATCH_SET.as_bytes(),
                _ => b"",
            };
            let a = dav.send(method, &path, &headers, body);
            requests += 1;
            let what = format!("{input:?}: {method} {path} {headers:?} -> {}", a.status);
            assert!(!contains(&a.body, SECRET), "ESCAPE: {what} read the secret");
            assert_outside_untouched(&s, &what);
            if (200..300).contains(&a.status) {
                accepted += 1;
            }
            // 502 is the door's answer to a Destination it will not follow.
            let refused_destination =
                a.status == 502 && !headers.is_empty() && method != "PROPFIND";
            if a.status >= 500 && !refused_destination {
                server_errors.push(format!("{what} {}", a.text().trim()));
            }
        }
    }
    for (path, content) in tree(&s.root) {
        assert!(
            !content.contains(SECRET_TEXT),
            "ESCAPE: {path} holds the secret"
        );
    }
    assert!(
        server_errors.is_empty(),
        "hostile WebDAV paths must be refused as client errors:\n{}",
        server_errors.join("\n")
    );
    println!(
        "hostile WebDAV paths: {} cases × {} requests = {requests} requests, 0 escapes \
         ({accepted} accepted as harmless names inside ROOT, 0 server errors)",
        inputs.len(),
        dav_requests("/dav/files/x", "h").len()
    );
}

/// A user with read-write on `files` only: no request path or Destination reaches the
/// workspace `other` (whose folder holds a canary), the outside, another server, or the
/// WebDAV root; each is refused with its own status and nothing changes anywhere.
#[test]
fn webdav_requests_stay_in_their_workspace() {
    let mut s = setup();
    let other = s.outside.join("other-ws");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("canary.txt"), SECRET).unwrap();
    s.outside_before = tree(&s.outside);
    let h = &s.host;
    h.create_workspace(
        "access.fs",
        "other",
        vec![("ROOT".into(), other.display().to_string())],
        &[],
    );
    let writer = h.add_user("writer", false);
    h.grant("files", "writer", "rw");
    let dav = webdav::Dav::basic(h, "writer", &webdav::app_password(h, &writer));
    let authority = dav.authority().to_owned();
    let long_segment = "a".repeat(300);
    let long_path = format!("{}/x", vec!["a".repeat(200); 25].join("/"));

    // Request paths: (method, path, status).
    let paths: Vec<(&str, String, u16)> = vec![
        ("GET", "/dav/files/../other/canary.txt".into(), 403),
        ("GET", "/dav/files/%2e%2e/other/canary.txt".into(), 403),
        (
            "GET",
            "/dav/files/%2E%2E/%2E%2E/outside/secret.txt".into(),
            400,
        ),
        ("PROPFIND", "/dav/files/../other/".into(), 403),
        ("PUT", "/dav/files/../other/new.txt".into(), 403),
        ("DELETE", "/dav/files/%2e%2e/other/canary.txt".into(), 403),
        ("GET", "/dav/../dav/other/canary.txt".into(), 403),
        ("GET", "/dav/files/..%2Fother%2Fcanary.txt".into(), 400),
        (
            "GET",
            "/dav/files/%2F..%2F..%2Foutside%2Fsecret.txt".into(),
            400,
        ),
        ("GET", "/dav/files/inside.txt%00".into(), 400),
        ("PUT", "/dav/files/a%00b".into(), 400),
        ("GET", "/dav/files/..\\..\\outside\\secret.txt".into(), 400),
        ("PUT", "/dav/files/sub\\x".into(), 400),
        ("PUT", format!("/dav/files/{long_segment}"), 400),
        ("PUT", format!("/dav/files/{long_path}"), 400),
        ("GET", "/dav/../../outside/secret.txt".into(), 400),
        // Out of /dav/ and back in under another name: not a WebDAV path at all.
        ("GET", "/dav/../davfiles/inside.txt".into(), 400),
        ("PUT", "/dav/../davfiles/new.txt".into(), 400),
        ("GET", "/shares/../dav/files/inside.txt".into(), 400),
        // The GET asks the driver's read, which refuses to follow the link (access.fs shows
        // it as a zero-byte file in listings).
        ("GET", "/dav/files/link-file".into(), 403),
        ("GET", "/dav/files/link-dir/secret.txt".into(), 403),
        ("PUT", "/dav/files/link-dir/new.txt".into(), 403),
    ];
    let mut failures = Vec::new();
    for (method, path, want) in &paths {
        restore_fixtures(&s);
        let a = dav.send(
            method,
            path,
            &[],
            if *method == "PUT" { &b"pwned"[..] } else { b"" },
        );
        let what = format!("{method} {path} -> {}", a.status);
        assert!(!contains(&a.body, SECRET), "ESCAPE: {what} read a secret");
        assert_outside_untouched(&s, &what);
        if a.status != *want {
            failures.push(format!("{what}, want {want}: {}", a.text().trim()));
        }
    }

    // Destinations of a COPY and a MOVE of inside.txt: (Destination, status).
    let destinations: Vec<(String, u16)> = vec![
        ("/dav/files/%2e%2e/%2e%2e/outside/x".into(), 502),
        ("/dav/files/../../outside/x".into(), 502),
        ("/dav/files/../other/x".into(), 502),
        ("/dav/files/%2e%2e/other/x".into(), 502),
        ("/dav/other/x".into(), 502),
        (format!("http://{authority}/dav/other/x"), 502),
        (format!("http://{authority}/dav/files/%2e%2e/other/x"), 502),
        ("http://evil.example/dav/files/x".into(), 502),
        (format!("http://127.0.0.1:{}/dav/files/x", free_port()), 502),
        ("/dav/".into(), 403),
        ("/dav".into(), 403),
        (format!("http://{authority}/dav/"), 403),
        ("/etc/passwd".into(), 502),
        ("/shares/other/x".into(), 502),
        ("/dav/../davfiles/x".into(), 502),
        ("/dav/../davother/x".into(), 502),
        ("/ui/workspaces/files".into(), 502),
    ];
    for method in ["COPY", "MOVE"] {
        for (destination, want) in &destinations {
            restore_fixtures(&s);
            let before = tree(&s.root);
            let a = dav.send(
                method,
                "/dav/files/inside.txt",
                &[("Destination", destination.as_str())],
                b"",
            );
            let what = format!("{method} to {destination} -> {}", a.status);
            assert_outside_untouched(&s, &what);
            if tree(&s.root) != before {
                failures.push(format!("{what}: refused, yet the workspace changed"));
            }
            if a.status != *want {
                failures.push(format!("{what}, want {want}: {}", a.text().trim()));
            }
        }
    }
    // A request without a Host header (HTTP/1.0) cannot prove a Destination on another
    // server is this one.
    restore_fixtures(&s);
    let auth = dav.authorization().expect("credentials");
    let a = dav.send_raw(
        &format!(
            "COPY /dav/files/inside.txt HTTP/1.0\r\nAuthorization: {}\r\nDestination: http://evil.example/dav/files/x\r\n\r\n",
            auth
        ),
        b"",
    );
    if a.status != 502 || s.root.join("x").exists() {
        failures.push(format!(
            "COPY without Host to another server -> {}: {}",
            a.status,
            a.text().trim()
        ));
    }
    // The same server named in full is fine.
    let a = dav.send(
        "COPY",
        "/dav/files/inside.txt",
        &[(
            "Destination",
            format!("http://{authority}/dav/files/copied.txt").as_str(),
        )],
        b"",
    );
    assert_eq!(a.status, 201, "a Destination on this server: {}", a.text());
    assert_eq!(std::fs::read(s.root.join("copied.txt")).unwrap(), b"inside");
    assert_outside_untouched(&s, "the WebDAV confinement cases");
    println!(
        "WebDAV confinement: {} request paths, {} Destinations × 2 methods, {} failures",
        paths.len(),
        destinations.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
