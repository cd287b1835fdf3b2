//! Wall-clock time, in one place: now as Unix seconds or milliseconds, and
//! dates as people and HTTP write them (no date library: two small
//! conversions do not justify one).

use std::time::{SystemTime, UNIX_EPOCH};

/// This machine's clock, Unix seconds (0 if it is set before 1970).
pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This machine's clock, Unix milliseconds (0 if it is set before 1970).
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date library.
pub fn utc_text(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
pub fn parse_http_date(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo as i64 + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

/// A span as a person says it: "40 seconds", "12 minutes", "2 hours 5 minutes".
pub fn spoken_duration(secs: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs < 60 {
        return plural(secs, "second");
    }
    let minutes = (secs + 30) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => plural(m, "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
    }
}

/// "Your computer's clock is 12 minutes off" when it matters (over a minute).
pub fn clock_warning(skew_secs: i64) -> Option<String> {
    let off = skew_secs.unsigned_abs();
    if off < 60 {
        return None;
    }
    let amount = if off < 5_400 {
        format!("{} minutes", (off + 30) / 60)
    } else {
        format!("{} hours", (off + 1_800) / 3_600)
    };
    let direction = if skew_secs > 0 { "behind" } else { "ahead of" };
    Some(format!(
        "This computer's clock is {amount} {direction} the server's. Signing in works, but please ask IT to correct the clock."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_warnings_round_to_what_a_person_would_say() {
        assert_eq!(clock_warning(59), None);
        assert_eq!(clock_warning(-30), None);
        let twelve_behind = clock_warning(12 * 60 + 10).unwrap();
        assert!(
            twelve_behind.contains("12 minutes behind"),
            "{twelve_behind}"
        );
        let two_hours_ahead = clock_warning(-2 * 3_600).unwrap();
        assert!(
            two_hours_ahead.contains("2 hours ahead of"),
            "{two_hours_ahead}"
        );
    }

    #[test]
    fn spans_are_said_as_a_person_would() {
        assert_eq!(spoken_duration(1), "1 second");
        assert_eq!(spoken_duration(40), "40 seconds");
        assert_eq!(spoken_duration(89), "1 minute");
        assert_eq!(spoken_duration(12 * 60 + 10), "12 minutes");
        assert_eq!(spoken_duration(3_599), "1 hour");
        assert_eq!(spoken_duration(2 * 3_600 + 5 * 60), "2 hours 5 minutes");
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sun, 22 Nov 2026 05:00:00 GMT"),
            Some(1_795_323_600)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"),
            Some(1_709_251_199)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"), None);
    }

    #[test]
    fn unix_seconds_read_as_utc_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(1_709_251_199), "2024-02-29 23:59:59 UTC");
        assert_eq!(utc_text(1_795_323_600), "2026-11-22 05:00:00 UTC");
    }
}
