//! Pure rules: what a definition may hold, how reported progress moves, which steps a
//! progress value reaches, and what a player may see of a hidden achievement.

use serde::Deserialize;
use serde_json::Value;

use super::model::{Achievement, Kind, Progress, Rarity, Tier};
use crate::features::missions::Reporter;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::{self, Reward};
use crate::rpc::RpcError;

pub const TIER_NAMES: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
pub const MAX_ACHIEVEMENTS: usize = 1000;
pub const MAX_PROGRESS: u64 = 1_000_000_000_000;
/// What a player-reported call adds at most unless the definition says otherwise.
pub const DEFAULT_MAX_PLAYER_INCREMENT: u64 = 1;
/// What a hidden achievement shows until it is unlocked.
pub const HIDDEN_TEXT: &str = "???";

/// A definition as a request (or a template file) writes it: the seeds' field names,
/// `rewards` in their shorthand or `reward` in the canonical shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionInput {
    pub achievement_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub icon_url: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub rarity: Rarity,
    #[serde(rename = "type", default)]
    pub kind: Kind,
    #[serde(default)]
    pub target: Option<u64>,
    #[serde(default)]
    pub tiers: Vec<TierInput>,
    #[serde(default)]
    pub points: Option<u32>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub stat: Option<String>,
    #[serde(default)]
    pub progress_by: Reporter,
    #[serde(default)]
    pub max_player_increment: Option<u64>,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    pub name: String,
    pub threshold: u64,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
    #[serde(default)]
    pub points: Option<u32>,
}

fn invalid(msg: String) -> RpcError {
    RpcError::InvalidArgument(msg)
}

pub fn default_points(r: Rarity) -> u32 {
    match r {
        Rarity::Common => 10,
        Rarity::Uncommon => 15,
        Rarity::Rare => 25,
        Rarity::Epic => 50,
        Rarity::Legendary => 100,
    }
}

fn reward_of(
    field: &str,
    reward: &Option<Value>,
    rewards: &Option<Value>,
) -> Result<Reward, RpcError> {
    Ok(rewards::rules::reward_or_rewards(field, reward, rewards)?.unwrap_or_default())
}

/// An id as achievements, seasons and events take them: 1–64 of `A-Za-z0-9_-.`.
pub fn check_id(field: &str, id: &str) -> Result<(), RpcError> {
    if id.is_empty() || id.len() > 64 {
        return Err(invalid(format!("{field} must be 1 to 64 characters")));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(invalid(format!(
            "{field} `{id}` may hold only letters, digits, `_`, `-` and `.`"
        )));
    }
    Ok(())
}

