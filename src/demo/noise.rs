//! Counter-based noise: every random number is a pure function of (seed, counter).
//!
//! There is no RNG state, so voxels can be generated in any order (slice by slice, skipped,
//! in parallel) and give the same bits. Only integer hashing and `+ − ×` / `floor` on f64
//! are used, so native and wasm32 builds agree exactly.
//!
//! Image noise: draw `n` of a SplitMix64 stream keyed by the seed, `n` = linear voxel
//! index. Texture: hashed lattice values (value noise) keyed by seed and lattice cell.

/// SplitMix64 finaliser: a bijective 64-bit mix.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of a seed and a counter.
#[inline]
pub fn hash2(seed: u64, n: u64) -> u64 {
    mix64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix64(n.wrapping_add(0x632b_e59b_d9b4_e019)))
}

/// Uniform in [-1, 1) from a seed and a counter.
#[inline]
pub fn uniform_pm1(seed: u64, n: u64) -> f64 {
    (hash2(seed, n) >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
}

/// Key of a noise stream: mixes the seed once so that per-voxel draws need one mix.
#[inline]
pub fn stream_key(seed: u64) -> u64 {
    mix64(seed ^ 0x6a09_e667_f3bc_c909)
}

/// Approximately standard-normal value (mean 0, variance 1) number `n` of the stream
/// `key` ([`stream_key`]): SplitMix64 output split into four 16-bit uniforms whose
/// Irwin–Hall sum is rescaled; bounded to ±3.46.
#[inline]
pub fn gaussianish(key: u64, n: u64) -> f64 {
    let h = mix64(key.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let s = (h & 0xffff) + (h >> 16 & 0xffff) + (h >> 32 & 0xffff) + (h >> 48);
    // Four U(0,1) have mean 2 and variance 1/3.
    ((s as f64 + 2.0) * (1.0 / 65536.0) - 2.0) * 1.732_050_807_568_877_2
}

/// `floor(x)` as an integer and the fraction `x − floor(x)`, for |x| < 2⁶² (no libm call).
#[inline]
fn floor_frac(x: f64) -> (i64, f64) {
    let t = x as i64;
    let t = if (t as f64) > x { t - 1 } else { t };
    (t, x - t as f64)
}

/// Smooth value noise in [-1, 1] at `p_mm` with lattice cell `cell_mm`: hashed lattice
/// values blended trilinearly with smoothstep weights.
pub fn value_noise(seed: u64, p_mm: [f64; 3], cell_mm: f64) -> f64 {
    let inv = 1.0 / cell_mm;
    let mut base = [0i64; 3];
    let mut w = [0.0f64; 3];
    for a in 0..3 {
        let (fl, t) = floor_frac(p_mm[a] * inv);
        base[a] = fl;
        w[a] = t * t * (3.0 - 2.0 * t);
    }
    let lattice = |dx: i64, dy: i64, dz: i64| {
        let key = ((base[0] + dx) as u64).wrapping_mul(0x8da6_b343)
            ^ ((base[1] + dy) as u64).wrapping_mul(0xd816_3841_0000_0001)
            ^ ((base[2] + dz) as u64).wrapping_mul(0xcb1a_b31f_0000_0000_u64 | 0x9e37);
        uniform_pm1(seed, key)
    };
    let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
    let x00 = lerp(lattice(0, 0, 0), lattice(1, 0, 0), w[0]);
    let x10 = lerp(lattice(0, 1, 0), lattice(1, 1, 0), w[0]);
    let x01 = lerp(lattice(0, 0, 1), lattice(1, 0, 1), w[0]);
    let x11 = lerp(lattice(0, 1, 1), lattice(1, 1, 1), w[0]);
    lerp(lerp(x00, x10, w[1]), lerp(x01, x11, w[1]), w[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussianish_has_unit_variance_and_zero_mean() {
        let n = 200_000u64;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let g = gaussianish(stream_key(7), i);
            s += g;
            s2 += g * g;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }

    #[test]
    fn noise_depends_only_on_seed_and_counter() {
        let (k3, k4) = (stream_key(3), stream_key(4));
        assert_eq!(
            gaussianish(k3, 12345).to_bits(),
            gaussianish(k3, 12345).to_bits()
        );
        assert_ne!(
            gaussianish(k3, 12345).to_bits(),
            gaussianish(k4, 12345).to_bits()
        );
        let p = [1.3, -7.2, 55.0];
        assert_eq!(
            value_noise(1, p, 1.5).to_bits(),
            value_noise(1, p, 1.5).to_bits()
        );
    }

    #[test]
    fn floor_frac_matches_floor() {
        for x in [-2.5, -2.0, -1e-300, 0.0, 0.3, 1.0, 7.99, -7.99, 123456.5] {
            let (i, f) = floor_frac(x);
            assert_eq!(i as f64, x.floor());
            assert_eq!(f, x - x.floor());
        }
    }

    #[test]
    fn value_noise_is_bounded_and_continuous() {
        let mut prev = value_noise(9, [0.0, 0.3, -0.7], 1.5);
        for i in 1..2000 {
            let v = value_noise(9, [i as f64 * 0.01, 0.3, -0.7], 1.5);
            assert!((-1.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.05);
            prev = v;
        }
    }
}
