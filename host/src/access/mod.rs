//! Who may do what: the access a caller has to a workspace, checked before anything else
//! of a request runs, and [`Granted`], the proof of that check that a driver call requires.

use crate::app::error::AppError;
use crate::app::AppState;
use crate::auth::Caller;
use crate::store::Access;

/// The access `caller` has to workspace `ws_id`: administrators have read-write on every
/// workspace; other users what the workspace's ACL grants them. 401 for anonymous callers,
/// 403 without a grant (whether or not the workspace exists, so ids cannot be probed).
pub(crate) async fn access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
) -> Result<Access, AppError> {
    let user = caller.require_user()?;
    if user.admin {
        return Ok(Access::ReadWrite);
    }
    state
        .store
        .access(ws_id, &user.name)
        .await?
        .ok_or_else(|| AppError::Forbidden(format!("you have no access to workspace '{ws_id}'")))
}

/// Proof that a caller's access to a workspace was checked: only [`check_access`] makes one,
/// and [`call_driver`] requires one, so no driver is called unchecked — and the check is
/// made once per request.
pub(crate) struct Granted {
    ws_id: String,
    access: Access,
}

impl Granted {
    /// The workspace the check was made for.
    pub(crate) fn workspace(&self) -> &str {
        &self.ws_id
    }

    /// The access the caller has (at least what was asked).
    pub(crate) fn access(&self) -> Access {
        self.access
    }
}

/// Refuses `caller` unless they have `need` on workspace `ws_id`.
pub(crate) async fn check_access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
    need: Access,
) -> Result<Granted, AppError> {
    let granted = access(state, caller, ws_id).await?;
    if need == Access::ReadWrite && granted != Access::ReadWrite {
        return Err(AppError::Forbidden(format!(
            "your access to workspace '{ws_id}' is read-only"
        )));
    }
    Ok(Granted {
        ws_id: ws_id.to_owned(),
        access: granted,
    })
}
