//! Cone supports for powder-bed fusion under every overhang, touching only
//! non-articular faces. [`SupportParams::style`] = [`SupportStyle::Block`] hands over to
//! [`super::block_supports`] (perforated walls with teeth) with the same result type.
//!
//! Space: build-space millimetres, +z up; the plate is at `overhang.plate_height_mm`
//! (default: the lowest point of the part, which then rests on it).
//!
//! Kind: **cone supports** — each support is a closed frustum of a regular polygon
//! (`sides`, default 8) from a wide foot on the plate (radius `base_fraction · spacing`)
//! to a small tip (radius `tip_radius_mm`) that enters the part by `penetration_mm`
//! (the "tooth" that fuses to the overhang and breaks off cleanly). A support that
//! lands on the part below is a thin column with a tip at both ends. Cones were chosen
//! over perforated block walls because each is a simple closed solid whose watertightness
//! and orientation hold by construction, and supports on the same lattice cannot meet:
//!
//! 1. Overhang faces (class 1 of the [overhang map](super::overhang)) are sampled on a
//!    square xy lattice (`spacing_mm`, default 1.5) through `(0.5137 s, 0.5137 s)`, an
//!    offset that keeps lattice lines off the round coordinates where walls of centred,
//!    CAD-like parts usually lie (a ray sliding down a wall is the ill-posed case):
//!    every lattice point inside a face's xy projection gives a contact on that face. A region whose
//!    projection holds no lattice point gets one thin support at its largest face's
//!    centroid when that is clear of its neighbours.
//! 2. From each contact five rays are cast straight down ([`Bvh::ray_cast`]), on the axis
//!    and at the tip radius around it; the highest hit wins. No hit → the support stands
//!    on the plate (wide foot, when four rays at the foot radius also reach the plate); a
//!    hit on an up-facing part face → a thin column lands on the part (within the tip
//!    radius of its axis).
//! 3. A contact, landing or column closer than `articular_clearance_mm` (+ its radius) to
//!    an articular face is dropped and counted. Articular overhangs are never sampled:
//!    they are returned as [`UnsupportedRegion`]s so the user is warned, not left unaware.
//! 4. Supports at the same lattice point (stacked overhangs) are trimmed to leave
//!    `min_gap_mm` between them.
//!
//! Every support's foot radius is at most 0.45 × spacing, so feet on neighbouring
//! lattice points are disjoint and the support mesh has no self-intersections.

use super::block_supports::{BlockParams, SupportWall};
use super::overhang::{
    det_cos, normal_and_double_area, overhang_map_with_params, used_vertices, ArticularMarks,
    OverhangError, OverhangParams, CLASS_ARTICULAR_OVERHANG, CLASS_OVERHANG,
};
use crate::mesh::adjacency::{Adjacency, UnionFind};
use crate::mesh::bvh::Bvh;
use crate::mesh::Mesh;
use std::collections::BTreeMap;

/// Errors of support generation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SupportError {
    /// Overhang analysis failed (mesh, marks or overhang parameters).
    #[error("{0}")]
    Overhang(#[from] OverhangError),
    /// A support parameter outside its valid range.
    #[error("invalid support parameter: {0}")]
    InvalidParameter(String),
    /// So many lattice points that the support mesh would not fit in memory.
    #[error(
        "{contacts} support contacts at {spacing_mm} mm spacing is too many; use a larger spacing"
    )]
    TooMany { contacts: usize, spacing_mm: f64 },
}

/// Options of [`generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct SupportParams {
    /// Overhang rule and plate height.
    pub overhang: OverhangParams,
    /// Lattice spacing in x and y (mm), in [0.5, 10]. Default 1.5.
    pub spacing_mm: f64,
    /// Radius of the tip at a contact (mm), > 0 and < foot radius. Default 0.25.
    pub tip_radius_mm: f64,
    /// Foot radius on the plate as a fraction of the spacing, in (0, 0.45]. Default 0.4.
    pub base_fraction: f64,
    /// Polygon sides of each support, 3..=32. Default 8.
    pub sides: usize,
    /// Depth the tip enters the part (mm), ≥ 0. Default 0.1.
    pub penetration_mm: f64,
    /// Distance kept from articular faces (mm), ≥ 0. Default 0.5.
    pub articular_clearance_mm: f64,
    /// Gap between supports stacked on one lattice point (mm), > 0. Default 0.2.
    pub min_gap_mm: f64,
    /// Cones (default) or perforated block walls with teeth.
    pub style: SupportStyle,
    /// Options of block supports (used when `style` is [`SupportStyle::Block`]; the
    /// cone fields `spacing_mm`, `tip_radius_mm`, `base_fraction` and `sides` are not).
    pub block: BlockParams,
}

