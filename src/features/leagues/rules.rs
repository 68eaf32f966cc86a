//! Pure league rules: who moves at season end, and how members are split into cohorts.

use super::model::{Move, Zone};
use crate::auth::UserId;

/// One member's place in a finished cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub user_id: UserId,
    /// 1-based.
    pub rank: u32,
    pub score: Option<i64>,
    pub moved: Move,
    pub new_tier: usize,
}

/// The moves of one cohort of tier `tier` (of `tiers`), `ranked` best first with idle
/// members (no score) last: the top of the promotion zone goes up (if they scored), the
/// bottom of the demotion zone goes down, idle members go down when `idle_demotion`;
/// nobody goes above the top tier or below the bottom one.
pub fn moves(
    tier: usize,
    tiers: usize,
    ranked: &[(UserId, Option<i64>)],
    promotion: Zone,
    demotion: Zone,
    idle_demotion: bool,
) -> Vec<Outcome> {
    let n = ranked.len();
    let up = if tier + 1 < tiers { promotion.of(n) } else { 0 };
    let down = if tier > 0 {
        demotion.of(n).min(n - up)
    } else {
        0
    };
    ranked
        .iter()
        .enumerate()
        .map(|(i, (user, score))| {
            let moved = if i < up && score.is_some() {
                Move::Promoted
            } else if tier > 0 && (i >= n - down || (score.is_none() && idle_demotion)) {
                Move::Demoted
            } else {
                Move::Stayed
            };
            let new_tier = match moved {
                Move::Promoted => tier + 1,
                Move::Demoted => tier - 1,
                Move::Stayed => tier,
            };
            Outcome {
                user_id: *user,
                rank: i as u32 + 1,
                score: *score,
                moved,
                new_tier,
            }
        })
        .collect()
}

/// Splits `ordered` into the fewest cohorts of at most `size`, as even as can be (sizes
/// differ by at most one), keeping order: neighbours in the order share a cohort.
pub fn split(ordered: &[UserId], size: usize) -> Vec<Vec<UserId>> {
    if ordered.is_empty() {
        return Vec::new();
    }
    let size = size.max(1);
    let k = ordered.len().div_ceil(size);
    let base = ordered.len() / k;
    let extra = ordered.len() % k;
    let mut out = Vec::with_capacity(k);
    let mut at = 0;
    for i in 0..k {
        let len = base + usize::from(i < extra);
        out.push(ordered[at..at + len].to_vec());
        at += len;
    }
    out
}

/// The zone a rank of a cohort of `n` falls in, for display: `promotion`, `demotion` or
/// `safe`.
pub fn zone(tier: usize, tiers: usize, rank: u32, n: usize, p: Zone, d: Zone) -> &'static str {
    let up = if tier + 1 < tiers { p.of(n) } else { 0 };
    let down = if tier > 0 { d.of(n).min(n - up) } else { 0 };
    let i = rank as usize - 1;
    if i < up {
        "promotion"
    } else if i >= n - down {
        "demotion"
    } else {
        "safe"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ranked(n: usize, idle: usize) -> Vec<(UserId, Option<i64>)> {
        (0..n)
            .map(|i| {
                let score = (i < n - idle).then_some((n - i) as i64 * 10);
                (Uuid::from_u128(i as u128 + 1), score)
            })
            .collect()
    }

    #[test]
    fn zones_by_count_and_fraction() {
        let r = ranked(10, 0);
        let o = moves(1, 3, &r, Zone::Count(3), Zone::Fraction(0.2), false);
        let m: Vec<Move> = o.iter().map(|x| x.moved).collect();
        assert_eq!(&m[..3], &[Move::Promoted; 3]);
        assert_eq!(&m[3..8], &[Move::Stayed; 5]);
        assert_eq!(&m[8..], &[Move::Demoted; 2]);
        assert_eq!(o[0].new_tier, 2);
        assert_eq!(o[9].new_tier, 0);
    }

    #[test]
    fn top_and_bottom_tiers_do_not_move_out() {
        let r = ranked(4, 0);
        let top = moves(2, 3, &r, Zone::Count(1), Zone::Count(1), true);
        assert_eq!(top[0].moved, Move::Stayed);
        assert_eq!(top[3].moved, Move::Demoted);
        let bottom = moves(0, 3, &r, Zone::Count(1), Zone::Count(1), true);
        assert_eq!(bottom[0].moved, Move::Promoted);
        assert_eq!(bottom[3].moved, Move::Stayed);
    }

    #[test]
    fn idle_members_are_demoted_and_never_promoted() {
        // 3 members, all idle, middle tier: none promoted, all demoted.
        let r = ranked(3, 3);
        let o = moves(1, 3, &r, Zone::Count(1), Zone::Count(0), true);
        assert!(o.iter().all(|x| x.moved == Move::Demoted));
        let o = moves(1, 3, &r, Zone::Count(1), Zone::Count(0), false);
        assert!(o.iter().all(|x| x.moved == Move::Stayed));
    }

    #[test]
    fn split_is_even_and_bounded() {
        let ids: Vec<UserId> = (0..101).map(|i| Uuid::from_u128(i as u128)).collect();
        let c = split(&ids, 50);
        assert_eq!(
            c.iter().map(|x| x.len()).collect::<Vec<_>>(),
            vec![34, 34, 33]
        );
        assert_eq!(c.concat(), ids);
        assert!(split(&[], 50).is_empty());
        assert_eq!(split(&ids[..50], 50).len(), 1);
    }

    #[test]
    fn zone_names() {
        assert_eq!(
            zone(1, 3, 1, 10, Zone::Count(2), Zone::Count(2)),
            "promotion"
        );
        assert_eq!(zone(1, 3, 5, 10, Zone::Count(2), Zone::Count(2)), "safe");
        assert_eq!(
            zone(1, 3, 10, 10, Zone::Count(2), Zone::Count(2)),
            "demotion"
        );
        assert_eq!(zone(0, 3, 10, 10, Zone::Count(2), Zone::Count(2)), "safe");
    }
}
