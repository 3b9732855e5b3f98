//! The batch forms of the standard actions: Pydio's repeatable `nodes[]` on `stat`, `delete`,
//! `copy` and `move`. Every node is checked before any is touched: by the host (normalized,
//! not the root, not twice, not inside another node, not onto itself), then by the driver
//! (each node exists and is reachable, which is where a driver refuses a symlink that leads
//! out, and the destination is a folder). A batch with a refused node is refused whole,
//! naming each node's verdict. The nodes then go one by one through the driver, each a whole
//! plugin call as a single-node request makes, so a node that fails (a race, a full disk)
//! leaves no other half-done; the answer lists each node's outcome.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use plugin_api::{file_name, join};
use serde_json::{json, Value};

use super::files::{entry_json, StdAction};
use super::params::Params;
use crate::app::error::AppError;
use crate::app::Shared;
use crate::paths;
use crate::plugins::call::DriverTarget;

/// The checked nodes of a batch request, in the order the client named them.
pub(crate) struct Batch {
    pub(crate) nodes: Vec<String>,
}

impl Batch {
    /// The batch `params` names (`None` without `nodes[]`), every node checked for `action`;
    /// `dest` is the folder `copy` and `move` put the nodes in.
    pub(crate) fn of(
        params: &Params,
        action: StdAction,
        dest: Option<&str>,
        max: u32,
    ) -> Result<Option<Batch>, AppError> {
        let raw = params.nodes();
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.len() > max as usize {
            return Err(AppError::InvalidParam {
                name: "nodes[]",
                reason: format!(
                    "at most {max} nodes per request (limits.max_batch), got {}",
                    raw.len()
                ),
            });
        }
        let changes = action != StdAction::Stat && action != StdAction::Download;
        let (normalized, mut verdicts): (Vec<Option<String>>, Vec<Option<AppError>>) = raw
            .iter()
            .map(|r| match paths::normalize(r) {
                Ok(node) => (Some(node), None),
                Err(err) => (
                    None,
                    Some(AppError::BadPath {
                        name: "nodes[]",
                        err,
                    }),
                ),
            })
            .unzip();
        for (i, node) in normalized.iter().enumerate() {
            let Some(node) = node else { continue };
            let earlier = |other: &String| normalized[..i].iter().flatten().any(|n| n == other);
            let refused = |reason: String| {
                Some(AppError::InvalidParam {
                    name: "nodes[]",
                    reason,
                })
            };
            let named = normalized.iter().flatten();
            let verdict = if earlier(node) {
                refused(format!("'{node}' is named twice"))
            } else if changes && node.is_empty() {
                refused("the workspace root itself cannot be deleted, copied or moved".into())
            } else if let Some(outer) = (action != StdAction::Stat)
                // A node inside another would be changed twice, or be twice in an archive. In
                // a changing batch the root, refused on its own, is not named as an outer node.
                .then(|| {
                    named
                        .clone()
                        .find(|n| inside(node, n) && !(changes && n.is_empty()))
                })
                .flatten()
            {
                let outer = match outer.as_str() {
                    "" => "the workspace root".to_owned(),
                    outer => format!("'{outer}'"),
                };
                refused(format!(
                    "'{node}' is inside {outer}, which the batch also names"
                ))
            } else if let Some(dest) = dest {
                let to = join(dest, file_name(node));
                let twin = normalized[..i]
                    .iter()
                    .flatten()
                    .find(|n| file_name(n) == file_name(node));
                if onto_itself(node, dest) {
                    refused(format!(
                        "'{node}' cannot be copied or moved onto or into itself"
                    ))
                } else if let Some(twin) = twin {
                    refused(format!("'{node}' and '{twin}' would both land at '{to}'"))
                } else {
                    None
                }
            } else {
                None
            };
            verdicts[i] = verdict;
        }
        if verdicts.iter().any(Option::is_some) {
            return Err(AppError::BatchRefused {
                results: raw.iter().map(|r| r.to_string()).zip(verdicts).collect(),
            });
        }
        Ok(Some(Batch {
            nodes: normalized.into_iter().flatten().collect(),
        }))
    }

    /// Runs `action` on each node in turn: 200 when every node is done, 207 when some failed,
    /// with `{"results": [{"node", "ok", "entry" | "error"}…], "done", "failed"}`. A batch
    /// that changes something is first checked by the driver, node by node.
    pub(crate) async fn run(
        self,
        state: &Shared,
        driver: &DriverTarget,
        action: StdAction,
        dest: Option<&str>,
    ) -> Result<Response, AppError> {
        if action != StdAction::Stat {
            self.check_with(state, driver, dest).await?;
        }
        let mut results = Vec::with_capacity(self.nodes.len());
        let mut failed = 0;
        for node in self.nodes {
            let to = dest.map(|d| join(d, file_name(&node)));
            let outcome = match (action, to) {
                (StdAction::Stat, _) => driver.stat(state, node.clone()).await.map(Some),
                (StdAction::Delete, _) => driver.delete(state, node.clone()).await.map(|()| None),
                (StdAction::Copy, Some(to)) => driver.copy(state, node.clone(), to).await.map(Some),
                (StdAction::Move, Some(to)) => {
                    driver.rename(state, node.clone(), to).await.map(Some)
                }
                _ => Err(AppError::Internal(format!(
                    "no batch form of '{}'",
                    action.name()
                ))),
            };
            let mut result = json!({ "node": node, "ok": outcome.is_ok() });
            match outcome {
                Ok(Some(entry)) => result["entry"] = json!(entry_json(&entry)),
                Ok(None) => {}
                Err(e) => {
                    e.log();
                    failed += 1;
                    result["error"] = error_json(&e);
                }
            }
            results.push(result);
        }
        let status = if failed == 0 {
            StatusCode::OK
        } else {
            StatusCode::MULTI_STATUS
        };
        let done = results.len() - failed;
        let body = json!({ "results": results, "done": done, "failed": failed });
        Ok((status, Json(body)).into_response())
    }

