//! Scan paths of one layer: offset contours and hatch lines (stripe or chessboard).
//!
//! Units: millimetres in build space (x, y on the plate), parameters in µm, W and mm/s as
//! named. Input is a [`Layer`] of [`crate::print::slice`] on its 0.1 µm integer grid.
//!
//! Contours: contour `i` (0-based) runs at the inward distance `beam_offset + i·spacing`
//! from the sliced outline (spacing = hatch spacing), so the melt-pool edge of the first
//! contour lies on the part's surface. Each contour is the boundary of the outline eroded
//! by that distance ([`super::inset`]: offset edges and round joins about the reflex
//! corners, drawn as chords of at most 1/64 turn, clipped exactly against the other
//! edges), so holes grow and islands shrink, split or vanish as they must. Points are
//! rounded to the 0.1 µm grid. Should the pieces of a layer not chain into loops (a
//! degenerate tie), that layer's contours come from the general polygon offset of
//! `i_overlay` (MIT/Apache, integer arithmetic) instead, with the same round joins.
//! Both give the same bits natively and in wasm.
//!
//! Hatch region: the outline eroded by `beam_offset + contour_count·spacing`, clipped
//! exactly per scan line ([`super::scanline`]): hatch ends lie exactly that far from the
//! outline, one spacing inside the last contour (with no contours, on the beam-offset
//! line).
//!
//! Hatches: lines at `spacing` on a global grid (line `j` at `(j + ½)·spacing` in the
//! rotated frame, so neighbouring parts share the grid), direction `rotation·k` degrees
//! (mod 180) on layer `k` (default 67°), clipped to the hatch region. Stripes: vectors cut at stripe
//! boundaries `m·width` across the hatch direction, scanned stripe by stripe.
//! Chessboard: squares of `square` mm; squares with even `m + n` are hatched along the
//! layer direction, odd ones at 90° to it. Within a stripe or square successive vectors
//! alternate direction (meander) to keep jumps short.

use super::inset::Inset;
use super::scanline::{ScanWork, Segment};
use super::slice::{Layer, Slices};
use i_overlay::i_float::int::angle::Angle;
use i_overlay::i_float::int::point::IntPoint;
use i_overlay::mesh::int::arc::ArcOptions;
use i_overlay::mesh::int::outline::offset::IntOutlineOffset;
use i_overlay::mesh::int::style::{IntLineJoin, IntOutlineStyle};

/// Hatch pattern.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum HatchPattern {
    /// Parallel stripes `width_mm` wide (1–50 mm).
    Stripes { width_mm: f64 },
    /// Chessboard of `square_mm` squares (1–20 mm), alternate squares at 90°.
    Chessboard { square_mm: f64 },
}

/// Laser and path parameters (validated by [`HatchParams::validate`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HatchParams {
    /// Laser power in W, 150–300 (default 200).
    pub laser_power_w: f64,
    /// Scan speed in mm/s, 100–3000 (default 1000).
    pub scan_speed_mm_s: f64,
    /// Number of contours, 0–5 (default 2).
    pub contour_count: u32,
    /// Beam offset (half the melt-track width) in µm, 0–200 (default 50).
    pub beam_offset_um: f64,
    /// Hatch spacing in µm, 100–120 (default 110).
    pub hatch_spacing_um: f64,
    /// Pattern (default stripes 10 mm).
    pub pattern: HatchPattern,
    /// Rotation of the hatch direction per layer in degrees, 0–180 (default 67).
    pub rotation_deg: f64,
}

impl Default for HatchParams {
    fn default() -> Self {
        HatchParams {
            laser_power_w: 200.0,
            scan_speed_mm_s: 1000.0,
            contour_count: 2,
            beam_offset_um: 50.0,
            hatch_spacing_um: 110.0,
            pattern: HatchPattern::Stripes { width_mm: 10.0 },
            rotation_deg: 67.0,
        }
    }
}

