//! Rate limits (governor): AUTH per client IP, READ and WRITE per user, IP per client IP
//! for routes without a user, and new accounts per client IP. Wrong keys and wrong
//! passwords per client IP are counted as [`Strikes`]. Keyed limiters never forget a key on
//! their own, so [`Limiters::sweep`] runs on a timer to drop idle keys and keeps each class
//! under `max_keys`.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use governor::clock::{Clock, DefaultClock, Reference};
use governor::nanos::Nanos;
use governor::state::keyed::{DefaultKeyedStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use crate::auth::strikes::Strikes;
use crate::config::{AuthConfig, RateLimitConfig};

/// The rate-limit class an RPC declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Read,
    Write,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Read => "read",
            Limit::Write => "write",
        }
    }
}

/// The limiter's own state store, shared so [`Class::status`] can read a key's state
/// without spending a cell.
struct Shared<K: Hash + Eq + Clone>(Arc<DefaultKeyedStateStore<K>>);

impl<K: Hash + Eq + Clone> StateStore for Shared<K> {
    type Key = K;
    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for Shared<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below)
    }
    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0)
    }
    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&*self.0)
    }
    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&*self.0)
    }
}

type Keyed<K> = RateLimiter<K, Shared<K>, DefaultClock>;

/// A limiter with a handle on its state and the instant its clock counts from.
struct Live<K: Hash + Eq + Clone> {
    limiter: Keyed<K>,
    state: Arc<DefaultKeyedStateStore<K>>,
    start: <DefaultClock as Clock>::Instant,
}

impl<K: Hash + Eq + Clone> Live<K> {
    fn new(quota: Quota) -> Self {
        let state = Arc::new(DefaultKeyedStateStore::<K>::default());
        let clock = DefaultClock::default();
        let limiter = RateLimiter::new(quota, Shared(state.clone()), clock.clone());
        // The limiter measures from its own creation, a moment before this reading: the
        // remaining quota read from it errs, by nanoseconds, on the low side.
        let start = clock.now();
        Live {
            limiter,
            state,
            start,
        }
    }
}

/// What is left of one key's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QuotaStatus {
    /// Calls allowed per second, sustained.
    pub per_sec: u32,
    /// Calls allowed at once.
    pub burst: u32,
    /// Calls that would be allowed right now.
    pub remaining: u32,
    /// Milliseconds until the full burst is available again (0 when it is).
    pub full_in_ms: u64,
}

struct Class<K: Hash + Eq + Clone> {
    quota: Quota,
    per_sec: u32,
    limiter: RwLock<Arc<Live<K>>>,
}

impl<K: Hash + Eq + Clone> Class<K> {
    fn new(per_sec: u32, burst: u32) -> Self {
        Self::with_quota(
            Quota::per_second(NonZeroU32::new(per_sec.max(1)).unwrap_or(NonZeroU32::MIN)),
            burst,
            per_sec,
        )
    }

    fn with_quota(quota: Quota, burst: u32, per_sec: u32) -> Self {
        let quota = quota.allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
        Class {
            quota,
            per_sec,
            limiter: RwLock::new(Arc::new(Live::new(quota))),
        }
    }

    fn current(&self) -> Arc<Live<K>> {
        self.limiter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `Ok` or the whole seconds to wait (at least 1).
    fn check(&self, key: &K) -> Result<(), u64> {
        let live = self.current();
        let limiter = &live.limiter;
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
        })
    }

    /// The key's quota as the limiter holds it, spending nothing (GCRA: the key's
    /// theoretical arrival time against now).
    fn status(&self, key: &K) -> QuotaStatus {
        let live = self.current();
        let t = u64::from(Nanos::from(self.quota.replenish_interval())).max(1);
        let burst = self.quota.burst_size().get();
        let capacity = t * u64::from(burst);
        let now = u64::from(live.limiter.clock().now().duration_since(live.start));
        let tat = live
            .state
            .measure_and_replace(key, Err::<((), Nanos), _>)
            .err()
            .flatten()
            .map(u64::from)
            .unwrap_or(now);
        let used = tat.saturating_sub(now).min(capacity);
        QuotaStatus {
            per_sec: self.per_sec,
            burst,
            remaining: ((capacity - used) / t) as u32,
            full_in_ms: used / 1_000_000,
        }
    }

    fn sweep(&self, max_keys: usize) -> usize {
        let live = self.current();
        let limiter = &live.limiter;
        limiter.retain_recent();
        limiter.shrink_to_fit();
        if limiter.len() > max_keys {
            tracing::warn!(
                keys = limiter.len(),
                max_keys,
                "rate limiter over its key cap: starting afresh"
            );
            *self.limiter.write().unwrap_or_else(|p| p.into_inner()) =
                Arc::new(Live::new(self.quota));
            return 0;
        }
        limiter.len()
    }
}

pub struct Limiters {
    auth: Class<IpAddr>,
    read: Class<Uuid>,
    write: Class<Uuid>,
    ip: Class<IpAddr>,
    accounts: Class<IpAddr>,
    /// Wrong server keys and http keys per client IP.
    bad_keys: Strikes<IpAddr>,
    /// Wrong passwords per client IP.
    failed_logins: Strikes<IpAddr>,
    max_keys: usize,
    pub exempt_server: bool,
}

