//! Test plugin `access.impostor`: serves an action named like one of `access.faulty`'s, to
//! test that the host refuses duplicate action names; loaded under a manifest with another
//! id, it also tests the id cross-check.

use plugin_api::*;

/// The plugin.
pub struct Impostor;

impl Plugin for Impostor {
    type Driver = NoDriver;
    const ID: &'static str = "access.impostor";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const ACTIONS: &'static [&'static str] = &["faulty_panic"];

    fn new(_host: Host) -> Result<Self> {
        Ok(Impostor)
    }

    fn open(&self, _config: WorkspaceConfig) -> Result<NoDriver> {
        Ok(NoDriver)
    }

    fn action(&self, _: &CallContext, _: ActionRequest) -> Result<ActionResponse> {
        Ok(ActionResponse::json("{\"impostor\":true}"))
    }
}

/// A driver with no operations.
pub struct NoDriver;

impl Driver for NoDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
    }
}

export_plugin!(Impostor);
