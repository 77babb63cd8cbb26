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
//! Every edge's vertex is made once and shared. Vertices and triangles come in scan
//! order of cubes (`i` fastest, then `j`, then `k`), each cube's in the order of its
//! case's loops, so the output is deterministic (design links replay these bits).
//!
//! # Why hand-written, and how it is fast
//! No library contours a binary mask with this face rule and places vertices by another
//! field (the HU), with the bits fixed for link replay. Work is limited to the mask's
//! box plus one padding layer, and grows with the surface, not the box: corner rows are
//! unpacked from the mask's words into bit rows, so the cubes with both inside and
//! outside corners (a few per cent of a bone's box) are found 64 at a time by word
//! operations, and only they are visited. A cut edge is shared by four cubes, the
//! first of which in scan order is never all-inside or all-outside and meets the edge
//! at its far corner (edge 3, 7 or 11 of the table): that cube makes the vertex, and
//! the other three read its id from per-cube slots of the current and previous cube
//! layer — no edge map to look up, mark or clear.

use std::sync::OnceLock;

use crate::mesh::Mesh;
use crate::segment::mask::{label_bboxes, label_crop};
use crate::segment::{BitMask, SegmentError, VoxelBox};
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

/// The edge joining cube corners `a` and `b` (they differ in one bit).
fn edge_id(a: u8, b: u8) -> Option<u8> {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    EDGES.iter().position(|&e| e == (a, b)).map(|e| e as u8)
}

/// One case's loops, flattened: the edge ids of every loop back to back.
#[derive(Clone, Copy, Default)]
struct CaseLoops {
    edges: [u8; 12],
    /// Length of each loop (at most four loops of at least three edges fit in 12 edges).
    lens: [u8; 4],
    loops: u8,
    /// Per loop: a quad is split along its 1–3 diagonal instead of 0–2 (the 0–2
    /// diagonal's ends share a cube face).
    split_13: [bool; 4],
}

impl CaseLoops {
    fn iter(&self) -> impl Iterator<Item = (&[u8], bool)> + '_ {
        let mut at = 0usize;
        (0..self.loops as usize).map(move |l| {
            let n = self.lens[l] as usize;
            let lp = &self.edges[at..at + n];
            at += n;
            (lp, self.split_13[l])
        })
    }
}

/// Per case: loops of edge ids, each counter-clockwise seen from outside the solid.
struct Table {
    cases: [CaseLoops; 256],
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
            let p = q.map(corner_pos);
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
        let mut cases = [CaseLoops::default(); 256];
        for (case, out) in cases.iter_mut().enumerate() {
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
                        if let (Some(from), Some(to)) =
                            (edge_id(prev, q[m]), edge_id(q[e], q[(e + 1) % 4]))
                        {
                            next[from as usize] = to;
                        }
                    }
                }
            }
            let mut seen = [false; 12];
            let mut used = 0usize;
            for start in 0..12 {
                if next[start] == u8::MAX || seen[start] {
                    continue;
                }
                let first = used;
                let mut e = start;
                while e < 12 && !seen[e] {
                    seen[e] = true;
                    out.edges[used] = e as u8;
                    used += 1;
                    e = next[e] as usize;
                }
                let l = out.loops as usize;
                out.lens[l] = (used - first) as u8;
                out.split_13[l] =
                    used - first == 4 && share_face(out.edges[first], out.edges[first + 2]);
                out.loops += 1;
            }
        }
        Table { cases }
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

const NONE: u32 = u32::MAX;
/// HU of a corner outside the grid (the padding): no interpolation there.
const NO_HU: i32 = i32::MIN;
const NO_HU_F: f64 = NO_HU as f64;

/// Surface of `mask` on the grid of `ct`, vertices at `params.iso_hu`.
///
/// Work is limited to the mask's bounding box plus one padding layer, and within it to
/// the cubes that have both inside and outside corners (see the module docs).
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
    crop_surface(ct, mask, [0; 3], params)
}