/// Checks a definition and builds the stored achievement (`field` names it in the request).
pub fn definition(field: &str, d: &DefinitionInput, now: i64) -> Result<Achievement, RpcError> {
    let f = |name: &str| format!("{field}.{name}");
    check_id(&f("achievement_id"), &d.achievement_id)?;
    check_name(&f("title"), &d.title)?;
    check_text(&f("description"), &d.description, 512)?;
    check_text(&f("icon_url"), &d.icon_url, 512)?;
    let category = d.category.clone().unwrap_or_else(|| "general".into());
    check_name(&f("category"), &category)?;
    if let Some(s) = &d.stat {
        check_name(&f("stat"), s)?;
    }
    let reward = reward_of(field, &d.reward, &d.rewards)?;
    let mut tiers = Vec::new();
    let target = match d.kind {
        Kind::Simple | Kind::Incremental => {
            if !d.tiers.is_empty() {
                return Err(invalid(format!(
                    "{}: only a tiered achievement has tiers",
                    f("tiers")
                )));
            }
            let target = d.target.unwrap_or(1);
            if target == 0 || target > MAX_PROGRESS {
                return Err(invalid(format!(
                    "{} must be between 1 and {MAX_PROGRESS}",
                    f("target")
                )));
            }
            if d.kind == Kind::Simple && target != 1 {
                return Err(invalid(format!(
                    "{} of a simple achievement is 1 (use type `incremental` for a count)",
                    f("target")
                )));
            }
            target
        }
        Kind::Tiered => {
            if d.tiers.is_empty() || d.tiers.len() > TIER_NAMES.len() {
                return Err(invalid(format!(
                    "{}: a tiered achievement has 1 to 4 tiers (bronze, silver, gold, platinum)",
                    f("tiers")
                )));
            }
            if d.reward.is_some() || d.rewards.is_some() {
                return Err(invalid(format!(
                    "{field}: a tiered achievement pays per tier (`tiers[n].reward`), not `reward`"
                )));
            }
            let mut last = 0;
            for (i, t) in d.tiers.iter().enumerate() {
                let tf = format!("{}[{i}]", f("tiers"));
                if t.name != TIER_NAMES[i] {
                    return Err(invalid(format!(
                        "{tf}.name must be `{}` (tiers go bronze, silver, gold, platinum)",
                        TIER_NAMES[i]
                    )));
                }
                if t.threshold <= last || t.threshold > MAX_PROGRESS {
                    return Err(invalid(format!(
                        "{tf}.threshold must be above the previous tier's and at most {MAX_PROGRESS}"
                    )));
                }
                last = t.threshold;
                tiers.push(Tier {
                    name: t.name.clone(),
                    threshold: t.threshold,
                    reward: reward_of(&tf, &t.reward, &t.rewards)?,
                    points: t.points.unwrap_or(default_points(d.rarity) / 2),
                });
            }
            if d.target.is_some_and(|t| t != last) {
                return Err(invalid(format!(
                    "{} of a tiered achievement is its last threshold ({last})",
                    f("target")
                )));
            }
            last
        }
    };
    let points = match d.kind {
        Kind::Tiered => {
            if d.points.is_some() {
                return Err(invalid(format!(
                    "{}: a tiered achievement's points are its tiers' (`tiers[n].points`)",
                    f("points")
                )));
            }
            tiers.iter().map(|t| t.points).sum()
        }
        _ => d.points.unwrap_or(default_points(d.rarity)),
    };
    if points > 10_000 {
        return Err(invalid(format!("{} must be at most 10000", f("points"))));
    }
    let max_player_increment = match (d.progress_by, d.max_player_increment) {
        (Reporter::Server, Some(_)) => {
            return Err(invalid(format!(
                "{}: only an achievement with progress_by `player` takes a cap",
                f("max_player_increment")
            )))
        }
        (_, Some(0)) => {
            return Err(invalid(format!(
                "{} must be at least 1",
                f("max_player_increment")
            )))
        }
        (_, Some(n)) => n,
        (_, None) => DEFAULT_MAX_PLAYER_INCREMENT,
    };
    Ok(Achievement {
        achievement_id: d.achievement_id.clone(),
        title: d.title.clone(),
        description: d.description.clone(),
        icon_url: d.icon_url.clone(),
        category,
        rarity: d.rarity,
        kind: d.kind,
        target,
        tiers,
        points,
        hidden: d.hidden,
        stat: d.stat.clone(),
        progress_by: d.progress_by,
        max_player_increment,
        reward,
        created_at: now,
        updated_at: now,
    })
}

/// The progress a report leads to: `value` added (`increment`) or set, never below what
/// the player has, at most `cap` above it (player reports), at most [`MAX_PROGRESS`].
/// Returns the new progress and whether the cap cut it.
pub fn reported(current: u64, value: u64, increment: bool, cap: Option<u64>) -> (u64, bool) {
    let asked = if increment {
        current.saturating_add(value)
    } else {
        value.max(current)
    };
    let asked = asked.min(MAX_PROGRESS);
    match cap {
        Some(c) if asked - current > c => (current + c, true),
        _ => (asked, false),
    }
}

/// Moves `p` to `progress` and returns the steps it newly reaches (in order), marking them
/// paid and setting the unlock time when the last one is reached.
pub fn advance(a: &Achievement, p: &mut Progress, progress: u64, now: i64) -> Vec<String> {
    p.progress = p.progress.max(progress).min(MAX_PROGRESS);
    p.updated_at = now;
    let mut reached = Vec::new();
    for (name, threshold, _) in a.steps() {
        if p.progress >= threshold && !p.paid.iter().any(|x| x == name) {
            p.paid.push(name.to_string());
            reached.push(name.to_string());
        }
    }
    if p.unlocked_at.is_none() && p.progress >= a.target {
        p.unlocked_at = Some(now);
    }
    reached
}

/// Points a player holds on `a` with `p` (tiers count as they are reached).
pub fn points_held(a: &Achievement, p: &Progress) -> u32 {
    match a.kind {
        Kind::Tiered => a
            .tiers
            .iter()
            .filter(|t| p.paid.contains(&t.name))
            .map(|t| t.points)
            .sum(),
        _ if p.unlocked_at.is_some() => a.points,
        _ => 0,
    }
}

