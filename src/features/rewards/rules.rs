//! What a reward may hold.

use super::model::Reward;
use super::RewardError;
use crate::features::inventory::rules::{check_grant, MAX_ITEMS_PER_CALL};
use crate::features::profiles::rules::check_name;
use crate::features::wallet::rules::MAX_CURRENCIES_PER_CHANGE;

pub const MAX_XP: u64 = 1_000_000_000;

fn invalid(field: &str, e: impl std::fmt::Display) -> RewardError {
    RewardError::Invalid(format!("{field}: {e}"))
}

/// Checks a reward; `field` names where it sits in the request (`reward`, `days[2]`, …).
pub fn check(field: &str, r: &Reward) -> Result<(), RewardError> {
    if r.currencies.len() > MAX_CURRENCIES_PER_CHANGE {
        return Err(invalid(
            field,
            format!("at most {MAX_CURRENCIES_PER_CHANGE} currencies"),
        ));
    }
    for (c, amount) in &r.currencies {
        check_name("currency", c).map_err(|e| invalid(field, e))?;
        if *amount <= 0 {
            return Err(invalid(
                field,
                format!("currencies.{c} must be positive, not {amount}"),
            ));
        }
    }
    if r.items.len() > MAX_ITEMS_PER_CALL {
        return Err(invalid(
            field,
            format!("at most {MAX_ITEMS_PER_CALL} items"),
        ));
    }
    for g in &r.items {
        check_grant(g).map_err(|e| invalid(field, e))?;
    }
    if r.xp > MAX_XP {
        return Err(invalid(field, format!("xp must be at most {MAX_XP}")));
    }
    if let Some(b) = &r.badge {
        check_name("badge", b).map_err(|e| invalid(field, e))?;
    }
    if let Some(t) = &r.title {
        check_name("title", t).map_err(|e| invalid(field, e))?;
    }
    Ok(())
}

/// Reads a reward written either in the canonical shape (`{"currencies": {"coins": 5}, "xp":
/// 10}`) or in the seeds' shorthand (`{"coins": 5, "xp": 10, "items": ["rare_skin"],
/// "badge": "b"}`: every other whole-number field is a currency, items may be bare ids),
/// then checks it. `field` names where it sits in the request.
pub fn from_shorthand(field: &str, v: &serde_json::Value) -> Result<Reward, RewardError> {
    use serde_json::Value;
    let Value::Object(map) = v else {
        return Err(invalid(field, "must be an object"));
    };
    let mut r = Reward::default();
    for (k, val) in map {
        let at = |e: &dyn std::fmt::Display| invalid(&format!("{field}.{k}"), e);
        match k.as_str() {
            "xp" => {
                r.xp = val
                    .as_u64()
                    .ok_or_else(|| at(&"must be a whole number >= 0"))?
            }
            "badge" | "title" => {
                let s = val.as_str().ok_or_else(|| at(&"must be text"))?.to_string();
                if k == "badge" {
                    r.badge = Some(s);
                } else {
                    r.title = Some(s);
                }
            }
            "currencies" => {
                r.currencies.extend(
                    serde_json::from_value::<crate::features::wallet::Amounts>(val.clone())
                        .map_err(|e| at(&e))?,
                );
            }
            "items" => {
                let Value::Array(items) = val else {
                    return Err(at(&"must be a list"));
                };
                for it in items {
                    let g = match it {
                        Value::String(id) => crate::features::inventory::ItemGrant {
                            id: id.clone(),
                            quantity: 1,
                            unique: false,
                            properties: Default::default(),
                        },
                        other => serde_json::from_value(other.clone()).map_err(|e| at(&e))?,
                    };
                    r.items.push(g);
                }
            }
            currency => {
                let n = val
                    .as_i64()
                    .ok_or_else(|| at(&"must be a whole number (a currency amount)"))?;
                r.currencies.insert(currency.to_string(), n);
            }
        }
    }
    check(field, &r)?;
    Ok(r)
}

/// A request's reward given as either `reward` or `rewards` (the seeds use both names),
/// in shorthand; `None` when neither is given. `field` names where the pair sits.
pub fn reward_or_rewards(
    field: &str,
    reward: &Option<serde_json::Value>,
    rewards: &Option<serde_json::Value>,
) -> Result<Option<Reward>, RewardError> {
    match (reward, rewards) {
        (Some(_), Some(_)) => Err(invalid(field, "give `reward` or `rewards`, not both")),
        (Some(v), None) => from_shorthand(&format!("{field}.reward"), v).map(Some),
        (None, Some(v)) => from_shorthand(&format!("{field}.rewards"), v).map(Some),
        (None, None) => Ok(None),
    }
}

pub fn is_empty(r: &Reward) -> bool {
    r.currencies.is_empty()
        && r.items.is_empty()
        && r.xp == 0
        && r.badge.is_none()
        && r.title.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reward_takes_only_positive_currencies() {
        let mut r = Reward::default();
        assert!(check("reward", &r).is_ok());
        assert!(is_empty(&r));
        r.currencies.insert("coins".into(), 0);
        let e = check("reward", &r).unwrap_err().to_string();
        assert!(e.contains("reward") && e.contains("coins"), "{e}");
        r.currencies.insert("coins".into(), 5);
        r.badge = Some(String::new());
        assert!(check("reward", &r)
            .unwrap_err()
            .to_string()
            .contains("badge"));
    }
}
