//! Reset schedules as five-field cron expressions in UTC (`minute hour day-of-month month
//! day-of-week`), as Nakama writes them: `*`, numbers, ranges `a-b`, steps `*/n` and
//! `a-b/n`, lists `a,b`, month and weekday names (`jan`, `mon`), `7` as Sunday, and the
//! shorthands `@hourly @daily @weekly @monthly @yearly`. As in Vixie cron, when both
//! day-of-month and day-of-week are restricted a day matching either one runs. Pure.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_any: bool,
    weekdays_any: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field(text: &str, what: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u64, String> {
    let value = |t: &str| -> Result<u32, String> {
        let lower = t.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + lo);
        }
        let n: u32 = t
            .parse()
            .map_err(|_| format!("{what} `{t}` is not a number"))?;
        // 7 is Sunday as well as 0.
        let n = if what == "day-of-week" && n == 7 {
            0
        } else {
            n
        };
        if n < lo || n > hi {
            return Err(format!("{what} {n} is outside {lo}-{hi}"));
        }
        Ok(n)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{what} step `{s}` must be a positive number"))?;
                (r, s)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let a = value(range)?;
            (a, if step > 1 { hi } else { a })
        };
        if a > b {
            return Err(format!("{what} range `{range}` runs backwards"));
        }
        let mut n = a;
        while n <= b {
            bits |= 1 << n;
            n += step;
        }
    }
    if bits == 0 {
        return Err(format!("{what} `{text}` matches nothing"));
    }
    Ok(bits)
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let expanded = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            t => t,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "cron `{text}` must have 5 fields (minute hour day-of-month month day-of-week)"
            ));
        }
        let weekdays = field(parts[4], "day-of-week", 0, 7, &WEEKDAYS)?;
        Ok(Cron {
            minutes: field(parts[0], "minute", 0, 59, &[])?,
            hours: field(parts[1], "hour", 0, 23, &[])? as u32,
            days: field(parts[2], "day-of-month", 1, 31, &[])? as u32,
            months: field(parts[3], "month", 1, 12, &MONTHS)? as u16,
            weekdays: ((weekdays | (weekdays >> 7)) & 0x7f) as u8,
            days_any: parts[2].starts_with('*'),
            weekdays_any: parts[4].starts_with('*'),
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().num_days_from_sunday()) != 0;
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The first matching minute strictly after `after` (Unix seconds), within 8 years.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = DateTime::<Utc>::from_timestamp(after.div_euclid(60) * 60 + 60, 0)?;
        let mut day = start.date_naive();
        let mut from = (start.hour(), start.minute());
        for _ in 0..(366 * 8) {
            if self.day_matches(day) {
                for h in from.0..24 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    let m0 = if h == from.0 { from.1 } else { 0 };
                    if let Some(m) = (m0..60).find(|m| self.minutes & (1 << m) != 0) {
                        return Some(day.and_hms_opt(h, m, 0)?.and_utc().timestamp());
                    }
                }
            }
            day += Duration::days(1);
            from = (0, 0);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp()
    }

    #[test]
    fn next_runs() {
        let daily = Cron::parse("@daily").unwrap();
        assert_eq!(
            daily.next_after(at("2026-12-01T10:00:00Z")),
            Some(at("2026-12-02T00:00:00Z"))
        );
        assert_eq!(
            daily.next_after(at("2026-12-01T23:59:59Z")),
            Some(at("2026-12-02T00:00:00Z"))
        );
        let monday = Cron::parse("0 0 * * mon").unwrap();
        // 2026-12-01 is a Tuesday.
        assert_eq!(
            monday.next_after(at("2026-12-01T10:00:00Z")),
            Some(at("2026-12-07T00:00:00Z"))
        );
        let monthly = Cron::parse("0 0 1 * *").unwrap();
        assert_eq!(
            monthly.next_after(at("2026-12-01T00:00:00Z")),
            Some(at("2027-01-01T00:00:00Z"))
        );
        let steps = Cron::parse("*/15 9-17 * * 1-5").unwrap();
        assert_eq!(
            steps.next_after(at("2026-12-04T17:50:00Z")),
            Some(at("2026-12-07T09:00:00Z")),
            "Friday after hours → Monday 9:00"
        );
        let leap = Cron::parse("30 12 29 2 *").unwrap();
        assert_eq!(
            leap.next_after(at("2026-12-01T00:00:00Z")),
            Some(at("2028-02-29T12:30:00Z"))
        );
        let either = Cron::parse("0 0 13 * 5").unwrap();
        assert_eq!(
            either.next_after(at("2026-12-01T00:00:00Z")),
            Some(at("2026-12-04T00:00:00Z")),
            "a Friday before the 13th"
        );
        assert_eq!(
            Cron::parse("0 0 * * 7").unwrap(),
            Cron::parse("0 0 * * 0").unwrap()
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        for (text, says) in [
            ("0 0 * *", "5 fields"),
            ("60 0 * * *", "minute 60"),
            ("0 24 * * *", "hour 24"),
            ("0 0 0 * *", "day-of-month 0"),
            ("0 0 * 13 *", "month 13"),
            ("0 0 * * 8", "day-of-week 8"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("x * * * *", "not a number"),
        ] {
            let e = Cron::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert_eq!(
            Cron::parse("0 0 31 2 *")
                .unwrap()
                .next_after(at("2026-01-01T00:00:00Z")),
            None,
            "February 31st never comes"
        );
    }
}
