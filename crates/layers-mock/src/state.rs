//! Shared state of one mock instance.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use uuid::Uuid;

use super::config::MockConfig;
use super::faults::ThrottleWindow;
use super::idempotency::IdempotencyStore;
use super::ids::IdGen;
use super::rate_limit::RateLimiter;
use super::store::Store;

/// Fixed id of the default organization (the docs' example org id).
pub const ORG_ID: Uuid = Uuid::from_u128(0x2481fa5c_a404_44ed_a561_565392499abc);
/// Name of the default organization.
pub const ORG_NAME: &str = "Mock Org";

/// Cheaply clonable handle on the state; what axum handlers receive.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    config: MockConfig,
    /// Ids of resources; rewound by reset so seeded runs repeat.
    ids: IdGen,
    /// Request ids and fault rolls, kept apart so resource ids don't depend on traffic.
    request_ids: IdGen,
    store: Mutex<Store>,
    rate_limiter: RateLimiter,
    idempotency: IdempotencyStore,
    /// Burst state of `--throttle`.
    throttle: ThrottleWindow,
    /// Built on first webhook delivery; `None` if the TLS backend failed to initialise.
    http: OnceLock<Option<reqwest::Client>>,
}

impl AppState {
    /// Fresh state for `config`.
    pub fn new(config: MockConfig) -> AppState {
        let request_seed = config.seed.map(|s| s ^ 0x9e37_79b9_7f4a_7c15);
        AppState(Arc::new(Shared {
            ids: IdGen::new(config.seed),
            request_ids: IdGen::new(request_seed),
            store: Mutex::new(Store::new(config.initial_credits)),
            rate_limiter: RateLimiter::default(),
            idempotency: IdempotencyStore::default(),
            throttle: ThrottleWindow::new(config.throttle),
            http: OnceLock::new(),
            config,
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &MockConfig {
        &self.0.config
    }

    /// Resource id generator.
    pub fn ids(&self) -> &IdGen {
        &self.0.ids
    }

    /// Request id / fault roll generator.
    pub fn request_ids(&self) -> &IdGen {
        &self.0.request_ids
    }

    /// Locks the store. Never hold the guard across an `.await`.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.0.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rate-limit buckets.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.0.rate_limiter
    }

    /// Idempotency table.
    pub fn idempotency(&self) -> &IdempotencyStore {
        &self.0.idempotency
    }

    /// Whether this request falls in a `--throttle` burst.
    pub fn take_throttle(&self) -> bool {
        self.0.throttle.take(std::time::Instant::now())
    }

    /// HTTP client for webhook deliveries: no proxy (loopback must stay loopback) and no
    /// redirects (a 3xx must not lead the mock off the machine).
    pub fn http(&self) -> Option<&reqwest::Client> {
        self.0
            .http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .user_agent(concat!("layers-mock/", env!("CARGO_PKG_VERSION")))
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Clears all state: resources, jobs, wallet, ledger, idempotency, rate limits, and the
    /// throttle budget; a seeded id generator starts its sequence over.
    pub fn reset(&self) {
        {
            let mut store = self.store();
            *store = Store::new(self.0.config.initial_credits);
        }
        self.0.rate_limiter.reset();
        self.0.idempotency.reset();
        self.0.ids.reset();
        self.0.throttle.reset(std::time::Instant::now());
    }
}
