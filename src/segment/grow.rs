//! Region growing from a seed voxel, and the scanline flood fill it is built on.

use super::{seed_index, BitMask, Connectivity, SegmentError};
use crate::volume::Volume;

/// Parameters of [`grow`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GrowParams {
    /// Lowest HU joined. Default 226.
    pub lower_hu: i16,
    /// Highest HU joined. Default 3071.
    pub upper_hu: i16,
    /// Neighbourhood. Default 6-connected, so a one-voxel joint gap stops the growth.
    pub connectivity: Connectivity,
    /// Only voxels within this distance (mm, voxel-centre to seed-centre) join. Default none.
    pub max_radius_mm: Option<f64>,
}

impl Default for GrowParams {
    fn default() -> Self {
        GrowParams {
            lower_hu: super::threshold::BONE_LOWER_HU,
            upper_hu: super::threshold::BONE_UPPER_HU,
            connectivity: Connectivity::Six,
            max_radius_mm: None,
        }
    }
}

/// The voxels connected to `seed` (voxel indices i, j, k) whose HU is in range.
pub fn grow(
    ct: &Volume<i16>,
    seed: [i64; 3],
    params: &GrowParams,
) -> Result<BitMask, SegmentError> {
    grow_within(ct, seed, params, None)
}

/// [`grow`] restricted to the voxels of `within` (e.g. the current bone mask).
pub fn grow_within(
    ct: &Volume<i16>,
    seed: [i64; 3],
    params: &GrowParams,
    within: Option<&BitMask>,
) -> Result<BitMask, SegmentError> {
    let range = super::threshold::ThresholdParams {
        lower_hu: params.lower_hu,
        upper_hu: params.upper_hu,
    };
    range.validate()?;
    if let Some(w) = within {
        if w.dims() != ct.dims {
            return Err(SegmentError::DimsMismatch {
                what: "restriction mask",
                expected: ct.dims,
                got: w.dims(),
            });
        }
    }
    if let Some(r) = params.max_radius_mm {
        if !(r.is_finite() && r >= 0.0) {
            return Err(SegmentError::InvalidParameter(format!(
                "the maximum growing radius must be a non-negative number of mm, got {r}"
            )));
        }
    }
    let s = seed_index(seed, ct.dims)?;
    let hu = ct.data[s];
    if !range.contains(hu) {
        return Err(SegmentError::SeedOutsideRange {
            seed,
            hu,
            lower_hu: params.lower_hu,
            upper_hu: params.upper_hu,
        });
    }
    if let Some(w) = within {
        if !w.get(s) {
            return Err(SegmentError::SeedOutsideMask { seed });
        }
    }
    let [nx, ny, _] = ct.dims;
    let sp = ct.spacing_mm;
    let r2 = params.max_radius_mm.map(|r| r * r);
    let (lo, span) = (
        params.lower_hu,
        params.upper_hu.wrapping_sub(params.lower_hu) as u16,
    );
    let inside = |n: usize| -> bool {
        if ct.data[n].wrapping_sub(lo) as u16 > span {
            return false;
        }
        if let Some(w) = within {
            if !w.get(n) {
                return false;
            }
        }
        if let Some(r2) = r2 {
            let (i, j, k) = (n % nx, (n / nx) % ny, n / (nx * ny));
            let d = [
                (i as f64 - seed[0] as f64) * sp[0],
                (j as f64 - seed[1] as f64) * sp[1],
                (k as f64 - seed[2] as f64) * sp[2],
            ];
            if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > r2 {
                return false;
            }
        }
        true
    };
    Ok(flood(ct.dims, inside, &[s], params.connectivity))
}

/// Scanline flood fill: all voxels reachable from `seeds` through voxels with `inside`
/// true. Seeds that are not inside are ignored. Fills whole runs along `i`, then scans
/// the neighbour rows (±j, ±k; for 26-connectivity also the diagonal rows, one voxel
/// wider) for runs to visit next.
pub fn flood(
    dims: [usize; 3],
    inside: impl Fn(usize) -> bool,
    seeds: &[usize],
    connectivity: Connectivity,
) -> BitMask {
    let [nx, ny, nz] = dims;
    let mut out = BitMask::new(dims);
    let mut stack: Vec<usize> = seeds.iter().rev().copied().collect();
    let rows: &[(i64, i64)] = match connectivity {
        Connectivity::Six => &[(-1, 0), (1, 0), (0, -1), (0, 1)],
        Connectivity::TwentySix => &[
            (-1, -1),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ],
    };
    let widen = usize::from(connectivity == Connectivity::TwentySix);
    while let Some(p) = stack.pop() {
        if out.get(p) || !inside(p) {
            continue;
        }
        let row = p - p % nx;
        let (j, k) = ((p / nx) % ny, p / (nx * ny));
        // Extend the run left and right.
        let mut a = p;
        while a > row && !out.get(a - 1) && inside(a - 1) {
            a -= 1;
        }
        let mut b = p + 1;
        while b < row + nx && !out.get(b) && inside(b) {
            b += 1;
        }
        for n in a..b {
            out.set(n, true);
        }
        let (ia, ib) = ((a - row).saturating_sub(widen), (b - row + widen).min(nx));
        for &(dj, dk) in rows {
            let (jj, kk) = (j as i64 + dj, k as i64 + dk);
            if jj < 0 || kk < 0 || jj >= ny as i64 || kk >= nz as i64 {
                continue;
            }
            let base = nx * (jj as usize + ny * kk as usize);
            let mut was_in = false;
            for i in ia..ib {
                let q = base + i;
                let now_in = !out.get(q) && inside(q);
                if now_in && !was_in {
                    stack.push(q);
                }
                was_in = now_in;
            }
        }
    }
    out
}
