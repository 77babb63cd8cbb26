//! Registration, smoothing, remeshing and decimation on analytic shapes.
//!
//! Speed figures: `cargo test --release --test mesh_processing -- --ignored --nocapture`.

use std::collections::BTreeMap;

use nalgebra::{Matrix4, Rotation3, Translation3, Unit, Vector3};
use osteon::mesh::decimate::{decimate, decimate_with_progress, DecimateError, DecimateParams};
use osteon::mesh::register::{
    register, register_with_progress, transform_group, transform_mesh, RegisterError,
    RegisterParams,
};
use osteon::mesh::remesh::{remesh, remesh_with_progress, RemeshError, RemeshParams};
use osteon::mesh::smooth::{
    flatten_prominences, gaussian, laplacian, smooth_brush, taubin, BrushParams, FlattenParams,
    GaussianParams, LaplacianParams, TaubinParams, Weights,
};
use osteon::mesh::Mesh;

// ---------- small geometry utilities (test-only) ----------

fn icosphere(r: f64, level: u32) -> Mesh {
    osteon::mesh::shapes::ico_sphere(r, level)
}

/// Axis-aligned box `[0,a]×[0,b]×[0,c]` with each face split into an `n`-per-unit grid.
fn box_mesh(size: [f64; 3], cells: [usize; 3]) -> Mesh {
    let mut pos: Vec<[f64; 3]> = Vec::new();
    let mut index: BTreeMap<[i64; 3], u32> = BTreeMap::new();
    let mut tris = Vec::new();
    let mut vid = |g: [i64; 3], pos: &mut Vec<[f64; 3]>| -> u32 {
        *index.entry(g).or_insert_with(|| {
            pos.push([
                g[0] as f64 * size[0] / cells[0] as f64,
                g[1] as f64 * size[1] / cells[1] as f64,
                g[2] as f64 * size[2] / cells[2] as f64,
            ]);
            (pos.len() - 1) as u32
        })
    };
    // For each axis and side, a grid over the other two axes; outward winding.
    for ax in 0..3 {
        let (u, v) = ((ax + 1) % 3, (ax + 2) % 3);
        for side in 0..2 {
            for i in 0..cells[u] {
                for j in 0..cells[v] {
                    let g = |di: usize, dj: usize| {
                        let mut c = [0i64; 3];
                        c[ax] = if side == 1 { cells[ax] as i64 } else { 0 };
                        c[u] = (i + di) as i64;
                        c[v] = (j + dj) as i64;
                        c
                    };
                    let q = [g(0, 0), g(1, 0), g(1, 1), g(0, 1)].map(|c| vid(c, &mut pos));
                    // (u × v) = +ax, so CCW in (u, v) faces +ax: use it on side 1.
                    if side == 1 {
                        tris.push([q[0], q[1], q[2]]);
                        tris.push([q[0], q[2], q[3]]);
                    } else {
                        tris.push([q[0], q[2], q[1]]);
                        tris.push([q[0], q[3], q[2]]);
                    }
                }
            }
        }
    }
    Mesh::new(pos, tris)
}

/// Torus with major radius `rr`, minor `r`, `nu × nv` quads (2·nu·nv triangles).
fn torus(rr: f64, r: f64, nu: usize, nv: usize) -> Mesh {
    let mut pos = Vec::new();
    for i in 0..nu {
        let u = i as f64 / nu as f64 * std::f64::consts::TAU;
        for j in 0..nv {
            let v = j as f64 / nv as f64 * std::f64::consts::TAU;
            pos.push([
                (rr + r * v.cos()) * u.cos(),
                (rr + r * v.cos()) * u.sin(),
                r * v.sin(),
            ]);
        }
    }
    let id = |i: usize, j: usize| ((i % nu) * nv + (j % nv)) as u32;
    let mut tris = Vec::new();
    for i in 0..nu {
        for j in 0..nv {
            let (a, b, c, d) = (id(i, j), id(i + 1, j), id(i + 1, j + 1), id(i, j + 1));
            tris.push([a, b, c]);
            tris.push([a, c, d]);
        }
    }
    Mesh::new(pos, tris)
}

fn volume(m: &Mesh) -> f64 {
    let p = &m.positions_mm;
    m.triangles
        .iter()
        .map(|t| {
            let (a, b, c) = (p[t[0] as usize], p[t[1] as usize], p[t[2] as usize]);
            a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0])
        })
        .sum::<f64>()
        / 6.0
}