/// Kind of supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportStyle {
    /// Cone supports on a lattice (this module).
    #[default]
    Cone,
    /// Perforated block walls with teeth ([`super::block_supports`]).
    Block,
}

impl Default for SupportParams {
    fn default() -> Self {
        SupportParams {
            overhang: OverhangParams::default(),
            spacing_mm: 1.5,
            tip_radius_mm: 0.25,
            base_fraction: 0.4,
            sides: 8,
            penetration_mm: 0.1,
            articular_clearance_mm: 0.5,
            min_gap_mm: 0.2,
            style: SupportStyle::Cone,
            block: BlockParams::default(),
        }
    }
}

/// One support (build space, mm).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Support {
    /// Axis position in x and y.
    pub xy_mm: [f64; 2],
    /// Bottom of the solid (on the plate, or `penetration_mm` inside the part below).
    pub bottom_z_mm: f64,
    /// Top of the solid (`penetration_mm` inside the overhang).
    pub top_z_mm: f64,
    /// Circumradius at the bottom.
    pub bottom_radius_mm: f64,
    /// Circumradius at the top.
    pub top_radius_mm: f64,
    /// True when it stands on the plate, false when it lands on the part.
    pub on_plate: bool,
    /// Overhang triangle it holds.
    pub triangle: u32,
}

/// An overhang region that was not supported.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UnsupportedRegion {
    /// Triangles in the region.
    pub triangles: usize,
    /// Area (mm²).
    pub area_mm2: f64,
    /// Area-weighted centroid (mm).
    pub centroid_mm: [f64; 3],
    /// Why: "articular" (supports may not touch a joint surface) or "too small" (no clear
    /// place for a support).
    pub reason: &'static str,
}

/// Result of [`generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct SupportResult {
    /// All supports as one mesh (one closed outward component per support).
    pub mesh: Mesh,
    /// The cone supports, in mesh order (empty for block supports).
    pub supports: Vec<Support>,
    /// The block-support walls, in mesh order (empty for cones).
    pub walls: Vec<SupportWall>,
    /// Volume of the supports (mm³).
    pub volume_mm3: f64,
    /// Area where supports touch the part: tips and landings (mm²).
    pub contact_area_mm2: f64,
    /// Area where supports stand on the plate (mm²).
    pub plate_area_mm2: f64,
    /// Non-articular area needing support (mm²).
    pub supported_area_mm2: f64,
    /// Overhang regions left without support, with the reason (a warning for the user).
    pub unsupported_regions: Vec<UnsupportedRegion>,
    /// Contacts dropped because the contact, its landing or its column came too close to
    /// an articular face.
    pub dropped_near_articular: usize,
    /// Contacts dropped because the ray below them met no up-facing surface.
    pub dropped_other: usize,
}

impl SupportResult {
    /// Plain-words warnings for the user, one per unsupported region (empty when
    /// everything was supported). [`SupportResult::warning_summary`] groups them.
    pub fn warnings(&self) -> Vec<String> {
        let mut w: Vec<String> = self
            .unsupported_regions
            .iter()
            .map(|r| {
                let c = r.centroid_mm;
                format!(
                    "overhang of {:.1} mm² near ({:.1}, {:.1}, {:.1}) mm is not supported ({}): {}",
                    r.area_mm2,
                    c[0],
                    c[1],
                    c[2],
                    r.reason,
                    advice(r.reason)
                )
            })
            .collect();
        w.extend(self.dropped_warnings());
        w
    }

