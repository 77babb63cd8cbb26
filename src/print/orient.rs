//! Build orientation search: which way up should the part be built?
//!
//! Candidates are `directions` unit vectors on a Fibonacci sphere (deterministic; default
//! 2,000, at least 1,000), plus the six axis directions and the reversed normals of the
//! 32 largest flat areas (triangles grouped by normal to 1e-6), because a flat face rests
//! on the plate only when it is exactly horizontal, which a sphere sample never hits.
//! Each candidate is a possible build direction `up` in mesh space. Each is
//! scored (lower is better) from normalised, scale-free terms:
//!
//! ```text
//! score = w_area · supported_area / total_area
//!       + w_height · height / diameter
//!       + w_articular · (articular_down_area + articular_overhang_area) / total_area
//! ```
//!
//! `supported_area` is the area of non-articular faces that need support (see
//! [`overhang`](super::overhang)), `height` the extent along `up`, `diameter` twice the
//! largest distance of a vertex from the area centroid, `articular_down_area` the area
//! of articular faces looking down at all. Defaults `w_area` 1, `w_height` 0.5,
//! `w_articular` 100: articular surfaces face up/away from the plate whenever any
//! direction allows it, then supports are minimised, with height as a tie-breaker of
//! similar weight (a 2× taller build costs about as much as supporting a tenth of the
//! surface). Ties are broken by candidate index.
//!
//! Speed: normals and areas are computed once; per direction the work is one dot product
//! per vertex (heights) and per triangle, plus a plate check for the few faces that look
//! down steeply. The rotation returned maps mesh space to build space (+z up, part
//! resting on the plate at z = 0, centred on x = y = 0). Only `+ − × ÷ √` are used, so
//! the ranking is the same natively and in the browser.

use super::overhang::{
    dot, normal_and_double_area, overhang_map_with_params, used_vertices, ArticularMarks,
    OverhangError, OverhangMap, OverhangParams,
};
use crate::mesh::io::validate;
use crate::mesh::Mesh;
use nalgebra::{Matrix3, Matrix4, Vector3};

/// Options of [`orient`].
#[derive(Clone, Debug, PartialEq)]
pub struct OrientParams {
    /// Overhang rule (critical angle, plate tolerance). The plate height is always the
    /// lowest point of the part here.
    pub overhang: OverhangParams,
    /// Directions searched, ≥ 1,000. Default 2,000 (about 4.5° apart).
    pub directions: usize,
    /// Weight of the supported-area fraction. Default 1.
    pub weight_area: f64,
    /// Weight of height / diameter. Default 0.5.
    pub weight_height: f64,
    /// Weight of the articular area looking down or needing support (fraction of the
    /// total area). Default 100.
    pub weight_articular: f64,
}

impl Default for OrientParams {
    fn default() -> Self {
        OrientParams {
            overhang: OverhangParams::default(),
            directions: 2000,
            weight_area: 1.0,
            weight_height: 0.5,
            weight_articular: 100.0,
        }
    }
}

/// One scored build direction.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// Build direction (unit vector in mesh space pointing away from the plate).
    pub up: [f64; 3],
    /// Score (lower is better, see the module doc).
    pub score: f64,
    /// Area of non-articular faces needing support (mm²).
    pub supported_area_mm2: f64,
    /// Extent along `up` (mm).
    pub height_mm: f64,
    /// Area of articular faces looking down (mm²), counted twice where such a face also
    /// needs support: 0 means every joint surface looks up or sideways.
    pub articular_down_area_mm2: f64,
}

/// Result of [`orient`].
#[derive(Clone, Debug, PartialEq)]
pub struct Orientation {
    /// The best candidate.
    pub best: Candidate,
    /// The part as given (`up` = +z), scored the same way, for a before/after report.
    pub as_given: Candidate,
    /// All candidates, best first.
    pub ranked: Vec<Candidate>,
    /// Rotation taking mesh space to build space (`best.up` → +z).
    pub build_from_mesh_rotation: Matrix3<f64>,
    /// Rotation plus the translation that sets the part on the plate (z_min = 0) centred
    /// on x = y = 0.
    pub build_from_mesh: Matrix4<f64>,
}

