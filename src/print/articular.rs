//! Articular-surface marks made by hand and from joint contact: the kernels behind the
//! mark operations of a design (`design::marks`). The result is an [`ArticularMarks`]
//! mask (one bool per triangle) that orientation and supports take.
//!
//! Space: the mesh's own millimetres (patient LPS mm for parts and mesh objects).
//!
//! - [`brush_stroke`]: a stroke of points with a radius sets (or clears) the faces the
//!   brush touches. The stroke is a polyline (runs of points joined by segments) or, as
//!   links written before polylines replay it, a series of dabs ([`brush`]). For each
//!   piece (segment or dab) the faces nearest its ends are found (BVH); from them the
//!   faces connected across edges that come within the radius of the piece are flooded
//!   — a band of the surface, not a capsule in space, so a brush on a thin plate of bone
//!   does not reach through to its far side, and a fast drag whose points lie far apart
//!   still marks a continuous band.
//! - [`contact`]: faces that look at a neighbouring surface across a small gap — the joint
//!   contact areas (on the demo phantom the talus meets the tibia, calcaneus and navicular
//!   across 2–2.5 mm). A face is marked when the nearest point of a neighbour within
//!   `max_gap_mm` of its centroid lies in front of it, within 60° of its outward normal.
//!   A neighbour within the gap of more than half of the surface's area is the same bone
//!   (or the copy registered onto it), not a joint partner: it is skipped and reported.
//! - [`transfer`]: marks carried from one surface to a changed one (an edited part, a
//!   remeshed object): a face of the new surface takes the mark of the nearest face of the
//!   old one when that lies within a tolerance.
//!
//! Determinism: single-threaded BVH queries and `+ − × ÷ √` only, so the marks are the
//! same natively and in the browser.

use super::overhang::{dot, normal_and_double_area, sub, ArticularMarks};
use crate::mesh::adjacency::Adjacency;
use crate::mesh::bvh::Bvh;
use crate::mesh::io::{validate, MeshError};
use crate::mesh::segment_triangle::segment_triangle_dist2;
use crate::mesh::Mesh;

/// Largest brush radius (mm).
pub const MAX_BRUSH_RADIUS_MM: f64 = 50.0;
/// Most points in one stroke.
pub const MAX_STROKE_POINTS: usize = 5000;
/// Range of the joint gap of [`contact`] (mm).
pub const CONTACT_GAP_MM: (f64, f64) = (0.1, 20.0);
/// A neighbour within the gap of more than this share of the surface's area is the same
/// bone, not a joint partner.
pub const SAME_BONE_SHARE: f64 = 0.5;

/// Errors of the mark kernels.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArticularError {
    #[error("{0}")]
    Mesh(#[from] MeshError),
    #[error("invalid articular mark: {0}")]
    InvalidParameter(String),
    #[error("the marks hold {marks} entries but the surface has {triangles} triangles")]
    Mismatch { marks: usize, triangles: usize },
}

/// What a [`brush`] stroke did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrushOutcome {
    /// Stroke points within the radius of the surface (the others missed it).
    pub points_on_surface: usize,
    /// Faces whose mark changed.
    pub faces_changed: usize,
}

fn check_len(marks: &ArticularMarks, mesh: &Mesh) -> Result<(), ArticularError> {
    if marks.mask.len() != mesh.triangle_count() {
        return Err(ArticularError::Mismatch {
            marks: marks.mask.len(),
            triangles: mesh.triangle_count(),
        });
    }
    Ok(())
}

/// How the points of a brush stroke join up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrokeJoin<'a> {
    /// Each point is a dab of the brush on its own (how strokes of links written before
    /// polylines replay: a fast drag leaves gaps between dabs more than two radii apart).
    Dabs,
    /// The stroke is cut into runs of consecutive points (their lengths, in order, adding
    /// up to the stroke's length); the points of a run are joined by segments and the
    /// brush sweeps along each segment. A run of one point is a dab.
    Runs(&'a [u32]),
}

