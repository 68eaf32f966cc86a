//! Mission rules: the pool's shape, each player's deterministic daily selection, capped
//! progress.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::model::{DayProgress, Mission, MissionProgress};
use super::MissionError;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::rules::check as check_reward;

pub const MAX_MISSIONS: usize = 200;
pub const DEFAULT_DAILY_COUNT: u32 = 3;

fn invalid(m: impl Into<String>) -> MissionError {
    MissionError::Invalid(m.into())
}

pub fn check_pool(missions: &[Mission], daily_count: u32) -> Result<(), MissionError> {
    if missions.is_empty() || missions.len() > MAX_MISSIONS {
        return Err(invalid(format!(
            "missions must hold 1 to {MAX_MISSIONS} missions"
        )));
    }
    let mut ids = BTreeSet::new();
    for (i, m) in missions.iter().enumerate() {
        let at = |e: crate::rpc::RpcError| invalid(format!("missions[{i}].{e}"));
        check_name("id", &m.id).map_err(at)?;
        if !ids.insert(m.id.as_str()) {
            return Err(invalid(format!("missions[{i}].id `{}` is repeated", m.id)));
        }
        check_name("title", &m.title).map_err(at)?;
        check_text("description", &m.description, 512).map_err(at)?;
        check_name("stat", &m.stat).map_err(at)?;
        if m.target == 0 {
            return Err(invalid(format!("missions[{i}].target must be at least 1")));
        }
        check_reward(&format!("missions[{i}].reward"), &m.reward)
            .map_err(|e| invalid(e.to_string()))?;
    }
    if daily_count == 0 || daily_count as usize > missions.len() {
        return Err(invalid(format!(
            "daily_count must be between 1 and the number of missions ({}), not {daily_count}",
            missions.len()
        )));
    }
    Ok(())
}

/// FNV-1a, 64 bits: a hash that stays the same across builds and platforms.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The player's missions on UTC day `day`: the same answer every time for the same pool,
/// different players and days getting different draws.
pub fn daily_selection(missions: &[Mission], count: u32, user: Uuid, day: i64) -> Vec<&Mission> {
    let mut ranked: Vec<(u64, &Mission)> = missions
        .iter()
        .map(|m| {
            (
                fnv1a(&[user.as_bytes(), &day.to_be_bytes(), m.id.as_bytes()]),
                m,
            )
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    ranked
        .into_iter()
        .take(count as usize)
        .map(|(_, m)| m)
        .collect()
}

/// The player's missions on `day` as its progress record fixed them: the ids kept on the
/// day's first report (missions since removed from the pool are left out), or, before any
/// report, the day's draw from the current pool.
pub fn selection_for<'a>(
    pool: &'a [Mission],
    count: u32,
    user: Uuid,
    day: i64,
    record: &DayProgress,
) -> Vec<&'a Mission> {
    if record.selection.is_empty() {
        return daily_selection(pool, count, user, day);
    }
    record
        .selection
        .iter()
        .filter_map(|id| pool.iter().find(|m| &m.id == id))
        .collect()
}

/// The UTC days whose missions may be claimed on `today`, in the order a claim looks at
/// them: today, then yesterday — a grace day, so a mission completed just before midnight
/// can still be claimed after it.
pub fn claim_days(today: i64) -> [i64; 2] {
    [today, today - 1]
}

/// One claimable day's view of a mission: the day, the mission's target and the player's
/// progress on it that day.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCandidate {
    pub day: i64,
    pub target: u64,
    pub progress: MissionProgress,
}

/// Which day a claim of mission `id` pays from, given the days (in [`claim_days`] order)
/// whose selection holds it: the first on which it is complete and unclaimed. Otherwise
/// the reason the first of them refuses (incomplete or already claimed), or `NotToday`
/// when no claimable day drew the mission.
pub fn choose_claim(id: &str, candidates: &[ClaimCandidate]) -> Result<i64, MissionError> {
    if let Some(c) = candidates
        .iter()
        .find(|c| c.progress.progress >= c.target && !c.progress.claimed)
    {
        return Ok(c.day);
    }
    match candidates.first() {
        None => Err(MissionError::NotToday(id.to_string())),
        Some(c) if c.progress.claimed => Err(MissionError::AlreadyClaimed(id.to_string())),
        Some(c) => Err(MissionError::Incomplete {
            id: id.to_string(),
            progress: c.progress.progress,
            target: c.target,
        }),
    }
}

