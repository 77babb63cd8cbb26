//! Marching cubes of one mask, with vertices at the sub-voxel HU iso-level.
//!
//! # Topology
//! The sign field is the **binary mask** (inside = mask voxel), padded by one layer of
//! background so surfaces close at the grid border. The 256-case table is generated
//! once at start-up from a single rule applied per cube face rather than typed in: on
//! each face (corners taken counter-clockwise seen from outside the cube) every maximal
//! cyclic run of inside corners yields one segment, from the edge entering the run to
//! the edge leaving it. On the ambiguous face (two diagonal inside corners) that rule
//! keeps the inside corners apart — the 6-connected reading of the mask, the same one
//! [`crate::segment::components`] uses by default. Because the rule depends only on the
//! face's own four corners, both cubes sharing a face cut it identically (with opposite
//! directions), so the surface is closed and consistently oriented, with no
//! ambiguity holes. Each cube's segments chain into closed loops, which are
//! triangulated: triangles as they are, quads along a diagonal whose ends do not share a
//! cube face, and longer loops as a fan around an added centre vertex (so every mesh
//! edge is shared by exactly two triangles).
//!
//! # Geometry
//! A vertex lies on a cube edge between a mask voxel (in) and a non-mask voxel (out),
//! at the point where linear interpolation of HU between the two centres meets
//! `iso_hu`: `t = (hu_in − iso) / (hu_in − hu_out)` from the inside voxel, when
//! `hu_in ≥ iso > hu_out` (kept within [0.01, 0.99]); otherwise (a mask edited by hand, a neighbouring bone, the
//! padding) at the mid-point `t = ½`. Interpolation moves vertices but never changes
//! the topology. Voxel coordinates map to patient mm through `patient_from_voxel`; a
//! mirroring affine flips the winding so triangles stay counter-clockwise seen from
//! outside ([`crate::mesh`]).
//!
//! # Output
//! Edge vertices are shared through per-slice-pair edge maps: no duplicates. Vertices
//! and triangles come in scan order of cubes (`i` fastest, then `j`, then `k`), so the
//! output is deterministic.

use std::sync::OnceLock;

use crate::mesh::Mesh;
use crate::segment::{BitMask, SegmentError};
use crate::volume::Volume;

/// Parameters of [`mask_surface`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct McParams {
    /// HU level where vertices are placed along boundary edges. Default 226 HU (the bone
    /// threshold). Use the half-way level between the tissues (≈ 720 HU between soft
    /// tissue and cortex) for an unbiased bone volume.
    pub iso_hu: f64,
}

impl Default for McParams {
    fn default() -> Self {
        McParams { iso_hu: 226.0 }
    }
}

/// Vertices stay this far (in edge lengths) from voxel centres, so that no two vertices
/// coincide and no triangle collapses when a voxel's HU equals the iso-level exactly.
const T_MIN: f64 = 0.01;

/// Corner `c` of a cube has offset (c & 1, c >> 1 & 1, c >> 2 & 1).
const EDGES: [(u8, u8); 12] = [
    (0, 1),
    (2, 3),
    (4, 5),
    (6, 7), // along i
    (0, 2),
    (1, 3),
    (4, 6),
    (5, 7), // along j
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7), // along k
];

fn edge_id(a: u8, b: u8) -> u8 {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    EDGES
        .iter()
        .position(|&e| e == (a, b))
        .expect("cube corners differ in one bit") as u8
}

/// Per case: loops of edge ids, each counter-clockwise seen from outside the solid.
struct Table {
    loops: Vec<Vec<Vec<u8>>>,
}

fn corner_pos(c: u8) -> [i32; 3] {
    [(c & 1) as i32, (c >> 1 & 1) as i32, (c >> 2 & 1) as i32]
}

