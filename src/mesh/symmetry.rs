//! Fitted symmetry plane: the patient's mid-sagittal plane estimated from the two
//! sides' bone surfaces, for mirroring the healthy side onto the affected one.
//!
//! Coordinate space: all meshes and planes in patient LPS mm.
//!
//! # Method
//! 1. Mirror side `b` across an initial plane `S0` (usually the sagittal plane through
//!    the middle of the bones; only its normal matters much, the registration finds the
//!    offset).
//! 2. Register the mirrored `b` onto side `a` with [`super::register`] (principal-axes
//!    pose search + trimmed point-to-plane ICP) → a rigid `T`.
//! 3. `A = T · S0` maps each point of `b` to its counterpart on `a`; it is an improper
//!    rigid transform (a reflection composed with a small rotation). For a perfect
//!    reflection across the plane `n·x = d` the linear part is `I − 2nnᵀ` and
//!    `n·(p + A(p))/2 = d` for every `p`. So the fitted plane's normal is the eigenvector
//!    of the symmetric part of `A`'s linear part with the smallest eigenvalue (≈ −1),
//!    and its offset `d = n·(c + A(c))/2` at the centroid `c` of `b`.
//!    What a reflection cannot explain (the two sides are never exact mirror images —
//!    the phantom's left foot is turned by a few degrees) is reported as
//!    [`SymmetryFit::asymmetry_deg`], the angle of the rotation `A · S` left over after
//!    reflecting across the fitted plane `S`.
//!
//! Pass the two sides separately (e.g. all bones with their centroid left of the initial
//! plane as `a`, the others as `b`). Passing one bilateral surface as both `a` and `b`
//! also works but is weaker: its mirror image registered onto itself has to serve `A`
//! on one side and `A⁻¹` on the other, and on the demo phantom (left foot turned by a
//! few degrees) that compromise tilts the plane by ~4°, against 0.02° for the two sides.
//!
//! Hand-written because it is a few lines on top of the registration kernel; no crate
//! offers it. Deterministic: the registration is, and the eigen-decomposition of a fixed
//! 3×3 matrix is.

use nalgebra::{Matrix3, Matrix4, SymmetricEigen, Vector3};

use super::io::MeshError;
use super::mirror::{mirror, Plane};
use super::register::{register_with_progress, RegisterError, RegisterParams};
use super::Mesh;
use crate::progress::Progress;

/// Parameters of [`fit_symmetry_plane`].
#[derive(Clone, Debug, PartialEq)]
pub struct SymmetryParams {
    /// Registration of the mirrored side onto the other. Default: the registration
    /// defaults with at most 20 000 samples (a whole bilateral skeleton is large).
    pub register: RegisterParams,
}

impl Default for SymmetryParams {
    fn default() -> Self {
        SymmetryParams {
            register: RegisterParams {
                max_samples: 20_000,
                ..RegisterParams::default()
            },
        }
    }
}

/// Result of [`fit_symmetry_plane`].
#[derive(Clone, Debug, PartialEq)]
pub struct SymmetryFit {
    /// The fitted plane: unit normal with its largest component positive (≈ +x for a
    /// sagittal plane), point = the point of the plane closest to the centroid of `b`.
    pub plane: Plane,
    /// RMS of the registration residuals, mm.
    pub rms_mm: f64,
    /// Overlap fraction (0–1) of the registration.
    pub overlap: f64,
    /// Rotation (degrees) the reflection across `plane` leaves unexplained.
    pub asymmetry_deg: f64,
    /// `A`: maps points of `b` to their counterparts on `a` (improper, det = −1).
    pub a_from_b: Matrix4<f64>,
}

