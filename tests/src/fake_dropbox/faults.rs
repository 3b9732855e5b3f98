//! Faults a test switches on (through `FakeDropbox::inject` or `POST /__fake/faults`) and the
//! counters it reads back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which 429 a rate limit answers (Dropbox's `RateLimitReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitReason {
    /// `too_many_requests`.
    #[default]
    TooManyRequests,
    /// `too_many_write_operations`.
    TooManyWriteOperations,
}

impl RateLimitReason {
    pub(crate) fn tag(self) -> &'static str {
        match self {
            RateLimitReason::TooManyRequests => "too_many_requests",
            RateLimitReason::TooManyWriteOperations => "too_many_write_operations",
        }
    }
}

/// A fault to inject. As JSON for `POST /__fake/faults`:
/// `{"fault": "rate_limit", "times": 2, "retry_after": 1, "route": "files/upload"}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The next `times` API calls (`/2/…`, or only `route` when given) answer 429 with
    /// `Retry-After: retry_after`.
    RateLimit {
        /// How many calls fail.
        times: u32,
        /// Seconds, in the header and the body.
        #[serde(default = "one")]
        retry_after: u64,
        /// The reason in the body.
        #[serde(default)]
        reason: RateLimitReason,
        /// Only calls of this route (`files/upload`, `oauth2/token`), else every `/2/` call.
        #[serde(default)]
        route: Option<String>,
    },
    /// The next `times` API calls (or only `route`'s) answer `status` (a 5xx).
    ServerError {
        /// How many calls fail.
        times: u32,
        /// The HTTP status, 500 by default.
        #[serde(default = "five_hundred")]
        status: u16,
        /// Only calls of this route, else every `/2/` call.
        #[serde(default)]
        route: Option<String>,
    },
    /// Every access token issued so far is expired from now on (401 `expired_access_token`).
    ExpireAccessTokens,
    /// Every refresh token issued so far is revoked (`invalid_grant` on refresh).
    RevokeRefreshTokens,
    /// The next `upload_session/append_v2` stores its bytes but answers `incorrect_offset`
    /// with the new `correct_offset`, as when the answer to an earlier try was lost.
    IncorrectOffsetOnNextAppend,
    /// Every list_folder cursor answers `reset` from now on.
    ResetCursors,
}

fn one() -> u64 {
    1
}

fn five_hundred() -> u16 {
    500
}

/// What a test can read back (`FakeDropbox::counters`, `GET /__fake/counters`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    /// Requests per route (`files/list_folder`, `oauth2/token`, `oauth2/authorize`, …),
    /// counted before faults and authentication.
    pub requests: BTreeMap<String, u64>,
    /// Access tokens issued (code and refresh grants).
    pub access_tokens_issued: u64,
    /// Refresh tokens issued (code grants with `token_access_type=offline`).
    pub refresh_tokens_issued: u64,
    /// Successful refresh grants.
    pub refreshes: u64,
    /// Answers that were an injected fault (429 or 5xx).
    pub faults_served: u64,
}

/// A pending counted fault.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) remaining: u32,
    pub(crate) route: Option<String>,
    pub(crate) answer: Answer,
}

/// What a pending fault answers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    RateLimit(RateLimitReason, u64),
    Status(u16),
}

/// The faults currently switched on.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) pending: Vec<Pending>,
    pub(crate) incorrect_offset_next_append: bool,
}

impl Faults {
    /// The fault that answers this call of `route`, if any (`api` says it is a `/2/` call).
    pub(crate) fn take(&mut self, route: &str, api: bool) -> Option<Answer> {
        let slot = self.pending.iter_mut().find(|p| {
            p.remaining > 0
                && match &p.route {
                    Some(r) => r == route,
                    None => api,
                }
        })?;
        slot.remaining -= 1;
        let answer = slot.answer;
        self.pending.retain(|p| p.remaining > 0);
        Some(answer)
    }
}
