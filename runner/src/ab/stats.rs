//! The A/B statistics, pure: the interleaved schedule, the measurements of a round, and each
//! series' paired verdict.
//!
//! Rounds alternate the order (A B, then B A; A B C, then C B A), so a host that drifts during
//! the comparison (thermals, a neighbour's load) shifts both sides of a pair alike. Per series
//! and candidate, each complete round gives one paired relative difference `(c - a) / a`. A
//! verdict needs all of:
//!
//! - at least two pairs;
//! - a 95 % interval of their mean that excludes zero: the bootstrap percentile interval
//!   (resampling the pairs [`BOOTSTRAP`] times, with a fixed seed: the same data gives the same
//!   record), widened to the Student-t interval where that is wider. With few pairs the
//!   bootstrap alone is far too narrow (two pairs of one sign always "exclude zero"); on CI's
//!   shared 2-core machine an A/A once had three pairs of one sign at −10 %, −2 % and −11 %,
//!   which the t interval (−19 % to +4 %) rightly calls noise;
//! - a median change beyond the series' noise floor: the larger of [`MIN_FLOOR`], three times the
//!   images' round-to-round spread (this series', or the median over the job's loads of the
//!   same metric when that is larger: two rounds estimate a spread poorly, and a metric is about
//!   as noisy at every load), and the disagreement between the pairs (√2 × their standard
//!   deviation: for two pairs, the larger difference less the smaller).
//!
//! Otherwise it is "no significant difference". The floor makes the verdict conservative on few
//! rounds, where a percentile interval alone is too narrow to trust. Its factors were chosen on
//! real CPU-suite rounds (an A/A and a one-thread candidate, docs/ab.md): every A/A series
//! stayed below its floor, every slowed series but one (a TTFT whose rounds disagreed by 100 %)
//! cleared it.

use sglci_core::ab::{median, AbCell, AbSeries, AbVerdict, Better};

use crate::job::JobOutcome;

/// The smallest relative change a verdict names by default, whatever the noise (the publisher's
/// regression screen uses the same floor). `ab --min-change` raises it on a host whose runs
/// drift more than the rounds can show (docs/ab.md: a shared 2-core VM).
pub const MIN_FLOOR: f64 = 0.03;

/// Bootstrap resamples per interval.
pub const BOOTSTRAP: usize = 4000;

/// The metrics compared, with the direction that is better.
pub const METRICS: [(&str, Better); 4] = [
    ("e2e_ms", Better::Lower),
    ("ttft_ms", Better::Lower),
    ("itl_ms", Better::Lower),
    ("output_throughput", Better::Higher),
];

/// Which image runs when: (round, image index), round by round, the order reversed every other
/// round.
pub fn schedule(images: usize, rounds: u32) -> Vec<(u32, usize)> {
    (0..rounds)
        .flat_map(|r| {
            let order: Vec<usize> = if r % 2 == 0 {
                (0..images).collect()
            } else {
                (0..images).rev().collect()
            };
            order.into_iter().map(move |i| (r, i))
        })
        .collect()
}

/// The letter of image `i`: `A` is the baseline.
pub fn letter(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}

/// One value measured in one round on one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub round: u32,
    pub image: usize,
    pub job: String,
    pub load: u32,
    pub metric: &'static str,
    pub value: f64,
}

/// The complete loads of a round's jobs as measurements (a partial load is not a measurement).
pub fn measures_of(round: u32, image: usize, jobs: &[JobOutcome]) -> Vec<Measure> {
    let mut out = Vec::new();
    for j in jobs.iter().filter(|j| !j.failed()) {
        for l in j.loads.iter().filter(|l| !l.partial) {
            let values = [
                l.median_e2e_ms,
                l.median_ttft_ms,
                l.median_itl_ms,
                l.output_throughput,
            ];
            for ((metric, _), v) in METRICS.iter().zip(values) {
                if let Some(value) = v.filter(|v| v.is_finite() && *v > 0.0) {
                    out.push(Measure {
                        round,
                        image,
                        job: j.job.clone(),
                        load: l.load,
                        metric,
                        value,
                    });
                }
            }
        }
    }
    out
}

