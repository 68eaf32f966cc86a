//! Pure rules: times as requests write them, the XP table, tiers reached, what a new
//! season may hold, and which rewards a pass may claim.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::model::{EndPolicy, Pass, Season, SeasonState, Track, XpSources};
use crate::features::achievements::rules::check_id;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::{self, Reward};
use crate::features::wallet::Amounts;
use crate::rpc::RpcError;

pub const MAX_TIER: u32 = 100;
pub const DEFAULT_XP_PER_TIER: u64 = 1000;
/// The longest season.
pub const MAX_SEASON_SECS: i64 = 400 * 86_400;
/// The most XP one grant moves.
pub const MAX_XP_PER_GRANT: u64 = 1_000_000;

fn invalid(msg: String) -> RpcError {
    RpcError::InvalidArgument(msg)
}

/// A time as requests write it: RFC 3339 text or Unix seconds.
pub fn parse_time(field: &str, v: &Value) -> Result<i64, RpcError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .filter(|s| (0..=253_402_300_799).contains(s))
            .ok_or_else(|| invalid(format!("{field}: Unix seconds out of range"))),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp())
            .map_err(|e| {
                invalid(format!(
                    "{field}: `{s}` is not an RFC 3339 time like 2026-01-01T00:00:00Z ({e})"
                ))
            }),
        _ => Err(invalid(format!(
            "{field}: give an RFC 3339 time or Unix seconds"
        ))),
    }
}

/// The tier `xp` reaches: how many thresholds of the table it meets.
pub fn tier_for(table: &[u64], xp: u64) -> u32 {
    table.partition_point(|t| *t <= xp) as u32
}

/// XP a source gives after the events' multiplier (in percent; 100 = ×1).
pub fn boosted(xp: u64, percent: u32) -> u64 {
    ((xp as u128 * percent as u128) / 100).min(u64::MAX as u128) as u64
}

/// `season_create` as the request writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeasonInput {
    pub game_id: String,
    pub season_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub starts_at: Value,
    pub ends_at: Value,
    #[serde(default)]
    pub max_tier: Option<u32>,
    #[serde(default)]
    pub xp_per_tier: Option<u64>,
    #[serde(default)]
    pub xp_table: Option<Vec<u64>>,
    #[serde(default)]
    pub free_rewards: BTreeMap<String, Value>,
    #[serde(default)]
    pub premium_rewards: BTreeMap<String, Value>,
    #[serde(default)]
    pub premium_price: Amounts,
    #[serde(default)]
    pub end_policy: EndPolicy,
    #[serde(default)]
    pub xp_sources: XpSources,
}

fn track_rewards(
    field: &str,
    raw: &BTreeMap<String, Value>,
    max_tier: u32,
) -> Result<BTreeMap<u32, Reward>, RpcError> {
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        let tier: u32 = k
            .parse()
            .ok()
            .filter(|t| (1..=max_tier).contains(t))
            .ok_or_else(|| {
                invalid(format!(
                    "{field}: `{k}` is not a tier between 1 and {max_tier}"
                ))
            })?;
        let r = rewards::rules::from_shorthand(&format!("{field}.{k}"), v)?;
        if rewards::rules::is_empty(&r) {
            return Err(invalid(format!("{field}.{k}: the reward is empty")));
        }
        out.insert(tier, r);
    }
    Ok(out)
}

