//! Tournaments.

pub mod formats;
