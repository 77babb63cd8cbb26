//! Overhang classification of a part for a build direction, and articular-surface marks.
//!
//! Space: the mesh's own millimetres; the build direction `up` is a unit vector in that
//! space pointing away from the plate (for a mesh already in build space, `up` = +z).
//! A triangle with outward unit normal `n` makes the angle
//! `overhang_angle = acos(−n·up)` with the downward vertical: 0° is a face looking straight
//! down at the plate, 90° a vertical wall, 180° a face looking straight up. Its angle to
//! the plate plane equals `overhang_angle` while the face looks down (`n·up < 0`), so
//! a face **needs support** when `n·up < 0` and `overhang_angle < critical angle`
//! (default 45°, the usual limit for Ti-6Al-4V in laser powder-bed fusion), unless it
//! **rests on the plate**: every corner lies within `plate_tolerance_mm` of the plate
//! height (default: the lowest point of the part along `up`).
//!
//! Articular marks ([`ArticularMarks`]) are one bool per triangle: true where the face is
//! part of a joint surface that must stay smooth (no support contacts, facing up).
//!
//! Angles are computed with the small series below instead of `f64::cos`/`acos`, whose
//! last bits differ between the native libm and the wasm32 one: the same mesh must give
//! the same map and the same orientation in the browser and on the command line.

use crate::mesh::io::{validate, MeshError};
use crate::mesh::Mesh;

/// Errors of overhang analysis, orientation and articular marks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverhangError {
    /// The mesh is invalid (index out of range, non-finite position).
    #[error("{0}")]
    Mesh(#[from] MeshError),
    /// The mesh has no triangle with a non-zero area.
    #[error("the mesh has no triangle with an area; load the part again or repair it")]
    Empty,
    /// A parameter outside its valid range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Articular marks made for another mesh.
    #[error("the articular marks hold {marks} entries but the mesh has {triangles} triangles; mark the articular surfaces again on this mesh")]
    MarksMismatch { marks: usize, triangles: usize },
}

/// Options of [`overhang_map`].
#[derive(Clone, Debug, PartialEq)]
pub struct OverhangParams {
    /// Faces closer than this to horizontal (looking down) need support, degrees in
    /// (0, 90). Default 45.
    pub critical_angle_deg: f64,
    /// A face whose corners all lie within this height of the plate rests on it (mm).
    /// Default 0.03 (one layer at the default 30 µm).
    pub plate_tolerance_mm: f64,
    /// Plate height along `up` (mm, in mesh space). `None` (default): the lowest point of
    /// the part, i.e. the part rests on the plate.
    pub plate_height_mm: Option<f64>,
}

impl Default for OverhangParams {
    fn default() -> Self {
        OverhangParams {
            critical_angle_deg: 45.0,
            plate_tolerance_mm: 0.03,
            plate_height_mm: None,
        }
    }
}

impl OverhangParams {
    pub(crate) fn validate(&self) -> Result<(), OverhangError> {
        let a = self.critical_angle_deg;
        if !(a.is_finite() && a > 0.0 && a < 90.0) {
            return Err(OverhangError::InvalidParameter(format!(
                "critical angle {a}° is outside (0°, 90°); 45° is usual for Ti-6Al-4V"
            )));
        }
        let t = self.plate_tolerance_mm;
        if !(t.is_finite() && t >= 0.0) {
            return Err(OverhangError::InvalidParameter(format!(
                "plate tolerance {t} mm must be a finite number ≥ 0"
            )));
        }
        if let Some(h) = self.plate_height_mm {
            if !h.is_finite() {
                return Err(OverhangError::InvalidParameter(
                    "plate height must be finite".into(),
                ));
            }
        }
        Ok(())
    }

    /// `cos(critical angle)`: a face needs support when `−n·up > cos_critical`.
    pub(crate) fn cos_critical(&self) -> f64 {
        det_cos(self.critical_angle_deg.to_radians())
    }
}

/// Class of a face in the colour map.
pub const CLASS_FINE: u8 = 0;
/// A non-articular face that needs support.
pub const CLASS_OVERHANG: u8 = 1;
/// An articular face that needs support (supports may not touch it: a problem).
pub const CLASS_ARTICULAR_OVERHANG: u8 = 2;
/// A face resting on the plate.
pub const CLASS_ON_PLATE: u8 = 3;