/// The part moved into build space and its overhang map there.
#[derive(Clone, Debug, PartialEq)]
pub struct Posed {
    /// The part in build space (z_min = 0, centred on x = y = 0; same triangles).
    pub mesh: Mesh,
    /// Overhang map for +z.
    pub map: OverhangMap,
    /// The transform applied.
    pub build_from_mesh: Matrix4<f64>,
}

/// `n` unit vectors on a Fibonacci sphere: `z = 1 − (2i+1)/n`, azimuth `i·golden angle`.
/// The azimuth is advanced by a complex multiplication with the golden angle's cosine
/// and sine (written as constants), so no libm call is needed.
pub fn fibonacci_directions(n: usize) -> Vec<[f64; 3]> {
    // cos and sin of the golden angle π(3 − √5) = 2.399963229728653 rad.
    const C: f64 = -0.737_368_878_078_319_6;
    const S: f64 = 0.675_490_294_261_523_9;
    let (mut c, mut s) = (1.0f64, 0.0f64);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let z = 1.0 - (2 * i + 1) as f64 / n as f64;
        let r = (1.0 - z * z).max(0.0).sqrt();
        out.push([r * c, r * s, z]);
        let (nc, ns) = (c * C - s * S, c * S + s * C);
        let l = (nc * nc + ns * ns).sqrt();
        c = nc / l;
        s = ns / l;
    }
    out
}

/// Searches build directions for `mesh` with articular `marks`.
pub fn orient(
    mesh: &Mesh,
    marks: &ArticularMarks,
    params: &OrientParams,
) -> Result<Orientation, OverhangError> {
    validate(mesh)?;
    params.overhang.validate()?;
    marks.check(mesh)?;
    if params.directions < 1000 || params.directions > 1_000_000 {
        return Err(OverhangError::InvalidParameter(format!(
            "{} directions: search between 1,000 and 1,000,000",
            params.directions
        )));
    }
    for (name, w) in [
        ("area", params.weight_area),
        ("height", params.weight_height),
        ("articular", params.weight_articular),
    ] {
        if !(w.is_finite() && w >= 0.0) {
            return Err(OverhangError::InvalidParameter(format!(
                "{name} weight {w} must be a finite number ≥ 0"
            )));
        }
    }
    let pre = Precomputed::new(mesh, marks)?;
    let mut dirs = fibonacci_directions(params.directions);
    dirs.extend_from_slice(&[
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
    ]);
    dirs.extend(pre.flat_face_directions(32));
    let mut ranked: Vec<(usize, Candidate)> = dirs
        .into_iter()
        .map(|d| pre.score(d, params))
        .enumerate()
        .collect();
    ranked.sort_by(|a, b| a.1.score.total_cmp(&b.1.score).then(a.0.cmp(&b.0)));
    let ranked: Vec<Candidate> = ranked.into_iter().map(|(_, c)| c).collect();
    let best = ranked.first().cloned().ok_or(OverhangError::Empty)?;
    let as_given = pre.score([0.0, 0.0, 1.0], params);
    let rotation = rotation_to_z(best.up);
    let build_from_mesh = place_on_plate(mesh, &rotation);
    Ok(Orientation {
        best,
        as_given,
        ranked,
        build_from_mesh_rotation: rotation,
        build_from_mesh,
    })
}

/// Applies a rotation chosen by the user (mesh space → build space), sets the part on the
/// plate and recomputes the overhang map. Refuses a matrix that is not a rotation
/// (orthonormal, determinant +1, within 1e-6).
pub fn pose_with_rotation(
    mesh: &Mesh,
    marks: &ArticularMarks,
    build_from_mesh_rotation: &Matrix3<f64>,
    params: &OverhangParams,
) -> Result<Posed, OverhangError> {
    validate(mesh)?;
    let r = build_from_mesh_rotation;
    let err = (r.transpose() * r - Matrix3::identity()).abs().max();
    if !(err <= 1e-6 && (r.determinant() - 1.0).abs() <= 1e-6) {
        return Err(OverhangError::InvalidParameter(
            "the matrix is not a rotation (it must be orthonormal with determinant +1); rebuild it from axis and angle".into(),
        ));
    }
    let build_from_mesh = place_on_plate(mesh, r);
    let posed = transform_mesh(mesh, &build_from_mesh);
    let map = overhang_map_with_params(
        &posed,
        [0.0, 0.0, 1.0],
        marks,
        &OverhangParams {
            plate_height_mm: None,
            ..params.clone()
        },
    )?;
    Ok(Posed {
        mesh: posed,
        map,
        build_from_mesh,
    })
}

