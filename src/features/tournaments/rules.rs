//! Pure rules: the lifecycle step that is due, a recurring series' next window, and the
//! checks a definition must pass.

use chrono::{DateTime, Months, Utc};

use super::formats::{round_robin, Bracket};
use super::formats::{BracketFormat, MatchStatus, Placement, Section};
use super::model::{Prize, Recurrence, Stage, StageFormat, State, Tournament};
use crate::features::rewards;
use crate::rpc::RpcError;

/// The one lifecycle step due for `t` at `now`, if any. Each step checks the state it
/// moves from, so running it twice is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    OpenRegistration,
    Start,
    /// A leaderboard first stage's window closed: its best go on into the bracket.
    Qualify,
    /// The window closed.
    End,
    Pay,
}

pub fn due(t: &Tournament, now: i64) -> Option<Step> {
    match t.state {
        State::Upcoming if now >= t.registration_at => Some(Step::OpenRegistration),
        State::Registration if now >= t.starts_at => Some(Step::Start),
        State::Active
            if t.qualifies_into_bracket() && t.stage == 0 && now >= t.window_ends_at() =>
        {
            Some(Step::Qualify)
        }
        State::Active if now >= t.ends_at => Some(Step::End),
        State::Ended => Some(Step::Pay),
        _ => None,
    }
}

/// `ts` moved forward by `n` periods.
pub fn shift(ts: i64, r: Recurrence, n: u32) -> i64 {
    match r {
        Recurrence::Daily => ts + 86_400 * n as i64,
        Recurrence::Weekly => ts + 7 * 86_400 * n as i64,
        Recurrence::Monthly => DateTime::<Utc>::from_timestamp(ts, 0)
            .and_then(|d| d.checked_add_months(Months::new(n)))
            .map(|d| d.timestamp())
            .unwrap_or(ts + 30 * 86_400 * n as i64),
    }
}

/// The next instance's (registration, start, end): the first period after `t` whose end
/// is still ahead of `now` (a series that was down for days skips the missed ones).
pub fn next_window(t: &Tournament, r: Recurrence, now: i64) -> (i64, i64, i64) {
    let mut n = 1;
    loop {
        let end = shift(t.ends_at, r, n);
        if end > now || n >= 1000 {
            return (
                shift(t.registration_at, r, n),
                shift(t.starts_at, r, n),
                end,
            );
        }
        n += 1;
    }
}

pub const MAX_PLAYERS: u32 = 4096;
pub const MAX_STAGES: usize = 4;
pub const MAX_PRIZES: usize = 100;
pub const MAX_CATEGORY: u32 = 127;

/// Checks a definition's stages: bracket stages, the first of which may instead be a
/// leaderboard (a score window: alone, or with a `duration` when bracket stages follow);
/// each stage after the first names how many advance into it (at least 2).
pub fn check_stages(stages: &[Stage]) -> Result<(), RpcError> {
    if stages.is_empty() {
        return Err(RpcError::invalid("stages must not be empty"));
    }
    if stages.len() > MAX_STAGES {
        return Err(RpcError::invalid(format!(
            "stages: at most {MAX_STAGES} stages"
        )));
    }
    for (i, s) in stages.iter().enumerate() {
        match (&s.format, i, s.duration) {
            (StageFormat::Leaderboard, i, _) if i > 0 => {
                return Err(RpcError::invalid(format!(
                    "stages[{i}].format: only the first stage can be a leaderboard"
                )))
            }
            (StageFormat::Leaderboard, 0, None) if stages.len() > 1 => {
                return Err(RpcError::invalid(
                    "stages[0].duration is required: how long the score window lasts \
                     before its best go on",
                ))
            }
            (StageFormat::Leaderboard, 0, Some(_)) if stages.len() == 1 => {
                return Err(RpcError::invalid(
                    "stages[0].duration: a leaderboard stage alone lasts the whole tournament",
                ))
            }
            (StageFormat::Bracket(_), _, Some(_)) => {
                return Err(RpcError::invalid(format!(
                    "stages[{i}].duration: only a leaderboard first stage has a duration"
                )))
            }
            (_, _, Some(d)) if d <= 0 => {
                return Err(RpcError::invalid(format!(
                    "stages[{i}].duration must be positive"
                )))
            }
            _ => {}
        }
        match (&s.format, i, s.advance) {
            (_, 0, Some(_)) => {
                return Err(RpcError::invalid(
                    "stages[0].advance: the first stage takes every entrant",
                ))
            }
            (_, i, None) if i > 0 => {
                return Err(RpcError::invalid(format!(
                    "stages[{i}].advance is required: how many of the previous stage go on"
                )))
            }
            (_, i, Some(n)) if n < 2 => {
                return Err(RpcError::invalid(format!(
                    "stages[{i}].advance must be at least 2, not {n}"
                )))
            }
            _ => {}
        }
        if let StageFormat::Bracket(BracketFormat::Swiss { rounds: Some(r) }) = &s.format {
            if !(1..=64).contains(r) {
                return Err(RpcError::invalid(format!(
                    "stages[{i}].rounds must be between 1 and 64, not {r}"
                )));
            }
        }
    }
    Ok(())
}

