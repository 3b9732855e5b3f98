//! The conformance suite: one behaviour suite for every storage driver, chosen case by case
//! from the capabilities the driver declares (in the spirit of OpenDAL's behaviour tests and
//! rclone's fstests).
//!
//! Each case is data — a name, the [`Capabilities`] it needs, and a function — so a driver is
//! tested on exactly what it claims, and a case it cannot run is reported as skipped with the
//! capability it lacks. Cases that create things work inside their own fresh folder under a
//! scratch folder `conformance-<random>` that the suite creates under [`Options::base`] and
//! deletes at the end (best effort), so the suite can run against a real account without
//! touching anything else. Cases that create nothing (stat of the base folder, a missing
//! path) also run against read-only drivers.
//!
//! A read-only driver cannot create the input of a read case, so every read case also has a
//! seeded form that reads a canonical tree instead ([`seed`]): write it with
//! [`seed::write_to`] (or `wshost plugins fixture DIR`), put it into the backend, and run with
//! [`Options::seeded`] (or `wshost plugins test … --seeded`). Write cases still run where the
//! capabilities allow, in their scratch folders.
//!
//! ```
//! # use plugin_api::*;
//! # struct Empty;
//! # impl Driver for Empty {
//! #     fn capabilities(&self) -> Capabilities { Capabilities::STAT }
//! #     fn stat(&self, _: &CallContext, p: &WsPath) -> Result<Entry> {
//! #         if p.is_empty() { Ok(Entry::dir("")) } else { Err(PluginError::not_found(p)) }
//! #     }
//! # }
//! use plugin_api::testing::conformance::{self, Options};
//!
//! let report = conformance::run(&Empty, &Options::default());
//! println!("{report}"); // PASS stat.base … SKIP copy.file — needs capability read, write, mkdir, copy …
//! assert!(report.passed());
//! ```
//!
//! Against a loaded library, `wshost plugins test LIBRARY --manifest FILE --param K=V` runs
//! the same suite through the host's loader.

mod fixture;
mod listing;
mod moving;
mod options;
mod reading;
mod report;
pub mod seed;
mod seeded;
mod writing;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::plugin::Driver;
use crate::types::{join, Capabilities};

use fixture::{Check, Fixture};
pub use options::Options;
use report::SEEDABLE;
pub use report::{CaseResult, Report, Status};

/// Where a case works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In a fresh folder of its own inside the scratch folder (needs `mkdir`).
    Scratch,
    /// In the base folder, creating nothing.
    Base,
}

/// One case of the suite.
pub struct Case {
    /// The case's name, `area.behaviour` (`read.ranges`).
    pub name: &'static str,
    /// What the case checks, in one sentence.
    pub description: &'static str,
    needs: Capabilities,
    place: Place,
    run: fn(&Fixture) -> Check,
    /// The same check on the fixture tree, for a case that creates its input.
    seeded: Option<fn(&Fixture) -> Check>,
}

/// What a seeded case may need: it reads, and creates nothing.
const READING: Capabilities = Capabilities::from_bits(
    Capabilities::STAT.bits()
        | Capabilities::LIST.bits()
        | Capabilities::READ.bits()
        | Capabilities::READ_RANGE.bits(),
);

impl Case {
    /// The capabilities the driver must declare for the case to run.
    pub fn needs(&self) -> Capabilities {
        match self.place {
            Place::Scratch => self.needs | Capabilities::MKDIR,
            Place::Base => self.needs,
        }
    }

    /// The capabilities the case's seeded form needs, if it has one (it reads the fixture
    /// tree instead of creating its input).
    pub fn needs_seeded(&self) -> Option<Capabilities> {
        let reading = Capabilities::from_bits(self.needs.bits() & READING.bits());
        self.seeded.map(|_| reading)
    }

    /// This case, with a seeded form.
    fn or_seeded(self, seeded: fn(&Fixture) -> Check) -> Case {
        Case {
            seeded: Some(seeded),
            ..self
        }
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("needs", &self.needs().names())
            .finish()
    }
}

