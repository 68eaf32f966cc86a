//! Paged listings as every list RPC takes them: `limit` 1–100 and an opaque `cursor`.

use crate::rpc::RpcError;
use crate::store::{decode_cursor, encode_cursor, Page};

pub const MAX_LIMIT: u32 = 100;

/// The page size asked for, or `default`; outside 1–100 is refused naming `limit`.
pub fn limit(asked: Option<u32>, default: u32) -> Result<usize, RpcError> {
    limit_up_to(asked, default, MAX_LIMIT)
}

/// As [`limit`], for the few admin listings that allow pages larger than 100.
pub fn limit_up_to(asked: Option<u32>, default: u32, max: u32) -> Result<usize, RpcError> {
    match asked {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(RpcError::invalid(format!(
            "limit must be between 1 and {max}, not {n}"
        ))),
    }
}

/// The key a cursor names (`None` for the first page); a malformed cursor names `cursor`.
pub fn start(cursor: Option<&str>) -> Result<Option<Vec<u8>>, RpcError> {
    decode_cursor(cursor.unwrap_or("")).map_err(|_| RpcError::invalid("cursor is not valid"))
}

/// The cursor of the page after `page`, if there is one.
pub fn next<T>(page: &Page<T>) -> Option<String> {
    page.next.as_deref().map(encode_cursor)
}