    /// The warnings grouped for a report: one line per reason for the unsupported regions
    /// (how many, their area, the largest and where it is) and one per kind of contact
    /// left out, so dozens of tiny regions read as one line. [`SupportResult::warnings`]
    /// has the details.
    pub fn warning_summary(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (reason, what) in [
            ("articular", "on joint surfaces"),
            ("too small", "without a clear place for a support"),
        ] {
            let of: Vec<&UnsupportedRegion> = self
                .unsupported_regions
                .iter()
                .filter(|r| r.reason == reason)
                .collect();
            // The first of equal largest regions, so the line is the same on every run.
            let Some(largest) =
                of.iter()
                    .copied()
                    .reduce(|a, b| if b.area_mm2 > a.area_mm2 { b } else { a })
            else {
                continue;
            };
            let area: f64 = of.iter().map(|r| r.area_mm2).sum();
            let c = largest.centroid_mm;
            w.push(if of.len() == 1 {
                format!(
                    "1 overhang region {what} ({area:.1} mm² near ({:.1}, {:.1}, {:.1}) mm) is not supported: {}",
                    c[0], c[1], c[2], advice(reason)
                )
            } else {
                format!(
                    "{} overhang regions {what} ({area:.1} mm² in all; the largest {:.1} mm² near ({:.1}, {:.1}, {:.1}) mm) are not supported: {}",
                    of.len(), largest.area_mm2, c[0], c[1], c[2], advice(reason)
                )
            });
        }
        w.extend(self.dropped_warnings());
        w
    }

    fn dropped_warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.dropped_near_articular > 0 {
            w.push(format!(
                "{} support contacts were left out because they came too close to an articular surface",
                self.dropped_near_articular
            ));
        }
        if self.dropped_other > 0 && !self.walls.is_empty() {
            w.push(format!(
                "{} wall cells were left out where the overhang above or the ground below changes abruptly, or the gap below is under 0.3 mm",
                self.dropped_other
            ));
        } else if self.dropped_other > 0 {
            w.push(format!(
                "{} support contacts were left out because nothing below them could carry a support (check the mesh is closed and outward)",
                self.dropped_other
            ));
        }
        w
    }
}

/// What to do about an overhang region left unsupported for `reason`.
fn advice(reason: &str) -> &'static str {
    if reason == "articular" {
        "orient the part so joint surfaces face up, or accept a rough surface there"
    } else {
        "use a smaller support spacing"
    }
}

impl SupportParams {
    fn validate(&self) -> Result<(), SupportError> {
        self.overhang.validate()?;
        let bad = |m: String| Err(SupportError::InvalidParameter(m));
        let s = self.spacing_mm;
        if !(s.is_finite() && (0.5..=10.0).contains(&s)) {
            return bad(format!(
                "spacing {s} mm is outside 0.5–10 mm (1–2 mm is usual)"
            ));
        }
        let f = self.base_fraction;
        if !(f.is_finite() && f > 0.0 && f <= 0.45) {
            return bad(format!(
                "foot fraction {f} is outside (0, 0.45]; larger feet would touch their neighbours"
            ));
        }
        let t = self.tip_radius_mm;
        if !(t.is_finite() && t > 0.0 && t <= f * s) {
            return bad(format!(
                "tip radius {t} mm must be > 0 and at most the foot radius {:.3} mm",
                f * s
            ));
        }
        if !(3..=32).contains(&self.sides) {
            return bad(format!("{} sides: use 3 to 32", self.sides));
        }
        for (name, v) in [
            ("penetration", self.penetration_mm),
            ("articular clearance", self.articular_clearance_mm),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} {v} mm must be a finite number ≥ 0"));
            }
        }
        let g = self.min_gap_mm;
        if !(g.is_finite() && g > 0.0) {
            return bad(format!("gap {g} mm must be > 0"));
        }
        Ok(())
    }
}

/// A sampled point on an overhang face.
#[derive(Clone, Copy, Debug)]
struct Contact {
    /// Lattice cell, or `None` for the single support of a small region.
    cell: Option<(i64, i64)>,
    p: [f64; 3],
    triangle: u32,
}