/// A small deterministic generator (xorshift64*): resampling must not depend on the clock.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// The 95 % bootstrap percentile interval of the mean of `d`.
pub fn bootstrap_interval(d: &[f64]) -> Option<(f64, f64)> {
    if d.len() < 2 {
        return None;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ d.len() as u64);
    let mut means: Vec<f64> = (0..BOOTSTRAP)
        .map(|_| (0..d.len()).map(|_| d[rng.below(d.len())]).sum::<f64>() / d.len() as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (BOOTSTRAP - 1) as f64).round() as usize).min(BOOTSTRAP - 1)];
    Some((at(0.025), at(0.975)))
}

/// Student's t at 97.5 % for `df` degrees of freedom (1.96 beyond 30).
fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

/// The 95 % interval of the mean of `d`: the bootstrap percentile interval, widened to the
/// Student-t interval.
pub fn interval(d: &[f64]) -> Option<(f64, f64)> {
    let (lo, hi) = bootstrap_interval(d)?;
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = t_975(d.len() - 1) * sd / n.sqrt();
    Some((lo.min(mean - half), hi.max(mean + half)))
}

/// An image's round-to-round spread: the median absolute deviation over the median.
fn spread(values: &[Option<f64>]) -> f64 {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    match median(&v) {
        Some(m) if m > 0.0 && v.len() >= 2 => {
            let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
            median(&dev).unwrap_or(0.0) / m
        }
        _ => 0.0,
    }
}

/// A candidate's cell against the baseline's values (both per round); `pooled` is the
/// metric's typical spread over the job's loads, `min_floor` the smallest change named.
pub fn cell(
    letter: &str,
    base: &[Option<f64>],
    cand: &[Option<f64>],
    better: Better,
    (pooled, min_floor): (f64, f64),
) -> AbCell {
    let diffs: Vec<f64> = base
        .iter()
        .zip(cand)
        .filter_map(|(a, c)| Some((c.as_ref()? - a.as_ref()?) / a.as_ref()?))
        .collect();
    // √2 × the pairs' standard deviation: their range for two pairs, and no wider with more.
    let disagreement = if diffs.len() >= 2 {
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (diffs.len() - 1) as f64;
        std::f64::consts::SQRT_2 * var.sqrt()
    } else {
        0.0
    };
    let floor = min_floor
        .max(3.0 * spread(base).max(spread(cand)).max(pooled))
        .max(disagreement);
    let median_change = median(&diffs);
    let interval = interval(&diffs);
    let verdict = match (median_change, interval) {
        (Some(m), Some((lo, hi))) if (lo > 0.0 || hi < 0.0) && m.abs() > floor => {
            let worse = match better {
                Better::Lower => m > 0.0,
                Better::Higher => m < 0.0,
            };
            if worse {
                AbVerdict::Worse
            } else {
                AbVerdict::Better
            }
        }
        (Some(_), Some(_)) => AbVerdict::NoSignificantDifference,
        _ => AbVerdict::Missing,
    };
    AbCell {
        letter: letter.to_owned(),
        values: cand.to_vec(),
        diffs,
        median_change,
        low: interval.map(|i| i.0),
        high: interval.map(|i| i.1),
        floor,
        verdict,
    }
}

/// Every value of one image on one series, per round.
fn values_of(
    measures: &[Measure],
    rounds: u32,
    image: usize,
    (job, load, metric): (&str, u32, &str),
) -> Vec<Option<f64>> {
    (0..rounds)
        .map(|r| {
            measures
                .iter()
                .find(|m| {
                    m.round == r
                        && m.image == image
                        && m.job == job
                        && m.load == load
                        && m.metric == metric
                })
                .map(|m| m.value)
        })
        .collect()
}

