//! Finding the CT table, so that bone masks, previews and the both-sides check ignore it.

use super::threshold::window_bits;
use super::BitMask;
use crate::volume::Volume;

/// In-plane footprint (index `i + nx * j`) of a CT table: a connected region of the bone-bright
/// projection through all slices that spans most of the width but is only a few mm
/// thick. Flat and curved tables both qualify; the two legs never do. Assumes roughly
/// axial slices (i along patient left-right).
pub fn table_footprint(volume: &Volume<i16>, bone_hu: i16) -> Vec<bool> {
    let [nx, ny, _] = volume.dims;
    let plane = nx * ny;
    // Projection as bits: word w of a slice covers in-plane indices 64w…64w + 63.
    let mut bits = vec![0u64; plane.div_ceil(64)];
    if bone_hu < i16::MAX {
        let above = bone_hu + 1;
        let span = i16::MAX.wrapping_sub(above) as u16;
        for slice in volume.data.chunks_exact(plane.max(1)) {
            for (w, chunk) in bits.iter_mut().zip(slice.chunks(64)) {
                *w |= window_bits(chunk, above, span);
            }
        }
    }
    let projected: Vec<bool> = (0..plane)
        .map(|c| bits[c / 64] >> (c % 64) & 1 == 1)
        .collect();
    footprint_of_projection(&projected, volume.dims, volume.spacing_mm)
}

/// [`table_footprint`] from a mask of the voxels brighter than the bone level (the
/// projection is the OR of the mask's slices), for callers that have that mask already.
pub fn table_footprint_of_mask(above: &BitMask, spacing_mm: [f64; 3]) -> Vec<bool> {
    let [nx, ny, nz] = above.dims();
    let plane = nx * ny;
    let mut projection = BitMask::new([nx, ny, 1]);
    for k in 0..nz {
        for c in (0..plane).step_by(64) {
            let bits = above.bits_at(k * plane + c, (plane - c).min(64));
            if bits != 0 {
                projection.or_bits(c, bits);
            }
        }
    }
    let projected: Vec<bool> = (0..plane).map(|c| projection.get(c)).collect();
    footprint_of_projection(&projected, above.dims(), spacing_mm)
}

/// The table's footprint among the 4-connected regions of `projected` (in-plane index
/// `i + nx * j`) on a grid of `dims` voxels of `spacing_mm`.
pub fn footprint_of_projection(
    projected: &[bool],
    dims: [usize; 3],
    spacing_mm: [f64; 3],
) -> Vec<bool> {
    let [nx, ny, _] = dims;
    let mut table = vec![false; nx * ny];
    let mut seen = vec![false; nx * ny];
    let mut stack = Vec::new();
    let mut members = Vec::new();
    for start in 0..nx * ny {
        if !projected[start] || seen[start] {
            continue;
        }
        // Flood-fill one 4-connected component of the projection.
        members.clear();
        seen[start] = true;
        stack.push(start);
        while let Some(p) = stack.pop() {
            members.push(p);
            let (i, j) = (p % nx, p / nx);
            let mut visit = |q: usize| {
                if projected[q] && !seen[q] {
                    seen[q] = true;
                    stack.push(q);
                }
            };
            if i > 0 {
                visit(p - 1);
            }
            if i + 1 < nx {
                visit(p + 1);
            }
            if j > 0 {
                visit(p - nx);
            }
            if j + 1 < ny {
                visit(p + nx);
            }
        }
        let mut columns = vec![false; nx];
        for &p in &members {
            columns[p % nx] = true;
        }
        let width = columns.iter().filter(|c| **c).count();
        let thickness_mm = members.len() as f64 / width.max(1) as f64 * spacing_mm[1];
        if width as f64 > 0.6 * nx as f64 && thickness_mm <= 12.0 {
            for &p in &members {
                table[p] = true;
            }
        }
    }
    table
}

/// A copy of `volume` with every voxel in the table's footprint set to `air_hu`, or
/// `None` when no table was found.
pub fn without_table(volume: &Volume<i16>, bone_hu: i16, air_hu: i16) -> Option<Volume<i16>> {
    let table = table_footprint(volume, bone_hu);
    if !table.iter().any(|t| *t) {
        return None;
    }
    let plane = volume.dims[0] * volume.dims[1];
    let mut out = volume.clone();
    for slice in out.data.chunks_exact_mut(plane) {
        for (v, t) in slice.iter_mut().zip(&table) {
            if *t {
                *v = air_hu;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Two "legs" (columns of bone) above a thin slab spanning the whole width.
    fn legs_on_a_table() -> Volume<i16> {
        let mut v = Volume::filled([40, 30, 4], [1.0; 3], [0.0; 3], -1000i16);
        for k in 0..4 {
            for j in 5..12 {
                for i in (5..12).chain(28..35) {
                    let n = v.index(i, j, k);
                    v.data[n] = 700;
                }
            }
            for i in 0..40 {
                for j in 25..28 {
                    let n = v.index(i, j, k);
                    v.data[n] = 300;
                }
            }
        }
        v
    }

    #[test]
    fn a_thin_full_width_slab_is_the_table_and_the_legs_are_not() {
        let v = legs_on_a_table();
        let t = table_footprint(&v, 200);
        assert!(t[20 + 40 * 26], "slab voxel should be table");
        assert!(!t[8 + 40 * 8], "leg voxel must not be table");
        let cleaned = without_table(&v, 200, -1000).unwrap();
        assert_eq!(cleaned.get(20, 26, 2), Some(-1000));
        assert_eq!(cleaned.get(8, 8, 2), Some(700));
    }

    #[test]
    fn no_table_gives_none() {
        let mut v = legs_on_a_table();
        for x in v.data.iter_mut().filter(|x| **x == 300) {
            *x = -1000;
        }
        assert!(without_table(&v, 200, -1000).is_none());
    }
}
