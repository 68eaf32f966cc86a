//! The rules of a board, pure: checking a definition, when a period ends, how a submission
//! changes a record (operators, `max_score`, `max_delta`, `max_num_score`), and the order
//! key a record ranks by.

use uuid::Uuid;

use super::cron::Cron;
use super::model::{Definition, Operator, Record, Sort, Submission, Tie};
use super::LeaderboardError;

/// Longest leaderboard id.
pub const MAX_ID_LEN: usize = 128;
/// Largest metadata (JSON text) on a record or a board.
pub const MAX_METADATA_BYTES: usize = 4096;

/// Where a record ranks: compared field by field, smaller first. 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Item {
    score: u64,
    subscore: u64,
    tie: u64,
    owner: [u64; 2],
}

fn flip(n: i64) -> u64 {
    (n as u64) ^ (1 << 63)
}

impl Item {
    /// The order key of a record with these values on a board sorted by `sort` with tie
    /// policy `tie`.
    pub fn new(sort: Sort, tie: Tie, score: i64, subscore: i64, seq: u64, owner: Uuid) -> Item {
        let (hi, lo) = owner.as_u64_pair();
        let desc = sort == Sort::Desc;
        let dir = |v: u64| if desc { !v } else { v };
        let (tie, owner) = match tie {
            Tie::Earliest => (seq, [hi, lo]),
            Tie::OwnerId => (0, [dir(hi), dir(lo)]),
        };
        Item {
            score: dir(flip(score)),
            subscore: dir(flip(subscore)),
            tie,
            owner,
        }
    }

    pub fn of(def: &Definition, r: &Record) -> Item {
        Item::new(def.sort, def.tie, r.score, r.subscore, r.seq, r.owner_id)
    }

    /// The owner the item belongs to.
    pub fn owner(&self, sort: Sort, tie: Tie) -> Uuid {
        let [hi, lo] = self.owner;
        if tie == Tie::OwnerId && sort == Sort::Desc {
            Uuid::from_u64_pair(!hi, !lo)
        } else {
            Uuid::from_u64_pair(hi, lo)
        }
    }

    /// Forty bytes, for cursors.
    pub fn to_bytes(self) -> [u8; 40] {
        let mut b = [0u8; 40];
        for (i, v) in [
            self.score,
            self.subscore,
            self.tie,
            self.owner[0],
            self.owner[1],
        ]
        .iter()
        .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8]) -> Option<Item> {
        if b.len() != 40 {
            return None;
        }
        let w = |i: usize| u64::from_be_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Some(Item {
            score: w(0),
            subscore: w(1),
            tie: w(2),
            owner: [w(3), w(4)],
        })
    }
}

/// The reset schedule of `text`: `None` for a board that never resets.
pub fn schedule(text: &str) -> Result<Option<Cron>, LeaderboardError> {
    let cron = match text.trim().to_ascii_lowercase().as_str() {
        "" | "none" | "never" => return Ok(None),
        "daily" => "0 0 * * *",
        "weekly" => "0 0 * * 1",
        "monthly" => "0 0 1 * *",
        _ => text,
    };
    Cron::parse(cron)
        .map(Some)
        .map_err(|e| LeaderboardError::Invalid(format!("reset: {e}")))
}

/// When a period that is running at `now` ends: 0 for a board that never resets.
pub fn expiry_after(cron: Option<&Cron>, now: i64) -> Result<i64, LeaderboardError> {
    match cron {
        None => Ok(0),
        Some(c) => c
            .next_after(now)
            .ok_or_else(|| LeaderboardError::Invalid("reset: the schedule never fires".into())),
    }
}

/// A leaderboard id: 1–128 letters, digits, `_ - . :`.
pub fn check_id(id: &str) -> Result<(), LeaderboardError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(LeaderboardError::Invalid(format!(
            "leaderboard_id must be 1 to {MAX_ID_LEN} characters"
        )));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(LeaderboardError::Invalid(format!(
            "leaderboard_id `{id}` may hold only letters, digits, `_`, `-`, `.` and `:`"
        )));
    }
    Ok(())
}

