//! Listings: order, pagination, full paths, hidden upload files, and names beyond ASCII.

use plugin_api::testing::ctx;
use plugin_api::{Driver, ErrorKind};

use crate::support::{kind, Fixture};

#[test]
fn pages_cover_every_entry_once_in_order() {
    let fx = Fixture::new();
    let mut names: Vec<String> = (0..25).map(|i| format!("file-{i:02}.txt")).collect();
    for name in &names {
        fx.put(&format!("many/{name}"), name.as_bytes());
    }
    names.sort();

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = fx.page("many", cursor.as_deref(), 10).unwrap();
        sizes.push(page.entries.len());
        for entry in &page.entries {
            assert_eq!(entry.path, format!("many/{}", entry.name()));
        }
        seen.extend(page.entries.iter().map(|e| e.name().to_owned()));
        match page.next_cursor {
            Some(next) => {
                assert_eq!(
                    Some(&next),
                    seen.last(),
                    "the cursor is the last name returned"
                );
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(seen, names);
}

#[test]
fn limits_and_cursors() {
    let fx = Fixture::new();
    for name in ["a", "b", "c", "d"] {
        fx.put(name, b"");
    }
    /// (cursor, limit) -> (names, next cursor)
    type Case = (
        Option<&'static str>,
        u32,
        &'static [&'static str],
        Option<&'static str>,
    );
    let cases: [Case; 6] = [
        (None, 0, &["a", "b", "c", "d"], None),
        (None, 4, &["a", "b", "c", "d"], None),
        (None, 3, &["a", "b", "c"], Some("c")),
        (Some("b"), 1, &["c"], Some("c")),
        (Some("bb"), 10, &["c", "d"], None), // the cursor need not exist any more
        (Some("d"), 10, &[], None),
    ];
    for (cursor, limit, want, next) in cases {
        let page = fx.page("", cursor, limit).unwrap();
        let got: Vec<&str> = page.entries.iter().map(|e| e.name()).collect();
        assert_eq!(got, want, "{cursor:?} {limit}");
        assert_eq!(page.next_cursor.as_deref(), next, "{cursor:?} {limit}");
    }
}

#[test]
fn entries_are_sorted_by_bytes_and_typed() {
    let fx = Fixture::new();
    for name in ["b", "B", "a b", "é", "Z", "_"] {
        fx.put(name, b"12");
    }
    fx.folder("dir");
    assert_eq!(fx.names(""), ["B", "Z", "_", "a b", "b", "dir", "é"]);
    let entries = fx.list("").unwrap();
    let dir = entries.iter().find(|e| e.name() == "dir").unwrap();
    assert!(dir.is_dir && dir.size == 0);
    assert!(entries.iter().filter(|e| !e.is_dir).all(|e| e.size == 2));
}

#[test]
fn upload_temporaries_are_hidden_and_reserved() {
    let fx = Fixture::new();
    fx.put("visible.txt", b"");
    fx.put(".wshost-upload-0123456789abcdef.part", b"partial");
    assert_eq!(fx.names(""), ["visible.txt"]);
    let reserved = ".wshost-upload-0123456789abcdef.part";
    assert_eq!(kind(fx.stat(reserved)), ErrorKind::InvalidInput);
    assert_eq!(
        kind(fx.write(reserved, b"x", true)),
        ErrorKind::InvalidInput
    );
}

#[test]
fn unicode_and_space_names_work_everywhere() {
    let fx = Fixture::new();
    let c = ctx("alice");
    fx.driver.mkdir(&c, "été 2024").unwrap();
    let path = "été 2024/naïve file ☃.txt";
    let entry = fx.write(path, "ça marche".as_bytes(), false).unwrap();
    assert_eq!(
        (entry.path.as_str(), entry.name()),
        (path, "naïve file ☃.txt")
    );
    assert_eq!(fx.names("été 2024"), ["naïve file ☃.txt"]);
    assert_eq!(fx.read(path, None).unwrap(), "ça marche".as_bytes());
    fx.driver.rename(&c, path, "日本語 名前.md").unwrap();
    fx.driver
        .copy(&c, "日本語 名前.md", "été 2024/コピー.md")
        .unwrap();
    assert_eq!(
        fx.disk("été 2024/コピー.md").unwrap(),
        "ça marche".as_bytes()
    );
    assert_eq!(fx.names(""), ["été 2024", "日本語 名前.md"]);
}

#[test]
fn a_large_page_is_described_in_order_like_a_small_one() {
    // Large enough for the lister's threads (PARALLEL_FROM), with a folder, a symlink inside
    // ROOT and one escaping it spread over the parts.
    let fx = Fixture::new();
    for i in 0..3000 {
        fx.put(&format!("big/f{i:05}"), &vec![b'x'; i % 7]);
    }
    fx.folder("big/f01500-dir");
    fx.link("big/f02999-in", "f00001");
    fx.link("big/f00750-out", fx.outside());
    let page = fx.page("big", None, 10_000).unwrap();
    assert_eq!(page.next_cursor, None);
    let mut small_pages = Vec::new();
    let mut cursor = None;
    loop {
        let next = fx.page("big", cursor.as_deref(), 1000).unwrap();
        small_pages.extend(next.entries);
        match next.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        page.entries, small_pages,
        "the same entries as in pages of 1,000"
    );
    let names: Vec<&str> = page.entries.iter().map(|e| e.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(names.contains(&"f01500-dir") && names.contains(&"f02999-in"));
    let f6 = page.entries.iter().find(|e| e.name() == "f00006").unwrap();
    assert_eq!((f6.size, f6.is_dir), (6, false));
}
