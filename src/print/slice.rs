//! Sweep-plane slicing of a closed triangle mesh into layer polygons.
//!
//! Units and spaces: the mesh is in build-space millimetres (+z up from the plate, CCW
//! from outside as in [`crate::mesh`]). Layer polygons are on a scaled integer grid:
//! one unit is 0.1 µm ([`UNITS_PER_MM`] units per mm), so chaining and nesting are exact
//! integer operations and the grid is far finer than any laser spot (~50–100 µm).
//!
//! Layer planes: by default layer `k` (0-based) is sectioned at its mid height
//! `z_k = z_min + (k + 0.5)·t` with `t` the layer thickness, for
//! `k < n = ceil(H/t − 0.5)` (`H` the mesh height). So every plane lies strictly inside
//! the part's z range and a top sliver thinner than half a layer is not printed (a
//! mid-plane section would miss it anyway). [`Layer::z_top_mm`] = `z_min + (k + 1)·t`
//! is the height the machine recoats to; exports use it.
//!
//! Plane-through-vertex rule (symbolic perturbation): a vertex whose z equals the plane
//! height counts as *above* the plane, i.e. the plane is taken at `z − ε`. An edge
//! crosses the plane when one end is strictly below and the other at or above; every
//! triangle that crosses has exactly one edge going below→above and one going
//! above→below, so every crossing is decided the same way from both triangles of an edge
//! and no zero-length or duplicate segment can appear. A crossing edge whose upper end is
//! on the plane yields that vertex exactly; the consecutive equal points this gives
//! around such a vertex are merged, so the vertex appears once in the polygon. So the
//! section at height z is the section just below it (at z − ε): a unit cube cut at
//! z = 1 (its top face) gives the full square, cut at z = 0 (its bottom face) nothing.
//!
//! Algorithm: triangles sorted by their lowest z enter an active set as the plane rises
//! and leave it when their highest z is below the plane, so each layer only touches the
//! triangles it cuts. Contours are chained *topologically*: the segment of a triangle
//! ends on its below→above edge, and the next segment belongs to the neighbour across
//! that edge (neighbours come from the sorted edge table of
//! [`crate::mesh::adjacency::Adjacency`], built once). No point matching, no hashing, and
//! each crossing point is computed once, so loops always close on a watertight,
//! consistently oriented mesh. With the mesh wound outward, outer contours come out
//! counter-clockwise and holes clockwise seen from +z; each polygon's parent is the
//! smallest polygon containing it (exact integer point-in-polygon tests).

use crate::mesh::adjacency::Adjacency;
use crate::mesh::Mesh;

/// Integer grid units per millimetre (one unit = 0.1 µm).
pub const UNITS_PER_MM: f64 = 10_000.0;
/// Smallest accepted layer thickness (µm).
pub const MIN_LAYER_UM: f64 = 20.0;
/// Largest accepted layer thickness (µm).
pub const MAX_LAYER_UM: f64 = 100.0;
/// Coordinates beyond ±this many mm are refused (no build plate is that large).
pub const MAX_COORDINATE_MM: f64 = 10_000.0;

/// Parameters of [`slice`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SliceParams {
    /// Layer thickness in µm, 20–100 (default 30; 30–60 is usual for Ti-6Al-4V).
    pub layer_um: f64,
}

impl Default for SliceParams {
    fn default() -> Self {
        SliceParams { layer_um: 30.0 }
    }
}

impl SliceParams {
    /// Checks the thickness range.
    pub fn validate(&self) -> Result<(), SliceError> {
        if !(self.layer_um.is_finite() && (MIN_LAYER_UM..=MAX_LAYER_UM).contains(&self.layer_um)) {
            return Err(SliceError::LayerThickness {
                layer_um: self.layer_um,
            });
        }
        Ok(())
    }

    /// Layer thickness in mm.
    pub fn layer_mm(&self) -> f64 {
        self.layer_um / 1000.0
    }
}