fn check_metadata(
    field: &str,
    m: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), LeaderboardError> {
    let size = serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(LeaderboardError::Invalid(format!(
            "{field} is {size} bytes of JSON, more than {MAX_METADATA_BYTES}"
        )));
    }
    Ok(())
}

/// Checks a definition; gives its reset schedule.
pub fn check_definition(def: &Definition) -> Result<Option<Cron>, LeaderboardError> {
    check_id(&def.id)?;
    if let Some(d) = def.max_delta {
        if d <= 0 {
            return Err(LeaderboardError::Invalid(format!(
                "max_delta must be positive, not {d}"
            )));
        }
    }
    if def.max_num_score == Some(0) {
        return Err(LeaderboardError::Invalid(
            "max_num_score must be positive (leave it out for no limit)".into(),
        ));
    }
    if def.submits_per_minute == Some(0) {
        return Err(LeaderboardError::Invalid(
            "submits_per_minute must be positive (leave it out for no limit)".into(),
        ));
    }
    check_metadata("metadata", &def.metadata)?;
    schedule(&def.reset)
}

/// Checks a submission on its own (before any record is read).
pub fn check_submission(def: &Definition, s: &Submission) -> Result<(), LeaderboardError> {
    let op = s.operator.unwrap_or(def.operator);
    if matches!(op, Operator::Incr | Operator::Decr) && (s.score < 0 || s.subscore < 0) {
        return Err(LeaderboardError::Invalid(format!(
            "score and subscore of an {} must not be negative (the operator gives the direction)",
            if op == Operator::Incr { "incr" } else { "decr" }
        )));
    }
    if let Some(m) = &s.metadata {
        check_metadata("metadata", m)?;
    }
    Ok(())
}

/// Whether (a, b) ranks strictly better than (c, d) on a board sorted by `sort`.
fn better(sort: Sort, a: (i64, i64), b: (i64, i64)) -> bool {
    match sort {
        Sort::Desc => a > b,
        Sort::Asc => a < b,
    }
}

/// What a submission does to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub score: i64,
    pub subscore: i64,
    /// The score or subscore changed (a new place in the order).
    pub moved: bool,
}

