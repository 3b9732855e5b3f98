//! Errors: [`ManifestError`] for a manifest that cannot be read or is refused, and
//! [`FieldError`] for one submitted workspace param that fails validation.
//!
//! A `ManifestError` displays compiler-style — `FILE:LINE:COLUMN: FIELD: MESSAGE` — and its
//! message says what was expected. A `FieldError` never contains the submitted value, which
//! may be a secret.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A 1-based position in a manifest file; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// Line number, from 1.
    pub(crate) line: usize,
    /// Column number in characters, from 1.
    pub(crate) column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ManifestError {
    /// The manifest file could not be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read manifest: {source}", path.display())]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// A manifest directory could not be listed (missing, not a directory, unreadable).
    #[error("{}: cannot list manifest directory: {source}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The file is not valid TOML, or a key or value does not have the expected shape
    /// (unknown key, missing key, wrong type, unknown variant).
    #[error("{}{}: {}: {message}", path.display(), at(location), field.as_deref().unwrap_or("(document)"))]
    Toml {
        /// The manifest file.
        path: PathBuf,
        /// Where the error is, when TOML reports it.
        location: Option<Location>,
        /// Path of the offending field, e.g. `params[2].type`, when it can be told.
        field: Option<String>,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The TOML is well-formed but a value breaks a manifest rule (id format, duplicate
    /// name, reserved action, invalid default, ...).
    #[error("{}{}: {field}: {message}", path.display(), at(location))]
    Invalid {
        /// The manifest file.
        path: PathBuf,
        /// Where the offending value is.
        location: Option<Location>,
        /// Path of the offending field, e.g. `params[2].default`.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

fn at(location: &Option<Location>) -> String {
    location.map(|l| format!(":{l}")).unwrap_or_default()
}

impl ManifestError {
    /// The file or directory the error is about.
    pub(crate) fn path(&self) -> &Path {
        match self {
            ManifestError::Read { path, .. }
            | ManifestError::ReadDir { path, .. }
            | ManifestError::Toml { path, .. }
            | ManifestError::Invalid { path, .. } => path,
        }
    }
}

/// One submitted workspace param that failed validation; answered to the client as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FieldError {
    /// The key as submitted (a name or an alias), or the param name when nothing was submitted.
    pub(crate) field: String,
    /// What is wrong and what was expected; never the submitted value.
    pub(crate) message: String,
}

impl FieldError {
    /// A field error on `field`.
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