/// Why hatching cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HatchError {
    /// A parameter outside its range.
    #[error("{name} {value} {unit} is outside {min}–{max} {unit}; {hint}")]
    Param {
        name: &'static str,
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
        hint: &'static str,
    },
    /// Coordinates beyond what the polygon offset can take.
    #[error("layer {layer} reaches {value_mm:.0} mm from the origin, too far for the polygon offset; place the part on the build plate")]
    TooFar { layer: usize, value_mm: f64 },
}

fn check(
    name: &'static str,
    value: f64,
    min: f64,
    max: f64,
    unit: &'static str,
    hint: &'static str,
) -> Result<(), HatchError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(HatchError::Param {
            name,
            value,
            min,
            max,
            unit,
            hint,
        })
    }
}

impl HatchParams {
    /// Checks every range.
    pub fn validate(&self) -> Result<(), HatchError> {
        check(
            "laser power",
            self.laser_power_w,
            150.0,
            300.0,
            "W",
            "Ti-6Al-4V is melted at 150–300 W on PBF machines",
        )?;
        check(
            "scan speed",
            self.scan_speed_mm_s,
            100.0,
            3000.0,
            "mm/s",
            "typical Ti-6Al-4V hatch speeds are 700–1400 mm/s",
        )?;
        check(
            "contour count",
            self.contour_count as f64,
            0.0,
            5.0,
            "",
            "use 1–3 contours",
        )?;
        check(
            "beam offset",
            self.beam_offset_um,
            0.0,
            200.0,
            "µm",
            "use about half the melt-track width (40–80 µm)",
        )?;
        check(
            "hatch spacing",
            self.hatch_spacing_um,
            100.0,
            120.0,
            "µm",
            "the protocol allows 100–120 µm (default 110)",
        )?;
        check(
            "rotation per layer",
            self.rotation_deg,
            0.0,
            180.0,
            "°",
            "67° is the usual choice",
        )?;
        match self.pattern {
            HatchPattern::Stripes { width_mm } => check(
                "stripe width",
                width_mm,
                1.0,
                50.0,
                "mm",
                "stripes are usually 5–10 mm wide",
            ),
            HatchPattern::Chessboard { square_mm } => check(
                "chessboard square",
                square_mm,
                1.0,
                20.0,
                "mm",
                "squares are usually 5 mm",
            ),
        }
    }

    /// Inward distance of contour `i` in mm.
    pub fn contour_inset_mm(&self, i: u32) -> f64 {
        (self.beam_offset_um + i as f64 * self.hatch_spacing_um) / 1000.0
    }

    /// Inward distance of the hatch region's boundary in mm.
    pub fn hatch_inset_mm(&self) -> f64 {
        self.contour_inset_mm(self.contour_count)
    }

    /// Hatch direction of layer `index` in degrees, in [0, 180).
    pub fn hatch_angle_deg(&self, index: usize) -> f64 {
        (self.rotation_deg * index as f64).rem_euclid(180.0)
    }
}

/// The scan paths of one layer (mm), in scan order.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerScan {
    /// Layer number.
    pub index: usize,
    /// Top of the layer (mm).
    pub z_top_mm: f64,
    /// Closed contour loops (first point not repeated), outermost offset first.
    pub contours: Vec<Vec<[f64; 2]>>,
    /// Hatch vectors `[start, end]`.
    pub hatches: Vec<[[f64; 2]; 2]>,
    /// Hatch direction of this layer (degrees from +x).
    pub hatch_angle_deg: f64,
    /// Lengths in mm: contours, hatches, and jumps (laser off) between vectors.
    pub contour_length_mm: f64,
    pub hatch_length_mm: f64,
    pub jump_length_mm: f64,
}

