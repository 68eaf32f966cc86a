//! Pure rules: a config version's shape, what changed between two, and which value each
//! player gets.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::features::audience::{AudienceRule, Facts};

pub const MAX_KEYS: usize = 1000;
pub const MAX_AUDIENCES: usize = 100;
pub const MAX_BYTES: usize = 256 * 1024;
pub const DEFAULT_SOURCE: &str = "default";

/// Values for one audience; among matching audiences the highest `priority` wins a key
/// (ties: the one listed first).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AudienceOverride {
    pub name: String,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub rule: AudienceRule,
    pub values: BTreeMap<String, Value>,
}

/// One version of a game's remote config. Every update writes a new one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigVersion {
    pub version: u64,
    pub default: BTreeMap<String, Value>,
    pub audiences: Vec<AudienceOverride>,
    /// Who made it (`admin:<id>`, `cli`).
    pub by: String,
    /// Unix seconds.
    pub at: i64,
    #[serde(default)]
    pub note: String,
    /// What changed against the version before, one line per key or audience.
    #[serde(default)]
    pub changes: Vec<String>,
}

impl ConfigVersion {
    pub fn approx_bytes(&self) -> u64 {
        serde_json::to_vec(&(&self.default, &self.audiences)).map_or(0, |v| v.len()) as u64
    }

    /// Experiments the audiences target.
    pub fn experiments(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for a in &self.audiences {
            if let Some(c) = &a.rule.experiment {
                if !seen.contains(&c.experiment_id) {
                    seen.push(c.experiment_id.clone());
                }
            }
        }
        seen
    }
}

fn check_key(at: &str, k: &str) -> Result<(), String> {
    let n = k.chars().count();
    if n == 0 || n > 128 {
        return Err(format!("{at}: key `{k}` must be 1 to 128 characters"));
    }
    if k.chars().any(|c| c.is_control()) {
        return Err(format!("{at}: key `{k}` has a control character"));
    }
    Ok(())
}

/// Checks a default and its audiences; errors name the field.
pub fn check(
    default: &BTreeMap<String, Value>,
    audiences: &[AudienceOverride],
) -> Result<(), String> {
    if default.len() > MAX_KEYS {
        return Err(format!("default: at most {MAX_KEYS} keys"));
    }
    for k in default.keys() {
        check_key("default", k)?;
    }
    if audiences.len() > MAX_AUDIENCES {
        return Err(format!("audiences: at most {MAX_AUDIENCES}"));
    }
    let mut names = HashSet::new();
    for (i, a) in audiences.iter().enumerate() {
        let at = format!("audiences[{i}]");
        if a.name.is_empty() || a.name.chars().count() > 64 {
            return Err(format!("{at}.name: 1 to 64 characters"));
        }
        if a.name == DEFAULT_SOURCE {
            return Err(format!("{at}.name: `default` is the fallback's name"));
        }
        if !names.insert(&a.name) {
            return Err(format!("{at}.name: `{}` appears twice", a.name));
        }
        a.rule.check(&format!("{at}.rule"))?;
        if a.values.is_empty() {
            return Err(format!("{at}.values: at least one key"));
        }
        if a.values.len() > MAX_KEYS {
            return Err(format!("{at}.values: at most {MAX_KEYS} keys"));
        }
        for k in a.values.keys() {
            check_key(&format!("{at}.values"), k)?;
        }
    }
    let size = serde_json::to_vec(&(default, audiences)).map_or(0, |v| v.len());
    if size > MAX_BYTES {
        return Err(format!(
            "default: the config is {size} bytes; at most {MAX_BYTES}"
        ));
    }
    Ok(())
}

/// What changed from `old` to `new`, one line each.
pub fn changes(old: &ConfigVersion, new: &ConfigVersion) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &new.default {
        match old.default.get(k) {
            None => out.push(format!("default.{k} added: {v}")),
            Some(o) if o != v => out.push(format!("default.{k}: {o} -> {v}")),
            _ => {}
        }
    }
    for k in old.default.keys() {
        if !new.default.contains_key(k) {
            out.push(format!("default.{k} removed"));
        }
    }
    for a in &new.audiences {
        match old.audiences.iter().find(|o| o.name == a.name) {
            None => out.push(format!("audience {} added", a.name)),
            Some(o) if o != a => out.push(format!("audience {} changed", a.name)),
            _ => {}
        }
    }
    for o in &old.audiences {
        if !new.audiences.iter().any(|a| a.name == o.name) {
            out.push(format!("audience {} removed", o.name));
        }
    }
    out
}