/// Sets (`value` true) or clears the faces the brush of `radius_mm` touches along
/// `stroke_mm`, each point a dab of its own (see the module doc and [`brush_stroke`]).
pub fn brush(
    mesh: &Mesh,
    marks: &mut ArticularMarks,
    stroke_mm: &[[f64; 3]],
    radius_mm: f64,
    value: bool,
) -> Result<BrushOutcome, ArticularError> {
    brush_stroke(mesh, marks, stroke_mm, StrokeJoin::Dabs, radius_mm, value)
}

/// Sets (`value` true) or clears the faces the brush of `radius_mm` touches along
/// `stroke_mm`, its points joined as `join` says. For each piece of the stroke (a dab, or
/// a segment of a run) the faces nearest its ends (BVH) seed a flood across edges over
/// the faces within the radius of the piece (`mesh::segment_triangle`): a swept band of
/// the surface, not a capsule in space, so the brush does not reach through thin bone.
/// Points farther than the radius from the surface seed nothing; the outcome says how
/// many did.
pub fn brush_stroke(
    mesh: &Mesh,
    marks: &mut ArticularMarks,
    stroke_mm: &[[f64; 3]],
    join: StrokeJoin,
    radius_mm: f64,
    value: bool,
) -> Result<BrushOutcome, ArticularError> {
    validate(mesh)?;
    check_len(marks, mesh)?;
    if !(radius_mm.is_finite() && radius_mm > 0.0 && radius_mm <= MAX_BRUSH_RADIUS_MM) {
        return Err(ArticularError::InvalidParameter(format!(
            "brush radius {radius_mm} mm is outside (0, {MAX_BRUSH_RADIUS_MM}] mm; 2–5 mm is usual"
        )));
    }
    if stroke_mm.is_empty() || stroke_mm.len() > MAX_STROKE_POINTS {
        return Err(ArticularError::InvalidParameter(format!(
            "a stroke needs 1 to {MAX_STROKE_POINTS} points (got {})",
            stroke_mm.len()
        )));
    }
    if !stroke_mm.iter().flatten().all(|c| c.is_finite()) {
        return Err(ArticularError::InvalidParameter(
            "a stroke point is not a finite position".into(),
        ));
    }
    let pieces = stroke_pieces(stroke_mm.len(), join)?;
    let bvh = Bvh::build(mesh)?;
    let adj = Adjacency::build(mesh)?;
    let r2 = radius_mm * radius_mm;
    let nearest: Vec<Option<u32>> = stroke_mm
        .iter()
        .map(|&p| bvh.closest_point_within(p, radius_mm).map(|h| h.triangle))
        .collect();
    // Stamp of the piece that last visited each face (0 = never), so floods of
    // successive pieces need no clearing.
    let mut seen = vec![0u32; mesh.triangle_count()];
    let mut queue: Vec<u32> = Vec::new();
    let mut out = BrushOutcome {
        points_on_surface: nearest.iter().filter(|n| n.is_some()).count(),
        faces_changed: 0,
    };
    for (n, &(i, j)) in pieces.iter().enumerate() {
        let (a, b) = (stroke_mm[i], stroke_mm[j]);
        let stamp = n as u32 + 1;
        queue.clear();
        for t in [nearest[i], nearest[j]].into_iter().flatten() {
            if seen[t as usize] != stamp {
                seen[t as usize] = stamp;
                queue.push(t);
            }
        }
        while let Some(t) = queue.pop() {
            let t = t as usize;
            if marks.mask[t] != value {
                marks.mask[t] = value;
                out.faces_changed += 1;
            }
            for k in 0..3 {
                let Some(u) = adj.neighbour(t, k) else {
                    continue;
                };
                if seen[u as usize] == stamp {
                    continue;
                }
                seen[u as usize] = stamp;
                if segment_triangle_dist2(a, b, &mesh.corners(u as usize)) <= r2 {
                    queue.push(u);
                }
            }
        }
    }
    Ok(out)
}