/// Why a mesh cannot be sliced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SliceError {
    /// Thickness outside 20–100 µm.
    #[error("layer thickness {layer_um} µm is outside the 20–100 µm a powder-bed fusion machine can spread; choose 30–60 µm for Ti-6Al-4V")]
    LayerThickness { layer_um: f64 },
    /// No triangles.
    #[error("the mesh has no triangles; calculate or load the part first")]
    Empty,
    /// NaN or infinite coordinate.
    #[error("vertex {vertex} has a NaN or infinite coordinate; recompute the surface or run mesh::repair::repair")]
    NonFinite { vertex: usize },
    /// A coordinate too far from the origin for any build plate.
    #[error("vertex {vertex} is {value_mm:.1} mm from the origin, beyond ±{MAX_COORDINATE_MM} mm; place the part on the build plate (check the units: mm expected)")]
    TooFar { vertex: usize, value_mm: f64 },
    /// A triangle refers to a vertex that does not exist.
    #[error("triangle {triangle} refers to vertex {index} but the mesh has only {vertex_count} vertices; run mesh::repair::repair or re-export the part")]
    InvalidIndex {
        triangle: usize,
        index: u32,
        vertex_count: usize,
    },
    /// Open or non-manifold edges.
    #[error("the mesh is not watertight: {open_edges} open edge(s) and {non_manifold_edges} non-manifold edge(s), e.g. at {locations}; repair it first (mesh::repair::repair closes simple holes; `osteon mesh info` shows the check)")]
    NotWatertight {
        open_edges: usize,
        non_manifold_edges: usize,
        /// Midpoints (mm) of the first few bad edges.
        locations: String,
    },
    /// Neighbouring triangles wound in opposite directions.
    #[error("the mesh is not consistently oriented: {edges} edge(s) are used twice in the same direction, e.g. at {locations}; run mesh::repair::repair to unify the orientation")]
    Inconsistent { edges: usize, locations: String },
    /// The whole mesh is wound inward.
    #[error("the mesh is inside out (signed volume {volume_mm3:.3} mm³); run mesh::repair::repair, which turns closed parts outward")]
    InsideOut { volume_mm3: f64 },
    /// Planes given to [`slice_at_heights`] are not finite and ascending.
    #[error("slice heights must be finite and ascending; height {index} ({z_mm} mm) is not")]
    Heights { index: usize, z_mm: f64 },
    /// The edge table could not be built (e.g. too many triangles).
    #[error("{0}")]
    Mesh(String),
    /// A contour did not close (self-intersecting or damaged mesh).
    #[error("at z = {z_mm:.4} mm the contour through triangle {triangle} does not close; the mesh is damaged — run mesh::repair::repair")]
    OpenContour { z_mm: f64, triangle: usize },
}

/// One closed polygon of a layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Polygon {
    /// Vertices on the integer grid ([`UNITS_PER_MM`] per mm), first point not repeated,
    /// starting at the lowest (y, x) vertex; outer contours counter-clockwise and holes
    /// clockwise seen from +z.
    pub points: Vec<[i64; 2]>,
    /// True for a hole (clockwise).
    pub is_hole: bool,
    /// Index (in the layer) of the smallest polygon containing this one.
    pub parent: Option<usize>,
    /// Signed area in mm² (positive for outer contours).
    pub area_mm2: f64,
}

impl Polygon {
    /// Vertices in mm.
    pub fn points_mm(&self) -> Vec<[f64; 2]> {
        self.points.iter().map(|&p| to_mm(p)).collect()
    }

    /// Length of the closed outline in mm.
    pub fn perimeter_mm(&self) -> f64 {
        let n = self.points.len();
        (0..n)
            .map(|i| {
                let (a, b) = (self.points[i], self.points[(i + 1) % n]);
                ((b[0] - a[0]) as f64).hypot((b[1] - a[1]) as f64) / UNITS_PER_MM
            })
            .sum()
    }
}

/// Grid point → mm.
pub fn to_mm(p: [i64; 2]) -> [f64; 2] {
    [p[0] as f64 / UNITS_PER_MM, p[1] as f64 / UNITS_PER_MM]
}

/// One layer: the section of the part at `z_mm`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Layer {
    /// Layer number from the bottom, 0-based.
    pub index: usize,
    /// Height of the section plane (mm).
    pub z_mm: f64,
    /// Height of the top of the layer (mm): where the machine recoats to.
    pub z_top_mm: f64,
    /// Closed polygons, outer contours and holes.
    pub polygons: Vec<Polygon>,
    /// Net area (outer minus holes) in mm².
    pub area_mm2: f64,
}

/// The layers of a part.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Slices {
    /// Layers from the bottom up.
    pub layers: Vec<Layer>,
    /// Layer thickness (µm).
    pub layer_um: f64,
    /// Lowest and highest z of the mesh (mm).
    pub z_min_mm: f64,
    pub z_max_mm: f64,
    /// Layers whose section has zero area (e.g. a gap between two parts): not an error,
    /// but worth a look.
    pub zero_area_layers: Vec<usize>,
    /// Loops dropped because they enclose no area (sliver triangles, planes touching an
    /// edge).
    pub dropped_loops: usize,
}

