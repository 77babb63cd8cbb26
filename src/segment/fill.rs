//! Fill enclosed cavities: background that cannot be reached from the grid border.

use super::grow::flood;
use super::{BitMask, Connectivity};

/// `mask` with every enclosed cavity filled. The background is flooded from every
/// border voxel through unset voxels with `background_connectivity` (use 6 — the
/// default complement of a 26-connected object — so a cavity that touches the outside
/// only through an edge or corner counts as enclosed; use 26 to fill only fully
/// sealed cavities of a 6-connected object). What the flood does not reach is set.
pub fn fill_cavities(mask: &BitMask, background_connectivity: Connectivity) -> BitMask {
    let [nx, ny, nz] = mask.dims();
    let mut seeds = Vec::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let border =
                    i == 0 || j == 0 || k == 0 || i + 1 == nx || j + 1 == ny || k + 1 == nz;
                if border {
                    let n = mask.index(i, j, k);
                    if !mask.get(n) {
                        seeds.push(n);
                    }
                } else if j != 0 && j + 1 != ny && k != 0 && k + 1 != nz {
                    // Interior of a row: skip to its last voxel.
                    if i == 1 && nx > 2 {
                        let n = mask.index(nx - 1, j, k);
                        if !mask.get(n) {
                            seeds.push(n);
                        }
                        break;
                    }
                }
            }
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    let outside = flood(
        mask.dims(),
        |n| !mask.get(n),
        &seeds,
        background_connectivity,
    );
    outside.not()
}
