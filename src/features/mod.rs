//! Every capability, one folder each. A feature knows the store and the RPC layer, never a
//! transport.

pub mod games;
pub mod health;
pub mod matches;
pub mod profiles;

use crate::rpc::Registry;

/// Registers every feature's RPCs.
pub fn register_all(r: &mut Registry) {
    games::register(r);
    health::register(r);
    matches::register(r);
    profiles::register(r);
}
