//! access.fs never reaches outside its ROOT: hostile paths are refused by the host's
//! normalizer, and symlinks pointing outside are refused by the driver's capability-based I/O.

use std::os::unix::fs::symlink;

use wshost_tests::*;

const SECRET_TEXT: &str = "TOP-SECRET-CONTENT";
const SECRET: &[u8] = SECRET_TEXT.as_bytes();

struct Setup {
    host: Host,
    outside: std::path::PathBuf,
}

fn setup() -> Setup {
    let host = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    host.post_bytes(
        "get_action=upload&ws=files&name=inside.txt",
        b"inside".to_vec(),
    );
    let outside = host.dir.path().join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    let root = host.dir.path().join("root");
    symlink(&outside, root.join("link-dir")).unwrap();
    symlink(outside.join("secret.txt"), root.join("link-file")).unwrap();
    symlink("../outside/secret.txt", root.join("rel-link")).unwrap();
    Setup { host, outside }
}

fn outside_untouched(s: &Setup) {
    assert_eq!(std::fs::read(s.outside.join("secret.txt")).unwrap(), SECRET);
    let mut names: Vec<_> = std::fs::read_dir(&s.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["secret.txt", "sub"], "nothing created outside ROOT");
    assert_eq!(std::fs::read_dir(s.outside.join("sub")).unwrap().count(), 0);
}

#[test]
fn hostile_paths_are_refused_by_every_action() {
    let s = setup();
    let h = &s.host;
    let hostile = [
        "..",
        "../outside/secret.txt",
        "/../outside/secret.txt",
        "a/../../outside/secret.txt",
        "inside.txt\u{0}.png",
        "..\\outside\\secret.txt",
        "/etc/passwd",
        "//etc/passwd",
    ];
    for raw in hostile {
        let p = url_encode(raw);
        for (method, query) in [
            ("GET", format!("get_action=stat&ws=files&file={p}")),
            ("GET", format!("get_action=download&ws=files&file={p}")),
            ("GET", format!("get_action=ls&ws=files&dir={p}")),
            ("POST", format!("get_action=upload&ws=files&file={p}")),
            ("POST", format!("get_action=delete&ws=files&file={p}")),
            (
                "POST",
                format!("get_action=mkdir&ws=files&dir={p}&dirname=x"),
            ),
            (
                "POST",
                format!("get_action=rename&ws=files&file={p}&filename_new=x"),
            ),
            (
                "POST",
                format!("get_action=move&ws=files&file=inside.txt&dest={p}"),
            ),
            ("POST", format!("get_action=copy&ws=files&file={p}&dest=/")),
        ] {
            let r = match method {
                "GET" => h.client.get(h.action_url(&query)),
                _ => h.client.post(h.action_url(&query)).body("pwned"),
            }
            .send()
            .unwrap();
            let status = r.status().as_u16();
            let body = r.text().unwrap();
            assert!(
                (400..500).contains(&status) && !body.contains(SECRET_TEXT),
                "{method} {query} -> {status} {body}"
            );
        }
    }
    outside_untouched(&s);
    assert_eq!(
        std::fs::read(h.dir.path().join("root/inside.txt")).unwrap(),
        b"inside"
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
        assert!(h.dir.path().join("root").join(literal).is_file());
    }
    let (st, v) = h.get(&format!(
        "get_action=stat&ws=files&file={}",
        url_encode("%2e%2e/outside/secret.txt")
    ));
    assert_eq!(st, 404, "{v}");
    outside_untouched(&s);
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
        ("POST", "get_action=upload&ws=files&file=link-dir/new.txt"),
        (
            "POST",
            "get_action=upload&ws=files&file=link-file&overwrite=true",
        ),
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
            status >= 400 || query.contains("upload&ws=files&file=link-file"),
            "{method} {query} -> {status} {body}"
        );
        outside_untouched(&s);
    }
    // The listing of the root does not break on escaping links, and shows no outside content.
    let (st, v) = h.get("get_action=ls&ws=files");
    assert_eq!(st, 200, "{v}");
    assert!(!v.to_string().contains("secret.txt"), "{v}");
    // Deleting a link removes the link itself, never its target.
    let (st, v) = h.post("get_action=delete&ws=files&file=link-dir");
    assert_eq!(st, 200, "{v}");
    outside_untouched(&s);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