/// The pieces of a stroke of `points` points as index pairs: `(i, i)` for a dab, `(i,
/// i + 1)` for a segment.
fn stroke_pieces(points: usize, join: StrokeJoin) -> Result<Vec<(usize, usize)>, ArticularError> {
    let runs = match join {
        StrokeJoin::Dabs => return Ok((0..points).map(|i| (i, i)).collect()),
        StrokeJoin::Runs(runs) => runs,
    };
    let total: u64 = runs.iter().map(|&r| u64::from(r)).sum();
    if runs.contains(&0) || total != points as u64 {
        return Err(ArticularError::InvalidParameter(format!(
            "the stroke's runs hold {total} points in all but the stroke has {points}, or a run is empty; each run needs at least one point"
        )));
    }
    let mut pieces = Vec::with_capacity(points);
    let mut at = 0;
    for &len in runs {
        let len = len as usize;
        if len == 1 {
            pieces.push((at, at));
        }
        pieces.extend((at..at + len - 1).map(|i| (i, i + 1)));
        at += len;
    }
    Ok(pieces)
}

/// One neighbour's share of a [`contact`] suggestion.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactPartner {
    /// Index of the neighbour in the list given.
    pub neighbour: usize,
    /// Faces that look at it across the gap.
    pub faces: usize,
    /// Their area (mm²).
    pub area_mm2: f64,
    /// True when it lay within the gap of most of the surface and was skipped.
    pub same_bone: bool,
}

/// Result of [`contact`].
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    /// Faces looking at a joint partner.
    pub marks: ArticularMarks,
    /// Per neighbour that came within the gap (in the order given).
    pub partners: Vec<ContactPartner>,
}

/// Faces of `mesh` that look at one of `neighbours` across at most `max_gap_mm` (see the
/// module doc). Neighbours are surfaces in the same space.
pub fn contact(
    mesh: &Mesh,
    neighbours: &[&Mesh],
    max_gap_mm: f64,
) -> Result<Contact, ArticularError> {
    validate(mesh)?;
    let (lo, hi) = CONTACT_GAP_MM;
    if !(max_gap_mm.is_finite() && (lo..=hi).contains(&max_gap_mm)) {
        return Err(ArticularError::InvalidParameter(format!(
            "joint gap {max_gap_mm} mm is outside {lo}–{hi} mm; 3 mm is usual for CT of a healthy joint"
        )));
    }
    let faces: Vec<([f64; 3], [f64; 3], f64)> = (0..mesh.triangle_count())
        .map(|t| {
            let c = mesh.corners(t);
            let (n, a2) = normal_and_double_area(&c);
            let centroid = [0, 1, 2].map(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0);
            (centroid, n, 0.5 * a2)
        })
        .collect();
    let total: f64 = faces.iter().map(|f| f.2).sum();
    let mut marks = ArticularMarks::none(mesh.triangle_count());
    let mut partners = Vec::new();
    // Only a neighbour's triangles whose box meets the surface's box grown by the gap can
    // lie within the gap of a face: the BVH is built over those alone (a tibia is mostly
    // far from its talus).
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in &mesh.positions_mm {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k] - max_gap_mm);
            hi[k] = hi[k].max(p[k] + max_gap_mm);
        }
    }
    for (i, other) in neighbours.iter().enumerate() {
        validate(other)?;
        let near: Vec<[u32; 3]> = (0..other.triangle_count())
            .filter(|&t| {
                let c = other.corners(t);
                (0..3).all(|k| {
                    let (a, b) = (
                        c[0][k].min(c[1][k]).min(c[2][k]),
                        c[0][k].max(c[1][k]).max(c[2][k]),
                    );
                    a <= hi[k] && b >= lo[k]
                })
            })
            .map(|t| other.triangles[t])
            .collect();
        if near.is_empty() {
            continue;
        }
        let bvh = Bvh::build(&Mesh::new(other.positions_mm.clone(), near))?;
        let mut near_area = 0.0;
        let mut facing = Vec::new();
        for (t, &(c, n, area)) in faces.iter().enumerate() {
            if area <= 0.0 {
                continue;
            }
            let Some(hit) = bvh.closest_point_within(c, max_gap_mm) else {
                continue;
            };
            near_area += area;
            // In front of the face, within 60° of its normal: cos 60° = 0.5.
            if dot(sub(hit.point_mm, c), n) >= 0.5 * hit.distance_mm && hit.distance_mm > 0.0 {
                facing.push(t);
            }
        }
        if near_area == 0.0 {
            continue;
        }
        let same_bone = near_area > SAME_BONE_SHARE * total;
        let area_mm2 = facing.iter().map(|&t| faces[t].2).sum();
        if !same_bone {
            for &t in &facing {
                marks.mask[t] = true;
            }
        }
        partners.push(ContactPartner {
            neighbour: i,
            faces: facing.len(),
            area_mm2,
            same_bone,
        });
    }
    Ok(Contact { marks, partners })
}

