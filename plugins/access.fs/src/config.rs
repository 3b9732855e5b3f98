//! The workspace parameters of `access.fs` (see `manifests/access.fs.toml`) and the opening of
//! the root handle that every operation goes through.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use plugin_api::{Result, WorkspaceConfig};

use crate::error;

/// A workspace's configuration, parsed from its validated parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct FsConfig {
    /// The workspace id, named in error messages.
    pub workspace: String,
    /// `ROOT`: absolute path of the folder the workspace exposes.
    pub root: PathBuf,
    /// `CREATE`: create `ROOT` (and its parents) when it is missing.
    pub create: bool,
}

impl fmt::Debug for FsConfig {
    /// Written by hand so that adding a secret field later cannot leak it by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsConfig")
            .field("workspace", &self.workspace)
            .field("root", &self.root)
            .field("create", &self.create)
            .finish()
    }
}

impl FsConfig {
    /// Parses `ROOT` (mandatory, absolute) and `CREATE` (boolean, default false).
    pub fn from_workspace(config: &WorkspaceConfig) -> Result<Self> {
        let root = config.require("ROOT")?;
        if root.contains('\0') {
            return Err(error::config(&config.id, "ROOT contains a NUL character"));
        }
        // The host checks the manifest's pattern too; this keeps a relative ROOT from ever
        // being resolved against the host's working directory.
        if !Path::new(root).is_absolute() {
            return Err(error::config(&config.id, "ROOT must be an absolute path"));
        }
        Ok(FsConfig {
            workspace: config.id.clone(),
            root: PathBuf::from(root),
            create: config.get_bool("CREATE", false)?,
        })
    }

    /// Opens `ROOT` as the capability every operation goes through, creating it if allowed.
    ///
    /// This is the driver's only use of ambient authority: everything afterwards is relative
    /// to the returned handle.
    pub(crate) fn open_root(&self) -> Result<Dir> {
        let open = || Dir::open_ambient_dir(&self.root, cap_std::ambient_authority());
        match open() {
            Ok(dir) => Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.create => {
                Dir::create_ambient_dir_all(&self.root, cap_std::ambient_authority())
                    .and_then(|()| open())
                    .map_err(|e| error::root_open(&self.workspace, &e))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(error::root_missing(&self.workspace))
            }
            Err(e) => Err(error::root_open(&self.workspace, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::ErrorKind;

    fn parse(params: &[(&str, &str)]) -> Result<FsConfig> {
        let config = WorkspaceConfig {
            id: "ws1".into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        FsConfig::from_workspace(&config)
    }

    #[test]
    fn parses_root_and_create() {
        let cases: [(&[(&str, &str)], bool); 4] = [
            (&[("ROOT", "/srv/a")], false),
            (&[("ROOT", "/srv/a"), ("CREATE", "true")], true),
            (&[("ROOT", "/srv/a"), ("CREATE", "0")], false),
            (&[("ROOT", "/srv/a"), ("CREATE", "")], false),
        ];
        for (params, create) in cases {
            let c = parse(params).unwrap();
            assert_eq!((c.root.as_path(), c.create), (Path::new("/srv/a"), create));
            assert_eq!(c.workspace, "ws1");
        }
    }

    #[test]
    fn refuses_bad_parameters() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[], "ROOT is required"),
            (&[("ROOT", "")], "ROOT is required"),
            (&[("ROOT", "srv/a")], "absolute"),
            (&[("ROOT", "/a\0b")], "NUL"),
            (&[("ROOT", "/a"), ("CREATE", "maybe")], "boolean"),
        ];
        for (params, why) in cases {
            let e = parse(params).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{params:?}");
            assert!(e.message.contains(why), "{params:?}: {}", e.message);
            assert!(e.message.contains("ws1"), "{}", e.message);
        }
    }

    #[test]
    fn debug_names_every_field() {
        let c = parse(&[("ROOT", "/srv/a")]).unwrap();
        assert_eq!(
            format!("{c:?}"),
            r#"FsConfig { workspace: "ws1", root: "/srv/a", create: false }"#
        );
    }
}
