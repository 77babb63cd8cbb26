//! Outline simplification of a layer's polygons before contouring and hatching
//! (Douglas–Peucker on closed rings, with a topology guard).
//!
//! Units and spaces: the 0.1 µm integer grid of [`crate::print::slice`]; the tolerance is
//! given in µm ([`SimplifyParams::tolerance_um`]) and compared in grid units.
//!
//! Why: marching-cubes surfaces sliced at 30 µm give outlines of many short edges (≈ 780
//! edges per talus layer, mean 0.13 mm), most of them nearly collinear with their
//! neighbours, and the contour offsets ([`crate::print::inset`]) cost in proportion to the
//! edges. Removing the vertices that lie within a few µm of the chord that replaces them
//! changes the scanned geometry far below the 0.3 mm voxels of the CT and the ≈ 70 µm
//! laser spot.
//!
//! Why Douglas–Peucker: its one guarantee is the one a print needs — every removed vertex
//! (and so, the distance to a segment being convex, every point of the removed chain) is
//! within the tolerance of its chord, and every point of a chord is within the tolerance
//! of the chain it replaces (the chain runs from one end of the chord to the other, so
//! some point of it projects onto each point of the chord, at most the tolerance away).
//! So the Hausdorff distance between a ring and its simplification is at most the
//! tolerance. Visvalingam ranks vertices by triangle area, which bounds no distance, and a
//! tolerance band (Reumann–Witkam) keeps more vertices for the same bound. Kept vertices
//! are original grid points, so nothing is rounded.
//!
//! Rings: each ring is split at its first vertex (the lowest (y, x) point, a corner of the
//! convex hull, so [`crate::print::slice::Polygon::points`] keeps its start) and at the
//! vertex farthest from it; both chains are simplified with an explicit stack. The
//! distance to a chord is computed in `f64` from exact `i64` differences (the slicer keeps
//! coordinates within ±2^29 units), with only `+ − × ÷`, so the kept vertices are the same
//! natively and in wasm; ties keep the first vertex.
//!
//! Topology guard: Douglas–Peucker alone can make a ring cross itself or a neighbouring
//! ring (a hole, a nearby island) where two outlines come within twice the tolerance.
//! Each layer is therefore checked exactly on the integer grid and a ring falls back to
//! its outline as sliced (all vertices) when its simplification
//!
//! * has fewer than 3 vertices, turns the other way or encloses no area;
//! * changes the area by more than `tolerance × perimeter` (the area of a band of the
//!   tolerance's width along the original outline);
//! * has an edge that meets an edge of any ring of the layer (itself included) other than
//!   its neighbours at their common vertex (a sweep over the edges' x ranges); pairs of
//!   rings that are both as sliced are not tested against each other (the slicer's
//!   touching loops stay as they are);
//!
//! and the checks are repeated until no ring falls back (each round only restores rings,
//! so it ends). If the nesting of the layer (each ring's parent, as the slicer assigns it)
//! still differs, every ring of the layer keeps its sliced outline. Tolerance 0 leaves a
//! layer untouched (the outlines of links written before the setting).
//!
//! Tolerance, measured on the `pipeline_build` plate (mirrored phantom talus at 95/100/105 %
//! and two coupons, 30 µm, 3,365 layers, 923 edges a layer as sliced; no ring refused by
//! the guard at any tolerance; Hausdorff distance = the tolerance; hatching natively):
//!
//! | µm | edges a layer | removed | largest layer-area change | hatch step |
//! |---|---|---|---|---|
//! | 0 | 923 | – | – | 2.30 s |
//! | 1 | 735 | 20 % | 0.010 mm² | 1.83 s |
//! | 2 | 632 | 32 % | 0.019 mm² | 1.53 s |
//! | 3 | 556 | 40 % | 0.033 mm² | 1.28 s |
//! | 5 | 448 | 51 % | 0.056 mm² | 1.03 s |
//! | 10 | 305 | 67 % | 0.18 mm² | 0.75 s |
//! | 20 | 203 | 78 % | 0.58 mm² | 0.60 s |
//!
//! New ops record 5 µm (`design::print_ops::DEFAULT_OUTLINE_TOLERANCE_UM`): half the
//! edges, a fourteenth of the laser spot and a tenth of the beam offset; beyond it the
//! gain flattens while the outline moves further from the surface as computed.