    /// The driver's part of the checks: every node reachable, `dest` a folder.
    async fn check_with(
        &self,
        state: &Shared,
        driver: &DriverTarget,
        dest: Option<&str>,
    ) -> Result<(), AppError> {
        if let Some(dest) = dest {
            let entry = driver.stat(state, dest.to_owned()).await?;
            if !entry.is_dir {
                return Err(AppError::InvalidParam {
                    name: "dest",
                    reason: format!("'{dest}' is a file, not a folder"),
                });
            }
        }
        let mut verdicts = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let verdict = driver.stat(state, node.clone()).await.err();
            verdicts.push((node.clone(), verdict));
        }
        if verdicts.iter().any(|(_, v)| v.is_some()) {
            return Err(AppError::BatchRefused { results: verdicts });
        }
        Ok(())
    }
}

/// Whether copying or moving `from` into folder `dest` would put it onto or into itself.
pub(crate) fn onto_itself(from: &str, dest: &str) -> bool {
    dest == from || inside(dest, from) || join(dest, file_name(from)) == from
}

/// Whether `path` lies strictly inside folder `dir`.
fn inside(path: &str, dir: &str) -> bool {
    path != dir && (dir.is_empty() || path.starts_with(&format!("{dir}/")))
}

/// `{"code", "message"}` of one node's error.
pub(crate) fn error_json(e: &AppError) -> Value {
    let (_, code, message) = e.parts();
    json!({ "code": code, "message": message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, action: StdAction, dest: Option<&str>) -> Result<Vec<String>, String> {
        match Batch::of(&Params::parse(query), action, dest, 3) {
            Ok(batch) => Ok(batch.map(|b| b.nodes).unwrap_or_default()),
            Err(AppError::BatchRefused { results }) => Err(results
                .iter()
                .map(|(node, v)| match v {
                    None => format!("{node}: ok"),
                    Some(e) => format!("{node}: {}", e.parts().2),
                })
                .collect::<Vec<_>>()
                .join("\n")),
            Err(e) => Err(e.parts().2),
        }
    }

    #[test]
    fn nodes_are_normalized_in_order() {
        let nodes = check("nodes[]=%2Fb&nodes[]=a%2F", StdAction::Delete, None).unwrap();
        assert_eq!(nodes, ["b", "a"]);
        assert!(check("file=x", StdAction::Delete, None).unwrap().is_empty());
    }

    #[test]
    fn one_bad_node_refuses_the_batch_naming_each_verdict() {
        let err = check("nodes[]=a&nodes[]=..%2Fetc", StdAction::Delete, None).unwrap_err();
        assert!(err.starts_with("a: ok\n../etc: "), "{err}");
        let err = check("nodes[]=a&nodes[]=a%2Fb", StdAction::Move, Some("z")).unwrap_err();
        assert!(err.contains("'a/b' is inside 'a'"), "{err}");
        let err = check("nodes[]=a&nodes[]=%2Fa", StdAction::Stat, None).unwrap_err();
        assert!(err.contains("named twice"), "{err}");
        let err = check("nodes[]=%2F", StdAction::Delete, None).unwrap_err();
        assert!(err.contains("root"), "{err}");
        // An archive would hold the inner node twice.
        let err = check("nodes[]=d&nodes[]=d%2Fx", StdAction::Download, None).unwrap_err();
        assert!(err.contains("'d/x' is inside 'd'"), "{err}");
        let err = check("nodes[]=%2F&nodes[]=x", StdAction::Download, None).unwrap_err();
        assert!(err.contains("'x' is inside the workspace root"), "{err}");
        // The root may be stat-ed.
        assert_eq!(check("nodes[]=%2F", StdAction::Stat, None).unwrap(), [""]);
    }

    #[test]
    fn copy_and_move_refuse_targets_onto_themselves_or_colliding() {
        let err = check("nodes[]=a", StdAction::Move, Some("a/b")).unwrap_err();
        assert!(err.contains("onto or into itself"), "{err}");
        let err = check("nodes[]=d%2Fa", StdAction::Copy, Some("d")).unwrap_err();
        assert!(err.contains("onto or into itself"), "{err}");
        let err = check("nodes[]=x%2Fa&nodes[]=y%2Fa", StdAction::Copy, Some("z")).unwrap_err();
        assert!(err.contains("would both land at 'z/a'"), "{err}");
        assert_eq!(
            check("nodes[]=x%2Fa&nodes[]=y%2Fb", StdAction::Copy, Some("")).unwrap(),
            ["x/a", "y/b"]
        );
    }

    #[test]
    fn a_batch_is_bounded() {
        let err = check(
            "nodes[]=a&nodes[]=b&nodes[]=c&nodes[]=d",
            StdAction::Stat,
            None,
        );
        assert!(err.unwrap_err().contains("at most 3 nodes"));
    }
}