/// Generates supports for `mesh` (build space) avoiding articular `marks`.
pub fn generate(
    mesh: &Mesh,
    marks: &ArticularMarks,
    params: &SupportParams,
) -> Result<SupportResult, SupportError> {
    if params.style == SupportStyle::Block {
        return super::block_supports::generate(mesh, marks, params);
    }
    params.validate()?;
    let map = overhang_map_with_params(mesh, [0.0, 0.0, 1.0], marks, &params.overhang)?;
    let plate_z = match params.overhang.plate_height_mm {
        Some(z) => z,
        None => used_vertices(mesh)
            .iter()
            .map(|&v| mesh.positions_mm[v][2])
            .fold(f64::INFINITY, f64::min),
    };
    let s = params.spacing_mm;
    let foot_r = params.base_fraction * s;
    let tip_r = params.tip_radius_mm;
    let pen = params.penetration_mm;
    let clearance = params.articular_clearance_mm;

    // Regions: edge-connected faces of the same overhang class.
    let mut uf = overhang_regions(mesh, &map.class)?;

    // 1. Lattice contacts.
    let mut contacts: Vec<Contact> = Vec::new();
    let mut sampled_root: BTreeMap<u32, bool> = BTreeMap::new();
    for t in 0..mesh.triangle_count() {
        if map.class[t] != CLASS_OVERHANG {
            continue;
        }
        let root = uf.find(t as u32);
        let got = sample_triangle(&mesh.corners(t), s, t as u32, &mut contacts);
        let e = sampled_root.entry(root).or_insert(false);
        *e |= got;
        if contacts.len() > 20_000_000 {
            return Err(SupportError::TooMany {
                contacts: contacts.len(),
                spacing_mm: s,
            });
        }
    }
    contacts.sort_by(|a, b| {
        a.cell
            .cmp(&b.cell)
            .then(a.p[2].total_cmp(&b.p[2]))
            .then(a.triangle.cmp(&b.triangle))
    });
    // A lattice point on an edge shared by two faces is found twice.
    contacts.dedup_by(|b, a| a.cell == b.cell && (b.p[2] - a.p[2]).abs() < 1e-3);

    // Regions without a lattice point: one thin support at the largest face's centroid.
    let mut regions: BTreeMap<u32, RegionAcc> = BTreeMap::new();
    for t in 0..mesh.triangle_count() {
        let c = map.class[t];
        if c == CLASS_OVERHANG || c == CLASS_ARTICULAR_OVERHANG {
            let corners = mesh.corners(t);
            let (_, a2) = normal_and_double_area(&corners);
            regions
                .entry(uf.find(t as u32))
                .or_insert_with(|| RegionAcc::new(c == CLASS_ARTICULAR_OVERHANG))
                .add(t as u32, &corners, 0.5 * a2);
        }
    }
    let mut unsupported = Vec::new();
    let occupied: std::collections::BTreeSet<(i64, i64)> =
        contacts.iter().filter_map(|c| c.cell).collect();
    let mut extras: Vec<[f64; 2]> = Vec::new();
    for (root, r) in &regions {
        if r.articular {
            unsupported.push(r.summary("articular"));
            continue;
        }
        if sampled_root.get(root).copied().unwrap_or(false) {
            continue;
        }
        let p = r.largest_centroid;
        let clear_of_lattice = lattice_neighbours(p, s).all(|cell| {
            !occupied.contains(&cell) || {
                let o = LATTICE_OFFSET * s;
                let d = [p[0] - o - cell.0 as f64 * s, p[1] - o - cell.1 as f64 * s];
                (d[0] * d[0] + d[1] * d[1]).sqrt() >= foot_r + tip_r + 0.05
            }
        });
        let clear_of_extras = extras.iter().all(|q| {
            let d = [p[0] - q[0], p[1] - q[1]];
            (d[0] * d[0] + d[1] * d[1]).sqrt() >= 2.0 * tip_r + 0.05
        });
        if clear_of_lattice && clear_of_extras {
            extras.push([p[0], p[1]]);
            contacts.push(Contact {
                cell: None,
                p,
                triangle: r.largest,
            });
        } else {
            unsupported.push(r.summary("too small"));
        }
    }

    // 2–3. Rays down, articular clearance.
    let bvh = Bvh::build(mesh).map_err(OverhangError::from)?;
    let articular = ArticularProximity::new(mesh, marks, clearance)?;
    let near_articular = |p: [f64; 3], r: f64| articular.near(p, r);
    let mut placed: Vec<(Option<(i64, i64)>, Support)> = Vec::new();
    let (mut dropped_near_articular, mut dropped_other) = (0, 0);
    const LIFT: f64 = 1e-3;
    for c in &contacts {
        let [x, y, z] = c.p;
        if near_articular(c.p, tip_r) {
            dropped_near_articular += 1;
            continue;
        }
        let down = [0.0, 0.0, -1.0];
        // Five rays (axis and four at the tip radius), the highest hit wins: a contact on
        // the edge of an overhang above a wall must not slip past the part to the plate.
        let mut hit: Option<crate::mesh::bvh::RayHit> = None;
        for d in [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]] {
            let start = [x + d[0] * tip_r, y + d[1] * tip_r, z - LIFT - tip_r];
            let reach = start[2] - plate_z;
            if reach <= 0.0 {
                continue;
            }
            if let Some(h) = bvh.ray_cast(start, down, reach) {
                // An offset ray that starts inside the part first meets a face looking
                // down (its way out): it says nothing about the landing.
                let (n, _) = normal_and_double_area(&mesh.corners(h.triangle as usize));
                let outside = d == [0.0, 0.0] || n[2] > 0.0;
                if outside && hit.is_none_or(|b| h.point_mm[2] > b.point_mm[2]) {
                    hit = Some(h);
                }
            }
        }
        let support = match hit {
            Some(h) => {
                let (n, a2) = normal_and_double_area(&mesh.corners(h.triangle as usize));
                if a2 <= 0.0 || n[2] <= 0.0 {
                    dropped_other += 1;
                    continue;
                }
                if marks
                    .mask
                    .get(h.triangle as usize)
                    .copied()
                    .unwrap_or(false)
                    || near_articular(h.point_mm, tip_r)
                {
                    dropped_near_articular += 1;
                    continue;
                }
                Support {
                    xy_mm: [x, y],
                    bottom_z_mm: h.point_mm[2] - pen,
                    top_z_mm: z + pen,
                    bottom_radius_mm: tip_r,
                    top_radius_mm: tip_r,
                    on_plate: false,
                    triangle: c.triangle,
                }
            }
            None => {
                // A wide foot only when the whole foot reaches the plate unobstructed.
                let foot_clear = c.cell.is_some()
                    && [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
                        .iter()
                        .all(|d| {
                            let o = [x + d[0] * foot_r, y + d[1] * foot_r, z - foot_r - LIFT];
                            let reach = o[2] - plate_z;
                            reach <= 0.0 || bvh.ray_cast(o, down, reach).is_none()
                        });
                Support {
                    xy_mm: [x, y],
                    bottom_z_mm: plate_z,
                    top_z_mm: z + pen,
                    bottom_radius_mm: if foot_clear { foot_r } else { tip_r },
                    top_radius_mm: tip_r,
                    on_plate: true,
                    triangle: c.triangle,
                }
            }
        };
        if column_near_articular(&support, &near_articular) {
            dropped_near_articular += 1;
            continue;
        }
        placed.push((c.cell, support));
    }

    // 4. Stacked supports on one lattice point (sorted by height already).
    for i in 1..placed.len() {
        let (lo, hi) = placed.split_at_mut(i);
        let (a, b) = (&mut lo[i - 1], &mut hi[0]);
        if a.0.is_some() && a.0 == b.0 && a.1.top_z_mm + params.min_gap_mm > b.1.bottom_z_mm {
            let mid = 0.5 * (a.1.top_z_mm + b.1.bottom_z_mm);
            a.1.top_z_mm = mid - 0.5 * params.min_gap_mm;
            b.1.bottom_z_mm = mid + 0.5 * params.min_gap_mm;
        }
    }
    let supports: Vec<Support> = placed
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s.top_z_mm - s.bottom_z_mm > 1e-3)
        .collect();

    // Mesh and totals.
    let ring = ring_unit(params.sides);
    let poly_area = |r: f64| 0.5 * params.sides as f64 * r * r * ring_sin(params.sides);
    let mut out = Mesh::default();
    let (mut volume, mut contact, mut plate) = (0.0, 0.0, 0.0);
    for sup in &supports {
        append_frustum(&mut out, sup, &ring);
        let (a0, a1) = (
            poly_area(sup.bottom_radius_mm),
            poly_area(sup.top_radius_mm),
        );
        volume += (sup.top_z_mm - sup.bottom_z_mm) / 3.0 * (a0 + a1 + (a0 * a1).sqrt());
        contact += a1;
        if sup.on_plate {
            plate += a0;
        } else {
            contact += a0;
        }
    }
    Ok(SupportResult {
        mesh: out,
        supports,
        walls: Vec::new(),
        volume_mm3: volume,
        contact_area_mm2: contact,
        plate_area_mm2: plate,
        supported_area_mm2: map.supported_area_mm2,
        unsupported_regions: unsupported,
        dropped_near_articular,
        dropped_other,
    })
}

