//! `f64` minimum and maximum as one compare and one select, for the hot loops of the
//! print kernels.
//!
//! Why: on wasm32 `f64::min` / `f64::max` compile to calls to libm's `fmin` / `fmax`
//! (WebAssembly's `f64.min` treats NaN and ±0 differently from `minNum`), while on x86-64
//! they are a `minsd` / `maxsd` and a NaN select; in the inset and scan-line loops the
//! calls cost a share of the browser's time. On wasm32 these functions are that compare
//! and select written out: for every input (NaN and ±0 included) exactly what
//! `f64::min` / `f64::max` give on x86-64 — the second argument when it is strictly
//! smaller (larger) or the first is NaN, else the first — so native and wasm agree bit
//! for bit even on the ±0 ties where libm's `fmin` keeps the other zero. Natively they
//! are `f64::min` / `f64::max` (the written-out form compiles to branches there).

/// `b` when `b < a` or `a` is NaN, else `a`: x86-64's `f64::min`, written out.
#[inline(always)]
fn select_min(a: f64, b: f64) -> f64 {
    if b < a || a.is_nan() {
        b
    } else {
        a
    }
}

/// `b` when `b > a` or `a` is NaN, else `a`: x86-64's `f64::max`, written out.
#[inline(always)]
fn select_max(a: f64, b: f64) -> f64 {
    if b > a || a.is_nan() {
        b
    } else {
        a
    }
}

/// The smaller of `a` and `b` (see the module doc for NaN and ±0).
#[inline(always)]
pub(crate) fn min(a: f64, b: f64) -> f64 {
    if cfg!(target_arch = "wasm32") {
        select_min(a, b)
    } else {
        a.min(b)
    }
}

/// The larger of `a` and `b` (see the module doc for NaN and ±0).
#[inline(always)]
pub(crate) fn max(a: f64, b: f64) -> f64 {
    if cfg!(target_arch = "wasm32") {
        select_max(a, b)
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written-out forms (what wasm runs) against this target's `f64::min` / `max`,
    /// bit for bit; on x86-64 that includes the ±0 ties and NaNs.
    #[test]
    fn the_written_out_min_and_max_are_the_native_ones_bit_for_bit() {
        let values = [
            -2.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for &a in &values {
            for &b in &values {
                let (m, x) = (select_min(a, b), select_max(a, b));
                if cfg!(target_arch = "x86_64") {
                    assert_eq!(m.to_bits(), a.min(b).to_bits(), "min {a} {b}");
                    assert_eq!(x.to_bits(), a.max(b).to_bits(), "max {a} {b}");
                }
                // Wherever it runs: the smaller (larger) value, NaN only for two NaNs,
                // the first argument on a tie.
                if !(a.is_nan() && b.is_nan()) {
                    assert!(!m.is_nan() && !x.is_nan());
                    if !a.is_nan() && !b.is_nan() {
                        assert!(m <= a && m <= b && x >= a && x >= b);
                        if a == b {
                            assert_eq!((m.to_bits(), x.to_bits()), (a.to_bits(), a.to_bits()));
                        }
                    }
                }
                if cfg!(target_arch = "x86_64") {
                    assert_eq!(min(a, b).to_bits(), m.to_bits());
                    assert_eq!(max(a, b).to_bits(), x.to_bits());
                }
            }
        }
    }
}
