//! `StoreLocks` on both backends (the store suite's databases): the rules against dav-server's
//! `MemLs`, expiry, refresh, two instances on one database, racing LOCKs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem};
use dav_server::memls::MemLs;
use xmltree::Element;

use super::{StoreLocks, DEFAULT_TIMEOUT, MAX_TIMEOUT, UNAVAILABLE_TOKEN};
use crate::store::tests::{run, TestDb};

/// `path` below the door's prefix `/dav`, as dav-server hands it over.
fn p(path: &str) -> DavPath {
    let mut davpath = DavPath::new(&format!("/dav{path}")).expect("a valid path");
    davpath.set_prefix("/dav").expect("under the prefix");
    davpath
}

/// Takes a lock or panics.
async fn take(
    ls: &dyn DavLockSystem,
    path: &str,
    principal: &str,
    shared: bool,
    deep: bool,
) -> DavLock {
    ls.lock(&p(path), Some(principal), None, None, shared, deep)
        .await
        .unwrap_or_else(|conflict| panic!("lock {path}: conflict with {conflict:?}"))
}

/// The token of the lock `path` conflicts with, for a LOCK that must be refused.
async fn refused(
    ls: &dyn DavLockSystem,
    path: &str,
    principal: &str,
    shared: bool,
    deep: bool,
) -> String {
    match ls
        .lock(&p(path), Some(principal), None, None, shared, deep)
        .await
    {
        Ok(lock) => panic!("lock {path} granted: {lock:?}"),
        Err(conflict) => conflict.token,
    }
}

