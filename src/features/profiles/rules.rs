//! Profile rules: the level curve and what may be written.

use super::Profile;
use crate::rpc::RpcError;

/// Level reached with `xp`: level n needs 100·n·(n−1)/2 XP (0, 100, 300, 600, 1000, …).
pub fn level_for_xp(xp: u64) -> u32 {
    // Largest n with 50·n·(n−1) ≤ xp, computed in u128 so no XP total overflows.
    let need = |n: u128| 50 * n * n.saturating_sub(1);
    let xp = xp as u128;
    let mut n = ((xp as f64 / 50.0 + 0.25).sqrt() + 0.5).floor() as u128;
    n = n.max(1);
    while n > 1 && need(n) > xp {
        n -= 1;
    }
    while need(n + 1) <= xp {
        n += 1;
    }
    n.min(u32::MAX as u128) as u32
}

/// XP needed to reach `level` (saturating: the curve outgrows u64 near the top).
pub fn xp_for_level(level: u32) -> u64 {
    let n = level as u128;
    (50 * n * n.saturating_sub(1)).min(u64::MAX as u128) as u64
}

/// Adds XP and recomputes the level; returns the levels gained.
pub fn add_xp(p: &mut Profile, xp: u64) -> u32 {
    let before = p.level;
    p.xp = p.xp.saturating_add(xp);
    p.level = level_for_xp(p.xp);
    p.level.saturating_sub(before)
}

pub fn check_text(field: &str, v: &str, max: usize) -> Result<(), RpcError> {
    if v.chars().count() > max {
        return Err(RpcError::invalid(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(RpcError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

pub fn check_name(field: &str, v: &str) -> Result<(), RpcError> {
    if v.is_empty() {
        return Err(RpcError::invalid(format!("{field} must not be empty")));
    }
    check_text(field, v, 64)
}

/// Adds `item` to a list of names once.
pub fn add_unique(list: &mut Vec<String>, item: &str) -> bool {
    if list.iter().any(|x| x == item) {
        return false;
    }
    list.push(item.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_curve() {
        assert_eq!(level_for_xp(0), 1);
        assert_eq!(level_for_xp(99), 1);
        assert_eq!(level_for_xp(100), 2);
        assert_eq!(level_for_xp(299), 2);
        assert_eq!(level_for_xp(300), 3);
        assert_eq!(level_for_xp(600), 4);
        assert_eq!(level_for_xp(1000), 5);
        for xp in (0..200_000).step_by(37) {
            let n = level_for_xp(xp) as u64;
            assert!(
                50 * n * (n - 1) <= xp && xp < 50 * (n + 1) * n,
                "xp {xp} level {n}"
            );
        }
        assert!(level_for_xp(u64::MAX) > 1);
    }

    #[test]
    fn the_next_level_never_overflows() {
        assert_eq!(xp_for_level(2), 100);
        assert_eq!(
            xp_for_level(level_for_xp(u64::MAX).saturating_add(1)),
            u64::MAX
        );
        let mut p = Profile::default();
        add_xp(&mut p, u64::MAX);
        add_xp(&mut p, 5);
        assert_eq!(p.xp, u64::MAX);
    }

    #[test]
    fn xp_raises_level() {
        let mut p = Profile::default();
        assert_eq!(add_xp(&mut p, 350), 2);
        assert_eq!(p.level, 3);
    }
}