/// The marks of `from` carried onto `to` (see the module doc): each face of `to` takes
/// the mark of the nearest face of `from` within `tolerance_mm` of its centroid.
pub fn transfer(
    from: &Mesh,
    marks: &ArticularMarks,
    to: &Mesh,
    tolerance_mm: f64,
) -> Result<ArticularMarks, ArticularError> {
    check_len(marks, from)?;
    if from == to {
        return Ok(marks.clone());
    }
    validate(to)?;
    let mut out = ArticularMarks::none(to.triangle_count());
    if marks.count() == 0 || from.triangles.is_empty() {
        return Ok(out);
    }
    validate(from)?;
    let bvh = Bvh::build(from)?;
    for (t, m) in out.mask.iter_mut().enumerate() {
        let c = to.corners(t);
        let centroid = [0, 1, 2].map(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0);
        if let Some(hit) = bvh.closest_point_within(centroid, tolerance_mm) {
            *m = marks.mask[hit.triangle as usize];
        }
    }
    Ok(out)
}

/// Area of the marked faces (mm²).
pub fn marked_area_mm2(mesh: &Mesh, marks: &ArticularMarks) -> f64 {
    (0..mesh.triangle_count().min(marks.mask.len()))
        .filter(|&t| marks.mask[t])
        .map(|t| 0.5 * normal_and_double_area(&mesh.corners(t)).1)
        .sum()
}

