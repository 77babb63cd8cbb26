//! Block (line-grid) supports for powder-bed fusion: thin perforated walls under every
//! overhang, topped by teeth that enter the part and break off, touching only
//! non-articular faces. Selected by [`SupportStyle::Block`](super::supports::SupportStyle).
//!
//! Space: build-space millimetres, +z up; the plate is at `overhang.plate_height_mm`
//! (default: the lowest point of the part).
//!
//! Layout: walls stand on two families of lines, `x`-walls along x at
//! `y = (LATTICE_OFFSET + j)·spacing` and `y`-walls along y at `x = (LATTICE_OFFSET + i)·spacing`
//! (the same offset lattice as the cone supports, off the round coordinates where CAD
//! walls lie). Each wall is `wall_mm` thick (one or two laser tracks) and is made of cells
//! `tooth_pitch_mm` long; `y`-walls stop `CROSSING_GAP_MM` short of every `x`-wall line, so
//! every wall is a separate closed body and no two bodies overlap (the slicer then gives
//! disjoint, properly nested polygons; the melt pool, about 0.1 mm wide, fuses the 20 µm
//! joints into a grid when printed).
//!
//! Each cell is sampled at six points along the wall (`u` = 0, 0.2, …, 1 of its length):
//! 1. the overhang surface `S` is where the wall's centre plane cuts the non-articular
//!    overhang faces (class 1 of the [overhang map](super::overhang)); a cell follows one
//!    sheet of that surface (neighbouring samples within the overhang slope);
//! 2. a ray straight down from `S` ([`Bvh::ray_cast`]) finds the bottom: the plate, or an
//!    up-facing part face below (entered by `penetration_mm`);
//! 3. the top is a tooth per cell: tip (`u` ∈ [0.4, 0.6]) at `S + penetration`, valleys at
//!    the cell ends `tooth_height_mm` below `S` (at most half the wall's height), straight
//!    flanks between;
//! 4. perforations: rectangular windows `u` ∈ [0.2, 0.8] wide, `hole_height_mm` high, in
//!    rows every `hole_pitch_mm` above the plate, wherever they keep `HOLE_MARGIN_MM` of
//!    wall above and below.
//!
//! A cell is dropped when a sample has no surface, lands on or comes within
//! `articular_clearance_mm` of an articular face, is lower than `MIN_HEIGHT_MM`, or its
//! top or bottom jumps between samples (a different sheet, or a step in the part below).
//! Consecutive kept cells on a line that share their boundary sample form one wall.
//!
//! Mesh: each wall is the extrusion across its thickness of an x-monotone profile (top and
//! bottom polylines through the samples, windows as holes), built face by face so that it
//! is closed, outward and manifold by construction: the two sides are zipper-triangulated
//! span by span on the shared vertical lines, and every exposed vertical piece (wall ends,
//! window sides) is split at the same heights as the sides. Written by hand because no
//! mesh boolean is available in the pure layer and the extrusion keeps the count small.

use super::overhang::{
    normal_and_double_area, overhang_map_with_params, used_vertices, ArticularMarks, OverhangError,
    CLASS_ARTICULAR_OVERHANG, CLASS_OVERHANG,
};
use super::supports::{SupportError, SupportParams, SupportResult, UnsupportedRegion};
use crate::mesh::bvh::Bvh;
use crate::mesh::Mesh;
use std::collections::{BTreeMap, BTreeSet};

/// Options of block supports (inside [`SupportParams::block`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockParams {
    /// Distance between parallel walls (mm), in [0.5, 5]. Default 1.
    pub spacing_mm: f64,
    /// Wall thickness (mm), in [0.1, 1]; 0.2–0.3 mm is one or two laser tracks. Default 0.25.
    pub wall_mm: f64,
    /// Length of a cell, one tooth each (mm), in [0.2, 2]. Default 0.5.
    pub tooth_pitch_mm: f64,
    /// Depth of the valleys between teeth below the surface (mm), in [0, 2]. Default 0.4.
    pub tooth_height_mm: f64,
    /// Rows of windows for powder removal. Default true.
    pub perforations: bool,
    /// Window height (mm), in [0.2, 3]. Default 0.6.
    pub hole_height_mm: f64,
    /// Vertical distance between window rows (mm), > window height + 0.2, ≤ 10. Default 1.2.
    pub hole_pitch_mm: f64,
}

