//! The batch forms of the standard actions (`nodes[]`) and the small-file actions (`mkfile`,
//! `get_content`, `put_content`) on access.fs through HTTP, against the real binary: with 1,
//! 2 and many nodes; with a mix of allowed, missing, hostile and escaping nodes, where
//! nothing on disk changes unless every node passed its checks; and for a read-only user.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use wshost_tests::*;

fn host() -> Host {
    Host::start(HostSetup::new(
        format!("{}[limits]\nmax_batch = 100\n", fs_config()),
        vec![manifest("access.fs.toml")],
    ))
}

/// Every file and folder under `dir`: relative path → content (or "dir", or a link's target).
fn disk(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for item in std::fs::read_dir(dir).unwrap().flatten() {
            let path = item.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                out.insert(
                    rel,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(base, &path, out);
            } else {
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `nodes[]=a&nodes[]=b…`, each value percent-encoded.
fn nodes(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "nodes[]={}",
                url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Writes `files` (path → content) under `root`.
fn plant(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// The `node` of each result, with its `ok` and, when refused, its error code.
fn outcomes(v: &Value) -> Vec<(String, bool, String)> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {v}"))
        .iter()
        .map(|r| {
            (
                r["node"].as_str().unwrap().to_owned(),
                r["ok"].as_bool().unwrap(),
                r["error"]["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_batch_action_with_one_two_and_many_nodes() {
    let h = host();
    let root = h.dir.path().join("root");
    let many: Vec<String> = (0..40).map(|i| format!("many/f{i:02}.txt")).collect();
    let mut files = vec![("a.txt", "A"), ("b.txt", "BB"), ("dir/c.txt", "CCC")];
    files.extend(many.iter().map(|p| (p.as_str(), "x")));
    plant(&root, &files);
    std::fs::create_dir_all(root.join("target")).unwrap();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();

    for set in [&["a.txt"][..], &["a.txt", "dir"], &many] {
        let (s, v) = h.get(&format!("get_action=stat&ws=files&{}", nodes(set)));
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["done"].as_u64(), v["failed"].as_u64()),
            (Some(set.len() as u64), Some(0))
        );
        let stated: Vec<_> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["entry"]["path"].as_str().unwrap())
            .collect();
        assert_eq!(stated, set, "results come in the order sent");
    }
    let (_, v) = h.get(&format!(
        "get_action=stat&ws=files&{}",
        nodes(&["a.txt", "dir"])
    ));
    assert_eq!(v["results"][1]["entry"]["type"], "dir", "{v}");

    // copy: one, then two, then many into target/.
    let (s, v) = h.post(&format!(
        "get_action=copy&ws=files&dest=target&{}",
        nodes(&["a.txt"])
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(1)), "{v}");
    assert_eq!(v["results"][0]["entry"]["path"], "target/a.txt");
    let (s, v) = h.post(&format!(
        "get_action=copy&ws=files&dest=target&{}",
        nodes(&["b.txt", "dir"])
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(2)), "{v}");
    assert_eq!(
        std::fs::read_to_string(root.join("target/dir/c.txt")).unwrap(),
        "CCC"
    );
    let (s, v) = h.post(&format!(
        "get_action=copy&ws=files&dest=target&{}",
        nodes(&many)
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(40)), "{v}");
    assert!(root.join("target/f39.txt").is_file() && root.join("many/f39.txt").is_file());

    // move: the copies back out into moved/.
    std::fs::create_dir_all(root.join("moved")).unwrap();
    let (s, v) = h.post(&format!(
        "get_action=move&ws=files&dest=moved&{}",
        nodes(&["target/a.txt"])
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(1)), "{v}");
    let (s, v) = h.post(&format!(
        "get_action=move&ws=files&dest=moved&{}",
        nodes(&["target/b.txt", "target/dir"])
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(2)), "{v}");
    let moving: Vec<String> = (0..40).map(|i| format!("target/f{i:02}.txt")).collect();
    let moving: Vec<&str> = moving.iter().map(String::as_str).collect();
    let (s, v) = h.post(&format!(
        "get_action=move&ws=files&dest=moved&{}",
        nodes(&moving)
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(40)), "{v}");
    assert_eq!(std::fs::read_dir(root.join("target")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(root.join("moved")).unwrap().count(), 43);

    // delete: one, two, many.
    let (s, v) = h.post(&format!(
        "get_action=delete&ws=files&{}",
        nodes(&["moved/a.txt"])
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(1)), "{v}");
    assert!(v["results"][0].get("entry").is_none(), "{v}");
    let (s, v) = h.post(&format!(
        "get_action=delete&ws=files&{}",
        nodes(&["moved/b.txt", "moved/dir"])
    ));
    assert_eq!((s, v["done"].as_u64()), (200, Some(2)), "{v}");
    let (s, v) = h.post(&format!("get_action=delete&ws=files&{}", nodes(&many)));
    assert_eq!((s, v["done"].as_u64()), (200, Some(40)), "{v}");
    assert_eq!(std::fs::read_dir(root.join("many")).unwrap().count(), 0);

    // The single-path forms keep working, and `node` is `file`'s alias.
    let (s, v) = h.get("get_action=stat&ws=files&node=a.txt");
    assert_eq!((s, v["size"].as_u64()), (200, Some(1)), "{v}");
    let (s, v) = h.post("get_action=delete&ws=files&file=b.txt");
    assert_eq!((s, v["deleted"].as_str()), (200, Some("b.txt")), "{v}");
}

#[test]
fn a_batch_with_a_refused_node_touches_nothing() {
    let h = host();
    let root = h.dir.path().join("root");
    let outside = h.dir.path().join("outside");
    plant(&root, &[("a.txt", "A"), ("b.txt", "B"), ("dir/c.txt", "C")]);
    plant(&outside, &[("secret.txt", "SECRET")]);
    symlink(&outside, root.join("escape")).unwrap();
    let before = (disk(&root), disk(&outside));

    // Hostile, missing and escaping nodes beside good ones: refused whole, each node named.
    let cases: &[(&[&str], &str)] = &[
        // A symlink that leads out is refused by the driver (where confinement holds).
        (&["a.txt", "escape/x"], "permission_denied"),
        (&["a.txt", "../outside/secret.txt"], "invalid_path"),
        (&["a.txt", "dir/../../outside/secret.txt"], "invalid_path"),
        (&["a.txt", "a\0b"], "invalid_path"),
        (&["a.txt", "missing.txt"], "not_found"),
        (&["a.txt", "a.txt"], "invalid_parameter"),
        (&["dir", "dir/c.txt"], "invalid_parameter"),
        (&["a.txt", "/"], "invalid_parameter"),
    ];
    for action in ["delete", "move", "copy"] {
        for (set, refusal) in cases {
            let (s, v) = h.post(&format!(
                "get_action={action}&ws=files&dest=dir&{}",
                nodes(set)
            ));
            assert_eq!(
                (s, code(&v)),
                (400, "batch_refused"),
                "{action} {set:?}: {v}"
            );
            let results = outcomes(&v["error"]);
            assert_eq!(results.len(), set.len(), "{v}");
            assert!(
                results[0].1 || results[0].0 == "dir",
                "{action} {set:?}: the good node passed: {v}"
            );
            let bad = &results[1];
            assert!(!bad.1, "{action} {set:?}: the bad node is refused: {v}");
            assert_eq!(bad.2, *refusal, "{action} {set:?}: {v}");
            assert_eq!(
                (disk(&root), disk(&outside)),
                before,
                "{action} {set:?} changed the disk"
            );
        }
    }
    // A destination inside a moved folder, or a file as destination.
    let (s, v) = h.post(&format!(
        "get_action=move&ws=files&dest=dir%2Fsub&{}",
        nodes(&["a.txt", "dir"])
    ));
    assert_eq!((s, code(&v)), (400, "batch_refused"), "{v}");
    let (s, v) = h.post(&format!(
        "get_action=copy&ws=files&dest=a.txt&{}",
        nodes(&["b.txt"])
    ));
    assert_eq!((s, code(&v)), (400, "invalid_parameter"), "{v}");
    // Over limits.max_batch (100 in this host).
    let over: Vec<String> = (0..101).map(|i| format!("n{i}")).collect();
    let over: Vec<&str> = over.iter().map(String::as_str).collect();
    let (s, v) = h.post(&format!("get_action=delete&ws=files&{}", nodes(&over)));
    assert_eq!((s, code(&v)), (400, "invalid_parameter"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 100"),
        "{v}"
    );
    assert_eq!((disk(&root), disk(&outside)), before);

    // A stat batch answers each node: done or its own error (it changes nothing).
    let (s, v) = h.get(&format!(
        "get_action=stat&ws=files&{}",
        nodes(&["a.txt", "missing.txt"])
    ));
    assert_eq!(s, 207, "{v}");
    assert_eq!(
        outcomes(&v)[1],
        ("missing.txt".into(), false, "not_found".into()),
        "{v}"
    );
    assert_eq!(
        (v["done"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1))
    );

    // A read-only user may stat a batch, and changes nothing.
    h.add_user("reader", false);
    h.grant("files", "reader", "r");
    let reader = h.login("reader", "reader-password");
    let (s, _) = json_of(
        reader
            .get(h.action_url(&format!(
                "get_action=stat&ws=files&{}",
                nodes(&["a.txt", "b.txt"])
            )))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    for action in ["delete", "move", "copy"] {
        let url = h.action_url(&format!(
            "get_action={action}&ws=files&dest=dir&{}",
            nodes(&["a.txt", "b.txt"])
        ));
        let (s, v) = json_of(reader.post(url).send().unwrap());
        assert_eq!((s, code(&v)), (403, "forbidden"), "{action}: {v}");
    }
    assert_eq!((disk(&root), disk(&outside)), before);

    // Deleting the symlink itself removes the link, inside the root, never what it leads to.
    let (s, v) = h.post(&format!(
        "get_action=delete&ws=files&{}",
        nodes(&["escape"])
    ));
    assert_eq!(s, 200, "{v}");
    assert_eq!(disk(&outside), before.1);
}

#[test]
fn mkfile_get_content_and_put_content() {
    let h = host();
    let root = h.dir.path().join("root");
    std::fs::create_dir_all(root.join("notes")).unwrap();

    let (s, v) = h.post("get_action=mkfile&ws=files&node=notes%2Fa.txt");
    assert_eq!((s, v["size"].as_u64()), (201, Some(0)), "{v}");
    let (s, v) = h.post("get_action=mkfile&ws=files&dir=notes&filename=b.txt");
    assert_eq!((s, v["path"].as_str()), (201, Some("notes/b.txt")), "{v}");
    let (s, v) = h.post("get_action=mkfile&ws=files&node=notes%2Fa.txt");
    assert_eq!(
        (s, code(&v)),
        (409, "already_exists"),
        "an existing file is kept: {v}"
    );

    // The content as the body, then as Pydio's form field.
    let (s, v) = h.post_bytes(
        "get_action=put_content&ws=files&file=notes%2Fa.txt",
        "héllo\n".into(),
    );
    assert_eq!((s, v["size"].as_u64()), (200, Some(7)), "{v}");
    let r = h
        .client
        .post(h.action_url("get_action=put_content&ws=files"))
        .form(&[("file", "notes/b.txt"), ("content", "from a form")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        std::fs::read_to_string(root.join("notes/b.txt")).unwrap(),
        "from a form"
    );

    let r = h
        .client
        .get(h.action_url("get_action=get_content&ws=files&file=notes%2Fa.txt"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(r.headers().get("content-disposition").is_none());
    assert_eq!(r.text().unwrap(), "héllo\n");

    // Bounded by limits.max_content (1 MiB by default), both ways.
    std::fs::write(root.join("big.txt"), vec![b'x'; (1 << 20) + 1]).unwrap();
    let (s, v) = h.get("get_action=get_content&ws=files&file=big.txt");
    assert_eq!((s, code(&v)), (413, "too_large"), "{v}");
    let (s, v) = h.post_bytes(
        "get_action=put_content&ws=files&file=notes%2Fa.txt",
        vec![b'y'; (1 << 20) + 1],
    );
    assert_eq!((s, code(&v)), (413, "too_large"), "{v}");
    assert_eq!(
        std::fs::read_to_string(root.join("notes/a.txt")).unwrap(),
        "héllo\n"
    );
}