/// Rotation about the x, y then z axes by the given angles in degrees (build = Rz·Ry·Rx·mesh),
/// for a user's manual rotation. Uses the series cosine, so the same bits everywhere.
pub fn rotation_from_euler_deg(x_deg: f64, y_deg: f64, z_deg: f64) -> Matrix3<f64> {
    use std::f64::consts::FRAC_PI_2;
    let cs = |deg: f64| {
        let a = deg.to_radians();
        (
            super::overhang::det_cos(a),
            super::overhang::det_cos(a - FRAC_PI_2),
        )
    };
    let (cx, sx) = cs(x_deg);
    let (cy, sy) = cs(y_deg);
    let (cz, sz) = cs(z_deg);
    let rx = Matrix3::new(1.0, 0.0, 0.0, 0.0, cx, -sx, 0.0, sx, cx);
    let ry = Matrix3::new(cy, 0.0, sy, 0.0, 1.0, 0.0, -sy, 0.0, cy);
    let rz = Matrix3::new(cz, -sz, 0.0, sz, cz, 0.0, 0.0, 0.0, 1.0);
    rz * ry * rx
}

/// The smallest rotation taking unit vector `up` to +z (a half turn about x when `up`
/// is −z).
pub fn rotation_to_z(up: [f64; 3]) -> Matrix3<f64> {
    let l = dot(up, up).sqrt();
    let u = Vector3::from(up.map(|c| c / l));
    let z = Vector3::z();
    let c = u.dot(&z);
    if c < -1.0 + 1e-12 {
        return Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0);
    }
    let v = u.cross(&z);
    let k = Matrix3::new(0.0, -v.z, v.y, v.z, 0.0, -v.x, -v.y, v.x, 0.0);
    Matrix3::identity() + k + k * k / (1.0 + c)
}

/// The rotation followed by the translation that puts the rotated part's lowest point
/// at z = 0 and its bounding-box centre at x = y = 0.
pub fn place_on_plate(mesh: &Mesh, rotation: &Matrix3<f64>) -> Matrix4<f64> {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for v in used_vertices(mesh) {
        let p = rotation * Vector3::from(mesh.positions_mm[v]);
        for i in 0..3 {
            lo[i] = lo[i].min(p[i]);
            hi[i] = hi[i].max(p[i]);
        }
    }
    let t = if lo[0].is_finite() {
        Vector3::new(-(lo[0] + hi[0]) / 2.0, -(lo[1] + hi[1]) / 2.0, -lo[2])
    } else {
        Vector3::zeros()
    };
    let mut m = rotation.to_homogeneous();
    m.fixed_view_mut::<3, 1>(0, 3).copy_from(&t);
    m
}

/// Applies an affine transform (4×4, mm) to every vertex. A mirroring transform
/// (negative determinant) flips the winding so triangles stay counter-clockwise seen
/// from outside.
pub fn transform_mesh(mesh: &Mesh, m: &Matrix4<f64>) -> Mesh {
    let positions_mm = mesh
        .positions_mm
        .iter()
        .map(|p| {
            let q = m.transform_point(&nalgebra::Point3::from(*p));
            [q.x, q.y, q.z]
        })
        .collect();
    let flip = m.fixed_view::<3, 3>(0, 0).determinant() < 0.0;
    let triangles = mesh
        .triangles
        .iter()
        .map(|t| if flip { [t[0], t[2], t[1]] } else { *t })
        .collect();
    Mesh::new(positions_mm, triangles)
}

/// Normals, areas, centroids and vertex positions computed once for the direction
/// search, stored as separate coordinate arrays so the per-direction loops are plain
/// multiply-adds over contiguous memory.
struct Precomputed {
    /// Used vertices.
    px: Vec<f64>,
    py: Vec<f64>,
    pz: Vec<f64>,
    /// Non-degenerate triangles (renumbered vertices) and their unit normals.
    triangles: Vec<[u32; 3]>,
    nx: Vec<f64>,
    ny: Vec<f64>,
    nz: Vec<f64>,
    /// Centroids: a face can rest on the plate only if its centroid is that low.
    cx: Vec<f64>,
    cy: Vec<f64>,
    cz: Vec<f64>,
    /// Area of each face if it is not articular, else 0.
    area_free: Vec<f64>,
    /// Area of each face if it is articular, else 0.
    area_art: Vec<f64>,
    /// For [`Precomputed::flat_face_directions`].
    normals: Vec<[f64; 3]>,
    areas: Vec<f64>,
    total_area: f64,
    diameter: f64,
}