/// Slices `mesh` at mid-layer heights (see the module doc).
pub fn slice(mesh: &Mesh, params: &SliceParams) -> Result<Slices, SliceError> {
    params.validate()?;
    let prepared = Prepared::new(mesh)?;
    let t = params.layer_mm();
    let (z_min, z_max) = prepared.z_range;
    let n = ((z_max - z_min) / t - 0.5).ceil().max(0.0) as usize;
    let planes: Vec<f64> = (0..n).map(|k| z_min + (k as f64 + 0.5) * t).collect();
    let (mut layers, dropped_loops) = prepared.sweep(&planes)?;
    for (k, layer) in layers.iter_mut().enumerate() {
        layer.z_top_mm = z_min + (k as f64 + 1.0) * t;
    }
    let zero_area_layers = zero_area_layers(&layers);
    Ok(Slices {
        layers,
        layer_um: params.layer_um,
        z_min_mm: z_min,
        z_max_mm: z_max,
        zero_area_layers,
        dropped_loops,
    })
}

/// Sections `mesh` at the given ascending heights (mm); `z_top_mm` of each layer is set
/// to its plane. For tests and previews at chosen heights.
pub fn slice_at_heights(mesh: &Mesh, z_mm: &[f64]) -> Result<Vec<Layer>, SliceError> {
    let mut last = f64::NEG_INFINITY;
    for (index, &z) in z_mm.iter().enumerate() {
        if !z.is_finite() || z < last {
            return Err(SliceError::Heights { index, z_mm: z });
        }
        last = z;
    }
    let prepared = Prepared::new(mesh)?;
    Ok(prepared.sweep(z_mm)?.0)
}

/// A validated mesh with neighbours and z-sorted triangles, ready to sweep.
struct Prepared<'a> {
    mesh: &'a Mesh,
    /// `neighbour[t][k]`: triangle across local edge k (corner k → k+1) of t.
    neighbour: Vec<[u32; 3]>,
    /// Triangles in order of their lowest z.
    order: Vec<u32>,
    z_lo: Vec<f64>,
    z_hi: Vec<f64>,
    z_range: (f64, f64),
}

fn edge_midpoints(mesh: &Mesh, edges: &[[u32; 2]]) -> String {
    let list: Vec<String> = edges
        .iter()
        .take(3)
        .map(|e| {
            let (a, b) = (
                mesh.positions_mm[e[0] as usize],
                mesh.positions_mm[e[1] as usize],
            );
            format!(
                "({:.3}, {:.3}, {:.3}) mm",
                (a[0] + b[0]) / 2.0,
                (a[1] + b[1]) / 2.0,
                (a[2] + b[2]) / 2.0
            )
        })
        .collect();
    list.join(", ")
}

impl<'a> Prepared<'a> {
    fn new(mesh: &'a Mesh) -> Result<Self, SliceError> {
        if mesh.triangles.is_empty() {
            return Err(SliceError::Empty);
        }
        for (v, p) in mesh.positions_mm.iter().enumerate() {
            if !p.iter().all(|c| c.is_finite()) {
                return Err(SliceError::NonFinite { vertex: v });
            }
            if let Some(&c) = p.iter().find(|c| c.abs() > MAX_COORDINATE_MM) {
                return Err(SliceError::TooFar {
                    vertex: v,
                    value_mm: c.abs(),
                });
            }
        }
        let nv = mesh.positions_mm.len();
        for (t, tri) in mesh.triangles.iter().enumerate() {
            if let Some(&i) = tri.iter().find(|&&i| i as usize >= nv) {
                return Err(SliceError::InvalidIndex {
                    triangle: t,
                    index: i,
                    vertex_count: nv,
                });
            }
        }
        let adj = Adjacency::build(mesh).map_err(|e| SliceError::Mesh(e.to_string()))?;
        let mut open = Vec::new();
        let mut non_manifold = Vec::new();
        let mut inconsistent = Vec::new();
        let mut neighbour = vec![[u32::MAX; 3]; mesh.triangles.len()];
        for (e, edge) in adj.edges.iter().enumerate() {
            let uses = adj.edge_uses(e);
            match uses {
                [u, w] => {
                    if u.forward == w.forward {
                        inconsistent.push(*edge);
                    }
                    neighbour[u.triangle as usize][u.local as usize] = w.triangle;
                    neighbour[w.triangle as usize][w.local as usize] = u.triangle;
                }
                [_] => open.push(*edge),
                _ => non_manifold.push(*edge),
            }
        }
        if !open.is_empty() || !non_manifold.is_empty() {
            let mut bad = open.clone();
            bad.extend_from_slice(&non_manifold);
            return Err(SliceError::NotWatertight {
                open_edges: open.len(),
                non_manifold_edges: non_manifold.len(),
                locations: edge_midpoints(mesh, &bad),
            });
        }
        if !inconsistent.is_empty() {
            return Err(SliceError::Inconsistent {
                edges: inconsistent.len(),
                locations: edge_midpoints(mesh, &inconsistent),
            });
        }
        let volume_mm3 = signed_volume_mm3(mesh);
        if volume_mm3 <= 0.0 {
            return Err(SliceError::InsideOut { volume_mm3 });
        }
        let z = |t: &[u32; 3], k: usize| mesh.positions_mm[t[k] as usize][2];
        let z_lo: Vec<f64> = mesh
            .triangles
            .iter()
            .map(|t| z(t, 0).min(z(t, 1)).min(z(t, 2)))
            .collect();
        let z_hi: Vec<f64> = mesh
            .triangles
            .iter()
            .map(|t| z(t, 0).max(z(t, 1)).max(z(t, 2)))
            .collect();
        let mut order: Vec<u32> = (0..mesh.triangles.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            z_lo[a as usize]
                .total_cmp(&z_lo[b as usize])
                .then(a.cmp(&b))
        });
        let z_range = (
            z_lo.iter().copied().fold(f64::INFINITY, f64::min),
            z_hi.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        Ok(Prepared {
            mesh,
            neighbour,
            order,
            z_lo,
            z_hi,
            z_range,
        })
    }