/// One step of a scenario run on `MemLs` and on `StoreLocks`; tokens are named by the index
/// of the step that took them.
enum Step {
    Lock(&'static str, &'static str, bool, bool),
    Check(
        &'static str,
        Option<&'static str>,
        bool,
        bool,
        &'static [usize],
    ),
    Unlock(&'static str, usize),
    Refresh(&'static str, usize),
    Delete(&'static str),
}

/// What a scenario saw: each step's success.
async fn play(ls: &dyn DavLockSystem, steps: &[Step]) -> Vec<bool> {
    let mut tokens: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for step in steps {
        let ok = match step {
            Step::Lock(path, who, shared, deep) => {
                match ls
                    .lock(&p(path), Some(who), None, None, *shared, *deep)
                    .await
                {
                    Ok(lock) => {
                        tokens.push(lock.token);
                        true
                    }
                    Err(_) => {
                        tokens.push(String::new());
                        false
                    }
                }
            }
            Step::Check(path, who, ignore, deep, held) => {
                tokens.push(String::new());
                let held: Vec<String> = held.iter().map(|i| tokens[*i].clone()).collect();
                ls.check(&p(path), *who, *ignore, *deep, &held)
                    .await
                    .is_ok()
            }
            Step::Unlock(path, i) => {
                let token = tokens[*i].clone();
                tokens.push(String::new());
                ls.unlock(&p(path), &token).await.is_ok()
            }
            Step::Refresh(path, i) => {
                let token = tokens[*i].clone();
                tokens.push(String::new());
                ls.refresh(&p(path), &token, Some(Duration::from_secs(60)))
                    .await
                    .is_ok()
            }
            Step::Delete(path) => {
                tokens.push(String::new());
                ls.delete(&p(path)).await.is_ok()
            }
        };
        seen.push(ok);
    }
    seen
}

async fn same_rules_as_memls(db: &TestDb) {
    use Step::*;
    let steps = [
        /* 0 */ Lock("/ws/dir/", "alice", true, true),
        /* 1 */ Lock("/ws/dir/", "bob", true, false),
        /* 2 */ Lock("/ws/dir/f", "alice", false, false),
        /* 3 */ Lock("/ws/dir/f", "alice", true, false),
        /* 4 */ Lock("/ws/other", "alice", false, true),
        /* 5 */ Lock("/ws/", "bob", false, true),
        /* 6 */ Lock("/ws/", "bob", true, true),
        /* 7 */ Lock("/ws/", "bob", true, false),
        /* 8 */ Check("/ws/dir/f", Some("bob"), false, false, &[]),
        /* 9 */ Check("/ws/dir/f", Some("alice"), false, false, &[0]),
        /* 10 */ Check("/ws/dir/f", Some("bob"), false, false, &[0]),
        /* 11 */ Check("/ws/dir/f", Some("bob"), true, false, &[0]),
        /* 12 */ Check("/ws/dir/", Some("alice"), false, true, &[0]),
        /* 13 */ Check("/ws/dir/", Some("alice"), false, true, &[0, 1]),
        /* 14 */ Check("/ws/dir/", Some("alice"), true, true, &[0, 1, 3]),
        /* 15 */ Check("/ws/other/x", None, true, false, &[]),
        /* 16 */ Check("/ws/other/x", None, true, false, &[4]),
        /* 17 */ Check("/ws/unrelated", None, true, true, &[]),
        /* 18 */ Check("/ws", None, true, true, &[]),
        /* 19 */ Check("/ws", None, true, true, &[0, 1, 3, 4, 7]),
        /* 20 */ Unlock("/ws/dir/f", 4),
        /* 21 */ Refresh("/ws/other/sub", 4),
        /* 22 */ Refresh("/ws/dir/f", 4),
        /* 23 */ Unlock("/ws/dir/f", 0),
        /* 24 */ Unlock("/ws/dir/f", 0),
        /* 25 */ Check("/ws/dir/f", Some("bob"), false, false, &[]),
        /* 26 */ Delete("/ws/dir/"),
        /* 27 */ Check("/ws/dir/f", Some("bob"), false, false, &[]),
        /* 28 */ Lock("/ws/dir/f", "bob", false, false),
        /* 29 */ Lock("/", "alice", false, false),
        /* 30 */ Lock("/ws/x", "alice", false, false),
        /* 31 */ Lock("/", "bob", true, false),
        /* 32 */ Check("/", Some("bob"), false, false, &[]),
        /* 33 */ Check("/", Some("alice"), false, false, &[29]),
        /* 34 */ Lock("/", "bob", true, true),
        // (Not DELETE of the root: MemLs panics on it.)
        /* 35 */
        Delete("/ws/other"),
        /* 36 */ Check("/ws/other/x", None, true, false, &[]),
        /* 37 */ Lock("/anything/deep/below", "alice", true, false),
        /* 38 */ Lock("/anything/", "bob", true, true),
        /* 39 */ Lock("/anything/", "bob", false, true),
    ];
    let memls = MemLs::new();
    let expected = play(memls.as_ref(), &steps).await;
    let ours = play(&StoreLocks::new((**db).clone()), &steps).await;
    for (i, (theirs, ours)) in expected.iter().zip(&ours).enumerate() {
        assert_eq!(theirs, ours, "step {i}: MemLs {theirs}, StoreLocks {ours}");
    }
    // The scenario means something: it has both outcomes.
    assert!(ours.iter().any(|ok| *ok) && ours.iter().any(|ok| !*ok));
}

async fn exclusive_and_shared_conflicts(db: &TestDb) {
    let ls = StoreLocks::new((**db).clone());
    let first = take(&ls, "/ws/a.txt", "alice", false, false).await;
    assert!(first.token.starts_with("urn:uuid:"), "{}", first.token);
    assert_eq!(
        refused(&ls, "/ws/a.txt", "bob", false, false).await,
        first.token
    );
    assert_eq!(
        refused(&ls, "/ws/a.txt", "bob", true, false).await,
        first.token
    );
    assert_eq!(
        refused(&ls, "/ws/a.txt", "alice", false, false).await,
        first.token,
        "even its owner"
    );

    let s1 = take(&ls, "/ws/b.txt", "alice", true, false).await;
    let s2 = take(&ls, "/ws/b.txt", "bob", true, false).await;
    assert_ne!(s1.token, s2.token);
    // Either shared lock is the conflict (two taken in one millisecond have no order).
    let conflict = refused(&ls, "/ws/b.txt", "carol", false, false).await;
    assert!(conflict == s1.token || conflict == s2.token, "{conflict}");
    // A write needs one of the shared locks.
    assert!(ls
        .check(&p("/ws/b.txt"), Some("carol"), false, false, &[])
        .await
        .is_err());
    assert!(ls
        .check(
            &p("/ws/b.txt"),
            Some("bob"),
            false,
            false,
            std::slice::from_ref(&s2.token)
        )
        .await
        .is_ok());
    assert!(
        ls.check(&p("/ws/b.txt"), Some("carol"), false, false, &[s2.token])
            .await
            .is_err(),
        "bob's token, carol's request"
    );
}

async fn deep_locks(db: &TestDb) {
    let ls = StoreLocks::new((**db).clone());
    let dir = take(&ls, "/ws/dir/", "alice", false, true).await;
    // Deep: a child cannot be locked, or written without the token.
    assert_eq!(
        refused(&ls, "/ws/dir/f.txt", "bob", false, false).await,
        dir.token
    );
    assert_eq!(
        refused(&ls, "/ws/dir/sub/g", "bob", true, false).await,
        dir.token
    );
    assert!(ls
        .check(&p("/ws/dir/f.txt"), Some("bob"), false, false, &[])
        .await
        .is_err());
    assert!(ls
        .check(
            &p("/ws/dir/f.txt"),
            Some("alice"),
            false,
            false,
            std::slice::from_ref(&dir.token)
        )
        .await
        .is_ok());
    // `/ws/dir` and `/ws/dir/` are one resource; `/ws/dirx` another.
    assert_eq!(
        refused(&ls, "/ws/dir", "bob", false, false).await,
        dir.token
    );
    take(&ls, "/ws/dirx", "bob", false, false).await;
    // A deep lock on an ancestor meets the lock below.
    assert_eq!(refused(&ls, "/ws/", "bob", false, true).await, dir.token);

    // Depth 0 on a folder: its children are free, the folder is not.
    let flat = take(&ls, "/ws/flat/", "alice", false, false).await;
    let child = take(&ls, "/ws/flat/f.txt", "bob", false, false).await;
    assert_eq!(
        refused(&ls, "/ws/flat", "bob", true, false).await,
        flat.token
    );
    assert!(ls
        .check(&p("/ws/flat/f.txt"), Some("carol"), false, false, &[])
        .await
        .is_err());
    // DELETE of the folder (a deep check) meets the child's lock too.
    let err = ls
        .check(
            &p("/ws/flat/"),
            Some("alice"),
            false,
            true,
            std::slice::from_ref(&flat.token),
        )
        .await
        .unwrap_err();
    assert_eq!(err.token, child.token);

    // Discovery: the locks on the path and the deep ones above it, with their lock root.
    let found = ls.discover(&p("/ws/dir/sub/g")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].token, dir.token);
    assert_eq!(found[0].path.with_prefix().as_url_string(), "/dav/ws/dir/");
    assert!(found[0].deep && !found[0].shared);
    let found = ls.discover(&p("/ws/flat/f.txt")).await;
    assert_eq!(
        found.iter().map(|l| l.token.as_str()).collect::<Vec<_>>(),
        [child.token.as_str()],
        "a depth-0 lock of the parent does not cover the child"
    );
    assert_eq!(ls.discover(&p("/ws/flat")).await[0].token, flat.token);
    assert!(ls.discover(&p("/ws/none")).await.is_empty());

    // DELETE or MOVE away of the folder drops the locks at and under it, only there.
    ls.delete(&p("/ws/flat/")).await.unwrap();
    assert!(ls.discover(&p("/ws/flat/f.txt")).await.is_empty());
    assert!(ls.discover(&p("/ws/flat")).await.is_empty());
    assert_eq!(ls.discover(&p("/ws/dir/")).await.len(), 1);
    assert_eq!(ls.discover(&p("/ws/dirx")).await.len(), 1);
}

async fn timeouts_and_refresh(db: &TestDb) {
    let ls = StoreLocks::new((**db).clone());
    let none = ls
        .lock(&p("/ws/a"), Some("u"), None, None, false, false)
        .await
        .unwrap();
    assert_eq!(none.timeout, Some(DEFAULT_TIMEOUT));
    let long = ls
        .lock(
            &p("/ws/b"),
            Some("u"),
            None,
            Some(Duration::from_secs(86_400)),
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!(long.timeout, Some(MAX_TIMEOUT), "capped");
    let short = ls
        .lock(
            &p("/ws/c"),
            Some("u"),
            None,
            Some(Duration::from_secs(30)),
            false,
            false,
        )
        .await
        .unwrap();
    assert_eq!(short.timeout, Some(Duration::from_secs(30)));
    let until = short.timeout_at.unwrap();
    let left = until.duration_since(SystemTime::now()).unwrap();
    assert!(left > Duration::from_secs(25), "{left:?}");

    // Refresh extends, by its token only.
    let refreshed = ls
        .refresh(&p("/ws/c"), &short.token, Some(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(refreshed.timeout, Some(Duration::from_secs(600)));
    assert!(refreshed.timeout_at.unwrap() > until + Duration::from_secs(500));
    assert_eq!(refreshed.token, short.token);
    assert_eq!(
        ls.discover(&p("/ws/c")).await[0].timeout,
        Some(Duration::from_secs(600))
    );
    assert!(
        ls.refresh(&p("/ws/c"), &none.token, None).await.is_err(),
        "another path's lock"
    );
    assert!(ls
        .refresh(&p("/ws/c"), "urn:uuid:nope", None)
        .await
        .is_err());
    let infinite = ls.refresh(&p("/ws/c"), &short.token, None).await.unwrap();
    assert_eq!(infinite.timeout, Some(DEFAULT_TIMEOUT));

    // Unlock with the wrong token is refused and the lock holds; with its own, it goes.
    assert!(ls.unlock(&p("/ws/c"), &none.token).await.is_err());
    assert!(ls.unlock(&p("/ws/c"), "urn:uuid:nope").await.is_err());
    assert_eq!(refused(&ls, "/ws/c", "v", false, false).await, short.token);
    ls.unlock(&p("/ws/c"), &short.token).await.unwrap();
    assert!(ls.unlock(&p("/ws/c"), &short.token).await.is_err(), "once");
    take(&ls, "/ws/c", "v", false, false).await;
}

async fn expired_locks_are_ignored_and_swept(db: &TestDb) {
    let ls = StoreLocks::new((**db).clone());
    let old = take(&ls, "/ws/dir/", "alice", false, true).await;
    db.dav_expire_lock(&old.token).await.unwrap();
    assert!(ls.discover(&p("/ws/dir/")).await.is_empty());
    assert!(ls
        .check(&p("/ws/dir/f"), Some("bob"), false, true, &[])
        .await
        .is_ok());
    assert!(ls.refresh(&p("/ws/dir/"), &old.token, None).await.is_err());
    assert!(ls.unlock(&p("/ws/dir/"), &old.token).await.is_err());
    let new = take(&ls, "/ws/dir/f", "bob", false, false).await;
    assert_ne!(new.token, old.token);
    assert_eq!(db.sweep_dav_locks().await.unwrap(), 1);
    assert_eq!(
        ls.discover(&p("/ws/dir/f")).await.len(),
        1,
        "the live lock stays"
    );

    // A LOCK sweeps once a minute by itself.
    let stale = take(&ls, "/ws/stale", "alice", false, false).await;
    db.dav_expire_lock(&stale.token).await.unwrap();
    ls.last_sweep.store(0, std::sync::atomic::Ordering::Relaxed);
    take(&ls, "/ws/other", "alice", false, false).await;
    assert_eq!(db.sweep_dav_locks().await.unwrap(), 0, "already swept");
}

async fn owner_round_trips(db: &TestDb) {
    let ls = StoreLocks::new((**db).clone());
    let xml =
        r#"<D:owner xmlns:D="DAV:"><D:href>mailto:alice@example.com</D:href> Alice é</D:owner>"#;
    let owner = Element::parse(xml.as_bytes()).unwrap();
    let lock = ls
        .lock(&p("/ws/o"), Some("alice"), Some(&owner), None, false, false)
        .await
        .unwrap();
    assert_eq!(lock.principal.as_deref(), Some("alice"));
    let found = ls.discover(&p("/ws/o")).await.pop().unwrap();
    let back = found.owner.expect("the owner is kept");
    assert_eq!(
        (
            back.name.as_str(),
            back.prefix.as_deref(),
            back.namespace.as_deref()
        ),
        ("owner", Some("D"), Some("DAV:"))
    );
    let href = back.get_child("href").expect("the owner's child");
    assert_eq!(href.get_text().as_deref(), Some("mailto:alice@example.com"));
    assert_eq!(*back, owner);
    assert_eq!(found.principal.as_deref(), Some("alice"));
}

async fn two_instances_share_locks(db: &TestDb) {
    let other = db.reopen(db.key()).await.expect("a second connection pool");
    let one = StoreLocks::new((**db).clone());
    let two = StoreLocks::new(other.clone());
    let lock = take(&one, "/ws/shared/", "alice", false, true).await;
    assert_eq!(
        refused(&two, "/ws/shared/f", "bob", false, false).await,
        lock.token
    );
    assert!(two
        .check(&p("/ws/shared/f"), Some("bob"), false, false, &[])
        .await
        .is_err());
    assert_eq!(two.discover(&p("/ws/shared/f")).await[0].token, lock.token);
    two.refresh(
        &p("/ws/shared/"),
        &lock.token,
        Some(Duration::from_secs(120)),
    )
    .await
    .unwrap();
    assert_eq!(
        one.discover(&p("/ws/shared")).await[0].timeout,
        Some(Duration::from_secs(120))
    );
    two.unlock(&p("/ws/shared/"), &lock.token).await.unwrap();
    assert!(one.discover(&p("/ws/shared/")).await.is_empty());
    take(&one, "/ws/shared/f", "bob", false, false).await;
    other.close().await;
}

/// A request's lock system reads a folder's locks once and discovers each member's from
/// them: the same locks as asked one by one, and a LOCK in the request is seen at once.
async fn discovery_per_request_matches(db: &TestDb) {
    let ls = StoreLocks::new((**db).clone());
    take(&ls, "/ws/", "alice", true, true).await;
    take(&ls, "/ws/d/", "alice", true, false).await;
    take(&ls, "/ws/d/a", "bob", true, false).await;
    take(&ls, "/ws/d/sub/", "bob", true, true).await;
    take(&ls, "/ws/d/sub/x", "bob", true, false).await;
    let tokens = |locks: Vec<DavLock>| {
        let mut t: Vec<String> = locks.into_iter().map(|l| l.token).collect();
        t.sort();
        t
    };
    let request = ls.for_request();
    for path in [
        "/ws/d/",
        "/ws/d/a",
        "/ws/d/b",
        "/ws/d/sub/",
        "/ws/d/sub/x",
        "/ws/e",
    ] {
        assert_eq!(
            tokens(request.discover(&p(path)).await),
            tokens(ls.discover(&p(path)).await),
            "{path}"
        );
    }
    // The deep lock on /ws covers /ws/d/b; one taken now on it is seen by the same request.
    assert_eq!(request.discover(&p("/ws/d/b")).await.len(), 1);
    take(&request, "/ws/d/b", "carol", true, false).await;
    assert_eq!(request.discover(&p("/ws/d/b")).await.len(), 2);
}

/// Runs `n` exclusive LOCKs at once, alternating between two stores on the database, each on
/// the path `paths[i % paths.len()]` (deep or not); the paths granted, sorted.
async fn race(db: &TestDb, n: usize, paths: &'static [(&'static str, bool)]) -> Vec<&'static str> {
    let other = db.reopen(db.key()).await.expect("a second connection pool");
    let systems = [
        StoreLocks::new((**db).clone()),
        StoreLocks::new(other.clone()),
    ];
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let ls = systems[i % 2].clone();
            let start = Arc::clone(&start);
            let (path, deep) = paths[i % paths.len()];
            tokio::spawn(async move {
                start.wait().await;
                let user = format!("user{i}");
                let granted = ls
                    .lock(&p(path), Some(&user), None, None, false, deep)
                    .await;
                granted.is_ok().then_some(path)
            })
        })
        .collect();
    let mut granted = Vec::new();
    for task in tasks {
        granted.extend(task.await.expect("a LOCK task"));
    }
    other.close().await;
    granted.sort_unstable();
    granted
}