/// The 6 faces, corners counter-clockwise seen from outside the cube.
fn faces() -> Vec<[u8; 4]> {
    let mut out = Vec::new();
    for axis in 0..3 {
        for side in 0..2u8 {
            let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
            let at = |a: u8, b: u8| -> u8 { (side << axis) | (a << u) | (b << v) };
            let mut q = [at(0, 0), at(1, 0), at(1, 1), at(0, 1)];
            // Orientation: (q1 − q0) × (q2 − q0) must point along the outward normal.
            let p: Vec<[i32; 3]> = q.iter().map(|&c| corner_pos(c)).collect();
            let d1 = [p[1][0] - p[0][0], p[1][1] - p[0][1], p[1][2] - p[0][2]];
            let d2 = [p[2][0] - p[0][0], p[2][1] - p[0][1], p[2][2] - p[0][2]];
            let cross = [
                d1[1] * d2[2] - d1[2] * d2[1],
                d1[2] * d2[0] - d1[0] * d2[2],
                d1[0] * d2[1] - d1[1] * d2[0],
            ];
            let outward = if side == 1 { 1 } else { -1 };
            if cross[axis] * outward < 0 {
                q.reverse();
            }
            out.push(q);
        }
    }
    out
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let faces = faces();
        let loops = (0..256u32)
            .map(|case| {
                let inside = |c: u8| case >> c & 1 == 1;
                let mut next = [u8::MAX; 12];
                for q in &faces {
                    for m in 0..4 {
                        let prev = q[(m + 3) % 4];
                        if inside(q[m]) && !inside(prev) {
                            let mut e = m;
                            while inside(q[(e + 1) % 4]) {
                                e = (e + 1) % 4;
                            }
                            next[edge_id(prev, q[m]) as usize] = edge_id(q[e], q[(e + 1) % 4]);
                        }
                    }
                }
                let mut seen = [false; 12];
                let mut case_loops = Vec::new();
                for start in 0..12 {
                    if next[start] == u8::MAX || seen[start] {
                        continue;
                    }
                    let mut lp = Vec::new();
                    let mut e = start;
                    while !seen[e] {
                        seen[e] = true;
                        lp.push(e as u8);
                        e = next[e] as usize;
                    }
                    case_loops.push(lp);
                }
                case_loops
            })
            .collect();
        Table { loops }
    })
}

/// Do two cube edges lie on a common cube face?
fn share_face(a: u8, b: u8) -> bool {
    let (ea, eb) = (EDGES[a as usize], EDGES[b as usize]);
    // A face is "axis bit = side"; an edge lies on it when both its corners do.
    (0..3).any(|axis| {
        (0..2u8).any(|side| {
            [ea.0, ea.1, eb.0, eb.1]
                .iter()
                .all(|&c| (c >> axis & 1) == side)
        })
    })
}