/// Scan paths of every layer.
pub fn hatch_all(slices: &Slices, params: &HatchParams) -> Result<Vec<LayerScan>, HatchError> {
    params.validate()?;
    // Layers in contiguous runs, one run per unit of work (several per pool thread with
    // `parallel`, one run without), each reusing its own scratch buffers.
    let run = slices
        .layers
        .len()
        .div_ceil(4 * crate::parallel::threads())
        .max(1);
    let runs: Vec<&[Layer]> = slices.layers.chunks(run).collect();
    let scans = crate::parallel::try_map_vec(runs, |layers| {
        let mut work = HatchWork::new();
        layers
            .iter()
            .map(|l| hatch_layer_with(l, params, &mut work))
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(scans.into_iter().flatten().collect())
}

/// Scan paths of one layer.
pub fn hatch_layer(layer: &Layer, params: &HatchParams) -> Result<LayerScan, HatchError> {
    hatch_layer_in(layer, params, &mut HatchWork::new())
}

/// Scan paths of one layer with the buffers of `work`, kept for the next layer: the same
/// result as [`hatch_layer`], without allocating the buffers again for every layer of a
/// run.
pub fn hatch_layer_in(
    layer: &Layer,
    params: &HatchParams,
    work: &mut HatchWork,
) -> Result<LayerScan, HatchError> {
    params.validate()?;
    hatch_layer_with(layer, params, work)
}

/// Buffers kept from layer to layer (one per run of layers, see [`hatch_layer_in`]).
#[derive(Default)]
pub struct HatchWork {
    inset: Inset,
    scan: ScanWork,
    pieces: Vec<(i64, i64, Segment)>,
}

impl HatchWork {
    /// An empty workspace.
    pub fn new() -> HatchWork {
        HatchWork::default()
    }
}

/// Coordinates beyond ±this many grid units are refused (the fallback offset works on
/// i32 with a safe range of ±2^29, offsets included).
const LIMIT: i64 = 1 << 28;

/// The contours of `layer` at each inward distance of `distances_mm`: one list of closed
/// loops (mm, on the 0.1 µm grid, first point not repeated, outer loops
/// counter-clockwise) per distance, as [`hatch_layer`] makes them.
pub fn offset_loops(
    layer: &Layer,
    distances_mm: &[f64],
) -> Result<Vec<Vec<Vec<[f64; 2]>>>, HatchError> {
    insets(layer, distances_mm, &mut Inset::new())
}

/// The inward offsets of `layer` by each of `distances_mm`: one list of loops (mm) per
/// distance, by [`Inset`], or by `i_overlay` for a layer where chaining fails.
fn insets(
    layer: &Layer,
    distances_mm: &[f64],
    work: &mut Inset,
) -> Result<Vec<Vec<Vec<[f64; 2]>>>, HatchError> {
    for p in &layer.polygons {
        for &[x, y] in &p.points {
            if x.abs() >= LIMIT || y.abs() >= LIMIT {
                return Err(HatchError::TooFar {
                    layer: layer.index,
                    value_mm: x.abs().max(y.abs()) as f64 / super::slice::UNITS_PER_MM,
                });
            }
        }
    }
    let units: Vec<i64> = distances_mm
        .iter()
        .map(|mm| (mm * super::slice::UNITS_PER_MM).round() as i64)
        .collect();
    let max_d = units.iter().copied().max().unwrap_or(0).max(1) as f64;
    work.load(&layer.polygons, max_d);
    let mut out = Vec::with_capacity(units.len());
    let mut loops = Vec::new();
    for &d in &units {
        loops.clear();
        let ok = d <= 0 || work.loops(d as f64, &mut loops).is_ok();
        if !ok {
            return Ok(units.iter().map(|&d| general_inset(layer, d)).collect());
        }
        out.push(if d <= 0 {
            layer.polygons.iter().map(|p| p.points_mm()).collect()
        } else {
            loops
                .iter()
                .map(|l| l.iter().map(|&p| super::slice::to_mm(p)).collect())
                .collect()
        });
    }
    Ok(out)
}

/// The inward offset of `layer` by `inset_mm` through `i_overlay`'s general polygon
/// offset: the fallback of [`offset_loops`], and the reference the tests compare it with.
pub fn offset_loops_by_overlay(layer: &Layer, inset_mm: f64) -> Vec<Vec<[f64; 2]>> {
    general_inset(
        layer,
        (inset_mm * super::slice::UNITS_PER_MM).round() as i64,
    )
}

/// The inward offset by `d` grid units through `i_overlay` (raw offset curve with round
/// joins, then an overlay with the positive fill rule): the general route, used when
/// [`Inset`] cannot chain a layer's pieces.
fn general_inset(layer: &Layer, d: i64) -> Vec<Vec<[f64; 2]>> {
    let rings: Vec<Vec<IntPoint<i32>>> = layer
        .polygons
        .iter()
        .map(|p| {
            p.points
                .iter()
                .map(|&[x, y]| IntPoint::new(x as i32, y as i32))
                .collect()
        })
        .collect();
    // Round joins in 1/64-turn steps, as the arcs of `Inset`.
    let join = IntLineJoin::Round(ArcOptions {
        max_step: Angle::from_bits(1 << 26),
        ..Default::default()
    });
    let shapes = if rings.is_empty() {
        Vec::new()
    } else {
        rings
            .outline(&IntOutlineStyle::new(-(d as i32)).line_join(join))
            .unwrap_or_default()
    };
    let mut loops: Vec<Vec<[i64; 2]>> = shapes
        .into_iter()
        .flatten()
        .map(|ring| {
            let first = (0..ring.len())
                .min_by_key(|&i| (ring[i].y, ring[i].x))
                .unwrap_or(0);
            ring[first..]
                .iter()
                .chain(&ring[..first])
                .map(|p| [p.x as i64, p.y as i64])
                .collect()
        })
        .collect();
    loops.sort_by_key(|l: &Vec<[i64; 2]>| l.first().map(|p| (p[1], p[0])));
    loops
        .iter()
        .map(|l| l.iter().map(|&p| super::slice::to_mm(p)).collect())
        .collect()
}

fn hatch_layer_with(
    layer: &Layer,
    params: &HatchParams,
    work: &mut HatchWork,
) -> Result<LayerScan, HatchError> {
    let distances: Vec<f64> = (0..params.contour_count)
        .map(|i| params.contour_inset_mm(i))
        .collect();
    let angle = params.hatch_angle_deg(layer.index);
    let spacing = params.hatch_spacing_um / 1000.0;
    let contours: Vec<Vec<[f64; 2]>> = insets(layer, &distances, &mut work.inset)?
        .into_iter()
        .flatten()
        .collect();
    let inset_mm = params.hatch_inset_mm();
    let mut region = |angle: f64, cell: f64, out: &mut Vec<(i64, i64, Segment)>| {
        out.clear();
        work.scan
            .pieces(&layer.polygons, inset_mm, angle, spacing, cell, out)
    };
    let hatches = match params.pattern {
        HatchPattern::Stripes { width_mm } => {
            let mut raw = std::mem::take(&mut work.pieces);
            region(angle, width_mm, &mut raw);
            // Stripe by stripe (a stable counting sort: lines stay in order inside one).
            let (lo, hi) = raw.iter().fold((i64::MAX, i64::MIN), |(lo, hi), p| {
                (lo.min(p.0), hi.max(p.0))
            });
            let mut hatches = Vec::with_capacity(raw.len());
            if lo <= hi {
                let mut at = vec![0usize; (hi - lo + 2) as usize];
                for p in &raw {
                    at[(p.0 - lo) as usize + 1] += 1;
                }
                for i in 1..at.len() {
                    at[i] += at[i - 1];
                }
                let mut order = vec![0u32; raw.len()];
                for (i, p) in raw.iter().enumerate() {
                    let k = &mut at[(p.0 - lo) as usize];
                    order[*k] = i as u32;
                    *k += 1;
                }
                let mut last = None;
                let mut flip = false;
                for &i in &order {
                    let (m, _, seg) = raw[i as usize];
                    if last != Some(m) {
                        flip = false;
                        last = Some(m);
                    }
                    hatches.push(if flip { [seg[1], seg[0]] } else { seg });
                    flip = !flip;
                }
            }
            work.pieces = raw;
            hatches
        }
        HatchPattern::Chessboard { square_mm } => {
            // Squares (m, n) in the layer-direction frame: even m + n hatched along the
            // layer direction, odd at +90°. A piece's midpoint is strictly inside its
            // square (pieces are cut at square edges), so it names the square.
            let (s, c) = angle.to_radians().sin_cos();
            let cell = |v: f64| (v / square_mm).floor() as i64;
            let mut pieces: Vec<((i64, i64), i64, Segment)> = Vec::new();
            let mut raw = std::mem::take(&mut work.pieces);
            for (turn, parity) in [(0.0, 0), (90.0, 1)] {
                region(angle + turn, square_mm, &mut raw);
                for &(_, j, seg) in &raw {
                    let mid = [(seg[0][0] + seg[1][0]) / 2.0, (seg[0][1] + seg[1][1]) / 2.0];
                    let (m, n) = (
                        cell(mid[0] * c + mid[1] * s),
                        cell(-mid[0] * s + mid[1] * c),
                    );
                    if (m + n).rem_euclid(2) == parity {
                        pieces.push(((n, m), j, seg));
                    }
                }
            }
            work.pieces = raw;
            pieces.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            meander(&pieces)
        }
    };
    let len = |a: [f64; 2], b: [f64; 2]| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        (dx * dx + dy * dy).sqrt()
    };
    let contour_length_mm = contours
        .iter()
        .map(|c| {
            (0..c.len())
                .map(|i| len(c[i], c[(i + 1) % c.len()]))
                .sum::<f64>()
        })
        .sum();
    let hatch_length_mm = hatches.iter().map(|h| len(h[0], h[1])).sum();
    let mut jump_length_mm = 0.0;
    let mut at: Option<[f64; 2]> = None;
    for c in &contours {
        if let (Some(p), Some(&q)) = (at, c.first()) {
            jump_length_mm += len(p, q);
        }
        at = c.first().copied();
    }
    for h in &hatches {
        if let Some(p) = at {
            jump_length_mm += len(p, h[0]);
        }
        at = Some(h[1]);
    }
    Ok(LayerScan {
        index: layer.index,
        z_top_mm: layer.z_top_mm,
        contours,
        hatches,
        hatch_angle_deg: angle,
        contour_length_mm,
        hatch_length_mm,
        jump_length_mm,
    })
}

/// Orders pieces `(group, line, segment)` (already sorted) as a meander inside each
/// group: every other vector reversed.
fn meander(pieces: &[((i64, i64), i64, Segment)]) -> Vec<Segment> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut last_group = None;
    let mut flip = false;
    for &(g, _, s) in pieces {
        if last_group != Some(g) {
            flip = false;
            last_group = Some(g);
        }
        out.push(if flip { [s[1], s[0]] } else { s });
        flip = !flip;
    }
    out
}