impl Precomputed {
    fn new(mesh: &Mesh, marks: &ArticularMarks) -> Result<Self, OverhangError> {
        let used = used_vertices(mesh);
        // Only used vertices count for heights; renumber so the inner loop is dense.
        let mut remap = vec![u32::MAX; mesh.vertex_count()];
        let (mut px, mut py, mut pz) = (Vec::new(), Vec::new(), Vec::new());
        for (i, &v) in used.iter().enumerate() {
            remap[v] = i as u32;
            let p = mesh.positions_mm[v];
            px.push(p[0]);
            py.push(p[1]);
            pz.push(p[2]);
        }
        let mut pre = Precomputed {
            px,
            py,
            pz,
            triangles: Vec::new(),
            nx: Vec::new(),
            ny: Vec::new(),
            nz: Vec::new(),
            cx: Vec::new(),
            cy: Vec::new(),
            cz: Vec::new(),
            area_free: Vec::new(),
            area_art: Vec::new(),
            normals: Vec::new(),
            areas: Vec::new(),
            total_area: 0.0,
            diameter: 0.0,
        };
        let mut centroid = [0.0; 3];
        for (t, tri) in mesh.triangles.iter().enumerate() {
            let c = mesh.corners(t);
            let (n, a2) = normal_and_double_area(&c);
            if a2 <= 0.0 {
                continue;
            }
            let a = 0.5 * a2;
            pre.total_area += a;
            let g = [0, 1, 2].map(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0);
            for k in 0..3 {
                centroid[k] += a * g[k];
            }
            pre.triangles.push(tri.map(|v| remap[v as usize]));
            pre.nx.push(n[0]);
            pre.ny.push(n[1]);
            pre.nz.push(n[2]);
            pre.cx.push(g[0]);
            pre.cy.push(g[1]);
            pre.cz.push(g[2]);
            let art = marks.mask[t];
            pre.area_free.push(if art { 0.0 } else { a });
            pre.area_art.push(if art { a } else { 0.0 });
            pre.normals.push(n);
            pre.areas.push(a);
        }
        if pre.total_area <= 0.0 || !pre.total_area.is_finite() {
            return Err(OverhangError::Empty);
        }
        let g = centroid.map(|c| c / pre.total_area);
        let mut r2 = 0.0f64;
        for i in 0..pre.px.len() {
            let d = [pre.px[i] - g[0], pre.py[i] - g[1], pre.pz[i] - g[2]];
            r2 = r2.max(dot(d, d));
        }
        pre.diameter = (2.0 * r2.sqrt()).max(1e-9);
        Ok(pre)
    }

    /// Reversed normals of the `k` largest groups of triangles sharing a normal (to 1e-6):
    /// building along them puts that flat area on the plate.
    fn flat_face_directions(&self, k: usize) -> Vec<[f64; 3]> {
        let mut groups: std::collections::BTreeMap<[i64; 3], (f64, [f64; 3])> =
            std::collections::BTreeMap::new();
        for (n, a) in self.normals.iter().zip(&self.areas) {
            let key = n.map(|c| (c * 1e6).round() as i64);
            let e = groups.entry(key).or_insert((0.0, *n));
            e.0 += a;
        }
        let mut g: Vec<(f64, [i64; 3], [f64; 3])> = groups
            .into_iter()
            .map(|(key, (a, n))| (a, key, n))
            .collect();
        g.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        g.into_iter()
            .filter(|(a, _, _)| *a > 1e-3 * self.total_area)
            .take(k)
            .map(|(_, _, n)| n.map(|c| -c))
            .collect()
    }

    fn height(&self, v: u32, up: [f64; 3]) -> f64 {
        let v = v as usize;
        self.px[v] * up[0] + self.py[v] * up[1] + self.pz[v] * up[2]
    }