/// Pushes a contact for every lattice point inside the xy projection of triangle `c`
/// (boundary included; duplicates on shared edges are removed later). Returns whether
/// any was found.
fn sample_triangle(c: &[[f64; 3]; 3], s: f64, t: u32, out: &mut Vec<Contact>) -> bool {
    let o = LATTICE_OFFSET * s;
    let lo = [0, 1].map(|k| c[0][k].min(c[1][k]).min(c[2][k]));
    let hi = [0, 1].map(|k| c[0][k].max(c[1][k]).max(c[2][k]));
    let (i0, i1) = (
        ((lo[0] - o) / s).ceil() as i64,
        ((hi[0] - o) / s).floor() as i64,
    );
    let (j0, j1) = (
        ((lo[1] - o) / s).ceil() as i64,
        ((hi[1] - o) / s).floor() as i64,
    );
    let det = (c[1][0] - c[0][0]) * (c[2][1] - c[0][1]) - (c[2][0] - c[0][0]) * (c[1][1] - c[0][1]);
    if det.abs() < 1e-12 {
        return false;
    }
    let mut any = false;
    for i in i0..=i1 {
        for j in j0..=j1 {
            let (x, y) = (o + i as f64 * s, o + j as f64 * s);
            let u =
                ((x - c[0][0]) * (c[2][1] - c[0][1]) - (c[2][0] - c[0][0]) * (y - c[0][1])) / det;
            let v =
                ((c[1][0] - c[0][0]) * (y - c[0][1]) - (x - c[0][0]) * (c[1][1] - c[0][1])) / det;
            const E: f64 = -1e-9;
            if u >= E && v >= E && u + v <= 1.0 - E {
                let z = c[0][2] + u * (c[1][2] - c[0][2]) + v * (c[2][2] - c[0][2]);
                out.push(Contact {
                    cell: Some((i, j)),
                    p: [x, y, z],
                    triangle: t,
                });
                any = true;
            }
        }
    }
    any
}