use super::slice::{
    assign_parents, small_point, twice_area, zero_area_layers, Layer, Polygon, Slices, UNITS_PER_MM,
};

/// Largest accepted tolerance (µm): a fifth of the narrowest hatch spacing and well
/// inside the ≈ 70 µm laser spot.
pub const MAX_TOLERANCE_UM: f64 = 20.0;

/// Parameters of [`simplify_slices`].
#[derive(Clone, Debug, PartialEq)]
pub struct SimplifyParams {
    /// Largest distance (µm) of a removed outline point from the simplified outline,
    /// 0–[`MAX_TOLERANCE_UM`]; 0 keeps the outlines as sliced.
    pub tolerance_um: f64,
}

/// Why a tolerance cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimplifyError {
    #[error("outline tolerance {tolerance_um} µm is outside 0–{MAX_TOLERANCE_UM} µm; use a few µm (0 keeps the outlines as sliced)")]
    Tolerance { tolerance_um: f64 },
}

impl SimplifyParams {
    /// Checks the tolerance range.
    pub fn validate(&self) -> Result<(), SimplifyError> {
        if !(self.tolerance_um.is_finite() && (0.0..=MAX_TOLERANCE_UM).contains(&self.tolerance_um))
        {
            return Err(SimplifyError::Tolerance {
                tolerance_um: self.tolerance_um,
            });
        }
        Ok(())
    }

    /// Tolerance in grid units.
    fn tolerance_units(&self) -> f64 {
        self.tolerance_um * UNITS_PER_MM / 1000.0
    }
}

/// What a simplification did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimplifyStats {
    /// Rings looked at.
    pub rings: usize,
    /// Rings that lost vertices.
    pub rings_simplified: usize,
    /// Rings whose simplification a check refused (they keep the outline as sliced).
    pub rings_restored: usize,
    /// Vertices (= edges) before and after.
    pub vertices_before: usize,
    pub vertices_after: usize,
}

impl SimplifyStats {
    fn add(&mut self, o: SimplifyStats) {
        self.rings += o.rings;
        self.rings_simplified += o.rings_simplified;
        self.rings_restored += o.rings_restored;
        self.vertices_before += o.vertices_before;
        self.vertices_after += o.vertices_after;
    }
}

/// Simplifies every layer of `slices` in place (see the module doc) and updates the
/// polygon and layer areas and the zero-area layers. Tolerance 0 changes nothing.
pub fn simplify_slices(
    slices: &mut Slices,
    params: &SimplifyParams,
) -> Result<SimplifyStats, SimplifyError> {
    let stats = simplify_layers(&mut slices.layers, params)?;
    if params.tolerance_um > 0.0 {
        slices.zero_area_layers = zero_area_layers(&slices.layers);
    }
    Ok(stats)
}

/// Simplifies each of `layers` in place (see [`simplify_layer`]).
pub fn simplify_layers(
    layers: &mut [Layer],
    params: &SimplifyParams,
) -> Result<SimplifyStats, SimplifyError> {
    params.validate()?;
    let mut stats = SimplifyStats::default();
    if params.tolerance_um == 0.0 {
        return Ok(stats);
    }
    // Layers are independent: contiguous runs, several per pool thread with `parallel`
    // (one run without); the counts add up the same in any order.
    let tolerance = params.tolerance_units();
    let run = layers.len().div_ceil(4 * crate::parallel::threads()).max(1);
    let runs = crate::parallel::map_vec(layers.chunks_mut(run).collect(), |run| {
        let mut stats = SimplifyStats::default();
        for layer in run {
            stats.add(simplify_layer(layer, tolerance));
        }
        stats
    });
    for r in runs {
        stats.add(r);
    }
    Ok(stats)
}

