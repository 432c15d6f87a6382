//! The statistics of repeated measurements: medians, 95% confidence intervals (percentile
//! bootstrap, Student's t, Wilson, and distribution-free order statistics), coefficients
//! of variation and outlier fences. Resampling is seeded, so a summary is reproducible.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 4000;
/// Seed of every bootstrap (a summary recomputed from the same data is the same).
pub const SEED: u64 = 0x0b_be_4c_11;
/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_964;

/// The median (mean of the middle two for an even count); NaN for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Mean and sample standard deviation (n − 1); the deviation is 0 for fewer than 2 values.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Coefficient of variation (sample sd / mean), for 2 or more values with a non-zero mean.
pub fn cv(values: &[f64]) -> Option<f64> {
    let (mean, sd) = mean_sd(values);
    (values.len() >= 2 && mean != 0.0 && mean.is_finite()).then(|| sd / mean.abs())
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (the half-width factor
/// of a two-sided 95% interval), from `statrs`.
pub fn t975(df: usize) -> f64 {
    match statrs::distribution::StudentsT::new(0.0, 1.0, df as f64) {
        Ok(t) => statrs::distribution::ContinuousCDF::inverse_cdf(&t, 0.975),
        Err(_) => f64::INFINITY,
    }
}

/// 95% t-interval of the mean, for 2 or more values.
pub fn t_interval(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let (mean, sd) = mean_sd(values);
    let half = t975(values.len() - 1) * sd / (values.len() as f64).sqrt();
    Some((mean - half, mean + half))
}

/// 95% percentile-bootstrap interval of `stat` over resamples of `values`, for 2 or more.
pub fn bootstrap(values: &[f64], stat: impl Fn(&[f64]) -> f64) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut sample = vec![0.0; values.len()];
    let mut stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for s in &mut sample {
                *s = values[rng.random_range(0..values.len())];
            }
            stat(&sample)
        })
        .collect();
    Some(percentile_interval(&mut stats))
}

/// 95% percentile-bootstrap interval of `combine(stat(a), stat(b))`, resampling each
/// side independently (resamples where `combine` gives nothing are left out).
pub fn bootstrap_two(
    a: &[f64],
    b: &[f64],
    stat: impl Fn(&[f64]) -> f64,
    combine: impl Fn(f64, f64) -> Option<f64>,
) -> Option<(f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let (mut sa, mut sb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    let mut stats: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            for s in &mut sa {
                *s = a[rng.random_range(0..a.len())];
            }
            for s in &mut sb {
                *s = b[rng.random_range(0..b.len())];
            }
            combine(stat(&sa), stat(&sb))
        })
        .collect();
    (!stats.is_empty()).then(|| percentile_interval(&mut stats))
}

/// `b / a − 1`, when `a` is not 0.
pub fn relative(a: f64, b: f64) -> Option<f64> {
    (a != 0.0).then(|| b / a - 1.0)
}

