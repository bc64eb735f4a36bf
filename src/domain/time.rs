//! Time rules: instants are UTC; "today" is the site's local day.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// The site's fixed offset (estates in Indonesia and India keep no daylight saving).
pub fn site_offset(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

/// The site's local calendar day of an instant.
pub fn local_day(at: DateTime<Utc>, offset_minutes: i32) -> NaiveDate {
    at.with_timezone(&site_offset(offset_minutes)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_is_the_sites_day_not_utcs() {
        // 18:30 UTC on the 1st is 01:30 on the 2nd in Jakarta (+07:00).
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 18, 30, 0).unwrap();
        assert_eq!(
            local_day(t, 420),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
        );
        assert_eq!(
            local_day(t, 0),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
    }
}