/// What a player is shown of an achievement: everything once unlocked or when it is not
/// hidden; a hidden one still locked shows `???` and no text, reward, tiers or stat.
pub fn view(a: &Achievement, p: &Progress) -> Value {
    let unlocked = p.unlocked_at.is_some();
    let tier = a
        .tiers
        .iter()
        .rev()
        .find(|t| p.paid.contains(&t.name))
        .map(|t| t.name.clone());
    if a.hidden && !unlocked {
        return serde_json::json!({
            "achievement_id": a.achievement_id,
            "title": HIDDEN_TEXT,
            "description": HIDDEN_TEXT,
            "icon_url": "",
            "category": HIDDEN_TEXT,
            "hidden": true,
            "unlocked": false,
            "progress": p.progress,
        });
    }
    serde_json::json!({
        "achievement_id": a.achievement_id,
        "title": a.title,
        "description": a.description,
        "icon_url": a.icon_url,
        "category": a.category,
        "rarity": a.rarity,
        "type": a.kind,
        "target": a.target,
        "tiers": a.tiers,
        "tier": tier,
        "points": a.points,
        "points_held": points_held(a, p),
        "hidden": a.hidden,
        "stat": a.stat,
        "progress_by": a.progress_by,
        "reward": a.reward,
        "progress": p.progress,
        "unlocked": unlocked,
        "unlocked_at": p.unlocked_at.map(crate::time::rfc3339),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(v: Value) -> Result<Achievement, RpcError> {
        let d: DefinitionInput = serde_json::from_value(v).unwrap();
        definition("achievement", &d, 100)
    }

    #[test]
    fn seed_shorthand_rewards_become_currencies_xp_and_badge() {
        let a = def(
            json!({"achievement_id": "science", "title": "Science Genius",
            "type": "incremental", "target": 100, "rarity": "epic",
            "rewards": {"coins": 2000, "xp": 1000, "badge": "science_badge"}}),
        )
        .unwrap();
        assert_eq!(a.reward.currencies.get("coins"), Some(&2000));
        assert_eq!(a.reward.xp, 1000);
        assert_eq!(a.reward.badge.as_deref(), Some("science_badge"));
        assert_eq!(a.points, 50);
    }

    #[test]
    fn tiers_go_bronze_to_platinum_with_rising_thresholds() {
        let e = def(
            json!({"achievement_id": "k", "title": "K", "type": "tiered",
            "tiers": [{"name": "bronze", "threshold": 10}, {"name": "gold", "threshold": 20}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tiers[1].name"), "{e}");
        let e = def(
            json!({"achievement_id": "k", "title": "K", "type": "tiered",
            "tiers": [{"name": "bronze", "threshold": 10}, {"name": "silver", "threshold": 10}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tiers[1].threshold"), "{e}");
        let e = def(json!({"achievement_id": "k k", "title": "K"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("achievement_id"), "{e}");
        let e = def(json!({"achievement_id": "k", "title": "K", "target": 5}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("target"), "{e}");
    }

    #[test]
    fn progress_reaches_each_tier_once() {
        let a = def(
            json!({"achievement_id": "k", "title": "K", "type": "tiered",
            "tiers": [{"name": "bronze", "threshold": 10, "rewards": {"coins": 1}},
                      {"name": "silver", "threshold": 50, "rewards": {"coins": 2}}]}),
        )
        .unwrap();
        let mut p = Progress::default();
        assert_eq!(advance(&a, &mut p, 60, 5), vec!["bronze", "silver"]);
        assert_eq!(p.unlocked_at, Some(5));
        assert!(advance(&a, &mut p, 70, 6).is_empty());
        assert_eq!(p.unlocked_at, Some(5));
        assert!(advance(&a, &mut p, 3, 7).is_empty());
        assert_eq!(p.progress, 70, "progress never goes down");
    }

    #[test]
    fn player_reports_are_capped_and_never_go_down() {
        assert_eq!(reported(5, 100, true, Some(3)), (8, true));
        assert_eq!(reported(5, 2, false, None), (5, false));
        assert_eq!(reported(5, 7, false, Some(3)), (7, false));
        assert_eq!(reported(u64::MAX - 1, 5, true, None), (MAX_PROGRESS, false));
    }

    #[test]
    fn the_shipped_templates_are_valid() {
        for text in [
            include_str!("../../../data/templates/quizverse_achievements.json"),
            include_str!("../../../data/templates/lasttolive_achievements.json"),
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            let list = v["achievements"].as_array().unwrap();
            assert_eq!(list.len(), 3);
            for (i, a) in list.iter().enumerate() {
                def(a.clone()).unwrap_or_else(|e| panic!("achievements[{i}]: {e}"));
            }
        }
    }

    #[test]
    fn a_locked_hidden_achievement_shows_no_text() {
        let a = def(json!({"achievement_id": "wipe", "title": "One Man Army",
            "description": "Eliminate an entire squad solo", "hidden": true,
            "category": "combat", "rewards": {"coins": 5000, "badge": "army_badge"}}))
        .unwrap();
        let text = view(&a, &Progress::default()).to_string();
        for secret in ["One Man Army", "squad", "army_badge", "5000", "combat"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let mut p = Progress::default();
        advance(&a, &mut p, 1, 9);
        assert!(view(&a, &p).to_string().contains("One Man Army"));
    }
}