impl Default for BlockParams {
    fn default() -> Self {
        BlockParams {
            spacing_mm: 1.0,
            wall_mm: 0.25,
            tooth_pitch_mm: 0.5,
            tooth_height_mm: 0.4,
            perforations: true,
            hole_height_mm: 0.6,
            hole_pitch_mm: 1.2,
        }
    }
}

impl BlockParams {
    pub(super) fn validate(&self) -> Result<(), SupportError> {
        let bad = |m: String| Err(SupportError::InvalidParameter(m));
        let range = |name: &str, v: f64, lo: f64, hi: f64, hint: &str| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                bad(format!(
                    "block {name} {v} mm is outside {lo}–{hi} mm ({hint})"
                ))
            }
        };
        range("spacing", self.spacing_mm, 0.5, 5.0, "about 1 mm is usual")?;
        range(
            "wall thickness",
            self.wall_mm,
            0.1,
            1.0,
            "one or two laser tracks, 0.2–0.3 mm",
        )?;
        range("tooth pitch", self.tooth_pitch_mm, 0.2, 2.0, "about 0.5 mm")?;
        range(
            "tooth height",
            self.tooth_height_mm,
            0.0,
            2.0,
            "about 0.4 mm",
        )?;
        range(
            "window height",
            self.hole_height_mm,
            0.2,
            3.0,
            "about 0.6 mm",
        )?;
        let p = self.hole_pitch_mm;
        if !(p.is_finite() && p >= self.hole_height_mm + 0.2 && p <= 10.0) {
            return bad(format!(
                "window pitch {p} mm must be at least the window height + 0.2 mm and at most 10 mm"
            ));
        }
        if self.spacing_mm < self.wall_mm + 2.0 * CROSSING_GAP_MM + self.tooth_pitch_mm {
            return bad(format!(
                "block spacing {} mm leaves no room between walls {} mm thick with {} mm teeth; use a larger spacing",
                self.spacing_mm, self.wall_mm, self.tooth_pitch_mm
            ));
        }
        Ok(())
    }
}

/// One wall of block supports (build space, mm).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SupportWall {
    /// True for a wall along x (at `y = line_mm`), false along y (at `x = line_mm`).
    pub along_x: bool,
    /// The fixed coordinate of the wall's centre plane.
    pub line_mm: f64,
    /// Extent along the wall.
    pub from_mm: f64,
    pub to_mm: f64,
    /// Lowest bottom and highest tooth tip.
    pub bottom_z_mm: f64,
    pub top_z_mm: f64,
    /// True when the whole wall stands on the plate.
    pub on_plate: bool,
    /// Teeth (one per cell) and windows.
    pub teeth: usize,
    pub windows: usize,
}

