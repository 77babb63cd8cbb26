//! Bone-window threshold: HU range → mask.

use super::{BitMask, SegmentError};
use crate::volume::Volume;

/// Lower bound of the bone window in HU (Mimics' "Bone (CT)" preset).
pub const BONE_LOWER_HU: i16 = 226;
/// Upper bound of the bone window in HU.
pub const BONE_UPPER_HU: i16 = 3071;

/// HU window, both bounds inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThresholdParams {
    /// Lowest HU kept. Default 226.
    pub lower_hu: i16,
    /// Highest HU kept. Default 3071.
    pub upper_hu: i16,
}

impl Default for ThresholdParams {
    fn default() -> Self {
        ThresholdParams {
            lower_hu: BONE_LOWER_HU,
            upper_hu: BONE_UPPER_HU,
        }
    }
}

impl ThresholdParams {
    /// Error when the range is inverted.
    pub fn validate(&self) -> Result<(), SegmentError> {
        if self.lower_hu > self.upper_hu {
            return Err(SegmentError::InvertedRange {
                lower_hu: self.lower_hu,
                upper_hu: self.upper_hu,
            });
        }
        Ok(())
    }

    /// Is `hu` inside the window?
    #[inline]
    pub fn contains(&self, hu: i16) -> bool {
        hu >= self.lower_hu && hu <= self.upper_hu
    }
}

/// Voxels whose HU lies in `[lower_hu, upper_hu]`.
pub fn threshold(ct: &Volume<i16>, params: &ThresholdParams) -> Result<BitMask, SegmentError> {
    params.validate()?;
    let mut mask = BitMask::new(ct.dims);
    let (lo, hi) = (params.lower_hu, params.upper_hu);
    let span = hi.wrapping_sub(lo) as u16;
    for (word, chunk) in mask.words_mut().iter_mut().zip(ct.data.chunks(64)) {
        *word = window_bits(chunk, lo, span);
    }
    Ok(mask)
}

/// Bit `b` set when `lo ≤ values[b] ≤ lo + span` (HU), for up to 64 values.
///
/// Unsigned trick: `lo ≤ v ≤ hi ⇔ (v − lo) as u16 ≤ (hi − lo) as u16`. The tests go to
/// 0/1 bytes first (a loop the compiler vectorises), then each 8 bytes become 8 bits by
/// one multiplication: byte `i` (0 or 1) times `0x0102040810204080` lands on bit `56 + i`
/// with no carries between them.
#[inline]
pub fn window_bits(values: &[i16], lo: i16, span: u16) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &v) in flags.iter_mut().zip(values) {
        *f = (v.wrapping_sub(lo) as u16 <= span) as u8;
    }
    let mut bits = 0u64;
    for (g, group) in flags.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(group);
        bits |= (u64::from_le_bytes(b).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * g);
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bits_equal_a_test_per_value() {
        let mut s = 0x1234_5678_9abc_def1u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..2000 {
            let len = 1 + (r() % 64) as usize;
            let values: Vec<i16> = (0..len).map(|_| (r() % 9000) as i16 - 4500).collect();
            let (a, b) = ((r() % 9000) as i16 - 4500, (r() % 9000) as i16 - 4500);
            let (lo, hi) = (a.min(b), a.max(b));
            let want = values.iter().enumerate().fold(0u64, |w, (i, &v)| {
                w | (((lo..=hi).contains(&v) as u64) << i)
            });
            let got = window_bits(&values, lo, hi.wrapping_sub(lo) as u16);
            assert_eq!(got, want, "case {case}");
        }
        // The whole i16 range as a window.
        assert_eq!(
            window_bits(&[i16::MIN, 0, i16::MAX], i16::MIN, u16::MAX),
            0b111
        );
    }
}
