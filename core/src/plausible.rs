//! Plausible numbers: every measured value that reaches a table is finite, never negative where
//! the quantity cannot be, and within a bound no real benchmark reaches. A value outside that is
//! dropped from its row and the drop is recorded with its reason (a corrupted or hostile log must
//! not reach a chart, whose axis maths cannot cope with 1e308, or a regression test).
//!
//! Pure: a value and its kind in, the value or the reason out.

/// What a value measures, which decides its admissible range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// A duration or latency (ms, s, minutes): `0 ..= 1e12`.
    Duration,
    /// A throughput or a size (tok/s, req/s, GB): `0 ..= 1e12`.
    Rate,
    /// An accuracy or a threshold: `0 ..= 1` (a few logs print percentages: `0 ..= 100`).
    Accuracy,
    /// A percentage: `0 ..= 100` (and a little over for rounding).
    Percent,
}

/// The largest duration, rate or size any benchmark here can produce (a trillion ms is 31
/// years; a trillion tokens per second is far beyond any machine).
pub const MAX_MEASURE: f64 = 1e12;

impl Quantity {
    fn range(self) -> (f64, f64) {
        match self {
            Quantity::Duration | Quantity::Rate => (0.0, MAX_MEASURE),
            Quantity::Accuracy => (0.0, 100.0),
            Quantity::Percent => (0.0, 1000.0),
        }
    }
}

/// The value when it is plausible for its quantity, otherwise why not.
pub fn check(value: f64, q: Quantity) -> Result<f64, String> {
    let (lo, hi) = q.range();
    if !value.is_finite() {
        return Err(format!("{value} is not a finite number"));
    }
    if value < lo || value > hi {
        return Err(format!("{value:e} is outside {lo}..={hi:e}"));
    }
    Ok(value)
}

/// A count from a float (JSON numbers are floats): finite, whole, non-negative and exactly
/// representable, otherwise `None` (never a saturating or wrapping cast).
pub fn count_from_f64(v: f64) -> Option<u64> {
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0)
        .then_some(v as u64)
}

/// A `u32` from a `u64`, refusing what does not fit (2^32 + 1 is not 1).
pub fn to_u32(v: u64) -> Option<u32> {
    u32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_values_are_refused_with_a_reason() {
        assert_eq!(check(12.5, Quantity::Duration), Ok(12.5));
        assert_eq!(check(0.0, Quantity::Rate), Ok(0.0));
        for bad in [1.7e308, f64::INFINITY, f64::NAN, -1.0, 1e13] {
            let e = check(bad, Quantity::Duration).expect_err("refused");
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(check(0.92, Quantity::Accuracy).is_ok());
        assert!(check(-0.1, Quantity::Accuracy).is_err());
        assert!(check(101.0, Quantity::Accuracy).is_err());
    }

    #[test]
    fn counts_are_converted_without_truncation() {
        assert_eq!(to_u32(4_294_967_297), None);
        assert_eq!(to_u32(64), Some(64));
        assert_eq!(count_from_f64(128.0), Some(128));
        for bad in [-1.0, 1.5, f64::NAN, 1e300] {
            assert_eq!(count_from_f64(bad), None, "{bad}");
        }
    }
}
