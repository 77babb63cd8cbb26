//! Quadric-error-metric decimation (Garland & Heckbert 1997) to a target triangle
//! count with a deviation bound.
//!
//! Each vertex carries the sum of the squared-distance quadrics of the planes of its
//! original triangles; an edge collapse moves the surviving vertex to the position that
//! minimises the summed quadric (or the best of the two ends and the midpoint when that
//! system is singular). Collapses are taken cheapest first from a binary heap ordered by
//! (cost, smaller vertex id, larger vertex id), so the result is deterministic.
//! A collapse is refused when it would make the mesh non-manifold (link condition),
//! flip a triangle, touch a boundary vertex, or place the new vertex or the centroid of
//! any triangle around it farther than `max_deviation_mm` from the input surface.
//! Input and output are in the same mm space; orientation is kept.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::remesh::has_nonmanifold_edge;
use super::topology::{
    add, dot, mesh_is_valid, norm, scale, tri_normal2, two_sided_deviation, DynMesh, TriangleGrid,
    V3,
};
use super::Mesh;

/// Parameters of [`decimate`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecimateParams {
    /// Stop when the mesh has at most this many triangles. Default 10 000.
    pub target_triangles: usize,
    /// Largest allowed distance of a new vertex (and of the centroids of its triangles)
    /// from the input surface, mm. Default 0.1.
    pub max_deviation_mm: f64,
}
impl Default for DecimateParams {
    fn default() -> Self {
        DecimateParams {
            target_triangles: 10_000,
            max_deviation_mm: 0.1,
        }
    }
}

/// What [`decimate`] did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecimateReport {
    pub triangles_before: usize,
    pub triangles_after: usize,
    /// Measured two-sided deviation between output and input (vertices and triangle
    /// centroids of the output against the input, input vertices against the output), mm.
    pub max_deviation_mm: f64,
    /// False when the deviation bound or topology stopped decimation above the target.
    pub reached_target: bool,
    pub collapses: usize,
}

/// Why decimation failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecimateError {
    #[error(
        "the mesh is empty or has non-finite coordinates / out-of-range indices; repair it first"
    )]
    InvalidMesh,
    #[error(
        "the mesh has an edge shared by more than two triangles; repair non-manifold edges first"
    )]
    NonManifold,
    #[error("decimation was cancelled")]
    Cancelled,
    #[error("max_deviation_mm {0} must be a non-negative finite number")]
    BadBound(f64),
}

/// Symmetric 4×4 quadric stored as its upper triangle.
#[derive(Clone, Copy, Default)]
struct Quadric([f64; 10]);

impl Quadric {
    fn plane(n: V3, d: f64) -> Self {
        let [a, b, c] = n;
        Quadric([
            a * a,
            a * b,
            a * c,
            a * d,
            b * b,
            b * c,
            b * d,
            c * c,
            c * d,
            d * d,
        ])
    }
    fn add(&mut self, o: &Quadric) {
        for i in 0..10 {
            self.0[i] += o.0[i];
        }
    }
    fn eval(&self, p: V3) -> f64 {
        let q = &self.0;
        let [x, y, z] = p;
        q[0] * x * x
            + 2.0 * q[1] * x * y
            + 2.0 * q[2] * x * z
            + 2.0 * q[3] * x
            + q[4] * y * y
            + 2.0 * q[5] * y * z
            + 2.0 * q[6] * y
            + q[7] * z * z
            + 2.0 * q[8] * z
            + q[9]
    }
    fn optimum(&self) -> Option<V3> {
        let q = &self.0;
        let m = nalgebra::Matrix3::new(q[0], q[1], q[2], q[1], q[4], q[5], q[2], q[5], q[7]);
        let scale = q[0].abs() + q[4].abs() + q[7].abs();
        if scale <= 0.0 || m.determinant().abs() < 1e-9 * scale * scale * scale {
            return None;
        }
        let rhs = nalgebra::Vector3::new(-q[3], -q[6], -q[8]);
        m.lu().solve(&rhs).map(|v| [v[0], v[1], v[2]])
    }
}

#[derive(PartialEq)]
struct Entry {
    cost: f64,
    a: u32,
    b: u32,
    sa: u32,
    sb: u32,
    p: V3,
}
impl Eq for Entry {}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on cost, then on (a, b).
        o.cost
            .total_cmp(&self.cost)
            .then(o.a.cmp(&self.a))
            .then(o.b.cmp(&self.b))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Decimates `mesh`; see the module docs.
pub fn decimate(
    mesh: &Mesh,
    params: &DecimateParams,
) -> Result<(Mesh, DecimateReport), DecimateError> {
    decimate_with_progress(mesh, params, &mut crate::progress::NoProgress)
}

