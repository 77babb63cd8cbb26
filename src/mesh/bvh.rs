//! Bounding-volume hierarchy over triangles: closest point, ray cast, box queries and
//! triangle–triangle intersection.
//!
//! Built by median split of triangle centroids along the longest axis of their bounds,
//! with ties broken by triangle index, so the tree is the same on every platform. The
//! BVH copies the triangle corners (72 bytes per triangle) and does not borrow the mesh.

use super::io::{validate, MeshError};
use super::Mesh;

const LEAF_SIZE: usize = 4;

#[derive(Clone, Copy, Debug)]
struct Node {
    min: [f64; 3],
    max: [f64; 3],
    /// Leaf: first index into `order`; inner: index of the left child (right = +1).
    first: u32,
    /// Triangles in a leaf; 0 for an inner node.
    count: u32,
}

/// A BVH over the triangles of one mesh (positions in mm).
#[derive(Clone, Debug, Default)]
pub struct Bvh {
    nodes: Vec<Node>,
    /// Triangle indices in leaf order.
    order: Vec<u32>,
    /// Corners of triangle `order[i]` at `corners[i]`.
    corners: Vec<[[f64; 3]; 3]>,
}

/// Where on a triangle the closest point lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Corner `k` (0..3).
    Vertex(u8),
    /// Edge from corner `k` to corner `(k + 1) % 3`.
    Edge(u8),
    /// Interior.
    Face,
}

/// Result of a closest-point query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClosestHit {
    /// Triangle index in the mesh.
    pub triangle: u32,
    /// Closest point on the mesh (mm).
    pub point_mm: [f64; 3],
    /// Distance from the query point (mm).
    pub distance_mm: f64,
    /// Feature of the triangle the point lies on.
    pub feature: Feature,
}

/// Result of a ray cast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RayHit {
    /// Triangle index in the mesh.
    pub triangle: u32,
    /// Ray parameter: hit = origin + t·direction (mm when the direction is unit length).
    pub t: f64,
    /// Hit point (mm).
    pub point_mm: [f64; 3],
    /// Barycentric weights of the three corners.
    pub barycentric: [f64; 3],
}

#[inline]
pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline]
pub(crate) fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
#[inline]
pub(crate) fn scale(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}
#[inline]
pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline]
pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn box_dist2(min: &[f64; 3], max: &[f64; 3], p: [f64; 3]) -> f64 {
    let mut d2 = 0.0;
    for i in 0..3 {
        let d = if p[i] < min[i] {
            min[i] - p[i]
        } else if p[i] > max[i] {
            p[i] - max[i]
        } else {
            0.0
        };
        d2 += d * d;
    }
    d2
}

/// Closest point on triangle `c` to `p` (Ericson, Real-Time Collision Detection 5.1.5).
pub fn closest_point_on_triangle(p: [f64; 3], c: &[[f64; 3]; 3]) -> ([f64; 3], Feature) {
    let (a, b, cc) = (c[0], c[1], c[2]);
    let ab = sub(b, a);
    let ac = sub(cc, a);
    let ap = sub(p, a);
    let d1 = dot(ab, ap);
    let d2 = dot(ac, ap);
    if d1 <= 0.0 && d2 <= 0.0 {
        return (a, Feature::Vertex(0));
    }
    let bp = sub(p, b);
    let d3 = dot(ab, bp);
    let d4 = dot(ac, bp);
    if d3 >= 0.0 && d4 <= d3 {
        return (b, Feature::Vertex(1));
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        let v = d1 / (d1 - d3);
        return (add(a, scale(ab, v)), Feature::Edge(0));
    }
    let cp = sub(p, cc);
    let d5 = dot(ab, cp);
    let d6 = dot(ac, cp);
    if d6 >= 0.0 && d5 <= d6 {
        return (cc, Feature::Vertex(2));
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        let w = d2 / (d2 - d6);
        return (add(a, scale(ac, w)), Feature::Edge(2));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        return (add(b, scale(sub(cc, b), w)), Feature::Edge(1));
    }
    let denom = va + vb + vc;
    if denom == 0.0 || denom.is_nan() {
        // Degenerate triangle: fall back to the closest corner.
        let mut best = (a, Feature::Vertex(0));
        let mut bd = dot(ap, ap);
        for (k, q) in [(1u8, b), (2, cc)] {
            let d = dot(sub(p, q), sub(p, q));
            if d < bd {
                bd = d;
                best = (q, Feature::Vertex(k));
            }
        }
        return best;
    }
    let v = vb / denom;
    let w = vc / denom;
    (add(a, add(scale(ab, v), scale(ac, w))), Feature::Face)
}