/// Lattice points are at `(LATTICE_OFFSET + i) · s`, `(LATTICE_OFFSET + j) · s`.
const LATTICE_OFFSET: f64 = 0.5137;

fn lattice_neighbours(p: [f64; 3], s: f64) -> impl Iterator<Item = (i64, i64)> {
    let o = LATTICE_OFFSET * s;
    let (ci, cj) = (
        ((p[0] - o) / s).round() as i64,
        ((p[1] - o) / s).round() as i64,
    );
    (-1..=1).flat_map(move |di| (-1..=1).map(move |dj| (ci + di, cj + dj)))
}

/// True when the support's axis passes within its radius + clearance of an articular face
/// (checked every quarter millimetre).
fn column_near_articular(s: &Support, near: &impl Fn([f64; 3], f64) -> bool) -> bool {
    let h = s.top_z_mm - s.bottom_z_mm;
    let steps = (h / 0.25).ceil().max(1.0) as usize;
    (0..=steps).any(|k| {
        let f = k as f64 / steps as f64;
        let r = s.bottom_radius_mm + f * (s.top_radius_mm - s.bottom_radius_mm);
        near([s.xy_mm[0], s.xy_mm[1], s.bottom_z_mm + f * h], r)
    })
}

struct RegionAcc {
    articular: bool,
    triangles: usize,
    area: f64,
    moment: [f64; 3],
    largest: u32,
    largest_area: f64,
    largest_centroid: [f64; 3],
}