/// Joint left between a `y`-wall and an `x`-wall line (mm).
pub const CROSSING_GAP_MM: f64 = 0.02;
/// Lowest wall kept (surface to bottom, mm; the warnings of
/// [`SupportResult::warnings`](super::supports::SupportResult::warnings) name it).
pub const MIN_HEIGHT_MM: f64 = 0.3;
/// Solid wall kept above and below a window (mm).
pub const HOLE_MARGIN_MM: f64 = 0.3;
/// Height of the first window row above the plate (mm).
const HOLE_START_MM: f64 = 0.5;
/// Same lattice offset as the cone supports.
const LATTICE_OFFSET: f64 = 0.5137;
/// Offset of the cell grid along `x`-walls, as a fraction of the pitch.
const CELL_OFFSET: f64 = 0.2371;
/// Sample positions in a cell (fractions of its length).
const U: [f64; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

/// Where the wall's centre plane cuts one overhang face: `z` linear in `a` on `[a0, a1]`.
#[derive(Clone, Copy, Debug)]
struct Piece {
    a0: f64,
    z0: f64,
    a1: f64,
    z1: f64,
    triangle: u32,
}

/// A wall line in its local frame: `a` along, `b` across (fixed `b0`), z up. World
/// `(x, y) = (a, b)` for `x`-walls and `(−b, a)` for `y`-walls (a proper rotation, so
/// outward stays outward).
#[derive(Clone, Copy, Debug)]
struct Frame {
    along_x: bool,
    b0: f64,
}

impl Frame {
    fn world(&self, a: f64, b: f64, z: f64) -> [f64; 3] {
        if self.along_x {
            [a, b, z]
        } else {
            [-b, a, z]
        }
    }
    fn local(&self, p: [f64; 3]) -> [f64; 3] {
        if self.along_x {
            p
        } else {
            [p[1], -p[0], p[2]]
        }
    }
}

/// One sample of a cell.
#[derive(Clone, Copy, Debug)]
struct Sample {
    a: f64,
    surface: f64,
    bottom: f64,
    on_plate: bool,
    triangle: u32,
}

/// Outcome of sampling one surface point.
enum Probe {
    Ok(Sample),
    Articular,
    Other,
}

/// Generates block supports (called by [`super::supports::generate`] for
/// [`SupportStyle::Block`](super::supports::SupportStyle)).
pub(super) fn generate(
    mesh: &Mesh,
    marks: &ArticularMarks,
    params: &SupportParams,
) -> Result<SupportResult, SupportError> {
    let bp = &params.block;
    bp.validate()?;
    for (name, v) in [
        ("penetration", params.penetration_mm),
        ("articular clearance", params.articular_clearance_mm),
        ("gap", params.min_gap_mm),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(SupportError::InvalidParameter(format!(
                "{name} {v} mm must be a finite number ≥ 0"
            )));
        }
    }
    let map = overhang_map_with_params(mesh, [0.0, 0.0, 1.0], marks, &params.overhang)?;
    let plate_z = match params.overhang.plate_height_mm {
        Some(z) => z,
        None => used_vertices(mesh)
            .iter()
            .map(|&v| mesh.positions_mm[v][2])
            .fold(f64::INFINITY, f64::min),
    };
    let s = bp.spacing_mm;
    let t = bp.wall_mm;
    let q = bp.tooth_pitch_mm;
    let pen = params.penetration_mm;
    let clearance = params.articular_clearance_mm;
    // Steepest overhang slope along a line (faces within the critical angle of straight
    // down), with a margin; a larger step between samples is a different sheet.
    let slope = {
        let c = params.overhang.cos_critical().clamp(0.05, 1.0);
        (1.0 - c * c).sqrt() / c * 1.05 + 1e-6
    };

    // Overhang regions (for the "too small" report).
    let mut uf = super::supports::overhang_regions(mesh, &map.class)?;

    // Pieces per line, on the centre plane and the two faces of the wall (index 0, 1, 2):
    // key (along_x, line index).
    let o = LATTICE_OFFSET * s;
    let half = 0.5 * t;
    let mut lines: BTreeMap<(bool, i64), [Vec<Piece>; 3]> = BTreeMap::new();
    let mut piece_count = 0usize;
    for tri in 0..mesh.triangle_count() {
        if map.class[tri] != CLASS_OVERHANG {
            continue;
        }
        let c = mesh.corners(tri);
        for along_x in [true, false] {
            // Across coordinate in world terms: y for x-walls, x for y-walls.
            let w = if along_x { 1 } else { 0 };
            let lo = c[0][w].min(c[1][w]).min(c[2][w]);
            let hi = c[0][w].max(c[1][w]).max(c[2][w]);
            let (j0, j1) = (
                ((lo - half - o) / s).ceil() as i64,
                ((hi + half - o) / s).floor() as i64,
            );
            for j in j0..=j1 {
                let v = o + j as f64 * s;
                let frame = Frame {
                    along_x,
                    b0: if along_x { v } else { -v },
                };
                let l = c.map(|p| frame.local(p));
                for (k, db) in [0.0, -half, half].into_iter().enumerate() {
                    if let Some(p) = cut(&l, frame.b0 + db, tri as u32) {
                        if let Some(v) = lines.entry((along_x, j)).or_default().get_mut(k) {
                            v.push(p);
                        }
                        piece_count += 1;
                    }
                }
            }
        }
        if piece_count > 5_000_000 {
            return Err(SupportError::TooMany {
                contacts: piece_count,
                spacing_mm: s,
            });
        }
    }

    // Ray casting and articular clearance.
    let bvh = Bvh::build(mesh).map_err(OverhangError::from)?;
    let articular = super::supports::ArticularProximity::new(mesh, marks, clearance)?;
    let near_articular = |p: [f64; 3], r: f64| articular.near(p, r);
    const LIFT: f64 = 1e-3;
    // `sides`: the surface on the wall's two faces at this sample (a ray goes down from
    // each, so the whole thickness stands on the same ground).
    let probe =
        |frame: &Frame, a: f64, z: f64, sides: [f64; 2], below: &[f64], tri: u32| -> Probe {
            let top = frame.world(a, frame.b0, z);
            if near_articular(top, half) {
                return Probe::Articular;
            }
            let mut landing: Option<f64> = None;
            let mut plate_rays = 0;
            for (db, zs) in [(0.0, z), (-half, sides[0]), (half, sides[1])] {
                let start = frame.world(a, frame.b0 + db, zs - LIFT);
                let reach = start[2] - plate_z;
                if reach <= MIN_HEIGHT_MM {
                    return Probe::Other;
                }
                match bvh.ray_cast(start, [0.0, 0.0, -1.0], reach) {
                    Some(h) => {
                        let (n, a2) = normal_and_double_area(&mesh.corners(h.triangle as usize));
                        if a2 <= 0.0 || n[2] <= 0.0 {
                            return Probe::Other;
                        }
                        if marks
                            .mask
                            .get(h.triangle as usize)
                            .copied()
                            .unwrap_or(false)
                            || near_articular(h.point_mm, half)
                        {
                            return Probe::Articular;
                        }
                        landing =
                            Some(landing.map_or(h.point_mm[2], |l: f64| l.max(h.point_mm[2])));
                    }
                    None => plate_rays += 1,
                }
            }
            let (bottom, on_plate) = match landing {
                Some(_) if plate_rays > 0 => return Probe::Other,
                Some(l) => (l - pen, false),
                None => (plate_z, true),
            };
            if z - bottom < MIN_HEIGHT_MM {
                return Probe::Other;
            }
            // Another sheet below must stay clear of this wall's bottom.
            if below
                .iter()
                .any(|&zb| zb < z - 1e-9 && zb + pen + params.min_gap_mm > bottom)
            {
                return Probe::Other;
            }
            // The column itself, every millimetre.
            if articular.any() {
                let steps = ((z - bottom) / 1.0).ceil().max(1.0) as usize;
                for k in 1..steps {
                    let zk = bottom + (z - bottom) * k as f64 / steps as f64;
                    if near_articular(frame.world(a, frame.b0, zk), half) {
                        return Probe::Articular;
                    }
                }
            }
            Probe::Ok(Sample {
                a,
                surface: z,
                bottom,
                on_plate,
                triangle: tri,
            })
        };

    let mut out = Mesh::default();
    let mut walls: Vec<SupportWall> = Vec::new();
    let mut touched: BTreeSet<u32> = BTreeSet::new();
    let (mut contact, mut plate_area) = (0.0, 0.0);
    let (mut dropped_near_articular, mut dropped_other) = (0usize, 0usize);
    let x_line = |j: i64| o + j as f64 * s;
    for (&(along_x, j), planes) in &lines {
        let pieces = &planes[0];
        let frame = Frame {
            along_x,
            b0: if along_x { x_line(j) } else { -x_line(j) },
        };
        let amin = pieces.iter().map(|p| p.a0).fold(f64::INFINITY, f64::min);
        let amax = pieces
            .iter()
            .map(|p| p.a1)
            .fold(f64::NEG_INFINITY, f64::max);
        // Cells as (start, end, contiguous with the previous cell); a shared end is the
        // same number on both sides.
        let mut cells: Vec<(f64, f64, bool)> = Vec::new();
        if along_x {
            let off = CELL_OFFSET * q;
            let (k0, k1) = (
                ((amin - off) / q).floor() as i64,
                ((amax - off) / q).ceil() as i64,
            );
            for k in k0..k1 {
                cells.push((off + k as f64 * q, off + (k + 1) as f64 * q, k > k0));
            }
        } else {
            // Between x-wall lines m and m + 1 (a = y here).
            let (m0, m1) = (
                ((amin - o) / s).floor() as i64,
                ((amax - o) / s).ceil() as i64,
            );
            for m in m0..m1 {
                let lo = x_line(m) + half + CROSSING_GAP_MM;
                let hi = x_line(m + 1) - half - CROSSING_GAP_MM;
                let n = ((hi - lo) / q).round().max(1.0) as usize;
                let at = |c: usize| lo + (hi - lo) * c as f64 / n as f64;
                for c in 0..n {
                    cells.push((at(c), at(c + 1), c > 0));
                }
            }
        }
        // Surface heights at a position: every piece covering it, sorted, deduplicated.
        let surface_on = |plane: usize, a: f64| -> Vec<(f64, u32)> {
            let mut zs: Vec<(f64, u32)> = planes[plane]
                .iter()
                .filter(|p| p.a0 <= a && a <= p.a1 && p.a1 > p.a0)
                .map(|p| {
                    (
                        p.z0 + (a - p.a0) / (p.a1 - p.a0) * (p.z1 - p.z0),
                        p.triangle,
                    )
                })
                .collect();
            zs.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            zs.dedup_by(|x, y| (x.0 - y.0).abs() < 1e-6);
            zs
        };
        let surface_at = |a: f64| surface_on(0, a);
        // The surface on a face plane nearest to `z` and within the slope across half the
        // thickness, if any.
        let side_at = |plane: usize, a: f64, z: f64| -> Option<f64> {
            surface_on(plane, a)
                .into_iter()
                .map(|h| h.0)
                .filter(|zs| (zs - z).abs() <= slope * half + 1e-6)
                .min_by(|x, y| (x - z).abs().total_cmp(&(y - z).abs()))
        };
        // Tracks per cell: six samples on one sheet.
        let mut run: Vec<[Sample; 6]> = Vec::new();
        let mut flush = |run: &mut Vec<[Sample; 6]>, out: &mut Mesh| {
            if run.is_empty() {
                return;
            }
            let w = build_wall(out, &frame, run, bp, plate_z, pen);
            let len: f64 = run.iter().map(|c| c[5].a - c[0].a).sum();
            contact += run.len() as f64 * 0.2 * (len / run.len() as f64) * t;
            if w.on_plate {
                plate_area += len * t;
            } else {
                // Landings on the part (cells on the plate count to the plate).
                for c in run.iter() {
                    let l = c[5].a - c[0].a;
                    if c[0].on_plate {
                        plate_area += l * t;
                    } else {
                        contact += l * t;
                    }
                }
            }
            walls.push(w);
            run.clear();
        };
        let mut prev_end: Option<f64> = None;
        for &(a0, a1, contiguous) in &cells {
            let pos: Vec<f64> = U
                .iter()
                .map(|&u| if u == 1.0 { a1 } else { a0 + u * (a1 - a0) })
                .collect();
            let heights: Vec<Vec<(f64, u32)>> = pos.iter().map(|&a| surface_at(a)).collect();
            let mut track: Option<[Sample; 6]> = None;
            let mut articular_seen = false;
            let starts: Vec<(f64, u32)> = match (contiguous, prev_end, run.last()) {
                // Continue the current wall on its sheet first.
                (true, Some(_), Some(last)) => {
                    let z = last[5].surface;
                    let mut v: Vec<(f64, u32)> = heights[0]
                        .iter()
                        .copied()
                        .filter(|h| (h.0 - z).abs() < 1e-9)
                        .collect();
                    v.extend(
                        heights[0]
                            .iter()
                            .copied()
                            .filter(|h| (h.0 - z).abs() >= 1e-9),
                    );
                    v
                }
                _ => heights[0].clone(),
            };
            'start: for &(z0, tri0) in &starts {
                let mut samples: Vec<Sample> = Vec::with_capacity(6);
                let mut z = z0;
                let mut tri = tri0;
                for (i, &a) in pos.iter().enumerate() {
                    if i > 0 {
                        let da = pos[i] - pos[i - 1];
                        let Some(&(zn, tn)) = heights[i]
                            .iter()
                            .min_by(|x, y| (x.0 - z).abs().total_cmp(&(y.0 - z).abs()))
                        else {
                            continue 'start;
                        };
                        if (zn - z).abs() > slope * da {
                            continue 'start;
                        }
                        z = zn;
                        tri = tn;
                    }
                    let below: Vec<f64> = heights[i].iter().map(|h| h.0).collect();
                    let (Some(s0), Some(s1)) = (side_at(1, a, z), side_at(2, a, z)) else {
                        continue 'start;
                    };
                    match probe(&frame, a, z, [s0, s1], &below, tri) {
                        Probe::Ok(smp) => {
                            if let Some(p) = samples.last() {
                                let da = smp.a - p.a;
                                if smp.on_plate != p.on_plate
                                    || (smp.bottom - p.bottom).abs() > 2.0 * da + 1e-6
                                {
                                    continue 'start;
                                }
                            }
                            samples.push(smp);
                        }
                        Probe::Articular => {
                            articular_seen = true;
                            continue 'start;
                        }
                        Probe::Other => continue 'start,
                    }
                }
                if let Ok(arr) = <[Sample; 6]>::try_from(samples) {
                    track = Some(arr);
                    break;
                }
            }
            match track {
                Some(tr) => {
                    let joins = contiguous
                        && run.last().is_some_and(|l| {
                            l[5].surface == tr[0].surface
                                && l[5].bottom == tr[0].bottom
                                && l[5].a == tr[0].a
                        });
                    if !joins {
                        flush(&mut run, &mut out);
                    }
                    touched.insert(tr[2].triangle);
                    touched.insert(tr[3].triangle);
                    run.push(tr);
                }
                None => {
                    flush(&mut run, &mut out);
                    if !heights.iter().all(|h| h.is_empty()) {
                        if articular_seen {
                            dropped_near_articular += 1;
                        } else if heights.iter().all(|h| !h.is_empty()) {
                            dropped_other += 1;
                        }
                    }
                }
            }
            prev_end = Some(a1);
        }
        flush(&mut run, &mut out);
    }

    // Regions: articular ones are reported; the rest that no tooth touched are "too small".
    let mut regions: BTreeMap<u32, Region> = BTreeMap::new();
    for tri in 0..mesh.triangle_count() {
        let c = map.class[tri];
        if c == CLASS_OVERHANG || c == CLASS_ARTICULAR_OVERHANG {
            let corners = mesh.corners(tri);
            let (_, a2) = normal_and_double_area(&corners);
            let r = regions.entry(uf.find(tri as u32)).or_insert(Region {
                articular: c == CLASS_ARTICULAR_OVERHANG,
                touched: false,
                triangles: 0,
                area: 0.0,
                moment: [0.0; 3],
            });
            r.triangles += 1;
            r.area += 0.5 * a2;
            for (k, m) in r.moment.iter_mut().enumerate() {
                *m += 0.5 * a2 * (corners[0][k] + corners[1][k] + corners[2][k]) / 3.0;
            }
            r.touched |= touched.contains(&(tri as u32));
        }
    }
    let unsupported_regions = regions
        .values()
        .filter(|r| r.articular || !r.touched)
        .map(|r| UnsupportedRegion {
            triangles: r.triangles,
            area_mm2: r.area,
            centroid_mm: if r.area > 0.0 {
                r.moment.map(|m| m / r.area)
            } else {
                [0.0; 3]
            },
            reason: if r.articular {
                "articular"
            } else {
                "too small"
            },
        })
        .collect();

    let volume_mm3 = signed_volume(&out);
    Ok(SupportResult {
        mesh: out,
        supports: Vec::new(),
        walls,
        volume_mm3,
        contact_area_mm2: contact,
        plate_area_mm2: plate_area,
        supported_area_mm2: map.supported_area_mm2,
        unsupported_regions,
        dropped_near_articular,
        dropped_other,
    })
}

