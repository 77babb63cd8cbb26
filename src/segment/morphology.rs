//! Dilate, erode, open and close a mask by a radius in mm.
//!
//! The structuring element is a ball of `radius_mm` in patient millimetres, i.e. an
//! ellipsoid in voxels on anisotropic grids. Each operation works on the mask's bounding
//! box grown by the radius: a small ball (a few hundred rows of voxels; 1 mm on CT) is
//! applied 64 voxels at a time ([`super::ball`]); a larger one by one exact Euclidean
//! distance transform ([`super::distance`]), whose cost does not grow with the radius.
//! Both give the same voxels:
//! - dilate: a voxel is set when some set voxel is within `radius_mm` (≤);
//! - erode: a set voxel stays when no unset voxel is within `radius_mm` (≤). Voxels
//!   outside the grid count as neither, so a mask is not eroded from the grid border.

use super::distance::squared_distance_mm2;
use super::{BitMask, SegmentError, VoxelBox};

fn check(radius_mm: f64) -> Result<(), SegmentError> {
    if radius_mm.is_finite() && radius_mm >= 0.0 {
        Ok(())
    } else {
        Err(SegmentError::InvalidParameter(format!(
            "the morphology radius must be a non-negative number of mm, got {radius_mm}"
        )))
    }
}

fn margin(radius_mm: f64, spacing_mm: [f64; 3]) -> [usize; 3] {
    [0, 1, 2].map(|a| (radius_mm / spacing_mm[a]).floor() as usize + 1)
}

/// Mask grown by `radius_mm`.
pub fn dilate(
    mask: &BitMask,
    radius_mm: f64,
    spacing_mm: [f64; 3],
) -> Result<BitMask, SegmentError> {
    check(radius_mm)?;
    let Some(bb) = mask.bbox() else {
        return Ok(mask.clone());
    };
    let bx = bb.grown(margin(radius_mm, spacing_mm), mask.dims());
    let sub = mask.crop(&bx);
    // Dilating the mask is eroding its complement (outside the grid counts as neither).
    let grown = match super::ball::erode(&sub.not(), radius_mm, spacing_mm) {
        Some(eroded) => eroded.not(),
        None => {
            let d = squared_distance_mm2(&sub, spacing_mm, true);
            let r2 = (radius_mm * radius_mm) as f32 * (1.0 + 1e-6);
            BitMask::from_fn(sub.dims(), |n| d[n] <= r2)
        }
    };
    let mut out = mask.clone();
    out.paste(&grown, &bx);
    Ok(out)
}

/// Mask shrunk by `radius_mm`.
pub fn erode(
    mask: &BitMask,
    radius_mm: f64,
    spacing_mm: [f64; 3],
) -> Result<BitMask, SegmentError> {
    check(radius_mm)?;
    let Some(bb) = mask.bbox() else {
        return Ok(mask.clone());
    };
    let bx: VoxelBox = bb.grown([1, 1, 1], mask.dims());
    let sub = mask.crop(&bx);
    let kept = match super::ball::erode(&sub, radius_mm, spacing_mm) {
        Some(eroded) => eroded,
        None => {
            let d = squared_distance_mm2(&sub, spacing_mm, false);
            let r2 = (radius_mm * radius_mm) as f32 * (1.0 + 1e-6);
            BitMask::from_fn(sub.dims(), |n| sub.get(n) && d[n] > r2)
        }
    };
    let mut out = mask.clone();
    out.paste(&kept, &bx);
    Ok(out)
}

/// Erode then dilate: removes bridges and spurs thinner than about `2 * radius_mm`.
pub fn open(mask: &BitMask, radius_mm: f64, spacing_mm: [f64; 3]) -> Result<BitMask, SegmentError> {
    dilate(&erode(mask, radius_mm, spacing_mm)?, radius_mm, spacing_mm)
}

/// Dilate then erode: closes gaps and notches narrower than about `2 * radius_mm`.
pub fn close(
    mask: &BitMask,
    radius_mm: f64,
    spacing_mm: [f64; 3],
) -> Result<BitMask, SegmentError> {
    erode(&dilate(mask, radius_mm, spacing_mm)?, radius_mm, spacing_mm)
}