/// Every series the measurements hold, in job, load and metric order; `min_floor` is the
/// smallest relative change a verdict names ([`MIN_FLOOR`] by default).
pub fn series(measures: &[Measure], images: usize, rounds: u32, min_floor: f64) -> Vec<AbSeries> {
    let mut keys: Vec<(String, u32, &'static str)> = measures
        .iter()
        .map(|m| (m.job.clone(), m.load, m.metric))
        .collect();
    keys.sort_by(|a, b| {
        let pos = |m: &str| METRICS.iter().position(|(n, _)| *n == m);
        (&a.0, a.1, pos(a.2)).cmp(&(&b.0, b.1, pos(b.2)))
    });
    keys.dedup();
    // Each (job, metric, image)'s typical spread over its loads.
    let pooled = |job: &str, metric: &str, image: usize| -> f64 {
        let spreads: Vec<f64> = keys
            .iter()
            .filter(|(j, _, m)| j == job && *m == metric)
            .map(|(j, l, m)| spread(&values_of(measures, rounds, image, (j, *l, m))))
            .collect();
        median(&spreads).unwrap_or(0.0)
    };
    keys.iter()
        .map(|(job, load, metric)| {
            let key = (job.as_str(), *load, *metric);
            let better = METRICS
                .iter()
                .find(|(n, _)| n == metric)
                .map_or(Better::Lower, |(_, b)| *b);
            let baseline = values_of(measures, rounds, 0, key);
            let base_pooled = pooled(job, metric, 0);
            let candidates = (1..images)
                .map(|i| {
                    let p = base_pooled.max(pooled(job, metric, i));
                    cell(
                        &letter(i),
                        &baseline,
                        &values_of(measures, rounds, i, key),
                        better,
                        (p, min_floor),
                    )
                })
                .collect();
            AbSeries {
                job: job.clone(),
                load: *load,
                metric: (*metric).to_owned(),
                better,
                baseline,
                candidates,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_alternate_the_order() {
        assert_eq!(schedule(2, 2), [(0, 0), (0, 1), (1, 1), (1, 0)]);
        assert_eq!(
            schedule(3, 2),
            [(0, 0), (0, 1), (0, 2), (1, 2), (1, 1), (1, 0)]
        );
        assert_eq!(letter(0), "A");
        assert_eq!(letter(2), "C");
    }

    /// (baseline, candidate, better) → verdict.
    fn check(base: &[f64], cand: &[f64], better: Better, want: AbVerdict) -> AbCell {
        let b: Vec<_> = base.iter().copied().map(Some).collect();
        let c: Vec<_> = cand.iter().copied().map(Some).collect();
        let got = cell("B", &b, &c, better, (0.0, MIN_FLOOR));
        assert_eq!(got.verdict, want, "{base:?} vs {cand:?}: {got:?}");
        got
    }

    #[test]
    fn verdicts_need_a_consistent_change_beyond_the_floor() {
        // Twice as slow in both rounds: worse.
        let c = check(
            &[100.0, 104.0],
            &[200.0, 206.0],
            Better::Lower,
            AbVerdict::Worse,
        );
        assert!(c.median_change.is_some_and(|m| (m - 0.99).abs() < 0.02));
        assert!(c.low.is_some_and(|l| l > 0.8), "the t interval: {c:?}");
        // The same, as throughput: lower is worse.
        check(&[10.0, 10.4], &[5.0, 5.1], Better::Higher, AbVerdict::Worse);
        check(
            &[10.0, 10.4],
            &[20.0, 20.1],
            Better::Higher,
            AbVerdict::Better,
        );
        // An A/A: within noise.
        check(
            &[100.0, 103.0],
            &[101.0, 102.5],
            Better::Lower,
            AbVerdict::NoSignificantDifference,
        );
        // Same sign but within the 3 % floor.
        check(
            &[100.0, 100.0],
            &[102.0, 102.5],
            Better::Lower,
            AbVerdict::NoSignificantDifference,
        );
        // Beyond the floor, but the pairs disagree in sign: the interval includes zero.
        check(
            &[100.0, 100.0],
            &[130.0, 80.0],
            Better::Lower,
            AbVerdict::NoSignificantDifference,
        );
        // One pair is not a comparison.
        let one = cell(
            "B",
            &[Some(100.0), None],
            &[Some(200.0), Some(1.0)],
            Better::Lower,
            (0.0, MIN_FLOOR),
        );
        assert_eq!(one.verdict, AbVerdict::Missing);
    }

    #[test]
    fn a_noisy_metric_raises_the_floor_of_its_quiet_looking_loads() {
        // Beyond this series' own spread, but within the metric's typical spread.
        let b = [Some(100.0), Some(100.5)];
        let c = [Some(112.0), Some(112.5)];
        assert_eq!(
            cell("B", &b, &c, Better::Lower, (0.0, MIN_FLOOR)).verdict,
            AbVerdict::Worse
        );
        assert_eq!(
            cell("B", &b, &c, Better::Lower, (0.05, MIN_FLOOR)).verdict,
            AbVerdict::NoSignificantDifference
        );
        let m = |round, image, load, value| Measure {
            round,
            image,
            job: "j".into(),
            load,
            metric: "e2e_ms",
            value,
        };
        let ms = vec![
            m(0, 0, 1, 100.0),
            m(1, 0, 1, 100.5),
            m(0, 1, 1, 112.0),
            m(1, 1, 1, 112.5),
            // Loads 2 and 4 swing by ±10 % between rounds on both images.
            m(0, 0, 2, 100.0),
            m(1, 0, 2, 120.0),
            m(0, 1, 2, 101.0),
            m(1, 1, 2, 119.0),
            m(0, 0, 4, 100.0),
            m(1, 0, 4, 122.0),
            m(0, 1, 4, 99.0),
            m(1, 1, 4, 121.0),
        ];
        let s = series(&ms, 2, 2, MIN_FLOOR);
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0].candidates[0].verdict,
            AbVerdict::NoSignificantDifference
        );
        assert!(s[0].candidates[0].floor > 0.2, "{:?}", s[0].candidates[0]);
    }

    #[test]
    fn a_burst_over_two_adjacent_runs_is_not_a_change_over_three_rounds() {
        // AB BA AB: a burst slows r0-B and r1-B (back to back) by 27 %.
        let a = [Some(968.0), Some(966.0), Some(970.0)];
        let b = [Some(1242.0), Some(1220.0), Some(969.0)];
        let c = cell("B", &a, &b, Better::Lower, (0.0, MIN_FLOOR));
        assert_eq!(c.verdict, AbVerdict::NoSignificantDifference, "{c:?}");
        // The same burst over two rounds is what it looks like: a change.
        let c = cell("B", &a[..2], &b[..2], Better::Lower, (0.0, MIN_FLOOR));
        assert_eq!(c.verdict, AbVerdict::Worse);
    }

    #[test]
    fn three_pairs_of_one_sign_within_their_spread_are_noise() {
        // CI's A/A, load 2 E2E (AB BA AB): B "faster" in all three rounds.
        let a = [Some(1206.5), Some(1144.2), Some(1163.8)];
        let b = [Some(1086.3), Some(1116.5), Some(1036.5)];
        let c = cell("B", &a, &b, Better::Lower, (0.0, MIN_FLOOR));
        assert_eq!(c.verdict, AbVerdict::NoSignificantDifference, "{c:?}");
        assert!(c.low.is_some_and(|l| l < -0.15) && c.high.is_some_and(|h| h > 0.0));
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(40), 1.96);
    }

    #[test]
    fn a_raised_minimum_change_keeps_a_hosts_drift_unnamed_and_a_real_change_named() {
        // CI's A/A, load 1 ITL (AB BA AB): B 6-8 % slower in all three rounds, the same image.
        let a = [Some(20.0), Some(20.2), Some(19.9)];
        let b = [Some(21.3), Some(21.7), Some(21.2)];
        let drift = cell("B", &a, &b, Better::Lower, (0.0, MIN_FLOOR));
        assert_eq!(
            drift.verdict,
            AbVerdict::Worse,
            "the default floor names it"
        );
        let raised = cell("B", &a, &b, Better::Lower, (0.0, 0.10));
        assert_eq!(raised.verdict, AbVerdict::NoSignificantDifference);
        assert_eq!(raised.floor, 0.10);
        // The one-thread candidate's slowest-moving series still clears a 10 % floor.
        let slowed = [Some(34.5), Some(36.9), Some(33.8)];
        let c = cell("B", &a, &slowed, Better::Lower, (0.0, 0.10));
        assert_eq!(c.verdict, AbVerdict::Worse, "{c:?}");
    }

    #[test]
    fn the_bootstrap_is_deterministic() {
        let d = [0.1, 0.2, 0.15, 0.12];
        assert_eq!(bootstrap_interval(&d), bootstrap_interval(&d));
        let (lo, hi) = bootstrap_interval(&d).expect("interval");
        assert!(lo >= 0.1 && hi <= 0.2 && lo < hi, "{lo} {hi}");
    }
}