/// Simplifies the polygons of one layer with `tolerance` grid units (> 0), guarded as the
/// module doc says; parents are kept, areas updated.
pub fn simplify_layer(layer: &mut Layer, tolerance: f64) -> SimplifyStats {
    let original = &layer.polygons;
    let mut stats = SimplifyStats {
        rings: original.len(),
        ..SimplifyStats::default()
    };
    // Candidate per ring: `None` keeps the ring as sliced.
    let mut attempted = 0usize;
    let mut candidate: Vec<Option<Vec<[i64; 2]>>> = original
        .iter()
        .map(|p| {
            let kept = simplify_ring(&p.points, tolerance);
            if kept.len() == p.points.len() {
                return None;
            }
            attempted += 1;
            let ring: Vec<[i64; 2]> = kept.iter().map(|&i| p.points[i]).collect();
            ring_keeps_shape(&p.points, &ring, tolerance).then_some(ring)
        })
        .collect();
    loop {
        let rings: Vec<&[[i64; 2]]> = original
            .iter()
            .zip(&candidate)
            .map(|(p, c)| c.as_deref().unwrap_or(&p.points))
            .collect();
        let simplified: Vec<bool> = candidate.iter().map(Option::is_some).collect();
        let bad = crossing_rings(&rings, &simplified);
        if bad.iter().all(|b| !b) {
            break;
        }
        for (c, b) in candidate.iter_mut().zip(bad) {
            if b {
                *c = None;
            }
        }
    }
    let mut polygons: Vec<Polygon> = original
        .iter()
        .zip(&candidate)
        .map(|(p, c)| match c {
            Some(ring) => Polygon {
                points: ring.clone(),
                is_hole: p.is_hole,
                parent: None,
                area_mm2: twice_area(ring) as f64 / (2.0 * UNITS_PER_MM * UNITS_PER_MM),
            },
            None => p.clone(),
        })
        .collect();
    assign_parents(&mut polygons);
    let nested_alike = polygons
        .iter()
        .zip(original)
        .all(|(a, b)| a.parent == b.parent);
    if !nested_alike {
        candidate.iter_mut().for_each(|c| *c = None);
        polygons = original.clone();
    }
    stats.vertices_before = original.iter().map(|p| p.points.len()).sum();
    stats.vertices_after = polygons.iter().map(|p| p.points.len()).sum();
    stats.rings_simplified = candidate.iter().filter(|c| c.is_some()).count();
    stats.rings_restored = attempted - stats.rings_simplified;
    layer.area_mm2 = polygons.iter().map(|p| p.area_mm2).sum();
    layer.polygons = polygons;
    stats
}