/// Every case, in the order they run (one line each: a table reads better than rustfmt's layout).
#[rustfmt::skip]
pub fn cases() -> Vec<Case> {
    use Capabilities as C;
    let case = |name, description, needs, place, run| Case {
        name,
        description,
        needs,
        place,
        run,
        seeded: None,
    };
    let (scratch, base) = (Place::Scratch, Place::Base);
    let w = C::WRITE;
    let wr = C::WRITE | C::READ;
    let wrs = C::WRITE | C::READ | C::STAT;
    vec![
        // listing
        case("list.base", "the base folder lists page by page, each entry once, in a stable order", C::LIST, base, listing::base),
        case("list.empty_folder", "an empty folder lists no entries and no next page", C::LIST, scratch, listing::empty_folder).or_seeded(seeded::list_empty_folder),
        case("list.pages", "many entries across small pages: no duplicates, no gaps, stable order, right kinds and sizes", C::LIST | w, scratch, listing::pages).or_seeded(seeded::list_pages),
        case("list.nested", "a nested folder lists its own children with their full paths", C::LIST | w, scratch, listing::nested).or_seeded(seeded::list_nested),
        case("list.missing", "listing a missing folder answers not_found", C::LIST, base, listing::missing),
        case("list.file", "listing a file answers conflict", C::LIST | w, scratch, listing::file).or_seeded(seeded::list_file),
        // stat
        case("stat.base", "the base folder is a folder", C::STAT, base, reading::stat_base),
        case("stat.file", "a file has its path, kind and size", C::STAT | w, scratch, reading::stat_file).or_seeded(seeded::stat_file),
        case("stat.folder", "a folder has its path and kind", C::STAT, scratch, reading::stat_folder).or_seeded(seeded::stat_folder),
        case("stat.missing", "a missing path, and a path under a missing folder, answer not_found", C::STAT, base, reading::stat_missing),
        // reads
        case("read.whole", "a whole file reads back byte for byte", wr, scratch, reading::whole).or_seeded(seeded::read_whole),
        case("read.ranges", "ranges read exactly their bytes, cut at the end of the file", wr | C::READ_RANGE, scratch, reading::ranges).or_seeded(seeded::read_ranges),
        case("read.past_end", "a range starting at or past the end answers invalid_range", wr | C::READ_RANGE, scratch, reading::past_end).or_seeded(seeded::read_past_end),
        case("read.zero_length", "a zero-byte file reads as empty", wr, scratch, reading::zero_length).or_seeded(seeded::read_zero_length),
        case("read.missing", "reading a missing file answers not_found", C::READ, base, reading::missing),
        case("read.folder", "reading a folder answers conflict", C::READ, scratch, reading::folder).or_seeded(seeded::read_folder),
        // writes
        case("write.new", "a new file is created with its content and size", wrs, scratch, writing::new),
        case("write.overwrite", "overwrite replaces the content of an existing file", wr, scratch, writing::overwrite),
        case("write.no_overwrite", "without overwrite, an existing file answers already_exists and stays intact", wr, scratch, writing::no_overwrite),
        case("write.zero_bytes", "an empty body makes a zero-byte file", wrs, scratch, writing::zero_bytes),
        case("write.large_streamed", "a large body streamed from a generator is stored byte for byte", wr, scratch, writing::large_streamed),
        case("write.names", "names with spaces, unicode and punctuation round-trip through write, stat, read and list", wrs | C::LIST, scratch, writing::names).or_seeded(seeded::names),
        case("write.names_astral", "names with characters outside the Basic Multilingual Plane (emoji) round-trip", wrs | C::LIST, scratch, writing::names_astral),
        // mkdir
        case("mkdir.new", "a new folder is created", C::STAT, scratch, writing::mkdir_new),
        case("mkdir.exists", "creating an existing folder answers already_exists", C::MKDIR, scratch, writing::mkdir_exists),
        case("mkdir.parent_missing", "creating a folder in a missing folder answers not_found", C::MKDIR, scratch, writing::mkdir_parent_missing),
        // delete
        case("delete.file", "a deleted file is gone", C::DELETE | C::STAT | w, scratch, writing::delete_file),
        case("delete.folder", "a deleted folder is gone with everything in it", C::DELETE | C::STAT | w, scratch, writing::delete_folder),
        case("delete.missing", "deleting a missing path answers not_found", C::DELETE, scratch, writing::delete_missing),
        // rename and copy
        case("rename.file", "a renamed file has its new name and content, and the old name is gone", C::RENAME | wrs, scratch, moving::rename_file),
        case("rename.into_folder", "a file moved into a folder keeps its content", C::RENAME | wrs, scratch, moving::rename_into_folder),
        case("rename.folder", "a renamed folder keeps its content", C::RENAME | wrs, scratch, moving::rename_folder),
        case("rename.onto_existing", "renaming onto an existing file or folder answers already_exists and changes nothing", C::RENAME | wrs, scratch, moving::rename_onto_existing),
        case("rename.missing_source", "renaming a missing path answers not_found", C::RENAME, scratch, moving::rename_missing_source),
        case("copy.file", "a copied file has the same content, and the source stays", C::COPY | wrs, scratch, moving::copy_file),
        case("copy.into_folder", "a file copied into a folder keeps its content", C::COPY | wrs, scratch, moving::copy_into_folder),
        case("copy.folder", "a copied folder holds copies of everything in it, and the source stays", C::COPY | wrs, scratch, moving::copy_folder),
        case("copy.onto_existing", "copying onto an existing file or folder answers already_exists and changes nothing", C::COPY | wrs, scratch, moving::copy_onto_existing),
        case("copy.missing_source", "copying a missing path answers not_found", C::COPY, scratch, moving::copy_missing_source),
        // verify
        case("verify.answers", "verify answers a sentence for the admin", C::VERIFY, base, moving::verify),
    ]
}