struct Region {
    articular: bool,
    touched: bool,
    triangles: usize,
    area: f64,
    moment: [f64; 3],
}

/// The segment where the plane `b = b0` cuts triangle `l` (local coordinates), as `z`
/// over `a`. An edge is cut when exactly one end is at or below `b0`.
fn cut(l: &[[f64; 3]; 3], b0: f64, triangle: u32) -> Option<Piece> {
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(2);
    for k in 0..3 {
        let (p, r) = (l[k], l[(k + 1) % 3]);
        if (p[1] <= b0) != (r[1] <= b0) {
            let f = (b0 - p[1]) / (r[1] - p[1]);
            pts.push((p[0] + f * (r[0] - p[0]), p[2] + f * (r[2] - p[2])));
        }
    }
    if pts.len() != 2 {
        return None;
    }
    let (p, r) = if pts[0].0 <= pts[1].0 {
        (pts[0], pts[1])
    } else {
        (pts[1], pts[0])
    };
    Some(Piece {
        a0: p.0,
        z0: p.1,
        a1: r.0,
        z1: r.1,
        triangle,
    })
}

/// Signed volume of a closed outward mesh (mm³).
fn signed_volume(m: &Mesh) -> f64 {
    m.triangles
        .iter()
        .map(|t| {
            let [a, b, c] = t.map(|v| m.positions_mm[v as usize]);
            (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0]))
                / 6.0
        })
        .sum()
}