/// Indices (ascending, starting with 0) of the vertices of the closed ring `points` that
/// Douglas–Peucker keeps with `tolerance` grid units. Rings of fewer than 4 vertices, or
/// with a coordinate beyond ±2^29 units, keep every vertex.
pub fn simplify_ring(points: &[[i64; 2]], tolerance: f64) -> Vec<usize> {
    let n = points.len();
    if n < 4 || tolerance.is_nan() || tolerance <= 0.0 || !points.iter().all(|&p| small_point(p)) {
        return (0..n).collect();
    }
    let start = points[0];
    let d2 = |p: [i64; 2]| {
        let (dx, dy) = (p[0] - start[0], p[1] - start[1]);
        dx * dx + dy * dy
    };
    let mut far = 1;
    for i in 2..n {
        if d2(points[i]) > d2(points[far]) {
            far = i;
        }
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[far] = true;
    let tol2 = tolerance * tolerance;
    // Chains as (first, last) positions along the ring; position n is vertex 0 again.
    let mut stack = vec![(0usize, far), (far, n)];
    while let Some((a, b)) = stack.pop() {
        if b - a < 2 {
            continue;
        }
        let chord = Chord::new(points[a], points[b % n]);
        let mut worst = (0.0f64, 0usize);
        for (i, &p) in points.iter().enumerate().take(b).skip(a + 1) {
            let d = chord.scaled_distance2(p);
            if d > worst.0 {
                worst = (d, i);
            }
        }
        if worst.0 > tol2 * chord.scale {
            keep[worst.1] = true;
            stack.push((worst.1, b));
            stack.push((a, worst.1));
        }
    }
    (0..n).filter(|&i| keep[i]).collect()
}

/// A chord `a b` of a ring, for distances scaled by its squared length (no division per
/// point).
struct Chord {
    a: [i64; 2],
    b: [i64; 2],
    d: [i64; 2],
    len2: i64,
    /// The factor of [`Chord::scaled_distance2`]: |ab|² (1 when a = b).
    scale: f64,
}

impl Chord {
    fn new(a: [i64; 2], b: [i64; 2]) -> Chord {
        let d = [b[0] - a[0], b[1] - a[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        Chord {
            a,
            b,
            d,
            len2,
            scale: len2.max(1) as f64,
        }
    }

    /// Squared distance (grid units²) from `p` to the segment, times `scale`.
    fn scaled_distance2(&self, p: [i64; 2]) -> f64 {
        let (px, py) = (p[0] - self.a[0], p[1] - self.a[1]);
        let dot = px * self.d[0] + py * self.d[1];
        if dot <= 0 {
            return (px * px + py * py) as f64 * self.scale;
        }
        if dot >= self.len2 {
            let (qx, qy) = (p[0] - self.b[0], p[1] - self.b[1]);
            return (qx * qx + qy * qy) as f64 * self.scale;
        }
        let cross = (px * self.d[1] - py * self.d[0]) as f64;
        cross * cross
    }
}

/// Whether `simplified` keeps the sense and, within `tolerance × perimeter`, the area of
/// `original` and has at least 3 vertices.
fn ring_keeps_shape(original: &[[i64; 2]], simplified: &[[i64; 2]], tolerance: f64) -> bool {
    if simplified.len() < 3 {
        return false;
    }
    let (a0, a1) = (twice_area(original), twice_area(simplified));
    if a1 == 0 || (a0 > 0) != (a1 > 0) {
        return false;
    }
    // A chord is never longer than the chain it replaces, so the simplified perimeter is
    // a lower bound of the original's: the longer sum is only needed near the bound.
    let change = (a0 - a1).unsigned_abs() as f64;
    change <= 2.0 * tolerance * perimeter(simplified)
        || change <= 2.0 * tolerance * perimeter(original)
}

/// Length of a closed ring (grid units).
fn perimeter(points: &[[i64; 2]]) -> f64 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            let (dx, dy) = ((b[0] - a[0]) as f64, (b[1] - a[1]) as f64);
            // `sqrt`, not `hypot`: hypot comes from the platform's libm and may differ in
            // the last bit between native and wasm.
            (dx * dx + dy * dy).sqrt()
        })
        .sum()
}

/// One edge of a ring for the crossing sweep.
struct Edge {
    ring: usize,
    index: usize,
    a: [i64; 2],
    b: [i64; 2],
    x_max: i64,
    y_min: i64,
    y_max: i64,
}

/// For each ring, whether an edge of it meets another edge of the layer (see the module
/// doc); pairs in which neither ring is `simplified` are skipped. Exact on the grid.
pub(crate) fn crossing_rings(rings: &[&[[i64; 2]]], simplified: &[bool]) -> Vec<bool> {
    let mut bad = vec![false; rings.len()];
    let mut edges: Vec<Edge> = Vec::new();
    for (r, ring) in rings.iter().enumerate() {
        if !ring.iter().all(|&p| small_point(p)) {
            continue;
        }
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            edges.push(Edge {
                ring: r,
                index: i,
                a,
                b,
                x_max: a[0].max(b[0]),
                y_min: a[1].min(b[1]),
                y_max: a[1].max(b[1]),
            });
        }
    }
    // Sweep in x: the order among equal keys does not matter, every overlapping pair is
    // tested and the result is a set of flags.
    let mut order: Vec<(i64, u32)> = edges
        .iter()
        .enumerate()
        .map(|(k, e)| (e.a[0].min(e.b[0]), k as u32))
        .collect();
    order.sort_unstable();
    let mut active: Vec<u32> = Vec::new();
    for &(x_min, k) in &order {
        let e = &edges[k as usize];
        active.retain(|&j| edges[j as usize].x_max >= x_min);
        for &j in &active {
            let f = &edges[j as usize];
            if f.y_max < e.y_min || e.y_max < f.y_min {
                continue;
            }
            if !(simplified[e.ring] || simplified[f.ring]) || (bad[e.ring] && bad[f.ring]) {
                continue;
            }
            let meet = if e.ring == f.ring {
                let n = rings[e.ring].len();
                if (e.index + 1) % n == f.index {
                    folds_back(e.a, e.b, f.b)
                } else if (f.index + 1) % n == e.index {
                    folds_back(f.a, f.b, e.b)
                } else {
                    segments_meet(e.a, e.b, f.a, f.b)
                }
            } else {
                segments_meet(e.a, e.b, f.a, f.b)
            };
            if meet {
                for ring in [e.ring, f.ring] {
                    if simplified[ring] {
                        bad[ring] = true;
                    }
                }
            }
        }
        active.push(k);
    }
    bad
}