async fn racing_exclusive_locks_one_wins(db: &TestDb) {
    assert_eq!(
        race(db, 12, &[("/ws/race.txt", false)]).await,
        ["/ws/race.txt"]
    );
    // A deep lock on a folder conflicts with locks on its children, which do not conflict
    // with each other: either the folder's wins, or one LOCK on each child.
    let granted = race(
        db,
        12,
        &[
            ("/ws/dir/", true),
            ("/ws/dir/a", false),
            ("/ws/dir/b/c", false),
        ],
    )
    .await;
    assert!(
        granted == ["/ws/dir/"] || granted == ["/ws/dir/a", "/ws/dir/b/c"],
        "{granted:?}"
    );
    // The same with a deep lock on the root, against paths in two top-level collections.
    let granted = race(db, 12, &[("/", true), ("/ws2/x", false), ("/ws3/y", false)]).await;
    assert!(
        granted == ["/"] || granted == ["/ws2/x", "/ws3/y"],
        "{granted:?}"
    );
    // Different paths do not conflict: every one is granted.
    assert_eq!(
        race(
            db,
            4,
            &[
                ("/ws4/a", false),
                ("/ws4/b", false),
                ("/ws5/a", false),
                ("/ws6/", true)
            ]
        )
        .await,
        ["/ws4/a", "/ws4/b", "/ws5/a", "/ws6/"]
    );
}