/// Checks a new season and builds it (`now`: the game's clock).
pub fn season(req: &SeasonInput, now: i64) -> Result<Season, RpcError> {
    check_id("season_id", &req.season_id)?;
    check_name("title", &req.title)?;
    check_text("description", &req.description, 1024)?;
    let starts_at = parse_time("starts_at", &req.starts_at)?;
    let ends_at = parse_time("ends_at", &req.ends_at)?;
    if ends_at <= starts_at {
        return Err(invalid("ends_at must be after starts_at".into()));
    }
    if ends_at <= now {
        return Err(invalid("ends_at is already past".into()));
    }
    if ends_at - starts_at > MAX_SEASON_SECS {
        return Err(invalid(format!(
            "ends_at: a season lasts at most {} days",
            MAX_SEASON_SECS / 86_400
        )));
    }
    let max_tier = req.max_tier.unwrap_or(MAX_TIER);
    if !(1..=MAX_TIER).contains(&max_tier) {
        return Err(invalid(format!(
            "max_tier must be between 1 and {MAX_TIER}, not {max_tier}"
        )));
    }
    let xp_table = match (&req.xp_table, req.xp_per_tier) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "give xp_table or xp_per_tier, not both".to_string(),
            ))
        }
        (Some(t), None) => {
            if t.len() != max_tier as usize {
                return Err(invalid(format!(
                    "xp_table must hold {max_tier} entries (the XP of tiers 1 to {max_tier}), not {}",
                    t.len()
                )));
            }
            for (i, w) in t.windows(2).enumerate() {
                if w[1] <= w[0] {
                    return Err(invalid(format!(
                        "xp_table[{}] must be above xp_table[{i}]",
                        i + 1
                    )));
                }
            }
            t.clone()
        }
        (None, per) => {
            let per = per.unwrap_or(DEFAULT_XP_PER_TIER);
            if per == 0 || per > 100_000_000 {
                return Err(invalid(
                    "xp_per_tier must be between 1 and 100000000".to_string(),
                ));
            }
            (1..=u64::from(max_tier)).map(|n| n * per).collect()
        }
    };
    let free_rewards = track_rewards("free_rewards", &req.free_rewards, max_tier)?;
    let premium_rewards = track_rewards("premium_rewards", &req.premium_rewards, max_tier)?;
    for (c, amount) in &req.premium_price {
        check_name("premium_price currency", c)?;
        if *amount <= 0 {
            return Err(invalid(format!(
                "premium_price.{c} must be positive, not {amount}"
            )));
        }
    }
    if !premium_rewards.is_empty() && req.premium_price.is_empty() {
        return Err(invalid(
            "premium_price: a season with premium rewards needs a price".to_string(),
        ));
    }
    Ok(Season {
        season_id: req.season_id.clone(),
        title: req.title.clone(),
        description: req.description.clone(),
        starts_at,
        ends_at,
        max_tier,
        xp_table,
        free_rewards,
        premium_rewards,
        premium_price: req.premium_price.clone(),
        end_policy: req.end_policy,
        xp_sources: req.xp_sources.clone(),
        state: SeasonState::Scheduled,
        created_at: now,
    })
}

/// True while XP counts and players may claim and buy: inside the window and not ended.
pub fn is_running(s: &Season, now: i64) -> bool {
    s.state != SeasonState::Ended && s.starts_at <= now && now < s.ends_at
}

/// Rewards a pass may take and has not: (tier, track) in order, free before premium.
pub fn claimable(
    s: &Season,
    pass: &Pass,
    claimed: &dyn Fn(u32, Track) -> bool,
) -> Vec<(u32, Track)> {
    let mut out = Vec::new();
    for track in [Track::Free, Track::Premium] {
        if track == Track::Premium && !pass.premium {
            continue;
        }
        for tier in s.rewards(track).keys() {
            if *tier <= pass.tier && !claimed(*tier, track) {
                out.push((*tier, track));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> SeasonInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tiers_follow_the_table() {
        let t = [100, 250, 500];
        assert_eq!(tier_for(&t, 0), 0);
        assert_eq!(tier_for(&t, 100), 1);
        assert_eq!(tier_for(&t, 499), 2);
        assert_eq!(tier_for(&t, 10_000), 3);
        assert_eq!(boosted(100, 250), 250);
    }

    #[test]
    fn a_season_checks_its_window_table_and_rewards() {
        let base = json!({"game_id": "g", "season_id": "s1", "title": "S1",
            "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-03-31T23:59:59Z",
            "free_rewards": {"1": {"coins": 100}, "5": {"coins": 250, "items": ["common_badge"]}},
            "premium_rewards": {"1": {"coins": 200}}, "premium_price": {"gems": 500}});
        let s = season(&input(base.clone()), 0).unwrap();
        assert_eq!(s.xp_table.len(), 100);
        assert_eq!(s.xp_table[0], 1000);
        assert_eq!(s.free_rewards[&5].items[0].id, "common_badge");
        let mut bad = base.clone();
        bad["free_rewards"]["101"] = json!({"coins": 1});
        assert!(season(&input(bad), 0)
            .unwrap_err()
            .to_string()
            .contains("free_rewards"));
        let mut bad = base.clone();
        bad["ends_at"] = json!("2025-12-01T00:00:00Z");
        assert!(season(&input(bad), 0)
            .unwrap_err()
            .to_string()
            .contains("ends_at"));
        let mut bad = base.clone();
        bad["max_tier"] = json!(3);
        bad["xp_table"] = json!([10, 5, 20]);
        assert!(season(&input(bad), 0)
            .unwrap_err()
            .to_string()
            .contains("xp_table[1]"));
        let mut bad = base;
        bad["premium_price"] = json!({});
        assert!(season(&input(bad), 0)
            .unwrap_err()
            .to_string()
            .contains("premium_price"));
    }
}
