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
    // Unsigned trick: lo <= v <= hi  ⇔  (v - lo) as u16 <= (hi - lo) as u16.
    let span = hi.wrapping_sub(lo) as u16;
    let words = mask.words_mut();
    let full = ct.data.len() / 64;
    // Whole words: a fixed-length inner loop the compiler unrolls and vectorises.
    for (word, chunk) in words.iter_mut().zip(ct.data.chunks_exact(64)) {
        let mut bits = 0u64;
        for (b, &v) in chunk.iter().enumerate() {
            bits |= ((v.wrapping_sub(lo) as u16 <= span) as u64) << b;
        }
        *word = bits;
    }
    let tail = &ct.data[full * 64..];
    if !tail.is_empty() {
        let mut bits = 0u64;
        for (b, &v) in tail.iter().enumerate() {
            bits |= ((v.wrapping_sub(lo) as u16 <= span) as u64) << b;
        }
        words[full] = bits;
    }
    Ok(mask)
}