/// Checks a prize table: places from 1, ranges that do not overlap, valid rewards.
pub fn check_prizes(prizes: &[Prize]) -> Result<(), RpcError> {
    if prizes.len() > MAX_PRIZES {
        return Err(RpcError::invalid(format!(
            "prizes: at most {MAX_PRIZES} entries"
        )));
    }
    for (i, p) in prizes.iter().enumerate() {
        if p.from == 0 || p.to < p.from {
            return Err(RpcError::invalid(format!(
                "prizes[{i}]: places must start at 1 and `to` must not be below `from` ({}–{})",
                p.from, p.to
            )));
        }
        if rewards::rules::is_empty(&p.reward) {
            return Err(RpcError::invalid(format!("prizes[{i}].reward is empty")));
        }
        rewards::rules::check(&format!("prizes[{i}].reward"), &p.reward)?;
        for (j, q) in prizes.iter().enumerate().take(i) {
            if p.from <= q.to && q.from <= p.to {
                return Err(RpcError::invalid(format!(
                    "prizes[{i}] overlaps prizes[{j}]"
                )));
            }
        }
    }
    Ok(())
}

/// Standings of a bracket that may still be running (an admin ended it early): the final
/// standings when it is decided; else round robin and Swiss by points, elimination
/// formats with fewer losses first, then more wins, ties sharing a place.
pub fn provisional(b: &Bracket) -> Vec<Placement> {
    if let Some(s) = b.format.rules().standings(b) {
        return s;
    }
    match b.format {
        BracketFormat::RoundRobin => round_robin::by_points(b, false),
        BracketFormat::Swiss { .. } => round_robin::by_points(b, true),
        _ => {
            let mut rows = round_robin::by_points(b, false);
            rows.sort_by_key(|r| (r.losses, std::cmp::Reverse(r.wins)));
            let keys: Vec<(u32, u32)> = rows.iter().map(|r| (r.losses, r.wins)).collect();
            let p = super::formats::places(rows.len(), |i| keys[i] == keys[i - 1]);
            for (row, place) in rows.iter_mut().zip(p) {
                row.place = place;
                row.points = 0;
            }
            rows
        }
    }
}

/// The matches of a bracket a player still has to play (for "my tournaments").
pub fn pending_for(b: &Bracket, user: uuid::Uuid) -> Vec<u32> {
    b.matches
        .iter()
        .filter(|m| m.has(user) && matches!(m.status, MatchStatus::Ready))
        .map(|m| m.id)
        .collect()
}

/// Whether a section is part of the bracket drawn as the main tree.
pub fn section_name(s: Section) -> &'static str {
    match s {
        Section::Winners => "winners",
        Section::Losers => "losers",
        Section::GrandFinal => "grand_final",
        Section::ThirdPlace => "third_place",
        Section::Pool => "pool",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::tournaments::formats::{Format, Report, SingleElimination};
    use uuid::Uuid;

    #[test]
    fn monthly_shift_keeps_the_day_and_skips_missed_periods() {
        // 2026-01-31 12:00 UTC + 1 month → 2026-02-28 12:00 (clamped by chrono).
        let jan31 = 1_769_860_800;
        assert_eq!(shift(jan31, Recurrence::Monthly, 1), jan31 + 28 * 86_400);
        assert_eq!(shift(100, Recurrence::Weekly, 2), 100 + 14 * 86_400);
    }

    fn stage(format: StageFormat, advance: Option<u32>, duration: Option<i64>) -> Stage {
        Stage {
            format,
            advance,
            duration,
        }
    }

    #[test]
    fn a_leaderboard_stage_comes_first_and_lasts_its_duration_before_a_bracket() {
        let se = StageFormat::Bracket(BracketFormat::SingleElimination { third_place: false });
        let lb = StageFormat::Leaderboard;
        let ok = [
            vec![stage(lb.clone(), None, None)],
            vec![
                stage(lb.clone(), None, Some(3600)),
                stage(se.clone(), Some(4), None),
            ],
        ];
        for stages in ok {
            assert!(check_stages(&stages).is_ok(), "{stages:?}");
        }
        let bad = [
            (
                vec![
                    stage(lb.clone(), None, None),
                    stage(se.clone(), Some(4), None),
                ],
                "stages[0].duration is required",
            ),
            (
                vec![stage(lb.clone(), None, Some(60))],
                "stages[0].duration: a leaderboard stage alone",
            ),
            (
                vec![
                    stage(se.clone(), None, None),
                    stage(lb.clone(), Some(4), None),
                ],
                "stages[1].format",
            ),
            (
                vec![stage(se.clone(), None, Some(60))],
                "stages[0].duration: only",
            ),
            (
                vec![stage(lb.clone(), None, Some(0)), stage(se, Some(4), None)],
                "stages[0].duration must be positive",
            ),
        ];
        for (stages, want) in bad {
            let e = check_stages(&stages).unwrap_err().to_string();
            assert!(e.contains(want), "{e} should say {want}");
        }
    }

    #[test]
    fn provisional_standings_put_survivors_first() {
        let ps: Vec<Uuid> = (1..=4).map(Uuid::from_u128).collect();
        let f = SingleElimination { third_place: false };
        let mut b = f.start(&ps).unwrap();
        let first = f.next_matches(&b)[0];
        f.report(&mut b, first.match_id, &Report::win(first.a, first.b))
            .unwrap();
        let st = provisional(&b);
        assert_eq!(st[0].user_id, first.a);
        assert_eq!(st.last().unwrap().user_id, first.b);
        assert_eq!(st.len(), 4);
    }
}
