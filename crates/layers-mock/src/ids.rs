//! Id and secret generation, reproducible when the mock is seeded.

use std::sync::Mutex;

use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ulid::Ulid;
use uuid::Uuid;

/// Start of the logical clock used for ULID timestamps in seeded mode (2026-01-01T00:00:00Z).
const SEEDED_EPOCH_MS: u64 = 1_767_225_600_000;

/// Generates ULIDs, UUIDs and secrets. Seeded generators give the same sequence every run:
/// their ULID time part is a logical clock, so even the timestamp bits repeat.
pub struct IdGen {
    seed: Option<u64>,
    inner: Mutex<GenState>,
}

struct GenState {
    rng: StdRng,
    ticks: u64,
}

impl IdGen {
    /// A generator seeded with `seed`, or from the OS when `None`.
    pub fn new(seed: Option<u64>) -> Self {
        IdGen {
            seed,
            inner: Mutex::new(GenState::new(seed)),
        }
    }

    /// Rewinds a seeded generator to its first id (a no-op reseed from the OS otherwise).
    pub fn reset(&self) {
        *self.lock() = GenState::new(self.seed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GenState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh ULID (26 Crockford base32 chars when printed).
    pub fn ulid(&self) -> Ulid {
        let mut state = self.lock();
        let random = (u128::from(state.rng.next_u64()) << 64) | u128::from(state.rng.next_u64());
        let millis = match self.seed {
            Some(_) => {
                state.ticks += 1;
                SEEDED_EPOCH_MS + state.ticks
            }
            None => chrono::Utc::now().timestamp_millis().max(0) as u64,
        };
        Ulid::from_parts(millis, random)
    }

    /// A fresh random (v4) UUID.
    pub fn uuid(&self) -> Uuid {
        uuid::Builder::from_random_bytes(self.bytes::<16>()).into_uuid()
    }

    /// `n` random bytes, base64url without padding (32 bytes → 43 chars).
    pub fn secret(&self, n: usize) -> String {
        let mut bytes = vec![0u8; n];
        self.lock().rng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A uniform draw in `[0, 1)`, used for fault and outcome decisions.
    pub fn unit(&self) -> f64 {
        // 53 random bits fill an f64 mantissa exactly.
        (self.lock().rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut bytes = [0u8; N];
        self.lock().rng.fill_bytes(&mut bytes);
        bytes
    }
}

impl GenState {
    fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        GenState { rng, ticks: 0 }
    }
}

/// Prefixes a ULID, e.g. `job_01HX…`.
pub fn prefixed(prefix: &str, id: Ulid) -> String {
    format!("{prefix}_{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generators_repeat() {
        let a = IdGen::new(Some(7));
        let b = IdGen::new(Some(7));
        assert_eq!(a.ulid(), b.ulid());
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.secret(32), b.secret(32));
        a.reset();
        let c = IdGen::new(Some(7));
        assert_eq!(a.ulid(), c.ulid());
    }

    #[test]
    fn shapes() {
        let ids = IdGen::new(None);
        assert_eq!(ids.ulid().to_string().len(), 26);
        assert_eq!(ids.uuid().get_version_num(), 4);
        assert_eq!(ids.secret(32).len(), 43);
        let u = ids.unit();
        assert!((0.0..1.0).contains(&u));
    }
}
