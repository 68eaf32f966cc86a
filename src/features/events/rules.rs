//! Pure rules: what a new event may hold, when a recurring event comes back (weekends,
//! dates, cron in UTC), how live XP boosts stack, and which goal thresholds pay whom.

use serde::Deserialize;
use serde_json::Value;

use super::model::{
    AppliesTo, CommunityGoal, Event, EventMission, EventState, EventTournament, Prize, Recurrence,
    Threshold, XpBoost,
};
use crate::features::achievements::rules::check_id;
use crate::features::leaderboards::cron::Cron;
use crate::features::leaderboards::{Operator, Sort};
use crate::features::missions::Reporter;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::{self, Reward};
use crate::features::seasons::rules::parse_time;
use crate::rpc::RpcError;

pub const MAX_MISSIONS: usize = 50;
pub const MAX_GOALS: usize = 10;
pub const MAX_THRESHOLDS: usize = 20;
pub const MAX_EVENT_SECS: i64 = 90 * 86_400;
/// Live XP boosts add their bonuses (×2 and ×1.5 make ×2.5), up to this many percent.
pub const MAX_BOOST_PERCENT: u32 = 1000;
pub const MAX_AMOUNT: u64 = 1_000_000_000;

fn invalid(msg: String) -> RpcError {
    RpcError::InvalidArgument(msg)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionInput {
    pub mission_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub target: u64,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
    #[serde(default)]
    pub progress_by: Reporter,
    #[serde(default)]
    pub max_player_increment: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdInput {
    pub at: u64,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalInput {
    pub goal_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub thresholds: Vec<ThresholdInput>,
    #[serde(default)]
    pub min_contribution: u64,
    #[serde(default)]
    pub contribution_by: Reporter,
    #[serde(default)]
    pub max_player_contribution: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrizeInput {
    pub rank_from: u64,
    #[serde(default)]
    pub rank_to: Option<u64>,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TournamentInput {
    #[serde(default)]
    pub sort: Sort,
    #[serde(default)]
    pub operator: Operator,
    #[serde(default)]
    pub max_score: Option<i64>,
    #[serde(default)]
    pub score_by: Reporter,
    #[serde(default)]
    pub prizes: Vec<PrizeInput>,
}

/// The most ranks an event tournament pays.
pub const MAX_PRIZE_RANK: u64 = 1000;

fn tournament(t: &TournamentInput) -> Result<EventTournament, RpcError> {
    if t.max_score.is_some_and(|m| m <= 0) {
        return Err(invalid("tournament.max_score must be positive".into()));
    }
    if t.prizes.len() > 50 {
        return Err(invalid("tournament.prizes: at most 50".into()));
    }
    let mut prizes: Vec<Prize> = Vec::new();
    for (i, p) in t.prizes.iter().enumerate() {
        let f = format!("tournament.prizes[{i}]");
        let to = p.rank_to.unwrap_or(p.rank_from);
        if p.rank_from == 0 || to < p.rank_from || to > MAX_PRIZE_RANK {
            return Err(invalid(format!(
                "{f}: ranks go from rank_from to rank_to, within 1 to {MAX_PRIZE_RANK}"
            )));
        }
        if prizes.last().is_some_and(|q| p.rank_from <= q.rank_to) {
            return Err(invalid(format!(
                "{f}.rank_from must come after the previous prize's ranks"
            )));
        }
        prizes.push(Prize {
            rank_from: p.rank_from,
            rank_to: to,
            reward: reward_of(&f, &p.reward, &p.rewards)?,
        });
    }
    Ok(EventTournament {
        sort: t.sort,
        operator: t.operator,
        max_score: t.max_score,
        score_by: t.score_by,
        prizes,
    })
}

/// The prize of `rank`, if any.
pub fn prize_for(t: &EventTournament, rank: u64) -> Option<&Prize> {
    t.prizes
        .iter()
        .find(|p| (p.rank_from..=p.rank_to).contains(&rank))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    pub starts_at: Value,
    pub ends_at: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RecurrenceInput {
    Weekends,
    Dates { windows: Vec<WindowInput> },
    Cron { cron: String, duration: String },
}

/// `event_create` as the request writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub game_id: String,
    pub event_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub starts_at: Option<Value>,
    #[serde(default)]
    pub ends_at: Option<Value>,
    #[serde(default)]
    pub recurrence: Option<RecurrenceInput>,
    #[serde(default)]
    pub xp_multiplier: Option<f64>,
    #[serde(default)]
    pub xp_applies_to: AppliesTo,
    #[serde(default)]
    pub missions: Vec<MissionInput>,
    #[serde(default)]
    pub goals: Vec<GoalInput>,
    #[serde(default)]
    pub tournament: Option<TournamentInput>,
    #[serde(default = "yes")]
    pub announce: bool,
}

fn yes() -> bool {
    true
}

fn reward_of(field: &str, a: &Option<Value>, b: &Option<Value>) -> Result<Reward, RpcError> {
    let Some(r) = rewards::rules::reward_or_rewards(field, a, b)? else {
        return Err(invalid(format!("{field}: a reward is required")));
    };
    if rewards::rules::is_empty(&r) {
        return Err(invalid(format!("{field}: the reward is empty")));
    }
    Ok(r)
}

fn cap(field: &str, by: Reporter, cap: Option<u64>) -> Result<u64, RpcError> {
    match (by, cap) {
        (Reporter::Server, Some(_)) => Err(invalid(format!(
            "{field}: only what players report takes a cap"
        ))),
        (_, Some(0)) => Err(invalid(format!("{field} must be at least 1"))),
        (_, Some(n)) if n > MAX_AMOUNT => Err(invalid(format!("{field} is too large"))),
        (_, Some(n)) => Ok(n),
        (_, None) => Ok(1),
    }
}

fn recurrence(r: &RecurrenceInput) -> Result<Recurrence, RpcError> {
    Ok(match r {
        RecurrenceInput::Weekends => Recurrence::Weekends,
        RecurrenceInput::Dates { windows } => {
            if windows.is_empty() || windows.len() > 366 {
                return Err(invalid("recurrence.windows: give 1 to 366 windows".into()));
            }
            let mut out: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
            for (i, w) in windows.iter().enumerate() {
                let f = format!("recurrence.windows[{i}]");
                let s = parse_time(&format!("{f}.starts_at"), &w.starts_at)?;
                let e = parse_time(&format!("{f}.ends_at"), &w.ends_at)?;
                if e <= s || e - s > MAX_EVENT_SECS {
                    return Err(invalid(format!(
                        "{f}: ends_at must be after starts_at, at most 90 days later"
                    )));
                }
                if out.last().is_some_and(|(_, pe)| s < *pe) {
                    return Err(invalid(format!(
                        "{f}: windows must be in order and not overlap"
                    )));
                }
                out.push((s, e));
            }
            Recurrence::Dates { windows: out }
        }
        RecurrenceInput::Cron { cron, duration } => {
            Cron::parse(cron).map_err(|e| invalid(format!("recurrence.cron: {e}")))?;
            let d = crate::time::parse_duration(duration)
                .map_err(|e| invalid(format!("recurrence.duration: {e}")))?;
            if d > MAX_EVENT_SECS {
                return Err(invalid("recurrence.duration: at most 90 days".into()));
            }
            Recurrence::Cron {
                cron: cron.clone(),
                duration_secs: d,
            }
        }
    })
}

/// Checks a new event and builds it (`now`: the game's clock).
pub fn event(req: &EventInput, now: i64) -> Result<Event, RpcError> {
    check_id("event_id", &req.event_id)?;
    check_name("title", &req.title)?;
    check_text("description", &req.description, 1024)?;
    let rec = req.recurrence.as_ref().map(recurrence).transpose()?;
    let (starts_at, ends_at) = match (&req.starts_at, &req.ends_at, &rec) {
        (Some(s), Some(e), _) => (parse_time("starts_at", s)?, parse_time("ends_at", e)?),
        (None, None, Some(r)) => first_window(r, now)
            .ok_or_else(|| invalid("recurrence: it has no window after now".into()))?,
        (None, None, None) => {
            return Err(invalid(
                "starts_at and ends_at are required (or a recurrence)".into(),
            ))
        }
        _ => {
            return Err(invalid(
                "give both starts_at and ends_at, or neither".into(),
            ))
        }
    };
    if ends_at <= starts_at {
        return Err(invalid("ends_at must be after starts_at".into()));
    }
    if ends_at <= now {
        return Err(invalid("ends_at is already past".into()));
    }
    if ends_at - starts_at > MAX_EVENT_SECS {
        return Err(invalid("ends_at: an event lasts at most 90 days".into()));
    }
    let xp_boost = match req.xp_multiplier {
        None => None,
        Some(m) if m.is_finite() && m > 1.0 && m <= 10.0 => Some(XpBoost {
            percent: (m * 100.0).round() as u32,
            applies_to: req.xp_applies_to,
        }),
        Some(m) => {
            return Err(invalid(format!(
                "xp_multiplier must be above 1 and at most 10, not {m}"
            )))
        }
    };
    if req.missions.len() > MAX_MISSIONS {
        return Err(invalid(format!("missions: at most {MAX_MISSIONS}")));
    }
    let mut missions: Vec<EventMission> = Vec::new();
    for (i, m) in req.missions.iter().enumerate() {
        let f = format!("missions[{i}]");
        check_id(&format!("{f}.mission_id"), &m.mission_id)?;
        if missions.iter().any(|x| x.mission_id == m.mission_id) {
            return Err(invalid(format!(
                "{f}.mission_id: `{}` appears twice",
                m.mission_id
            )));
        }
        check_name(&format!("{f}.title"), &m.title)?;
        check_text(&format!("{f}.description"), &m.description, 512)?;
        if m.target == 0 || m.target > MAX_AMOUNT {
            return Err(invalid(format!(
                "{f}.target must be between 1 and {MAX_AMOUNT}"
            )));
        }
        missions.push(EventMission {
            mission_id: m.mission_id.clone(),
            title: m.title.clone(),
            description: m.description.clone(),
            target: m.target,
            reward: reward_of(&f, &m.reward, &m.rewards)?,
            progress_by: m.progress_by,
            max_player_increment: cap(
                &format!("{f}.max_player_increment"),
                m.progress_by,
                m.max_player_increment,
            )?,
        });
    }
    if req.goals.len() > MAX_GOALS {
        return Err(invalid(format!("goals: at most {MAX_GOALS}")));
    }
    let mut goals: Vec<CommunityGoal> = Vec::new();
    for (i, g) in req.goals.iter().enumerate() {
        let f = format!("goals[{i}]");
        check_id(&format!("{f}.goal_id"), &g.goal_id)?;
        if goals.iter().any(|x| x.goal_id == g.goal_id) {
            return Err(invalid(format!(
                "{f}.goal_id: `{}` appears twice",
                g.goal_id
            )));
        }
        check_name(&format!("{f}.title"), &g.title)?;
        check_text(&format!("{f}.description"), &g.description, 512)?;
        if g.thresholds.is_empty() || g.thresholds.len() > MAX_THRESHOLDS {
            return Err(invalid(format!(
                "{f}.thresholds: give 1 to {MAX_THRESHOLDS} thresholds"
            )));
        }
        let mut thresholds: Vec<Threshold> = Vec::new();
        for (j, t) in g.thresholds.iter().enumerate() {
            let tf = format!("{f}.thresholds[{j}]");
            if t.at == 0 || t.at > MAX_AMOUNT || thresholds.last().is_some_and(|p| t.at <= p.at) {
                return Err(invalid(format!(
                    "{tf}.at must rise from threshold to threshold, between 1 and {MAX_AMOUNT}"
                )));
            }
            thresholds.push(Threshold {
                at: t.at,
                reward: reward_of(&tf, &t.reward, &t.rewards)?,
            });
        }
        if g.min_contribution > MAX_AMOUNT {
            return Err(invalid(format!("{f}.min_contribution is too large")));
        }
        goals.push(CommunityGoal {
            goal_id: g.goal_id.clone(),
            title: g.title.clone(),
            description: g.description.clone(),
            thresholds,
            min_contribution: g.min_contribution,
            contribution_by: g.contribution_by,
            max_player_contribution: cap(
                &format!("{f}.max_player_contribution"),
                g.contribution_by,
                g.max_player_contribution,
            )?,
        });
    }
    let tournament = req.tournament.as_ref().map(tournament).transpose()?;
    if xp_boost.is_none() && missions.is_empty() && goals.is_empty() && tournament.is_none() {
        return Err(invalid(
            "an event needs an xp_multiplier, missions, goals or a tournament".into(),
        ));
    }
    Ok(Event {
        event_id: req.event_id.clone(),
        title: req.title.clone(),
        description: req.description.clone(),
        starts_at,
        ends_at,
        occurrence: 1,
        recurrence: rec,
        xp_boost,
        missions,
        goals,
        tournament,
        announce: req.announce,
        state: EventState::Scheduled,
        created_at: now,
    })
}

/// True while the event counts: inside its window and not ended.
pub fn is_live(e: &Event, now: i64) -> bool {
    matches!(e.state, EventState::Scheduled | EventState::Active)
        && e.starts_at <= now
        && now < e.ends_at
}

/// The XP multiplier (percent) of these live boosts for `target`: bonuses add
/// (×2 and ×1.5 give ×2.5), capped at [`MAX_BOOST_PERCENT`].
pub fn stacked_percent<'a>(boosts: impl Iterator<Item = &'a XpBoost>, season: bool) -> u32 {
    let bonus: u32 = boosts
        .filter(|b| match b.applies_to {
            AppliesTo::All => true,
            AppliesTo::Season => season,
            AppliesTo::Profile => !season,
        })
        .map(|b| b.percent.saturating_sub(100))
        .fold(0u32, |a, b| a.saturating_add(b));
    100u32.saturating_add(bonus).min(MAX_BOOST_PERCENT)
}

/// Goal thresholds a `total` reaches (their indexes).
pub fn reached(goal: &CommunityGoal, total: u64) -> Vec<usize> {
    goal.thresholds
        .iter()
        .enumerate()
        .filter(|(_, t)| total >= t.at)
        .map(|(i, _)| i)
        .collect()
}

/// A contributor qualifies for a goal's thresholds with at least the minimum (and more
/// than nothing).
pub fn qualifies(goal: &CommunityGoal, contribution: u64) -> bool {
    contribution > 0 && contribution >= goal.min_contribution
}

const DAY: i64 = 86_400;

fn weekend_at_or_after(t: i64) -> (i64, i64) {
    let d = t.div_euclid(DAY);
    // 1970-01-01 was a Thursday; Monday = 0.
    let wd = (d + 3).rem_euclid(7);
    let sat = d - (wd - 5).rem_euclid(7);
    let (s, e) = (sat * DAY, (sat + 2) * DAY);
    if t < e {
        (s, e)
    } else {
        (s + 7 * DAY, e + 7 * DAY)
    }
}

/// The window an event created at `now` opens with: the one under way or the next.
pub fn first_window(r: &Recurrence, now: i64) -> Option<(i64, i64)> {
    match r {
        Recurrence::Weekends => Some(weekend_at_or_after(now)),
        Recurrence::Dates { windows } => windows.iter().copied().find(|(_, e)| *e > now),
        Recurrence::Cron {
            cron,
            duration_secs,
        } => {
            let s = Cron::parse(cron).ok()?.next_after(now - 1)?;
            Some((s, s + duration_secs))
        }
    }
}

/// The window after one that ended at `after`: the first that starts at or after it.
pub fn next_window(r: &Recurrence, after: i64) -> Option<(i64, i64)> {
    match r {
        Recurrence::Weekends => {
            let (s, e) = weekend_at_or_after(after);
            Some(if s < after {
                (s + 7 * DAY, e + 7 * DAY)
            } else {
                (s, e)
            })
        }
        Recurrence::Dates { windows } => windows.iter().copied().find(|(s, _)| *s >= after),
        Recurrence::Cron {
            cron,
            duration_secs,
        } => {
            let s = Cron::parse(cron).ok()?.next_after(after - 1)?;
            Some((s, s + duration_secs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn weekends_run_saturday_to_monday() {
        // 2026-12-02 is a Wednesday.
        let w = first_window(&Recurrence::Weekends, t("2026-12-02T10:00:00Z")).unwrap();
        assert_eq!(w, (t("2026-12-05T00:00:00Z"), t("2026-12-07T00:00:00Z")));
        let inside = first_window(&Recurrence::Weekends, t("2026-12-06T23:00:00Z")).unwrap();
        assert_eq!(inside, w, "a weekend under way is the first window");
        assert_eq!(
            next_window(&Recurrence::Weekends, w.1).unwrap(),
            (t("2026-12-12T00:00:00Z"), t("2026-12-14T00:00:00Z"))
        );
    }

    #[test]
    fn a_cron_event_opens_at_each_match_for_its_duration() {
        let r = Recurrence::Cron {
            cron: "30 18 * * 5".into(),
            duration_secs: 3600,
        };
        let w = first_window(&r, t("2026-12-02T10:00:00Z")).unwrap();
        assert_eq!(w, (t("2026-12-04T18:30:00Z"), t("2026-12-04T19:30:00Z")));
        assert_eq!(next_window(&r, w.1).unwrap().0, t("2026-12-11T18:30:00Z"));
        assert_eq!(
            first_window(&r, w.0).unwrap().0,
            w.0,
            "at a match, it opens now"
        );
    }

    #[test]
    fn boosts_add_their_bonuses_up_to_the_cap() {
        let b = |p, a| XpBoost {
            percent: p,
            applies_to: a,
        };
        let live = [
            b(200, AppliesTo::All),
            b(150, AppliesTo::Season),
            b(300, AppliesTo::Profile),
        ];
        assert_eq!(stacked_percent(live.iter(), true), 250);
        assert_eq!(stacked_percent(live.iter(), false), 400);
        assert_eq!(stacked_percent([].iter(), true), 100);
        let many = vec![b(1000, AppliesTo::All); 3];
        assert_eq!(stacked_percent(many.iter(), true), MAX_BOOST_PERCENT);
    }
}