/// Surface of `mask` on the grid of `ct`, vertices at `params.iso_hu`.
pub fn mask_surface(
    ct: &Volume<i16>,
    mask: &BitMask,
    params: &McParams,
) -> Result<Mesh, SegmentError> {
    if mask.dims() != ct.dims {
        return Err(SegmentError::DimsMismatch {
            what: "mask",
            expected: ct.dims,
            got: mask.dims(),
        });
    }
    let Some(bb) = mask.bbox() else {
        return Err(SegmentError::NoSurface);
    };
    let tab = table();
    let [nx, ny, nz] = ct.dims;
    let iso = params.iso_hu;
    // Cubes with origin corner in [lo, hi] (grid coordinates, may be −1 = padding).
    let lo = [0, 1, 2].map(|a| bb.min[a] as i64 - 1);
    let hi = [0, 1, 2].map(|a| bb.max[a] as i64);
    let px = (hi[0] - lo[0] + 2) as usize; // corners along i
    let py = (hi[1] - lo[1] + 2) as usize;
    let inside = |i: i64, j: i64, k: i64| -> bool {
        i >= 0
            && j >= 0
            && k >= 0
            && (i as usize) < nx
            && (j as usize) < ny
            && (k as usize) < nz
            && mask.get(i as usize + nx * (j as usize + ny * k as usize))
    };
    let hu = |i: i64, j: i64, k: i64| -> Option<f64> {
        if i >= 0 && j >= 0 && k >= 0 && (i as usize) < nx && (j as usize) < ny && (k as usize) < nz
        {
            Some(ct.data[i as usize + nx * (j as usize + ny * k as usize)] as f64)
        } else {
            None
        }
    };
    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    const NONE: u32 = u32::MAX;
    // Edge maps: along i / j in the bottom (0) and top (1) corner slice; along k in the layer.
    let mut xe = [vec![NONE; px * py], vec![NONE; px * py]];
    let mut ye = [vec![NONE; px * py], vec![NONE; px * py]];
    let mut ze = vec![NONE; px * py];
    let vert = |a: [i64; 3], b: [i64; 3], positions: &mut Vec<[f64; 3]>| -> u32 {
        // a is inside, b outside.
        let t = match (hu(a[0], a[1], a[2]), hu(b[0], b[1], b[2])) {
            (Some(ha), Some(hb)) if ha >= iso && hb < iso => {
                ((ha - iso) / (ha - hb)).clamp(T_MIN, 1.0 - T_MIN)
            }
            _ => 0.5,
        };
        let p = [0, 1, 2].map(|c| a[c] as f64 + t * (b[c] - a[c]) as f64);
        positions.push(p);
        positions.len() as u32 - 1
    };
    let mut ids = [NONE; 12];
    // Inside/outside of every corner of the bottom (0) and top (1) corner slice, read once
    // per voxel rather than once per cube corner (eight times).
    let fill_occupancy = |k: i64, occ: &mut Vec<bool>| {
        for (lj, j) in (lo[1]..=hi[1] + 1).enumerate() {
            for (li, i) in (lo[0]..=hi[0] + 1).enumerate() {
                occ[li + px * lj] = inside(i, j, k);
            }
        }
    };
    let mut occ = [vec![false; px * py], vec![false; px * py]];
    fill_occupancy(lo[2], &mut occ[1]);
    let corner_offsets: [(usize, usize); 8] = std::array::from_fn(|c| {
        let p = corner_pos(c as u8);
        (p[2] as usize, p[0] as usize + px * p[1] as usize)
    });
    for k in lo[2]..=hi[2] {
        if k > lo[2] {
            xe.swap(0, 1);
            ye.swap(0, 1);
            xe[1].fill(NONE);
            ye[1].fill(NONE);
        }
        ze.fill(NONE);
        occ.swap(0, 1);
        fill_occupancy(k + 1, &mut occ[1]);
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                let (li, lj) = ((i - lo[0]) as usize, (j - lo[1]) as usize);
                let base = li + px * lj;
                let mut case = 0usize;
                for (c, &(layer, offset)) in corner_offsets.iter().enumerate() {
                    if occ[layer][base + offset] {
                        case |= 1 << c;
                    }
                }
                if case == 0 || case == 255 {
                    continue;
                }
                for lp in &tab.loops[case] {
                    for &e in lp {
                        let (ca, cb) = EDGES[e as usize];
                        let (pa, pb) = (corner_pos(ca), corner_pos(cb));
                        let (slot, arr): (usize, &mut Vec<u32>) = if e < 4 {
                            ((li) + px * (lj + pa[1] as usize), &mut xe[pa[2] as usize])
                        } else if e < 8 {
                            ((li + pa[0] as usize) + px * lj, &mut ye[pa[2] as usize])
                        } else {
                            ((li + pa[0] as usize) + px * (lj + pa[1] as usize), &mut ze)
                        };
                        if arr[slot] == NONE {
                            let ga = [i + pa[0] as i64, j + pa[1] as i64, k + pa[2] as i64];
                            let gb = [i + pb[0] as i64, j + pb[1] as i64, k + pb[2] as i64];
                            arr[slot] = if case >> ca & 1 == 1 {
                                vert(ga, gb, &mut positions)
                            } else {
                                vert(gb, ga, &mut positions)
                            };
                        }
                        ids[e as usize] = arr[slot];
                    }
                    let mut v = [0u32; 12];
                    for (slot, &e) in v.iter_mut().zip(lp.iter()) {
                        *slot = ids[e as usize];
                    }
                    let v = &v[..lp.len()];
                    match v.len() {
                        3 => triangles.push([v[0], v[1], v[2]]),
                        4 => {
                            if !share_face(lp[0], lp[2]) {
                                triangles.push([v[0], v[1], v[2]]);
                                triangles.push([v[0], v[2], v[3]]);
                            } else {
                                triangles.push([v[1], v[2], v[3]]);
                                triangles.push([v[1], v[3], v[0]]);
                            }
                        }
                        n => {
                            let mut c = [0.0; 3];
                            for &q in v {
                                for a in 0..3 {
                                    c[a] += positions[q as usize][a] / n as f64;
                                }
                            }
                            positions.push(c);
                            let cv = positions.len() as u32 - 1;
                            for m in 0..n {
                                triangles.push([cv, v[m], v[(m + 1) % n]]);
                            }
                        }
                    }
                }
            }
        }
    }
    if triangles.is_empty() {
        return Err(SegmentError::NoSurface);
    }
    let m = ct.patient_from_voxel;
    let positions_mm = positions
        .iter()
        .map(|p| {
            let q = m.transform_point(&nalgebra::Point3::new(p[0], p[1], p[2]));
            [q.x, q.y, q.z]
        })
        .collect();
    if m.fixed_view::<3, 3>(0, 0).determinant() < 0.0 {
        for t in &mut triangles {
            t.swap(1, 2);
        }
    }
    Ok(Mesh::new(positions_mm, triangles))
}