/// Appends one wall (consecutive cells sharing boundary samples) to `out` and describes it.
fn build_wall(
    out: &mut Mesh,
    frame: &Frame,
    cells: &[[Sample; 6]],
    bp: &BlockParams,
    plate_z: f64,
    pen: f64,
) -> SupportWall {
    // Profile points along the wall: a, bottom, top; windows per span.
    let mut a: Vec<f64> = Vec::new();
    let mut bot: Vec<f64> = Vec::new();
    let mut top: Vec<f64> = Vec::new();
    let mut holes: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut windows = 0;
    for (ci, cell) in cells.iter().enumerate() {
        let tops: Vec<f64> = cell
            .iter()
            .enumerate()
            .map(|(i, smp)| {
                let dv = bp.tooth_height_mm.min(0.5 * (smp.surface - smp.bottom));
                match i {
                    0 | 5 => smp.surface - dv,
                    2 | 3 => smp.surface + pen,
                    _ => smp.surface + 0.5 * (pen - dv),
                }
            })
            .collect();
        // Windows over the middle three spans.
        let mut rows: Vec<(f64, f64)> = Vec::new();
        if bp.perforations {
            let lo = cell[1..5]
                .iter()
                .map(|smp| smp.bottom)
                .fold(f64::NEG_INFINITY, f64::max)
                + HOLE_MARGIN_MM;
            let hi = tops[1..5].iter().copied().fold(f64::INFINITY, f64::min) - HOLE_MARGIN_MM;
            let first = ((lo - plate_z - HOLE_START_MM) / bp.hole_pitch_mm)
                .ceil()
                .max(0.0) as i64;
            let mut r = first;
            loop {
                let za = plate_z + HOLE_START_MM + r as f64 * bp.hole_pitch_mm;
                let zb = za + bp.hole_height_mm;
                if zb > hi {
                    break;
                }
                if za >= lo {
                    rows.push((za, zb));
                }
                r += 1;
            }
            windows += rows.len();
        }
        for (i, smp) in cell.iter().enumerate() {
            // A cell's first sample is the previous cell's last.
            if ci == 0 || i > 0 {
                a.push(smp.a);
                bot.push(smp.bottom);
                top.push(tops[i]);
            }
            if i < 5 {
                holes.push(if (1..=3).contains(&i) {
                    rows.clone()
                } else {
                    Vec::new()
                });
            }
        }
    }
    append_profile(out, frame, bp.wall_mm, &a, &bot, &top, &holes);
    SupportWall {
        along_x: frame.along_x,
        line_mm: if frame.along_x { frame.b0 } else { -frame.b0 },
        from_mm: a.first().copied().unwrap_or(0.0),
        to_mm: a.last().copied().unwrap_or(0.0),
        bottom_z_mm: bot.iter().copied().fold(f64::INFINITY, f64::min),
        top_z_mm: top.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        on_plate: cells.iter().all(|c| c[0].on_plate),
        teeth: cells.len(),
        windows,
    }
}

