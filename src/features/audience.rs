//! Audiences: a rule over what is known of a player — platform, country, app version (a
//! semver range), account age, custom properties, experiment cohort. Remote config targets
//! its overrides with them and experiments limit who takes part. Pure: the caller gathers
//! the player's [`Facts`]; matching reads nothing.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every condition present must hold; an empty rule matches everyone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AudienceRule {
    /// Any of these platforms (case-insensitive), e.g. `["ios", "android"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// Any of these ISO 3166 alpha-2 countries (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// A semver range the app version must satisfy, e.g. `">=1.4.0, <2"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Account at least this many days old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_account_age_days: Option<u32>,
    /// Account at most this many days old (`0`: created today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_account_age_days: Option<u32>,
    /// Custom properties: each must equal the value given, or one of the values of an array.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
    /// Players assigned to one of these variants of an experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<CohortRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CohortRule {
    pub experiment_id: String,
    /// Any of these variants; all variants when empty.
    #[serde(default)]
    pub variants: Vec<String>,
}

/// What is known of the player a rule is checked against.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub platform: Option<String>,
    pub country: Option<String>,
    pub app_version: Option<semver::Version>,
    /// Whole days since the account was created.
    pub account_age_days: i64,
    pub properties: BTreeMap<String, Value>,
    /// experiment id → the variant the player is assigned to.
    pub cohorts: HashMap<String, String>,
}

/// Parses an app version leniently: `1.4` is `1.4.0`, a leading `v` is dropped.
pub fn parse_version(text: &str) -> Result<semver::Version, String> {
    let t = text.trim().trim_start_matches('v');
    let padded = match t.split('.').count() {
        1 => format!("{t}.0.0"),
        2 => format!("{t}.0"),
        _ => t.to_string(),
    };
    semver::Version::parse(&padded)
        .map_err(|e| format!("app_version: `{text}` is not a version like 1.4.2 ({e})"))
}

impl AudienceRule {
    /// Checks the rule is well formed; errors name the field under `at`.
    pub fn check(&self, at: &str) -> Result<(), String> {
        if let Some(r) = &self.app_version {
            semver::VersionReq::parse(r).map_err(|e| {
                format!("{at}.app_version: `{r}` is not a semver range like \">=1.2, <2\" ({e})")
            })?;
        }
        if let (Some(lo), Some(hi)) = (self.min_account_age_days, self.max_account_age_days) {
            if lo > hi {
                return Err(format!(
                    "{at}.min_account_age_days: {lo} is above max_account_age_days {hi}"
                ));
            }
        }
        for c in &self.countries {
            if c.len() != 2 || !c.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(format!(
                    "{at}.countries: `{c}` is not a two-letter country code"
                ));
            }
        }
        for (k, v) in &self.properties {
            let ok = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
            let fine = match v {
                Value::Array(a) => !a.is_empty() && a.iter().all(ok),
                other => ok(other),
            };
            if !fine {
                return Err(format!(
                    "{at}.properties.{k}: a string, number, boolean or a list of them"
                ));
            }
        }
        if let Some(c) = &self.experiment {
            if c.experiment_id.is_empty() {
                return Err(format!("{at}.experiment.experiment_id: required"));
            }
        }
        Ok(())
    }

    pub fn matches(&self, f: &Facts) -> bool {
        let any_of = |list: &[String], v: &Option<String>| {
            list.is_empty()
                || v.as_ref()
                    .is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
        };
        if !any_of(&self.platforms, &f.platform) || !any_of(&self.countries, &f.country) {
            return false;
        }
        if let Some(range) = &self.app_version {
            let Ok(req) = semver::VersionReq::parse(range) else {
                return false;
            };
            if !f.app_version.as_ref().is_some_and(|v| req.matches(v)) {
                return false;
            }
        }
        if self
            .min_account_age_days
            .is_some_and(|d| f.account_age_days < i64::from(d))
            || self
                .max_account_age_days
                .is_some_and(|d| f.account_age_days > i64::from(d))
        {
            return false;
        }
        for (k, want) in &self.properties {
            let Some(have) = f.properties.get(k) else {
                return false;
            };
            let hit = match want {
                Value::Array(options) => options.contains(have),
                w => w == have,
            };
            if !hit {
                return false;
            }
        }
        if let Some(c) = &self.experiment {
            match f.cohorts.get(&c.experiment_id) {
                Some(v) if c.variants.is_empty() || c.variants.contains(v) => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> AudienceRule {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_condition_must_hold() {
        let r = rule(json!({
            "platforms": ["ios"], "countries": ["DE", "at"], "app_version": ">=1.4, <2",
            "min_account_age_days": 7, "properties": {"tier": ["gold", "vip"], "beta": true},
            "experiment": {"experiment_id": "shop", "variants": ["b"]}
        }));
        assert!(r.check("audiences[0]").is_ok());
        let mut f = Facts {
            platform: Some("iOS".into()),
            country: Some("at".into()),
            app_version: Some(parse_version("1.5").unwrap()),
            account_age_days: 10,
            properties: [
                ("tier".to_string(), json!("vip")),
                ("beta".to_string(), json!(true)),
            ]
            .into(),
            cohorts: [("shop".to_string(), "b".to_string())].into(),
        };
        assert!(r.matches(&f));
        f.app_version = Some(parse_version("2.0.0").unwrap());
        assert!(!r.matches(&f), "outside the semver range");
        f.app_version = Some(parse_version("v1.4.0").unwrap());
        f.account_age_days = 6;
        assert!(!r.matches(&f), "account too young");
        f.account_age_days = 7;
        f.cohorts.insert("shop".into(), "a".into());
        assert!(!r.matches(&f), "other cohort");
        f.cohorts.insert("shop".into(), "b".into());
        f.properties.insert("tier".into(), json!("bronze"));
        assert!(!r.matches(&f), "property not among the values");
        assert!(AudienceRule::default().matches(&Facts::default()));
    }

    #[test]
    fn bad_rules_name_their_field() {
        let r = rule(json!({"app_version": "banana"}));
        assert!(r
            .check("audiences[2]")
            .unwrap_err()
            .starts_with("audiences[2].app_version"));
        let r = rule(json!({"countries": ["Germany"]}));
        assert!(r.check("a").unwrap_err().contains("countries"));
        let r = rule(json!({"min_account_age_days": 9, "max_account_age_days": 3}));
        assert!(r.check("a").is_err());
        assert!(parse_version("one").is_err());
    }
}