/// Per-face overhang map and totals for one build direction.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OverhangMap {
    /// Build direction (unit, mesh space) the map was made for.
    pub up: [f64; 3],
    /// Per triangle: [`CLASS_FINE`] 0, [`CLASS_OVERHANG`] 1, [`CLASS_ARTICULAR_OVERHANG`] 2,
    /// [`CLASS_ON_PLATE`] 3 (degenerate faces are 0).
    pub class: Vec<u8>,
    /// Per triangle: angle between the outward normal and the downward vertical, degrees
    /// (0 = looking down, 90 = vertical, 180 = looking up; 90 for degenerate faces).
    pub overhang_angle_deg: Vec<f64>,
    /// Area of non-articular faces that need support (mm²).
    pub supported_area_mm2: f64,
    /// Area of articular faces that need support (mm²).
    pub articular_overhang_area_mm2: f64,
    /// Area of articular faces looking down at all (`n·up < 0`, mm²).
    pub articular_down_area_mm2: f64,
    /// Articular triangles looking down (`n·up < 0`), ascending.
    pub articular_down_faces: Vec<u32>,
    /// Extent of the part along `up` (mm).
    pub height_mm: f64,
    /// Total surface area (mm²).
    pub total_area_mm2: f64,
}

/// Per-triangle articular mask: `mask[t]` is true when triangle `t` belongs to a joint
/// surface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticularMarks {
    /// One entry per triangle.
    pub mask: Vec<bool>,
}

impl ArticularMarks {
    /// No articular face on a mesh of `triangles` triangles.
    pub fn none(triangles: usize) -> Self {
        ArticularMarks {
            mask: vec![false; triangles],
        }
    }

    /// Marks every triangle with at least one corner within `radius_mm` of `center_mm`
    /// (mesh space). A triangle larger than the ball but straddling it is marked too,
    /// so a small ball on a coarse mesh still marks the face it touches.
    pub fn from_ball(
        mesh: &Mesh,
        center_mm: [f64; 3],
        radius_mm: f64,
    ) -> Result<Self, OverhangError> {
        validate(mesh)?;
        let ok =
            radius_mm.is_finite() && radius_mm > 0.0 && center_mm.iter().all(|c| c.is_finite());
        if !ok {
            return Err(OverhangError::InvalidParameter(format!(
                "articular ball needs a finite centre and a radius > 0 mm (got {radius_mm})"
            )));
        }
        let r2 = radius_mm * radius_mm;
        let mask = (0..mesh.triangle_count())
            .map(|t| {
                let c = mesh.corners(t);
                let near = c.iter().any(|p| dist2(*p, center_mm) <= r2);
                near || closest_on_triangle_dist2(center_mm, &c) <= r2
            })
            .collect();
        Ok(ArticularMarks { mask })
    }

    /// Marks every triangle whose outward normal lies within `half_angle_deg` of `axis`
    /// (mesh space, any length > 0), e.g. the faces of a joint surface that look
    /// proximally. Degenerate faces are not marked.
    pub fn from_normal_cone(
        mesh: &Mesh,
        axis: [f64; 3],
        half_angle_deg: f64,
    ) -> Result<Self, OverhangError> {
        validate(mesh)?;
        let l = dot(axis, axis).sqrt();
        let ok = l.is_finite() && l > 0.0 && (0.0..=180.0).contains(&half_angle_deg);
        if !ok {
            return Err(OverhangError::InvalidParameter(format!(
                "normal cone needs a non-zero axis and a half angle in [0°, 180°] (got {half_angle_deg}°)"
            )));
        }
        let a = axis.map(|c| c / l);
        let cos_half = det_cos(half_angle_deg.to_radians());
        let mask = (0..mesh.triangle_count())
            .map(|t| {
                let (n, area2) = normal_and_double_area(&mesh.corners(t));
                area2 > 0.0 && dot(n, a) >= cos_half
            })
            .collect();
        Ok(ArticularMarks { mask })
    }

    /// Adds the faces of `other` (same mesh).
    pub fn union(&mut self, other: &ArticularMarks) -> Result<(), OverhangError> {
        if other.mask.len() != self.mask.len() {
            return Err(OverhangError::MarksMismatch {
                marks: other.mask.len(),
                triangles: self.mask.len(),
            });
        }
        for (a, b) in self.mask.iter_mut().zip(&other.mask) {
            *a |= *b;
        }
        Ok(())
    }

    /// Number of marked triangles.
    pub fn count(&self) -> usize {
        self.mask.iter().filter(|m| **m).count()
    }

