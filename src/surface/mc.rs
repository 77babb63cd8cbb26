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

/// Where a cube edge's vertex id is cached, and the edge's corners.
#[derive(Clone, Copy)]
struct EdgeSlot {
    /// Edge-map plane: 0/1 = along i in the bottom/top corner layer, 2/3 = along j in
    /// the bottom/top layer, 4 = along k.
    plane: usize,
    /// Offset from the cube's own slot in that plane.
    offset: usize,
    a: u8,
    pa: [i64; 3],
    pb: [i64; 3],
}

const NONE: u32 = u32::MAX;
/// HU of a corner outside the grid (the padding): no interpolation there.
const NO_HU: i32 = i32::MIN;
const NO_HU_F: f64 = NO_HU as f64;
/// Extent (first, last) of a corner row with no inside corner.
const EMPTY_ROW: (usize, usize) = (usize::MAX, 0);

/// Surface of `mask` on the grid of `ct`, vertices at `params.iso_hu`.
///
/// Work is limited to the mask's bounding box plus one padding layer. Each corner layer
/// is unpacked once from the mask's words into 0/1 bytes, with the extent of the inside
/// corners of every row; a cube row is visited only between the extents of its four
/// corner rows, and all-outside / all-inside cubes cost one case computation. Vertex
/// ids are cached per corner layer, so each edge's vertex is made once. The cube order
/// (and so the output) is the plain scan order of every cube in the box.
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
    let [nx, ny, _] = ct.dims;
    let iso = params.iso_hu;
    let words = crop.words();
    // Local corner grid: local (li, lj, lk) is grid (li, lj, lk) + lo, lo = bbox min − 1;
    // local 0 and w + 1 along each axis are outside the mask (padding or outside the box).
    let w = bb.dims();
    let lo = [0, 1, 2].map(|a| bb.min[a] as i64 - 1);
    let (px, py, pz) = (w[0] + 2, w[1] + 2, w[2] + 2);
    let plane = px * py;
    // HU of a corner (grid coordinates), `NO_HU` outside the grid (the padding). Read
    // only for the two corners of each vertex's edge: the CT rows of the current layers
    // stay in cache, and no per-layer copy of the box's HU has to be made.
    let hu_at = |g: [i64; 3]| -> i32 {
        let inside = (0..3).all(|a| g[a] >= 0 && (g[a] as usize) < ct.dims[a]);
        if inside {
            let n = g[0] as usize + nx * (g[1] as usize + ny * g[2] as usize);
            ct.data.get(n).map_or(NO_HU, |&v| i32::from(v))
        } else {
            NO_HU
        }
    };
    // Vertex on the edge from inside corner `a` to outside corner `b` (grid coordinates).
    let vert = |a: [i64; 3], ha: i32, b: [i64; 3], hb: i32, positions: &mut Vec<[f64; 3]>| {
        let (ha, hb) = (f64::from(ha), f64::from(hb));
        let t = match (ha, hb) {
            _ if ha != NO_HU_F && hb != NO_HU_F && ha >= iso && hb < iso => {
                ((ha - iso) / (ha - hb)).clamp(T_MIN, 1.0 - T_MIN)
            }
            _ => 0.5,
        };
        let p = [0, 1, 2].map(|c| a[c] as f64 + t * (b[c] - a[c]) as f64);
        positions.push(p);
        positions.len() as u32 - 1
    };
    // Unpacks corner layer `lk` into 0/1 bytes and per-row extents of inside corners.
    let fill_layer = |lk: usize, occ: &mut [u8], ext: &mut [(usize, usize)]| {
        // The layer held 1s only inside its rows' extents: clear those, not the plane.
        for (lj, e) in ext.iter().enumerate() {
            if e.0 <= e.1 {
                occ[px * lj + e.0..=px * lj + e.1].fill(0);
            }
        }
        ext.fill(EMPTY_ROW);
        if lk == 0 || lk > w[2] {
            return;
        }
        // Crop coordinates of the layer and of each row's first voxel.
        let kc = local.min[2] + lk - 1;
        for lj in 1..=w[1] {
            let jc = local.min[1] + lj - 1;
            let start = local.min[0] + cd[0] * (jc + cd[1] * kc);
            let end = start + w[0];
            let row = &mut occ[px * lj..px * (lj + 1)];
            let mut e = EMPTY_ROW;
            let mut n = start;
            while n < end {
                let span = (64 - (n & 63)).min(end - n);
                let word = words.get(n >> 6).copied().unwrap_or(0) >> (n & 63);
                let mut bits = if span == 64 {
                    word
                } else {
                    word & ((1u64 << span) - 1)
                };
                while bits != 0 {
                    let li = n - start + bits.trailing_zeros() as usize + 1;
                    row[li] = 1;
                    e = (e.0.min(li), e.1.max(li));
                    bits &= bits - 1;
                }
                n += span;
            }
            ext[lj] = e;
        }
    };
    let slots: [EdgeSlot; 12] = std::array::from_fn(|e| {
        let (a, b) = EDGES[e];
        let (pa, pb) = (corner_pos(a), corner_pos(b));
        let [ax, ay, az] = pa.map(|x| x as usize);
        let (plane, offset) = match e {
            0..=3 => (az, px * ay),
            4..=7 => (2 + az, ax),
            _ => (4, ax + px * ay),
        };
        EdgeSlot {
            plane,
            offset,
            a,
            pa: pa.map(i64::from),
            pb: pb.map(i64::from),
        }
    });
    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    // Edge maps: five planes in one buffer; `base` rotates bottom/top at each layer. The
    // slots set in each plane are listed, so a plane is reset slot by slot when it is
    // reused, not cleared whole (a bone's box plane is mostly far from its surface).
    let mut emap = vec![NONE; 5 * plane];
    let mut base = [0, plane, 2 * plane, 3 * plane, 4 * plane];
    let mut set_slots: [Vec<usize>; 5] = Default::default();
    let reset = |emap: &mut [u32], slots: &mut Vec<usize>| {
        for &slot in slots.iter() {
            emap[slot] = NONE;
        }
        slots.clear();
    };
    let mut occ = [vec![0u8; plane], vec![0u8; plane]];
    let mut ext = [vec![EMPTY_ROW; py], vec![EMPTY_ROW; py]];
    for lk in 0..pz - 1 {
        occ.swap(0, 1);
        ext.swap(0, 1);
        fill_layer(lk + 1, &mut occ[1], &mut ext[1]);
        if lk > 0 {
            base.swap(0, 1);
            base.swap(2, 3);
            reset(&mut emap, &mut set_slots[base[1] / plane]);
            reset(&mut emap, &mut set_slots[base[3] / plane]);
        }
        reset(&mut emap, &mut set_slots[base[4] / plane]);
        // Which list each logical plane's slots go to this layer.
        let list = base.map(|b| b / plane);
        let k = lo[2] + lk as i64;
        let (bottom, top) = (&occ[0], &occ[1]);
        for lj in 0..py - 1 {
            let rows = [ext[0][lj], ext[0][lj + 1], ext[1][lj], ext[1][lj + 1]];
            let first = rows.iter().map(|r| r.0).min().unwrap_or(usize::MAX);
            let last = rows.iter().map(|r| r.1).max().unwrap_or(0);
            if first > last {
                continue;
            }
            let r00 = &bottom[px * lj..px * (lj + 1)];
            let r10 = &bottom[px * (lj + 1)..px * (lj + 2)];
            let r01 = &top[px * lj..px * (lj + 1)];
            let r11 = &top[px * (lj + 1)..px * (lj + 2)];
            let j = lo[1] + lj as i64;
            // Cubes first − 1 ..= last touch an inside corner (first ≥ 1, last ≤ w).
            for li in first - 1..=last {
                let case = (r00[li]
                    | r00[li + 1] << 1
                    | r10[li] << 2
                    | r10[li + 1] << 3
                    | r01[li] << 4
                    | r01[li + 1] << 5
                    | r11[li] << 6
                    | r11[li + 1] << 7) as usize;
                if case == 0 || case == 255 {
                    continue;
                }
                let i = lo[0] + li as i64;
                let cube = li + px * lj;
                for (lp, split_13) in tab.cases[case].iter() {
                    let mut v = [0u32; 12];
                    for (id, &e) in v.iter_mut().zip(lp) {
                        let s = &slots[e as usize];
                        let slot = base[s.plane] + cube + s.offset;
                        if emap[slot] == NONE {
                            let ga = [i + s.pa[0], j + s.pa[1], k + s.pa[2]];
                            let gb = [i + s.pb[0], j + s.pb[1], k + s.pb[2]];
                            let (ha, hb) = (hu_at(ga), hu_at(gb));
                            emap[slot] = if case >> s.a & 1 == 1 {
                                vert(ga, ha, gb, hb, &mut positions)
                            } else {
                                vert(gb, hb, ga, ha, &mut positions)
                            };
                            set_slots[list[s.plane]].push(slot);
                        }
                        *id = emap[slot];
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
                            for &q in &v[..n] {
                                for (a, ca) in c.iter_mut().enumerate() {
                                    *ca += positions[q as usize][a] / n as f64;
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
