//! A second, raw SFTP channel on a connection, for the two OpenSSH extensions libssh2 does not
//! expose:
//! - `posix-rename@openssh.com`, a `rename(2)` that replaces the target atomically. SFTP
//!   version 3's RENAME (all libssh2 sends to OpenSSH) never replaces an existing file, so
//!   publishing an upload over the previous version would otherwise need a remove-then-rename
//!   with a moment where the file does not exist (and a crash in that moment loses it).
//! - `copy-data` (OpenSSH 9.0 and later), a copy made by the server: without it a copy's
//!   bytes travel to the host and back.
//!
//! The channel speaks just enough of the protocol (draft-ietf-secsh-filexfer-02): INIT/VERSION
//! to learn the extensions, OPEN/CLOSE for copy-data's handles, and EXTENDED, each answered by
//! a STATUS (or a HANDLE).

use std::io::{self, Read, Write};

use ssh2::{Channel, Session};

const FXP_INIT: u8 = 1;
const FXP_VERSION: u8 = 2;
const FXP_OPEN: u8 = 3;
const FXP_CLOSE: u8 = 4;
const FXP_STATUS: u8 = 101;
const FXP_HANDLE: u8 = 102;
const FXP_EXTENDED: u8 = 200;
/// OPEN's flags (draft-02 6.3).
const FXF_READ: u32 = 0x01;
const FXF_WRITE: u32 = 0x02;
const FXF_CREAT: u32 = 0x08;
const FXF_EXCL: u32 = 0x20;
/// The attribute flag of a permissions field.
const ATTR_PERMISSIONS: u32 = 0x04;
const POSIX_RENAME: &str = "posix-rename@openssh.com";
const COPY_DATA: &str = "copy-data";
/// Bigger answers than this are not ours to read (VERSION lists a few dozen short names).
const MAX_PACKET: u32 = 256 * 1024;

/// The raw SFTP channel and what the server's VERSION said.
pub(crate) struct Ext {
    channel: Channel,
    next_id: u32,
    extensions: Vec<String>,
}

impl Ext {
    /// Opens the channel and reads the server's extensions.
    pub(crate) fn open(session: &Session) -> io::Result<Ext> {
        let mut channel = session.channel_session().map_err(io::Error::from)?;
        channel.subsystem("sftp").map_err(io::Error::from)?;
        let mut ext = Ext {
            channel,
            next_id: 1,
            extensions: Vec::new(),
        };
        ext.send(FXP_INIT, &[&3u32.to_be_bytes()])?;
        let (kind, body) = ext.recv()?;
        if kind != FXP_VERSION {
            return Err(io::Error::other("the server did not answer SFTP INIT"));
        }
        let mut rest = body.get(4..).unwrap_or_default(); // after the version number
        while let (Some(name), Some(_data)) = (take_string(&mut rest), take_string(&mut rest)) {
            ext.extensions
                .push(String::from_utf8_lossy(name).into_owned());
        }
        Ok(ext)
    }

    /// Whether the server offers `posix-rename@openssh.com`.
    pub(crate) fn has_posix_rename(&self) -> bool {
        self.extensions.iter().any(|e| e == POSIX_RENAME)
    }

    /// Whether the server offers `copy-data`.
    pub(crate) fn has_copy_data(&self) -> bool {
        self.extensions.iter().any(|e| e == COPY_DATA)
    }

    /// Renames `from` onto `to`, replacing it; `Ok(Err(status))` when the server refused with
    /// an SFTP status code, `Err` when the channel failed.
    pub(crate) fn posix_rename(&mut self, from: &str, to: &str) -> io::Result<Result<(), u32>> {
        let answer = self.request(
            FXP_EXTENDED,
            &[&string(POSIX_RENAME), &string(from), &string(to)],
        )?;
        status(answer)
    }

    /// Copies the file `from` to `to`, a new file of mode `mode` (refused if it exists), all
    /// on the server: `Ok(Err(status))` when the server refused a step, `Err` when the
    /// channel failed. A refused copy may leave `to` created: the caller removes it.
    pub(crate) fn copy_file(
        &mut self,
        from: &str,
        to: &str,
        mode: u32,
    ) -> io::Result<Result<(), u32>> {
        let source = match self.open_file(from, FXF_READ, None)? {
            Ok(handle) => handle,
            Err(code) => return Ok(Err(code)),
        };
        let copied = match self.open_file(to, FXF_WRITE | FXF_CREAT | FXF_EXCL, Some(mode))? {
            Ok(target) => {
                // From offset 0, length 0 (up to the end), to offset 0.
                let copied = self.request(
                    FXP_EXTENDED,
                    &[
                        &string(COPY_DATA),
                        &bytes(&source),
                        &0u64.to_be_bytes(),
                        &0u64.to_be_bytes(),
                        &bytes(&target),
                        &0u64.to_be_bytes(),
                    ],
                );
                let closed = self.close(&target);
                // The copy's own answer first; then whether the written file was closed.
                match (copied.and_then(status)?, closed?) {
                    (Ok(()), closed) => closed,
                    (refused, _) => refused,
                }
            }
            Err(code) => Err(code),
        };
        let _ = self.close(&source)?;
        Ok(copied)
    }

