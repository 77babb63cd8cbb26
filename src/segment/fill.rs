//! Fill enclosed cavities: background that cannot be reached from the grid border.

use super::components::label_components;
use super::{BitMask, Connectivity};

/// `mask` with every enclosed cavity filled. The background is flooded from every
/// border voxel through unset voxels with `background_connectivity` (use 6 — the
/// default complement of a 26-connected object — so a cavity that touches the outside
/// only through an edge or corner counts as enclosed; use 26 to fill only fully
/// sealed cavities of a 6-connected object). What the flood does not reach is set.
///
/// Computed as the background's connected components ([`label_components`], by runs):
/// the flood from the border reaches exactly the components that hold a border voxel,
/// and the rest are the cavities — the same voxels as a flood, without a visit per voxel.
pub fn fill_cavities(mask: &BitMask, background_connectivity: Connectivity) -> BitMask {
    let [nx, ny, nz] = mask.dims();
    let background = label_components(&mask.not(), background_connectivity);
    let mut reaches_border = vec![false; background.count() + 1];
    for r in 0..ny * nz {
        let (j, k) = (r % ny, r / ny);
        let border_row = j == 0 || k == 0 || j + 1 == ny || k + 1 == nz;
        let runs = &background.runs
            [background.row_first[r] as usize..background.row_first[r + 1] as usize];
        for run in runs {
            if border_row || run.start == r * nx || run.end == (r + 1) * nx {
                reaches_border[run.label as usize] = true;
            }
        }
    }
    let mut out = mask.clone();
    for run in &background.runs {
        if !reaches_border[run.label as usize] {
            out.set_range(run.start, run.end);
        }
    }
    out
}