    /// Sections at ascending `planes`; returns the layers and the number of dropped loops.
    fn sweep(&self, planes: &[f64]) -> Result<(Vec<Layer>, usize), SliceError> {
        let pos = &self.mesh.positions_mm;
        let tris = &self.mesh.triangles;
        let mut stamp = vec![0u32; tris.len()];
        let mut active: Vec<u32> = Vec::new();
        let mut next = 0usize;
        let mut layers = Vec::with_capacity(planes.len());
        let mut dropped = 0usize;
        let mut loop_pts: Vec<[i64; 2]> = Vec::new();
        for (k, &zp) in planes.iter().enumerate() {
            let mark = k as u32 + 1;
            while let Some(&t) = self.order.get(next) {
                if self.z_lo[t as usize] >= zp {
                    break;
                }
                active.push(t);
                next += 1;
            }
            active.retain(|&t| self.z_hi[t as usize] >= zp);
            let mut polygons = Vec::new();
            for &start in &active {
                if stamp[start as usize] == mark {
                    continue;
                }
                loop_pts.clear();
                let mut cur = start;
                let mut steps = 0usize;
                loop {
                    stamp[cur as usize] = mark;
                    let tri = tris[cur as usize];
                    // The below→above edge: corner k strictly below, corner k+1 at or above.
                    let up = (0..3).find(|&j| {
                        pos[tri[j] as usize][2] < zp && pos[tri[(j + 1) % 3] as usize][2] >= zp
                    });
                    let Some(j) = up else {
                        return Err(SliceError::OpenContour {
                            z_mm: zp,
                            triangle: start as usize,
                        });
                    };
                    let (a, b) = (pos[tri[j] as usize], pos[tri[(j + 1) % 3] as usize]);
                    let p = if b[2] == zp {
                        [b[0], b[1]]
                    } else {
                        let s = (zp - a[2]) / (b[2] - a[2]);
                        [a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1])]
                    };
                    let q = [
                        round_to_i64(p[0] * UNITS_PER_MM),
                        round_to_i64(p[1] * UNITS_PER_MM),
                    ];
                    if loop_pts.last() != Some(&q) {
                        loop_pts.push(q);
                    }
                    let n = self.neighbour[cur as usize][j];
                    if n == start {
                        break;
                    }
                    steps += 1;
                    if n == u32::MAX || stamp[n as usize] == mark || steps > active.len() {
                        return Err(SliceError::OpenContour {
                            z_mm: zp,
                            triangle: start as usize,
                        });
                    }
                    cur = n;
                }
                if loop_pts.len() > 1 && loop_pts.first() == loop_pts.last() {
                    loop_pts.pop();
                }
                drop_collinear(&mut loop_pts);
                let area2 = twice_area(&loop_pts);
                if loop_pts.len() < 3 || area2 == 0 {
                    dropped += 1;
                    continue;
                }
                let first = (0..loop_pts.len())
                    .min_by_key(|&i| (loop_pts[i][1], loop_pts[i][0]))
                    .unwrap_or(0);
                let mut points = Vec::with_capacity(loop_pts.len());
                points.extend_from_slice(&loop_pts[first..]);
                points.extend_from_slice(&loop_pts[..first]);
                polygons.push(Polygon {
                    points,
                    is_hole: area2 < 0,
                    parent: None,
                    area_mm2: area2 as f64 / (2.0 * UNITS_PER_MM * UNITS_PER_MM),
                });
            }
            assign_parents(&mut polygons);
            let area_mm2 = polygons.iter().map(|p| p.area_mm2).sum();
            layers.push(Layer {
                index: k,
                z_mm: zp,
                z_top_mm: zp,
                polygons,
                area_mm2,
            });
        }
        Ok((layers, dropped))
    }
}

