//! Civil-date arithmetic on `YYYYMMDD` strings and day numbers (days since 1970-01-01,
//! proleptic Gregorian), shared by the publisher's site and the runner's image dates. Pure.

/// The day number of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 of a `YYYYMMDD` date, or `None`.
pub fn day_number(date: &str) -> Option<i64> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = date[..4].parse().ok()?;
    let m: i64 = date[4..6].parse().ok()?;
    let d: i64 = date[6..].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// The Unix time of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SS[.fff]Z` (the form
/// [`rfc3339`] writes), or `None`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || !s.ends_with('Z')
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let day = day_number(&format!("{}{}{}", s.get(..4)?, s.get(5..7)?, s.get(8..10)?))?;
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(day * 86_400 + h * 3600 + m * 60 + sec)
}

/// `(YYYYMMDD, HH, MM, SS)` in UTC of a Unix time.
pub fn utc_parts(unix_secs: i64) -> (String, i64, i64, i64) {
    let rem = unix_secs.rem_euclid(86_400);
    (
        date_of_day(unix_secs.div_euclid(86_400)),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

/// `2026-11-25 01:23:45 UTC`: how run logs print a time.
pub fn utc_datetime(unix_secs: i64) -> String {
    let (d, h, m, s) = utc_parts(unix_secs);
    format!(
        "{}-{}-{} {h:02}:{m:02}:{s:02} UTC",
        &d[..4],
        &d[4..6],
        &d[6..]
    )
}

/// `20261125_012345`: the timestamp in run log file names.
pub fn utc_stamp(unix_secs: i64) -> String {
    let (d, h, m, s) = utc_parts(unix_secs);
    format!("{d}_{h:02}{m:02}{s:02}")
}

/// The `YYYYMMDD` date of a day number (inverse of [`day_number`]).
pub fn date_of_day(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

/// Seconds since the Unix epoch → `2025-12-09T06:00:00Z`.
pub fn rfc3339(unix_secs: i64) -> String {
    let (d, h, m, s) = utc_parts(unix_secs);
    format!("{}T{h:02}:{m:02}:{s:02}Z", iso(&d))
}

/// `20251209` → `2025-12-09` (other strings unchanged).
pub fn iso(date: &str) -> String {
    if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..])
    } else {
        date.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_round_trips() {
        for t in [0, 1_765_432_100, 4_102_444_799] {
            assert_eq!(super::parse_rfc3339(&super::rfc3339(t)), Some(t));
        }
        assert_eq!(
            super::parse_rfc3339("2025-12-11T06:00:00.250Z"),
            Some(1_765_432_800)
        );
        for bad in [
            "",
            "2025-12-11 06:00:00Z",
            "2025-13-11T06:00:00Z",
            "2025-12-11T06:00:00+01:00",
        ] {
            assert_eq!(super::parse_rfc3339(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(day_number("19700101"), Some(0));
        assert_eq!(day_number("20000301"), Some(11017));
        for d in ["19700101", "20240229", "20251209", "21000228", "19691231"] {
            let n = day_number(d).expect("valid");
            assert_eq!(date_of_day(n), d);
        }
        assert_eq!(day_number("2025120"), None);
        assert_eq!(day_number("20251301"), None);
        assert_eq!(iso("20251209"), "2025-12-09");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_765_260_245), "2025-12-09T06:04:05Z");
    }
}
