//! Robust statistics and change-point maths on plain `f64` slices (pure, no allocation beyond
//! sorting copies): median, MAD, Welch's t-test and E-divisive means (as in Otava/Hunter).

pub use sglci_core::stats::median;

/// Median absolute deviation scaled to a normal σ (1.4826·MAD).
pub fn mad_sigma(v: &[f64]) -> Option<f64> {
    let m = median(v)?;
    let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    median(&dev).map(|d| 1.4826 * d)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// ln Γ(x) (Lanczos, g = 7).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let mut a = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Keeps a continued fraction's terms away from zero (the modified Lentz method).
fn away_from_zero(x: f64) -> f64 {
    if x.abs() < 1e-300 {
        1e-300
    } else {
        x
    }
}

/// Continued fraction of the regularized incomplete beta function (Numerical Recipes `betacf`).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / away_from_zero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / away_from_zero(1.0 + aa * d);
        c = away_from_zero(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / away_from_zero(1.0 + aa * d);
        c = away_from_zero(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-12 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Two-sided p-value of Welch's t-test between two samples (each of at least 2 values). Equal
/// constant samples give 1.0 when their means agree and 0.0 otherwise.
pub fn welch_p(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 2 || b.len() < 2 {
        return 1.0;
    }
    let (va, vb) = (var(a) / a.len() as f64, var(b) / b.len() as f64);
    let diff = mean(a) - mean(b);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return if diff.abs() < f64::EPSILON { 1.0 } else { 0.0 };
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2
        / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0))
            .max(f64::MIN_POSITIVE);
    inc_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// The E-divisive means statistic of splitting `v` at `tau` (left = `v[..tau]`).
fn q_stat(v: &[f64], tau: usize) -> f64 {
    let (l, r) = v.split_at(tau);
    let (n, m) = (l.len() as f64, r.len() as f64);
    let cross: f64 = l
        .iter()
        .map(|x| r.iter().map(|y| (x - y).abs()).sum::<f64>())
        .sum();
    let within = |s: &[f64]| -> f64 {
        let mut t = 0.0;
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                t += (s[i] - s[j]).abs();
            }
        }
        t
    };
    let e = 2.0 * cross / (n * m)
        - within(l) * 2.0 / (n * (n - 1.0)).max(1.0)
        - within(r) * 2.0 / (m * (m - 1.0)).max(1.0);
    e * n * m / (n + m)
}

/// A confirmed change point: `index` is the first point of the new level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    pub index: usize,
    pub p_value: f64,
    pub before: f64,
    pub after: f64,
}

/// Change points by E-divisive means with a Welch t-test as the significance test (the Hunter /
/// Otava approach): split where the energy statistic is largest, keep the split when the two
/// sides differ with `p < max_p`, recurse into both sides. Segments have at least `min_size`
/// points. Returned in index order.
pub fn change_points(v: &[f64], min_size: usize, max_p: f64) -> Vec<ChangePoint> {
    let mut out = Vec::new();
    split(v, 0, min_size.max(2), max_p, &mut out);
    out.sort_by_key(|c| c.index);
    out
}

fn split(v: &[f64], offset: usize, min_size: usize, max_p: f64, out: &mut Vec<ChangePoint>) {
    if v.len() < 2 * min_size {
        return;
    }
    let best = (min_size..=v.len() - min_size)
        .map(|tau| (tau, q_stat(v, tau)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((tau, _)) = best else { return };
    let (l, r) = v.split_at(tau);
    let p = welch_p(l, r);
    if p < max_p {
        out.push(ChangePoint {
            index: offset + tau,
            p_value: p,
            before: median(l).unwrap_or(f64::NAN),
            after: median(r).unwrap_or(f64::NAN),
        });
        split(l, offset, min_size, max_p, out);
        split(r, offset + tau, min_size, max_p, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_mad() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let s = mad_sigma(&[1.0, 2.0, 3.0, 4.0, 100.0]).expect("mad");
        assert!(
            (s - 1.4826).abs() < 1e-9,
            "an outlier does not move the MAD: {s}"
        );
    }

    #[test]
    fn welch_matches_known_values() {
        // Identical samples: no evidence.
        assert!((welch_p(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-9);
        // Reference values by numerical integration of the Student t density (Simpson's rule):
        // t = -10, df = 8 → p = 8.4882e-6; t = -1.1677, df = 5.5846 → p = 0.29033.
        let p = welch_p(
            &[10.0, 11.0, 12.0, 13.0, 14.0],
            &[20.0, 21.0, 22.0, 23.0, 24.0],
        );
        assert!((p - 8.4882e-6).abs() < 1e-9, "{p}");
        let p = welch_p(&[1.0, 2.0, 3.0, 4.0], &[2.0, 3.0, 4.0, 6.0]);
        assert!((p - 0.29033).abs() < 1e-4, "{p}");
    }

    #[test]
    fn change_points_find_a_step_and_ignore_noise() {
        let noise = [0.0, 0.8, -0.5, 0.3, -0.9, 0.6, -0.2, 0.4, -0.7, 0.1];
        let flat: Vec<f64> = noise
            .iter()
            .chain(noise.iter())
            .map(|n| 100.0 + n)
            .collect();
        assert!(change_points(&flat, 3, 0.001).is_empty());
        let step: Vec<f64> = noise
            .iter()
            .map(|n| 100.0 + n)
            .chain(noise.iter().map(|n| 110.0 + n))
            .collect();
        let cps = change_points(&step, 3, 0.001);
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert_eq!(cps[0].index, 10);
        assert!(cps[0].after > cps[0].before);
    }
}