/// What a player gets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resolved {
    pub config: BTreeMap<String, Value>,
    /// key → `default` or the audience whose value won.
    pub sources: BTreeMap<String, String>,
    /// Audiences the player is in, highest priority first.
    pub audiences: Vec<String>,
}

/// The fallback chain: each key from the highest-priority audience that matches and sets
/// it, else the default.
pub fn resolve(cfg: &ConfigVersion, facts: &Facts) -> Resolved {
    let mut matched: Vec<(usize, &AudienceOverride)> = cfg
        .audiences
        .iter()
        .enumerate()
        .filter(|(_, a)| a.rule.matches(facts))
        .collect();
    matched.sort_by(|(ia, a), (ib, b)| b.priority.cmp(&a.priority).then(ia.cmp(ib)));
    let mut r = Resolved {
        config: cfg.default.clone(),
        sources: cfg
            .default
            .keys()
            .map(|k| (k.clone(), DEFAULT_SOURCE.to_string()))
            .collect(),
        audiences: matched.iter().map(|(_, a)| a.name.clone()).collect(),
    };
    // Lowest priority first, so higher ones overwrite.
    for (_, a) in matched.iter().rev() {
        for (k, v) in &a.values {
            r.config.insert(k.clone(), v.clone());
            r.sources.insert(k.clone(), a.name.clone());
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(audiences: Value) -> ConfigVersion {
        ConfigVersion {
            version: 1,
            default: serde_json::from_value(
                json!({"coins": 100, "banner": "hello", "hard": false}),
            )
            .unwrap(),
            audiences: serde_json::from_value(audiences).unwrap(),
            by: "cli".into(),
            at: 0,
            note: String::new(),
            changes: vec![],
        }
    }

    #[test]
    fn the_highest_priority_audience_wins_each_key_and_says_so() {
        let v = version(json!([
            {"name": "ios", "priority": 1, "rule": {"platforms": ["ios"]},
             "values": {"coins": 150, "banner": "ios!"}},
            {"name": "veterans", "priority": 5, "rule": {"min_account_age_days": 30},
             "values": {"coins": 500}},
        ]));
        assert!(check(&v.default, &v.audiences).is_ok());
        let mut f = Facts {
            platform: Some("ios".into()),
            ..Default::default()
        };
        let r = resolve(&v, &f);
        assert_eq!(r.config["coins"], json!(150));
        assert_eq!(r.sources["coins"], "ios");
        assert_eq!(r.sources["hard"], "default");
        f.account_age_days = 40;
        let r = resolve(&v, &f);
        assert_eq!(r.config["coins"], json!(500));
        assert_eq!(r.sources["coins"], "veterans");
        assert_eq!(r.config["banner"], json!("ios!"));
        assert_eq!(r.audiences, vec!["veterans", "ios"]);
        let r = resolve(&v, &Facts::default());
        assert_eq!(r.config["coins"], json!(100));
        assert!(r.audiences.is_empty());
    }

    #[test]
    fn bad_configs_name_the_field_and_changes_are_listed() {
        let v = version(json!([
            {"name": "a", "values": {"x": 1}},
            {"name": "a", "values": {"x": 2}},
        ]));
        assert_eq!(
            check(&v.default, &v.audiences).unwrap_err(),
            "audiences[1].name: `a` appears twice"
        );
        let v =
            version(json!([{"name": "b", "rule": {"app_version": "nope"}, "values": {"x": 1}}]));
        assert!(check(&v.default, &v.audiences)
            .unwrap_err()
            .starts_with("audiences[0].rule.app_version"));
        let old = version(json!([]));
        let mut new = old.clone();
        new.default.insert("coins".into(), json!(120));
        new.default.remove("hard");
        let c = changes(&old, &new);
        assert_eq!(c, vec!["default.coins: 100 -> 120", "default.hard removed"]);
    }
}
