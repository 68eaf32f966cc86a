//! Wallet rules: what a change may look like and what it does to balances.

use super::model::{Amounts, Change, Changeset};
use super::WalletError;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::vault::check_idempotency_key;

pub const MAX_CURRENCIES_PER_CHANGE: usize = 32;
pub const MAX_REASON_CHARS: usize = 128;
pub const MAX_METADATA_BYTES: usize = 4096;

fn invalid(e: crate::rpc::RpcError) -> WalletError {
    WalletError::Invalid(e.to_string())
}

/// Checks a change before it touches anything.
pub fn check(change: &Change) -> Result<(), WalletError> {
    if change.changeset.is_empty() {
        return Err(WalletError::Invalid(
            "changeset must name at least one currency".into(),
        ));
    }
    if change.changeset.len() > MAX_CURRENCIES_PER_CHANGE {
        return Err(WalletError::Invalid(format!(
            "changeset: at most {MAX_CURRENCIES_PER_CHANGE} currencies per change"
        )));
    }
    for currency in change.changeset.keys() {
        check_name("changeset currency", currency).map_err(invalid)?;
    }
    if change.reason.trim().is_empty() {
        return Err(WalletError::Invalid("reason must not be empty".into()));
    }
    check_text("reason", &change.reason, MAX_REASON_CHARS).map_err(invalid)?;
    let meta = serde_json::to_vec(&change.metadata).unwrap_or_default();
    if meta.len() > MAX_METADATA_BYTES {
        return Err(WalletError::Invalid(format!(
            "metadata must be at most {MAX_METADATA_BYTES} bytes of JSON"
        )));
    }
    check_idempotency_key(change.idempotency_key.as_deref()).map_err(invalid)?;
    Ok(())
}

/// The balances after `changeset`, or why it is refused: any balance below zero refuses
/// the whole change.
pub fn apply(balances: &Amounts, changeset: &Changeset) -> Result<Amounts, WalletError> {
    let mut out = balances.clone();
    for (currency, delta) in changeset {
        let have = out.get(currency).copied().unwrap_or(0);
        let would_be = have
            .checked_add(*delta)
            .ok_or_else(|| WalletError::Invalid(format!("changeset: {currency} would overflow")))?;
        if would_be < 0 {
            return Err(WalletError::Insufficient {
                currency: currency.clone(),
                balance: have,
                would_be,
            });
        }
        out.insert(currency.clone(), would_be);
    }
    Ok(out)
}

/// Sum of one currency's deltas over ledger entries (for audits and tests).
pub fn total<'a>(currency: &str, changes: impl IntoIterator<Item = &'a Changeset>) -> i64 {
    changes
        .into_iter()
        .filter_map(|c| c.get(currency))
        .fold(0i64, |acc, d| acc.saturating_add(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(pairs: &[(&str, i64)]) -> Changeset {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_change_that_would_go_negative_is_refused_whole() {
        let start = cs(&[("coins", 10), ("gems", 1)]);
        let err = apply(&start, &cs(&[("coins", 5), ("gems", -2)])).unwrap_err();
        match err {
            WalletError::Insufficient {
                currency,
                balance,
                would_be,
            } => {
                assert_eq!(currency, "gems");
                assert_eq!(balance, 1);
                assert_eq!(would_be, -1);
            }
            other => panic!("expected Insufficient, got {other}"),
        }
        let ok = apply(&start, &cs(&[("coins", -10), ("gems", 4)])).unwrap();
        assert_eq!(ok, cs(&[("coins", 0), ("gems", 5)]));
    }

    #[test]
    fn overflow_is_refused() {
        let start = cs(&[("coins", i64::MAX)]);
        assert!(matches!(
            apply(&start, &cs(&[("coins", 1)])),
            Err(WalletError::Invalid(_))
        ));
    }

    #[test]
    fn checks_name_the_field() {
        let mut c = Change {
            changeset: cs(&[("coins", 1)]),
            reason: "quest".into(),
            ..Default::default()
        };
        assert!(check(&c).is_ok());
        c.reason = " ".into();
        assert!(check(&c).unwrap_err().to_string().contains("reason"));
        c.reason = "quest".into();
        c.changeset = Changeset::new();
        assert!(check(&c).unwrap_err().to_string().contains("changeset"));
        c.changeset = cs(&[("co\0ins", 1)]);
        assert!(check(&c).unwrap_err().to_string().contains("currency"));
        c.changeset = cs(&[("coins", 1)]);
        c.idempotency_key = Some(String::new());
        assert!(check(&c)
            .unwrap_err()
            .to_string()
            .contains("idempotency_key"));
    }

    #[test]
    fn totals_add_deltas() {
        let a = cs(&[("coins", 5)]);
        let b = cs(&[("coins", -2), ("gems", 3)]);
        assert_eq!(total("coins", [&a, &b]), 3);
        assert_eq!(total("gems", [&a, &b]), 3);
    }
}
