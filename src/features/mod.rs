//! Every capability, one folder each. A feature knows the store and the RPC layer, never a
//! transport.

pub mod backups;
pub mod batch;
pub mod clock;
pub mod daily_rewards;
pub mod games;
pub mod health;
pub mod inventory;
pub mod matches;
pub mod missions;
pub mod moderation;
pub mod notifications;
pub mod paging;
pub mod players;
pub mod profiles;
pub mod rewards;
pub mod schedule;
pub mod storage;
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
    profiles::register(r);
    wallet::register(r);
    inventory::register(r);
    rewards::register(r);
    storage::register(r);
    daily_rewards::register(r);
    missions::register(r);
    notifications::register(r);
    batch::register(r);
}