/// Surface of label `label` of `labels` (same grid as `ct`).
pub fn label_surface(
    ct: &Volume<i16>,
    labels: &Volume<u8>,
    label: u8,
    params: &McParams,
) -> Result<Mesh, SegmentError> {
    if labels.dims != ct.dims {
        return Err(SegmentError::DimsMismatch {
            what: "label volume",
            expected: ct.dims,
            got: labels.dims,
        });
    }
    mask_surface(ct, &label_mask(labels, label), params)
}

/// [`BitMask::from_label`], bit for bit, written for speed: one bone is a small part of
/// the volume, so most 64-voxel chunks are skipped by a (vectorised) `contains` test
/// before any bit is packed. This pass over the whole label volume used to cost twice
/// the marching cubes of the bone itself.
fn label_mask(labels: &Volume<u8>, label: u8) -> BitMask {
    let mut m = BitMask::new(labels.dims);
    for (word, chunk) in m.words_mut().iter_mut().zip(labels.data.chunks(64)) {
        if !chunk.contains(&label) {
            continue;
        }
        let mut bits = 0u64;
        for (b, &v) in chunk.iter().enumerate() {
            bits |= ((v == label) as u64) << b;
        }
        *word = bits;
    }
    m
}

/// Enclosed volume (mm³, positive when triangles face outwards) and area (mm²) of a closed mesh.
pub fn volume_and_area(mesh: &Mesh) -> (f64, f64) {
    let (mut vol, mut area) = (0.0, 0.0);
    for t in 0..mesh.triangle_count() {
        let [a, b, c] = mesh.corners(t);
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let w = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let x = [
            u[1] * w[2] - u[2] * w[1],
            u[2] * w[0] - u[0] * w[2],
            u[0] * w[1] - u[1] * w[0],
        ];
        area += 0.5 * (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt();
        vol += (a[0] * (b[1] * c[2] - b[2] * c[1])
            + a[1] * (b[2] * c[0] - b[0] * c[2])
            + a[2] * (b[0] * c[1] - b[1] * c[0]))
            / 6.0;
    }
    (vol, area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_label_mask_equals_from_label() {
        // 105 voxels: the last word is partial; labels 0..=4 in a scrambled pattern.
        let mut labels = Volume::filled([7, 5, 3], [1.0; 3], [0.0; 3], 0u8);
        for (n, v) in labels.data.iter_mut().enumerate() {
            *v = ((n * 37 + n / 11) % 5) as u8;
        }
        for label in 0..6u8 {
            assert_eq!(
                label_mask(&labels, label),
                BitMask::from_label(&labels, label),
                "label {label}"
            );
        }
    }
}
