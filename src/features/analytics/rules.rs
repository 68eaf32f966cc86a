//! Pure rules: what a valid event is, and the sums `analytics_query` answers.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::auth::UserId;

pub const MAX_EVENTS_PER_CALL: usize = 100;
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_PROPERTIES: usize = 50;
pub const MAX_STRING_CHARS: usize = 512;
/// How far ahead of the server's clock a client's timestamp may be (clock skew).
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;

/// An event's name or a property's name: a letter, then letters, digits, `_ . : -`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(format!("{what}: must be 1 to {MAX_NAME_CHARS} characters"));
    }
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err(format!("{what}: `{name}` must start with a letter"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(format!(
            "{what}: `{name}` has `{c}`; use letters, digits, _ . : -"
        ));
    }
    Ok(())
}

/// Properties: at most 50, each a string (≤ 512 characters), a number or a boolean.
pub fn check_properties(props: &BTreeMap<String, Value>) -> Result<(), String> {
    if props.len() > MAX_PROPERTIES {
        return Err(format!(
            "properties: at most {MAX_PROPERTIES}, not {}",
            props.len()
        ));
    }
    for (k, v) in props {
        check_name("properties", k)?;
        match v {
            Value::String(s) if s.chars().count() > MAX_STRING_CHARS => {
                return Err(format!(
                    "properties.{k}: at most {MAX_STRING_CHARS} characters"
                ))
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            other => {
                return Err(format!(
                    "properties.{k}: must be a string, number or boolean, not {}",
                    crate::rpc::json_kind(other)
                ))
            }
        }
    }
    Ok(())
}

/// A client timestamp: RFC 3339 text, or an integer of Unix milliseconds. It must not be
/// older than `oldest_ms` (what retention would drop at once) nor more than 5 minutes ahead.
pub fn parse_timestamp(v: &Value, now_ms: i64, oldest_ms: i64) -> Result<i64, String> {
    let ms = match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|_| format!("timestamp: `{s}` is not an RFC 3339 time"))?
            .timestamp_millis(),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| "timestamp: must be whole Unix milliseconds".to_string())?,
        other => {
            return Err(format!(
                "timestamp: must be RFC 3339 text or Unix milliseconds, not {}",
                crate::rpc::json_kind(other)
            ))
        }
    };
    if ms > now_ms + MAX_FUTURE_MS {
        return Err(format!(
            "timestamp: {} s in the future",
            (ms - now_ms) / 1000
        ));
    }
    if ms < oldest_ms {
        return Err("timestamp: older than the retention period".into());
    }
    Ok(ms)
}

/// Users who went through `steps` in order: `steps[i]` is every (user, time) of step i's
/// event; a user reaches step i at the first time of it at or after reaching step i-1.
/// Returns how many users reached each step.
pub fn funnel(steps: &[Vec<(UserId, i64)>]) -> Vec<u64> {
    let mut reached: HashMap<UserId, i64> = HashMap::new();
    let mut out = Vec::with_capacity(steps.len());
    for (i, events) in steps.iter().enumerate() {
        let mut next: HashMap<UserId, i64> = HashMap::new();
        for &(user, at) in events {
            let ok = i == 0 || reached.get(&user).is_some_and(|prev| at >= *prev);
            if ok {
                let e = next.entry(user).or_insert(at);
                if at < *e {
                    *e = at;
                }
            }
        }
        out.push(next.len() as u64);
        reached = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    #[test]
    fn names_and_properties_are_checked() {
        assert!(check_name("name", "level_complete").is_ok());
        assert!(check_name("name", "").is_err());
        assert!(check_name("name", "9lives").is_err());
        assert!(check_name("name", "with space")
            .unwrap_err()
            .contains("` `"));
        let mut p = BTreeMap::new();
        p.insert("level".to_string(), json!(3));
        p.insert("boss".to_string(), json!(true));
        assert!(check_properties(&p).is_ok());
        p.insert("nested".to_string(), json!({"a": 1}));
        assert_eq!(
            check_properties(&p).unwrap_err(),
            "properties.nested: must be a string, number or boolean, not an object"
        );
    }

    #[test]
    fn timestamps_are_bounded() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_timestamp(&json!(now - 5), now, 0), Ok(now - 5));
        assert_eq!(
            parse_timestamp(&json!("2023-11-14T22:13:20Z"), now, 0),
            Ok(1_700_000_000_000)
        );
        assert!(parse_timestamp(&json!(now + 3_600_000), now, 0)
            .unwrap_err()
            .contains("future"));
        assert!(parse_timestamp(&json!(5), now, now - 1000)
            .unwrap_err()
            .contains("retention"));
        assert!(parse_timestamp(&json!("yesterday"), now, 0).is_err());
    }

    #[test]
    fn a_funnel_counts_steps_in_order() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let steps = vec![
            vec![(a, 10), (b, 10), (c, 50)],
            // b purchases before opening the shop: does not count
            vec![(a, 20), (b, 5), (c, 60)],
            vec![(a, 30), (c, 55)],
        ];
        assert_eq!(funnel(&steps), vec![3, 2, 1]);
    }
}