impl Limiters {
    pub fn new(cfg: &RateLimitConfig, auth: &AuthConfig) -> Self {
        let per_hour =
            NonZeroU32::new(cfg.accounts_per_ip_per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
        Limiters {
            auth: Class::new(cfg.auth_per_sec, cfg.auth_burst),
            read: Class::new(cfg.read_per_sec, cfg.read_burst),
            write: Class::new(cfg.write_per_sec, cfg.write_burst),
            ip: Class::new(cfg.ip_per_sec, cfg.ip_burst),
            accounts: Class::with_quota(Quota::per_hour(per_hour), cfg.accounts_per_ip_burst, 0),
            bad_keys: Strikes::new(
                cfg.bad_keys_per_ip,
                std::time::Duration::from_secs(cfg.bad_key_window_secs),
                cfg.max_keys,
            ),
            failed_logins: Strikes::new(
                auth.failed_logins_per_ip,
                std::time::Duration::from_secs(auth.failed_login_window_secs),
                cfg.max_keys,
            ),
            max_keys: cfg.max_keys,
            exempt_server: cfg.exempt_server,
        }
    }

    /// An authentication attempt from `ip`: `Err(seconds to wait)` when over quota.
    pub fn check_auth(&self, ip: IpAddr) -> Result<(), u64> {
        self.auth.check(&per_network(ip))
    }

    /// A request from `ip` on a route without a user (`/healthcheck`, `/metrics`).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), u64> {
        self.ip.check(&per_network(ip))
    }

    /// A new account from `ip`.
    pub fn check_new_account(&self, ip: IpAddr) -> Result<(), u64> {
        self.accounts.check(&per_network(ip))
    }

    /// `Err(seconds)` while `ip` has sent too many wrong keys to be heard.
    pub fn check_keys(&self, ip: IpAddr) -> Result<(), u64> {
        self.bad_keys.check(&per_network(ip))
    }

    pub fn wrong_key(&self, ip: IpAddr) {
        self.bad_keys.strike(&per_network(ip));
    }

    /// `Err(seconds)` while `ip` has given too many wrong passwords to be heard.
    pub fn check_logins(&self, ip: IpAddr) -> Result<(), u64> {
        self.failed_logins.check(&per_network(ip))
    }

    pub fn wrong_password(&self, ip: IpAddr) {
        self.failed_logins.strike(&per_network(ip));
    }

    pub fn check_user(&self, limit: Limit, user: Uuid) -> Result<(), u64> {
        match limit {
            Limit::Read => self.read.check(&user),
            Limit::Write => self.write.check(&user),
        }
    }

    /// What is left of `user`'s READ and WRITE quotas, read from the limiters' state.
    pub fn status_user(&self, user: Uuid) -> (QuotaStatus, QuotaStatus) {
        (self.read.status(&user), self.write.status(&user))
    }

    /// What is left of the AUTH quota of `ip`'s network.
    pub fn status_auth(&self, ip: IpAddr) -> QuotaStatus {
        self.auth.status(&per_network(ip))
    }

    /// Drops idle keys; returns how many keys remain per class (auth, read, write).
    pub fn sweep(&self) -> (usize, usize, usize) {
        self.ip.sweep(self.max_keys);
        self.accounts.sweep(self.max_keys);
        self.bad_keys.sweep();
        self.failed_logins.sweep();
        (
            self.auth.sweep(self.max_keys),
            self.read.sweep(self.max_keys),
            self.write.sweep(self.max_keys),
        )
    }
}

/// IPv6 clients are limited per /64 (what one customer is handed): otherwise rotating
/// through one's own addresses would dodge the limit and fill the key table.
fn per_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let cfg = RateLimitConfig {
            read_per_sec: 1,
            read_burst: 3,
            ..Default::default()
        };
        let l = Limiters::new(&cfg, &AuthConfig::default());
        let u = Uuid::new_v4();
        for _ in 0..3 {
            assert!(l.check_user(Limit::Read, u).is_ok());
        }
        let wait = l.check_user(Limit::Read, u).unwrap_err();
        assert!(wait >= 1);
        assert!(
            l.check_user(Limit::Read, Uuid::new_v4()).is_ok(),
            "other users are not affected"
        );
    }

    #[test]
    fn the_status_reads_the_limiter_without_spending() {
        let cfg = RateLimitConfig {
            write_per_sec: 1,
            write_burst: 5,
            ..Default::default()
        };
        let l = Limiters::new(&cfg, &crate::config::AuthConfig::default());
        let u = Uuid::new_v4();
        assert_eq!(l.status_user(u).1.remaining, 5);
        assert_eq!(l.status_user(u).1.remaining, 5, "asking spends nothing");
        l.check_user(Limit::Write, u).unwrap();
        l.check_user(Limit::Write, u).unwrap();
        let w = l.status_user(u).1;
        assert_eq!((w.remaining, w.burst, w.per_sec), (3, 5, 1));
        assert!(w.full_in_ms > 1000 && w.full_in_ms <= 2000, "{w:?}");
        assert_eq!(l.status_user(u).0.remaining, cfg.read_burst);
    }
}