/// Signed volume (mm³) about the bounding-box centre (well conditioned far from the origin).
fn signed_volume_mm3(mesh: &Mesh) -> f64 {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in &mesh.positions_mm {
        for i in 0..3 {
            lo[i] = lo[i].min(p[i]);
            hi[i] = hi[i].max(p[i]);
        }
    }
    let o = [0, 1, 2].map(|i| (lo[i] + hi[i]) / 2.0);
    let mut six = 0.0;
    for t in &mesh.triangles {
        let [a, b, c] = t.map(|v| {
            let p = mesh.positions_mm[v as usize];
            [p[0] - o[0], p[1] - o[1], p[2] - o[2]]
        });
        six += a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
            + a[2] * (b[0] * c[1] - b[1] * c[0]);
    }
    six / 6.0
}

/// Removes vertices lying exactly on the straight line through their neighbours (where
/// a flat face is cut by several triangles), including around the wrap. One pass with a
/// stack: a vertex is dropped when the kept vertex before it and the next one make it
/// a straight-through point. Coordinates are within ±2^31 grid units (the slicer
/// refuses more than ±10 m), so the products fit in i64.
pub(crate) fn drop_collinear(points: &mut Vec<[i64; 2]>) {
    let straight = |a: [i64; 2], b: [i64; 2], c: [i64; 2]| {
        let (ux, uy) = (b[0] - a[0], b[1] - a[1]);
        let (vx, vy) = (c[0] - b[0], c[1] - b[1]);
        ux * vy == uy * vx && ux * vx + uy * vy > 0
    };
    if points.len() <= 3 {
        return;
    }
    let mut w = 0usize;
    for i in 0..points.len() {
        let p = points[i];
        while w >= 2 && straight(points[w - 2], points[w - 1], p) {
            w -= 1;
        }
        points[w] = p;
        w += 1;
    }
    let mut start = 0usize;
    while w - start > 3 {
        if straight(points[w - 2], points[w - 1], points[start]) {
            w -= 1;
        } else if straight(points[w - 1], points[start], points[start + 1]) {
            start += 1;
        } else {
            break;
        }
    }
    points.truncate(w);
    points.drain(..start);
}

/// `x` rounded half away from zero, as `f64::round`, with one truncating conversion
/// instead of a libm call (exact for |x| < 2^52: `x − trunc(x)` is exact there).
#[inline]
pub(crate) fn round_to_i64(x: f64) -> i64 {
    let i = x as i64;
    let f = x - i as f64;
    if f >= 0.5 {
        i + 1
    } else if f <= -0.5 {
        i - 1
    } else {
        i
    }
}

/// `x.floor() as i64` with one truncating conversion instead of a libm call (x86-64
/// without SSE4.1 has no rounding instruction): exact for every `x`, saturating as
/// `as` does.
#[inline]
pub(crate) fn floor_to_i64(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x {
        i.saturating_sub(1)
    } else {
        i
    }
}

/// Indices of the layers whose section has zero area ([`Slices::zero_area_layers`]).
pub(crate) fn zero_area_layers(layers: &[Layer]) -> Vec<usize> {
    layers
        .iter()
        .filter(|l| l.area_mm2 <= 0.0)
        .map(|l| l.index)
        .collect()
}

/// Coordinates (grid units) below this in magnitude (2^29, 53.7 m) keep the exact
/// integer products of [`twice_area`] and [`turns_right`] (and of the outline checks of
/// [`crate::print::simplify`]) within `i64`.
const SMALL_COORD: i64 = 1 << 29;

fn small(v: i64) -> bool {
    -SMALL_COORD < v && v < SMALL_COORD
}

/// Both coordinates of `p` below [`SMALL_COORD`] in magnitude.
pub(crate) fn small_point(p: [i64; 2]) -> bool {
    small(p[0]) && small(p[1])
}

/// Twice the signed area (grid units²), exact. Polygons within ±2^29 units (any real
/// part) are summed in `i64`: each product is below 2^58 and the result below 2^61 in
/// magnitude, so the wrapping sum is exact; `i128` products are library calls on wasm32.
pub fn twice_area(points: &[[i64; 2]]) -> i128 {
    let Some(&last) = points.last() else {
        return 0;
    };
    if points.iter().all(|&p| small_point(p)) {
        let mut prev = last;
        let mut sum = 0i64;
        for &p in points {
            sum = sum.wrapping_add(prev[0] * p[1] - p[0] * prev[1]);
            prev = p;
        }
        return sum as i128;
    }
    let mut prev = last;
    let mut sum = 0i128;
    for &p in points {
        sum += prev[0] as i128 * p[1] as i128 - p[0] as i128 * prev[1] as i128;
        prev = p;
    }
    sum
}

