//! What every handler shares.

use std::sync::{Arc, Mutex};

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
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn new(config: Config) -> Shared {
        Arc::new(AppState {
            gateway: Mutex::new(Gateway::new(config.clone())),
            faults: Mutex::new(Faults::new(config.seed)),
            stores: Mutex::new(Stores::default()),
            jitter: Mutex::new(Rng::for_request(config.seed, b"latency")),
            config,
        })
    }
}
