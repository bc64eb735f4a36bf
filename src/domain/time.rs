//! Time rules: instants are UTC; "today" is the site's local day.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};

/// The site's fixed offset (estates in Indonesia and India keep no daylight saving).
pub fn site_offset(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

/// The site's local calendar day of an instant.
pub fn local_day(at: DateTime<Utc>, offset_minutes: i32) -> NaiveDate {
    at.with_timezone(&site_offset(offset_minutes)).date_naive()
}

/// `YYYY-MM-DD`, what `%Y-%m-%d` gives for the years a site sees, without parsing a format
/// string each time (index keys and the hot answers render many).
pub fn ymd(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `YYYY-MM-DD<sep>HH:MM:SS`.
pub fn ymd_hms(t: NaiveDateTime, sep: char) -> String {
    format!(
        "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
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