    /// Opens `path` with `flags` (and `mode` for a new file): its handle, or the status code
    /// that refused it.
    fn open_file(
        &mut self,
        path: &str,
        flags: u32,
        mode: Option<u32>,
    ) -> io::Result<Result<Vec<u8>, u32>> {
        let attrs: Vec<u8> = match mode {
            Some(mode) => [ATTR_PERMISSIONS.to_be_bytes(), mode.to_be_bytes()].concat(),
            None => 0u32.to_be_bytes().to_vec(),
        };
        let (kind, body) =
            self.request(FXP_OPEN, &[&string(path), &flags.to_be_bytes(), &attrs])?;
        if kind == FXP_HANDLE {
            let mut rest = body.get(4..).unwrap_or_default();
            return take_string(&mut rest)
                .map(|h| Ok(h.to_vec()))
                .ok_or_else(|| io::Error::other("a short SFTP handle"));
        }
        match status((kind, body))? {
            Err(code) => Ok(Err(code)),
            Ok(()) => Err(io::Error::other("an SFTP OPEN answered without a handle")),
        }
    }

    fn close(&mut self, handle: &[u8]) -> io::Result<Result<(), u32>> {
        let answer = self.request(FXP_CLOSE, &[&bytes(handle)])?;
        status(answer)
    }

    /// Sends a request with the next id, and answers the server's reply to it.
    fn request(&mut self, kind: u8, parts: &[&[u8]]) -> io::Result<(u8, Vec<u8>)> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let id_bytes = id.to_be_bytes();
        let mut all: Vec<&[u8]> = vec![&id_bytes];
        all.extend_from_slice(parts);
        self.send(kind, &all)?;
        let (kind, body) = self.recv()?;
        if u32_at(&body, 0) != Some(id) {
            return Err(io::Error::other("an SFTP answer to another request"));
        }
        Ok((kind, body))
    }

    fn send(&mut self, kind: u8, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut packet = Vec::with_capacity(4 + len);
        packet.extend_from_slice(&(len as u32).to_be_bytes());
        packet.push(kind);
        for part in parts {
            packet.extend_from_slice(part);
        }
        self.channel.write_all(&packet)?;
        self.channel.flush()
    }

    fn recv(&mut self) -> io::Result<(u8, Vec<u8>)> {
        let mut len = [0u8; 4];
        self.channel.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len);
        if len == 0 || len > MAX_PACKET {
            return Err(io::Error::other("an SFTP packet of an unexpected length"));
        }
        let mut packet = vec![0u8; len as usize];
        self.channel.read_exact(&mut packet)?;
        let body = packet.split_off(1);
        Ok((packet[0], body))
    }
}

/// The code of a STATUS answer: `Ok(())` for success, `Err(code)` for a refusal.
fn status((kind, body): (u8, Vec<u8>)) -> io::Result<Result<(), u32>> {
    match (kind, u32_at(&body, 4)) {
        (FXP_STATUS, Some(0)) => Ok(Ok(())),
        (FXP_STATUS, Some(code)) => Ok(Err(code)),
        _ => Err(io::Error::other("an unexpected SFTP answer")),
    }
}

/// An SSH `string`: its length then its bytes.
fn string(s: &str) -> Vec<u8> {
    bytes(s.as_bytes())
}

fn bytes(b: &[u8]) -> Vec<u8> {
    let mut out = (b.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(b);
    out
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn take_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32_at(rest, 0)? as usize;
    let s = rest.get(4..4 + len)?;
    *rest = &rest[4 + len..];
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_length_prefixed_and_parsed_back() {
        let mut wire = string("posix-rename@openssh.com");
        wire.extend(string("1"));
        let mut rest = &wire[..];
        assert_eq!(
            take_string(&mut rest),
            Some(&b"posix-rename@openssh.com"[..])
        );
        assert_eq!(take_string(&mut rest), Some(&b"1"[..]));
        assert_eq!(take_string(&mut rest), None);
        let mut short = &[0u8, 0, 0, 9, b'x'][..];
        assert_eq!(take_string(&mut short), None);
    }
}
