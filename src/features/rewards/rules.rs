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