/// [`mask_surface`] of a mask given as a crop: voxel (0, 0, 0) of `crop` is grid voxel
/// `origin`, and the crop lies inside the grid. The same mesh as the full-grid mask.
fn crop_surface(
    ct: &Volume<i16>,
    crop: &BitMask,
    origin: [usize; 3],
    params: &McParams,
) -> Result<Mesh, SegmentError> {
    let cd = crop.dims();
    if (0..3).any(|a| origin[a] + cd[a] > ct.dims[a]) {
        return Err(SegmentError::DimsMismatch {
            what: "mask crop",
            expected: ct.dims,
            got: [0, 1, 2].map(|a| origin[a] + cd[a]),
        });
    }
    let Some(local) = crop.bbox() else {
        return Err(SegmentError::NoSurface);
    };
    // The mask's box in grid coordinates.
    let bb = VoxelBox {
        min: [0, 1, 2].map(|a| local.min[a] + origin[a]),
        max: [0, 1, 2].map(|a| local.max[a] + origin[a]),
    };
    let tab = table();
    let [nx, ny, nz] = ct.dims;
    let iso = params.iso_hu;
    // Local corner grid: local (li, lj, lk) is grid (li, lj, lk) + lo, lo = bbox min − 1;
    // local 0 and w + 1 along each axis are outside the mask (padding or outside the box).
    let w = bb.dims();
    let lo = [0, 1, 2].map(|a| bb.min[a] as i64 - 1);
    let (px, py, pz) = (w[0] + 2, w[1] + 2, w[2] + 2);
    // A corner row is `row_words` words of bits (corner li = bit li % 64 of word li / 64):
    // the cubes' words plus one, so that every cube's corner li + 1 can be read.
    let cube_words = (px - 1).div_ceil(64);
    let row_words = cube_words + 1;
    let layer_words = row_words * py;
    // Every corner row of the padded box, unpacked once from the crop's words.
    let mut corners = vec![0u64; layer_words * pz];
    for lk in 1..=w[2] {
        let kc = local.min[2] + lk - 1;
        for lj in 1..=w[1] {
            let start = crop.index(local.min[0], local.min[1] + lj - 1, kc);
            let row = &mut corners[layer_words * lk + row_words * lj..][..row_words];
            for (q, c) in (0..w[0]).step_by(64).enumerate() {
                // Crop voxels c.. of the row are corners c + 1.. (corner 0 is outside).
                let bits = crop.bits_at(start + c, (w[0] - c).min(64));
                row[q] |= bits << 1;
                row[q + 1] |= bits >> 63;
            }
        }
    }
    // Cubes 64 q .. 64 q + 63 of cube row (lj, lk), as 8 words: bit b of word c is
    // corner c of cube 64 q + b (the corner offset of `corner_pos`).
    let cube_corners = |lk: usize, lj: usize, q: usize| -> [u64; 8] {
        let pair = |dj: usize, dk: usize| {
            let n = layer_words * (lk + dk) + row_words * (lj + dj) + q;
            (corners[n], corners[n] >> 1 | corners[n + 1] << 63)
        };
        let ((c0, c1), (c2, c3)) = (pair(0, 0), pair(1, 0));
        let ((c4, c5), (c6, c7)) = (pair(0, 1), pair(1, 1));
        [c0, c1, c2, c3, c4, c5, c6, c7]
    };
    // A cube makes the vertices of its cut edges 3, 7 and 11, the three that meet at its
    // far corner 7; every other edge of a cube is edge 3, 7 or 11 of an earlier cube in
    // scan order, the first of the four cubes around it, which is never all-inside or
    // all-outside when the edge is cut, so it has made the vertex already. Per edge:
    // (made in the previous cube layer, cubes back in the layer, which of 3 / 7 / 11).
    let made_at: [(bool, usize, usize); 12] = std::array::from_fn(|e| {
        let axis = e / 4;
        let low = corner_pos(EDGES[e].0);
        let back = |x: usize| (1 - low[x] as usize) - usize::from(x == axis);
        (back(2) == 1, back(0) + px * back(1), axis)
    });
    // Edge vertices are counted first (corner 7 differs from corner 6, 5 or 3), so the
    // output is allocated once: fan centres (loops of more than four edges) add 18 % on
    // the talus at 720 HU (a quarter is allowed; more costs one reallocation), and a
    // closed surface has about twice as many triangles as vertices (Euler).
    let mut edge_vertices = 0usize;
    for lk in 0..pz - 1 {
        for lj in 0..py - 1 {
            for q in 0..cube_words {
                let c = cube_corners(lk, lj, q);
                let cut = (c[6] ^ c[7]).count_ones() + (c[5] ^ c[7]).count_ones();
                edge_vertices += (cut + (c[3] ^ c[7]).count_ones()) as usize;
            }
        }
    }
    let mut positions: Vec<[f64; 3]> = Vec::with_capacity(edge_vertices + edge_vertices / 4);
    let mut triangles: Vec<[u32; 3]> = Vec::with_capacity(2 * positions.capacity());
    // HU of the voxel of linear index `n` (in the grid).
    let hu = |n: usize| ct.data.get(n).map_or(NO_HU, |&v| i32::from(v));
    // HU of a corner (grid coordinates), `NO_HU` outside the grid (the padding).
    let hu_at = |g: [i64; 3]| -> i32 {
        let inside = (0..3).all(|a| g[a] >= 0 && (g[a] as usize) < ct.dims[a]);
        if inside {
            hu(g[0] as usize + nx * (g[1] as usize + ny * g[2] as usize))
        } else {
            NO_HU
        }
    };
    // Where the vertex lies from the inside corner (HU `ha`) to the outside one (`hb`).
    let edge_t = |ha: i32, hb: i32| {
        let (ha, hb) = (f64::from(ha), f64::from(hb));
        if ha != NO_HU_F && hb != NO_HU_F && ha >= iso && hb < iso {
            ((ha - iso) / (ha - hb)).clamp(T_MIN, 1.0 - T_MIN)
        } else {
            0.5
        }
    };
    let strides = [1, nx, nx * ny];
    // Vertex ids of edges 3 / 7 / 11 of every cube of the previous and current layer.
    // Never cleared: a slot is read only for a cut edge, whose maker wrote it this layer
    // or the last.
    let mut ids = [vec![[NONE; 3]; px * py], vec![[NONE; 3]; px * py]];
    for lk in 0..pz - 1 {
        ids.swap(0, 1);
        let [prev_ids, cur_ids] = &mut ids;
        let k = lo[2] + lk as i64;
        for lj in 0..py - 1 {
            let j = lo[1] + lj as i64;
            // Are the far and near corners of this row's cubes in the grid along j and k?
            // Then the CT is read by index from the far corner's.
            let row_inside = j >= 0 && k >= 0 && ((j + 1) as usize) < ny && ((k + 1) as usize) < nz;
            let row_base = if row_inside {
                nx * ((j + 1) as usize + ny * (k + 1) as usize)
            } else {
                0
            };
            for q in 0..cube_words {
                let c = cube_corners(lk, lj, q);
                let any = c.iter().fold(0, |a, &x| a | x);
                let all = c.iter().fold(u64::MAX, |a, &x| a & x);
                // Cubes with inside and outside corners; the others make no surface.
                let mut cut = any & !all;
                while cut != 0 {
                    let b = cut.trailing_zeros();
                    cut &= cut - 1;
                    let case = (0..8).fold(0usize, |s, n| s | ((c[n] >> b & 1) as usize) << n);
                    let li = 64 * q + b as usize;
                    let cube = li + px * lj;
                    let i = lo[0] + li as i64;
                    let far = [i + 1, j + 1, k + 1];
                    let far_in = case >> 7 == 1;
                    let far_index = (row_inside && i >= 0 && ((i + 1) as usize) < nx)
                        .then(|| row_base + far[0] as usize);
                    for (lp, split_13) in tab.cases[case].iter() {
                        let mut v = [0u32; 12];
                        for (id, &e) in v.iter_mut().zip(lp) {
                            let (in_prev, back, axis) = made_at[e as usize];
                            *id = if in_prev {
                                prev_ids[cube - back][axis]
                            } else if back > 0 {
                                cur_ids[cube - back][axis]
                            } else {
                                // Edge from the far corner back along `axis`.
                                let (h_far, h_near) = match far_index {
                                    Some(n) => (hu(n), hu(n - strides[axis])),
                                    None => {
                                        let mut near = far;
                                        near[axis] -= 1;
                                        (hu_at(far), hu_at(near))
                                    }
                                };
                                // From the inside corner to the outside one; along the
                                // edge only `axis` changes (by −1 from the far corner).
                                let mut p = far.map(|x| x as f64);
                                p[axis] = if far_in {
                                    p[axis] - edge_t(h_far, h_near)
                                } else {
                                    (p[axis] - 1.0) + edge_t(h_near, h_far)
                                };
                                positions.push(p);
                                let made = positions.len() as u32 - 1;
                                cur_ids[cube][axis] = made;
                                made
                            };
                        }
                        match lp {
                            [_, _, _] => triangles.push([v[0], v[1], v[2]]),
                            [_, _, _, _] => {
                                if !split_13 {
                                    triangles.push([v[0], v[1], v[2]]);
                                    triangles.push([v[0], v[2], v[3]]);
                                } else {
                                    triangles.push([v[1], v[2], v[3]]);
                                    triangles.push([v[1], v[3], v[0]]);
                                }
                            }
                            _ => {
                                let n = lp.len();
                                let mut c = [0.0; 3];
                                for &vid in &v[..n] {
                                    for (a, ca) in c.iter_mut().enumerate() {
                                        *ca += positions[vid as usize][a] / n as f64;
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
    }
    if triangles.is_empty() {
        return Err(SegmentError::NoSurface);
    }
    let m = ct.patient_from_voxel;
    for p in &mut positions {
        let q = m.transform_point(&nalgebra::Point3::new(p[0], p[1], p[2]));
        *p = [q.x, q.y, q.z];
    }
    if m.fixed_view::<3, 3>(0, 0).determinant() < 0.0 {
        for t in &mut triangles {
            t.swap(1, 2);
        }
    }
    Ok(Mesh::new(positions, triangles))
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
    if label == 0 {
        // The background: every voxel not in a part (not a bone; kept for completeness).
        return mask_surface(ct, &BitMask::from_label(labels, 0), params);
    }
    let boxes = label_bboxes(labels);
    label_surface_in_box(ct, labels, label, boxes[label as usize], params)
}

/// Surfaces of several labels of `labels` (same grid as `ct`), in the order given: one
/// pass over the label volume finds every label's box, then each surface reads only its
/// box ([`label_surface_in_box`], one independent unit per label). The same meshes as
/// [`label_surface`] per label.
pub fn label_surfaces(
    ct: &Volume<i16>,
    labels: &Volume<u8>,
    wanted: &[u8],
    params: &McParams,
) -> Vec<Result<Mesh, SegmentError>> {
    if labels.dims != ct.dims {
        let e = SegmentError::DimsMismatch {
            what: "label volume",
            expected: ct.dims,
            got: labels.dims,
        };
        return wanted.iter().map(|_| Err(e.clone())).collect();
    }
    let boxes = label_bboxes(labels);
    // One independent unit per part (on the thread pool with the `parallel` feature).
    crate::parallel::map_vec(wanted.to_vec(), |l| {
        label_surface_in_box(ct, labels, l, boxes[l as usize], params)
    })
}

/// Surface of label `label`, whose voxels all lie in `bbox` (as [`label_bboxes`] gives
/// it; `None`: no voxel). Reads only the box of the label volume.
pub fn label_surface_in_box(
    ct: &Volume<i16>,
    labels: &Volume<u8>,
    label: u8,
    bbox: Option<VoxelBox>,
    params: &McParams,
) -> Result<Mesh, SegmentError> {
    let Some(bx) = bbox else {
        return Err(SegmentError::NoSurface);
    };
    if labels.dims != ct.dims || (0..3).any(|a| bx.max[a] >= ct.dims[a]) {
        return Err(SegmentError::DimsMismatch {
            what: "label volume",
            expected: ct.dims,
            got: labels.dims,
        });
    }
    crop_surface(ct, &label_crop(labels, label, &bx), bx.min, params)
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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The straightforward version (every cube, every corner looked up): the reference
    /// the fast scan must equal bit for bit.
    fn reference_surface(
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
            if i >= 0
                && j >= 0
                && k >= 0
                && (i as usize) < nx
                && (j as usize) < ny
                && (k as usize) < nz
            {
                Some(ct.data[i as usize + nx * (j as usize + ny * k as usize)] as f64)
            } else {
                None
            }
        };
        let mut positions: Vec<[f64; 3]> = Vec::new();
        let mut triangles: Vec<[u32; 3]> = Vec::new();
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
                    for (lp, _) in tab.cases[case].iter() {
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

    /// Deterministic pseudo-random numbers (xorshift).
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed.max(1);
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    #[test]
    fn fast_scan_equals_reference_bit_for_bit() {
        for seed in 1..40u64 {
            let mut r = rng(seed);
            let dims = [
                3 + (r() % 70) as usize,
                2 + (r() % 9) as usize,
                2 + (r() % 7) as usize,
            ];
            let mut ct = Volume::filled(dims, [0.7, 0.5, 1.3], [1.0, -2.0, 3.0], 0i16);
            for v in &mut ct.data {
                *v = (r() % 1600) as i16 - 200;
            }
            // Blobby masks: mostly HU-driven, with random flips (hand edits), sometimes
            // touching the grid border.
            let density = 1 + r() % 5;
            let mask = BitMask::from_fn(dims, |n| {
                (ct.data[n] > 500 && !r().is_multiple_of(7)) || r() % 16 < density
            });
            if mask.count() == 0 {
                continue;
            }
            let params = McParams { iso_hu: 600.0 };
            let fast = mask_surface(&ct, &mask, &params).map_err(|e| e.to_string());
            let slow = reference_surface(&ct, &mask, &params).map_err(|e| e.to_string());
            match (fast, slow) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.triangles, b.triangles, "seed {seed}, dims {dims:?}");
                    assert_eq!(a.positions_mm, b.positions_mm, "seed {seed}");
                }
                (a, b) => assert_eq!(a.err(), b.err(), "seed {seed}"),
            }
        }
    }

    #[test]
    fn label_surfaces_in_boxes_equal_full_grid_masks_bit_for_bit() {
        for seed in 1..25u64 {
            let mut r = rng(seed);
            let dims = [
                3 + (r() % 90) as usize,
                2 + (r() % 9) as usize,
                2 + (r() % 7) as usize,
            ];
            let mut ct = Volume::filled(dims, [0.7, 0.5, 1.3], [1.0, -2.0, 3.0], 0i16);
            for v in &mut ct.data {
                *v = (r() % 1600) as i16 - 200;
            }
            let mut labels = Volume::filled(dims, [0.7, 0.5, 1.3], [1.0, -2.0, 3.0], 0u8);
            // Labels 1–4 in blobs by HU band, some voxels flipped; label 5 absent.
            for (n, v) in labels.data.iter_mut().enumerate() {
                let hu = ct.data[n];
                *v = if r().is_multiple_of(9) {
                    (r() % 5) as u8
                } else {
                    (hu.clamp(0, 1399) / 350) as u8
                };
            }
            let boxes = label_bboxes(&labels);
            for l in 1..=5u8 {
                let want = BitMask::from_label(&labels, l);
                assert_eq!(boxes[l as usize], want.bbox(), "seed {seed}, label {l}");
            }
            let params = McParams { iso_hu: 600.0 };
            let wanted = [3u8, 1, 5, 2, 4];
            let all = label_surfaces(&ct, &labels, &wanted, &params);
            for (&l, got) in wanted.iter().zip(all) {
                let want = mask_surface(&ct, &BitMask::from_label(&labels, l), &params);
                let one = label_surface(&ct, &labels, l, &params);
                match (got, want, one) {
                    (Ok(a), Ok(b), Ok(c)) => {
                        assert_eq!(a.triangles, b.triangles, "seed {seed}, label {l}");
                        assert_eq!(a.positions_mm, b.positions_mm, "seed {seed}, label {l}");
                        assert_eq!(c.positions_mm, b.positions_mm, "seed {seed}, label {l}");
                    }
                    (a, b, c) => {
                        let b = b.err();
                        assert_eq!(a.err(), b, "seed {seed}, label {l}");
                        assert_eq!(c.err(), b, "seed {seed}, label {l}");
                    }
                }
            }
        }
    }
}