/// Appends the closed extrusion, `thickness` across the frame's line, of the x-monotone
/// profile with vertical lines `a[k]`, bottom `bot[k]` < top `top[k]`, and per span
/// `k → k+1` the windows `holes[k]` (ascending, disjoint, strictly inside the span).
fn append_profile(
    out: &mut Mesh,
    frame: &Frame,
    thickness: f64,
    a: &[f64],
    bot: &[f64],
    top: &[f64],
    holes: &[Vec<(f64, f64)>],
) {
    let n = a.len();
    if n < 2 {
        return;
    }
    let (b_lo, b_hi) = (frame.b0 - 0.5 * thickness, frame.b0 + 0.5 * thickness);
    // Solid intervals of span `i` at its left (`end` 0) or right (1) line.
    let solid = |i: usize, end: usize| -> Vec<(f64, f64)> {
        let k = i + end;
        let mut v = Vec::with_capacity(holes[i].len() + 1);
        let mut lo = bot[k];
        for &(za, zb) in &holes[i] {
            v.push((lo, za));
            lo = zb;
        }
        v.push((lo, top[k]));
        v
    };
    // Heights on each vertical line: union of both neighbouring spans' ends.
    let levels: Vec<Vec<f64>> = (0..n)
        .map(|k| {
            let mut v = vec![bot[k], top[k]];
            for i in [k.wrapping_sub(1), k] {
                if let Some(h) = holes.get(i) {
                    for &(za, zb) in h {
                        v.push(za);
                        v.push(zb);
                    }
                }
            }
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        })
        .collect();
    let mut index: BTreeMap<(usize, u64, u8), u32> = BTreeMap::new();
    let mut vid = |out: &mut Mesh, k: usize, z: f64, side: u8| -> u32 {
        *index.entry((k, z.to_bits(), side)).or_insert_with(|| {
            let b = if side == 0 { b_lo } else { b_hi };
            out.positions_mm.push(frame.world(a[k], b, z));
            (out.positions_mm.len() - 1) as u32
        })
    };
    let quad = |out: &mut Mesh, q: [u32; 4]| {
        out.triangles.push([q[0], q[1], q[2]]);
        out.triangles.push([q[0], q[2], q[3]]);
    };
    for i in 0..n - 1 {
        let (left, right) = (solid(i, 0), solid(i, 1));
        for (&(l0, l1), &(r0, r1)) in left.iter().zip(&right) {
            let lc: Vec<f64> = levels[i]
                .iter()
                .copied()
                .filter(|&z| z >= l0 && z <= l1)
                .collect();
            let rc: Vec<f64> = levels[i + 1]
                .iter()
                .copied()
                .filter(|&z| z >= r0 && z <= r1)
                .collect();
            // Zipper between the two chains; counter-clockwise in (a, z) on the front
            // side (seen from −b), reversed on the back.
            let (mut li, mut ri) = (0, 0);
            while li + 1 < lc.len() || ri + 1 < rc.len() {
                let advance_right =
                    li + 1 >= lc.len() || (ri + 1 < rc.len() && rc[ri + 1] <= lc[li + 1]);
                for side in [0u8, 1] {
                    let p = vid(out, i, lc[li], side);
                    let r = vid(out, i + 1, rc[ri], side);
                    let third = if advance_right {
                        vid(out, i + 1, rc[ri + 1], side)
                    } else {
                        vid(out, i, lc[li + 1], side)
                    };
                    out.triangles.push(if side == 0 {
                        [p, r, third]
                    } else {
                        [p, third, r]
                    });
                }
                if advance_right {
                    ri += 1;
                } else {
                    li += 1;
                }
            }
            // Top and bottom of the interval across the thickness.
            let (f0, f1, k0, k1) = (
                vid(out, i, l1, 0),
                vid(out, i + 1, r1, 0),
                vid(out, i, l1, 1),
                vid(out, i + 1, r1, 1),
            );
            quad(out, [f0, f1, k1, k0]);
            let (f0, f1, k0, k1) = (
                vid(out, i, l0, 0),
                vid(out, i + 1, r0, 0),
                vid(out, i, l0, 1),
                vid(out, i + 1, r0, 1),
            );
            quad(out, [f0, k0, k1, f1]);
        }
    }
    // Exposed vertical pieces: where one neighbouring span is solid and the other not.
    let inside = |iv: &[(f64, f64)], z: f64| iv.iter().any(|&(lo, hi)| lo < z && z < hi);
    for (k, level) in levels.iter().enumerate() {
        let lsol = if k > 0 { solid(k - 1, 1) } else { Vec::new() };
        let rsol = if k + 1 < n { solid(k, 0) } else { Vec::new() };
        for w in level.windows(2) {
            let mid = 0.5 * (w[0] + w[1]);
            let (l, r) = (inside(&lsol, mid), inside(&rsol, mid));
            if l == r {
                continue;
            }
            let f0 = vid(out, k, w[0], 0);
            let f1 = vid(out, k, w[1], 0);
            let k0 = vid(out, k, w[0], 1);
            let k1 = vid(out, k, w[1], 1);
            if l {
                // Faces +a.
                quad(out, [f0, k0, k1, f1]);
            } else {
                quad(out, [f0, f1, k1, k0]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::repair::check;

    #[test]
    fn a_perforated_profile_is_a_closed_outward_solid_of_the_right_volume() {
        let mut m = Mesh::default();
        let frame = Frame {
            along_x: false,
            b0: 0.3,
        };
        let a = [0.0, 0.5, 1.0, 1.5, 2.0];
        let bot = [0.0, 0.1, 0.0, 0.2, 0.0];
        let top = [3.0, 3.5, 3.2, 3.0, 3.1];
        let holes = vec![
            vec![],
            vec![(1.0, 1.5), (2.0, 2.5)],
            vec![(1.0, 1.5)],
            vec![],
        ];
        append_profile(&mut m, &frame, 0.25, &a, &bot, &top, &holes);
        let rep = check(&m).unwrap();
        assert!(rep.is_clean_solid(), "{rep:?}");
        assert_eq!(rep.components, 1);
        // Profile area by trapezoids minus the windows, times the thickness.
        let mut area = 0.0;
        for i in 0..4 {
            area += 0.5 * (a[i + 1] - a[i]) * ((top[i] - bot[i]) + (top[i + 1] - bot[i + 1]));
            area -= holes[i].iter().map(|h| (h.1 - h.0) * 0.5).sum::<f64>();
        }
        assert!(
            (rep.signed_volume_mm3 - 0.25 * area).abs() < 1e-9,
            "{}",
            rep.signed_volume_mm3
        );
    }
}
