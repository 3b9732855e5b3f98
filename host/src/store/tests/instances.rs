//! The rows of running instances.

use std::time::Duration;

use super::TestDb;
use crate::store::InstanceRecord;

fn record(name: &str, fingerprint: &str) -> InstanceRecord {
    InstanceRecord {
        instance: name.into(),
        fingerprint: fingerprint.into(),
        details: "{}".into(),
        started_at: 1,
        seen_at: 1,
    }
}

/// An instance is listed once however often it refreshes, with its last fingerprint, until
/// it stops; one not seen within the window is not listed.
pub(super) async fn instances_are_listed_while_they_refresh(db: &TestDb) {
    db.instance_seen(&record("b:2", "x")).await.unwrap();
    db.instance_seen(&record("a:1", "x")).await.unwrap();
    db.instance_seen(&record("a:1", "y")).await.unwrap();
    let live = db.live_instances(Duration::from_secs(60)).await.unwrap();
    let names: Vec<(&str, &str)> = live
        .iter()
        .map(|r| (r.instance.as_str(), r.fingerprint.as_str()))
        .collect();
    assert_eq!(names, [("a:1", "y"), ("b:2", "x")]);
    assert!(live[0].seen_at > 1, "seen now, not when recorded");
    db.instance_gone("a:1").await.unwrap();
    let live = db.live_instances(Duration::from_secs(60)).await.unwrap();
    assert_eq!(live.len(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(db.live_instances(Duration::ZERO).await.unwrap().is_empty());
}
