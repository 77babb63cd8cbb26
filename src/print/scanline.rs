//! Hatch lines clipped to a layer's hatch region, exactly, one scan line at a time.
//!
//! Units: millimetres in build space; the layer comes as [`Polygon`]s on the 0.1 µm grid
//! of [`crate::print::slice`] (outer rings counter-clockwise, holes clockwise).
//!
//! The hatch region is the layer eroded by the hatch inset `d`: the points of the part at
//! least `d` from its outline. On a scan line that set is exact and cheap to write down
//! without ever building the eroded polygon: the line's inside intervals (even–odd
//! crossings of the outline; an edge counts for a line when exactly one of its ends is at
//! or below it, so shared vertices are never counted twice) minus the union of the traces
//! of every edge's *capsule* (the points closer than `d` to the edge; one interval per
//! edge and line, since a capsule is convex). So hatch ends lie exactly at distance `d`
//! from the outline, also around reflex corners, where an offset polygon would use chords.
//!
//! Lines are horizontal in the frame rotated by −`angle`: line `j` at `(j + ½)·spacing`.
//! Each edge only visits the lines within `d` of it; the crossings and traces are bucketed
//! per line (counting sort), then each line is sorted and subtracted. Vectors are cut at
//! multiples of `cell` along the line (stripes, chessboard squares).

use super::minmax::{max, min};
use super::slice::{floor_to_i64, to_mm, turns_right, Polygon};

/// A scan vector `[start, end]` in mm.
pub type Segment = [[f64; 2]; 2];

/// Pieces shorter than this (mm) are not written.
const MIN_VECTOR_MM: f64 = 1e-6;

/// Buffers kept between layers.
#[derive(Default)]
pub struct ScanWork {
    /// Rotated vertices (mm), the next vertex of each ring, and whether the outline
    /// turns right (into the material) at each vertex.
    rot: Vec<[f64; 2]>,
    next: Vec<u32>,
    reflex: Vec<bool>,
    /// Per edge: the lines its capsule reaches and the lines it crosses (inclusive;
    /// empty when first > last).
    reach: Vec<[i64; 4]>,
    /// Crossings `x` and capsule traces `(x0, x1)` bucketed by line: line `l` owns
    /// `crossings[crossing_at[l]..crossing_at[l + 1]]`, and the same for traces. `x` and
    /// `x0` are kept as [`order_key`]s, so sorting compares integers.
    crossings: Vec<i64>,
    traces: Vec<(i64, f64)>,
    crossing_at: Vec<u32>,
    trace_at: Vec<u32>,
}

/// `x` as an integer whose order is [`f64::total_cmp`]'s (its own inverse).
fn order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

/// The `f64` of an [`order_key`].
fn from_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ (((k >> 63) as u64) >> 1) as i64) as u64)
}

/// The part of the scan line at height `y` closer than `d` to the edge from `a` (unit
/// direction `dir`, length `len`, `inv` the reciprocals of `dir`'s components or 0):
/// the edge's rectangle, and with `disc` the disc about `a` (the disc about its other
/// end belongs to the next edge). Their union is convex: one interval.
#[allow(clippy::too_many_arguments)]
fn trace(
    y: f64,
    a: [f64; 2],
    dir: [f64; 2],
    inv: [f64; 2],
    len: f64,
    d: f64,
    disc: bool,
) -> Option<(f64, f64)> {
    let dy = y - a[1];
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    if disc {
        let h2 = d * d - dy * dy;
        if h2 > 0.0 {
            let w = h2.sqrt();
            lo = a[0] - w;
            hi = a[0] + w;
        }
    }
    // Along the edge: (x − a.x)·dir.x + dy·dir.y ∈ [0, len].
    let (mut s, mut e) = if dir[0] != 0.0 {
        let (p, q) = (-dy * dir[1] * inv[0], (len - dy * dir[1]) * inv[0]);
        if p < q {
            (p, q)
        } else {
            (q, p)
        }
    } else if (0.0..=len).contains(&(dy * dir[1])) {
        (f64::NEG_INFINITY, f64::INFINITY)
    } else {
        (f64::INFINITY, f64::NEG_INFINITY)
    };
    // Across: (x − a.x)·(−dir.y) + dy·dir.x ∈ (−d, d).
    if dir[1] != 0.0 {
        let (p, q) = ((dy * dir[0] - d) * inv[1], (dy * dir[0] + d) * inv[1]);
        let (p, q) = if p < q { (p, q) } else { (q, p) };
        s = max(s, p);
        e = min(e, q);
    } else if (dy * dir[0]).abs() >= d {
        e = f64::NEG_INFINITY;
    }
    if s < e {
        lo = min(lo, a[0] + s);
        hi = max(hi, a[0] + e);
    }
    (lo < hi).then_some((lo, hi))
}

