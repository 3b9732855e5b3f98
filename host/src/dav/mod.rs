//! The WebDAV door at `/dav/` (dav-server over the host's drivers). In this branch only its
//! lock system, [`locks`]; the door itself is merged beside it.

#[allow(dead_code, reason = "the WebDAV door's handler is wired at merge")]
pub(crate) mod locks;