    pub(crate) fn check(&self, mesh: &Mesh) -> Result<(), OverhangError> {
        if self.mask.len() != mesh.triangle_count() {
            return Err(OverhangError::MarksMismatch {
                marks: self.mask.len(),
                triangles: mesh.triangle_count(),
            });
        }
        Ok(())
    }
}

/// Overhang map of `mesh` built along `up` (normalised here) with default parameters.
pub fn overhang_map(
    mesh: &Mesh,
    up: [f64; 3],
    marks: &ArticularMarks,
) -> Result<OverhangMap, OverhangError> {
    overhang_map_with_params(mesh, up, marks, &OverhangParams::default())
}

/// Overhang map of `mesh` built along `up` (mesh space, normalised here).
pub fn overhang_map_with_params(
    mesh: &Mesh,
    up: [f64; 3],
    marks: &ArticularMarks,
    params: &OverhangParams,
) -> Result<OverhangMap, OverhangError> {
    validate(mesh)?;
    params.validate()?;
    marks.check(mesh)?;
    let l = dot(up, up).sqrt();
    if !(l.is_finite() && l > 0.0) {
        return Err(OverhangError::InvalidParameter(
            "build direction must be a finite non-zero vector".into(),
        ));
    }
    let up = up.map(|c| c / l);
    let heights: Vec<f64> = mesh.positions_mm.iter().map(|p| dot(*p, up)).collect();
    let used = used_vertices(mesh);
    let (lo, hi) = used
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(heights[v]), hi.max(heights[v]))
        });
    if used.is_empty() {
        return Err(OverhangError::Empty);
    }
    let plate = params.plate_height_mm.unwrap_or(lo);
    let on_plate_below = plate + params.plate_tolerance_mm;
    let cos_crit = params.cos_critical();
    let n_tri = mesh.triangle_count();
    let mut map = OverhangMap {
        up,
        class: vec![CLASS_FINE; n_tri],
        overhang_angle_deg: vec![90.0; n_tri],
        supported_area_mm2: 0.0,
        articular_overhang_area_mm2: 0.0,
        articular_down_area_mm2: 0.0,
        articular_down_faces: Vec::new(),
        height_mm: hi - lo,
        total_area_mm2: 0.0,
    };
    for (t, tri) in mesh.triangles.iter().enumerate() {
        let (n, area2) = normal_and_double_area(&mesh.corners(t));
        if area2 <= 0.0 {
            continue;
        }
        let area = 0.5 * area2;
        map.total_area_mm2 += area;
        let down = -dot(n, up);
        map.overhang_angle_deg[t] = det_acos(down).to_degrees();
        let articular = marks.mask[t];
        if articular && down > 0.0 {
            map.articular_down_area_mm2 += area;
            map.articular_down_faces.push(t as u32);
        }
        if down <= cos_crit {
            continue;
        }
        if tri.iter().all(|&v| heights[v as usize] <= on_plate_below) {
            map.class[t] = CLASS_ON_PLATE;
        } else if articular {
            map.class[t] = CLASS_ARTICULAR_OVERHANG;
            map.articular_overhang_area_mm2 += area;
        } else {
            map.class[t] = CLASS_OVERHANG;
            map.supported_area_mm2 += area;
        }
    }
    Ok(map)
}

/// Indices of vertices used by at least one triangle, ascending.
pub(crate) fn used_vertices(mesh: &Mesh) -> Vec<usize> {
    let mut used = vec![false; mesh.vertex_count()];
    for tri in &mesh.triangles {
        for &v in tri {
            if let Some(u) = used.get_mut(v as usize) {
                *u = true;
            }
        }
    }
    (0..used.len()).filter(|&v| used[v]).collect()
}

/// Unit normal (zero for a degenerate face) and twice the area.
pub(crate) fn normal_and_double_area(c: &[[f64; 3]; 3]) -> ([f64; 3], f64) {
    let n = cross(sub(c[1], c[0]), sub(c[2], c[0]));
    let l = dot(n, n).sqrt();
    if l > 0.0 && l.is_finite() {
        (n.map(|x| x / l), l)
    } else {
        ([0.0; 3], 0.0)
    }
}

fn closest_on_triangle_dist2(p: [f64; 3], c: &[[f64; 3]; 3]) -> f64 {
    let (q, _) = crate::mesh::bvh::closest_point_on_triangle(p, c);
    dist2(p, q)
}

#[inline]
pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
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
#[inline]
fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = sub(a, b);
    dot(d, d)
}

