//! access.fs against the shared conformance suite: every case runs (the driver declares
//! every capability) and passes.

use plugin_api::testing::conformance::{self, Options, Status};

use crate::support::Fixture;

#[test]
fn access_fs_passes_every_case_of_the_conformance_suite() {
    let fixture = Fixture::new();
    let report = conformance::run(&fixture.driver, &Options::default());
    println!("{report}");
    report.assert_passed();
    assert_eq!(report.names(Status::Skip), Vec::<&str>::new(), "{report}");
    assert_eq!(report.cleanup, Some(Ok(())), "{report}");
    assert_eq!(
        std::fs::read_dir(fixture.root()).unwrap().count(),
        0,
        "the scratch folder is removed"
    );
}
