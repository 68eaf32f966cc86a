//! Daily reward rules: one claim per UTC day, consecutive days climb the 7-day cycle, a
//! missed day starts over at day 1.

use super::model::{Standing, Streak};
use super::DailyError;
use crate::features::rewards::{rules::check, Reward};

pub const CYCLE_DAYS: usize = 7;

fn following(day: u32) -> u32 {
    (day % CYCLE_DAYS as u32) + 1
}

pub fn standing(s: &Streak, today: i64) -> Standing {
    match s.last_claim_day {
        // Claimed today, or on a day still ahead of the clock (it was stepped back): no
        // claim until that day has passed.
        Some(d) if d >= today => Standing {
            claimable: false,
            next_day: following(s.day),
            streak: s.streak,
            day: s.day,
        },
        Some(d) if d == today - 1 => Standing {
            claimable: true,
            next_day: following(s.day),
            streak: s.streak,
            day: s.day,
        },
        _ => Standing {
            claimable: true,
            next_day: 1,
            streak: 0,
            day: 0,
        },
    }
}

/// The UTC day of the next possible claim: today when claimable, else the day after the
/// last claim (later than tomorrow when the clock was stepped back past it).
pub fn next_claim_day(s: &Streak, today: i64) -> i64 {
    match s.last_claim_day {
        Some(d) if d >= today => d + 1,
        _ => today,
    }
}

/// The streak after claiming on `today`, or why not.
pub fn claim(s: &Streak, today: i64) -> Result<Streak, DailyError> {
    let st = standing(s, today);
    if !st.claimable {
        return Err(DailyError::AlreadyClaimed);
    }
    Ok(Streak {
        day: st.next_day,
        streak: st.streak + 1,
        last_claim_day: Some(today),
        total_claims: s.total_claims + 1,
    })
}

pub fn check_table(days: &[Reward]) -> Result<(), DailyError> {
    if days.len() != CYCLE_DAYS {
        return Err(DailyError::Invalid(format!(
            "days must hold exactly {CYCLE_DAYS} rewards, not {}",
            days.len()
        )));
    }
    for (i, r) in days.iter().enumerate() {
        check(&format!("days[{i}]"), r).map_err(|e| DailyError::Invalid(e.to_string()))?;
    }
    Ok(())
}

/// Takes back today's claim, so the player may claim again today (support: a claim the
/// client never showed). The streak steps back to where it stood before the claim; what
/// the claim paid stays paid. `None` when nothing was claimed today.
pub fn undo_today(s: &Streak, today: i64) -> Option<Streak> {
    if s.last_claim_day != Some(today) || s.streak == 0 {
        return None;
    }
    let streak = s.streak - 1;
    let day = match (s.day, streak) {
        (_, 0) => 0,
        (1, _) => CYCLE_DAYS as u32,
        (d, _) => d - 1,
    };
    Some(Streak {
        day,
        streak,
        last_claim_day: (streak > 0).then_some(today - 1),
        total_claims: s.total_claims.saturating_sub(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_days_climb_the_cycle_and_wrap() {
        let mut s = Streak::default();
        for today in 100..100 + 9 {
            s = claim(&s, today).unwrap();
        }
        assert_eq!(s.streak, 9);
        assert_eq!(s.day, 2, "day 8 is day 1 again, day 9 is day 2");
        assert_eq!(s.total_claims, 9);
    }

    #[test]
    fn one_claim_per_day() {
        let s = claim(&Streak::default(), 10).unwrap();
        assert!(matches!(claim(&s, 10), Err(DailyError::AlreadyClaimed)));
        let st = standing(&s, 10);
        assert!(!st.claimable);
        assert_eq!(st.next_day, 2);
    }

    #[test]
    fn a_missed_day_resets_the_streak() {
        let mut s = Streak::default();
        for today in 10..13 {
            s = claim(&s, today).unwrap();
        }
        assert_eq!(s.day, 3);
        let st = standing(&s, 14);
        assert!(st.claimable);
        assert_eq!((st.next_day, st.streak), (1, 0));
        let s = claim(&s, 14).unwrap();
        assert_eq!((s.day, s.streak), (1, 1));
    }

    #[test]
    fn a_clock_stepped_back_does_not_reopen_a_claim() {
        let s = claim(&Streak::default(), 20).unwrap();
        // The server clock goes back two days: the claim made "on day 20" stands.
        let st = standing(&s, 18);
        assert!(!st.claimable);
        assert_eq!((st.day, st.streak), (1, 1));
        assert!(matches!(claim(&s, 18), Err(DailyError::AlreadyClaimed)));
        assert!(matches!(claim(&s, 19), Err(DailyError::AlreadyClaimed)));
        assert_eq!(next_claim_day(&s, 18), 21);
        // Once the clock is past the claim again, the streak carries on.
        assert_eq!(next_claim_day(&s, 21), 21);
        let s = claim(&s, 21).unwrap();
        assert_eq!((s.day, s.streak), (2, 2));
    }

    #[test]
    fn the_table_has_seven_days() {
        assert!(check_table(&vec![Reward::default(); 6]).is_err());
        assert!(check_table(&vec![Reward::default(); 7]).is_ok());
    }

    #[test]
    fn undoing_today_steps_the_streak_back() {
        let first = claim(&Streak::default(), 10).unwrap();
        let back = undo_today(&first, 10).unwrap();
        assert_eq!(back, Streak::default());
        assert!(standing(&back, 10).claimable);
        let mut s = first;
        for day in 11..=17 {
            s = claim(&s, day).unwrap();
        }
        assert_eq!(
            (s.day, s.streak),
            (1, 8),
            "day 8 of a streak is cycle day 1"
        );
        let back = undo_today(&s, 17).unwrap();
        assert_eq!(
            (back.day, back.streak, back.last_claim_day),
            (7, 7, Some(16))
        );
        assert_eq!(
            claim(&back, 17).unwrap(),
            s,
            "claiming again lands where it was"
        );
        assert_eq!(undo_today(&s, 18), None, "nothing claimed on day 18");
    }
}
