//! Wall-clock helpers: Unix seconds, UTC day numbers and RFC 3339 text.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> i64 {
    Utc::now().timestamp()
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

const DAY_SECS: i64 = 86_400;

/// The UTC day number (days since 1970-01-01) of a Unix time.
pub fn utc_day(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(DAY_SECS)
}

/// Unix seconds at which UTC day `day` begins.
pub fn day_start(day: i64) -> i64 {
    day * DAY_SECS
}

pub fn rfc3339(unix_secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix_secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a duration like `90s`, `15m`, `24h`, `7d`, `2w` into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 24h or 7d"))?;
    let mult = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit (use s, m, h, d or w)"
            ))
        }
    };
    if n <= 0 {
        return Err(format!("`{text}` must be positive"));
    }
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_parse() {
        assert_eq!(super::parse_duration("24h"), Ok(86_400));
        assert_eq!(super::parse_duration("90s"), Ok(90));
        assert_eq!(super::parse_duration("2w"), Ok(14 * 86_400));
        assert!(super::parse_duration("soon").is_err());
        assert!(super::parse_duration("0h").is_err());
        assert!(super::parse_duration("3y").is_err());
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(super::utc_day(0), 0);
        assert_eq!(super::utc_day(86_399), 0);
        assert_eq!(super::utc_day(86_400), 1);
        assert_eq!(super::utc_day(-1), -1);
        assert_eq!(super::day_start(2), 172_800);
    }
}
