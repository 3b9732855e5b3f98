//! A second, raw SFTP channel on a connection, for the one OpenSSH extension libssh2 does not
//! expose: `posix-rename@openssh.com`, a `rename(2)` that replaces the target atomically.
//!
//! Why it is needed: SFTP version 3's RENAME (all libssh2 sends to OpenSSH) never replaces an
//! existing file, so publishing an upload over the previous version would otherwise need a
//! remove-then-rename with a moment where the file does not exist (and a crash in that moment
//! loses it). The channel speaks just enough of the protocol (draft-ietf-secsh-filexfer-02):
//! INIT/VERSION to learn the extensions, and EXTENDED answered by a STATUS.

use std::io::{self, Read, Write};

use ssh2::{Channel, Session};

const FXP_INIT: u8 = 1;
const FXP_VERSION: u8 = 2;
const FXP_STATUS: u8 = 101;
const FXP_EXTENDED: u8 = 200;
const POSIX_RENAME: &str = "posix-rename@openssh.com";
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

    /// Renames `from` onto `to`, replacing it; `Ok(Err(status))` when the server refused with
    /// an SFTP status code, `Err` when the channel failed.
    pub(crate) fn posix_rename(&mut self, from: &str, to: &str) -> io::Result<Result<(), u32>> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.send(
            FXP_EXTENDED,
            &[
                &id.to_be_bytes(),
                &string(POSIX_RENAME),
                &string(from),
                &string(to),
            ],
        )?;
        let (kind, body) = self.recv()?;
        let (Some(got), Some(code)) = (u32_at(&body, 0), u32_at(&body, 4)) else {
            return Err(io::Error::other("a short SFTP answer"));
        };
        if kind != FXP_STATUS || got != id {
            return Err(io::Error::other(
                "an unexpected SFTP answer to posix-rename",
            ));
        }
        Ok(if code == 0 { Ok(()) } else { Err(code) })
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

/// An SSH `string`: its length then its bytes.
fn string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
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