async fn a_failing_store_refuses(db: &TestDb) {
    let broken = db.reopen(db.key()).await.expect("a second connection pool");
    let ls = StoreLocks::new(broken.clone());
    let lock = take(&ls, "/ws/a", "alice", true, false).await;
    broken.close().await;
    let conflict = ls
        .lock(&p("/ws/b"), Some("alice"), None, None, false, false)
        .await
        .unwrap_err();
    assert_eq!(conflict.token, UNAVAILABLE_TOKEN);
    let err = ls
        .check(&p("/ws/free"), Some("alice"), true, true, &[])
        .await
        .unwrap_err();
    assert_eq!(err.token, UNAVAILABLE_TOKEN, "not 'no lock, go ahead'");
    assert!(ls.unlock(&p("/ws/a"), &lock.token).await.is_err());
    assert!(ls.refresh(&p("/ws/a"), &lock.token, None).await.is_err());
    assert!(ls.delete(&p("/ws/a")).await.is_err());
    assert!(ls.discover(&p("/ws/a")).await.is_empty());
    // The lock itself is still there for the healthy instance.
    assert_eq!(
        StoreLocks::new((**db).clone())
            .discover(&p("/ws/a"))
            .await
            .len(),
        1
    );
}

/// Runs each test function once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::sqlite().await;
                    super::run(db, |db| Box::pin(super::$name(db))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::postgres().await;
                    super::run(db, |db| Box::pin(super::$name(db))).await;
                }
            )*
        }
    };
}