impl RegionAcc {
    fn new(articular: bool) -> Self {
        RegionAcc {
            articular,
            triangles: 0,
            area: 0.0,
            moment: [0.0; 3],
            largest: 0,
            largest_area: -1.0,
            largest_centroid: [0.0; 3],
        }
    }
    fn add(&mut self, t: u32, c: &[[f64; 3]; 3], area: f64) {
        let g = [0, 1, 2].map(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0);
        self.triangles += 1;
        self.area += area;
        for (m, gk) in self.moment.iter_mut().zip(g) {
            *m += area * gk;
        }
        if area > self.largest_area {
            self.largest_area = area;
            self.largest = t;
            self.largest_centroid = g;
        }
    }
    fn summary(&self, reason: &'static str) -> UnsupportedRegion {
        let centroid_mm = if self.area > 0.0 {
            self.moment.map(|m| m / self.area)
        } else {
            self.largest_centroid
        };
        UnsupportedRegion {
            triangles: self.triangles,
            area_mm2: self.area,
            centroid_mm,
            reason,
        }
    }
}

/// Unit polygon corners `(cos, sin)` of a regular `n`-gon (series cosine: same bits on
/// every platform).
fn ring_unit(n: usize) -> Vec<[f64; 2]> {
    use std::f64::consts::{FRAC_PI_2, PI};
    (0..n)
        .map(|k| {
            let a = 2.0 * PI * k as f64 / n as f64;
            [det_cos(a), det_cos(a - FRAC_PI_2)]
        })
        .collect()
}

fn ring_sin(n: usize) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI};
    det_cos(2.0 * PI / n as f64 - FRAC_PI_2)
}

/// Appends a closed frustum: bottom centre, bottom ring, top ring, top centre; caps are
/// fans from the centres; counter-clockwise seen from outside.
fn append_frustum(m: &mut Mesh, s: &Support, ring: &[[f64; 2]]) {
    let n = ring.len() as u32;
    let base = m.positions_mm.len() as u32;
    let [x, y] = s.xy_mm;
    m.positions_mm.push([x, y, s.bottom_z_mm]);
    for (z, r) in [
        (s.bottom_z_mm, s.bottom_radius_mm),
        (s.top_z_mm, s.top_radius_mm),
    ] {
        for c in ring {
            m.positions_mm.push([x + r * c[0], y + r * c[1], z]);
        }
    }
    m.positions_mm.push([x, y, s.top_z_mm]);
    let (bc, b0, t0, tc) = (base, base + 1, base + 1 + n, base + 1 + 2 * n);
    for k in 0..n {
        let k1 = (k + 1) % n;
        m.triangles.push([bc, b0 + k1, b0 + k]);
        m.triangles.push([tc, t0 + k, t0 + k1]);
        m.triangles.push([b0 + k, b0 + k1, t0 + k1]);
        m.triangles.push([b0 + k, t0 + k1, t0 + k]);
    }
}

/// Overhang regions: faces of the same overhang class (plain or articular) joined across
/// shared edges; shared by cone and block supports.
pub(super) fn overhang_regions(mesh: &Mesh, class: &[u8]) -> Result<UnionFind, SupportError> {
    let adj = Adjacency::build(mesh).map_err(OverhangError::from)?;
    let mut uf = UnionFind::new(mesh.triangle_count());
    for t in 0..mesh.triangle_count() {
        let c = class[t];
        if c != CLASS_OVERHANG && c != CLASS_ARTICULAR_OVERHANG {
            continue;
        }
        for k in 0..3 {
            if let Some(o) = adj.neighbour(t, k) {
                if class[o as usize] == c {
                    uf.union(t as u32, o);
                }
            }
        }
    }
    Ok(uf)
}

/// Closeness to the articular faces: a BVH over the marked triangles only (none when
/// nothing is marked), shared by cone and block supports.
pub(super) struct ArticularProximity {
    bvh: Option<Bvh>,
    clearance_mm: f64,
}

