//! Inward offset (erosion by a disc) of one layer's polygons: the contours of a layer.
//!
//! Units: the 0.1 µm grid of [`crate::print::slice`] (coordinates and distances in grid
//! units, computed in `f64`; output points rounded back to the grid).
//!
//! What is computed: for a layer `P` (outer rings counter-clockwise, holes clockwise, so
//! the material is always on the left of an edge) and a distance `d`, the boundary of
//! `E = { p ∈ P : dist(p, ∂P) ≥ d }` — `P` minus the union of the *capsules* (all points
//! closer than `d`) of its edges. Holes grow, islands shrink or vanish, thin sections
//! split, exactly as the erosion does. The boundary of `E` lies on the candidates
//!
//! * each edge moved by `d` to its left (the material side), and
//! * at each reflex vertex (the boundary turns right) the arc of radius `d` about it,
//!   drawn as chords of at most 1/64 turn (the same tolerance as the round joins the
//!   contours used before: a chord strays at most 0.12 % of `d` inside the arc),
//!
//! and a candidate point is on it exactly when no other edge's capsule contains it (a
//! point at distance ≥ `d` from every other edge is inside `P`). So each candidate is
//! clipped by the capsules of the edges near it (each edge's list of edges whose boxes
//! are closer than twice the largest distance, found once per layer in a uniform grid):
//! a capsule's trace on an offset edge is one interval (a capsule is convex); an arc is
//! clipped exactly, where the circle crosses the capsule's sides and end circles, so its
//! ends meet the offset edges' ends at the same points. The union of the traces is
//! removed and what is left is part of the contour. Where the outline turns right at a
//! vertex, the neighbouring edge lies entirely on the far side of the offset line (its
//! capsule only touches the offset edge's end), so that pair is not tested. The kept
//! pieces are then chained end to start — a piece cut by a capsule ends where another
//! piece starts, up to rounding — into closed loops, which keep the material on their
//! left: outer loops come out counter-clockwise, holes clockwise.
//!
//! Why hand-written: the general polygon-offset route (raw offset curve with spokes to
//! each convex vertex, then a full overlay with a winding rule; `i_overlay`) costs
//! ~5 ms per offset of a 2,000-point marching-cubes outline because every spoke crosses
//! its neighbours' offsets when edges are shorter than the offset; clipping each
//! candidate against the few capsules around it does the same job in linear time with
//! small constants. Only `+ − × ÷ √` are used, so the result has the same bits natively
//! and in wasm. When chaining cannot close a loop (a degenerate tie beyond the matching
//! tolerance), [`Inset::loops`] says so and the caller falls back to the general route.

use super::minmax::{max, min};
use super::slice::{round_to_i64, turns_right, Polygon};

/// Pieces shorter than this (grid units, 0.1 nm) are rounding debris and dropped.
const MIN_PIECE: f64 = 1e-3;
/// A piece's end and the next piece's start are the same point when this close (grid
/// units, 0.3 nm): far below the 0.1 µm grid the result is rounded to, far above the
/// rounding error of a clip point (~1e-9 units at 250 mm).
const MATCH_TOL: f64 = 3e-3;
/// cos(2π/64): arcs are drawn as chords of at most 1/64 turn.
const COS_ARC_STEP: f64 = 0.995_184_726_672_196_9;

/// Why a set of loops could not be formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unchained;

/// A straight candidate piece `a → b` and the edges whose capsules never clip it (its
/// own edge, or the two edges at an arc's vertex).
#[derive(Clone, Copy)]
struct Candidate {
    a: [f64; 2],
    b: [f64; 2],
    skip: [u32; 3],
    /// For an arc chord: the vertex the arc turns about (the piece stands for the arc
    /// between `a` and `b`, both on the circle of radius `d` about it).
    centre: Option<[f64; 2]>,
}

/// A kept part of a candidate.
#[derive(Clone, Copy)]
struct Piece {
    a: [f64; 2],
    b: [f64; 2],
    /// First piece of the next ring (pieces of a ring are contiguous).
    ring_end: u32,
    ring_start: u32,
}

