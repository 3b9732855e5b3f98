//! Test support: sample manifests and the one parse helper the tests share.

use std::path::Path;

use super::{parse, Manifest, ManifestError};

/// The path every test manifest claims to be read from.
pub(super) const PATH: &str = "manifests/test.toml";

/// The four required keys; a snippet appended to it starts on line 5.
pub(super) const HEADER: &str = r#"id = "access.x"
type = "access"
label = "X"
library = "access_x"
"#;

/// The sketch in DESIGN.md, with the `methods` key added since.
pub(super) const DROPBOX_SKETCH: &str = r#"id = "access.dropbox"
type = "access"
label = "Dropbox"
description = "An existing Dropbox account, through the Dropbox API v2."
library = "access_dropbox"
enabled = false                  # default when the deployment says nothing

[[params]]
name = "CLIENT_ID"
type = "string"
label = "Client ID"
description = "App key of your Dropbox app."
mandatory = true
aliases = ["APP_KEY"]            # legacy names still accepted

[[params]]
name = "REDIRECT_URL"
type = "url"
default = "{public_url}/index.php?get_action=dropbox_oauth_authorize"

[[actions]]
name = "dropbox_oauth_authorize"
rights = "user"                  # public | user | read | write | admin
csrf = false                     # reached by Dropbox's redirect; protected by OAuth state
methods = ["GET"]                # a redirect is a GET; the default is ["POST"]
"#;

/// What `manifests/access.fs.toml` holds.
pub(super) const ACCESS_FS: &str = r#"id = "access.fs"
type = "access"
label = "Local filesystem"
description = "A folder on the host's disk."
library = "access_fs"
enabled = true

[[params]]
name = "ROOT"
type = "string"
label = "Root folder"
description = "Absolute path of the folder the workspace exposes."
mandatory = true
pattern = "^/"

[[params]]
name = "CREATE"
type = "boolean"
label = "Create the folder"
description = "Create the root folder when it does not exist."
default = false
advanced = true
"#;

/// Every param type and attribute, both spellings of choices, and an action with defaults.
pub(super) const EVERY_TYPE: &str = r#"id = "meta.sample"
type = "meta"
label = "Sample"
library = "meta_sample"
version = "1.0.0"

[[params]]
name = "NAME"
type = "string"
label = "Name"
mandatory = true
aliases = ["LEGACY_NAME", "OLD_NAME"]
group = "Identity"

[[params]]
name = "NOTES"
type = "textarea"

[[params]]
name = "SECRET"
type = "password"

[[params]]
name = "COUNT"
type = "integer"
min = 1
max = 10
default = 5

[[params]]
name = "FLAG"
type = "boolean"
default = "yes"
advanced = true

[[params]]
name = "MODE"
type = "select"
choices = "r|Read Only,rw|Read and Write"
default = "r"

[[params]]
name = "LEVEL"
type = "select"
choices = [{ value = "low", label = "Low" }, { value = "high" }]

[[params]]
name = "ENDPOINT"
type = "url"
default = "{public_url}/hook"

[[params]]
name = "CODE"
type = "string"
pattern = "^[A-Z]{3}$"

[[params]]
name = "TOKEN"
type = "hidden"
default = ""

[[actions]]
name = "sample_ping"
rights = "read"
description = "Answers pong."
"#;

/// Parses `text` as if read from [`PATH`].
pub(super) fn parse_text(text: &str) -> Result<Manifest, ManifestError> {
    parse(text, Path::new(PATH))
}

/// Parses `text`, failing the test with the error's message if it is refused.
pub(super) fn parse_ok(text: &str) -> Manifest {
    parse_text(text).unwrap_or_else(|e| panic!("expected a valid manifest, got: {e}\n{text}"))
}