/// Why no plane could be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SymmetryError {
    #[error("{0}")]
    Mesh(#[from] MeshError),
    #[error("{0}")]
    Register(#[from] RegisterError),
    #[error("the transform between the two sides is not a mirror image (its linear part has determinant {det:.3}, expected −1); check that the surfaces are the two sides of the same anatomy")]
    NotAMirror { det: f64 },
}

/// Fits the plane across which `b` best mirrors onto `a`; see the module docs.
/// `progress` receives the registration's progress.
pub fn fit_symmetry_plane(
    a: &Mesh,
    b: &Mesh,
    initial: &Plane,
    params: &SymmetryParams,
    progress: &mut dyn Progress,
) -> Result<SymmetryFit, SymmetryError> {
    let mirrored = mirror(b, initial)?;
    let reg = register_with_progress(a, &mirrored, &params.register, progress)?;
    let a_from_b = reg.fixed_from_moving * reflection_matrix(initial)?;
    let centre = vertex_centroid(b);
    let (plane, asymmetry_deg) = plane_of_mirror_transform(&a_from_b, centre)?;
    Ok(SymmetryFit {
        plane,
        rms_mm: reg.rms_mm,
        overlap: reg.overlap,
        asymmetry_deg,
        a_from_b,
    })
}

/// The plane that best explains the improper rigid transform `a_from_b` as a reflection
/// (see the module docs), with the point on it closest to `centre_mm`, and the residual
/// rotation angle in degrees.
pub fn plane_of_mirror_transform(
    a_from_b: &Matrix4<f64>,
    centre_mm: [f64; 3],
) -> Result<(Plane, f64), SymmetryError> {
    let l: Matrix3<f64> = a_from_b.fixed_view::<3, 3>(0, 0).into_owned();
    let det = l.determinant();
    if !(det < -0.5 && det.is_finite()) {
        return Err(SymmetryError::NotAMirror { det });
    }
    let sym = (l + l.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let mut k = 0;
    for i in 1..3 {
        if eig.eigenvalues[i] < eig.eigenvalues[k] {
            k = i;
        }
    }
    let mut n: Vector3<f64> = eig.eigenvectors.column(k).normalize();
    // Sign: largest component positive (first wins a tie), so the same plane always has
    // the same normal.
    let mut big = 0;
    for i in 1..3 {
        if n[i].abs() > n[big].abs() {
            big = i;
        }
    }
    if n[big] < 0.0 {
        n = -n;
    }
    let c = Vector3::from(centre_mm);
    let t = a_from_b.fixed_view::<3, 1>(0, 3).into_owned();
    let image = l * c + t;
    let d = n.dot(&((c + image) * 0.5));
    let point = c - n * (n.dot(&c) - d);
    let s = Matrix3::identity() - n * n.transpose() * 2.0;
    let r = l * s;
    let cos = ((r.trace() - 1.0) * 0.5).clamp(-1.0, 1.0);
    Ok((
        Plane {
            point_mm: [point[0], point[1], point[2]],
            normal: [n[0], n[1], n[2]],
        },
        cos.acos().to_degrees(),
    ))
}

/// The 4×4 reflection across `plane`.
pub fn reflection_matrix(plane: &Plane) -> Result<Matrix4<f64>, MeshError> {
    let origin = plane.reflect([0.0; 3])?;
    let mut m = Matrix4::identity();
    for (col, e) in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        .into_iter()
        .enumerate()
    {
        let q = plane.reflect(e)?;
        for row in 0..3 {
            m[(row, col)] = q[row] - origin[row];
        }
    }
    for row in 0..3 {
        m[(row, 3)] = origin[row];
    }
    Ok(m)
}

/// Mean of the vertex positions (mm); the origin for an empty mesh.
fn vertex_centroid(mesh: &Mesh) -> [f64; 3] {
    let mut c = [0.0; 3];
    for p in &mesh.positions_mm {
        for a in 0..3 {
            c[a] += p[a];
        }
    }
    let n = mesh.positions_mm.len().max(1) as f64;
    c.map(|v| v / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::register::transform_mesh;
    use crate::mesh::shapes::ico_sphere;
    use crate::progress::NoProgress;

    /// A lumpy, asymmetric closed surface (no mirror plane of its own), ~40 mm across.
    fn lumpy() -> Mesh {
        let mut m = ico_sphere(15.0, 4);
        for p in &mut m.positions_mm {
            let [x, y, z] = p.map(|c| c / 15.0);
            let r = 1.0 + 0.25 * x + 0.15 * x * y + 0.2 * (y * z + 0.3 * z) + 0.1 * x * x * z;
            *p = [p[0] * r * 1.3, p[1] * r, p[2] * r * 0.8];
        }
        m
    }

    fn unit(v: [f64; 3]) -> [f64; 3] {
        let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        v.map(|c| c / l)
    }

    fn angle_deg(a: [f64; 3], b: [f64; 3]) -> f64 {
        let (a, b) = (unit(a), unit(b));
        let c = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]).abs().min(1.0);
        c.acos().to_degrees()
    }

    fn offset_mm(p: &Plane, at: [f64; 3]) -> f64 {
        let n = unit(p.normal);
        (0..3).map(|i| (at[i] - p.point_mm[i]) * n[i]).sum::<f64>()
    }

    #[test]
    fn a_mirror_image_pair_recovers_its_oblique_plane() {
        // Side a sits left of an oblique plane; b is its exact mirror image.
        let a = crate::mesh::shapes::translated(&lumpy(), [40.0, 5.0, -3.0]);
        let truth = Plane {
            point_mm: [2.0, -1.0, 4.0],
            normal: unit([1.0, 0.08, -0.05]),
        };
        let b = mirror(&a, &truth).unwrap();
        let fit = fit_symmetry_plane(
            &a,
            &b,
            &Plane::sagittal(0.0),
            &SymmetryParams::default(),
            &mut NoProgress,
        )
        .unwrap();
        let angle = angle_deg(fit.plane.normal, truth.normal);
        let off = offset_mm(&truth, fit.plane.point_mm);
        assert!(angle < 0.05, "normal off by {angle}°");
        assert!(off.abs() < 0.05, "plane off by {off} mm");
        assert!(fit.asymmetry_deg < 0.05, "asymmetry {}", fit.asymmetry_deg);
        assert!(fit.rms_mm < 0.01 && fit.overlap > 0.99);
        assert!(fit.plane.normal[0] > 0.0);
    }

    /// `b` = mirror image of `a` at x = 0, then turned 4° about an axis through its
    /// centre. A turn about a vertical axis (in the plane) is itself explained by a
    /// reflection across a plane turned by half the angle; a turn about the plane's
    /// normal is not, and must be reported as asymmetry.
    fn turned_pair(axis: usize) -> SymmetryFit {
        let a = crate::mesh::shapes::translated(&lumpy(), [45.0, 0.0, 0.0]);
        let b0 = mirror(&a, &Plane::sagittal(0.0)).unwrap();
        let axis = match axis {
            0 => Vector3::x_axis(),
            _ => Vector3::z_axis(),
        };
        let turn = nalgebra::Rotation3::from_axis_angle(&axis, 4f64.to_radians()).to_homogeneous();
        let to = Matrix4::new_translation(&Vector3::new(-45.0, 0.0, 0.0));
        let back = Matrix4::new_translation(&Vector3::new(45.0, 0.0, 0.0));
        let b = transform_mesh(&b0, &(to * turn * back));
        fit_symmetry_plane(
            &a,
            &b,
            &Plane::sagittal(10.0),
            &SymmetryParams::default(),
            &mut NoProgress,
        )
        .unwrap()
    }

    #[test]
    fn a_turn_within_the_plane_tilts_the_plane_by_half_the_angle() {
        let fit = turned_pair(2);
        assert!(fit.asymmetry_deg < 0.05, "asymmetry {}°", fit.asymmetry_deg);
        let angle = angle_deg(fit.plane.normal, [1.0, 0.0, 0.0]);
        assert!((angle - 2.0).abs() < 0.05, "normal turned {angle}°");
    }

    #[test]
    fn a_turn_about_the_normal_is_reported_as_asymmetry_not_hidden() {
        let fit = turned_pair(0);
        assert!(
            (fit.asymmetry_deg - 4.0).abs() < 0.05,
            "asymmetry {}°",
            fit.asymmetry_deg
        );
        let angle = angle_deg(fit.plane.normal, [1.0, 0.0, 0.0]);
        assert!(angle < 0.05, "normal turned {angle}°");
    }

    /// The demo phantom's left foot is the right foot mirrored at x = 0 and then turned
    /// and shifted by a seed-dependent pose (`demo::anatomy::feet`), so its true
    /// mid-plane follows from the two foot frames: `A = left_from_local · local_from_right`.
    #[test]
    fn the_demo_phantom_mid_plane_is_found_from_its_bones() {
        use crate::demo::{self, DemoParams};
        let params = DemoParams::coarse(1.0);
        let study = demo::generate(&params);
        let mc = crate::surface::mc::McParams { iso_hu: 720.0 };
        // One mesh per side: the right foot's bones (labels 1–6) and the left's (7–12).
        let side = |left: bool| {
            let meshes: Vec<Mesh> = study
                .bones
                .iter()
                .filter(|b| (b.side == demo::Side::Left) == left)
                .map(|b| {
                    crate::surface::mc::label_surface(&study.ct, &study.labels, b.label, &mc)
                        .unwrap()
                })
                .collect();
            crate::mesh::shapes::concat(&meshes.iter().collect::<Vec<_>>())
        };
        let (right_side, left_side) = (side(false), side(true));
        // a = left, b = right: A maps right-foot points to their left-foot counterparts.
        let fit = fit_symmetry_plane(
            &left_side,
            &right_side,
            &Plane::sagittal(0.0),
            &SymmetryParams::default(),
            &mut NoProgress,
        )
        .unwrap();

        let [right, left] = demo::anatomy::feet(params.seed);
        let map = |p: [f64; 3]| {
            left.frame
                .patient_from_local(right.frame.local_from_patient(p))
        };
        let mut truth_m = Matrix4::identity();
        let o = map([0.0; 3]);
        for col in 0..3 {
            let mut e = [0.0; 3];
            e[col] = 1.0;
            let q = map(e);
            for row in 0..3 {
                truth_m[(row, col)] = q[row] - o[row];
            }
        }
        for row in 0..3 {
            truth_m[(row, 3)] = o[row];
        }
        let centre = vertex_centroid(&right_side);
        let (truth, truth_asym) = plane_of_mirror_transform(&truth_m, centre).unwrap();
        let angle = angle_deg(fit.plane.normal, truth.normal);
        let off = offset_mm(&truth, fit.plane.point_mm);
        println!(
            "demo mid-plane: fitted normal {:?} point {:?}; truth normal {:?} point {:?}; \
             {angle:.3}° and {off:.3} mm apart; asymmetry fitted {:.2}° truth {truth_asym:.2}°; \
             rms {:.3} mm overlap {:.3}",
            fit.plane.normal,
            fit.plane.point_mm,
            truth.normal,
            truth.point_mm,
            fit.asymmetry_deg,
            fit.rms_mm,
            fit.overlap
        );
        assert!(angle < 0.25, "normal {angle}° from the truth");
        assert!(
            off.abs() < 0.25,
            "plane {off} mm from the truth at the centroid"
        );
        assert!((fit.asymmetry_deg - truth_asym).abs() < 0.5);
    }

    #[test]
    fn a_proper_transform_is_not_a_mirror() {
        let e = plane_of_mirror_transform(&Matrix4::identity(), [0.0; 3]).unwrap_err();
        assert!(matches!(e, SymmetryError::NotAMirror { .. }));
        assert!(e.to_string().contains("not a mirror image"));
    }

    #[test]
    fn reflection_matrix_matches_the_plane() {
        let p = Plane {
            point_mm: [3.0, 1.0, -2.0],
            normal: [1.0, 1.0, 0.5],
        };
        let m = reflection_matrix(&p).unwrap();
        let q = [7.0, -4.0, 2.5];
        let r = p.reflect(q).unwrap();
        let v = m * nalgebra::Vector4::new(q[0], q[1], q[2], 1.0);
        for i in 0..3 {
            assert!((v[i] - r[i]).abs() < 1e-12);
        }
        let (plane, asym) = plane_of_mirror_transform(&m, [0.0; 3]).unwrap();
        assert!(asym < 1e-6);
        assert!(angle_deg(plane.normal, p.normal) < 1e-6);
        assert!(offset_mm(&p, plane.point_mm).abs() < 1e-9);
    }
}
