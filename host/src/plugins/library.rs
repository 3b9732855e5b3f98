//! One plugin library named by its path, outside any deployment's registry: what
//! `wshost plugins check` and `wshost plugins test` load. The commands reach the ABI's host
//! side only through here, as every other module reaches it through the registry.

use std::path::Path;

pub(crate) use plugin_api::foreign::{host_api_version, LoadedLibrary};

use super::registry::cross_check;
use crate::manifest::Manifest;

/// Loads the library at `path` (the ABI layout check included) and checks it against
/// `manifest`: same plugin id, same actions. Errors name the file.
pub(crate) fn load_checked(path: &Path, manifest: &Manifest) -> Result<LoadedLibrary, String> {
    let lib = LoadedLibrary::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
    cross_check(&lib, manifest).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(lib)
}
