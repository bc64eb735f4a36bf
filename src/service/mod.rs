//! Operations every wire family shares: load from the store, apply domain rules, write through a
//! `Tx` (atomic, group-committed). A Clock In from the app and a punch from a handheld are one
//! call here.
//!
//! Convention: functions that change state take `&mut Tx` and are synchronous (the caller
//! commits); read-only functions take `&Services` or `&Store`.

pub mod access;
pub mod accounts;
pub mod answers;
pub mod attendance;
pub mod attendance_demo;
pub mod attendance_views;
pub mod cells;
pub mod codelayer_session;
pub mod demo;
pub mod desk;
pub mod device_logins;
pub mod devices;
pub mod error;
pub mod estate;
pub mod expiry;
pub mod gatepass;
pub mod geofence;
pub mod hr;
pub mod hr_details;
pub mod idempotency;
pub mod identity;
pub mod lockout;
pub mod maintenance;
pub mod outbox;
pub mod recovery;
pub mod secrets;
pub mod storage;
pub mod terminals;
pub mod throttle;
pub mod transfer;
pub mod upstream;
pub mod walks;
pub mod work;

use std::sync::Arc;
use std::time::Instant;

/// The unit of work services stage their changes on (opened by the caller, committed once).
pub use crate::store::{StoreError, Tx};
pub use error::ServiceError;

use crate::config::Config;
use crate::store::Store;
use crate::telemetry::Metrics;

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

pub struct Services {
    pub store: Store,
    pub config: Arc<Config>,
    pub secrets: secrets::Secrets,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    /// Signalled when an operation needs the server to restart (a staged restore).
    pub restart: Arc<tokio::sync::Notify>,
    /// Bounds on LAN load: requests at once, and KiB of request bodies held at once.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    pub body_budget_kib: Arc<tokio::sync::Semaphore>,
    /// Heavy answers rendered once per data version and shared (sized from the memory limit).
    pub answers: answers::Answers,
    /// Reads that walk (text search): off the async workers, one per core at once.
    pub walks: walks::Walks,
}

impl Services {
    /// A fresh store in `dir` with default configuration, for unit tests of a service.
    #[cfg(test)]
    pub(crate) fn for_tests(dir: &std::path::Path) -> (Store, Arc<Self>) {
        Self::for_tests_with(dir, Config::default())
    }

    /// `for_tests` with a configuration of the test's own (a short limit, a small budget).
    #[cfg(test)]
    pub(crate) fn for_tests_with(dir: &std::path::Path, config: Config) -> (Store, Arc<Self>) {
        let store = Store::open(dir, crate::store::StoreOptions::default()).expect("test store");
        let svc = Self::new(
            store.clone(),
            Arc::new(config),
            Arc::new(Metrics::default()),
        )
        .expect("test services");
        (store, svc)
    }

    pub fn new(store: Store, config: Arc<Config>, metrics: Arc<Metrics>) -> Result<Arc<Self>> {
        let secrets = secrets::Secrets::load_or_create(store.state_dir())?;
        let budget = config.budget();
        Ok(Arc::new(Self {
            store,
            secrets,
            metrics,
            started: Instant::now(),
            restart: Arc::new(tokio::sync::Notify::new()),
            in_flight: Arc::new(tokio::sync::Semaphore::new(
                config.http.max_in_flight.max(1),
            )),
            body_budget_kib: Arc::new(tokio::sync::Semaphore::new(
                budget
                    .request_bodies_kib
                    .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
            )),
            answers: answers::Answers::new(
                budget.answers_cache_bytes as usize,
                budget.answers_render_kib,
            ),
            walks: walks::Walks::per_core(),
            config,
        }))
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    pub fn now_unix(&self) -> i64 {
        self.now().timestamp()
    }
}
