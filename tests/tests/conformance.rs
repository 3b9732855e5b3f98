//! The conformance suite as its users meet it: `wshost plugins test` on the real access.fs
//! library, and the suite run in-process on drivers with planted bugs, each of which must be
//! caught by the case that points at it — and by no other.

use std::io::Cursor;
use std::process::Command;

use access_example::ExamplePlugin;
use plugin_api::foreign::ForeignDriver;
use plugin_api::testing::conformance::{self, Options, Status};
use plugin_api::testing::{load, MemoryHost};
use plugin_api::{
    join, ByteRange, ByteSource, CallContext, Capabilities, Driver, Entry, ErrorKind, ListPage,
    PageRequest, PluginError, ReadResult, Result, WorkspaceConfig, WriteOptions, WsPath,
};
use wshost_tests::*;

/// `wshost ARGS`: whether it succeeded, and what it printed (stdout then stderr).
fn wshost(args: &[&str]) -> (bool, String) {
    let out = Command::new(wshost_exe()).args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The real libaccess_fs.so and its manifest, as `plugins test` arguments.
fn access_fs() -> [String; 3] {
    [
        build().join("libaccess_fs.so").display().to_string(),
        "--manifest".into(),
        root()
            .join("manifests/access.fs.toml")
            .display()
            .to_string(),
    ]
}

#[test]
fn access_fs_passes_the_suite_through_wshost_plugins_test() {
    let dir = tempfile::tempdir().unwrap();
    let root_param = format!("ROOT={}", dir.path().join("ws").display());
    let [lib, flag, manifest] = access_fs();
    let (ok, out) = wshost(&[
        "plugins",
        "test",
        &lib,
        &flag,
        &manifest,
        "--param",
        &root_param,
        "--param",
        "CREATE=true",
    ]);
    assert!(ok, "{out}");
    for line in [
        "conformance of access.fs",
        "PASS list.pages\n",
        "PASS read.ranges\n",
        "PASS write.large_streamed\n",
        "PASS copy.folder\n",
        "40 passed, 0 failed, 0 skipped",
    ] {
        assert!(out.contains(line), "`{line}` missing from:\n{out}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path().join("ws")).unwrap().collect();
    assert!(left.is_empty(), "the scratch folder is removed: {left:?}");
}

#[test]
fn plugins_test_explains_what_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let root_param = format!("ROOT={}", dir.path().display());
    let [lib, flag, manifest] = access_fs();
    let faulty = root().join("tests/manifests/access.faulty.toml");
    let faulty = faulty.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--param", "ROOT=relative", "--param", "COLOUR=blue"],
            &[
                "the parameters do not satisfy the manifest",
                "ROOT: expected a value matching the pattern `^/`",
                "COLOUR: unknown parameter for access.fs",
            ],
        ),
        (&[], &["ROOT: required"]),
        (&["--param", "ROOT"], &["--param expects NAME=VALUE"]),
        (
            &["--param", &root_param, "--case", "teleport"],
            &["--case teleport matches no case", "read.ranges"],
        ),
        (
            &["--param", &root_param, "--manifest", faulty],
            &[
                "libaccess_fs.so",
                "plugin id 'access.fs'",
                "declares 'access.faulty'",
            ],
        ),
        (
            &["--param", &format!("ROOT={}/missing", dir.path().display())],
            &["cannot open a workspace with these parameters", "not_found"],
        ),
    ];
    for (extra, fragments) in cases {
        let mut args = vec!["plugins", "test", &lib];
        if !extra.contains(&"--manifest") {
            args.extend([flag.as_str(), manifest.as_str()]);
        }
        args.extend(extra.iter().copied());
        let (ok, out) = wshost(&args);
        assert!(!ok, "{extra:?} succeeded:\n{out}");
        for fragment in *fragments {
            assert!(
                out.contains(fragment),
                "{extra:?}: `{fragment}` missing from:\n{out}"
            );
        }
    }
    let (ok, out) = wshost(&[
        "plugins",
        "test",
        &lib,
        &flag,
        &manifest,
        "--param",
        &root_param,
        "--case",
        "read.",
        "--case",
        "stat.missing",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("7 passed, 0 failed, 0 skipped"),
        "only the selected cases run:\n{out}"
    );
    for args in [["plugins", "test", "--help"], ["plugins", "new", "--help"]] {
        let (ok, out) = wshost(&args);
        assert!(
            ok && out.contains("Usage") && out.contains("Example"),
            "{args:?}: {out}"
        );
    }
}

/// A bug planted in an otherwise conforming driver.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bug {
    /// Ranged reads serve one byte more than asked.
    RangeOneTooLong,
    /// A range starting at the end of the file reads as empty instead of `invalid_range`.
    PastEndReadsEmpty,
    /// `stat` of a missing path answers `internal` instead of `not_found`.
    StatMissingIsInternal,
    /// `mkdir` of an existing folder answers `conflict` instead of `already_exists`.
    MkdirExistsIsConflict,
    /// `delete` of a missing path answers `internal` instead of `not_found`.
    DeleteMissingIsInternal,
    /// A write without overwrite replaces an existing file.
    OverwriteIgnored,
    /// Every page after the first starts with the previous page's last entry again.
    PagesRepeatAnEntry,
    /// Copying a folder makes an empty folder.
    ShallowFolderCopy,
}

