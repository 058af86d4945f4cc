//! The one wall clock of sglci's shells (the binaries, the Lambda entry, the runner's host
//! layer). Everything below them takes the time as a value or as a `&dyn Fn() -> i64`, so tests
//! pin it.

/// Seconds since the Unix epoch, now (0 if the system clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
