//! Reads: whole files, ranges, zero-byte files, and files larger than any buffer.

use plugin_api::testing::ctx;
use plugin_api::{ByteRange, Driver, ErrorKind};

use crate::support::{kind, Fixture};

#[test]
fn ranges_are_served_or_refused() {
    let fx = Fixture::new();
    fx.put("digits.txt", b"0123456789");
    /// (start, len) -> bytes, or None for InvalidRange
    type Case = ((u64, Option<u64>), Option<&'static [u8]>);
    let cases: [Case; 10] = [
        ((0, None), Some(b"0123456789")),
        ((0, Some(10)), Some(b"0123456789")),
        ((3, Some(4)), Some(b"3456")),
        ((8, Some(10)), Some(b"89")),
        ((9, None), Some(b"9")),
        ((5, Some(0)), Some(b"")),
        ((10, None), None),
        ((10, Some(0)), None),
        ((11, Some(1)), None),
        ((u64::MAX, None), None),
    ];
    for (range, want) in cases {
        match want {
            Some(bytes) => assert_eq!(
                fx.read("digits.txt", Some(range)).unwrap(),
                bytes,
                "{range:?}"
            ),
            None => assert_eq!(
                kind(fx.read("digits.txt", Some(range))),
                ErrorKind::InvalidRange
            ),
        }
    }
}

#[test]
fn the_served_range_is_reported() {
    let fx = Fixture::new();
    fx.put("digits.txt", b"0123456789");
    fx.put("empty", b"");
    let range = |start, len| Some(ByteRange { start, len });
    // (path, asked) -> served
    let cases = [
        ("digits.txt", None, None),
        ("digits.txt", range(2, None), range(2, Some(8))),
        ("digits.txt", range(8, Some(5)), range(8, Some(2))),
        ("empty", None, None),
        ("empty", range(0, None), None),
        ("empty", range(0, Some(0)), None),
    ];
    for (path, asked, served) in cases {
        let result = fx.driver.read(&ctx("alice"), path, asked).unwrap();
        assert_eq!(result.range, served, "{path} {asked:?}");
        assert_eq!(result.entry.path, path);
    }
}

#[test]
fn zero_byte_files() {
    let fx = Fixture::new();
    fx.put("empty.txt", b"");
    assert_eq!(fx.stat("empty.txt").unwrap().size, 0);
    assert_eq!(fx.read("empty.txt", None).unwrap(), b"");
    assert_eq!(fx.read("empty.txt", Some((0, None))).unwrap(), b"");
    assert_eq!(
        kind(fx.read("empty.txt", Some((1, None)))),
        ErrorKind::InvalidRange
    );
}

#[test]
fn large_files_stream_intact() {
    let fx = Fixture::new();
    let data: Vec<u8> = (0..(1 << 20) + 17).map(|i: u32| (i % 251) as u8).collect();
    fx.put("big.bin", &data);
    assert_eq!(fx.read("big.bin", None).unwrap(), data);
    let tail = fx.read("big.bin", Some((1 << 19, None))).unwrap();
    assert_eq!(tail, data[1 << 19..]);
}
