//! Rigid registration of one surface onto another: principal-axes initialisation with
//! the sign (and roll) ambiguities tried, then trimmed point-to-plane ICP.
//!
//! Coordinate spaces: `fixed` and `moving` are each in their own mm space (usually both
//! patient LPS). The result `fixed_from_moving` maps a point of the moving space into
//! the fixed space (column vectors, homogeneous 4×4, rotation + translation in mm).
//! Use [`transform_mesh`] / [`transform_group`] to apply it — e.g. the registration of
//! the mirrored healthy calcaneus onto the affected calcaneus is applied to the mirrored
//! talus as well.
//!
//! Determinism: samples are every n-th vertex, nearest neighbours come from a kd-tree
//! with index tie-breaks, trimming sorts with index tie-breaks; no threads, no hashing.
//!
//! Speed: the nearest-neighbour search is hand-written here ([`NearTree`]) rather than
//! the generic kd-tree because ICP asks the same question 10⁶ times with a good guess —
//! each sample's nearest point of the previous iteration. Starting from that guess
//! prunes almost the whole tree; points are stored in tree order (no indirection) and
//! small leaves are scanned linearly. The answer is the exact nearest point with the
//! same (distance, index) tie-break, so results do not depend on the guess.

use nalgebra::{Matrix3, Matrix4, Matrix6, Rotation3, SymmetricEigen, Unit, Vector3, Vector6};

use super::topology::{cross, dist2, dot, mesh_is_valid, sub, tri_normal2, vertex_normals, V3};
use super::Mesh;

/// Parameters of [`register`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegisterParams {
    /// Upper bound on the number of moving vertices used as ICP samples (every n-th
    /// vertex is taken). Default 50 000.
    pub max_samples: usize,
    /// Samples used for the short ICP runs that choose among initial poses. Default 1 500.
    pub init_samples: usize,
    /// ICP iterations from each initial pose. Default 12.
    pub init_iterations: usize,
    /// Try extra rolls about the first principal axis (0°, 30°, … 150° on top of the four
    /// sign combinations) and the unrotated pose. Needed when the second and third
    /// principal moments are nearly equal. Default true.
    pub extra_rotations: bool,
    /// Maximum iterations of the final ICP. Default 60.
    pub max_iterations: usize,
    /// Fraction of the worst pairs (by distance) dropped in each ICP iteration,
    /// 0 ≤ trim < 1. Default 0.1.
    pub trim_fraction: f64,
    /// Convergence: stop when the update rotates less than this (radians)… Default 1e-9.
    pub min_rotation_rad: f64,
    /// …and translates less than this (mm). Default 1e-7.
    pub min_translation_mm: f64,
    /// …or when the RMS of the kept pairs changes by less than this fraction between two
    /// iterations (as open3d's `relative_rmse`). Trimmed ICP can trade pairs back and forth
    /// with tiny steps for many iterations; this stops it once that no longer improves the
    /// fit. Default 1e-6.
    pub min_relative_rms_change: f64,
    /// A moving sample whose nearest fixed vertex is within this distance counts
    /// towards [`Registration::overlap`] (mm). Default 1.0.
    pub overlap_distance_mm: f64,
}

impl Default for RegisterParams {
    fn default() -> Self {
        RegisterParams {
            max_samples: 50_000,
            init_samples: 1_500,
            init_iterations: 12,
            extra_rotations: true,
            max_iterations: 60,
            trim_fraction: 0.1,
            min_rotation_rad: 1e-6,
            min_translation_mm: 1e-4,
            min_relative_rms_change: 1e-6,
            overlap_distance_mm: 1.0,
        }
    }
}

/// Result of [`register`].
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// Maps moving-space points (mm) to fixed space (mm); a proper rigid transform.
    pub fixed_from_moving: Matrix4<f64>,
    /// RMS of the point-to-plane residuals of the kept (untrimmed) pairs, mm.
    pub rms_mm: f64,
    /// Fraction (0–1) of moving samples whose nearest fixed vertex lies within
    /// `overlap_distance_mm` after registration.
    pub overlap: f64,
    /// Iterations of the final ICP.
    pub iterations: usize,
}