/// Inward offsets of one layer. Load the layer's polygons once with [`Inset::load`],
/// then ask for any number of distances up to the one given there; buffers are kept
/// between layers.
#[derive(Default)]
pub struct Inset {
    /// Ring vertices (grid units); edge `e` runs from `pts[e]` to `pts[next[e]]`.
    pts: Vec<[f64; 2]>,
    next: Vec<u32>,
    /// Unit left normal of each edge (into the material).
    normal: Vec<[f64; 2]>,
    /// Previous vertex in the ring, and whether the outline turns right (into the
    /// material) at each vertex (exact, on the grid).
    prev: Vec<u32>,
    reflex: Vec<bool>,
    /// `[x0, y0, x1, y1]` of each edge.
    bbox: Vec<[f64; 4]>,
    /// First vertex of each ring, and one past the last.
    ring_start: Vec<u32>,
    grid: Grid,
    /// Largest distance loaded.
    max_d: f64,
    /// Edges near each edge (boxes closer than twice the largest distance): the only
    /// capsules that can clip its offset or the arc at its end. `near[near_start[e]..
    /// near_start[e + 1]]`, the edge itself left out.
    near_start: Vec<u32>,
    near: Vec<u32>,
    /// Direction (end minus start) and length of each edge.
    edge_u: Vec<[f64; 2]>,
    edge_len: Vec<f64>,
    // Scratch, reused.
    candidates: Vec<Candidate>,
    cand_ring_end: Vec<u32>,
    pieces: Vec<Piece>,
    intervals: Vec<Clip>,
    stamp: Vec<u32>,
    stamp_now: u32,
    taken: Vec<bool>,
    visited: Vec<bool>,
    by_x: Vec<u32>,
    /// The loop being chained (grid points).
    loop_pts: Vec<[i64; 2]>,
}

/// Uniform grid over the edges: cell `(i, j)` lists every edge whose box, grown by the
/// largest distance, touches the cell.
#[derive(Default)]
struct Grid {
    x0: f64,
    y0: f64,
    inv_cell: f64,
    nx: usize,
    ny: usize,
    start: Vec<u32>,
    items: Vec<u32>,
    /// Cells `[i0, i1, j0, j1]` each grown box touches (computed once: filling the
    /// cells and finding the near lists both walk them).
    span: Vec<[usize; 4]>,
    /// Next free slot of each cell while filling.
    fill: Vec<u32>,
}

impl Grid {
    fn cell_range(&self, lo: f64, hi: f64, origin: f64, n: usize) -> (usize, usize) {
        // Truncation is the floor here (negative values clamp to 0 first).
        let f = |v: f64| (max((v - origin) * self.inv_cell, 0.0) as usize).min(n - 1);
        (f(lo), f(hi))
    }

    fn build(&mut self, boxes: &[[f64; 4]], grow: f64) {
        self.start.clear();
        self.items.clear();
        if boxes.is_empty() {
            self.nx = 0;
            self.ny = 0;
            return;
        }
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut perimeter = 0.0;
        for e in boxes {
            b = [
                min(b[0], e[0]),
                min(b[1], e[1]),
                max(b[2], e[2]),
                max(b[3], e[3]),
            ];
            perimeter += (e[2] - e[0]) + (e[3] - e[1]);
        }
        // Cells of about four mean edge lengths, at least twice the grown margin, and
        // no more cells than about four per edge.
        let mean = perimeter / boxes.len() as f64;
        let (w, h) = (b[2] - b[0] + 2.0 * grow, b[3] - b[1] + 2.0 * grow);
        let mut cell = (4.0 * mean).max(2.0 * grow).max(1.0);
        let max_cells = 4.0 * boxes.len() as f64 + 64.0;
        if (w / cell + 1.0) * (h / cell + 1.0) > max_cells {
            cell = ((w * h) / max_cells).sqrt().max(cell);
        }
        self.x0 = b[0] - grow;
        self.y0 = b[1] - grow;
        self.inv_cell = 1.0 / cell;
        self.nx = ((w / cell).floor() as usize + 1).max(1);
        self.ny = ((h / cell).floor() as usize + 1).max(1);
        let cells = self.nx * self.ny;
        self.start.resize(cells + 1, 0);
        self.span.clear();
        for e in boxes {
            let (i0, i1) = self.cell_range(e[0] - grow, e[2] + grow, self.x0, self.nx);
            let (j0, j1) = self.cell_range(e[1] - grow, e[3] + grow, self.y0, self.ny);
            self.span.push([i0, i1, j0, j1]);
            for j in j0..=j1 {
                for i in i0..=i1 {
                    self.start[j * self.nx + i + 1] += 1;
                }
            }
        }
        for c in 0..cells {
            self.start[c + 1] += self.start[c];
        }
        self.items.resize(self.start[cells] as usize, 0);
        self.fill.clear();
        self.fill.extend_from_slice(&self.start[..cells]);
        for (k, &[i0, i1, j0, j1]) in self.span.iter().enumerate() {
            for j in j0..=j1 {
                for i in i0..=i1 {
                    let c = j * self.nx + i;
                    self.items[self.fill[c] as usize] = k as u32;
                    self.fill[c] += 1;
                }
            }
        }
    }
}

