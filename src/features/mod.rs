//! Every capability, one folder each. A feature knows the store and the RPC layer, never a
//! transport.

pub mod achievements;
pub mod analytics;
pub mod audience;
pub mod backups;
pub mod batch;
pub mod cache;
pub mod clock;
pub mod daily_rewards;
pub mod events;
pub mod experiments;
pub mod games;
pub mod health;
pub mod inventory;
pub mod leaderboards;
pub mod leagues;
pub mod matches;
pub mod matchmaking;
pub mod metrics;
pub mod missions;
pub mod moderation;
pub mod notifications;
pub mod paging;
pub mod players;
pub mod profiles;
pub mod remote_config;
pub mod rewards;
pub mod schedule;
pub mod seasons;
pub mod storage;
pub mod tournaments;
pub mod vault;
pub mod wallet;

use crate::rpc::Registry;

/// Registers every feature's RPCs.
pub fn register_all(r: &mut Registry) {
    games::register(r);
    backups::register(r);
    players::register(r);
    clock::register(r);
    health::register(r);
    moderation::register(r);
    matches::register(r);
    matchmaking::register(r);
    profiles::register(r);
    wallet::register(r);
    inventory::register(r);
    rewards::register(r);
    storage::register(r);
    daily_rewards::register(r);
    missions::register(r);
    notifications::register(r);
    batch::register(r);
    achievements::register(r);
    seasons::register(r);
    events::register(r);
    leaderboards::register(r);
    analytics::register(r);
    remote_config::register(r);
    experiments::register(r);
    metrics::register(r);
    cache::register(r);
    tournaments::register(r);
    leagues::register(r);
}