/// Whether a ring turns right (clockwise) at `b` coming from `a` and going on to `c`,
/// or doubles back there: exact (in `i64` when the steps are below 2^29 units, where
/// the products stay below 2^58).
pub(crate) fn turns_right(a: [i64; 2], b: [i64; 2], c: [i64; 2]) -> bool {
    let (ux, uy) = (b[0] - a[0], b[1] - a[1]);
    let (vx, vy) = (c[0] - b[0], c[1] - b[1]);
    if small(ux) && small(uy) && small(vx) && small(vy) {
        let turn = ux * vy - uy * vx;
        return turn < 0 || (turn == 0 && ux * vx + uy * vy < 0);
    }
    let (ux, uy, vx, vy) = (ux as i128, uy as i128, vx as i128, vy as i128);
    let turn = ux * vy - uy * vx;
    turn < 0 || (turn == 0 && ux * vx + uy * vy < 0)
}

/// Where a point lies relative to a closed polygon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Inside,
    Outside,
    Boundary,
}

/// Exact point-in-polygon test on the integer grid (crossing number, boundary detected).
pub fn locate(p: [i64; 2], poly: &[[i64; 2]]) -> Location {
    let n = poly.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        let (ax, ay, bx, by, px, py) = (
            a[0] as i128,
            a[1] as i128,
            b[0] as i128,
            b[1] as i128,
            p[0] as i128,
            p[1] as i128,
        );
        let cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax);
        if cross == 0
            && px >= ax.min(bx)
            && px <= ax.max(bx)
            && py >= ay.min(by)
            && py <= ay.max(by)
        {
            return Location::Boundary;
        }
        if (ay > py) != (by > py) {
            // The edge crosses the horizontal through p; p is left of the crossing when
            // the cross product has the sign of the edge's upward direction.
            if (cross > 0) == (by > ay) {
                inside = !inside;
            }
        }
    }
    if inside {
        Location::Inside
    } else {
        Location::Outside
    }
}

fn bbox(points: &[[i64; 2]]) -> [i64; 4] {
    points
        .iter()
        .fold([i64::MAX, i64::MAX, i64::MIN, i64::MIN], |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        })
}