impl ArticularProximity {
    pub(super) fn new(
        mesh: &Mesh,
        marks: &ArticularMarks,
        clearance_mm: f64,
    ) -> Result<Self, SupportError> {
        let bvh = if marks.count() > 0 {
            let tris = mesh
                .triangles
                .iter()
                .zip(&marks.mask)
                .filter(|(_, m)| **m)
                .map(|(t, _)| *t)
                .collect();
            Some(
                Bvh::build(&Mesh::new(mesh.positions_mm.clone(), tris))
                    .map_err(OverhangError::from)?,
            )
        } else {
            None
        };
        Ok(ArticularProximity { bvh, clearance_mm })
    }

    /// True when any face is marked articular.
    pub(super) fn any(&self) -> bool {
        self.bvh.is_some()
    }

    /// True when an articular face lies within `r` + the clearance of `p` (mm).
    pub(super) fn near(&self, p: [f64; 3], r: f64) -> bool {
        self.bvh
            .as_ref()
            .is_some_and(|b| b.closest_point_within(p, r + self.clearance_mm).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::repair::check;
    use crate::mesh::shapes::box_mesh;

    #[test]
    fn many_tiny_unsupported_regions_read_as_one_summary_line() {
        let region = |n: usize, reason| UnsupportedRegion {
            triangles: 1,
            area_mm2: if n == 85 { 2.0 } else { 0.5 },
            centroid_mm: [n as f64, 0.0, 1.0],
            reason,
        };
        let mut regions: Vec<_> = (0..86).map(|n| region(n, "too small")).collect();
        regions.push(region(3, "articular"));
        let r = SupportResult {
            mesh: Mesh::default(),
            supports: Vec::new(),
            walls: Vec::new(),
            volume_mm3: 0.0,
            contact_area_mm2: 0.0,
            plate_area_mm2: 0.0,
            supported_area_mm2: 0.0,
            unsupported_regions: regions,
            dropped_near_articular: 4,
            dropped_other: 0,
        };
        assert_eq!(
            r.warnings().len(),
            88,
            "one line per region, one for the dropped contacts"
        );
        let summary = r.warning_summary();
        assert_eq!(summary.len(), 3, "{summary:?}");
        assert!(summary[0].starts_with("1 overhang region on joint surfaces (0.5 mm² near (3.0, 0.0, 1.0) mm) is not supported"), "{}", summary[0]);
        // 85 regions of 0.5 mm² and the last of 2 mm².
        assert!(summary[1].starts_with("86 overhang regions without a clear place for a support (44.5 mm² in all; the largest 2.0 mm² near (85.0, 0.0, 1.0) mm) are not supported: use a smaller support spacing"), "{}", summary[1]);
        assert!(
            summary[2].starts_with("4 support contacts were left out"),
            "{}",
            summary[2]
        );
    }

    #[test]
    fn a_table_top_gets_cones_to_the_plate_on_the_lattice() {
        // A slab floating 5 mm above the plate.
        let slab = box_mesh([0.1, 0.1, 5.0], [6.1, 3.1, 6.0]);
        let params = SupportParams {
            overhang: OverhangParams {
                plate_height_mm: Some(0.0),
                ..Default::default()
            },
            spacing_mm: 1.0,
            ..Default::default()
        };
        let r = generate(&slab, &ArticularMarks::none(12), &params).unwrap();
        // Lattice x ∈ {0.51, …, 5.51}, y ∈ {0.51, 1.51, 2.51}: 18 contacts.
        assert_eq!(r.supports.len(), 18);
        assert!(r
            .supports
            .iter()
            .all(|s| s.on_plate && s.bottom_z_mm == 0.0));
        assert!(r.supports.iter().all(|s| (s.top_z_mm - 5.1).abs() < 1e-12));
        let rep = check(&r.mesh).unwrap();
        assert!(rep.is_clean_solid(), "{rep:?}");
        assert_eq!(rep.components, 18);
        assert!((rep.signed_volume_mm3 - r.volume_mm3).abs() < 1e-9 * r.volume_mm3);
        assert!(r.unsupported_regions.is_empty());
    }

    #[test]
    fn bad_support_parameters_are_refused() {
        let slab = box_mesh([0.0; 3], [1.0; 3]);
        let p = SupportParams {
            base_fraction: 0.6,
            ..Default::default()
        };
        let e = generate(&slab, &ArticularMarks::none(12), &p).unwrap_err();
        assert!(e.to_string().contains("neighbours"));
    }
}