/// Applies a checked submission to the record there (if any); refusals name the limit.
pub fn apply(
    def: &Definition,
    old: Option<&Record>,
    s: &Submission,
) -> Result<Outcome, LeaderboardError> {
    let op = s.operator.unwrap_or(def.operator);
    let (old_score, old_sub) = old.map(|r| (r.score, r.subscore)).unwrap_or((0, 0));
    if let (Some(max), Some(r)) = (def.max_num_score, old) {
        if r.num_score >= max {
            return Err(LeaderboardError::Refused(format!(
                "max_num_score: {max} submissions this period already"
            )));
        }
    }
    let overflow = || LeaderboardError::Refused("score would overflow a 64-bit integer".into());
    let (score, subscore) = match (op, old) {
        (Operator::Incr, _) => (
            old_score.checked_add(s.score).ok_or_else(overflow)?,
            old_sub.checked_add(s.subscore).ok_or_else(overflow)?,
        ),
        (Operator::Decr, _) => (
            old_score.checked_sub(s.score).ok_or_else(overflow)?,
            old_sub.checked_sub(s.subscore).ok_or_else(overflow)?,
        ),
        (Operator::Best, Some(r))
            if !better(def.sort, (s.score, s.subscore), (r.score, r.subscore)) =>
        {
            (r.score, r.subscore)
        }
        (Operator::Best | Operator::Set, _) => (s.score, s.subscore),
    };
    if let Some(max) = def.max_score {
        if score > max {
            return Err(LeaderboardError::Refused(format!(
                "score {score} would be above max_score {max}"
            )));
        }
    }
    if let Some(max) = def.max_delta {
        let delta = (score as i128 - old_score as i128).abs();
        if delta > max as i128 {
            return Err(LeaderboardError::Refused(format!(
                "score would change by {delta}, more than max_delta {max}"
            )));
        }
    }
    Ok(Outcome {
        score,
        subscore,
        moved: old.is_none_or(|r| (r.score, r.subscore) != (score, subscore)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(score: i64, subscore: i64) -> Record {
        Record {
            owner_id: Uuid::nil(),
            username: "u".into(),
            score,
            subscore,
            num_score: 1,
            metadata: Default::default(),
            create_time: 0,
            update_time: 0,
            seq: 1,
        }
    }

    fn sub(score: i64) -> Submission {
        Submission {
            score,
            ..Default::default()
        }
    }

    #[test]
    fn operators_combine_as_documented() {
        let mut d = Definition::new("b");
        let old = record(10, 0);
        assert_eq!(apply(&d, Some(&old), &sub(7)).unwrap().score, 10);
        assert!(!apply(&d, Some(&old), &sub(7)).unwrap().moved);
        assert_eq!(apply(&d, Some(&old), &sub(12)).unwrap().score, 12);
        d.sort = Sort::Asc;
        assert_eq!(apply(&d, Some(&old), &sub(7)).unwrap().score, 7);
        d.operator = Operator::Set;
        assert_eq!(apply(&d, Some(&old), &sub(70)).unwrap().score, 70);
        d.operator = Operator::Incr;
        assert_eq!(apply(&d, Some(&old), &sub(5)).unwrap().score, 15);
        assert_eq!(apply(&d, None, &sub(5)).unwrap().score, 5);
        d.operator = Operator::Decr;
        assert_eq!(apply(&d, Some(&old), &sub(15)).unwrap().score, -5);
        assert!(check_submission(&d, &sub(-1)).is_err());
        let over = Submission {
            operator: Some(Operator::Incr),
            ..sub(i64::MAX)
        };
        assert!(apply(&d, Some(&old), &over).is_err());
    }

    #[test]
    fn limits_refuse_with_their_name() {
        let mut d = Definition::new("b");
        d.max_score = Some(100);
        let e = apply(&d, None, &sub(101)).unwrap_err().to_string();
        assert!(e.contains("max_score"), "{e}");
        d.max_delta = Some(50);
        let e = apply(&d, Some(&record(10, 0)), &sub(61))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_delta"), "{e}");
        assert!(apply(&d, Some(&record(10, 0)), &sub(60)).is_ok());
        d.max_num_score = Some(1);
        let e = apply(&d, Some(&record(10, 0)), &sub(20))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_num_score"), "{e}");
        assert!(check_id("weekly:kills-2.0").is_ok());
        assert!(check_id("bad id").is_err());
        assert!(check_id("").is_err());
        assert!(schedule("daily").unwrap().is_some());
        assert!(schedule("none").unwrap().is_none());
        assert!(schedule("0 0 * *")
            .unwrap_err()
            .to_string()
            .contains("reset"));
    }

    #[test]
    fn order_keys_follow_sort_and_tie_policy() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let i = |sort, tie, score, seq, owner| Item::new(sort, tie, score, 0, seq, owner);
        use Sort::*;
        use Tie::*;
        assert!(i(Desc, Earliest, 10, 5, b) < i(Desc, Earliest, 9, 1, a));
        assert!(i(Asc, Earliest, -10, 5, b) < i(Asc, Earliest, 9, 1, a));
        assert!(
            i(Desc, Earliest, 10, 1, b) < i(Desc, Earliest, 10, 2, a),
            "earliest first"
        );
        assert!(i(Asc, OwnerId, 10, 9, a) < i(Asc, OwnerId, 10, 1, b));
        assert!(i(Desc, OwnerId, 10, 1, b) < i(Desc, OwnerId, 10, 9, a));
        for sort in [Asc, Desc] {
            for tie in [Earliest, OwnerId] {
                let it = i(sort, tie, 3, 4, b);
                assert_eq!(it.owner(sort, tie), b);
                assert_eq!(Item::from_bytes(&it.to_bytes()), Some(it));
            }
        }
        assert_eq!(std::mem::size_of::<Item>(), 40);
    }
}