/// The in-memory access.example driver (reached through the ABI) with one bug planted, and
/// the capabilities it claims.
struct Planted {
    inner: ForeignDriver,
    bug: Option<Bug>,
    capabilities: Capabilities,
}

impl Planted {
    fn new(bug: Option<Bug>, capabilities: Capabilities) -> Self {
        let plugin = load::<ExamplePlugin>(MemoryHost::new("http://localhost")).unwrap();
        let inner = plugin.open(&WorkspaceConfig::default()).unwrap();
        Planted {
            inner,
            bug,
            capabilities,
        }
    }

    fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }
}

/// `result` with an error of kind `from` turned into kind `to`.
fn rekind<T>(result: Result<T>, from: ErrorKind, to: ErrorKind) -> Result<T> {
    result.map_err(|e| match e.kind {
        kind if kind == from => PluginError::new(to, e.message),
        _ => e,
    })
}

impl Driver for Planted {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let result = self.inner.stat(ctx, path);
        match self.has(Bug::StatMissingIsInternal) {
            true => rekind(result, ErrorKind::NotFound, ErrorKind::Internal),
            false => result,
        }
    }

    fn list(&self, ctx: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        match (&page.cursor, self.has(Bug::PagesRepeatAnEntry)) {
            (Some(last), true) => {
                let again = self.inner.stat(ctx, &join(path, last))?;
                let shorter = PageRequest {
                    limit: page.limit - 1,
                    ..page.clone()
                };
                let mut listed = self.inner.list(ctx, path, shorter)?;
                listed.entries.insert(0, again);
                Ok(listed)
            }
            _ => self.inner.list(ctx, path, page),
        }
    }

    fn read(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        range: Option<ByteRange>,
    ) -> Result<ReadResult> {
        let range = match (range, self.has(Bug::RangeOneTooLong)) {
            (
                Some(ByteRange {
                    start,
                    len: Some(len),
                }),
                true,
            ) => Some(ByteRange {
                start,
                len: Some(len + 1),
            }),
            (range, _) => range,
        };
        match self.inner.read(ctx, path, range) {
            Err(e) if e.kind == ErrorKind::InvalidRange && self.has(Bug::PastEndReadsEmpty) => {
                Ok(ReadResult {
                    entry: self.inner.stat(ctx, path)?,
                    range: None,
                    content: Box::new(Cursor::new(Vec::new())),
                })
            }
            other => other,
        }
    }

    fn write(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        let overwrite = options.overwrite || self.has(Bug::OverwriteIgnored);
        self.inner.write(
            ctx,
            path,
            body,
            WriteOptions {
                overwrite,
                ..options
            },
        )
    }

    fn mkdir(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let result = self.inner.mkdir(ctx, path);
        match self.has(Bug::MkdirExistsIsConflict) {
            true => rekind(result, ErrorKind::AlreadyExists, ErrorKind::Conflict),
            false => result,
        }
    }

    fn delete(&self, ctx: &CallContext, path: &WsPath) -> Result<()> {
        let result = self.inner.delete(ctx, path);
        match self.has(Bug::DeleteMissingIsInternal) {
            true => rekind(result, ErrorKind::NotFound, ErrorKind::Internal),
            false => result,
        }
    }

    fn rename(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.inner.rename(ctx, from, to)
    }

    fn copy(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        let folder = self.inner.stat(ctx, from).is_ok_and(|e| e.is_dir);
        match folder && self.has(Bug::ShallowFolderCopy) {
            true => self.inner.mkdir(ctx, to),
            false => self.inner.copy(ctx, from, to),
        }
    }

    fn verify(&self, ctx: &CallContext) -> Result<String> {
        self.inner.verify(ctx)
    }
}

