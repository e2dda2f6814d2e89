//! What every handler shares.

use std::sync::{Arc, Mutex};

use mistral_ratelimit::Instant;

use crate::config::Config;
use crate::faults::Faults;
use crate::gateway::Gateway;
use crate::store::Stores;
use crate::text::Rng;

#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub gateway: Mutex<Gateway>,
    pub faults: Mutex<Faults>,
    pub stores: Mutex<Stores>,
    /// Draws each request's network latency within `--latency-ms`.
    pub jitter: Mutex<Rng>,
    /// When the server started, on tokio's clock (which tests may pause).
    started: tokio::time::Instant,
}

pub type Shared = Arc<AppState>;

impl AppState {
    /// Now as the gateway reads time: since the server started.
    pub fn now(&self) -> Instant {
        Instant::ZERO + tokio::time::Instant::now().saturating_duration_since(self.started)
    }

    pub fn new(config: Config) -> Shared {
        let started = tokio::time::Instant::now();
        Arc::new(AppState {
            gateway: Mutex::new(Gateway::new(config.clone(), Instant::ZERO)),
            started,
            faults: Mutex::new(Faults::new(config.seed)),
            stores: Mutex::new(Stores::default()),
            jitter: Mutex::new(Rng::for_request(config.seed, b"latency")),
            config,
        })
    }
}