/// Runs every case the driver's capabilities allow and reports each one.
pub fn run(driver: &dyn Driver, options: &Options) -> Report {
    let capabilities = driver.capabilities();
    let token = random_token();
    let scratch = join(&options.base, &format!("conformance-{token}"));
    let mut report = Report::new(capabilities, scratch.clone());
    let fixture = |dir: String| Fixture {
        driver,
        options,
        dir,
        token: token.clone(),
    };
    // Created on first use, so that a read-only driver is never asked to create anything.
    let mut scratch_ready: Option<Check> = None;
    // Looked for before the first seeded case, so that a missing tree fails with one reason.
    let mut seed_ready: Option<Check> = None;
    for case in cases().into_iter().filter(|c| options.selects(c.name)) {
        if options.skip.iter().any(|s| s == case.name) {
            report.push(
                case.name,
                Status::Skip,
                "a documented limitation of the backend (--skip)".into(),
            );
            continue;
        }
        // The seeded form runs when a tree is given and the case has one.
        let seeded = options.seed.as_ref().zip(case.seeded);
        let needs = match (seeded, case.needs_seeded()) {
            (Some(_), Some(reading)) => reading,
            _ => case.needs(),
        };
        let lacking = Capabilities::from_bits(needs.bits() & !capabilities.bits());
        if lacking != Capabilities::NONE {
            let mut why = format!("needs capability {}", lacking.names().join(", "));
            if seeded.is_none()
                && case
                    .needs_seeded()
                    .is_some_and(|n| capabilities.contains(n))
            {
                why.push_str(SEEDABLE);
            }
            report.push(case.name, Status::Skip, why);
            continue;
        }
        let (dir, run) = match seeded {
            Some((tree, run)) => {
                let ready = seed_ready.get_or_insert_with(|| {
                    if capabilities.contains(Capabilities::STAT) {
                        seeded::ready(&fixture(tree.clone()))
                    } else {
                        Ok(())
                    }
                });
                if let Err(why) = ready {
                    report.push(case.name, Status::Fail, why.clone());
                    continue;
                }
                (tree.clone(), run)
            }
            None => match case.place {
                Place::Base => (options.base.clone(), case.run),
                Place::Scratch => {
                    let ready = scratch_ready
                        .get_or_insert_with(|| make_folder(driver, options, &scratch))
                        .clone();
                    let dir = join(&scratch, case.name);
                    match ready.and_then(|()| make_folder(driver, options, &dir)) {
                        Ok(()) => (dir, case.run),
                        Err(why) => {
                            report.push(case.name, Status::Fail, why);
                            continue;
                        }
                    }
                }
            },
        };
        let fixture = fixture(dir);
        // A plain (not exported) driver may panic; the suite reports it like any failure.
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&fixture)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(panic.as_ref()))));
        match outcome {
            Ok(()) => report.push(case.name, Status::Pass, String::new()),
            Err(why) => report.push(case.name, Status::Fail, why),
        }
    }
    if let Some(Ok(())) = scratch_ready {
        report.cleanup = Some(clean_up(driver, options, &scratch));
    }
    report
}

/// Runs the whole suite with the default options and panics with the report if any case
/// fails: the one line a driver's test needs.
#[track_caller]
pub fn assert_conformant(driver: &dyn Driver) {
    run(driver, &Options::default()).assert_passed();
}

fn make_folder(driver: &dyn Driver, options: &Options, path: &str) -> Check {
    driver.mkdir(&options.context, path).map(drop).map_err(|e| {
        format!(
            "setup: cannot create the scratch folder '{path}': {} ({})",
            e.kind, e.message
        )
    })
}

fn clean_up(driver: &dyn Driver, options: &Options, scratch: &str) -> Result<(), String> {
    if !driver.capabilities().contains(Capabilities::DELETE) {
        return Err(format!(
            "the scratch folder '{scratch}' was left behind: the driver cannot delete"
        ));
    }
    let deleted = catch_unwind(AssertUnwindSafe(|| {
        driver.delete(&options.context, scratch)
    }));
    match deleted {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "the scratch folder '{scratch}' could not be deleted: {} ({})",
            e.kind, e.message
        )),
        Err(panic) => Err(format!(
            "deleting the scratch folder '{scratch}' panicked: {}",
            panic_text(panic.as_ref())
        )),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Twelve hex digits that differ between runs and processes (std's hasher keys are random).
fn random_token() -> String {
    let mut hasher = RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}