/// Sets each polygon's parent: the smallest (by area) polygon that contains it.
pub(crate) fn assign_parents(polygons: &mut [Polygon]) {
    let n = polygons.len();
    if n < 2 {
        return;
    }
    let boxes: Vec<[i64; 4]> = polygons.iter().map(|p| bbox(&p.points)).collect();
    for i in 0..n {
        let mut best: Option<(f64, usize)> = None;
        for j in 0..n {
            let (bi, bj) = (boxes[i], boxes[j]);
            let size_j = polygons[j].area_mm2.abs();
            if i == j
                || size_j <= polygons[i].area_mm2.abs()
                || bj[0] > bi[0]
                || bj[1] > bi[1]
                || bj[2] < bi[2]
                || bj[3] < bi[3]
                || best.is_some_and(|(s, _)| s <= size_j)
            {
                continue;
            }
            // The first vertex of i not on j's boundary decides (touching loops share points).
            let inside = polygons[i]
                .points
                .iter()
                .map(|&p| locate(p, &polygons[j].points))
                .find(|&l| l != Location::Boundary)
                == Some(Location::Inside);
            if inside {
                best = Some((size_j, j));
            }
        }
        polygons[i].parent = best.map(|(_, j)| j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::{box_mesh, box_with_hole, concat, translated};

    #[test]
    fn unit_cube_gives_one_square_per_layer() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        let s = slice(&m, &SliceParams { layer_um: 50.0 }).unwrap();
        assert_eq!(s.layers.len(), 20);
        for l in &s.layers {
            assert_eq!(l.polygons.len(), 1);
            let p = &l.polygons[0];
            assert!(!p.is_hole);
            assert_eq!(
                p.points,
                vec![[0, 0], [10_000, 0], [10_000, 10_000], [0, 10_000]]
            );
            assert!((l.area_mm2 - 1.0).abs() < 1e-12);
        }
        assert!((s.layers[0].z_mm - 0.025).abs() < 1e-12);
        assert!((s.layers[19].z_top_mm - 1.0).abs() < 1e-12);
    }

    #[test]
    fn thickness_outside_range_is_refused_with_the_range_in_the_message() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        for bad in [10.0, 19.9, 100.5, f64::NAN] {
            let e = slice(&m, &SliceParams { layer_um: bad }).unwrap_err();
            assert!(e.to_string().contains("20–100 µm"), "{e}");
        }
    }

    #[test]
    fn hole_is_clockwise_with_the_outer_as_parent() {
        let m = box_with_hole(10.0, 4.0, 2.0);
        let layers = slice_at_heights(&m, &[1.0]).unwrap();
        let l = &layers[0];
        assert_eq!(l.polygons.len(), 2);
        let outer = l.polygons.iter().position(|p| !p.is_hole).unwrap();
        let hole = l.polygons.iter().position(|p| p.is_hole).unwrap();
        assert_eq!(l.polygons[hole].parent, Some(outer));
        assert_eq!(l.polygons[outer].parent, None);
        assert!((l.polygons[hole].area_mm2 + 16.0).abs() < 1e-9);
        assert!((l.area_mm2 - 84.0).abs() < 1e-9);
    }

    #[test]
    fn island_inside_a_hole_has_the_hole_as_parent() {
        let frame = box_with_hole(10.0, 6.0, 2.0);
        let island = box_mesh([-1.0, -1.0, 0.0], [1.0, 1.0, 2.0]);
        let m = concat(&[&frame, &island]);
        let l = &slice_at_heights(&m, &[1.0]).unwrap()[0];
        assert_eq!(l.polygons.len(), 3);
        let small = l
            .polygons
            .iter()
            .position(|p| (p.area_mm2 - 4.0).abs() < 1e-9)
            .unwrap();
        let hole = l.polygons.iter().position(|p| p.is_hole).unwrap();
        assert_eq!(l.polygons[small].parent, Some(hole));
    }

    #[test]
    fn plane_at_top_face_gives_the_face_and_at_bottom_face_nothing() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        let layers = slice_at_heights(&m, &[0.0, 1.0]).unwrap();
        assert!(layers[0].polygons.is_empty());
        assert_eq!(layers[1].polygons.len(), 1);
        assert!((layers[1].area_mm2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn open_mesh_is_refused_with_counts_and_a_location() {
        let mut m = box_mesh([0.0; 3], [1.0; 3]);
        m.triangles.pop();
        let e = slice(&m, &SliceParams::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, SliceError::NotWatertight { open_edges: 3, .. }),
            "{msg}"
        );
        assert!(msg.contains("mm") && msg.contains("repair"), "{msg}");
    }

    #[test]
    fn inside_out_and_non_finite_and_empty_meshes_are_refused() {
        let mut m = box_mesh([0.0; 3], [1.0; 3]);
        for t in m.triangles.iter_mut() {
            t.swap(1, 2);
        }
        assert!(matches!(
            slice(&m, &SliceParams::default()),
            Err(SliceError::InsideOut { .. })
        ));
        let mut m = box_mesh([0.0; 3], [1.0; 3]);
        m.positions_mm[3][0] = f64::NAN;
        assert!(matches!(
            slice(&m, &SliceParams::default()),
            Err(SliceError::NonFinite { vertex: 3 })
        ));
        assert_eq!(
            slice(&Mesh::default(), &SliceParams::default()),
            Err(SliceError::Empty)
        );
    }

    #[test]
    fn gap_between_two_parts_is_reported_as_zero_area_layers() {
        let a = box_mesh([0.0; 3], [1.0, 1.0, 0.5]);
        let b = translated(&a, [0.0, 0.0, 1.0]);
        let s = slice(&concat(&[&a, &b]), &SliceParams { layer_um: 100.0 }).unwrap();
        assert_eq!(s.layers.len(), 15);
        assert_eq!(s.zero_area_layers, vec![5, 6, 7, 8, 9]);
    }

    /// The former multi-pass version of [`drop_collinear`].
    fn drop_collinear_by_passes(points: &mut Vec<[i64; 2]>) {
        let straight = |a: [i64; 2], b: [i64; 2], c: [i64; 2]| {
            let (ux, uy) = ((b[0] - a[0]) as i128, (b[1] - a[1]) as i128);
            let (vx, vy) = ((c[0] - b[0]) as i128, (c[1] - b[1]) as i128);
            ux * vy - uy * vx == 0 && ux * vx + uy * vy > 0
        };
        let mut changed = true;
        while changed && points.len() > 3 {
            changed = false;
            let n = points.len();
            let mut kept: Vec<[i64; 2]> = Vec::with_capacity(n);
            for i in 0..n {
                let prev = kept.last().copied().unwrap_or(points[(i + n - 1) % n]);
                if straight(prev, points[i], points[(i + 1) % n]) {
                    changed = true;
                } else {
                    kept.push(points[i]);
                }
            }
            *points = kept;
        }
    }

    #[test]
    fn one_pass_collinear_removal_keeps_the_same_polygon_as_repeated_passes() {
        // Random loops on a coarse lattice, so straight runs (and reversals) are common.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: i64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) % m as u64) as i64
        };
        let mut checked = 0;
        for case in 0..20_000 {
            let n = 3 + next(12) as usize;
            let mut pts: Vec<[i64; 2]> = Vec::new();
            let mut p = [0i64, 0];
            for _ in 0..n {
                // Steps along a few directions, repeated, so many vertices lie on lines.
                let dir = [[1, 0], [0, 1], [-1, 0], [0, -1], [1, 1], [2, 1]][next(6) as usize];
                for _ in 0..1 + next(3) {
                    p = [p[0] + dir[0] * (1 + next(2)), p[1] + dir[1] * (1 + next(2))];
                    if pts.last() != Some(&p) {
                        pts.push(p);
                    }
                }
            }
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            if twice_area(&pts) == 0 {
                // Flat loops are dropped by the slicer whatever is left of them.
                continue;
            }
            let mut a = pts.clone();
            let mut b = pts.clone();
            drop_collinear(&mut a);
            drop_collinear_by_passes(&mut b);
            // Same cyclic sequence (the start may differ).
            let same = a.len() == b.len()
                && (a.is_empty()
                    || (0..b.len()).any(|r| (0..a.len()).all(|i| a[i] == b[(i + r) % b.len()])));
            assert!(same, "case {case}: {pts:?} -> {a:?} vs {b:?}");
            checked += 1;
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn area_and_turns_in_i64_match_the_i128_products() {
        // Small coordinates take the i64 route, those beyond 2^29 the i128 one; both
        // must give the exact i128 results.
        let exact_area = |pts: &[[i64; 2]]| -> i128 {
            (0..pts.len())
                .map(|i| {
                    let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                    a[0] as i128 * b[1] as i128 - b[0] as i128 * a[1] as i128
                })
                .sum()
        };
        let exact_right = |a: [i64; 2], b: [i64; 2], c: [i64; 2]| {
            let (ux, uy) = ((b[0] - a[0]) as i128, (b[1] - a[1]) as i128);
            let (vx, vy) = ((c[0] - b[0]) as i128, (c[1] - b[1]) as i128);
            let turn = ux * vy - uy * vx;
            turn < 0 || (turn == 0 && ux * vx + uy * vy < 0)
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |scale: i64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % (2 * scale as u64 + 1)) as i64 - scale
        };
        for scale in [3, 1000, (1 << 29) - 1, 1 << 29, 1 << 40] {
            for n in [3usize, 4, 17, 200] {
                let pts: Vec<[i64; 2]> = (0..n).map(|_| [next(scale), next(scale)]).collect();
                assert_eq!(twice_area(&pts), exact_area(&pts), "{scale} {n}");
                for i in 0..n {
                    let (a, b, c) = (pts[i], pts[(i + 1) % n], pts[(i + 2) % n]);
                    assert_eq!(turns_right(a, b, c), exact_right(a, b, c));
                }
            }
            // Collinear steps forward and back.
            let (a, b) = ([-scale, 0], [0, 0]);
            assert!(!turns_right(a, b, [scale, 0]));
            assert!(turns_right(a, b, [-scale / 2 - 1, 0]));
        }
        assert_eq!(twice_area(&[]), 0);
    }

    #[test]
    fn floor_to_i64_matches_f64_floor() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999_999,
            -2.000_001,
            1e15 + 0.5,
            -1e15 - 0.5,
            4.5e18,
            -9.3e18,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert_eq!(floor_to_i64(x), x.floor() as i64, "{x}");
        }
    }

    #[test]
    fn round_to_i64_matches_f64_round() {
        let mut seed = 1u64;
        for i in 0..200_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let x = match i % 4 {
                0 => (seed >> 11) as f64 / (1u64 << 20) as f64 - 4096.0,
                1 => ((seed >> 40) as f64 - 8_388_608.0) + 0.5,
                2 => f64::from_bits(0x3fdf_ffff_ffff_ffff) * if seed & 1 == 0 { 1.0 } else { -1.0 },
                _ => ((seed >> 12) as f64 - 2f64.powi(51)) * 0.25,
            };
            assert_eq!(round_to_i64(x), x.round() as i64, "{x}");
        }
    }

    #[test]
    fn locate_tells_inside_outside_and_boundary() {
        let sq = [[0, 0], [10, 0], [10, 10], [0, 10]];
        assert_eq!(locate([5, 5], &sq), Location::Inside);
        assert_eq!(locate([15, 5], &sq), Location::Outside);
        assert_eq!(locate([10, 5], &sq), Location::Boundary);
        assert_eq!(locate([0, 0], &sq), Location::Boundary);
        assert_eq!(locate([-1, 0], &sq), Location::Outside);
    }
}
