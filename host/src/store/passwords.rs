//! argon2id hashing and verification, bounded. Each computation needs 19 MiB of working
//! memory (argon2's default `m_cost`); left alone, a flood of anonymous logins runs one per
//! request on tokio's blocking pool (up to 512 threads) and the freed blocks stay in the
//! allocator's per-thread arenas: 300 failed logins took a host from 27 MB to 2.8 GB, and
//! 2 GB stayed resident. So:
//!
//! - at most [`slots`] computations run at once (one per core: more would not finish sooner);
//!   a caller waits up to [`WAIT`] for a slot, then gets [`StoreError::Busy`] (503 with
//!   `Retry-After`), so waiting callers cannot pile up without end either;
//! - each slot owns its working memory, allocated once and reused, so the host's memory for
//!   passwords is `slots × 19 MiB` however many logins come, and stays that when idle.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::StoreError;

/// How long a password check waits for a free slot before it is refused as busy.
pub(crate) const WAIT: Duration = Duration::from_secs(2);

/// Working memory of one slot kept between computations: enough for the default parameters.
/// A stored hash with larger parameters gets a buffer of its own, dropped after use.
const KEPT_BLOCKS: usize = Params::DEFAULT_M_COST as usize;

/// The slots of one process (every store of the process shares them: memory is per process).
struct Gate {
    permits: Semaphore,
    /// Working memories not in use; at most one per permit.
    memories: Mutex<Vec<Vec<Block>>>,
    wait: Duration,
}

impl Gate {
    fn new(slots: usize, wait: Duration) -> Gate {
        Gate {
            permits: Semaphore::new(slots),
            memories: Mutex::new(Vec::with_capacity(slots)),
            wait,
        }
    }

    /// Runs `f` with a slot's working memory on the blocking pool, once a slot is free.
    async fn run<T: Send + 'static>(
        &'static self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| StoreError::Busy(Duration::from_secs(1)))?
            .map_err(|_| StoreError::Internal("the password slots are closed".into()))?;
        let mut memory = self
            .memories
            .lock()
            .expect("password memories")
            .pop()
            .unwrap_or_default();
        let (out, memory) = tokio::task::spawn_blocking(move || {
            let out = f(&mut memory);
            (out, memory)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("password hashing task failed: {e}")))?;
        if memory.len() <= KEPT_BLOCKS {
            self.memories
                .lock()
                .expect("password memories")
                .push(memory);
        }
        drop(permit);
        Ok(out)
    }
}

/// How many password computations run at once: one per core.
pub(crate) fn slots() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate::new(slots(), WAIT))
}

/// `argon2` with `params`, computed into `memory` (grown to the size the parameters need).
fn compute(
    argon2: &Argon2<'_>,
    memory: &mut Vec<Block>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// The argon2id PHC string of `password` (default parameters, random salt).
pub(crate) async fn hash(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    gate()
        .run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            let params = Params::default();
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let mut raw_salt = [0u8; 64];
            let failed = |e: &dyn std::fmt::Display| {
                StoreError::Internal(format!("password hashing failed: {e}"))
            };
            let salt_bytes = salt.decode_b64(&mut raw_salt).map_err(|e| failed(&e))?;
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            compute(&argon2, memory, password.as_bytes(), salt_bytes, &mut out)
                .map_err(|e| failed(&e))?;
            let output = Output::new(&out).map_err(|e| failed(&e))?;
            let phc = PasswordHash {
                algorithm: argon2::ARGON2ID_IDENT,
                version: Some(Version::V0x13.into()),
                params: (&params).try_into().map_err(|e| failed(&e))?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(phc.to_string())
        })
        .await?
}

/// Whether `password` matches the PHC string `phc`; a malformed hash matches nothing.
pub(crate) async fn verify(password: &str, phc: String) -> Result<bool, StoreError> {
    let password = password.to_owned();
    gate()
        .run(move |memory| matches(memory, password.as_bytes(), &phc))
        .await
}

/// What `PasswordVerifier::verify_password` does, with `memory` as the working memory.
fn matches(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut raw_salt = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    if compute(&argon2, memory, password, salt, &mut out).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn hashes_verify_both_ways_with_the_argon2_crate() {
        let ours = hash("correct horse").await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(Argon2::default()
            .verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap())
            .is_ok());
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify("battery staple", theirs.clone()).await.unwrap());
        assert!(!verify("battery stapler", theirs).await.unwrap());
        assert!(!verify("x", ours.replace("argon2id", "argon2i"))
            .await
            .unwrap());
        assert!(!verify("x", "not a hash".into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_caller_past_the_slots_waits_then_is_refused_as_busy() {
        static GATE: OnceLock<Gate> = OnceLock::new();
        let gate = GATE.get_or_init(|| Gate::new(1, Duration::from_millis(100)));
        let (started, release) = (
            std::sync::Arc::new(std::sync::Barrier::new(2)),
            std::sync::Arc::new(std::sync::Barrier::new(2)),
        );
        let (s, r) = (started.clone(), release.clone());
        let busy = tokio::spawn(gate.run(move |_| {
            s.wait();
            r.wait();
        }));
        tokio::task::spawn_blocking(move || started.wait())
            .await
            .unwrap();
        let refused = gate.run(|_| ()).await;
        assert!(matches!(refused, Err(StoreError::Busy(_))), "{refused:?}");
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .unwrap();
        busy.await.unwrap().unwrap();
        gate.run(|_| ()).await.expect("a slot is free again");
        assert!(
            gate.memories.lock().unwrap().len() <= 1,
            "one memory per slot"
        );
    }
}
