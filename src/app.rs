//! The shared handles every layer is given: store, auth, registry, limiters, metrics, bus.

use std::ops::Deref;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::auth::{Auth, Secrets};
use crate::config::Config;
use crate::events::Bus;
use crate::features::matches::MatchDirectory;
use crate::rpc::{Limiters, Registry};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;

pub struct AppInner {
    pub config: Config,
    pub store: Store,
    pub auth: Auth,
    pub registry: Registry,
    pub limiters: Limiters,
    pub metrics: Metrics,
    pub bus: Bus,
    pub started: Instant,
    /// Unix seconds.
    pub started_at: i64,
    /// Open HTTPS/HTTP connections.
    pub http_connections: AtomicI64,
    /// Live matches, once the realtime transport has started (it registers itself).
    pub matches: OnceLock<Arc<dyn MatchDirectory>>,
    /// Wakes the scheduler early (a game's clock moved).
    pub jobs_wake: tokio::sync::Notify,
    /// Leaderboard ranks, built from sled on each board's first use.
    pub leaderboards: crate::features::leaderboards::Live,
}

#[derive(Clone)]
pub struct App(Arc<AppInner>);

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Builds the app over an open store. `secrets` must already carry the effective keys
    /// (config overrides applied).
    pub fn new(config: Config, store: Store, secrets: Secrets) -> Result<App, StoreError> {
        let bus = Bus::new();
        let auth = Auth::new(&store, secrets, &config.auth, bus.clone())?;
        let mut registry = Registry::new();
        crate::features::register_all(&mut registry);
        let limiters = Limiters::new(&config.rate_limit);
        Ok(App(Arc::new(AppInner {
            config,
            store,
            auth,
            registry,
            limiters,
            metrics: Metrics::default(),
            bus,
            started: Instant::now(),
            started_at: crate::time::now(),
            http_connections: AtomicI64::new(0),
            matches: OnceLock::new(),
            jobs_wake: tokio::sync::Notify::new(),
            leaderboards: Default::default(),
        })))
    }

    /// Dispatches an RPC through the registry.
    pub async fn call(
        &self,
        caller: crate::rpc::Caller,
        id: &str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, crate::rpc::RpcError> {
        self.registry.call(self, caller, id, payload).await
    }
}