/// Fill the holes of a bone's cross-section where the field of view cuts it.
///
/// `mask` is a crop at `bx` of a volume with `dims` voxels. On every crop face that lies
/// on the volume's boundary, the face slice's 2-D holes (background 4-connected within
/// the slice, not reaching the slice's edge) are filled when the hole is no larger than
/// the bone's own cross-section in that slice. A long bone cut by the field of view is
/// a cortical ring there with its medullary cavity open to the volume's edge; capping
/// the ring turns the cavity into an enclosed one that [`fill_cavities`] then fills,
/// so the part is a solid bone like the rest. The size rule (a unit-free area ratio,
/// the same on any voxel size) keeps large enclosed spaces open: a skull cut at the
/// skull base rings the brain with far less bone than the hole it encloses.
/// Returns the number of voxels set.
pub fn fill_fov_holes(mask: &mut BitMask, bx: &super::VoxelBox, dims: [usize; 3]) -> usize {
    let bd = mask.dims();
    let mut filled = 0;
    for axis in 0..3 {
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let mut sides = Vec::new();
        if bx.min[axis] == 0 {
            sides.push(0);
        }
        if bx.max[axis] + 1 == dims[axis] && bd[axis] > 1 {
            sides.push(bd[axis] - 1);
        }
        for s in sides {
            let (nu, nv) = (bd[u], bd[v]);
            let at = |a: usize, b: usize| {
                let mut p = [0usize; 3];
                p[axis] = s;
                p[u] = a;
                p[v] = b;
                p[0] + bd[0] * (p[1] + bd[1] * p[2])
            };
            let slice: Vec<bool> = (0..nu * nv).map(|q| mask.get(at(q % nu, q / nu))).collect();
            let bone = slice.iter().filter(|&&b| b).count();
            if bone == 0 {
                continue;
            }
            // 2-D background components; 0 = unvisited.
            let mut comp = vec![0u32; nu * nv];
            let mut holes: Vec<Vec<usize>> = Vec::new();
            let mut stack = Vec::new();
            for start in 0..nu * nv {
                if slice[start] || comp[start] != 0 {
                    continue;
                }
                let id = holes.len() as u32 + 1;
                comp[start] = id;
                stack.push(start);
                let mut cells = Vec::new();
                let mut open = false;
                while let Some(q) = stack.pop() {
                    cells.push(q);
                    let (a, b) = (q % nu, q / nu);
                    open |= a == 0 || b == 0 || a + 1 == nu || b + 1 == nv;
                    let mut visit = |r: usize| {
                        if !slice[r] && comp[r] == 0 {
                            comp[r] = id;
                            stack.push(r);
                        }
                    };
                    if a > 0 {
                        visit(q - 1);
                    }
                    if a + 1 < nu {
                        visit(q + 1);
                    }
                    if b > 0 {
                        visit(q - nu);
                    }
                    if b + 1 < nv {
                        visit(q + nu);
                    }
                }
                holes.push(if open { Vec::new() } else { cells });
            }
            for cells in holes {
                if cells.is_empty() || cells.len() > bone {
                    continue;
                }
                for q in cells {
                    mask.set(at(q % nu, q / nu), true);
                    filled += 1;
                }
            }
        }
    }
    filled
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::segment::VoxelBox;

    /// A tube along k, open at k = 0 (the volume's edge), closed by a solid end at the
    /// top; wall from radius `r_in` to `r_out` (voxels) around (6, 6).
    fn tube(r_in: f64, r_out: f64) -> BitMask {
        BitMask::from_fn([13, 13, 8], |n| {
            let (i, j, k) = (n % 13, (n / 13) % 13, n / 169);
            let r = ((i as f64 - 6.0).powi(2) + (j as f64 - 6.0).powi(2)).sqrt();
            r <= r_out && (r >= r_in || k >= 6)
        })
    }

    fn whole(m: &BitMask) -> VoxelBox {
        VoxelBox {
            min: [0; 3],
            max: m.dims().map(|d| d - 1),
        }
    }

    /// The flood from every unset border voxel that `fill_cavities` used to run.
    fn fill_by_flood(mask: &BitMask, c: Connectivity) -> BitMask {
        let [nx, ny, nz] = mask.dims();
        let seeds: Vec<usize> = (0..mask.len())
            .filter(|&n| {
                let (i, j, k) = (n % nx, (n / nx) % ny, n / (nx * ny));
                let border =
                    i == 0 || j == 0 || k == 0 || i + 1 == nx || j + 1 == ny || k + 1 == nz;
                border && !mask.get(n)
            })
            .collect();
        crate::segment::grow::flood(mask.dims(), |n| !mask.get(n), &seeds, c).not()
    }

    #[test]
    fn filling_by_background_components_equals_the_flood_from_the_border() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..150 {
            let dims = [
                1 + (r() % 40) as usize,
                1 + (r() % 12) as usize,
                1 + (r() % 10) as usize,
            ];
            let density = 300 + r() % 500;
            let m = BitMask::from_fn(dims, |_| r() % 1000 < density);
            for c in [Connectivity::Six, Connectivity::TwentySix] {
                assert_eq!(
                    fill_cavities(&m, c),
                    fill_by_flood(&m, c),
                    "case {case}, dims {dims:?}, {c:?}"
                );
            }
        }
    }

    #[test]
    fn a_bone_cut_by_the_field_of_view_is_capped_and_then_filled_solid() {
        let mut m = tube(2.0, 5.0);
        let r_out_disc = BitMask::from_fn(m.dims(), |n| {
            let (i, j) = (n % 13, (n / 13) % 13);
            ((i as f64 - 6.0).powi(2) + (j as f64 - 6.0).powi(2)).sqrt() <= 5.0
        });
        // Without capping the cavity reaches the volume's edge and stays open.
        assert_ne!(fill_cavities(&m, Connectivity::Six), r_out_disc);
        let set = {
            let (bx, d) = (whole(&m), m.dims());
            fill_fov_holes(&mut m, &bx, d)
        };
        assert!(set > 0);
        assert_eq!(fill_cavities(&m, Connectivity::Six), r_out_disc);
    }

    #[test]
    fn a_hole_larger_than_the_bone_around_it_stays_open() {
        let mut m = tube(4.0, 5.0);
        let before = m.clone();
        assert_eq!(
            {
                let (bx, d) = (whole(&m), m.dims());
                fill_fov_holes(&mut m, &bx, d)
            },
            0
        );
        assert_eq!(m, before);
    }

    #[test]
    fn a_face_inside_the_volume_is_not_capped() {
        let mut m = tube(2.0, 5.0);
        let before = m.clone();
        // The crop sits one slice above the volume's bottom: its k = 0 face is interior.
        let bx = VoxelBox {
            min: [0, 0, 1],
            max: [12, 12, 8],
        };
        assert_eq!(fill_fov_holes(&mut m, &bx, [13, 13, 20]), 0);
        assert_eq!(m, before);
    }
}