/// Runs the suite on `driver`, with a smaller large write to keep the runs quick.
fn report(driver: &Planted) -> conformance::Report {
    let options = Options {
        large_size: 1 << 20,
        ..Options::default()
    };
    conformance::run(driver, &options)
}

#[test]
fn each_planted_bug_fails_the_cases_that_point_at_it() {
    use Bug::*;
    // The bug, every case it must fail (no more), and part of the first one's message.
    let cases: &[(Bug, &[&str], &str)] = &[
        (
            RangeOneTooLong,
            &["read.ranges"],
            "read of range 0..10 returned 11 bytes, expected 10",
        ),
        (
            PastEndReadsEmpty,
            &["read.past_end"],
            "of a 100-byte file succeeded, expected invalid_range",
        ),
        (
            MkdirExistsIsConflict,
            &["mkdir.exists"],
            "mkdir of an existing folder returned kind conflict",
        ),
        (
            DeleteMissingIsInternal,
            &["delete.missing"],
            "delete of missing path returned kind internal",
        ),
        (
            OverwriteIgnored,
            &["write.no_overwrite"],
            "succeeded, expected already_exists",
        ),
        (PagesRepeatAnEntry, &["list.pages"], "a second time"),
        (
            ShallowFolderCopy,
            &["copy.folder"],
            "read of dst/x.txt failed: not_found",
        ),
        // Absence is checked with stat, so every case that expects something gone fails too.
        (
            StatMissingIsInternal,
            &[
                "stat.missing",
                "delete.file",
                "delete.folder",
                "rename.file",
                "rename.into_folder",
                "rename.folder",
                "rename.missing_source",
                "copy.missing_source",
            ],
            "(a missing path) returned kind internal",
        ),
    ];
    for (bug, failing, message) in cases {
        let report = report(&Planted::new(Some(*bug), Capabilities::ALL));
        assert_eq!(report.names(Status::Fail), *failing, "{bug:?}:\n{report}");
        let why = &report.result(failing[0]).unwrap().why;
        assert!(
            why.contains(message),
            "{bug:?}: `{message}` missing from `{why}`"
        );
        assert!(
            report
                .to_string()
                .contains(&format!("FAIL {} — ", failing[0])),
            "{report}"
        );
    }
    let healthy = report(&Planted::new(None, Capabilities::ALL));
    assert!(
        healthy.passed() && healthy.count(Status::Skip) == 0,
        "{healthy}"
    );
}

#[test]
fn a_driver_is_tested_on_what_it_declares_and_a_read_only_one_creates_nothing() {
    let report = report(&Planted::new(
        Some(Bug::ShallowFolderCopy),
        Capabilities::READ_ONLY,
    ));
    assert!(report.passed(), "{report}");
    assert_eq!(
        report.names(Status::Pass),
        [
            "list.base",
            "list.missing",
            "stat.base",
            "stat.missing",
            "read.missing",
            "verify.answers"
        ],
        "{report}"
    );
    assert_eq!(
        report.result("write.new").unwrap().why,
        "needs capability write, mkdir",
        "{report}"
    );
    assert_eq!(report.cleanup, None, "no scratch folder was made");
}