/// Hatch pieces of `region` (rings in mm) along `angle_deg`: returns
/// `(cell m across the direction, line j, segment in mm)` with segments cut at multiples
/// of `cell_mm` along the hatch direction, sorted by line then position.
pub fn scan_polygon_pieces(
    region: &[Vec<[f64; 2]>],
    angle_deg: f64,
    spacing_mm: f64,
    cell_mm: f64,
) -> Vec<(i64, i64, Segment)> {
    let (s, c) = angle_deg.to_radians().sin_cos();
    // Rotate by −angle: hatch lines become horizontal.
    let rot = |p: [f64; 2]| [p[0] * c + p[1] * s, -p[0] * s + p[1] * c];
    let back = |p: [f64; 2]| [p[0] * c - p[1] * s, p[0] * s + p[1] * c];
    let mut hits: Vec<(i64, f64)> = Vec::new();
    for ring in region {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (rot(ring[i]), rot(ring[(i + 1) % n]));
            let (lo, hi) = (a[1].min(b[1]), a[1].max(b[1]));
            if lo == hi {
                continue;
            }
            let j0 = (lo / spacing_mm - 0.5).ceil() as i64 - 1;
            let j1 = (hi / spacing_mm - 0.5).ceil() as i64 + 1;
            for j in j0..=j1 {
                let y = (j as f64 + 0.5) * spacing_mm;
                if (a[1] <= y) != (b[1] <= y) {
                    let t = (y - a[1]) / (b[1] - a[1]);
                    hits.push((j, a[0] + t * (b[0] - a[0])));
                }
            }
        }
    }
    hits.sort_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < hits.len() {
        let (j, x0) = hits[i];
        let (j1, x1) = hits[i + 1];
        if j1 != j {
            // Odd count on a line cannot happen for closed rings; skip the stray hit.
            i += 1;
            continue;
        }
        let y = (j as f64 + 0.5) * spacing_mm;
        let mut m = (x0 / cell_mm).floor() as i64;
        let mut start = x0;
        while start < x1 {
            let end = (((m + 1) as f64) * cell_mm).min(x1);
            if end - start > 1e-6 {
                out.push((m, j, [back([start, y]), back([end, y])]));
            }
            start = end;
            m += 1;
        }
        i += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::{box_mesh, box_with_hole};
    use crate::print::slice::{slice_at_heights, to_mm};

    fn square_layer(size: f64) -> Layer {
        let m = box_mesh([0.0; 3], [size, size, 1.0]);
        slice_at_heights(&m, &[0.5]).unwrap().remove(0)
    }

    #[test]
    fn contours_of_a_square_are_inset_by_beam_offset_then_spacing() {
        let l = square_layer(10.0);
        let p = HatchParams::default();
        let scan = hatch_layer(&l, &p).unwrap();
        assert_eq!(scan.contours.len(), 2);
        // Perimeters: 4·(10 − 2·0.05) and 4·(10 − 2·0.16).
        assert!((scan.contour_length_mm - (4.0 * 9.9 + 4.0 * 9.68)).abs() < 1e-3);
        let xs: Vec<f64> = scan.contours[1].iter().map(|q| q[0]).collect();
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        assert!((min - 0.16).abs() < 1e-4, "{min}");
    }

    #[test]
    fn hatches_of_layer_zero_are_horizontal_at_the_spacing_and_fill_the_region() {
        let l = square_layer(10.0);
        let p = HatchParams {
            contour_count: 1,
            pattern: HatchPattern::Stripes { width_mm: 50.0 },
            ..Default::default()
        };
        let scan = hatch_layer(&l, &p).unwrap();
        // Region: [0.16, 9.84]²; lines at (j + ½)·0.11 inside it.
        let expected = (0..200)
            .filter(|&j| {
                let y = (j as f64 + 0.5) * 0.11;
                y > 0.16 && y < 9.84
            })
            .count();
        assert_eq!(scan.hatches.len(), expected);
        for h in &scan.hatches {
            assert!((h[0][1] - h[1][1]).abs() < 1e-12);
            assert!(((h[0][0] - h[1][0]).abs() - 9.68).abs() < 1e-6);
        }
        assert!((scan.hatch_length_mm - expected as f64 * 9.68).abs() < 1e-6);
    }

    #[test]
    fn stripes_cut_vectors_to_the_stripe_width() {
        let l = square_layer(20.0);
        let p = HatchParams {
            pattern: HatchPattern::Stripes { width_mm: 5.0 },
            ..Default::default()
        };
        let scan = hatch_layer(&l, &p).unwrap();
        assert!(scan
            .hatches
            .iter()
            .all(|h| (h[1][0] - h[0][0]).hypot(h[1][1] - h[0][1]) <= 5.0 + 1e-9));
    }

    #[test]
    fn chessboard_hatches_alternate_squares_at_ninety_degrees() {
        let l = square_layer(20.0);
        let p = HatchParams {
            pattern: HatchPattern::Chessboard { square_mm: 5.0 },
            ..Default::default()
        };
        let scan = hatch_layer(&l, &p).unwrap();
        let horizontal = scan
            .hatches
            .iter()
            .filter(|h| (h[0][1] - h[1][1]).abs() < 1e-9)
            .count();
        let vertical = scan
            .hatches
            .iter()
            .filter(|h| (h[0][0] - h[1][0]).abs() < 1e-9)
            .count();
        assert_eq!(horizontal + vertical, scan.hatches.len());
        assert!(
            horizontal > 100 && vertical > 100,
            "{horizontal} {vertical}"
        );
        // Area covered ≈ region area / spacing, whichever direction.
        let expected = (20.0f64 - 2.0 * 0.27).powi(2) / 0.11;
        assert!((scan.hatch_length_mm / expected - 1.0).abs() < 0.02);
    }

    #[test]
    fn direction_turns_by_67_degrees_per_layer() {
        let p = HatchParams::default();
        assert_eq!(p.hatch_angle_deg(0), 0.0);
        assert_eq!(p.hatch_angle_deg(1), 67.0);
        assert_eq!(p.hatch_angle_deg(3), 21.0);
        let mut l = square_layer(10.0);
        l.index = 1;
        let scan = hatch_layer(&l, &p).unwrap();
        for h in &scan.hatches {
            let a = (h[1][1] - h[0][1]).atan2(h[1][0] - h[0][0]).to_degrees();
            assert!((a.rem_euclid(180.0) - 67.0).abs() < 1e-6, "{a}");
        }
    }

    #[test]
    fn hatch_vectors_stay_inside_the_region_of_a_frame() {
        let m = box_with_hole(12.0, 5.0, 1.0);
        let mut l = slice_at_heights(&m, &[0.5]).unwrap().remove(0);
        l.index = 2;
        let p = HatchParams::default();
        let scan = hatch_layer(&l, &p).unwrap();
        assert!(!scan.hatches.is_empty());
        let inset = p.hatch_inset_mm();
        let polys: Vec<Vec<[f64; 2]>> = l
            .polygons
            .iter()
            .map(|q| q.points.iter().map(|&v| to_mm(v)).collect())
            .collect();
        for h in &scan.hatches {
            for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
                let q = [
                    h[0][0] + t * (h[1][0] - h[0][0]),
                    h[0][1] + t * (h[1][1] - h[0][1]),
                ];
                // Inside the frame and at least the inset from every edge.
                let inside = q[0].abs() < 6.0 && q[1].abs() < 6.0;
                let in_hole = q[0].abs() < 2.5 && q[1].abs() < 2.5;
                assert!(inside && !in_hole, "{q:?}");
                let d = polys
                    .iter()
                    .flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
                    .map(|(a, b)| segment_distance(q, a, b))
                    .fold(f64::INFINITY, f64::min);
                assert!(d >= inset - 1e-3, "{q:?} at {d} mm from the outline");
            }
        }
    }

    fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
    }

    #[test]
    fn out_of_range_parameters_name_the_parameter_and_range() {
        let bad = [
            HatchParams {
                laser_power_w: 400.0,
                ..Default::default()
            },
            HatchParams {
                hatch_spacing_um: 90.0,
                ..Default::default()
            },
            HatchParams {
                scan_speed_mm_s: f64::NAN,
                ..Default::default()
            },
        ];
        let words = [
            "laser power 400 W is outside 150–300 W",
            "hatch spacing 90 µm",
            "scan speed",
        ];
        for (p, w) in bad.iter().zip(words) {
            let msg = p.validate().unwrap_err().to_string();
            assert!(msg.contains(w), "{msg}");
        }
    }

    #[test]
    fn a_section_thinner_than_the_insets_has_no_hatches() {
        let l = square_layer(0.3);
        let scan = hatch_layer(&l, &HatchParams::default()).unwrap();
        assert!(scan.hatches.is_empty());
        // Contour 0 (inset 0.05 mm) fits, contour 1 (inset 0.16 mm) does not.
        assert_eq!(scan.contours.len(), 1);
    }
}