/// Every directed edge once, and its reverse present: closed, manifold, oriented.
fn closed_and_oriented(m: &Mesh) -> bool {
    let mut e: Vec<(u32, u32)> = m
        .triangles
        .iter()
        .flat_map(|t| (0..3).map(move |k| (t[k], t[(k + 1) % 3])))
        .collect();
    e.sort_unstable();
    !e.windows(2).any(|w| w[0] == w[1]) && e.iter().all(|&(a, b)| e.binary_search(&(b, a)).is_ok())
}

fn mean_edge(m: &Mesh) -> f64 {
    let mut s = 0.0;
    for t in &m.triangles {
        for k in 0..3 {
            let (a, b) = (
                m.positions_mm[t[k] as usize],
                m.positions_mm[t[(k + 1) % 3] as usize],
            );
            s += ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
        }
    }
    s / (3 * m.triangles.len()) as f64
}

/// Deterministic approximately Gaussian numbers (LCG, sum of 4 uniforms, unit variance).
struct Noise(u64);
impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        ((0..4).map(|_| self.uniform()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// Bone-like asymmetric shape: deformed ellipsoid (semi-axes 25/15/11 mm) with a bend,
/// a taper and a bump.
fn bone_like(level: u32) -> Mesh {
    let mut m = icosphere(1.0, level);
    for p in &mut m.positions_mm {
        let [x, y, z] = *p;
        let mut q = [25.0 * x, 15.0 * y * (1.0 + 0.25 * x), 11.0 * z];
        q[2] += 4.0 * x * x; // bend
        let bump = (-((x - 0.4).powi(2) + (y - 0.6).powi(2) + (z - 0.6).powi(2)) / 0.05).exp();
        q[0] += 3.0 * bump * x;
        q[1] += 3.0 * bump * y;
        q[2] += 3.0 * bump * z;
        *p = q;
    }
    m
}

/// Ellipsoid with full axes 40/30/29 mm plus a small asymmetric bump (1.5 mm).
fn near_symmetric(level: u32) -> Mesh {
    let mut m = icosphere(1.0, level);
    for p in &mut m.positions_mm {
        let [x, y, z] = *p;
        let bump =
            1.5 * (-((x - 0.5).powi(2) + (y - 0.5).powi(2) + (z - 0.7).powi(2)) / 0.04).exp();
        *p = [(20.0 + bump) * x, (15.0 + bump) * y, (14.5 + bump) * z];
    }
    m
}

fn rigid(axis: [f64; 3], deg: f64, t: [f64; 3]) -> Matrix4<f64> {
    let r = Rotation3::from_axis_angle(&Unit::new_normalize(Vector3::from(axis)), deg.to_radians());
    Translation3::new(t[0], t[1], t[2]).to_homogeneous() * r.to_homogeneous()
}

/// Rotation angle (degrees) and translation (mm) of `a⁻¹ b`.
fn pose_error(a: &Matrix4<f64>, b: &Matrix4<f64>) -> (f64, f64) {
    let d = a.try_inverse().expect("rigid") * b;
    let tr = d[(0, 0)] + d[(1, 1)] + d[(2, 2)];
    let ang = ((tr - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees();
    let t = Vector3::new(d[(0, 3)], d[(1, 3)], d[(2, 3)]).norm();
    (ang, t)
}

fn radius_rms_error(m: &Mesh, r: f64) -> f64 {
    let s: f64 = m
        .positions_mm
        .iter()
        .map(|p| ((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - r).powi(2))
        .sum();
    (s / m.positions_mm.len() as f64).sqrt()
}

// ---------- registration ----------

const POSES: [([f64; 3], f64, [f64; 3]); 4] = [
    ([0.0, 0.0, 1.0], 30.0, [20.0, 0.0, 0.0]),
    ([1.0, 1.0, 0.0], -25.0, [-5.0, 12.0, 15.0]),
    ([0.3, -1.0, 0.5], 30.0, [11.0, -11.0, 11.0]),
    ([1.0, 0.0, 0.0], 17.0, [0.0, 0.0, -20.0]),
];

#[test]
fn register_recovers_known_transform_on_bone_like_shape() {
    let fixed = bone_like(4);
    for (axis, deg, t) in POSES {
        let moving_from_fixed = rigid(axis, deg, t);
        let moving = transform_mesh(&fixed, &moving_from_fixed);
        let reg = register(&fixed, &moving, &RegisterParams::default()).expect("registers");
        let truth = moving_from_fixed.try_inverse().expect("rigid");
        let (ang, tr) = pose_error(&truth, &reg.fixed_from_moving);
        println!(
            "bone-like {deg}°: error {ang:.2e}° {tr:.2e} mm, rms {:.2e}, overlap {:.3}, it {}",
            reg.rms_mm, reg.overlap, reg.iterations
        );
        assert!(ang <= 0.05 && tr <= 0.05, "pose error {ang}° {tr} mm");
        assert!(reg.overlap > 0.99);
    }
}

#[test]
fn register_recovers_transform_between_different_tessellations() {
    // The moving surface is a remeshed copy (no shared vertices with the fixed one).
    let fixed = bone_like(5);
    let (resampled, _) = remesh(
        &bone_like(5),
        &RemeshParams {
            target_edge_mm: 1.2,
            max_deviation_mm: 0.2,
            ..Default::default()
        },
    )
    .expect("remesh");
    for (axis, deg, t) in POSES {
        let moving_from_fixed = rigid(axis, deg, t);
        let moving = transform_mesh(&resampled, &moving_from_fixed);
        let reg = register(&fixed, &moving, &RegisterParams::default()).expect("registers");
        let (ang, tr) = pose_error(
            &moving_from_fixed.try_inverse().expect("rigid"),
            &reg.fixed_from_moving,
        );
        println!(
            "bone-like resampled {deg}°: error {ang:.4}° {tr:.4} mm, rms {:.4} mm, it {}",
            reg.rms_mm, reg.iterations
        );
        assert!(ang <= 0.05 && tr <= 0.05, "pose error {ang}° {tr} mm");
    }
}

/// Registers copies of `fixed` moved by each of [`POSES`] with σ 0.1 mm noise added;
/// asserts pose errors within `max_deg` / `max_mm`.
fn noisy_registrations_within(fixed: &Mesh, seed: u64, max_deg: f64, max_mm: f64) {
    let mut noise = Noise(seed);
    for (axis, deg, t) in POSES {
        let moving_from_fixed = rigid(axis, deg, t);
        let mut moving = transform_mesh(fixed, &moving_from_fixed);
        for p in &mut moving.positions_mm {
            for c in p.iter_mut() {
                *c += 0.1 * noise.gauss();
            }
        }
        let reg = register(fixed, &moving, &RegisterParams::default()).expect("registers");
        let (ang, tr) = pose_error(
            &moving_from_fixed.try_inverse().expect("rigid"),
            &reg.fixed_from_moving,
        );
        println!(
            "{} vertices, noisy (σ 0.1 mm) {deg}°: error {ang:.4}° {tr:.4} mm, rms {:.3} mm, \
             it {} ({} coarse)",
            fixed.positions_mm.len(),
            reg.rms_mm,
            reg.iterations,
            reg.coarse_iterations
        );
        assert!(ang <= max_deg && tr <= max_mm, "pose error {ang}° {tr} mm");
    }
}

#[test]
fn register_with_noise_stays_close() {
    // 2.6 k vertices 2–3 mm apart: the noise is not averaged out as on a CT bone.
    noisy_registrations_within(&bone_like(4), 7, 0.2, 0.1);
}

#[test]
fn register_with_noise_on_a_dense_surface_meets_the_issue_bound() {
    // The issue's bound (≤ 0.05°, ≤ 0.05 mm for rotations up to 30°, translations up to
    // 20 mm, plus noise) on a surface as dense as a bone from CT (41 k vertices, ~0.7 mm
    // edges).
    noisy_registrations_within(&bone_like(6), 11, 0.05, 0.05);
}

#[test]
fn register_near_symmetric_shape_avoids_flipped_optimum() {
    let fixed = near_symmetric(4);
    for (axis, deg, t) in POSES {
        let moving_from_fixed = rigid(axis, deg, t);
        let moving = transform_mesh(&fixed, &moving_from_fixed);
        let reg = register(&fixed, &moving, &RegisterParams::default()).expect("registers");
        let (ang, tr) = pose_error(
            &moving_from_fixed.try_inverse().expect("rigid"),
            &reg.fixed_from_moving,
        );
        println!("near-symmetric {deg}°: error {ang:.2e}° {tr:.2e} mm");
        assert!(
            ang <= 0.05 && tr <= 0.05,
            "pose error {ang}° {tr} mm (flipped optimum?)"
        );
    }
}

#[test]
fn register_near_symmetric_large_rotation_about_long_axis() {
    // 180° about the long axis is the classic flip; the bump must disambiguate it.
    let fixed = near_symmetric(4);
    let moving_from_fixed = rigid([1.0, 0.05, 0.0], 170.0, [3.0, 4.0, 5.0]);
    let moving = transform_mesh(&fixed, &moving_from_fixed);
    let reg = register(&fixed, &moving, &RegisterParams::default()).expect("registers");
    let (ang, tr) = pose_error(
        &moving_from_fixed.try_inverse().expect("rigid"),
        &reg.fixed_from_moving,
    );
    assert!(ang <= 0.05 && tr <= 0.05, "pose error {ang}° {tr} mm");
}

#[test]
fn register_near_symmetric_resampled_and_noisy_is_not_flipped() {
    let fixed = near_symmetric(5);
    let (mut resampled, _) = remesh(
        &near_symmetric(5),
        &RemeshParams {
            target_edge_mm: 1.0,
            max_deviation_mm: 0.2,
            ..Default::default()
        },
    )
    .expect("remesh");
    let mut noise = Noise(21);
    for p in &mut resampled.positions_mm {
        for c in p.iter_mut() {
            *c += 0.05 * noise.gauss();
        }
    }
    for (axis, deg, t) in POSES {
        let moving_from_fixed = rigid(axis, deg, t);
        let moving = transform_mesh(&resampled, &moving_from_fixed);
        let reg = register(&fixed, &moving, &RegisterParams::default()).expect("registers");
        let (ang, tr) = pose_error(
            &moving_from_fixed.try_inverse().expect("rigid"),
            &reg.fixed_from_moving,
        );
        println!(
            "near-symmetric resampled+noise {deg}°: error {ang:.3}° {tr:.3} mm, rms {:.3}",
            reg.rms_mm
        );
        assert!(
            ang <= 0.5 && tr <= 0.2,
            "pose error {ang}° {tr} mm (flipped optimum?)"
        );
    }
}

#[test]
fn register_with_partial_overlap_uses_trimming() {
    // The fixed surface lacks the part of the bone with x > 15 mm (about 15 % of it).
    let full = bone_like(5);
    let keep: Vec<[u32; 3]> = full
        .triangles
        .iter()
        .copied()
        .filter(|t| t.iter().all(|&v| full.positions_mm[v as usize][0] < 15.0))
        .collect();
    let fixed = Mesh::new(full.positions_mm.clone(), keep);
    let moving_from_fixed = rigid([0.2, 1.0, -0.3], 25.0, [8.0, -6.0, 4.0]);
    let moving = transform_mesh(&bone_like(5), &moving_from_fixed);
    let params = RegisterParams {
        trim_fraction: 0.25,
        ..Default::default()
    };
    let reg = register(&fixed, &moving, &params).expect("registers");
    let (ang, tr) = pose_error(
        &moving_from_fixed.try_inverse().expect("rigid"),
        &reg.fixed_from_moving,
    );
    println!(
        "partial overlap: error {ang:.4}° {tr:.4} mm, overlap {:.3}",
        reg.overlap
    );
    assert!(ang <= 0.05 && tr <= 0.05, "pose error {ang}° {tr} mm");
    assert!(
        reg.overlap < 0.99 && reg.overlap > 0.7,
        "overlap {}",
        reg.overlap
    );
}

#[test]
fn group_transform_applies_the_same_matrix() {
    let a = bone_like(2);
    let b = icosphere(7.0, 2);
    let m = rigid([0.0, 1.0, 0.0], 20.0, [1.0, 2.0, 3.0]);
    let g = transform_group(&[a.clone(), b.clone()], &m);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0], transform_mesh(&a, &m));
    assert_eq!(g[1], transform_mesh(&b, &m));
    assert!((volume(&g[1]) - volume(&b)).abs() < 1e-9 * volume(&b));
    // A mirror keeps the result outward-facing (positive volume).
    let mut mirror = Matrix4::identity();
    mirror[(0, 0)] = -1.0;
    assert!(volume(&transform_mesh(&b, &mirror)) > 0.0);
}

#[test]
fn register_rejects_empty_input_with_a_message() {
    let err = register(
        &Mesh::default(),
        &icosphere(5.0, 1),
        &RegisterParams::default(),
    )
    .expect_err("empty");
    assert!(err.to_string().contains("fixed"));
}

// ---------- smoothing ----------

#[test]
fn taubin_keeps_sphere_volume_and_reduces_radial_noise() {
    let clean = icosphere(20.0, 5); // edge ≈ 0.8 mm
    let mut m = clean.clone();
    let mut noise = Noise(11);
    for p in &mut m.positions_mm {
        let s = 1.0 + 0.01 * noise.gauss(); // 0.2 mm radial RMS
        *p = [p[0] * s, p[1] * s, p[2] * s];
    }
    let v0 = volume(&m);
    let e0 = radius_rms_error(&m, 20.0);
    for preserve in [false, true] {
        let s = taubin(
            &m,
            &TaubinParams {
                preserve_volume: preserve,
                ..Default::default()
            },
        );
        let dv = (volume(&s) - v0) / v0;
        let e1 = radius_rms_error(&s, 20.0);
        println!(
            "taubin preserve={preserve}: volume change {:.4} %, radial RMS {e0:.4} → {e1:.4} mm",
            dv * 100.0
        );
        assert!(dv.abs() < 0.005);
        assert!(e1 < 0.5 * e0);
    }
    // Cotangent weights too.
    let s = taubin(
        &m,
        &TaubinParams {
            weights: Weights::Cotangent,
            preserve_volume: false,
            ..Default::default()
        },
    );
    assert!(((volume(&s) - v0) / v0).abs() < 0.005);
    assert!(radius_rms_error(&s, 20.0) < e0);
}

#[test]
fn laplacian_shrinks_closed_surfaces() {
    let m = icosphere(20.0, 4);
    let v0 = volume(&m);
    let s = laplacian(
        &m,
        &LaplacianParams {
            iterations: 20,
            lambda: 0.5,
            weights: Weights::Uniform,
        },
    );
    let ratio = volume(&s) / v0;
    println!("laplacian 20×0.5 on R20 sphere (edge 1.5 mm): volume ratio {ratio:.4}");
    assert!(ratio < 0.98);
}

#[test]
fn brush_leaves_vertices_outside_unchanged() {
    let clean = icosphere(20.0, 4);
    let mut m = clean.clone();
    let mut noise = Noise(3);
    for p in &mut m.positions_mm {
        let s = 1.0 + 0.01 * noise.gauss();
        *p = [p[0] * s, p[1] * s, p[2] * s];
    }
    let params = BrushParams {
        centre_mm: [0.0, 0.0, 20.0],
        radius_mm: 8.0,
        ..Default::default()
    };
    let s = smooth_brush(&m, &params);
    let mut moved_inside = 0;
    for (i, (a, b)) in m.positions_mm.iter().zip(&s.positions_mm).enumerate() {
        let d = ((a[0]).powi(2) + a[1].powi(2) + (a[2] - 20.0).powi(2)).sqrt();
        if d >= 8.0 {
            assert_eq!(a, b, "vertex {i} outside the brush moved");
        } else if a != b {
            moved_inside += 1;
        }
    }
    assert!(moved_inside > 10);
}

fn bumped_sphere() -> (Mesh, impl Fn(&[f64; 3]) -> f64) {
    let mut m = icosphere(20.0, 5);
    let bump = |p: &[f64; 3]| {
        let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        let cosang = p[2] / r;
        let geo = 20.0 * cosang.clamp(-1.0, 1.0).acos(); // arc length from the pole, mm
        3.0 * (-(geo * geo) / (2.0 * 2.5 * 2.5)).exp()
    };
    for p in &mut m.positions_mm {
        let h = bump(p);
        let s = (20.0 + h) / 20.0;
        *p = [p[0] * s, p[1] * s, p[2] * s];
    }
    (m, bump)
}

#[test]
fn flatten_prominences_lowers_bump_and_keeps_rest_within_tolerance() {
    let (m, _) = bumped_sphere();
    let params = FlattenParams::default();
    let (s, rep) = flatten_prominences(&m, &params);
    let height = |x: &Mesh| {
        x.positions_mm
            .iter()
            .map(|p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt())
            .fold(0.0, f64::max)
            - 20.0
    };
    let (h0, h1) = (height(&m), height(&s));
    println!("flatten: bump {h0:.3} → {h1:.3} mm, {rep:?}");
    assert!(h1 < 0.4 * h0, "bump {h0} → {h1}");
    assert!(rep.max_other_move_mm <= params.tolerance_mm + 1e-12);
    for (a, b) in m.positions_mm.iter().zip(&s.positions_mm) {
        let r = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        if a[2] / r < 0.6 {
            // More than ~18 mm of arc from the bump's apex.
            let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
            assert!(d <= params.tolerance_mm + 1e-12, "far vertex moved {d}");
        }
    }
}

#[test]
fn gaussian_smoothing_reduces_noise() {
    let mut m = icosphere(20.0, 4);
    let mut noise = Noise(5);
    for p in &mut m.positions_mm {
        let s = 1.0 + 0.01 * noise.gauss();
        *p = [p[0] * s, p[1] * s, p[2] * s];
    }
    let e0 = radius_rms_error(&m, 20.0);
    let s = gaussian(
        &m,
        &GaussianParams {
            sigma_mm: 1.5,
            iterations: 1,
        },
    );
    // Gaussian smoothing shrinks by ~σ²/R; compare against the best-fit radius.
    let mean_r = s
        .positions_mm
        .iter()
        .map(|p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt())
        .sum::<f64>()
        / s.positions_mm.len() as f64;
    let e1 = radius_rms_error(&s, mean_r);
    println!("gaussian σ 1.5: radial RMS {e0:.3} → {e1:.3} mm (mean radius {mean_r:.3})");
    assert!(e1 < 0.6 * e0);
}

// ---------- remesh ----------

#[test]
fn remesh_sphere_meets_target_edge_and_bound() {
    let m = icosphere(20.0, 4); // edge ≈ 1.6 mm
    for target in [1.0, 2.5] {
        let params = RemeshParams {
            target_edge_mm: target,
            iterations: 5,
            max_deviation_mm: 0.1,
            ..Default::default()
        };
        let (out, rep) = remesh(&m, &params).expect("remesh");
        let me = mean_edge(&out);
        let dv = (volume(&out) - volume(&m)) / volume(&m);
        println!(
            "remesh sphere L={target}: {rep:?}, mean edge {me:.3}, volume {:.3} %",
            dv * 100.0
        );
        assert!((me - target).abs() <= 0.15 * target);
        assert!(closed_and_oriented(&out));
        assert!(volume(&out) > 0.0);
        assert!(rep.max_deviation_mm <= 0.1);
        assert!(dv.abs() < 0.01);
    }
}

#[test]
fn remesh_box_meets_target_edge_and_bound() {
    let m = box_mesh([40.0, 30.0, 20.0], [8, 6, 4]);
    assert!(closed_and_oriented(&m) && volume(&m) > 0.0);
    let params = RemeshParams {
        target_edge_mm: 2.0,
        iterations: 5,
        max_deviation_mm: 0.05,
        ..Default::default()
    };
    let (out, rep) = remesh(&m, &params).expect("remesh");
    let me = mean_edge(&out);
    let dv = (volume(&out) - volume(&m)) / volume(&m);
    println!(
        "remesh box L=2: {rep:?}, mean edge {me:.3}, volume {:.3} %",
        dv * 100.0
    );
    assert!((me - 2.0).abs() <= 0.3);
    assert!(closed_and_oriented(&out));
    assert!(dv.abs() < 0.01);
}

/// Upper part of a sphere (z > −5 mm): an open mesh with one boundary loop.
fn open_cap() -> Mesh {
    let s = icosphere(20.0, 4);
    let tris: Vec<[u32; 3]> = s
        .triangles
        .iter()
        .copied()
        .filter(|t| t.iter().all(|&v| s.positions_mm[v as usize][2] > -5.0))
        .collect();
    Mesh::new(s.positions_mm.clone(), tris)
}

fn boundary_positions(m: &Mesh) -> Vec<[f64; 3]> {
    let mut e: Vec<(u32, u32)> = m
        .triangles
        .iter()
        .flat_map(|t| (0..3).map(move |k| (t[k].min(t[(k + 1) % 3]), t[k].max(t[(k + 1) % 3]))))
        .collect();
    e.sort_unstable();
    let mut out = Vec::new();
    for (i, x) in e.iter().enumerate() {
        let dup = (i > 0 && e[i - 1] == *x) || (i + 1 < e.len() && e[i + 1] == *x);
        if !dup {
            out.push(m.positions_mm[x.0 as usize]);
            out.push(m.positions_mm[x.1 as usize]);
        }
    }
    out.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    out.dedup();
    out
}

#[test]
fn open_mesh_boundary_is_kept_by_remesh_and_decimate_and_smoothing() {
    let m = open_cap();
    let b0 = boundary_positions(&m);
    assert!(b0.len() > 10);
    let (r, _) = remesh(
        &m,
        &RemeshParams {
            target_edge_mm: 1.5,
            ..Default::default()
        },
    )
    .expect("remesh");
    // Boundary edges are only split: every original boundary vertex is still there.
    let b1 = boundary_positions(&r);
    assert!(b0.iter().all(|p| b1.contains(p)));
    let (d, _) = decimate(
        &m,
        &DecimateParams {
            target_triangles: 500,
            max_deviation_mm: 0.3,
        },
    )
    .expect("decimate");
    assert_eq!(boundary_positions(&d), b0);
    let t = taubin(&m, &TaubinParams::default());
    assert_eq!(boundary_positions(&t), b0);
}

#[test]
fn non_manifold_input_is_refused_with_a_message() {
    let mut m = icosphere(10.0, 1);
    let t0 = m.triangles[0];
    m.positions_mm.push([0.0, 0.0, 30.0]);
    let apex = (m.positions_mm.len() - 1) as u32;
    m.triangles.push([t0[0], t0[1], apex]); // third triangle on edge (t0[0], t0[1])
    let e = remesh(&m, &RemeshParams::default()).expect_err("non-manifold");
    assert!(e.to_string().contains("non-manifold"));
    let e = decimate(&m, &DecimateParams::default()).expect_err("non-manifold");
    assert!(e.to_string().contains("non-manifold"));
    // Smoothing keeps such vertices fixed instead of failing.
    let s = taubin(&m, &TaubinParams::default());
    assert_eq!(
        s.positions_mm[t0[0] as usize],
        m.positions_mm[t0[0] as usize]
    );
}

#[test]
fn remesh_refuses_when_bound_cannot_be_met() {
    let m = icosphere(20.0, 3);
    let err = remesh(
        &m,
        &RemeshParams {
            target_edge_mm: 8.0,
            iterations: 3,
            max_deviation_mm: 0.01,
            ..Default::default()
        },
    )
    .expect_err("too coarse");
    assert!(err.to_string().contains("bound"));
}

// ---------- decimate ----------

#[test]
fn decimate_torus_10k_to_1k() {
    let m = torus(30.0, 10.0, 100, 50); // 10 000 triangles
    assert_eq!(m.triangles.len(), 10_000);
    let params = DecimateParams {
        target_triangles: 1_000,
        max_deviation_mm: 0.6,
    };
    let (out, rep) = decimate(&m, &params).expect("decimate");
    let dv = (volume(&out) - volume(&m)) / volume(&m);
    println!("decimate torus: {rep:?}, volume {:.3} %", dv * 100.0);
    assert!(rep.reached_target);
    assert!(out.triangles.len() <= 1_000);
    assert!(closed_and_oriented(&out));
    assert!(dv.abs() < 0.02);
    assert!(
        rep.max_deviation_mm <= params.max_deviation_mm * 1.5,
        "{}",
        rep.max_deviation_mm
    );
}

#[test]
fn decimate_and_remesh_are_deterministic() {
    let m = bone_like(4);
    let p = DecimateParams {
        target_triangles: 1_500,
        max_deviation_mm: 0.5,
    };
    let a = decimate(&m, &p).expect("ok");
    let b = decimate(&m, &p).expect("ok");
    assert_eq!(a.0, b.0);
    let rp = RemeshParams {
        target_edge_mm: 1.5,
        max_deviation_mm: 0.3,
        ..Default::default()
    };
    assert_eq!(
        remesh(&m, &rp).expect("ok").0,
        remesh(&m, &rp).expect("ok").0
    );
}

#[test]
fn long_operations_report_progress_and_can_be_cancelled() {
    let m = bone_like(4);
    let mut seen = Vec::new();
    let mut record = |d: usize, t: usize| {
        seen.push((d, t));
        true
    };
    remesh_with_progress(
        &m,
        &RemeshParams {
            target_edge_mm: 1.5,
            max_deviation_mm: 0.3,
            ..Default::default()
        },
        &mut record,
    )
    .expect("ok");
    assert_eq!(seen.last().copied(), Some((6, 6)));
    let mut cancel = |_d: usize, _t: usize| false;
    assert_eq!(
        remesh_with_progress(&m, &RemeshParams::default(), &mut cancel).expect_err("cancel"),
        RemeshError::Cancelled
    );
    let mut cancel = |_d: usize, _t: usize| false;
    assert!(matches!(
        decimate_with_progress(
            &m,
            &DecimateParams {
                target_triangles: 100,
                max_deviation_mm: 1.0
            },
            &mut cancel
        ),
        Err(DecimateError::Cancelled)
    ));
    let mut cancel = |_d: usize, _t: usize| false;
    assert_eq!(
        register_with_progress(&m, &m, &RegisterParams::default(), &mut cancel),
        Err(RegisterError::Cancelled)
    );
}

// ---------- speed (ignored by default) ----------

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t0 = std::time::Instant::now();
    let r = f();
    println!("{label}: {:.3} s", t0.elapsed().as_secs_f64());
    r
}

#[test]
#[ignore]
fn speed_figures() {
    let big = bone_like(6); // 40 962 vertices
    let fixed = bone_like(7); // 163 842 vertices
    let moving = transform_mesh(&big, &rigid([0.3, -1.0, 0.5], 20.0, [5.0, -8.0, 10.0]));
    let reg = timed(
        "register 41k-vertex moving onto 164k-vertex fixed (all samples)",
        || {
            register(
                &fixed,
                &moving,
                &RegisterParams {
                    max_samples: 50_000,
                    ..Default::default()
                },
            )
            .expect("ok")
        },
    );
    println!("  iterations {}, rms {:.4}", reg.iterations, reg.rms_mm);
    let mut moving50 = transform_mesh(
        &bone_like(7),
        &rigid([0.3, -1.0, 0.5], 20.0, [5.0, -8.0, 10.0]),
    );
    let mut noise = Noise(99);
    for p in &mut moving50.positions_mm {
        for c in p.iter_mut() {
            *c += 0.05 * noise.gauss();
        }
    }
    let reg = timed(
        "register, 50k samples of 164k-vertex moving with 0.05 mm noise",
        || {
            register(
                &fixed,
                &moving50,
                &RegisterParams {
                    max_samples: 50_000,
                    ..Default::default()
                },
            )
            .expect("ok")
        },
    );
    println!("  iterations {}, rms {:.4}", reg.iterations, reg.rms_mm);

    let s8 = icosphere(50.0, 8);
    println!("taubin mesh: {} triangles", s8.triangles.len());
    timed("taubin 20 iterations uniform", || {
        taubin(&s8, &TaubinParams::default())
    });
    let s7 = icosphere(50.0, 7);
    timed(
        &format!(
            "taubin 20 iterations cotangent, {} triangles",
            s7.triangles.len()
        ),
        || {
            taubin(
                &s7,
                &TaubinParams {
                    weights: Weights::Cotangent,
                    ..Default::default()
                },
            )
        },
    );

    let s6 = bone_like(6);
    let l = mean_edge(&s6);
    let (out, rep) = timed(
        &format!(
            "remesh {} triangles to L = mean edge {l:.3} mm",
            s6.triangles.len()
        ),
        || {
            remesh(
                &s6,
                &RemeshParams {
                    target_edge_mm: l,
                    iterations: 5,
                    max_deviation_mm: 1.0,
                    ..Default::default()
                },
            )
            .expect("ok")
        },
    );
    println!("  {rep:?}, mean edge {:.3}", mean_edge(&out));

    let t = torus(30.0, 10.0, 300, 170);
    let (_, rep) = timed(
        &format!("decimate {} → 10 000 triangles", t.triangles.len()),
        || {
            decimate(
                &t,
                &DecimateParams {
                    target_triangles: 10_000,
                    max_deviation_mm: 0.5,
                },
            )
            .expect("ok")
        },
    );
    println!("  {rep:?}");
}
