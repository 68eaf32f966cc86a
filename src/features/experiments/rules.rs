//! Pure rules: which variant a player lands in, and what the results say.

use crate::auth::UserId;

/// The point in [0, 1) a player takes in an experiment: SHA-256 of salt, experiment id and
/// user id. Only those three decide it, so it survives restarts and any edit that keeps
/// the variants and their weights.
pub fn point(salt: &str, experiment_id: &str, user: UserId) -> f64 {
    let mut input = Vec::with_capacity(salt.len() + experiment_id.len() + 18);
    input.extend_from_slice(salt.as_bytes());
    input.push(b':');
    input.extend_from_slice(experiment_id.as_bytes());
    input.push(b':');
    input.extend_from_slice(user.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    // 53 bits: exactly representable in an f64.
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The index of the variant at `point` when variants take slices proportional to `weights`.
pub fn pick(weights: &[u32], point: f64) -> usize {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    let target = point * total as f64;
    let mut acc = 0u64;
    for (i, w) in weights.iter().enumerate() {
        acc += u64::from(*w);
        if target < acc as f64 {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// Φ, the standard normal CDF.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// z for a two-sided 95 % interval, and for 80 % power.
pub const Z_95: f64 = 1.959_963_985;
pub const Z_POWER_80: f64 = 0.841_621_234;

/// Users needed per variant to detect `mde` (absolute) over `baseline` with a two-sided
/// two-proportion z-test at α = 0.05 and 80 % power.
pub fn sample_size(baseline: f64, mde: f64) -> u64 {
    let p1 = baseline;
    let p2 = baseline + mde;
    let p_bar = (p1 + p2) / 2.0;
    let a = Z_95 * (2.0 * p_bar * (1.0 - p_bar)).sqrt();
    let b = Z_POWER_80 * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    ((a + b).powi(2) / (mde * mde)).ceil() as u64
}

/// A variant against control by a two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Variant rate minus control rate.
    pub difference: f64,
    /// 95 % confidence interval of the difference (unpooled standard error).
    pub ci_low: f64,
    pub ci_high: f64,
    /// z statistic (pooled standard error).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// `None` when either group is empty or no one (or everyone) converted in both.
pub fn compare(control: (u64, u64), variant: (u64, u64)) -> Option<Comparison> {
    let (n1, x1) = control;
    let (n2, x2) = variant;
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (p1, p2) = (x1 as f64 / n1f, x2 as f64 / n2f);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se_pooled == 0.0 {
        return None;
    }
    let z = (p2 - p1) / se_pooled;
    let se = (p1 * (1.0 - p1) / n1f + p2 * (1.0 - p2) / n2f).sqrt();
    let d = p2 - p1;
    Some(Comparison {
        difference: d,
        ci_low: d - Z_95 * se,
        ci_high: d + Z_95 * se,
        z,
        p_value: (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_split_follows_the_weights_within_one_percent_over_100k_users() {
        let weights = [50, 30, 20];
        let mut counts = [0u64; 3];
        for _ in 0..100_000 {
            let u = Uuid::new_v4();
            counts[pick(&weights, point("salt-1", "shop_price", u))] += 1;
        }
        for (i, w) in weights.iter().enumerate() {
            let share = counts[i] as f64 / 100_000.0;
            let want = f64::from(*w) / 100.0;
            assert!(
                (share - want).abs() < 0.01,
                "variant {i}: {share} vs {want} ({counts:?})"
            );
        }
    }

    #[test]
    fn a_player_always_lands_in_the_same_place() {
        let u = Uuid::new_v4();
        let a = point("s", "e", u);
        assert_eq!(a, point("s", "e", u));
        assert!((0.0..1.0).contains(&a));
        assert_ne!(a, point("other salt", "e", u));
        // The same weights scaled (an edit that keeps the split) keep every player.
        for _ in 0..1000 {
            let p = point("s", "e", Uuid::new_v4());
            assert_eq!(pick(&[1, 1], p), pick(&[50, 50], p));
        }
        assert_eq!(pick(&[1, 0, 1], 0.49), 0);
        assert_eq!(pick(&[1, 0, 1], 0.51), 2);
    }

    #[test]
    fn the_normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(Z_95) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_254).abs() < 1e-6);
    }

    /// The worked example: control 1000 users, 100 conversions (10 %); variant 1000 users,
    /// 130 conversions (13 %). Pooled p = 0.115, SE = sqrt(0.115·0.885·(2/1000)) = 0.014267,
    /// z = 0.03 / 0.014267 = 2.1028, two-sided p = 0.0355. Unpooled SE =
    /// sqrt(0.1·0.9/1000 + 0.13·0.87/1000) = 0.014251, so the 95 % CI is
    /// 0.03 ± 1.96·0.014251 = [0.00207, 0.05793].
    #[test]
    fn a_two_proportion_z_test_matches_the_worked_example() {
        let c = compare((1000, 100), (1000, 130)).unwrap();
        assert!((c.difference - 0.03).abs() < 1e-12);
        assert!((c.z - 2.1028).abs() < 1e-3, "{c:?}");
        assert!((c.p_value - 0.0355).abs() < 5e-4, "{c:?}");
        assert!((c.ci_low - 0.00207).abs() < 1e-4, "{c:?}");
        assert!((c.ci_high - 0.05793).abs() < 1e-4, "{c:?}");
        assert_eq!(compare((0, 0), (10, 1)), None);
        assert_eq!(compare((10, 0), (10, 0)), None);
    }

    /// The textbook figure: 10 % → 12 % at α 0.05 and 80 % power needs 3,841 per group.
    #[test]
    fn the_planned_sample_size_matches_the_textbook() {
        assert_eq!(sample_size(0.10, 0.02), 3841);
    }
}
