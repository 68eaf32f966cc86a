//! The admin socket: how the CLI talks to a running server. A Unix socket in the data dir
//! (`admin.sock`, mode 0600, peers must run as the server's user or root) carrying one
//! JSON [`Operation`] per line and one JSON answer per line.
//!
//! The same [`perform`] runs an operation whether it arrived on the socket or the CLI
//! opened the database itself because no server runs: same behaviour, same output.

mod ops;
mod socket;

pub use ops::{perform, Mode, Operation};
pub use socket::{ask, bind, connect, serve, socket_path, Answer, Listener};
