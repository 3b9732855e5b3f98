//! The users routes: `users/get_current_account` (a FullAccount with every field Dropbox's
//! validators require) and `users/get_space_usage`.

use axum::response::Response;
use serde_json::json;

use super::server::{Call, ACCOUNT_ID};
use super::state::Kind;
use super::wire::{ok_json, rpc_arg, ApiError};

/// The namespace id of the account's root.
const NAMESPACE: &str = "3235641";

fn void_arg(call: &Call<'_>) -> Result<(), ApiError> {
    let arg = rpc_arg(call.route, call.headers, call.body)?;
    if arg.is_null() {
        Ok(())
    } else {
        Err(ApiError::BadInput(
            call.route.into(),
            "request body: expected null, got value".into(),
        ))
    }
}

/// `users/get_current_account`: void → FullAccount.
pub(crate) fn get_current_account(call: &Call<'_>) -> Result<Response, ApiError> {
    void_arg(call)?;
    let o = &call.app.options;
    let (given, surname) = o
        .display_name
        .split_once(' ')
        .unwrap_or((o.display_name.as_str(), ""));
    let abbreviated: String = o
        .display_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect();
    Ok(ok_json(&json!({
        "account_id": ACCOUNT_ID,
        "name": {
            "given_name": given,
            "surname": surname,
            "familiar_name": given,
            "display_name": o.display_name,
            "abbreviated_name": abbreviated,
        },
        "email": o.email,
        "email_verified": true,
        "disabled": false,
        "country": "US",
        "locale": "en",
        "referral_link": "https://db.tt/ZITNuhtI",
        "is_paired": false,
        "account_type": { ".tag": "basic" },
        "root_info": {
            ".tag": "user",
            "root_namespace_id": NAMESPACE,
            "home_namespace_id": NAMESPACE,
        },
    })))
}

/// `users/get_space_usage`: void → SpaceUsage (2 GiB, the free plan).
pub(crate) fn get_space_usage(call: &Call<'_>) -> Result<Response, ApiError> {
    void_arg(call)?;
    let inner = call.app.lock();
    let used: usize = inner
        .tree
        .children("", true)
        .iter()
        .map(|n| match &n.kind {
            Kind::File(f) => f.content.len(),
            Kind::Folder => 0,
        })
        .sum();
    Ok(ok_json(&json!({
        "used": used,
        "allocation": { ".tag": "individual", "allocated": 2_147_483_648_u64 },
    })))
}