fn percentile_interval(stats: &mut [f64]) -> (f64, f64) {
    stats.sort_by(f64::total_cmp);
    let at = |q: f64| stats[((stats.len() - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

/// 95% Wilson score interval of a proportion `k / n`.
pub fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The quantiles bounding a distribution-free 95% interval of the `q` quantile of `n`
/// samples (order statistics, normal approximation of the binomial): read them off the
/// run's histogram to get the interval of its percentile.
pub fn quantile_bounds(n: u64, q: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let half = Z95 * (n * q * (1.0 - q)).sqrt();
    let lo = ((n * q - half).floor() / n).clamp(0.0, 1.0);
    let hi = ((n * q + half).ceil() / n).clamp(0.0, 1.0);
    Some((lo, hi))
}

/// Fewest values among which an outlier is flagged: with three, the MAD is the smaller
/// of two deviations, and noise cannot be told from an outlier.
pub const OUTLIER_MIN_VALUES: usize = 4;

/// Indices of outliers by the modified z-score (|x − median| / (1.4826 · MAD) > 3.5,
/// Iglewicz and Hoaglin), for [`OUTLIER_MIN_VALUES`] or more values. The scaled MAD is
/// taken as at least 1% of the median, so differences of a fraction of a percent
/// between otherwise identical repetitions are never outliers.
pub fn mad_outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < OUTLIER_MIN_VALUES {
        return Vec::new();
    }
    let m = median(values);
    let deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    let mad = (median(&deviations) * 1.4826).max(m.abs() * 0.01);
    if mad == 0.0 || !mad.is_finite() {
        return Vec::new();
    }
    deviations
        .iter()
        .enumerate()
        .filter(|(_, d)| **d / mad > 3.5)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_mean_and_cv() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let (m, sd) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((sd - 2.138).abs() < 1e-3, "{sd}");
        assert!((cv(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap() - 0.4276).abs() < 1e-3);
        assert_eq!(cv(&[1.0]), None);
    }

    #[test]
    fn t_quantiles_match_the_printed_tables() {
        for (df, printed) in [(1, 12.706), (4, 2.776), (30, 2.042), (120, 1.980)] {
            assert!((t975(df) - printed).abs() < 5e-4, "df {df}: {}", t975(df));
        }
        assert!((t975(100_000) - Z95).abs() < 1e-4);
    }

    #[test]
    fn t_interval_matches_a_textbook_case() {
        // mean 10, sd 2, n 4: 10 ± 3.182 · 2 / 2.
        let v = [8.0, 10.0, 10.0, 12.0];
        let (m, sd) = mean_sd(&v);
        assert_eq!(m, 10.0);
        let (lo, hi) = t_interval(&v).unwrap();
        let half = 3.182 * sd / 2.0;
        // The printed table rounds t to 3 decimals.
        assert!((lo - (10.0 - half)).abs() < 1e-3 && (hi - (10.0 + half)).abs() < 1e-3);
        assert_eq!(t_interval(&[1.0]), None);
    }

    #[test]
    fn bootstrap_covers_the_median_and_is_reproducible() {
        let v = [10.0, 11.0, 9.5, 10.5, 30.0, 10.2, 9.9];
        let a = bootstrap(&v, median).unwrap();
        assert_eq!(a, bootstrap(&v, median).unwrap());
        assert!(a.0 <= median(&v) && median(&v) <= a.1, "{a:?}");
        assert!(a.1 < 30.0, "the median resists the outlier: {a:?}");
        // Three runs: the interval spans the values.
        let (lo, hi) = bootstrap(&[1.0, 2.0, 3.0], median).unwrap();
        assert!(lo >= 1.0 && hi <= 3.0 && lo < hi);
    }

    #[test]
    fn change_interval_excludes_zero_for_a_real_shift_only() {
        let a = [100.0, 101.0, 99.0, 100.5, 99.5];
        let b: Vec<f64> = a.iter().map(|x| x * 1.5).collect();
        let (lo, hi) = bootstrap_two(&a, &b, median, relative).unwrap();
        assert!(lo > 0.4 && hi < 0.6, "{lo} {hi}");
        let (lo, hi) =
            bootstrap_two(&a, &[100.2, 99.8, 100.9, 99.1, 100.0], median, relative).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "{lo} {hi}");
    }

    #[test]
    fn wilson_and_quantile_bounds() {
        let (lo, hi) = wilson(0, 100).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.037).abs() < 1e-3, "{hi}");
        let (lo, hi) = wilson(50, 100).unwrap();
        assert!((lo - 0.404).abs() < 1e-3 && (hi - 0.596).abs() < 1e-3);
        let (lo, hi) = quantile_bounds(10_000, 0.99).unwrap();
        assert!(lo < 0.99 && hi > 0.99 && hi - lo < 0.01);
        assert_eq!(quantile_bounds(0, 0.5), None);
    }

    #[test]
    fn mad_flags_the_odd_run_out() {
        assert_eq!(mad_outliers(&[10.0, 10.5, 9.8, 10.1, 25.0]), vec![4]);
        assert!(
            mad_outliers(&[10.0, 10.5, 25.0]).is_empty(),
            "three cannot tell"
        );
        // Identical but for one: the 1% floor decides.
        assert_eq!(mad_outliers(&[1.0, 1.0, 1.0, 9.0]), vec![3]);
        assert!(mad_outliers(&[1000.0, 1000.0, 1001.0, 999.5]).is_empty());
    }
}