/// Why a registration could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RegisterError {
    #[error("the {which} mesh has fewer than 4 vertices or no triangles; registration needs two surfaces")]
    TooSmall { which: &'static str },
    #[error("the {which} mesh has non-finite coordinates or out-of-range triangle indices; repair it first")]
    Invalid { which: &'static str },
    #[error("trim_fraction {0} must be in [0, 1)")]
    BadTrim(f64),
    #[error("registration was cancelled")]
    Cancelled,
    #[error("registration did not find enough point pairs (the surfaces do not overlap); check that both meshes are in mm and roughly the same bone")]
    NoPairs,
}

/// Registers `moving` onto `fixed` with [`RegisterParams::default`].
pub fn register_default(fixed: &Mesh, moving: &Mesh) -> Result<Registration, RegisterError> {
    register(fixed, moving, &RegisterParams::default())
}

/// Registers `moving` onto `fixed`; see the module docs.
pub fn register(
    fixed: &Mesh,
    moving: &Mesh,
    params: &RegisterParams,
) -> Result<Registration, RegisterError> {
    register_with_progress(fixed, moving, params, &mut crate::progress::NoProgress)
}

/// [`register`] reporting progress (one unit per initial pose tried, one for the final
/// ICP) and stopping with [`RegisterError::Cancelled`] when `progress` asks to.
pub fn register_with_progress(
    fixed: &Mesh,
    moving: &Mesh,
    params: &RegisterParams,
    progress: &mut dyn crate::progress::Progress,
) -> Result<Registration, RegisterError> {
    for (m, which) in [(fixed, "fixed"), (moving, "moving")] {
        if !mesh_is_valid(m) {
            return Err(RegisterError::Invalid { which });
        }
        if m.positions_mm.len() < 4 || m.triangles.is_empty() {
            return Err(RegisterError::TooSmall { which });
        }
    }
    if !(0.0..1.0).contains(&params.trim_fraction) {
        return Err(RegisterError::BadTrim(params.trim_fraction));
    }
    let target = Target::new(fixed, usize::MAX);
    // The pose search runs against a thinned copy of the fixed surface (cheap queries).
    let coarse = Target::new(fixed, params.init_samples.max(1) * 4);
    let samples = sample_vertices(moving, params.max_samples.max(1));
    let init_samples = sample_vertices(moving, params.init_samples.max(1));

    // Principal frames.
    let (cf, ef) = principal_frame(fixed);
    let (cm, em) = principal_frame(moving);
    let mut inits: Vec<Matrix4<f64>> = Vec::new();
    let signs = [
        [1.0, 1.0, 1.0],
        [1.0, -1.0, -1.0],
        [-1.0, 1.0, -1.0],
        [-1.0, -1.0, 1.0],
    ];
    let rolls: Vec<f64> = if params.extra_rotations {
        (0..6).map(|k| k as f64 * 30f64.to_radians()).collect()
    } else {
        vec![0.0]
    };
    for s in signs {
        for &roll in &rolls {
            let roll_m =
                Rotation3::from_axis_angle(&Unit::new_unchecked(Vector3::x()), roll).into_inner();
            let r = ef * Matrix3::from_diagonal(&Vector3::from(s)) * roll_m * em.transpose();
            inits.push(rigid(r, cf - r * cm));
        }
    }
    if params.extra_rotations {
        inits.push(rigid(Matrix3::identity(), cf - cm));
    }

    let mut best: Option<(f64, Matrix4<f64>)> = None;
    let total = inits.len() + 1;
    for (k, init) in inits.into_iter().enumerate() {
        if !progress.report(k, total) {
            return Err(RegisterError::Cancelled);
        }
        let res = icp(&coarse, &init_samples, init, params.init_iterations, params);
        if let Some((t, rms, _, _)) = res {
            let better = match best {
                None => true,
                Some((b, _)) => rms < b,
            };
            if better {
                best = Some((rms, t));
            }
        }
    }
    let start = best.ok_or(RegisterError::NoPairs)?.1;
    if !progress.report(total - 1, total) {
        return Err(RegisterError::Cancelled);
    }
    let (t, rms, iterations, _) = icp(&target, &samples, start, params.max_iterations, params)
        .ok_or(RegisterError::NoPairs)?;
    // Overlap over all samples.
    let mut within = 0usize;
    let lim2 = params.overlap_distance_mm * params.overlap_distance_mm;
    for &p in &samples {
        let q = apply(&t, p);
        if let Some((_, d2)) = target.tree.nearest(q, u32::MAX, q) {
            if d2 <= lim2 {
                within += 1;
            }
        }
    }
    progress.report(total, total);
    Ok(Registration {
        fixed_from_moving: t,
        rms_mm: rms,
        overlap: within as f64 / samples.len().max(1) as f64,
        iterations,
    })
}

/// Trimmed point-to-plane ICP of `moving` onto `fixed` from the pose `init` only — no
/// pose search. For a caller that already has a good start (a previous registration, or
/// two surfaces known to be close, as in the benchmark against open3d).
pub fn refine(
    fixed: &Mesh,
    moving: &Mesh,
    init: &Matrix4<f64>,
    params: &RegisterParams,
) -> Result<Registration, RegisterError> {
    for (m, which) in [(fixed, "fixed"), (moving, "moving")] {
        if !mesh_is_valid(m) {
            return Err(RegisterError::Invalid { which });
        }
        if m.positions_mm.len() < 4 || m.triangles.is_empty() {
            return Err(RegisterError::TooSmall { which });
        }
    }
    if !(0.0..1.0).contains(&params.trim_fraction) {
        return Err(RegisterError::BadTrim(params.trim_fraction));
    }
    let target = Target::new(fixed, usize::MAX);
    let samples = sample_vertices(moving, params.max_samples.max(1));
    let (t, rms, iterations, _) = icp(&target, &samples, *init, params.max_iterations, params)
        .ok_or(RegisterError::NoPairs)?;
    let lim2 = params.overlap_distance_mm * params.overlap_distance_mm;
    let within = samples
        .iter()
        .filter(|&&p| {
            let q = apply(&t, p);
            target
                .tree
                .nearest(q, u32::MAX, q)
                .is_some_and(|(_, d2)| d2 <= lim2)
        })
        .count();
    Ok(Registration {
        fixed_from_moving: t,
        rms_mm: rms,
        overlap: within as f64 / samples.len().max(1) as f64,
        iterations,
    })
}

/// Applies a 4×4 transform to every vertex. When the linear part has a negative
/// determinant (a mirror), the winding is reversed so the result stays outward-facing.
pub fn transform_mesh(mesh: &Mesh, m: &Matrix4<f64>) -> Mesh {
    let positions_mm = mesh.positions_mm.iter().map(|&p| apply(m, p)).collect();
    let det = m.fixed_view::<3, 3>(0, 0).determinant();
    let triangles = if det < 0.0 {
        mesh.triangles.iter().map(|t| [t[0], t[2], t[1]]).collect()
    } else {
        mesh.triangles.clone()
    };
    Mesh {
        positions_mm,
        triangles,
    }
}

/// Applies the same transform to each mesh of a group (e.g. mirrored calcaneus and talus).
pub fn transform_group(meshes: &[Mesh], m: &Matrix4<f64>) -> Vec<Mesh> {
    meshes.iter().map(|x| transform_mesh(x, m)).collect()
}

fn rigid(r: Matrix3<f64>, t: Vector3<f64>) -> Matrix4<f64> {
    let mut m = Matrix4::identity();
    m.fixed_view_mut::<3, 3>(0, 0).copy_from(&r);
    m.fixed_view_mut::<3, 1>(0, 3).copy_from(&t);
    m
}

#[inline]
fn apply(m: &Matrix4<f64>, p: V3) -> V3 {
    [
        m[(0, 0)] * p[0] + m[(0, 1)] * p[1] + m[(0, 2)] * p[2] + m[(0, 3)],
        m[(1, 0)] * p[0] + m[(1, 1)] * p[1] + m[(1, 2)] * p[2] + m[(1, 3)],
        m[(2, 0)] * p[0] + m[(2, 1)] * p[1] + m[(2, 2)] * p[2] + m[(2, 3)],
    ]
}

/// Every n-th vertex so that at most `max` are taken (vertices used by triangles only).
fn sample_vertices(mesh: &Mesh, max: usize) -> Vec<V3> {
    let mut used = vec![false; mesh.positions_mm.len()];
    for t in &mesh.triangles {
        for &v in t {
            used[v as usize] = true;
        }
    }
    let pts: Vec<V3> = mesh
        .positions_mm
        .iter()
        .zip(&used)
        .filter(|(_, &u)| u)
        .map(|(p, _)| *p)
        .collect();
    let step = pts.len().div_ceil(max).max(1);
    pts.into_iter().step_by(step).collect()
}

/// Area-weighted centroid and principal axes (columns, descending moments, right-handed)
/// of the surface, from the exact second moments of each triangle.
fn principal_frame(mesh: &Mesh) -> (Vector3<f64>, Matrix3<f64>) {
    let p = &mesh.positions_mm;
    let mut area = 0.0;
    let mut c = Vector3::zeros();
    for &t in &mesh.triangles {
        let a = 0.5 * {
            let n = tri_normal2(p, t);
            dot(n, n).sqrt()
        };
        let g = (Vector3::from(p[t[0] as usize])
            + Vector3::from(p[t[1] as usize])
            + Vector3::from(p[t[2] as usize]))
            / 3.0;
        area += a;
        c += g * a;
    }
    if area <= 0.0 {
        return (Vector3::zeros(), Matrix3::identity());
    }
    c /= area;
    let mut cov = Matrix3::zeros();
    for &t in &mesh.triangles {
        let n = tri_normal2(p, t);
        let a = 0.5 * dot(n, n).sqrt();
        let v = t.map(|i| Vector3::from(p[i as usize]) - c);
        // Second moment of a triangle: A/12 (Σ vi viᵀ + (Σ vi)(Σ vi)ᵀ).
        let s = v[0] + v[1] + v[2];
        let m = v[0] * v[0].transpose()
            + v[1] * v[1].transpose()
            + v[2] * v[2].transpose()
            + s * s.transpose();
        cov += m * (a / 12.0);
    }
    let eig = SymmetricEigen::new(cov / area);
    let mut order = [0usize, 1, 2];
    order.sort_by(|&i, &j| {
        eig.eigenvalues[j]
            .total_cmp(&eig.eigenvalues[i])
            .then(i.cmp(&j))
    });
    let mut e = Matrix3::zeros();
    for (k, &i) in order.iter().enumerate() {
        let mut col = eig.eigenvectors.column(i).into_owned();
        // Deterministic sign: largest component positive.
        let imax = col.iamax();
        if col[imax] < 0.0 {
            col = -col;
        }
        e.set_column(k, &col);
    }
    if e.determinant() < 0.0 {
        let c2 = -e.column(2).into_owned();
        e.set_column(2, &c2);
    }
    (c, e)
}

struct Target {
    pts: Vec<V3>,
    normals: Vec<V3>,
    tree: NearTree,
}

impl Target {
    /// At most `max_points` vertices (every n-th) of the mesh, with their normals.
    fn new(m: &Mesh, max_points: usize) -> Self {
        let normals = vertex_normals(&m.positions_mm, &m.triangles);
        // Only vertices used by triangles (with a normal) take part.
        let keep: Vec<usize> = (0..m.positions_mm.len())
            .filter(|&i| dot(normals[i], normals[i]) > 0.0)
            .collect();
        let step = keep.len().div_ceil(max_points.max(1)).max(1);
        let keep: Vec<usize> = keep.into_iter().step_by(step).collect();
        let pts: Vec<V3> = keep.iter().map(|&i| m.positions_mm[i]).collect();
        let normals: Vec<V3> = keep.iter().map(|&i| normals[i]).collect();
        let tree = NearTree::new(&pts);
        Target { pts, normals, tree }
    }
}

/// Ranges of at most this many points are leaves, scanned linearly.
const LEAF: usize = 8;

/// Exact nearest-neighbour search over points (see the module docs, "Speed").
///
/// Implicit median-split tree: the node of range `lo..hi` (in tree order) is the point
/// at `mid = lo + (hi − lo) / 2`, split along `axis[mid]`; ranges of ≤ [`LEAF`] points
/// are leaves.
struct NearTree {
    /// Points in tree order.
    pts: Vec<V3>,
    /// Original index of each point in tree order.
    ids: Vec<u32>,
    axis: Vec<u8>,
}

impl NearTree {
    fn new(pts: &[V3]) -> Self {
        let mut idx: Vec<u32> = (0..pts.len() as u32).collect();
        let mut axis = vec![0u8; pts.len()];
        Self::build(pts, &mut idx, &mut axis);
        NearTree {
            pts: idx.iter().map(|&i| pts[i as usize]).collect(),
            ids: idx,
            axis,
        }
    }

    fn build(pts: &[V3], idx: &mut [u32], axis: &mut [u8]) {
        if idx.len() <= LEAF {
            return;
        }
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &i in idx.iter() {
            let p = pts[i as usize];
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let mut ax = 0;
        for k in 1..3 {
            if hi[k] - lo[k] > hi[ax] - lo[ax] {
                ax = k;
            }
        }
        let mid = idx.len() / 2;
        idx.select_nth_unstable_by(mid, |&a, &b| {
            pts[a as usize][ax]
                .total_cmp(&pts[b as usize][ax])
                .then(a.cmp(&b))
        });
        axis[mid] = ax as u8;
        let (li, ri) = idx.split_at_mut(mid);
        let (la, ra) = axis.split_at_mut(mid);
        Self::build(pts, li, la);
        Self::build(pts, &mut ri[1..], &mut ra[1..]);
    }

    /// Original index of the nearest point to `q` and its squared distance, the smallest
    /// index among equally near points. `guess` (an original index, or `u32::MAX`) with
    /// its point `guess_pt` only speeds the search up.
    #[inline]
    fn nearest(&self, q: V3, guess: u32, guess_pt: V3) -> Option<(usize, f64)> {
        if self.pts.is_empty() {
            return None;
        }
        let mut best = if guess == u32::MAX {
            (u32::MAX, f64::INFINITY)
        } else {
            (guess, dist2(q, guess_pt))
        };
        self.nn(q, 0, self.pts.len(), &mut best);
        Some((best.0 as usize, best.1))
    }

    fn nn(&self, q: V3, lo: usize, hi: usize, best: &mut (u32, f64)) {
        if hi - lo <= LEAF {
            for m in lo..hi {
                let d = dist2(q, self.pts[m]);
                let id = self.ids[m];
                if d < best.1 || (d == best.1 && id < best.0) {
                    *best = (id, d);
                }
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let p = self.pts[mid];
        let d = dist2(q, p);
        let id = self.ids[mid];
        if d < best.1 || (d == best.1 && id < best.0) {
            *best = (id, d);
        }
        let ax = self.axis[mid] as usize;
        let diff = q[ax] - p[ax];
        let (first, second) = if diff < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        if first.0 < first.1 {
            self.nn(q, first.0, first.1, best);
        }
        if second.0 < second.1 && diff * diff <= best.1 {
            self.nn(q, second.0, second.1, best);
        }
    }
}

/// Trimmed point-to-plane ICP from `init`. Returns (transform, rms of kept residuals,
/// iterations, kept pairs).
fn icp(
    target: &Target,
    samples: &[V3],
    init: Matrix4<f64>,
    max_iter: usize,
    params: &RegisterParams,
) -> Option<(Matrix4<f64>, f64, usize, usize)> {
    let mut t = init;
    // Per sample: transformed point, nearest target index (the next iteration's guess).
    let mut moved: Vec<V3> = vec![[0.0; 3]; samples.len()];
    let mut nearest: Vec<u32> = vec![u32::MAX; samples.len()];
    // Sort keys: (squared distance bits, sample). Distances are ≥ 0, so their bit
    // patterns order like the numbers and ties fall back to the sample index.
    let mut order: Vec<(u64, u32)> = Vec::with_capacity(samples.len());
    let mut pairs: Vec<(f64, u32, V3, V3, V3)> = Vec::with_capacity(samples.len());
    let mut rms = f64::INFINITY;
    let mut iters = 0;
    for it in 0..=max_iter {
        order.clear();
        for (i, &s) in samples.iter().enumerate() {
            let p = apply(&t, s);
            moved[i] = p;
            let g = nearest[i];
            let gp = if g == u32::MAX {
                p
            } else {
                target.pts[g as usize]
            };
            if let Some((j, d2)) = target.tree.nearest(p, g, gp) {
                nearest[i] = j as u32;
                order.push(((d2 + 0.0).to_bits(), i as u32));
            }
        }
        if order.len() < 6 {
            return None;
        }
        order.sort_unstable();
        let keep = (((1.0 - params.trim_fraction) * order.len() as f64).round() as usize)
            .clamp(6, order.len());
        pairs.clear();
        pairs.extend(order[..keep].iter().map(|&(d2, i)| {
            let j = nearest[i as usize] as usize;
            (
                f64::from_bits(d2),
                i,
                moved[i as usize],
                target.pts[j],
                target.normals[j],
            )
        }));
        let kept = &pairs[..];
        let mut ss = 0.0;
        let mut centre = [0.0; 3];
        for &(_, _, p, q, n) in kept {
            let r = dot(sub(p, q), n);
            ss += r * r;
            for k in 0..3 {
                centre[k] += p[k];
            }
        }
        let previous_rms = rms;
        rms = (ss / keep as f64).sqrt();
        if it == max_iter || (previous_rms - rms).abs() <= params.min_relative_rms_change * rms {
            break;
        }
        let centre = centre.map(|c| c / keep as f64);
        // Linearised point-to-plane: minimise Σ ((p' + ω × p' + τ - q) · n)², p' = p - centre.
        let mut a = Matrix6::<f64>::zeros();
        let mut b = Vector6::<f64>::zeros();
        for &(_, _, p, q, n) in kept {
            let pc = sub(p, centre);
            let c = cross(pc, n);
            let j = Vector6::new(c[0], c[1], c[2], n[0], n[1], n[2]);
            let r = dot(sub(p, q), n);
            a += j * j.transpose();
            b += j * r;
        }
        let x = match a.cholesky() {
            Some(ch) => ch.solve(&(-b)),
            None => match a.try_inverse() {
                Some(inv) => inv * (-b),
                None => break,
            },
        };
        let w = Vector3::new(x[0], x[1], x[2]);
        let tau = Vector3::new(x[3], x[4], x[5]);
        let rot = Rotation3::new(w).into_inner();
        let c = Vector3::from(centre);
        // p ↦ R (p - c) + c + τ
        let step = rigid(rot, c + tau - rot * c);
        t = step * t;
        iters = it + 1;
        if w.norm() < params.min_rotation_rad && tau.norm() < params.min_translation_mm {
            break;
        }
    }
    // Re-orthonormalise the rotation part (accumulated rounding).
    let r = t.fixed_view::<3, 3>(0, 0).into_owned();
    let svd = r.svd(true, true);
    if let (Some(u), Some(vt)) = (svd.u, svd.v_t) {
        let mut rr = u * vt;
        if rr.determinant() < 0.0 {
            let mut u2 = u;
            let c2 = -u2.column(2).into_owned();
            u2.set_column(2, &c2);
            rr = u2 * vt;
        }
        t.fixed_view_mut::<3, 3>(0, 0).copy_from(&rr);
    }
    Some((t, rms, iters, order.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::topology::testutil::icosphere;

    #[test]
    fn identity_registration_of_a_mesh_with_itself() {
        let mut m = icosphere(10.0, 3);
        for p in &mut m.positions_mm {
            p[0] *= 2.0;
            p[1] *= 1.3;
            if p[2] > 8.0 {
                p[0] += 2.0;
            }
        }
        let r = register(&m, &m, &RegisterParams::default()).expect("registers");
        assert!(
            (r.fixed_from_moving - Matrix4::identity()).abs().max() < 1e-6,
            "{}",
            r.fixed_from_moving
        );
        assert!(r.rms_mm < 1e-6);
        assert!((r.overlap - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_empty_and_nan() {
        let m = icosphere(10.0, 1);
        assert!(matches!(
            register(&Mesh::default(), &m, &RegisterParams::default()),
            Err(RegisterError::TooSmall { .. })
        ));
        let mut bad = m.clone();
        bad.positions_mm[0][0] = f64::NAN;
        assert!(matches!(
            register(&m, &bad, &RegisterParams::default()),
            Err(RegisterError::Invalid { .. })
        ));
    }

    #[test]
    fn refine_recovers_a_small_offset_without_a_pose_search() {
        let mut fixed = icosphere(10.0, 4);
        for p in &mut fixed.positions_mm {
            p[0] *= 2.0;
            p[1] *= 1.3;
            if p[2] > 8.0 {
                p[0] += 2.0;
            }
        }
        let truth = rigid(
            Rotation3::from_euler_angles(0.03, -0.02, 0.04).into_inner(),
            Vector3::new(0.8, -0.5, 0.3),
        );
        let moving = transform_mesh(&fixed, &truth.try_inverse().expect("rigid"));
        let r = refine(
            &fixed,
            &moving,
            &Matrix4::identity(),
            &RegisterParams::default(),
        )
        .expect("refines");
        let error = (r.fixed_from_moving - truth).abs().max();
        assert!(error < 1e-3, "error {error}, {} iterations", r.iterations);
        assert!(r.iterations < RegisterParams::default().max_iterations);
        assert!(r.overlap > 0.99);
    }
}