/// The marked faces of `mesh` as a mesh of their own, each vertex moved `lift_mm` along
/// its area-weighted normal: drawn over the surface in another colour, the lift keeps it
/// from fighting the surface in the depth buffer.
pub fn lifted_patch(mesh: &Mesh, marks: &ArticularMarks, lift_mm: f64) -> Mesh {
    let mut normals = vec![[0.0f64; 3]; mesh.positions_mm.len()];
    for t in 0..mesh.triangle_count() {
        let (n, a2) = normal_and_double_area(&mesh.corners(t));
        for &v in &mesh.triangles[t] {
            if let Some(acc) = normals.get_mut(v as usize) {
                *acc = [0, 1, 2].map(|k| acc[k] + n[k] * a2);
            }
        }
    }
    let mut index = vec![u32::MAX; mesh.positions_mm.len()];
    let mut out = Mesh::default();
    for (t, tri) in mesh.triangles.iter().enumerate() {
        if !marks.mask.get(t).copied().unwrap_or(false) {
            continue;
        }
        let mut face = [0u32; 3];
        for (k, &v) in tri.iter().enumerate() {
            let v = v as usize;
            if index[v] == u32::MAX {
                index[v] = out.positions_mm.len() as u32;
                let n = normals[v];
                let l = dot(n, n).sqrt();
                let p = mesh.positions_mm[v];
                out.positions_mm.push(if l > 0.0 {
                    [0, 1, 2].map(|k| p[k] + lift_mm * n[k] / l)
                } else {
                    p
                });
            }
            face[k] = index[v];
        }
        out.triangles.push(face);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::{translated, uv_sphere};

    fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
        let d = sub(a, b);
        dot(d, d)
    }

    fn centroid(mesh: &Mesh, t: usize) -> [f64; 3] {
        let c = mesh.corners(t);
        [0, 1, 2].map(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0)
    }

    #[test]
    fn a_brush_marks_a_cap_of_a_sphere_and_erases_it_again() {
        let s = uv_sphere(10.0, 48, 96);
        let mut m = ArticularMarks::none(s.triangle_count());
        let out = brush(&s, &mut m, &[[0.0, 0.0, 10.0]], 3.0, true).unwrap();
        assert_eq!(out.points_on_surface, 1);
        assert!(out.faces_changed > 10);
        // Every marked face lies within the brush (with the face size), and every face
        // whose centroid is well inside it is marked.
        for t in 0..s.triangle_count() {
            let d = dist2(centroid(&s, t), [0.0, 0.0, 10.0]).sqrt();
            if m.mask[t] {
                assert!(d < 3.0 + 1.0, "face {t} at {d} mm marked");
            } else {
                assert!(d > 2.5, "face {t} at {d} mm not marked");
            }
        }
        // The cap's area is 2πRh with h = r²/(2R): about 28 mm².
        let area = marked_area_mm2(&s, &m);
        assert!((area - std::f64::consts::PI * 9.0).abs() < 8.0, "{area}");
        let erased = brush(&s, &mut m, &[[0.0, 0.0, 10.0]], 3.0, false).unwrap();
        assert_eq!(erased.faces_changed, out.faces_changed);
        assert_eq!(m.count(), 0);
    }

    /// The top of a flat slab: `nx × ny` squares of `h` mm at z = 0 (two triangles each,
    /// facing +z), from the origin.
    fn slab_top(nx: u32, ny: u32, h: f64) -> Mesh {
        let positions_mm = (0..=ny)
            .flat_map(|j| (0..=nx).map(move |i| [f64::from(i) * h, f64::from(j) * h, 0.0]))
            .collect();
        let v = |i: u32, j: u32| i + (nx + 1) * j;
        let triangles = (0..ny)
            .flat_map(|j| {
                (0..nx).flat_map(move |i| {
                    [
                        [v(i, j), v(i + 1, j), v(i + 1, j + 1)],
                        [v(i, j), v(i + 1, j + 1), v(i, j + 1)],
                    ]
                })
            })
            .collect();
        Mesh::new(positions_mm, triangles)
    }

    #[test]
    fn a_stroke_of_two_points_ten_radii_apart_marks_a_continuous_band() {
        // Swept along the segment, a brush of radius r marks the stadium around it: a
        // 2r × L rectangle and two half discs, area 2rL + πr². A face is marked when it
        // meets the stadium, so the marked area lies between the stadium's and that of the
        // stadium grown by a face's diagonal.
        let (r, h) = (1.0, 0.05);
        let slab = slab_top(280, 160, h);
        let (a, b) = ([2.0, 4.0, 0.0], [12.0, 4.0, 0.0]);
        let length = 10.0 * r;
        let stadium = |r: f64| 2.0 * r * length + std::f64::consts::PI * r * r;
        let mut m = ArticularMarks::none(slab.triangle_count());
        let out = brush_stroke(&slab, &mut m, &[a, b], StrokeJoin::Runs(&[2]), r, true).unwrap();
        assert_eq!(out.points_on_surface, 2);
        let area = marked_area_mm2(&slab, &m);
        let grown = stadium(r + h * std::f64::consts::SQRT_2);
        assert!(
            stadium(r) <= area && area <= grown,
            "{area} mm² marked, stadium {} – {grown} mm²",
            stadium(r)
        );
        // No gap: every face whose centroid lies within the radius of the segment is marked.
        for t in 0..slab.triangle_count() {
            let c = centroid(&slab, t);
            let along = c[0].clamp(a[0], b[0]);
            if dist2(c, [along, a[1], 0.0]) <= r * r {
                assert!(m.mask[t], "face {t} at {c:?} is not marked");
            }
        }
        // The same two points as dabs (links written before polylines): two discs, with
        // the middle of the band left unmarked.
        let mut dabs = ArticularMarks::none(slab.triangle_count());
        brush(&slab, &mut dabs, &[a, b], r, true).unwrap();
        let disc = std::f64::consts::PI * r * r;
        let dab_area = marked_area_mm2(&slab, &dabs);
        assert!(dab_area < 2.0 * disc * 1.3, "{dab_area}");
        let middle = (0..slab.triangle_count())
            .min_by(|&s, &t| {
                dist2(centroid(&slab, s), [7.0, 4.0, 0.0])
                    .total_cmp(&dist2(centroid(&slab, t), [7.0, 4.0, 0.0]))
            })
            .unwrap();
        assert!(m.mask[middle] && !dabs.mask[middle]);
        // Runs of one point each are dabs, bit for bit; runs split a stroke where the drag
        // left the surface, and must add up to its points.
        let mut ones = ArticularMarks::none(slab.triangle_count());
        brush_stroke(
            &slab,
            &mut ones,
            &[a, b],
            StrokeJoin::Runs(&[1, 1]),
            r,
            true,
        )
        .unwrap();
        assert_eq!(ones, dabs);
        for bad in [&[3][..], &[1][..], &[2, 0][..], &[0, 2][..]] {
            let err = brush_stroke(&slab, &mut ones, &[a, b], StrokeJoin::Runs(bad), r, true);
            assert!(err.is_err(), "runs {bad:?} accepted");
        }
        // Erasing along the same segment clears the band again.
        let erased =
            brush_stroke(&slab, &mut m, &[a, b], StrokeJoin::Runs(&[2]), r, false).unwrap();
        assert_eq!(erased.faces_changed, out.faces_changed);
        assert_eq!(m.count(), 0);
    }

    #[test]
    fn a_brush_does_not_reach_through_a_thin_plate() {
        // A lens 1 mm thick at its middle: a 3 mm brush on the top reaches the bottom
        // through space, but not over the surface.
        let lens = crate::mesh::shapes::ellipsoid(20.0, 20.0, 0.5, 5);
        let mut m = ArticularMarks::none(lens.triangle_count());
        let out = brush(&lens, &mut m, &[[0.0, 0.0, 0.5]], 3.0, true).unwrap();
        assert_eq!(out.points_on_surface, 1);
        for t in (0..lens.triangle_count()).filter(|&t| m.mask[t]) {
            let (n, _) = normal_and_double_area(&lens.corners(t));
            assert!(
                n[2] > 0.0,
                "face {t} on the bottom (normal {n:?}) was marked"
            );
        }
        let ball = ArticularMarks::from_ball(&lens, [0.0, 0.0, 0.5], 3.0).unwrap();
        assert!(
            ball.count() > m.count(),
            "a ball in space reaches the bottom"
        );
        assert!(m.count() > 0);
    }

    #[test]
    fn a_stroke_that_misses_the_surface_touches_nothing() {
        let s = uv_sphere(10.0, 16, 32);
        let mut m = ArticularMarks::none(s.triangle_count());
        let out = brush(&s, &mut m, &[[0.0, 0.0, 30.0], [40.0, 0.0, 0.0]], 2.0, true).unwrap();
        assert_eq!(
            out,
            BrushOutcome {
                points_on_surface: 0,
                faces_changed: 0
            }
        );
        for bad in [0.0, -1.0, f64::NAN, 80.0] {
            assert!(brush(&s, &mut m, &[[0.0; 3]], bad, true).is_err());
        }
        assert!(brush(&s, &mut m, &[], 2.0, true).is_err());
        assert!(brush(&s, &mut m, &[[f64::NAN, 0.0, 0.0]], 2.0, true).is_err());
        let mut short = ArticularMarks::none(3);
        assert!(brush(&s, &mut short, &[[0.0; 3]], 2.0, true).is_err());
    }

    #[test]
    fn contact_marks_the_faces_facing_a_neighbour_across_the_gap() {
        // Two spheres of radius 10 with a 2 mm gap along x: the faces of the first that
        // look at the second are marked, around (10, 0, 0), and nothing on the far side.
        let a = uv_sphere(10.0, 48, 96);
        let b = translated(&uv_sphere(10.0, 48, 96), [22.0, 0.0, 0.0]);
        let far = translated(&uv_sphere(5.0, 16, 32), [0.0, 60.0, 0.0]);
        let c = contact(&a, &[&far, &b], 3.0).unwrap();
        assert!(c.marks.count() > 0);
        for t in (0..a.triangle_count()).filter(|&t| c.marks.mask[t]) {
            let p = centroid(&a, t);
            assert!(p[0] > 8.0, "marked face at {p:?}");
        }
        // The face nearest the other sphere is marked.
        let nearest = (0..a.triangle_count())
            .min_by(|&s, &t| {
                dist2(centroid(&a, s), [10.0, 0.0, 0.0])
                    .total_cmp(&dist2(centroid(&a, t), [10.0, 0.0, 0.0]))
            })
            .unwrap();
        assert!(c.marks.mask[nearest]);
        assert_eq!(c.partners.len(), 1, "the far sphere is no partner");
        assert_eq!(c.partners[0].neighbour, 1);
        assert!(!c.partners[0].same_bone);
        assert_eq!(c.partners[0].faces, c.marks.count());
        // A copy lying on the sphere itself is the same bone: skipped.
        let copy = translated(&a, [0.3, 0.0, 0.0]);
        let same = contact(&a, &[&copy], 3.0).unwrap();
        assert_eq!(same.marks.count(), 0);
        assert!(same.partners[0].same_bone);
        assert!(contact(&a, &[&b], 0.0).is_err());
        assert!(contact(&a, &[&b], f64::NAN).is_err());
    }

    #[test]
    fn the_lifted_patch_holds_the_marked_faces_just_outside_the_surface() {
        let s = uv_sphere(10.0, 24, 48);
        let mut m = ArticularMarks::none(s.triangle_count());
        brush(&s, &mut m, &[[10.0, 0.0, 0.0]], 3.0, true).unwrap();
        let p = lifted_patch(&s, &m, 0.1);
        assert_eq!(p.triangle_count(), m.count());
        for v in &p.positions_mm {
            let r = dot(*v, *v).sqrt();
            assert!((r - 10.1).abs() < 1e-4, "{r}");
        }
        assert!(lifted_patch(&s, &ArticularMarks::none(3), 0.1)
            .triangles
            .is_empty());
    }

    #[test]
    fn marks_transfer_to_a_refined_surface_and_not_beyond_the_tolerance() {
        let coarse = uv_sphere(10.0, 24, 48);
        let fine = uv_sphere(10.0, 48, 96);
        let mut m = ArticularMarks::none(coarse.triangle_count());
        brush(&coarse, &mut m, &[[0.0, 0.0, 10.0]], 4.0, true).unwrap();
        let moved = transfer(&coarse, &m, &fine, 1.0).unwrap();
        let (a0, a1) = (marked_area_mm2(&coarse, &m), marked_area_mm2(&fine, &moved));
        assert!((a0 - a1).abs() < 0.25 * a0, "{a0} vs {a1}");
        assert_eq!(transfer(&coarse, &m, &coarse, 1.0).unwrap(), m);
        let away = translated(&fine, [0.0, 0.0, 5.0]);
        assert_eq!(transfer(&coarse, &m, &away, 1.0).unwrap().count(), 0);
        assert!(
            transfer(&fine, &m, &coarse, 1.0).is_err(),
            "marks of another mesh"
        );
    }
}
