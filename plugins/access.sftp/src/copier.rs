//! Copies. SFTP version 3 has no copy: a server offering OpenSSH's `copy-data` extension
//! copies each file itself (see `ext`); with any other, each file is read on the connection
//! and written back on the same one, in [`BUFFER_SIZE`](crate::writer::BUFFER_SIZE) pieces
//! (bounded memory). Either way the copy goes to a temporary file published like an upload:
//! a failed copy leaves nothing under the target's name.
//!
//! A folder is copied depth first. Inside it, symlinks are not copied as links (a link copied
//! elsewhere may point somewhere else): one that resolves to a file inside `ROOT` is copied as
//! that file; any other is left out. The walk never descends into a symlinked folder.

use std::path::Path;

use plugin_api::{join, Entry, Result};
use ssh2::{OpenFlags, OpenType};

use crate::core::{Conn, NEW_FILE_MODE};
use crate::entry::from_stat;
use crate::error::{self, Op};
use crate::remote::{is_temp_name, Found, Named};
use crate::writer::{publish, pump, temp_name, Failure};

/// Copies `from` to `to`, which must not exist.
pub(crate) fn copy(conn: &mut Conn, from: &str, to: &str) -> Result<Entry> {
    let source = match conn.follow(Op::Copy, from)? {
        Found::Inside { real, stat } => (real, stat),
        Found::Link { .. } => return Err(error::escape(Op::Copy, from)),
        Found::Missing => return Err(error::missing(Op::Copy, from)),
    };
    let target = conn.name(Op::Copy, to)?;
    if conn.lstat(Op::Copy, to, &target.full)?.is_some() {
        return Err(error::exists(Op::Copy, to));
    }
    let (real, stat) = source;
    if stat.is_dir() {
        copy_tree(conn, from, &real, to, &target)?;
    } else {
        copy_file(conn, from, &real, to, &target)?;
    }
    let stat = conn.call(Op::Copy, to, |s| s.stat(Path::new(&target.full)))?;
    Ok(from_stat(to, &stat))
}

/// Copies the file at server path `real` (workspace path `from`) to `target`.
fn copy_file(conn: &mut Conn, from: &str, real: &str, to: &str, target: &Named) -> Result<()> {
    let temp = Conn::below(&target.dir, &temp_name());
    let outcome = (|| {
        if !conn.copy_data(to, real, &temp)? {
            stream_file(conn, from, real, to, target, &temp)?;
        }
        publish(conn, to, &temp, target, false)
    })();
    if outcome.is_err() && !conn.broken {
        let _ = conn.call(Op::Copy, to, |s| s.unlink(Path::new(&temp)));
    }
    outcome
}

/// Copies the file at server path `real` to the new server file `temp` through this driver.
fn stream_file(
    conn: &mut Conn,
    from: &str,
    real: &str,
    to: &str,
    target: &Named,
    temp: &str,
) -> Result<()> {
    let mut source = conn.call(Op::Copy, from, |s| s.open(Path::new(real)))?;
    let mut sink = match conn.try_call(Op::Copy, to, |s| {
        s.open_mode(
            Path::new(temp),
            OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
            NEW_FILE_MODE,
            OpenType::File,
        )
    })? {
        Ok(file) => file,
        Err(e) => return Err(conn.diagnose(Op::Copy, to, target, &e)),
    };
    pump(&mut source, &mut sink).map_err(|f| {
        conn.broken = true; // both ends are this connection
        match f {
            Failure::Source(e) => error::stream(Op::Copy, from, &e),
            Failure::Target(e) => error::stream(Op::Copy, to, &e),
        }
    })?;
    sink.close().map_err(|e| conn.failed(Op::Copy, to, &e))
}

/// Copies the folder at server path `real` (workspace path `from`) to `target`.
fn copy_tree(conn: &mut Conn, from: &str, real: &str, to: &str, target: &Named) -> Result<()> {
    conn.call(Op::Copy, to, |s| s.mkdir(Path::new(&target.full), 0o755))?;
    let items = conn.call(Op::Copy, from, |s| s.readdir(Path::new(real)))?;
    for (child, stat) in items {
        let Some(name) = child.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_temp_name(name) {
            continue;
        }
        let (child_from, child_to) = (join(from, name), join(to, name));
        let child_target = Named {
            dir: target.full.clone(),
            full: Conn::below(&target.full, name),
        };
        let child_real = child.to_string_lossy().into_owned();
        if stat.is_dir() {
            copy_tree(conn, &child_from, &child_real, &child_to, &child_target)?;
        } else if stat.file_type().is_symlink() {
            if let Found::Inside { real, stat } = conn.follow(Op::Copy, &child_from)? {
                if stat.is_file() {
                    copy_file(conn, &child_from, &real, &child_to, &child_target)?;
                }
            }
        } else {
            copy_file(conn, &child_from, &child_real, &child_to, &child_target)?;
        }
    }
    Ok(())
}
