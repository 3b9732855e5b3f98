//! The one path normalizer of the host. Every path a client sends goes through [`normalize`]
//! before any driver sees it; drivers receive the canonical form documented on
//! `plugin_api::WsPath` and still confine themselves (a symlink can point anywhere).
//!
//! Rationale: `..` is refused rather than resolved, so no sequence of segments can ever
//! climb above the workspace root, whatever a driver does with it.

/// Why a client path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// A `..` segment.
    #[error("'..' is not allowed in paths")]
    ParentSegment,
    /// NUL, another control character, or a backslash.
    #[error("paths may not contain control characters or backslashes")]
    ForbiddenCharacter,
    /// A segment longer than [`MAX_SEGMENT`] bytes.
    #[error("a path segment is longer than {MAX_SEGMENT} bytes")]
    SegmentTooLong,
    /// A path longer than [`MAX_PATH`] bytes.
    #[error("the path is longer than {MAX_PATH} bytes")]
    PathTooLong,
    /// A name that must be a single segment holds a `/` or is empty.
    #[error("a file name must be a single, non-empty segment")]
    NotAName,
}

/// Longest segment accepted, in bytes (the common file-system limit).
pub(crate) const MAX_SEGMENT: usize = 255;
/// Longest path accepted, in bytes.
pub(crate) const MAX_PATH: usize = 4096;

/// Normalizes a client path: `/a//b/./c/` → `a/b/c`; the root is `""`.
pub(crate) fn normalize(raw: &str) -> Result<String, PathError> {
    if raw.len() > MAX_PATH {
        return Err(PathError::PathTooLong);
    }
    let mut out: Vec<&str> = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return Err(PathError::ParentSegment),
            s => {
                check_segment(s)?;
                out.push(s);
            }
        }
    }
    Ok(out.join("/"))
}

/// Whether `path` is already in normal form (`normalize(path) == Ok(path)`), without
/// allocating: checked for every entry a driver answers, 10,000 times per large listing.
pub(crate) fn is_normal(path: &str) -> bool {
    path.len() <= MAX_PATH
        && (path.is_empty()
            || path
                .split('/')
                .all(|s| !matches!(s, "" | "." | "..") && check_segment(s).is_ok()))
}

/// Checks a single file name (for `rename`'s new name, `mkdir`'s and `upload`'s name).
pub(crate) fn name(raw: &str) -> Result<&str, PathError> {
    match raw {
        "" | "." | ".." => Err(PathError::NotAName),
        s if s.contains('/') => Err(PathError::NotAName),
        s => check_segment(s).map(|()| s),
    }
}

fn check_segment(s: &str) -> Result<(), PathError> {
    if s.len() > MAX_SEGMENT {
        return Err(PathError::SegmentTooLong);
    }
    if s.chars().any(|c| c.is_control() || c == '\\') {
        return Err(PathError::ForbiddenCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        for (raw, want) in [
            ("", ""),
            ("/", ""),
            ("/a", "a"),
            ("a/b", "a/b"),
            ("//a///b//", "a/b"),
            ("./a/./b/.", "a/b"),
            ("/with space/é.txt", "with space/é.txt"),
            ("%2e%2e", "%2e%2e"), // already decoded once: a literal, harmless name
            ("...", "..."),
        ] {
            assert_eq!(normalize(raw).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn is_normal_agrees_with_normalize() {
        let long_segment = "a".repeat(256);
        let long_path = "a/".repeat(2100);
        let samples = [
            "",
            "/",
            "a",
            "/a",
            "a/",
            "a/b",
            "a//b",
            "./a",
            "a/.",
            "..",
            "a/../b",
            "...",
            "with space/é.txt",
            "a\0b",
            "a\nb",
            "a\\b",
            "a\u{7f}",
            &long_segment,
            &long_path,
        ];
        for raw in samples {
            let expected = normalize(raw).as_deref() == Ok(raw);
            assert_eq!(is_normal(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn refusals() {
        for (raw, err) in [
            ("..", PathError::ParentSegment),
            ("/a/../b", PathError::ParentSegment),
            ("a/..", PathError::ParentSegment),
            ("../../etc/passwd", PathError::ParentSegment),
            ("a\0b", PathError::ForbiddenCharacter),
            ("a\nb", PathError::ForbiddenCharacter),
            ("..\\..\\x", PathError::ForbiddenCharacter),
            ("a\u{7f}", PathError::ForbiddenCharacter),
        ] {
            assert_eq!(normalize(raw), Err(err), "{raw:?}");
        }
        assert_eq!(normalize(&"a".repeat(256)), Err(PathError::SegmentTooLong));
        assert_eq!(normalize(&"a/".repeat(2100)), Err(PathError::PathTooLong));
    }

    #[test]
    fn names() {
        assert_eq!(name("x.txt"), Ok("x.txt"));
        for bad in ["", ".", "..", "a/b", "/"] {
            assert_eq!(name(bad), Err(PathError::NotAName), "{bad:?}");
        }
        assert_eq!(name("a\0"), Err(PathError::ForbiddenCharacter));
    }
}