/// Sign of the turn a → b → c (exact: coordinates within ±2^29 units).
fn orient(a: [i64; 2], b: [i64; 2], c: [i64; 2]) -> i64 {
    ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).signum()
}

/// Whether consecutive edges a → b → c overlap beyond b (c goes back along a → b).
fn folds_back(a: [i64; 2], b: [i64; 2], c: [i64; 2]) -> bool {
    orient(a, b, c) == 0 && (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0
}

/// Whether `q` (collinear with `a b`) lies on the closed segment `a b`.
fn on_segment(a: [i64; 2], b: [i64; 2], q: [i64; 2]) -> bool {
    a[0].min(b[0]) <= q[0]
        && q[0] <= a[0].max(b[0])
        && a[1].min(b[1]) <= q[1]
        && q[1] <= a[1].max(b[1])
}

/// Whether the closed segments `a b` and `c d` have a point in common.
fn segments_meet(a: [i64; 2], b: [i64; 2], c: [i64; 2], d: [i64; 2]) -> bool {
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    let (o3, o4) = (orient(c, d, a), orient(c, d, b));
    (o1 * o2 < 0 && o3 * o4 < 0)
        || (o1 == 0 && on_segment(a, b, c))
        || (o2 == 0 && on_segment(a, b, d))
        || (o3 == 0 && on_segment(c, d, a))
        || (o4 == 0 && on_segment(c, d, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ring (grid units) as the slicer stores it: from the lowest (y, x) vertex.
    fn polygon(ring: &[[i64; 2]]) -> Polygon {
        let first = (0..ring.len())
            .min_by_key(|&i| (ring[i][1], ring[i][0]))
            .unwrap_or(0);
        let mut points = ring[first..].to_vec();
        points.extend_from_slice(&ring[..first]);
        let area2 = twice_area(&points);
        Polygon {
            points,
            is_hole: area2 < 0,
            parent: None,
            area_mm2: area2 as f64 / (2.0 * UNITS_PER_MM * UNITS_PER_MM),
        }
    }

    fn layer(rings: &[Vec<[i64; 2]>]) -> Layer {
        let mut polygons: Vec<Polygon> = rings.iter().map(|r| polygon(r)).collect();
        assign_parents(&mut polygons);
        Layer {
            index: 0,
            z_mm: 0.0,
            z_top_mm: 0.0,
            area_mm2: polygons.iter().map(|p| p.area_mm2).sum(),
            polygons,
        }
    }

    struct Lcg(u64);
    impl Lcg {
        fn unit(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A star-shaped (so simple) ring of `n` vertices about `centre`, radius `r` ± `noise`
    /// (grid units); counter-clockwise, or clockwise for a hole.
    fn noisy_circle(
        rng: &mut Lcg,
        centre: [f64; 2],
        r: f64,
        noise: f64,
        n: usize,
        hole: bool,
    ) -> Vec<[i64; 2]> {
        let mut ring: Vec<[i64; 2]> = (0..n)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / n as f64;
                let rr = r + noise * (2.0 * rng.unit() - 1.0);
                [
                    (centre[0] + rr * t.cos()).round() as i64,
                    (centre[1] + rr * t.sin()).round() as i64,
                ]
            })
            .collect();
        ring.dedup();
        if hole {
            ring.reverse();
        }
        ring
    }

    fn d_point_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let l2 = dx * dx + dy * dy;
        let t = if l2 == 0.0 {
            0.0
        } else {
            (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
        };
        (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
    }

    fn f(p: [i64; 2]) -> [f64; 2] {
        [p[0] as f64, p[1] as f64]
    }

    fn d_point_ring(p: [f64; 2], ring: &[[i64; 2]]) -> f64 {
        (0..ring.len())
            .map(|i| d_point_segment(p, f(ring[i]), f(ring[(i + 1) % ring.len()])))
            .fold(f64::INFINITY, f64::min)
    }

    /// Symmetric Hausdorff distance of two rings (grid units), by brute force: vertices of
    /// the first, and 16 points per edge of the second.
    fn hausdorff(a: &[[i64; 2]], b: &[[i64; 2]]) -> f64 {
        let ab = a.iter().map(|&p| d_point_ring(f(p), b)).fold(0.0, f64::max);
        let mut ba = 0.0f64;
        for i in 0..b.len() {
            let (p, q) = (f(b[i]), f(b[(i + 1) % b.len()]));
            for k in 0..=16 {
                let t = k as f64 / 16.0;
                let s = [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
                ba = ba.max(d_point_ring(s, a));
            }
        }
        ab.max(ba)
    }

    fn orient128(a: [i64; 2], b: [i64; 2], c: [i64; 2]) -> i128 {
        let (a, b, c) = (a.map(i128::from), b.map(i128::from), c.map(i128::from));
        ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).signum()
    }

    /// Whether any two edges of the layer meet other than neighbours at their shared
    /// vertex: brute force over every pair, independent of the sweep in the module.
    fn layer_self_touches(rings: &[&[[i64; 2]]]) -> bool {
        let mut edges = Vec::new();
        for (r, ring) in rings.iter().enumerate() {
            for i in 0..ring.len() {
                edges.push((r, i, ring[i], ring[(i + 1) % ring.len()], ring.len()));
            }
        }
        let within = |a: [i64; 2], b: [i64; 2], q: [i64; 2]| {
            a[0].min(b[0]) <= q[0]
                && q[0] <= a[0].max(b[0])
                && a[1].min(b[1]) <= q[1]
                && q[1] <= a[1].max(b[1])
        };
        for x in 0..edges.len() {
            for y in x + 1..edges.len() {
                let (r1, i1, a, b, n) = edges[x];
                let (r2, i2, c, d, _) = edges[y];
                let next = r1 == r2 && ((i1 + 1) % n == i2 || (i2 + 1) % n == i1);
                let (o1, o2, o3, o4) = (
                    orient128(a, b, c),
                    orient128(a, b, d),
                    orient128(c, d, a),
                    orient128(c, d, b),
                );
                if next {
                    // Shared vertex: bad only if the two edges lie on each other.
                    if o1 == 0 && o2 == 0 {
                        let shared = if b == c { b } else { a };
                        let (u, v) = if b == c { (a, d) } else { (b, c) };
                        let dot = (u[0] - shared[0]) * (v[0] - shared[0])
                            + (u[1] - shared[1]) * (v[1] - shared[1]);
                        if dot > 0 {
                            return true;
                        }
                    }
                    continue;
                }
                if (o1 * o2 < 0 && o3 * o4 < 0)
                    || (o1 == 0 && within(a, b, c))
                    || (o2 == 0 && within(a, b, d))
                    || (o3 == 0 && within(c, d, a))
                    || (o4 == 0 && within(c, d, b))
                {
                    return true;
                }
            }
        }
        false
    }

    fn rings_of(l: &Layer) -> Vec<&[[i64; 2]]> {
        l.polygons.iter().map(|p| p.points.as_slice()).collect()
    }

    /// 5 µm in grid units.
    const TOL: f64 = 50.0;

    #[test]
    fn tolerance_zero_leaves_the_slices_as_they_are() {
        let mut rng = Lcg(1);
        let l = layer(&[noisy_circle(&mut rng, [0.0, 0.0], 1e4, 30.0, 400, false)]);
        let mut slices = Slices {
            layers: vec![l.clone()],
            layer_um: 30.0,
            z_min_mm: 0.0,
            z_max_mm: 1.0,
            zero_area_layers: vec![],
            dropped_loops: 0,
        };
        let stats = simplify_slices(&mut slices, &SimplifyParams { tolerance_um: 0.0 }).unwrap();
        assert_eq!(slices.layers[0], l);
        assert_eq!(stats, SimplifyStats::default());
    }

    #[test]
    fn a_noisy_circle_loses_most_vertices_and_stays_within_the_tolerance() {
        let mut rng = Lcg(7);
        // 2 mm radius, 2,000 vertices (6 µm apart), ±1 µm noise.
        let ring = noisy_circle(&mut rng, [3e4, -2e4], 2e4, 10.0, 2000, false);
        let mut l = layer(std::slice::from_ref(&ring));
        let before = l.polygons[0].clone();
        let stats = simplify_layer(&mut l, TOL);
        let after = &l.polygons[0];
        assert!(after.points.len() * 4 < before.points.len(), "{stats:?}");
        assert_eq!(after.points[0], before.points[0], "the start vertex stays");
        assert!(!after.is_hole && after.area_mm2 > 0.0);
        let h = hausdorff(&before.points, &after.points);
        assert!(h <= TOL + 1e-9, "Hausdorff {h} units");
        let perimeter_mm = before.perimeter_mm();
        assert!((after.area_mm2 - before.area_mm2).abs() <= TOL / UNITS_PER_MM * perimeter_mm);
        assert_eq!(l.area_mm2, after.area_mm2);
        assert_eq!(stats.rings_simplified, 1);
    }

    #[test]
    fn kept_vertices_are_a_subsequence_from_the_first() {
        let mut rng = Lcg(3);
        let ring = noisy_circle(&mut rng, [0.0, 0.0], 5e3, 60.0, 300, false);
        let kept = simplify_ring(&ring, TOL);
        assert_eq!(kept[0], 0);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        assert!(kept.len() >= 3 && kept.len() < ring.len());
    }

    #[test]
    fn a_chord_that_would_cut_into_a_hole_keeps_the_outline_as_sliced() {
        // Outer 1 mm square whose bottom side sags 4 µm outward between x = 0.1 and 0.9
        // mm; a hole 1 µm above the sag. A 5 µm Douglas–Peucker replaces the sag by the
        // straight side at y = 0, which runs through the hole.
        let mut outer = vec![[0, 0]];
        for k in 1..=9 {
            outer.push([k * 1000, -40]);
        }
        outer.extend([[10_000, 0], [10_000, 10_000], [0, 10_000]]);
        let hole = vec![[4000, -30], [4000, 2000], [6000, 2000], [6000, -30]];
        let naive = simplify_ring(&outer, TOL);
        assert_eq!(naive.len(), 4, "the sag is within the tolerance: {naive:?}");
        let naive_ring: Vec<[i64; 2]> = naive.iter().map(|&i| outer[i]).collect();
        assert!(
            layer_self_touches(&[&naive_ring, &hole]),
            "the naive chord crosses the hole"
        );

        let mut l = layer(&[outer.clone(), hole.clone()]);
        let before = l.clone();
        let stats = simplify_layer(&mut l, TOL);
        assert!(!layer_self_touches(&rings_of(&l)));
        assert_eq!(l, before, "the outer ring keeps its sag");
        assert_eq!(stats.rings_restored, 1);
    }

    #[test]
    fn a_chord_that_would_cross_its_own_ring_is_refused() {
        // A comb: two long teeth 2 µm apart, each side a chain of points within the
        // tolerance of a straight line. Simplified alone each side becomes one chord; if
        // a tooth's tip vertex went, the ring would cross itself.
        let mut ring = vec![[0, 0], [20_000, 0], [20_000, 10_000]];
        // Right tooth down to y = 1000, its left side at x = 10_010, then the slot and
        // the left tooth's right side at x = 9_990.
        for k in 0..10 {
            ring.push([10_010 + (k % 2) * 30, 10_000 - k * 900]);
        }
        ring.push([10_010, 1000]);
        ring.push([9_990, 1000]);
        for k in 0..10 {
            ring.push([9_990 - (k % 2) * 30, 1_900 + k * 900]);
        }
        ring.push([0, 10_000]);
        let mut l = layer(&[ring]);
        assert!(
            !layer_self_touches(&rings_of(&l)),
            "the test ring is simple"
        );
        simplify_layer(&mut l, 15.0 * UNITS_PER_MM / 1000.0);
        assert!(!layer_self_touches(&rings_of(&l)));
        assert!(l.polygons[0].area_mm2 > 0.0);
    }

    #[test]
    fn tiny_and_three_point_rings_keep_their_vertices() {
        // A 2 µm hexagon would collapse to two points at 5 µm.
        let hexagon: Vec<[i64; 2]> = (0..6)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / 6.0;
                [
                    (20.0 * t.cos()).round() as i64,
                    (20.0 * t.sin()).round() as i64,
                ]
            })
            .collect();
        let triangle = vec![[1000, 1000], [2000, 1000], [1500, 1001]];
        let mut l = layer(&[hexagon, triangle]);
        let before = l.clone();
        let stats = simplify_layer(&mut l, TOL);
        assert_eq!(l, before);
        assert_eq!(stats.rings_simplified, 0);
        assert_eq!(stats.rings_restored, 1, "the hexagon was tried and refused");
    }

    #[test]
    fn random_noisy_layers_stay_simple_nested_and_within_the_tolerance() {
        let mut restored = 0;
        let mut rng = Lcg(2026);
        for case in 0..60 {
            let tol = [10.0, 30.0, 50.0, 100.0, 200.0][case % 5];
            let noise = tol * (0.2 + 2.0 * rng.unit());
            let r = 4000.0 + 4000.0 * rng.unit();
            let n = 100 + (rng.unit() * 600.0) as usize;
            let outer = noisy_circle(&mut rng, [0.0, 0.0], r, noise, n, false);
            // An annulus hole and an island in it, nearly concentric: each ring runs 2
            // units + 0–1.5 tolerances clear of the next (beyond the noise of both), so
            // the chords of the outer ring and of the hole, which cut towards the centre,
            // often reach the next ring.
            let clear = |rng: &mut Lcg| 2.0 + 2.0 * noise + tol * 1.5 * rng.unit();
            let hole_r = r - clear(&mut rng);
            let island_r = hole_r - clear(&mut rng);
            let shift = [4.0 * rng.unit(), 4.0 * rng.unit()];
            let hole = noisy_circle(&mut rng, shift, hole_r, noise, n, true);
            let island = noisy_circle(&mut rng, shift, island_r, noise, n, false);
            let mut l = layer(&[outer, hole, island]);
            assert!(
                !layer_self_touches(&rings_of(&l)),
                "case {case}: input not simple"
            );
            let before = l.clone();
            let stats = simplify_layer(&mut l, tol);
            restored += stats.rings_restored;
            assert!(
                !layer_self_touches(&rings_of(&l)),
                "case {case}: simplified rings meet"
            );
            for (a, b) in before.polygons.iter().zip(&l.polygons) {
                assert_eq!(a.parent, b.parent, "case {case}: nesting changed");
                assert_eq!(a.is_hole, b.is_hole);
                assert_eq!(a.area_mm2 > 0.0, b.area_mm2 > 0.0, "case {case}: turned");
                assert_eq!(a.points[0], b.points[0]);
                let h = hausdorff(&a.points, &b.points);
                assert!(h <= tol + 1e-9, "case {case}: Hausdorff {h} > {tol}");
                let bound = tol * a.perimeter_mm() / UNITS_PER_MM;
                assert!(
                    (a.area_mm2 - b.area_mm2).abs() <= bound,
                    "case {case}: area"
                );
            }
            assert!(stats.vertices_after < stats.vertices_before, "case {case}");
        }
        assert!(restored > 0, "the guard was exercised");
    }

    #[test]
    fn a_tolerance_out_of_range_is_refused_with_the_range() {
        for bad in [-1.0, 20.5, f64::NAN, f64::INFINITY] {
            let e = SimplifyParams { tolerance_um: bad }.validate().unwrap_err();
            assert!(e.to_string().contains("0–20 µm"), "{e}");
        }
        for ok in [0.0, 5.0, MAX_TOLERANCE_UM] {
            assert!(SimplifyParams { tolerance_um: ok }.validate().is_ok());
        }
    }
}