impl ScanWork {
    /// An empty workspace.
    pub fn new() -> ScanWork {
        ScanWork::default()
    }

    /// Hatch pieces of `polygons` eroded by `inset_mm`, along `angle_deg`: appends
    /// `(cell m across the line direction, line j, segment in mm)` to `out`, cut at
    /// multiples of `cell_mm` along the line, by line then position.
    pub fn pieces(
        &mut self,
        polygons: &[Polygon],
        inset_mm: f64,
        angle_deg: f64,
        spacing_mm: f64,
        cell_mm: f64,
        out: &mut Vec<(i64, i64, Segment)>,
    ) {
        let (s, c) = angle_deg.to_radians().sin_cos();
        // Rotate by −angle: hatch lines become horizontal.
        let back = |p: [f64; 2]| [p[0] * c - p[1] * s, p[0] * s + p[1] * c];
        self.rot.clear();
        self.next.clear();
        self.reflex.clear();
        let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for p in polygons {
            let n = p.points.len();
            if n < 3 {
                continue;
            }
            let first = self.rot.len();
            for (i, &q) in p.points.iter().enumerate() {
                let m = to_mm(q);
                let r = [m[0] * c + m[1] * s, -m[0] * s + m[1] * c];
                y_lo = min(y_lo, r[1]);
                y_hi = max(y_hi, r[1]);
                self.rot.push(r);
                self.next.push(if i + 1 == n {
                    first as u32
                } else {
                    (first + i + 1) as u32
                });
            }
            // Only a vertex where the outline turns into the material can be the
            // nearest outline point of a point inside: discs about the others are
            // covered by the edges' rectangles there.
            for i in 0..n {
                let (a, b) = (p.points[(i + n - 1) % n], p.points[i]);
                self.reflex.push(turns_right(a, b, p.points[(i + 1) % n]));
            }
        }
        if self.rot.is_empty() {
            return;
        }
        let d = max(inset_mm, 0.0);
        let y_of = |j: i64| (j as f64 + 0.5) * spacing_mm;
        // First line at or above `y` and last line below `y`, exactly.
        let first_at_or_above = |y: f64| {
            // A guess within one line (truncation, not a libm `ceil`): the loops below
            // make it exact.
            let mut j = (y / spacing_mm - 0.5) as i64;
            while y_of(j) < y {
                j += 1;
            }
            while y_of(j - 1) >= y {
                j -= 1;
            }
            j
        };
        let j_lo = first_at_or_above(y_lo - d) - 1;
        let j_hi = first_at_or_above(y_hi + d) + 1;
        let lines = (j_hi - j_lo + 1) as usize;
        // Per edge: lines within d (traces, strictly inside, so [lo − d, hi + d] with a
        // spare line is enough) and lines crossed (lo ≤ y < hi).
        self.reach.clear();
        self.crossing_at.clear();
        self.crossing_at.resize(lines + 1, 0);
        self.trace_at.clear();
        self.trace_at.resize(lines + 1, 0);
        for e in 0..self.rot.len() {
            let (a, b) = (self.rot[e], self.rot[self.next[e] as usize]);
            let (lo, hi) = (min(a[1], b[1]), max(a[1], b[1]));
            let r = if d > 0.0 {
                [
                    first_at_or_above(lo - d),
                    first_at_or_above(hi + d) - 1,
                    first_at_or_above(lo),
                    first_at_or_above(hi) - 1,
                ]
            } else {
                [1, 0, first_at_or_above(lo), first_at_or_above(hi) - 1]
            };
            // Counts as differences: +1 at the first line, −1 after the last (modulo
            // 2^32: a slot may hold a −1 before its +1 comes).
            if r[0] <= r[1] {
                let first = &mut self.trace_at[(r[0] - j_lo) as usize];
                *first = first.wrapping_add(1);
                let after = &mut self.trace_at[(r[1] - j_lo) as usize + 1];
                *after = after.wrapping_sub(1);
            }
            if r[2] <= r[3] {
                let first = &mut self.crossing_at[(r[2] - j_lo) as usize];
                *first = first.wrapping_add(1);
                let after = &mut self.crossing_at[(r[3] - j_lo) as usize + 1];
                *after = after.wrapping_sub(1);
            }
            self.reach.push(r);
        }
        // Differences → counts → starts (line l starts at at[l]).
        let prefix = |at: &mut Vec<u32>| {
            let mut count = 0u32;
            let mut start = 0u32;
            for v in at.iter_mut() {
                count = count.wrapping_add(*v);
                *v = start;
                start += count;
            }
        };
        prefix(&mut self.trace_at);
        prefix(&mut self.crossing_at);
        self.crossings.clear();
        self.crossings.resize(self.crossing_at[lines] as usize, 0);
        self.traces.clear();
        // Traces that miss their line stay NaN: sorted last (as `total_cmp` does).
        let missed = (order_key(f64::NAN), f64::NAN);
        self.traces.resize(self.trace_at[lines] as usize, missed);
        for e in 0..self.rot.len() {
            let (a, b) = (self.rot[e], self.rot[self.next[e] as usize]);
            let r = self.reach[e];
            for j in r[2]..=r[3] {
                let l = (j - j_lo) as usize;
                let t = (y_of(j) - a[1]) / (b[1] - a[1]);
                let k = &mut self.crossing_at[l];
                self.crossings[*k as usize] = order_key(a[0] + t * (b[0] - a[0]));
                *k += 1;
            }
            if r[0] > r[1] {
                continue;
            }
            let u = [b[0] - a[0], b[1] - a[1]];
            let len = (u[0] * u[0] + u[1] * u[1]).sqrt();
            let dir = [u[0] / len, u[1] / len];
            let inv = [
                if dir[0] != 0.0 { 1.0 / dir[0] } else { 0.0 },
                if dir[1] != 0.0 { 1.0 / dir[1] } else { 0.0 },
            ];
            let disc = self.reflex[e];
            for j in r[0]..=r[1] {
                let l = (j - j_lo) as usize;
                let k = &mut self.trace_at[l];
                if let Some((x0, x1)) = trace(y_of(j), a, dir, inv, len, d, disc) {
                    self.traces[*k as usize] = (order_key(x0), x1);
                }
                *k += 1;
            }
        }
        // crossing_at[l] / trace_at[l] now hold the end of line l's run.
        let (mut c0, mut t0) = (0usize, 0usize);
        for l in 0..lines {
            let (c1, t1) = (self.crossing_at[l] as usize, self.trace_at[l] as usize);
            let xs = &mut self.crossings[c0..c1];
            let ts = &mut self.traces[t0..t1];
            c0 = c1;
            t0 = t1;
            if xs.len() < 2 {
                continue;
            }
            xs.sort_unstable();
            // Traces that missed the line are NaN: sorted last and dropped.
            ts.sort_unstable_by_key(|t| t.0);
            let ts = &ts[..ts.partition_point(|t| t.0 != missed.0)];
            let j = j_lo + l as i64;
            let y = y_of(j);
            let mut k = 0; // traces before k end before the current inside interval
                           // An odd count on a line cannot happen for closed rings; the stray last
                           // crossing is ignored.
            for pair in xs.chunks_exact(2) {
                let (x0, x1) = (from_order_key(pair[0]), from_order_key(pair[1]));
                while k < ts.len() && ts[k].1 <= x0 {
                    k += 1;
                }
                let mut x = x0;
                let mut i = k;
                while i < ts.len() && from_order_key(ts[i].0) < x1 {
                    let (s0, s1) = (from_order_key(ts[i].0), ts[i].1);
                    if s0 > x {
                        emit(x, s0, y, j, cell_mm, &back, out);
                    }
                    x = max(x, s1);
                    i += 1;
                }
                if x < x1 {
                    emit(x, x1, y, j, cell_mm, &back, out);
                }
            }
        }
    }
}

/// Writes the piece `[x0, x1]` of line `j` (height `y` in the rotated frame) cut at
/// multiples of `cell_mm`.
fn emit(
    x0: f64,
    x1: f64,
    y: f64,
    j: i64,
    cell_mm: f64,
    back: &impl Fn([f64; 2]) -> [f64; 2],
    out: &mut Vec<(i64, i64, Segment)>,
) {
    let mut m = floor_to_i64(x0 / cell_mm);
    let mut start = x0;
    while start < x1 {
        let end = min(((m + 1) as f64) * cell_mm, x1);
        if end - start > MIN_VECTOR_MM {
            out.push((m, j, [back([start, y]), back([end, y])]));
        }
        start = end;
        m += 1;
    }
}