/// Progress after adding `amount`, never past `target`.
pub fn advance(progress: u64, amount: u64, target: u64) -> u64 {
    progress.saturating_add(amount).min(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::rewards::Reward;

    fn pool(n: usize) -> Vec<Mission> {
        (0..n)
            .map(|i| Mission {
                id: format!("m{i}"),
                title: format!("Mission {i}"),
                description: String::new(),
                stat: "kills".into(),
                target: 5,
                reward: Reward::default(),
                progress_by: Default::default(),
            })
            .collect()
    }

    #[test]
    fn the_selection_is_deterministic_per_player_and_day() {
        let p = pool(10);
        let u = Uuid::new_v4();
        let a: Vec<&str> = daily_selection(&p, 3, u, 100)
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        let b: Vec<&str> = daily_selection(&p, 3, u, 100)
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        let days: BTreeSet<Vec<String>> = (0..20)
            .map(|d| {
                daily_selection(&p, 3, u, d)
                    .iter()
                    .map(|m| m.id.clone())
                    .collect()
            })
            .collect();
        assert!(days.len() > 1, "the draw changes from day to day");
    }

    fn ids(ms: &[&Mission]) -> Vec<String> {
        ms.iter().map(|m| m.id.clone()).collect()
    }

    #[test]
    fn a_running_day_keeps_its_selection_when_the_pool_changes() {
        let p = pool(10);
        let u = Uuid::new_v4();
        let fresh = DayProgress::default();
        let drawn = ids(&selection_for(&p, 3, u, 100, &fresh));
        assert_eq!(drawn, ids(&daily_selection(&p, 3, u, 100)));
        let record = DayProgress {
            selection: drawn.clone(),
            ..Default::default()
        };
        // The pool is edited mid-day: new missions in front, the count raised.
        let mut edited: Vec<Mission> = pool(30).into_iter().skip(10).collect();
        for m in &mut edited {
            m.id = format!("new{}", m.id);
        }
        edited.extend(p.iter().cloned());
        assert_eq!(ids(&selection_for(&edited, 5, u, 100, &record)), drawn);
        // A mission removed from the pool drops out; the others stay.
        let without_first: Vec<Mission> = p.iter().filter(|m| m.id != drawn[0]).cloned().collect();
        assert_eq!(
            ids(&selection_for(&without_first, 3, u, 100, &record)),
            drawn[1..].to_vec()
        );
    }

    fn candidate(day: i64, progress: u64, claimed: bool) -> ClaimCandidate {
        ClaimCandidate {
            day,
            target: 5,
            progress: MissionProgress { progress, claimed },
        }
    }

    #[test]
    fn yesterdays_completed_mission_can_be_claimed_today() {
        // Completed at 23:59:59 on day 99, claimed at 00:00:01 on day 100.
        assert_eq!(claim_days(100), [100, 99]);
        assert_eq!(choose_claim("m1", &[candidate(99, 5, false)]).unwrap(), 99);
        // Drawn both days: today's completed one first, else yesterday's.
        assert_eq!(
            choose_claim("m1", &[candidate(100, 5, false), candidate(99, 5, false)]).unwrap(),
            100
        );
        assert_eq!(
            choose_claim("m1", &[candidate(100, 2, false), candidate(99, 5, false)]).unwrap(),
            99
        );
        assert_eq!(
            choose_claim("m1", &[candidate(100, 5, true), candidate(99, 5, false)]).unwrap(),
            99
        );
        // Nothing left to pay: today's reason is given.
        assert!(matches!(
            choose_claim("m1", &[candidate(100, 2, false), candidate(99, 5, true)]),
            Err(MissionError::Incomplete {
                progress: 2,
                target: 5,
                ..
            })
        ));
        assert!(matches!(
            choose_claim("m1", &[candidate(99, 5, true)]),
            Err(MissionError::AlreadyClaimed(_))
        ));
        assert!(matches!(
            choose_claim("m1", &[]),
            Err(MissionError::NotToday(_))
        ));
    }

    #[test]
    fn progress_is_capped() {
        assert_eq!(advance(3, 4, 5), 5);
        assert_eq!(advance(1, 1, 5), 2);
        assert_eq!(advance(u64::MAX, 1, 5), 5);
    }

    #[test]
    fn the_pool_is_checked() {
        assert!(check_pool(&pool(3), 3).is_ok());
        assert!(check_pool(&pool(3), 4)
            .unwrap_err()
            .to_string()
            .contains("daily_count"));
        let mut p = pool(2);
        p[1].id = "m0".into();
        assert!(check_pool(&p, 1)
            .unwrap_err()
            .to_string()
            .contains("repeated"));
        let mut p = pool(2);
        p[0].target = 0;
        assert!(check_pool(&p, 1)
            .unwrap_err()
            .to_string()
            .contains("missions[0].target"));
    }
}
