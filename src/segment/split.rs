//! Divide one mask into parts: seeded watershed, or a cut plane.
//!
//! # Watershed
//! Marker-based watershed on the negated distance transform: the height of a mask voxel
//! is minus its distance (mm) to the nearest background voxel, so bone bodies are basins
//! and narrow joints or partial-volume bridges are ridges. Each seed floods its basin in
//! order of height from a priority queue (`BinaryHeap` keyed by (height, insertion
//! counter), so ties go first-in first-out — deterministic and fair on plateaus). Every
//! voxel of the seeds' component goes to exactly one seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::components::label_components;
use super::distance::squared_distance_mm2;
use super::{offsets, seed_index, BitMask, Connectivity, SegmentError};
use crate::volume::Volume;
use nalgebra::{Point3, Vector3, Vector4};

/// Parameters of [`split_by_seeds`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SplitParams {
    /// Neighbourhood of the flooding and of the component check. Default 6.
    pub connectivity: Connectivity,
    /// Voxel spacing in mm used for the distance transform. Default 1 × 1 × 1.
    pub spacing_mm: [f64; 3],
}

impl Default for SplitParams {
    fn default() -> Self {
        SplitParams {
            connectivity: Connectivity::Six,
            spacing_mm: [1.0; 3],
        }
    }
}

/// Split `mask` between `seeds` (voxel i, j, k). Returns one mask per seed; voxels of
/// other components than the seeds' are in none of them.
///
/// Errors: fewer than two seeds, a seed outside the grid or the mask, two seeds on the
/// same voxel, or seeds in different components (nothing to split).
pub fn split_by_seeds(
    mask: &BitMask,
    seeds: &[[i64; 3]],
    params: &SplitParams,
) -> Result<Vec<BitMask>, SegmentError> {
    if seeds.len() < 2 {
        return Err(SegmentError::TooFewSeeds(seeds.len()));
    }
    let dims = mask.dims();
    let mut idx = Vec::with_capacity(seeds.len());
    for &s in seeds {
        let n = seed_index(s, dims)?;
        if !mask.get(n) {
            return Err(SegmentError::SeedOutsideMask { seed: s });
        }
        if idx.contains(&n) {
            return Err(SegmentError::SeedsCoincide { seed: s });
        }
        idx.push(n);
    }
    let comps = label_components(mask, params.connectivity);
    let c0 = comps.label_of(idx[0]);
    if idx.iter().any(|&n| comps.label_of(n) != c0) {
        return Err(SegmentError::SeedsInDifferentComponents);
    }
    // Work on the component's bounding box only.
    let bx = comps.bboxes[c0 as usize - 1].grown([1, 1, 1], dims);
    let region = comps.mask_of(c0).crop(&bx);
    let local = |n: usize| {
        let p = mask.ijk(n);
        region.index(p[0] - bx.min[0], p[1] - bx.min[1], p[2] - bx.min[2])
    };
    let d2 = squared_distance_mm2(&region, params.spacing_mm, false);
    let markers: Vec<(usize, u32)> = idx
        .iter()
        .enumerate()
        .map(|(s, &n)| (local(n), s as u32))
        .collect();
    let owner = watershed(&region, &d2, &markers, params.connectivity);
    let mut parts = vec![BitMask::new(dims); seeds.len()];
    let rd = region.dims();
    for n in region.iter() {
        let o = owner[n];
        if o != u32::MAX {
            let (i, j, k) = (n % rd[0], (n / rd[0]) % rd[1], n / (rd[0] * rd[1]));
            let g = mask.index(i + bx.min[0], j + bx.min[1], k + bx.min[2]);
            parts[o as usize].set(g, true);
        }
    }
    Ok(parts)
}

