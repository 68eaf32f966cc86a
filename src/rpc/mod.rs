//! The RPC layer: one registry of every RPC, the caller classes, one error type, rate-limit
//! classes. Transports (HTTPS, QUIC, the admin socket) call [`Registry::call`]; features
//! register their handlers in it.

mod caller;
mod context;
mod error;
pub mod limit;
mod registry;

pub use caller::{Caller, CallerClass, SessionUser};
pub use context::RpcContext;
pub use error::RpcError;
pub use limit::{Limit, Limiters};
pub use registry::{decode, json_kind, session_game, Entry, JobHandler, Registry};