fn cross(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[1] - a[1] * b[0]
}

fn dot(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

/// Parameters `t` where `f0 + t·f1` lies strictly between `lo` and `hi`.
fn linear_band(f0: f64, f1: f64, lo: f64, hi: f64) -> Option<(f64, f64)> {
    if f1 == 0.0 {
        return (f0 > lo && f0 < hi).then_some((f64::NEG_INFINITY, f64::INFINITY));
    }
    let (t0, t1) = ((lo - f0) / f1, (hi - f0) / f1);
    Some(if t0 < t1 { (t0, t1) } else { (t1, t0) })
}

/// Parameters `t` where `|p + t·dv| < r` (`dd = |dv|²` > 0).
fn disc_band(p: [f64; 2], dv: [f64; 2], dd: f64, r2: f64) -> Option<(f64, f64)> {
    let pd = dot(p, dv);
    let disc = pd * pd - dd * (dot(p, p) - r2);
    if disc <= 0.0 {
        return None;
    }
    let s = disc.sqrt();
    Some(((-pd - s) / dd, (-pd + s) / dd))
}

/// The open interval of `t` where `a + t·(b − a)` is closer than `r` to the segment
/// `[sa, sa + u]` (`uu = |u|²`, `len = |u|`): the union of the traces of the two end
/// discs and of the rectangle, one interval since the capsule is convex.
#[allow(clippy::too_many_arguments)] // the piece's line and the edge, unpacked once by the caller
#[inline]
pub(crate) fn capsule_trace(
    a: [f64; 2],
    dv: [f64; 2],
    dd: f64,
    sa: [f64; 2],
    u: [f64; 2],
    uu: f64,
    len: f64,
    r: f64,
) -> Option<(f64, f64)> {
    let p = [a[0] - sa[0], a[1] - sa[1]];
    let r2 = r * r;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    // Rectangle: projection on u within [0, |u|²] and distance from the line below r.
    let (f0, f1) = (dot(p, u), dot(dv, u));
    if let (Some(along), Some(across)) = (
        linear_band(f0, f1, 0.0, uu),
        linear_band(cross(u, p), cross(u, dv), -r * len, r * len),
    ) {
        let (s, e) = (max(along.0, across.0), min(along.1, across.1));
        if s < e {
            lo = s;
            hi = e;
        }
    }
    // An end disc adds only points beyond that end of the rectangle, so it is needed
    // only when the piece reaches past the end.
    let (along_a, along_b) = (f0, f0 + f1);
    if min(along_a, along_b) < 0.0 {
        if let Some((s, e)) = disc_band(p, dv, dd, r2) {
            lo = min(lo, s);
            hi = max(hi, e);
        }
    }
    if max(along_a, along_b) > uu {
        if let Some((s, e)) = disc_band([p[0] - u[0], p[1] - u[1]], dv, dd, r2) {
            lo = min(lo, s);
            hi = max(hi, e);
        }
    }
    (lo < hi).then_some((lo, hi))
}

/// Part `[t0, t1]` of a candidate inside a capsule; for arcs, the exact points on the
/// circle where it enters and leaves (else the chord points at `t0`, `t1`).
#[derive(Clone, Copy)]
struct Clip {
    t0: f64,
    t1: f64,
    p0: Option<[f64; 2]>,
    p1: Option<[f64; 2]>,
}

/// Marks the pieces from `*first` on as one ring's.
fn close_ring(pieces: &mut [Piece], first: &mut u32) {
    let end = pieces.len() as u32;
    for p in &mut pieces[*first as usize..] {
        p.ring_start = *first;
        p.ring_end = end;
    }
    *first = end;
}

/// Squared distance from `p` to the segment `[a, b]`.
fn dist2_to_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let u = [b[0] - a[0], b[1] - a[1]];
    let w = [p[0] - a[0], p[1] - a[1]];
    let uu = dot(u, u);
    let t = if uu > 0.0 {
        (dot(w, u) / uu).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let r = [w[0] - t * u[0], w[1] - t * u[1]];
    dot(r, r)
}

/// The parts of the arc of chord `c` (about `q`, radius `d`) inside the capsule of
/// `[sa, sb]`: the circle's crossings with the capsule's two sides and two end circles,
/// mapped to the chord by the ray from `q`, and each part between crossings tested at
/// its middle. Chord parameters with the exact crossing points.
fn arc_clips(c: &Candidate, q: [f64; 2], d: f64, sa: [f64; 2], sb: [f64; 2], out: &mut Vec<Clip>) {
    let dv = [c.b[0] - c.a[0], c.b[1] - c.a[1]];
    let aq = [c.a[0] - q[0], c.a[1] - q[1]];
    let mid = [aq[0] + dv[0] / 2.0, aq[1] + dv[1] / 2.0];
    let mut cuts: [(f64, [f64; 2]); 8] = [(0.0, [0.0; 2]); 8];
    let mut n = 0;
    let mut add = |x: [f64; 2]| {
        let w = [x[0] - q[0], x[1] - q[1]];
        let den = cross(w, dv);
        if dot(w, mid) <= 0.0 || den == 0.0 {
            return;
        }
        let t = -cross(w, aq) / den;
        if t > 0.0 && t < 1.0 && n < cuts.len() {
            cuts[n] = (t, x);
            n += 1;
        }
    };
    let u = [sb[0] - sa[0], sb[1] - sa[1]];
    let uu = dot(u, u);
    if uu > 0.0 {
        // The two sides: lines at distance ±d from the segment's line, within its span.
        let ul = uu.sqrt();
        let (ux, uy) = (u[0] / ul, u[1] / ul);
        let nrm = [-uy, ux];
        let qa = [q[0] - sa[0], q[1] - sa[1]];
        let s0 = dot(qa, nrm);
        let along = dot(qa, [ux, uy]);
        for side in [d, -d] {
            let off = side - s0; // signed distance of the side line from q
            let h2 = d * d - off * off;
            if h2 <= 0.0 {
                continue;
            }
            let h = h2.sqrt();
            for sgn in [-1.0, 1.0] {
                let tl = along + sgn * h; // position along the segment
                if (0.0..=ul).contains(&tl) {
                    add([
                        sa[0] + tl * ux + side * nrm[0],
                        sa[1] + tl * uy + side * nrm[1],
                    ]);
                }
            }
        }
    }
    // The end circles (radius d about sa and sb), outside the span.
    for (ctr, out_sign) in [(sa, -1.0), (sb, 1.0)] {
        let m = [ctr[0] - q[0], ctr[1] - q[1]];
        let mm = dot(m, m);
        if mm <= 0.0 || mm >= 4.0 * d * d {
            continue;
        }
        let h = (d * d - mm / 4.0).sqrt() / mm.sqrt();
        let base = [q[0] + m[0] / 2.0, q[1] + m[1] / 2.0];
        for sgn in [-1.0, 1.0] {
            let x = [base[0] - sgn * h * m[1], base[1] + sgn * h * m[0]];
            let w = [x[0] - ctr[0], x[1] - ctr[1]];
            if out_sign * dot(w, u) >= 0.0 {
                add(x);
            }
        }
    }
    let cuts = &mut cuts[..n];
    cuts.sort_by(|x, y| x.0.total_cmp(&y.0));
    let inside = |t: f64| {
        let p = [aq[0] + t * dv[0], aq[1] + t * dv[1]];
        let l = dot(p, p).sqrt();
        let x = [q[0] + d * p[0] / l, q[1] + d * p[1] / l];
        dist2_to_segment(x, sa, sb) < d * d
    };
    let mut prev: (f64, Option<[f64; 2]>) = (0.0, None);
    for k in 0..=cuts.len() {
        let next = cuts.get(k).map_or((1.0, None), |&(t, x)| (t, Some(x)));
        if next.0 > prev.0 && inside((prev.0 + next.0) / 2.0) {
            match out.last_mut() {
                Some(last) if last.t1 == prev.0 && prev.1.is_some() && last.p1 == prev.1 => {
                    last.t1 = next.0;
                    last.p1 = next.1;
                }
                _ => out.push(Clip {
                    t0: prev.0,
                    t1: next.0,
                    p0: prev.1,
                    p1: next.1,
                }),
            }
        }
        prev = next;
    }
}

impl Inset {
    /// An empty workspace.
    pub fn new() -> Inset {
        Inset::default()
    }

    /// Takes the polygons of a layer; later offsets may be up to `max_d` grid units.
    pub fn load(&mut self, polygons: &[Polygon], max_d: f64) {
        self.pts.clear();
        self.next.clear();
        self.prev.clear();
        self.reflex.clear();
        self.normal.clear();
        self.bbox.clear();
        self.edge_u.clear();
        self.edge_len.clear();
        self.ring_start.clear();
        for p in polygons {
            let n = p.points.len();
            if n < 3 {
                continue;
            }
            let first = self.pts.len() as u32;
            self.ring_start.push(first);
            for (i, q) in p.points.iter().enumerate() {
                self.pts.push([q[0] as f64, q[1] as f64]);
                self.next.push(if i + 1 == n {
                    first
                } else {
                    first + i as u32 + 1
                });
                self.prev.push(if i == 0 {
                    first + n as u32 - 1
                } else {
                    first + i as u32 - 1
                });
                let (a, c) = (p.points[(i + n - 1) % n], p.points[(i + 1) % n]);
                self.reflex.push(turns_right(a, *q, c));
            }
        }
        self.ring_start.push(self.pts.len() as u32);
        for e in 0..self.pts.len() {
            let (a, b) = (self.pts[e], self.pts[self.next[e] as usize]);
            let u = [b[0] - a[0], b[1] - a[1]];
            let l = dot(u, u).sqrt();
            self.edge_u.push(u);
            self.edge_len.push(l);
            self.normal.push(if l > 0.0 {
                [-u[1] / l, u[0] / l]
            } else {
                [0.0, 0.0]
            });
            self.bbox.push([
                min(a[0], b[0]),
                min(a[1], b[1]),
                max(a[0], b[0]),
                max(a[1], b[1]),
            ]);
        }
        self.max_d = max_d;
        self.grid.build(&self.bbox, max_d);
        self.stamp.clear();
        self.stamp.resize(self.pts.len(), 0);
        self.stamp_now = 0;
        self.find_near();
    }

    /// Fills the near lists: every other edge whose box is closer than `gap = 2 max_d` to
    /// the edge's box, found through the grid, whose boxes were grown by `max_d` (so each
    /// edge's own cells hold every edge that can be that close).
    fn find_near(&mut self) {
        let gap = 2.0 * self.max_d;
        self.near_start.clear();
        self.near.clear();
        self.near_start.push(0);
        let g = &self.grid;
        for (e, b) in self.bbox.iter().enumerate() {
            self.stamp_now = self.stamp_now.wrapping_add(1);
            if self.stamp_now == 0 {
                self.stamp.fill(0);
                self.stamp_now = 1;
            }
            self.stamp[e] = self.stamp_now;
            // The cells of the box grown by `max_d`, as the grid filled them.
            let [i0, i1, j0, j1] = g.span[e];
            for j in j0..=j1 {
                for i in i0..=i1 {
                    let cell = j * g.nx + i;
                    for &f in &g.items[g.start[cell] as usize..g.start[cell + 1] as usize] {
                        let fu = f as usize;
                        if self.stamp[fu] == self.stamp_now {
                            continue;
                        }
                        self.stamp[fu] = self.stamp_now;
                        let o = self.bbox[fu];
                        if o[0] - gap < b[2]
                            && o[2] + gap > b[0]
                            && o[1] - gap < b[3]
                            && o[3] + gap > b[1]
                        {
                            self.near.push(f);
                        }
                    }
                }
            }
            self.near_start.push(self.near.len() as u32);
        }
    }

    /// The loops of the inward offset by `d` grid units (`0 < d ≤` the loaded maximum),
    /// appended to `out`: each closed (first point not repeated), on the grid, starting
    /// at its lowest (y, x) vertex, material on the left; loops sorted by that vertex.
    pub fn loops(&mut self, d: f64, out: &mut Vec<Vec<[i64; 2]>>) -> Result<(), Unchained> {
        debug_assert!(d > 0.0 && d <= self.max_d);
        self.make_candidates(d);
        self.clip_candidates(d);
        let first = out.len();
        self.chain(out)?;
        out[first..].sort_by_key(|l| l.first().map(|p| (p[1], p[0])));
        Ok(())
    }

    /// Offset edges and reflex-vertex arc chords in ring order.
    fn make_candidates(&mut self, d: f64) {
        self.candidates.clear();
        self.cand_ring_end.clear();
        for r in 0..self.ring_start.len().saturating_sub(1) {
            let (s, e) = (self.ring_start[r] as usize, self.ring_start[r + 1] as usize);
            for k in s..e {
                let nk = self.next[k] as usize;
                let (p, q, n) = (self.pts[k], self.pts[nk], self.normal[k]);
                let a = [p[0] + d * n[0], p[1] + d * n[1]];
                let b = [q[0] + d * n[0], q[1] + d * n[1]];
                // Where the outline turns right, the neighbouring edge's capsule only
                // touches the offset at its end (see the module doc): skipped.
                let before = if self.reflex[k] {
                    self.prev[k]
                } else {
                    k as u32
                };
                let after = if self.reflex[nk] { nk as u32 } else { k as u32 };
                self.candidates.push(Candidate {
                    a,
                    b,
                    skip: [k as u32, before, after],
                    centre: None,
                });
                // Arc about q from this edge's normal to the next one's, clockwise.
                let n2 = self.normal[nk];
                let cos = dot(n, n2);
                if self.reflex[nk] {
                    let mut steps = 1usize;
                    let mut half = cos;
                    while half < COS_ARC_STEP && steps < 64 {
                        half = max((1.0 + half) / 2.0, 0.0).sqrt();
                        steps *= 2;
                    }
                    let sin = max(1.0 - half * half, 0.0).sqrt();
                    let mut u = n;
                    let mut from = b;
                    for i in 1..=steps {
                        let to = if i == steps {
                            [q[0] + d * n2[0], q[1] + d * n2[1]]
                        } else {
                            let w = [u[0] * half + u[1] * sin, -u[0] * sin + u[1] * half];
                            let l = dot(w, w).sqrt();
                            u = [w[0] / l, w[1] / l];
                            [q[0] + d * u[0], q[1] + d * u[1]]
                        };
                        self.candidates.push(Candidate {
                            a: from,
                            b: to,
                            skip: [k as u32, nk as u32, nk as u32],
                            centre: Some(q),
                        });
                        from = to;
                    }
                }
            }
            self.cand_ring_end.push(self.candidates.len() as u32);
        }
    }

    /// Keeps the parts of each candidate outside every other capsule, as pieces.
    fn clip_candidates(&mut self, d: f64) {
        self.pieces.clear();
        let mut ring = 0usize;
        let mut ring_first_piece = 0u32;
        for (ci, c) in self.candidates.iter().enumerate() {
            while ring < self.cand_ring_end.len() && ci as u32 >= self.cand_ring_end[ring] {
                close_ring(&mut self.pieces, &mut ring_first_piece);
                ring += 1;
            }
            let dv = [c.b[0] - c.a[0], c.b[1] - c.a[1]];
            let dd = dot(dv, dv);
            let len = dd.sqrt();
            if len < MIN_PIECE {
                continue;
            }
            // An arc lies between its chord and the chord moved out by the sagitta.
            let sag = c.centre.map_or(0.0, |q| {
                let m = [
                    (c.a[0] + c.b[0]) / 2.0 - q[0],
                    (c.a[1] + c.b[1]) / 2.0 - q[1],
                ];
                d - dot(m, m).sqrt() + 1e-9 * d
            });
            let reach = d + sag;
            let bx = [
                min(c.a[0], c.b[0]),
                min(c.a[1], c.b[1]),
                max(c.a[0], c.b[0]),
                max(c.a[1], c.b[1]),
            ];
            self.intervals.clear();
            let base = c.skip[0] as usize;
            for &e in &self.near[self.near_start[base] as usize..self.near_start[base + 1] as usize]
            {
                let eu = e as usize;
                if e == c.skip[1] || e == c.skip[2] {
                    continue;
                }
                let eb = self.bbox[eu];
                if eb[0] - reach >= bx[2]
                    || eb[2] + reach <= bx[0]
                    || eb[1] - reach >= bx[3]
                    || eb[3] + reach <= bx[1]
                {
                    continue;
                }
                let sa = self.pts[eu];
                let u = self.edge_u[eu];
                let ul = self.edge_len[eu];
                let uu = ul * ul;
                let Some((s, t)) = capsule_trace(c.a, dv, dd, sa, u, uu, ul, reach) else {
                    continue;
                };
                if t <= 0.0 || s >= 1.0 {
                    continue;
                }
                match c.centre {
                    None => self.intervals.push(Clip {
                        t0: max(s, 0.0),
                        t1: min(t, 1.0),
                        p0: None,
                        p1: None,
                    }),
                    Some(q) => {
                        let inner = if sag > 0.0 {
                            capsule_trace(c.a, dv, dd, sa, u, uu, ul, d - sag)
                        } else {
                            Some((s, t))
                        };
                        if inner.is_some_and(|(s, t)| s <= 0.0 && t >= 1.0) {
                            self.intervals.push(Clip {
                                t0: 0.0,
                                t1: 1.0,
                                p0: None,
                                p1: None,
                            });
                        } else {
                            let sb = self.pts[self.next[eu] as usize];
                            arc_clips(c, q, d, sa, sb, &mut self.intervals);
                        }
                    }
                }
            }
            self.intervals.sort_by(|x, y| x.t0.total_cmp(&y.t0));
            let at = |t: f64| [c.a[0] + t * dv[0], c.a[1] + t * dv[1]];
            let keep = |s: f64,
                        sp: Option<[f64; 2]>,
                        e: f64,
                        ep: Option<[f64; 2]>,
                        pieces: &mut Vec<Piece>| {
                if (e - s) * len >= MIN_PIECE {
                    pieces.push(Piece {
                        a: sp.unwrap_or_else(|| if s == 0.0 { c.a } else { at(s) }),
                        b: ep.unwrap_or_else(|| if e == 1.0 { c.b } else { at(e) }),
                        ring_start: 0,
                        ring_end: 0,
                    });
                }
            };
            let (mut cur, mut cur_p) = (0.0f64, None);
            for iv in &self.intervals {
                if iv.t0 > cur {
                    keep(cur, cur_p, iv.t0, iv.p0, &mut self.pieces);
                }
                if iv.t1 > cur {
                    cur = iv.t1;
                    cur_p = iv.p1;
                }
                if cur >= 1.0 {
                    break;
                }
            }
            if cur < 1.0 {
                keep(cur, cur_p, 1.0, None, &mut self.pieces);
            }
        }
        close_ring(&mut self.pieces, &mut ring_first_piece);
    }

    /// Chains pieces into loops: a piece continues with the next piece of its ring when
    /// that one starts where it ends, else with the nearest free start within
    /// [`MATCH_TOL`] (lowest index on a tie).
    fn chain(&mut self, out: &mut Vec<Vec<[i64; 2]>>) -> Result<(), Unchained> {
        let n = self.pieces.len();
        self.taken.clear();
        self.taken.resize(n, false);
        self.by_x.clear();
        let close = |p: [f64; 2], q: [f64; 2]| {
            (p[0] - q[0]).abs() <= MATCH_TOL && (p[1] - q[1]).abs() <= MATCH_TOL
        };
        let mut sorted = false;
        self.visited.clear();
        self.visited.resize(n, false);
        let mut lp = std::mem::take(&mut self.loop_pts);
        for first in 0..n {
            if self.visited[first] {
                continue;
            }
            lp.clear();
            let mut cur = first;
            loop {
                self.visited[cur] = true;
                let p = self.pieces[cur];
                let q = [round_to_i64(p.a[0]), round_to_i64(p.a[1])];
                if lp.last() != Some(&q) {
                    lp.push(q);
                }
                // The successor: next in ring order, else the nearest free start.
                let local = if cur + 1 < p.ring_end as usize {
                    cur + 1
                } else {
                    p.ring_start as usize
                };
                let next = if !self.taken[local] && close(p.b, self.pieces[local].a) {
                    Some(local)
                } else {
                    if !sorted {
                        self.by_x.extend(0..n as u32);
                        let pieces = &self.pieces;
                        self.by_x.sort_by(|&i, &j| {
                            pieces[i as usize].a[0]
                                .total_cmp(&pieces[j as usize].a[0])
                                .then(i.cmp(&j))
                        });
                        sorted = true;
                    }
                    let x = p.b[0] - MATCH_TOL;
                    let from = self
                        .by_x
                        .partition_point(|&i| self.pieces[i as usize].a[0] < x);
                    let mut best: Option<(f64, usize)> = None;
                    for &i in &self.by_x[from..] {
                        let s = self.pieces[i as usize].a;
                        if s[0] > p.b[0] + MATCH_TOL {
                            break;
                        }
                        let i = i as usize;
                        if self.taken[i] || !close(p.b, s) {
                            continue;
                        }
                        let dist = (s[0] - p.b[0]).hypot(s[1] - p.b[1]);
                        if best.is_none_or(|(bd, bi)| dist < bd || (dist == bd && i < bi)) {
                            best = Some((dist, i));
                        }
                    }
                    best.map(|(_, i)| i)
                };
                let Some(next) = next else {
                    self.loop_pts = lp;
                    return Err(Unchained);
                };
                self.taken[next] = true;
                if next == first {
                    break;
                }
                if self.visited[next] {
                    self.loop_pts = lp;
                    return Err(Unchained);
                }
                cur = next;
            }
            if lp.len() > 1 && lp.first() == lp.last() {
                lp.pop();
            }
            super::slice::drop_collinear(&mut lp);
            if lp.len() < 3 || super::slice::twice_area(&lp) == 0 {
                continue;
            }
            let low = (0..lp.len())
                .min_by_key(|&i| (lp[i][1], lp[i][0]))
                .unwrap_or(0);
            lp.rotate_left(low);
            out.push(lp.clone());
        }
        self.loop_pts = lp;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::slice::twice_area;

    fn poly(points: &[[i64; 2]]) -> Polygon {
        let a = twice_area(points);
        Polygon {
            points: points.to_vec(),
            is_hole: a < 0,
            parent: None,
            area_mm2: a as f64 / 2e8,
        }
    }

    fn inset(polys: &[Polygon], d: f64) -> Vec<Vec<[i64; 2]>> {
        let mut w = Inset::new();
        w.load(polys, d);
        let mut out = Vec::new();
        w.loops(d, &mut out).expect("chained");
        out
    }

    #[test]
    fn a_square_insets_to_a_square() {
        let sq = poly(&[[0, 0], [1000, 0], [1000, 1000], [0, 1000]]);
        assert_eq!(
            inset(&[sq], 100.0),
            vec![vec![[100, 100], [900, 100], [900, 900], [100, 900]]]
        );
    }

    fn circle(cx: f64, cy: f64, r: f64, n: usize, ccw: bool) -> Polygon {
        let mut pts: Vec<[i64; 2]> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                [
                    (cx + r * a.cos()).round() as i64,
                    (cy + r * a.sin()).round() as i64,
                ]
            })
            .collect();
        if !ccw {
            pts.reverse();
        }
        poly(&pts)
    }

    #[test]
    fn two_squares_and_a_ring_inset() {
        let a = poly(&[[0, 0], [1000, 0], [1000, 1000], [0, 1000]]);
        let b = poly(&[[2000, 0], [3000, 0], [3000, 1000], [2000, 1000]]);
        assert_eq!(inset(&[a, b], 100.0).len(), 2);
        let outer = circle(0.0, 0.0, 10000.0, 500, true);
        let hole = circle(0.0, 0.0, 5000.0, 300, false);
        let l = inset(&[outer, hole], 300.0);
        assert_eq!(l.len(), 2);
    }
}
