//! ISO-8601 periods (`P7D`, `P1Y2M`, `PT12H`), the argument of the duration rules, and their calendar
//! arithmetic: years and months first (clamped to the month's last day, as java.time does), then weeks
//! and days, then the time part as an exact duration. All in UTC.

use chrono::{DateTime, Days, Months, NaiveDate, NaiveDateTime};

/// A period: calendar months, days, and seconds of its time part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    months: u32,
    days: u64,
    seconds: u64,
}

impl Period {
    /// Parses `P[nY][nM][nW][nD][T[nH][nM][nS]]` (non-negative integers, at least one part, ASCII letters
    /// in either case).
    pub fn parse(text: &str) -> Option<Period> {
        let upper = text.to_ascii_uppercase();
        let body = upper.strip_prefix('P')?;
        let (date, time) = match body.split_once('T') {
            Some((date, time)) if !time.is_empty() => (date, Some(time)),
            Some(_) => return None,
            None => (body, None),
        };
        let mut period = Period {
            months: 0,
            days: 0,
            seconds: 0,
        };
        let mut parts = 0;
        for (number, unit) in components(date)? {
            parts += 1;
            match unit {
                'Y' => period.months = period.months.checked_add(number.checked_mul(12)?)?,
                'M' => period.months = period.months.checked_add(number)?,
                'W' => period.days += u64::from(number) * 7,
                'D' => period.days += u64::from(number),
                _ => return None,
            }
        }
        for (number, unit) in components(time.unwrap_or(""))? {
            parts += 1;
            let unit_seconds = match unit {
                'H' => 3600,
                'M' => 60,
                'S' => 1,
                _ => return None,
            };
            period.seconds += u64::from(number) * unit_seconds;
        }
        (parts > 0).then_some(period)
    }

    /// Whether the period has a time part (not allowed on `date` properties).
    pub fn has_time(&self) -> bool {
        self.seconds > 0
    }

    /// `date` moved forward (`later`) or back by the period's date part.
    pub fn shift_date(&self, date: NaiveDate, later: bool) -> Option<NaiveDate> {
        let months = Months::new(self.months);
        let days = Days::new(self.days);
        if later {
            date.checked_add_months(months)?.checked_add_days(days)
        } else {
            date.checked_sub_months(months)?.checked_sub_days(days)
        }
    }

    /// An epoch-ms instant moved forward (`later`) or back by the whole period.
    pub fn shift_ms(&self, ms: i64, later: bool) -> Option<i64> {
        let start: NaiveDateTime = DateTime::from_timestamp_millis(ms)?.naive_utc();
        let date = self.shift_date(start.date(), later)?;
        let moved = date.and_time(start.time()).and_utc().timestamp_millis();
        let seconds = i64::try_from(self.seconds).ok()?.checked_mul(1000)?;
        if later {
            moved.checked_add(seconds)
        } else {
            moved.checked_sub(seconds)
        }
    }
}

/// `7D3H` → `[(7, 'D'), (3, 'H')]`; `None` for anything else.
fn components(text: &str) -> Option<Vec<(u32, char)>> {
    let mut out = Vec::new();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if digits.is_empty() {
                return None;
            }
            out.push((digits.parse().ok()?, c));
            digits.clear();
        }
    }
    digits.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_date_and_time_parts() {
        let p = Period::parse("P1Y2M3W4D").unwrap();
        assert_eq!((p.months, p.days, p.seconds), (14, 25, 0));
        let t = Period::parse("pt1h30m").unwrap();
        assert_eq!((t.months, t.days, t.seconds), (0, 0, 5400));
        assert!(t.has_time() && !p.has_time());
        for bad in [
            "", "P", "PT", "7D", "P-1D", "P1.5D", "P1X", "PD", "P1DT", "P1H",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_clamp_to_the_month_end() {
        let jan31 = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
        let p = Period::parse("P1M").unwrap();
        assert_eq!(
            p.shift_date(jan31, true),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        let week = Period::parse("P1W").unwrap();
        assert_eq!(
            week.shift_date(jan31, false),
            NaiveDate::from_ymd_opt(2024, 1, 24)
        );
    }

    #[test]
    fn instants_move_by_the_whole_period() {
        let day = Period::parse("P1DT1H").unwrap();
        assert_eq!(day.shift_ms(0, true), Some(90_000_000));
        assert_eq!(day.shift_ms(90_000_000, false), Some(0));
    }
}