/// Seeded watershed over the set voxels of `region` with heights `-sqrt(d2)`, from
/// `markers` (voxel, owner); returns the owner of each voxel (`u32::MAX` = unreached or
/// background). Markers are pushed in the given order.
pub(crate) fn watershed(
    region: &BitMask,
    d2: &[f32],
    markers: &[(usize, u32)],
    connectivity: Connectivity,
) -> Vec<u32> {
    let dims = region.dims();
    let [nx, ny, nz] = dims;
    let mut owner = vec![u32::MAX; region.len()];
    // Higher distance = lower height = earlier. f32 bits of a non-negative value order
    // like the value, so the key is the inverted bit pattern.
    let key = |n: usize| u32::MAX - d2[n].to_bits();
    let mut heap: BinaryHeap<Reverse<(u32, u64, u32)>> = BinaryHeap::new();
    let mut counter = 0u64;
    for &(n, s) in markers {
        owner[n] = s;
        heap.push(Reverse((key(n), counter, n as u32)));
        counter += 1;
    }
    let offs = offsets(connectivity);
    while let Some(Reverse((_, _, n))) = heap.pop() {
        let n = n as usize;
        let o = owner[n];
        let (i, j, k) = (
            (n % nx) as i64,
            ((n / nx) % ny) as i64,
            (n / (nx * ny)) as i64,
        );
        for d in &offs {
            let (a, b, c) = (i + d[0], j + d[1], k + d[2]);
            if a < 0 || b < 0 || c < 0 || a >= nx as i64 || b >= ny as i64 || c >= nz as i64 {
                continue;
            }
            let q = a as usize + nx * (b as usize + ny * c as usize);
            if owner[q] == u32::MAX && region.get(q) {
                owner[q] = o;
                // A voxel is never lower than the one it was reached from (no leaking
                // back down into another basin through a ridge).
                let kq = key(q).max(key(n));
                heap.push(Reverse((kq, counter, q as u32)));
                counter += 1;
            }
        }
    }
    owner
}

/// Split `mask` by the plane through `point` with normal `normal`, both in voxel
/// coordinates (i, j, k). Returns (front, back): front holds voxels whose centre `c`
/// has `(c − point) · normal ≥ 0` — a centre exactly on the plane goes to the front.
pub fn split_by_plane(
    mask: &BitMask,
    point: [f64; 3],
    normal: [f64; 3],
) -> Result<(BitMask, BitMask), SegmentError> {
    let len = (normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]).sqrt();
    if !(len.is_finite() && len > 0.0) || point.iter().any(|v| !v.is_finite()) {
        return Err(SegmentError::InvalidParameter(
            "the cut plane needs a finite point and a non-zero normal".into(),
        ));
    }
    let dims = mask.dims();
    let mut front = BitMask::new(dims);
    let mut back = BitMask::new(dims);
    for n in mask.iter() {
        let p = mask.ijk(n);
        let s: f64 = (0..3).map(|a| (p[a] as f64 - point[a]) * normal[a]).sum();
        if s >= 0.0 {
            front.set(n, true);
        } else {
            back.set(n, true);
        }
    }
    Ok((front, back))
}

/// [`split_by_plane`] with the plane given in patient mm (LPS) on the grid of `geometry`.
pub fn split_by_plane_mm<T>(
    mask: &BitMask,
    geometry: &Volume<T>,
    point_mm: [f64; 3],
    normal_mm: [f64; 3],
) -> Result<(BitMask, BitMask), SegmentError> {
    let voxel_from_patient = geometry
        .patient_from_voxel
        .try_inverse()
        .ok_or_else(|| SegmentError::InvalidParameter("the volume's affine is singular".into()))?;
    let p = voxel_from_patient.transform_point(&Point3::from(point_mm));
    // A plane n·x = c maps to (Aᵀ n)·v = c' under x = A v + t.
    let a = geometry.patient_from_voxel;
    let n4 = a.transpose() * Vector4::new(normal_mm[0], normal_mm[1], normal_mm[2], 0.0);
    let n = Vector3::new(n4[0], n4[1], n4[2]);
    split_by_plane(mask, [p.x, p.y, p.z], [n.x, n.y, n.z])
}
