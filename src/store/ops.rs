//! Counts of storage operations since the server started (for `/metrics` and the metrics
//! RPCs): relaxed atomics, one per kind, bumped by every [`super::Tree`] call.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Read,
    Write,
    Remove,
    Scan,
    Transaction,
}

const KINDS: [(Op, &str); 5] = [
    (Op::Read, "read"),
    (Op::Write, "write"),
    (Op::Remove, "remove"),
    (Op::Scan, "scan"),
    (Op::Transaction, "transaction"),
];

static COUNTS: [AtomicU64; 5] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

pub fn count(op: Op) {
    COUNTS[op as usize].fetch_add(1, Ordering::Relaxed);
}

/// (kind, count) for every kind of operation.
pub fn counts() -> Vec<(&'static str, u64)> {
    KINDS
        .iter()
        .map(|(op, name)| (*name, COUNTS[*op as usize].load(Ordering::Relaxed)))
        .collect()
}