/// [`decimate`] reporting progress (triangles removed of those to remove, every 1024
/// collapses) and stopping with [`DecimateError::Cancelled`] when `progress` asks to.
pub fn decimate_with_progress(
    mesh: &Mesh,
    params: &DecimateParams,
    progress: &mut dyn crate::progress::Progress,
) -> Result<(Mesh, DecimateReport), DecimateError> {
    if mesh.triangles.is_empty() || !mesh_is_valid(mesh) {
        return Err(DecimateError::InvalidMesh);
    }
    if !(params.max_deviation_mm >= 0.0 && params.max_deviation_mm.is_finite()) {
        return Err(DecimateError::BadBound(params.max_deviation_mm));
    }
    if has_nonmanifold_edge(&mesh.triangles) {
        return Err(DecimateError::NonManifold);
    }
    let grid = TriangleGrid::new(mesh);
    let mut dm = DynMesh::new(mesh);
    let mut q = vec![Quadric::default(); dm.pos.len()];
    for &t in &mesh.triangles {
        let n2 = tri_normal2(&dm.pos, t);
        let l = norm(n2);
        if l <= 0.0 {
            continue;
        }
        let n = scale(n2, 1.0 / l);
        let d = -dot(n, dm.pos[t[0] as usize]);
        let pq = Quadric::plane(n, d);
        for &v in &t {
            q[v as usize].add(&pq);
        }
    }
    let mut stamp = vec![0u32; dm.pos.len()];
    let mut heap = BinaryHeap::new();
    let candidate = |dm: &DynMesh, q: &[Quadric], stamp: &[u32], a: u32, b: u32| -> Entry {
        let (a, b) = (a.min(b), a.max(b));
        let mut qq = q[a as usize];
        qq.add(&q[b as usize]);
        let (pa, pb) = (dm.pos[a as usize], dm.pos[b as usize]);
        let mid = scale(add(pa, pb), 0.5);
        let mut best = (qq.eval(mid), mid);
        for p in [pa, pb] {
            let c = qq.eval(p);
            if c < best.0 {
                best = (c, p);
            }
        }
        if let Some(p) = qq.optimum() {
            let c = qq.eval(p);
            // Guard against far-away optima of nearly singular systems.
            let reach = norm(super::topology::sub(pa, pb)) * 2.0 + 1e-9;
            if c < best.0 && norm(super::topology::sub(p, mid)) <= reach {
                best = (c, p);
            }
        }
        Entry {
            cost: best.0.max(0.0),
            a,
            b,
            sa: stamp[a as usize],
            sb: stamp[b as usize],
            p: best.1,
        }
    };
    for (a, b) in dm.edges() {
        heap.push(candidate(&dm, &q, &stamp, a, b));
    }
    let mut tri_count = mesh.triangles.len();
    let mut collapses = 0usize;
    let dev2 = params.max_deviation_mm * params.max_deviation_mm;
    while tri_count > params.target_triangles {
        let Some(e) = heap.pop() else { break };
        let (a, b) = (e.a, e.b);
        if !dm.vertex_alive[a as usize] || !dm.vertex_alive[b as usize] {
            continue;
        }
        if stamp[a as usize] != e.sa || stamp[b as usize] != e.sb {
            continue;
        }
        if dm.boundary[a as usize] || dm.boundary[b as usize] {
            continue;
        }
        if !dm.collapse_ok_topology(a, b) || !dm.collapse_ok_geometry(a, b, e.p, 0.2) {
            continue;
        }
        // Deviation: new vertex and the centroids of its surviving triangles.
        let mut ok = grid.closest(e.p).is_some_and(|(_, d2, _)| d2 <= dev2);
        if ok {
            'outer: for v in [a, b] {
                for &t in &dm.vt[v as usize] {
                    let tri = dm.tris[t as usize];
                    if tri.contains(&a) && tri.contains(&b) {
                        continue;
                    }
                    let mut c = [0.0; 3];
                    for w in tri {
                        c = add(
                            c,
                            if w == a || w == b {
                                e.p
                            } else {
                                dm.pos[w as usize]
                            },
                        );
                    }
                    c = scale(c, 1.0 / 3.0);
                    if !grid.closest(c).is_some_and(|(_, d2, _)| d2 <= dev2) {
                        ok = false;
                        break 'outer;
                    }
                }
            }
        }
        if !ok {
            continue;
        }
        dm.collapse(a, b, e.p);
        let qa = q[a as usize];
        q[b as usize].add(&qa);
        stamp[b as usize] += 1;
        stamp[a as usize] += 1;
        tri_count -= 2;
        collapses += 1;
        if collapses.is_multiple_of(1024) {
            let total = mesh.triangles.len().saturating_sub(params.target_triangles);
            if !progress.report((2 * collapses).min(total), total) {
                return Err(DecimateError::Cancelled);
            }
        }
        for w in dm.neighbours(b) {
            heap.push(candidate(&dm, &q, &stamp, b, w));
        }
    }
    let out = dm.into_mesh();
    let dev = two_sided_deviation(mesh, &grid, &out);
    let report = DecimateReport {
        triangles_before: mesh.triangles.len(),
        triangles_after: out.triangles.len(),
        max_deviation_mm: dev,
        reached_target: out.triangles.len() <= params.target_triangles,
        collapses,
    };
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::topology::{is_closed_oriented, signed_volume, testutil::icosphere};

    #[test]
    fn sphere_decimates_to_target_closed() {
        let m = icosphere(20.0, 4); // 5120 triangles
        let (out, rep) = decimate(
            &m,
            &DecimateParams {
                target_triangles: 1000,
                max_deviation_mm: 0.5,
            },
        )
        .expect("ok");
        assert!(rep.reached_target, "{rep:?}");
        assert!(is_closed_oriented(&out.triangles));
        let v0 = signed_volume(&m.positions_mm, &m.triangles);
        let v1 = signed_volume(&out.positions_mm, &out.triangles);
        assert!(((v1 - v0) / v0).abs() < 0.02, "{v0} {v1}");
    }

    #[test]
    fn zero_bound_keeps_curved_surface() {
        let m = icosphere(20.0, 2);
        let (out, rep) = decimate(
            &m,
            &DecimateParams {
                target_triangles: 10,
                max_deviation_mm: 0.0,
            },
        )
        .expect("ok");
        assert!(!rep.reached_target);
        assert_eq!(out.triangles.len(), m.triangles.len());
    }
}