    fn score(&self, up: [f64; 3], params: &OrientParams) -> Candidate {
        let cos_crit = params.overhang.cos_critical();
        let tol = params.overhang.plate_tolerance_mm;
        let [ux, uy, uz] = up;
        // Four independent lanes (min/max are exact, so the lane split changes nothing).
        let (mut lo4, mut hi4) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
        let nv = self.px.len();
        let (px, py, pz) = (&self.px[..nv], &self.py[..nv], &self.pz[..nv]);
        let mut v = 0;
        while v + 4 <= nv {
            for l in 0..4 {
                let h = px[v + l] * ux + py[v + l] * uy + pz[v + l] * uz;
                lo4[l] = if h < lo4[l] { h } else { lo4[l] };
                hi4[l] = if h > hi4[l] { h } else { hi4[l] };
            }
            v += 4;
        }
        for i in v..nv {
            let h = px[i] * ux + py[i] * uy + pz[i] * uz;
            lo4[0] = if h < lo4[0] { h } else { lo4[0] };
            hi4[0] = if h > hi4[0] { h } else { hi4[0] };
        }
        let lo = lo4.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let hi = hi4.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let below = lo + tol;
        let centre_below = below + 1e-9 * self.diameter;
        let nf = self.nx.len();
        let (nx, ny, nz) = (&self.nx[..nf], &self.ny[..nf], &self.nz[..nf]);
        let (cx, cy, cz) = (&self.cx[..nf], &self.cy[..nf], &self.cz[..nf]);
        let (area_free, area_art) = (&self.area_free[..nf], &self.area_art[..nf]);
        let (mut supported, mut articular) = (0.0, 0.0);
        for i in 0..nf {
            let down = -(nx[i] * ux + ny[i] * uy + nz[i] * uz);
            // Looking down at all counts once for articular faces, needing support again.
            articular += if down > 0.0 { area_art[i] } else { 0.0 };
            if down > cos_crit {
                // Cheap filter first (with a rounding margin), then the exact corner rule.
                let centre = cx[i] * ux + cy[i] * uy + cz[i] * uz;
                let on_plate = centre <= centre_below
                    && self.triangles[i]
                        .iter()
                        .all(|&v| self.height(v, up) <= below);
                if !on_plate {
                    supported += area_free[i];
                    articular += area_art[i];
                }
            }
        }
        let height = hi - lo;
        let score = params.weight_area * supported / self.total_area
            + params.weight_height * height / self.diameter
            + params.weight_articular * articular / self.total_area;
        Candidate {
            up,
            score,
            supported_area_mm2: supported,
            height_mm: height,
            articular_down_area_mm2: articular,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fibonacci_directions_are_unit_and_spread() {
        let d = fibonacci_directions(1000);
        assert_eq!(d.len(), 1000);
        let mut mean = [0.0; 3];
        for v in &d {
            assert!((dot(*v, *v) - 1.0).abs() < 1e-12);
            for k in 0..3 {
                mean[k] += v[k] / 1000.0;
            }
        }
        assert!(mean.iter().all(|m| m.abs() < 0.01), "{mean:?}");
        // The golden-angle constants agree with libm.
        let g = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        assert!((d[1][0] / (1.0 - d[1][2] * d[1][2]).sqrt() - g.cos()).abs() < 1e-12);
    }

    #[test]
    fn rotation_to_z_maps_up_to_z_and_is_proper() {
        for up in fibonacci_directions(50)
            .into_iter()
            .chain([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]])
        {
            let r = rotation_to_z(up);
            let z = r * Vector3::from(up);
            assert!((z - Vector3::z()).norm() < 1e-12, "{up:?}");
            assert!((r.determinant() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn flat_bottom_rests_on_the_plate_even_without_tolerance() {
        let m = crate::mesh::shapes::box_mesh([0.1, 0.2, 0.3], [10.3, 7.7, 40.9]);
        let params = OrientParams {
            overhang: OverhangParams {
                plate_tolerance_mm: 0.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let o = orient(&m, &ArticularMarks::none(12), &params).unwrap();
        assert_eq!(o.best.supported_area_mm2, 0.0);
        assert_eq!(o.as_given.supported_area_mm2, 0.0);
    }

    #[test]
    fn euler_rotation_matches_nalgebra() {
        let r = rotation_from_euler_deg(30.0, -20.0, 110.0);
        let want = nalgebra::Rotation3::from_euler_angles(
            30f64.to_radians(),
            (-20f64).to_radians(),
            110f64.to_radians(),
        );
        assert!((r - want.matrix()).abs().max() < 1e-12);
    }
}
