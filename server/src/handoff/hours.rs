//! Business hours: whether the team is in at a given instant and, if not,
//! when it is back.
//!
//! Hours are wall-clock times in the configured IANA time zone, so a
//! schedule of 09:00–17:00 Europe/Berlin means the same local hours in
//! summer and winter; jiff does the time-zone arithmetic. Being out of hours
//! never prevents a handoff: the engine still hands off and says when
//! people are back, and the conversation waits in the queue.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::policy::{BusinessHours, PolicyError};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Holiday {
    On(Date),
    /// Month and day, every year.
    Yearly(i8, i8),
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    enabled: bool,
    tz: TimeZone,
    tz_name: String,
    /// Opening ranges in minutes since midnight, per weekday, Monday first.
    days: [Vec<(u16, u16)>; 7],
    holidays: Vec<Holiday>,
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

fn parse_holiday(s: &str) -> Option<Holiday> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let num = |p: &str| p.parse::<i16>().ok();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => Date::new(num(y)?, num(m)? as i8, num(d)? as i8)
            .ok()
            .map(Holiday::On),
        [m, d] if m.len() == 2 && d.len() == 2 => {
            let (m, d) = (num(m)? as i8, num(d)? as i8);
            // 2024 is a leap year, so 02-29 is accepted.
            Date::new(2024, m, d).ok().map(|_| Holiday::Yearly(m, d))
        }
        _ => None,
    }
}