on_both_backends! {
    same_rules_as_memls,
    exclusive_and_shared_conflicts,
    deep_locks,
    timeouts_and_refresh,
    expired_locks_are_ignored_and_swept,
    owner_round_trips,
    two_instances_share_locks,
    discovery_per_request_matches,
    racing_exclusive_locks_one_wins,
    a_failing_store_refuses,
}

#[test]
fn granted_timeouts() {
    use super::granted;
    assert_eq!(granted(None), DEFAULT_TIMEOUT);
    assert_eq!(granted(Some(Duration::ZERO)), Duration::from_secs(1));
    assert_eq!(
        granted(Some(Duration::from_secs(90))),
        Duration::from_secs(90)
    );
    assert_eq!(granted(Some(Duration::from_secs(u64::MAX))), MAX_TIMEOUT);
}

#[test]
fn keys_ignore_a_collections_slash() {
    use super::key_of;
    assert_eq!(key_of(&p("/")), (String::new(), "/".to_owned()));
    assert_eq!(
        key_of(&p("/ws/dir/")),
        ("/ws/dir".to_owned(), "/ws/dir/".to_owned())
    );
    assert_eq!(key_of(&p("/ws/a%20b")).0, "/ws/a%20b");
    assert_eq!(
        key_of(&p("/ws/a b")).0,
        key_of(&p("/ws/a%20b")).0,
        "one encoding"
    );
}