/// Ray–triangle intersection (Möller–Trumbore, both sides): `(t, u, v)` with
/// hit = a + u·(b−a) + v·(c−a).
pub fn ray_triangle(origin: [f64; 3], dir: [f64; 3], c: &[[f64; 3]; 3]) -> Option<(f64, f64, f64)> {
    let e1 = sub(c[1], c[0]);
    let e2 = sub(c[2], c[0]);
    let pv = cross(dir, e2);
    let det = dot(e1, pv);
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    let inv = 1.0 / det;
    let tv = sub(origin, c[0]);
    let u = dot(tv, pv) * inv;
    if !(0.0..=1.0).contains(&u) {
        return None;
    }
    let qv = cross(tv, e1);
    let v = dot(dir, qv) * inv;
    if v < 0.0 || u + v > 1.0 {
        return None;
    }
    Some((dot(e2, qv) * inv, u, v))
}

/// True when two triangles cross (an edge of one passes through the interior of the
/// other). Touching at a point or along an edge, and coplanar overlap, are not counted.
pub fn triangles_intersect(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> bool {
    const EPS: f64 = 1e-12;
    let seg_hits = |s: &[[f64; 3]; 3], t: &[[f64; 3]; 3]| {
        (0..3).any(|k| {
            let (p, q) = (s[k], s[(k + 1) % 3]);
            let d = sub(q, p);
            match ray_triangle(p, d, t) {
                Some((tt, u, v)) => {
                    tt > EPS && tt < 1.0 - EPS && u > EPS && v > EPS && u + v < 1.0 - EPS
                }
                None => false,
            }
        })
    };
    seg_hits(a, b) || seg_hits(b, a)
}

impl Bvh {
    /// Builds the BVH. Fails on invalid indices or non-finite positions.
    pub fn build(mesh: &Mesh) -> Result<Bvh, MeshError> {
        validate(mesh)?;
        let n = mesh.triangles.len();
        let tri_corners: Vec<[[f64; 3]; 3]> = mesh
            .triangles
            .iter()
            .map(|t| t.map(|v| mesh.positions_mm[v as usize]))
            .collect();
        let cent: Vec<[f64; 3]> = tri_corners
            .iter()
            .map(|c| [0, 1, 2].map(|i| (c[0][i] + c[1][i] + c[2][i]) / 3.0))
            .collect();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut nodes: Vec<Node> = Vec::with_capacity(2 * n / LEAF_SIZE + 1);
        if n == 0 {
            return Ok(Bvh::default());
        }
        nodes.push(Node {
            min: [0.0; 3],
            max: [0.0; 3],
            first: 0,
            count: 0,
        });
        let mut stack: Vec<(usize, usize, usize)> = vec![(0, 0, n)];
        while let Some((ni, s, e)) = stack.pop() {
            let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
            let (mut clo, mut chi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
            for &t in &order[s..e] {
                for p in &tri_corners[t as usize] {
                    for i in 0..3 {
                        lo[i] = lo[i].min(p[i]);
                        hi[i] = hi[i].max(p[i]);
                    }
                }
                let c = cent[t as usize];
                for i in 0..3 {
                    clo[i] = clo[i].min(c[i]);
                    chi[i] = chi[i].max(c[i]);
                }
            }
            nodes[ni].min = lo;
            nodes[ni].max = hi;
            if e - s <= LEAF_SIZE {
                nodes[ni].first = s as u32;
                nodes[ni].count = (e - s) as u32;
                continue;
            }
            let mut axis = 0;
            for i in 1..3 {
                if chi[i] - clo[i] > chi[axis] - clo[axis] {
                    axis = i;
                }
            }
            let mid = (s + e) / 2;
            order[s..e].select_nth_unstable_by(mid - s, |&a, &b| {
                cent[a as usize][axis]
                    .total_cmp(&cent[b as usize][axis])
                    .then(a.cmp(&b))
            });
            let left = nodes.len();
            nodes.push(Node {
                min: [0.0; 3],
                max: [0.0; 3],
                first: 0,
                count: 0,
            });
            nodes.push(Node {
                min: [0.0; 3],
                max: [0.0; 3],
                first: 0,
                count: 0,
            });
            nodes[ni].first = left as u32;
            nodes[ni].count = 0;
            stack.push((left + 1, mid, e));
            stack.push((left, s, mid));
        }
        let corners = order.iter().map(|&t| tri_corners[t as usize]).collect();
        Ok(Bvh {
            nodes,
            order,
            corners,
        })
    }

    /// Number of triangles indexed.
    pub fn triangle_count(&self) -> usize {
        self.order.len()
    }

    /// Closest point on the mesh to `p` (mm); `None` for an empty mesh or a non-finite point.
    pub fn closest_point(&self, p: [f64; 3]) -> Option<ClosestHit> {
        self.closest_point_within(p, f64::INFINITY)
    }

    /// Closest point no farther than `max_distance_mm`.
    pub fn closest_point_within(&self, p: [f64; 3], max_distance_mm: f64) -> Option<ClosestHit> {
        if self.nodes.is_empty() || !p.iter().all(|c| c.is_finite()) {
            return None;
        }
        let mut best_d2 = if max_distance_mm.is_finite() {
            max_distance_mm * max_distance_mm
        } else {
            f64::INFINITY
        };
        let mut best: Option<(usize, [f64; 3], Feature)> = None;
        let root = &self.nodes[0];
        let mut stack: Vec<(u32, f64)> = Vec::with_capacity(64);
        stack.push((0, box_dist2(&root.min, &root.max, p)));
        while let Some((ni, nd2)) = stack.pop() {
            if nd2 > best_d2 {
                continue;
            }
            let node = &self.nodes[ni as usize];
            if node.count > 0 {
                let s = node.first as usize;
                for i in s..s + node.count as usize {
                    let (q, f) = closest_point_on_triangle(p, &self.corners[i]);
                    let d = sub(q, p);
                    let d2 = dot(d, d);
                    let better = d2 < best_d2
                        || (d2 == best_d2
                            && best.is_none_or(|(bi, _, _)| self.order[i] < self.order[bi]));
                    if better {
                        best_d2 = d2;
                        best = Some((i, q, f));
                    }
                }
            } else {
                let (l, r) = (node.first, node.first + 1);
                let dl = box_dist2(&self.nodes[l as usize].min, &self.nodes[l as usize].max, p);
                let dr = box_dist2(&self.nodes[r as usize].min, &self.nodes[r as usize].max, p);
                if dl <= dr {
                    stack.push((r, dr));
                    stack.push((l, dl));
                } else {
                    stack.push((l, dl));
                    stack.push((r, dr));
                }
            }
        }
        best.map(|(i, q, f)| ClosestHit {
            triangle: self.order[i],
            point_mm: q,
            distance_mm: best_d2.sqrt(),
            feature: f,
        })
    }

    /// First hit of the ray `origin + t·direction`, `0 ≤ t ≤ max_t` (either triangle side).
    pub fn ray_cast(&self, origin: [f64; 3], direction: [f64; 3], max_t: f64) -> Option<RayHit> {
        if self.nodes.is_empty() || !origin.iter().chain(direction.iter()).all(|c| c.is_finite()) {
            return None;
        }
        let inv = direction.map(|d| 1.0 / d);
        let slab = |n: &Node, tmax: f64| -> Option<f64> {
            let (mut t0, mut t1) = (0.0f64, tmax);
            for i in 0..3 {
                let (mut a, mut b) = (
                    (n.min[i] - origin[i]) * inv[i],
                    (n.max[i] - origin[i]) * inv[i],
                );
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                if a.is_nan() || b.is_nan() {
                    // direction component 0 and origin on the slab boundary
                    if origin[i] < n.min[i] || origin[i] > n.max[i] {
                        return None;
                    }
                    continue;
                }
                t0 = t0.max(a);
                t1 = t1.min(b);
            }
            (t0 <= t1).then_some(t0)
        };
        let mut best_t = max_t;
        let mut best: Option<(usize, f64, f64)> = None;
        let mut stack = vec![0u32];
        while let Some(ni) = stack.pop() {
            let node = &self.nodes[ni as usize];
            if slab(node, best_t).is_none() {
                continue;
            }
            if node.count > 0 {
                let s = node.first as usize;
                for i in s..s + node.count as usize {
                    if let Some((t, u, v)) = ray_triangle(origin, direction, &self.corners[i]) {
                        let better = t >= 0.0
                            && (t < best_t
                                || (t == best_t
                                    && best
                                        .is_none_or(|(bi, _, _)| self.order[i] < self.order[bi])));
                        if better {
                            best_t = t;
                            best = Some((i, u, v));
                        }
                    }
                }
            } else {
                stack.push(node.first + 1);
                stack.push(node.first);
            }
        }
        best.map(|(i, u, v)| RayHit {
            triangle: self.order[i],
            t: best_t,
            point_mm: add(origin, scale(direction, best_t)),
            barycentric: [1.0 - u - v, u, v],
        })
    }

    /// Triangles whose bounding boxes overlap the box `[min_mm, max_mm]`, ascending.
    pub fn query_box(&self, min_mm: [f64; 3], max_mm: [f64; 3], out: &mut Vec<u32>) {
        out.clear();
        if self.nodes.is_empty() {
            return;
        }
        let overlaps =
            |lo: &[f64; 3], hi: &[f64; 3]| (0..3).all(|i| lo[i] <= max_mm[i] && hi[i] >= min_mm[i]);
        let mut stack = vec![0u32];
        while let Some(ni) = stack.pop() {
            let node = &self.nodes[ni as usize];
            if !overlaps(&node.min, &node.max) {
                continue;
            }
            if node.count > 0 {
                let s = node.first as usize;
                for i in s..s + node.count as usize {
                    let c = &self.corners[i];
                    let lo = [0, 1, 2].map(|k| c[0][k].min(c[1][k]).min(c[2][k]));
                    let hi = [0, 1, 2].map(|k| c[0][k].max(c[1][k]).max(c[2][k]));
                    if overlaps(&lo, &hi) {
                        out.push(self.order[i]);
                    }
                }
            } else {
                stack.push(node.first + 1);
                stack.push(node.first);
            }
        }
        out.sort_unstable();
    }
}

/// Counts pairs of triangles that cross each other (pairs sharing a vertex index are
/// skipped; coplanar overlaps are not detected). Stops after `cap` pairs; returns
/// `(count, capped)`.
pub fn self_intersections(mesh: &Mesh, cap: usize) -> Result<(usize, bool), MeshError> {
    let bvh = Bvh::build(mesh)?;
    let mut count = 0;
    let mut cand = Vec::new();
    for (i, ti) in mesh.triangles.iter().enumerate() {
        let ci = ti.map(|v| mesh.positions_mm[v as usize]);
        let lo = [0, 1, 2].map(|k| ci[0][k].min(ci[1][k]).min(ci[2][k]));
        let hi = [0, 1, 2].map(|k| ci[0][k].max(ci[1][k]).max(ci[2][k]));
        bvh.query_box(lo, hi, &mut cand);
        for &j in cand.iter().filter(|&&j| j as usize > i) {
            let tj = mesh.triangles[j as usize];
            if ti.iter().any(|v| tj.contains(v)) {
                continue;
            }
            let cj = tj.map(|v| mesh.positions_mm[v as usize]);
            if triangles_intersect(&ci, &cj) {
                count += 1;
                if count >= cap {
                    return Ok((count, true));
                }
            }
        }
    }
    Ok((count, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRI: [[f64; 3]; 3] = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]];

    #[test]
    fn closest_point_on_triangle_classifies_each_region() {
        assert_eq!(
            closest_point_on_triangle([-1.0, -1.0, 3.0], &TRI),
            ([0.0; 3], Feature::Vertex(0))
        );
        assert_eq!(
            closest_point_on_triangle([5.0, -1.0, 0.0], &TRI),
            ([2.0, 0.0, 0.0], Feature::Vertex(1))
        );
        assert_eq!(
            closest_point_on_triangle([-1.0, 5.0, 0.0], &TRI),
            ([0.0, 2.0, 0.0], Feature::Vertex(2))
        );
        assert_eq!(
            closest_point_on_triangle([1.0, -3.0, 1.0], &TRI),
            ([1.0, 0.0, 0.0], Feature::Edge(0))
        );
        assert_eq!(
            closest_point_on_triangle([2.0, 2.0, 0.0], &TRI),
            ([1.0, 1.0, 0.0], Feature::Edge(1))
        );
        assert_eq!(
            closest_point_on_triangle([-4.0, 1.0, 0.0], &TRI),
            ([0.0, 1.0, 0.0], Feature::Edge(2))
        );
        assert_eq!(
            closest_point_on_triangle([0.5, 0.5, -7.0], &TRI),
            ([0.5, 0.5, 0.0], Feature::Face)
        );
        let line = [[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
        let (q, _) = closest_point_on_triangle([3.0, 1.0, 0.0], &line);
        assert!(q.iter().all(|c| c.is_finite()));
    }

    #[test]
    fn crossing_triangles_intersect_and_touching_ones_do_not() {
        let crossing = [[0.5, 0.5, -1.0], [0.5, 0.5, 1.0], [3.0, 3.0, 0.0]];
        assert!(triangles_intersect(&TRI, &crossing));
        let touching = [[0.5, 0.5, 0.0], [0.5, 0.5, 1.0], [3.0, 3.0, 1.0]];
        assert!(!triangles_intersect(&TRI, &touching));
        let apart = TRI.map(|p| [p[0], p[1], p[2] + 1.0]);
        assert!(!triangles_intersect(&TRI, &apart));
    }
}