impl Schedule {
    pub fn new(config: &BusinessHours) -> Result<Self, PolicyError> {
        let key = "policy.business_hours";
        let tz = TimeZone::get(&config.time_zone).map_err(|_| {
            PolicyError::new(
                format!("{key}.time_zone"),
                format!("unknown time zone {:?}", config.time_zone),
            )
        })?;
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, (name, ranges)) in config.weekly.days().into_iter().enumerate() {
            for (j, range) in ranges.iter().enumerate() {
                let err = |problem: String| {
                    PolicyError::new(format!("{key}.weekly.{name}[{j}]"), problem)
                };
                let (start, end) = range
                    .split_once('-')
                    .and_then(|(a, b)| Some((parse_hhmm(a)?, parse_hhmm(b)?)))
                    .ok_or_else(|| err(format!("{range:?} is not HH:MM-HH:MM")))?;
                if start >= end {
                    return Err(err(format!("{range:?} ends before it starts")));
                }
                days[i].push((start, end));
            }
            days[i].sort_unstable();
        }
        if config.enabled && days.iter().all(Vec::is_empty) {
            return Err(PolicyError::new(
                format!("{key}.weekly"),
                "no opening hours on any day (set business_hours.enabled = false to count as always in)",
            ));
        }
        let holidays = config
            .holidays
            .iter()
            .enumerate()
            .map(|(i, h)| {
                parse_holiday(h).ok_or_else(|| {
                    PolicyError::new(
                        format!("{key}.holidays[{i}]"),
                        format!("{h:?} is not a date (YYYY-MM-DD or MM-DD)"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            enabled: config.enabled,
            tz,
            tz_name: config.time_zone.clone(),
            days,
            holidays,
        })
    }

    fn is_holiday(&self, date: Date) -> bool {
        self.holidays.iter().any(|h| match *h {
            Holiday::On(d) => d == date,
            Holiday::Yearly(m, d) => date.month() == m && date.day() == d,
        })
    }

    fn ranges(&self, date: Date) -> &[(u16, u16)] {
        if self.is_holiday(date) {
            return &[];
        }
        &self.days[date.weekday().to_monday_zero_offset() as usize]
    }

    /// Whether the team is in at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        if !self.enabled {
            return true;
        }
        let local = now.to_zoned(self.tz.clone());
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.ranges(local.date())
            .iter()
            .any(|&(s, e)| s <= minute && minute < e)
    }

    /// The next opening after `now` (which must be out of hours), if there
    /// is one within a year and a week.
    fn next_opening(&self, now: Timestamp) -> Option<Zoned> {
        let local = now.to_zoned(self.tz.clone());
        let mut date = local.date();
        for _ in 0..372 {
            for &(start, _) in self.ranges(date) {
                let time = Time::new((start / 60) as i8, (start % 60) as i8, 0, 0).ok()?;
                let opening = date.to_datetime(time).to_zoned(self.tz.clone()).ok()?;
                if opening.timestamp() > now {
                    return Some(opening);
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// `None` in business hours; otherwise when people are back, in words:
    /// "Monday 09:00 (Europe/Berlin)", "today 13:00 (…)", or with the date
    /// when it is more than six days away.
    pub fn back_at(&self, now: Timestamp) -> Option<String> {
        if self.is_open(now) {
            return None;
        }
        let Some(opening) = self.next_opening(now) else {
            return Some("as soon as the team is back".into());
        };
        let today = now.to_zoned(self.tz.clone()).date();
        let days_away = (opening.date() - today).get_days();
        let time = format!("{:02}:{:02}", opening.hour(), opening.minute());
        let day = match days_away {
            0 => "today".to_string(),
            1..=6 => weekday_name(opening.weekday()).to_string(),
            _ => format!(
                "{} {} {}",
                weekday_name(opening.weekday()),
                opening.day(),
                month_name(opening.month())
            ),
        };
        Some(format!("{day} {time} ({})", self.tz_name))
    }

    /// An instant inside business hours, for eval cases that do not say
    /// when they happen: the middle of the first opening range after a
    /// fixed Monday, so runs are reproducible.
    pub fn an_open_instant(&self) -> Timestamp {
        let monday = jiff::civil::date(2026, 1, 5);
        let fallback = Timestamp::from_second(1_767_607_200).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut date = monday;
        for _ in 0..372 {
            if let Some(&(s, e)) = self.ranges(date).first() {
                let mid = (s + e) / 2;
                if let Ok(time) = Time::new((mid / 60) as i8, (mid % 60) as i8, 0, 0)
                    && let Ok(z) = date.to_datetime(time).to_zoned(self.tz.clone())
                {
                    return z.timestamp();
                }
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        fallback
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn month_name(m: i8) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get((m - 1).clamp(0, 11) as usize)
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::policy::Weekly;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn berlin() -> Schedule {
        Schedule::new(&BusinessHours::default()).unwrap()
    }

    #[test]
    fn default_is_weekdays_nine_to_five_in_berlin() {
        let s = berlin();
        // Friday 2026-11-20, winter time (UTC+1).
        assert!(s.is_open(at("2026-11-20T09:00:00+01:00")));
        assert!(s.is_open(at("2026-11-20T16:59:00+01:00")));
        assert!(!s.is_open(at("2026-11-20T17:00:00+01:00")));
        assert!(!s.is_open(at("2026-11-20T08:59:00+01:00")));
        assert!(!s.is_open(at("2026-11-21T10:00:00+01:00")), "Saturday");
        assert_eq!(
            s.back_at(at("2026-11-21T10:00:00+01:00")).unwrap(),
            "Monday 09:00 (Europe/Berlin)"
        );
        assert_eq!(s.back_at(at("2026-11-20T10:00:00+01:00")), None);
    }

    #[test]
    fn time_zone_boundary() {
        let s = berlin();
        // 16:30 UTC is 17:30 in Berlin in winter: closed, though it is
        // before 17:00 in UTC.
        assert!(!s.is_open(at("2026-11-20T16:30:00Z")));
        // 08:30 UTC is 09:30 in Berlin: open, though before 09:00 UTC.
        assert!(s.is_open(at("2026-11-23T08:30:00Z")));
        // In summer Berlin is UTC+2: 07:30 UTC is 09:30 local.
        assert!(s.is_open(at("2026-07-01T07:30:00Z")));
        assert!(!s.is_open(at("2026-07-01T15:30:00Z")));
        // Sunday 23:30 UTC is already Monday 00:30 in Berlin: still closed,
        // and people are back the same local day.
        assert_eq!(
            s.back_at(at("2026-11-22T23:30:00Z")).unwrap(),
            "today 09:00 (Europe/Berlin)"
        );
        // Friday 23:30 in New York is Saturday 05:30 in Berlin.
        assert_eq!(
            s.back_at(at("2026-11-20T23:30:00-05:00")).unwrap(),
            "Monday 09:00 (Europe/Berlin)"
        );
    }

    #[test]
    fn other_zone_and_split_days() {
        let config = BusinessHours {
            time_zone: "America/New_York".into(),
            weekly: Weekly {
                saturday: vec!["10:00-12:00".into(), "13:00-15:00".into()],
                ..Weekly::default()
            },
            ..BusinessHours::default()
        };
        let s = Schedule::new(&config).unwrap();
        assert!(s.is_open(at("2026-11-21T10:30:00-05:00")));
        assert!(!s.is_open(at("2026-11-21T12:30:00-05:00")), "lunch break");
        assert_eq!(
            s.back_at(at("2026-11-21T12:30:00-05:00")).unwrap(),
            "today 13:00 (America/New_York)"
        );
        // 14:00 UTC is 09:00 in New York.
        assert!(s.is_open(at("2026-11-23T14:00:00Z")));
        assert!(!s.is_open(at("2026-11-23T13:59:00Z")));
    }

    #[test]
    fn holidays_close_the_day() {
        let config = BusinessHours {
            holidays: vec!["2026-12-24".into(), "12-25".into()],
            ..BusinessHours::default()
        };
        let s = Schedule::new(&config).unwrap();
        assert!(!s.is_open(at("2026-12-24T10:00:00+01:00")));
        assert!(!s.is_open(at("2026-12-25T10:00:00+01:00")));
        assert!(
            s.is_open(at("2027-12-24T10:00:00+01:00")),
            "a dated holiday is that day only"
        );
        assert!(
            !s.is_open(at("2031-12-25T10:00:00+01:00")),
            "yearly holiday, a Thursday in 2031"
        );
        assert!(s.is_open(at("2026-12-23T10:00:00+01:00")));
        // Thursday 24th: back Monday 28th (Friday 25th is a holiday too).
        assert_eq!(
            s.back_at(at("2026-12-24T10:00:00+01:00")).unwrap(),
            "Monday 09:00 (Europe/Berlin)"
        );
    }

    #[test]
    fn far_away_opening_gets_a_date() {
        let mut holidays = Vec::new();
        for d in 1..=20 {
            holidays.push(format!("2026-07-{d:02}"));
        }
        let s = Schedule::new(&BusinessHours {
            holidays,
            ..BusinessHours::default()
        })
        .unwrap();
        assert_eq!(
            s.back_at(at("2026-07-01T10:00:00+02:00")).unwrap(),
            "Tuesday 21 July 09:00 (Europe/Berlin)"
        );
    }

    #[test]
    fn disabled_means_always_in() {
        let s = Schedule::new(&BusinessHours {
            enabled: false,
            ..BusinessHours::default()
        })
        .unwrap();
        assert!(s.is_open(at("2026-11-22T03:00:00Z")));
        assert_eq!(s.back_at(at("2026-11-22T03:00:00Z")), None);
    }

    #[test]
    fn an_open_instant_is_open() {
        let s = berlin();
        assert!(s.is_open(s.an_open_instant()));
        let config = BusinessHours {
            time_zone: "Asia/Tokyo".into(),
            weekly: Weekly {
                monday: vec![],
                tuesday: vec![],
                wednesday: vec![],
                thursday: vec![],
                friday: vec![],
                saturday: vec!["22:00-24:00".into()],
                sunday: vec![],
            },
            ..BusinessHours::default()
        };
        let s = Schedule::new(&config).unwrap();
        assert!(s.is_open(s.an_open_instant()));
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_hhmm("09:00"), Some(540));
        assert_eq!(parse_hhmm("9:30"), Some(570));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("12:60"), None);
        assert_eq!(parse_hhmm("1200"), None);
        assert_eq!(parse_holiday("02-29"), Some(Holiday::Yearly(2, 29)));
        assert_eq!(parse_holiday("2026-02-29"), None);
        assert_eq!(parse_holiday("13-01"), None);
        let closed = Weekly {
            monday: vec![],
            tuesday: vec![],
            wednesday: vec![],
            thursday: vec![],
            friday: vec![],
            saturday: vec![],
            sunday: vec![],
        };
        let e = Schedule::new(&BusinessHours {
            weekly: closed,
            ..BusinessHours::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "policy.business_hours.weekly");
    }
}