/// `cos(x)` for finite `x` from `+ − ×` only (same bits on every platform): reduced to
/// [0, π/2] by symmetry, then a Taylor series to 1e-16.
pub(crate) fn det_cos(x: f64) -> f64 {
    use std::f64::consts::PI;
    if !x.is_finite() {
        return f64::NAN;
    }
    let two_pi = 2.0 * PI;
    let mut r = x.abs() % two_pi;
    if r > PI {
        r = two_pi - r;
    }
    // cos(π − r) = −cos r keeps the series argument in [0, π/2].
    let (a, sign) = if r > PI / 2.0 {
        (PI - r, -1.0)
    } else {
        (r, 1.0)
    };
    let a2 = a * a;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..16 {
        term *= -a2 / ((2 * k - 1) as f64 * (2 * k) as f64);
        sum += term;
    }
    sign * sum
}

/// `asin(y)` for |y| ≤ 0.5 by its Taylor series (ratio ≤ 1/4 per term).
fn asin_small(y: f64) -> f64 {
    let y2 = y * y;
    let (mut term, mut sum) = (y, y);
    for k in 1..40 {
        let kf = k as f64;
        term *= y2 * (2.0 * kf - 1.0) * (2.0 * kf - 1.0) / ((2.0 * kf) * (2.0 * kf + 1.0));
        sum += term;
    }
    sum
}

/// `acos(x)` in radians for x clamped to [−1, 1], from `+ − × ÷ √` only.
pub(crate) fn det_acos(x: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI};
    let x = if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) };
    if x.abs() <= 0.5 {
        FRAC_PI_2 - asin_small(x)
    } else if x > 0.0 {
        2.0 * asin_small(((1.0 - x) / 2.0).sqrt())
    } else {
        PI - 2.0 * asin_small(((1.0 + x) / 2.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::box_mesh;

    #[test]
    fn series_trig_matches_libm_to_1e_14() {
        for i in -400..=400 {
            let x = i as f64 * 0.0237;
            assert!((det_cos(x) - x.cos()).abs() < 1e-14, "cos {x}");
        }
        for i in -100..=100 {
            let x = i as f64 / 100.0;
            assert!((det_acos(x) - x.acos()).abs() < 1e-14, "acos {x}");
        }
    }

    #[test]
    fn box_resting_on_plate_needs_no_support_and_upside_down_too() {
        let m = box_mesh([0.0; 3], [10.0, 20.0, 5.0]);
        let marks = ArticularMarks::none(m.triangle_count());
        for up in [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]] {
            let map = overhang_map(&m, up, &marks).unwrap();
            assert_eq!(map.supported_area_mm2, 0.0, "{up:?}");
            assert_eq!(
                map.class.iter().filter(|c| **c == CLASS_ON_PLATE).count(),
                2
            );
        }
    }

    #[test]
    fn lifted_plate_makes_the_bottom_an_overhang() {
        let m = box_mesh([0.0; 3], [10.0, 20.0, 5.0]);
        let marks = ArticularMarks::none(m.triangle_count());
        let params = OverhangParams {
            plate_height_mm: Some(-3.0),
            ..Default::default()
        };
        let map = overhang_map_with_params(&m, [0.0, 0.0, 1.0], &marks, &params).unwrap();
        assert!((map.supported_area_mm2 - 200.0).abs() < 1e-9);
    }

    #[test]
    fn normal_cone_marks_only_faces_looking_along_the_axis() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        let marks = ArticularMarks::from_normal_cone(&m, [0.0, 0.0, 2.0], 10.0).unwrap();
        assert_eq!(marks.count(), 2);
        assert!(marks.mask[2] && marks.mask[3]);
        let ball = ArticularMarks::from_ball(&m, [0.5, 0.5, -0.1], 0.2).unwrap();
        assert_eq!(ball.count(), 2);
        assert!(ball.mask[0] && ball.mask[1]);
    }

    #[test]
    fn bad_parameters_and_marks_are_refused_with_a_message() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        let marks = ArticularMarks::none(3);
        let e = overhang_map(&m, [0.0, 0.0, 1.0], &marks).unwrap_err();
        assert!(e.to_string().contains("mark the articular"));
        let p = OverhangParams {
            critical_angle_deg: 95.0,
            ..Default::default()
        };
        let e = overhang_map_with_params(&m, [0.0, 0.0, 1.0], &ArticularMarks::none(12), &p)
            .unwrap_err();
        assert!(e.to_string().contains("critical angle"));
        assert!(overhang_map(&m, [0.0; 3], &ArticularMarks::none(12)).is_err());
    }
}
