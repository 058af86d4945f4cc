//! Date arithmetic for the site (the rows themselves are [`crate::rows::Rows`]).

pub use sglci_core::date::{date_of_day, day_number};

/// Seconds since the Unix epoch → `2025-12-09T06:00:00Z`.
pub fn rfc3339(unix_secs: i64) -> String {
    let (d, h, m, s) = sglci_core::date::utc_parts(unix_secs);
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
