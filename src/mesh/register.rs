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
//! Determinism: samples are every n-th vertex, nearest neighbours are exact with index
//! tie-breaks ([`super::kdtree`]), trimming selects by (distance, sample index) and every
//! sum runs in sample order; no threads, no hashing.
//!
//! Speed: ICP asks for each sample's nearest fixed point in every iteration. Three things
//! keep that cheap. (1) Coarse to fine ([`RegisterParams::coarse_samples`]): the large
//! early steps are made with every n-th sample only, then all samples finish from there.
//! (2) Each sample keeps its few nearest points with the distance of the next one
//! ([`Candidates`]): once ICP's steps are small, that proves the nearest point without
//! searching the tree. (3) The k-d tree ([`super::kdtree`]) starts each query in the
//! query's own leaf. The answers are exactly those of a full search.
//!
//! Convergence: as open3d's `relative_rmse`, ICP stops when the RMS of the kept pairs
//! changes by less than [`RegisterParams::min_relative_rms_change`]; being trimmed, it
//! also stops when that RMS rises ([`RegisterParams::stop_when_rms_rises`]) and keeps the
//! pose before, since pairs trading places at the trim boundary keep the RMS moving by
//! ~10⁻⁵ of itself long after the pose has settled.

use nalgebra::{Matrix3, Matrix4, Matrix6, Rotation3, SymmetricEigen, Unit, Vector3, Vector6};

use super::kdtree::{KdTree, Knn};
use super::topology::{cross, dist2, dot, mesh_is_valid, sub, tri_normal2, vertex_normals, V3};
use super::Mesh;

/// Parameters of [`register`]. Design ops pin the whole struct (`design::meshes`), so a
/// field added later needs a serde default that means the behaviour before it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterParams {
    /// Upper bound on the number of moving vertices used as ICP samples (every n-th
    /// vertex is taken). Default 50 000.
    pub max_samples: usize,
    /// Samples used for the short ICP runs that choose among initial poses. Default 1 500.
    pub init_samples: usize,
    /// ICP iterations from each initial pose (that survives the pruning of
    /// [`RegisterParams::pose_rounds`]). Default 16 (4 per round).
    pub init_iterations: usize,
    /// Rounds of successive halving in the initial-pose search. Every pose starts; round
    /// r of R runs its share of `init_iterations` on every 2^(R−1−r)-th of the
    /// `init_samples`, and after each round but the last only the best
    /// ⌈n / [`RegisterParams::pose_reduction`]⌉ poses (by trimmed RMS, ties to the earlier
    /// pose) go on, from where they got. A pose that reaches the end has had all
    /// `init_iterations`, the last round on all `init_samples`. 1 = every pose runs all
    /// iterations on all samples (the search before this option). Default 4: the first
    /// round, on every 8th sample, ranks all poses at half the cost of a first round on
    /// every 4th (and with [`RegisterParams::thin_pose_target`] against an 8 times
    /// sparser surface); on the bench's talus the whole registration then costs 22 %
    /// fewer instructions than with 3 rounds of 4 iterations, for the same fit.
    #[serde(default = "one")]
    pub pose_rounds: usize,
    /// Poses kept after a round of the pose search: the best ⌈n / this⌉. Default 3.
    #[serde(default = "one")]
    pub pose_reduction: usize,
    /// Each round of the pose search matches against the fixed surface thinned to 4 of its
    /// vertices per sample of that round, instead of 4 per sample of the last round in
    /// every round: the early rounds, on few samples from poses that are mostly far off,
    /// then search a sparser tree (a query far from the surface visits far fewer leaves).
    /// Default true; false (the serde default, not written) is the search before this
    /// option, so settings pinned before it keep their JSON.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thin_pose_target: bool,
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
    /// Stop as soon as an iteration raises the trimmed RMS, and keep the pose before it.
    /// Each exact trimmed-ICP iteration lowers the trimmed RMS (Chetverikov et al. 2005);
    /// once it rises, what is left is pairs trading places at the trim boundary and
    /// matches jumping between neighbouring vertices (changes of ~10⁻⁵ of the RMS), not
    /// progress. Default true.
    pub stop_when_rms_rises: bool,
    /// The final ICP first runs on every n-th sample, at most this many, untrimmed and
    /// then trimmed, each until it converges, and then trimmed on all samples (with fewer
    /// than twice this many samples: untrimmed, then trimmed, on all). The large early
    /// steps are made on few points, and the full set starts close enough that most of its nearest points
    /// are proved without a tree search; and trimming starts from a pose where the pairs
    /// it drops are those that do not fit rather than those far away at the start (from a
    /// poor start the trim locks in a worse fit: on the bench's mirrored talus, trimmed RMS
    /// 0.458 mm instead of 0.437 mm). 0 = no such phase (trimmed throughout). Default
    /// 4 000.
    pub coarse_samples: usize,
    /// A moving sample whose nearest fixed vertex is within this distance counts
    /// towards [`Registration::overlap`] (mm). Default 1.0.
    pub overlap_distance_mm: f64,
}

impl Default for RegisterParams {
    fn default() -> Self {
        RegisterParams {
            max_samples: 50_000,
            init_samples: 1_500,
            init_iterations: 16,
            pose_rounds: 4,
            pose_reduction: 3,
            thin_pose_target: true,
            extra_rotations: true,
            max_iterations: 60,
            trim_fraction: 0.1,
            min_rotation_rad: 1e-6,
            min_translation_mm: 1e-4,
            min_relative_rms_change: 1e-6,
            stop_when_rms_rises: true,
            coarse_samples: 4_000,
            overlap_distance_mm: 1.0,
        }
    }
}

/// Serde default of the pose-search fields: the search before they existed (every pose
/// runs every iteration).
fn one() -> usize {
    1
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
    /// Pose updates of the final ICP (coarse and full phases).
    pub iterations: usize,
    /// Of which on the coarse subset of the samples ([`RegisterParams::coarse_samples`]).
    pub coarse_iterations: usize,
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
    let surface = FixedSurface::new(fixed);
    let target = surface.target(usize::MAX);
    // Both sample sets come from one list of the moving mesh's used vertices.
    let used = used_vertices(moving);
    let samples = every_nth(&used, params.max_samples);
    let init_samples = every_nth(&used, params.init_samples);

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

    let (start, total) = pose_search(&surface, &init_samples, inits, params, progress)?;
    let r = icp(
        &target,
        &samples,
        start,
        params.max_iterations,
        params.coarse_samples,
        params,
        Some(params.overlap_distance_mm),
    )
    .ok_or(RegisterError::NoPairs)?;
    progress.report(total, total);
    Ok(Registration {
        fixed_from_moving: r.t,
        rms_mm: r.rms,
        overlap: r.overlap,
        iterations: r.iterations,
        coarse_iterations: r.coarse_iterations,
    })
}

/// The initial-pose search: short trimmed ICP runs from every pose in `inits` against
/// thinned copies of the `fixed` surface (cheap queries; see
/// [`RegisterParams::thin_pose_target`]), pruned by successive halving
/// ([`RegisterParams::pose_rounds`]); the best pose found (lowest trimmed RMS, the
/// earlier pose on a tie) and the progress total: one unit per pose run, one more for the
/// final ICP.
fn pose_search(
    fixed: &FixedSurface,
    samples: &[V3],
    inits: Vec<Matrix4<f64>>,
    params: &RegisterParams,
    progress: &mut dyn crate::progress::Progress,
) -> Result<(Matrix4<f64>, usize), RegisterError> {
    let rounds = params.pose_rounds.clamp(1, 8);
    let reduction = params.pose_reduction.max(1);
    // Poses alive: (pose index, pose, trimmed RMS of its last run).
    let mut alive: Vec<(usize, Matrix4<f64>, f64)> = inits
        .into_iter()
        .enumerate()
        .map(|(k, t)| (k, t, f64::INFINITY))
        .collect();
    let mut runs = 0;
    let mut n = alive.len();
    for _ in 0..rounds {
        runs += n;
        n = n.div_ceil(reduction);
    }
    let total = runs + 1;
    let per_round = params.init_iterations.div_ceil(rounds);
    let mut done = 0;
    // Vertices of the thinned fixed surface for the samples of a round with this stride.
    let target_points = |stride: usize| {
        let points = params.init_samples.max(1) * 4;
        if params.thin_pose_target {
            points.div_ceil(stride)
        } else {
            points
        }
    };
    let mut target = fixed.target(target_points(1 << (rounds - 1)));
    for round in 0..rounds {
        let last = round + 1 == rounds;
        let stride = 1usize << (rounds - 1 - round);
        let subset: Vec<V3> = samples.iter().step_by(stride).copied().collect();
        if round > 0 && params.thin_pose_target {
            target = fixed.target(target_points(stride));
        }
        let iterations = if last {
            params
                .init_iterations
                .saturating_sub(per_round * (rounds - 1))
        } else {
            per_round.min(params.init_iterations)
        };
        for pose in &mut alive {
            if !progress.report(done, total) {
                return Err(RegisterError::Cancelled);
            }
            done += 1;
            pose.2 = match icp(&target, &subset, pose.1, iterations, 0, params, None) {
                Some(r) => {
                    pose.1 = r.t;
                    r.rms
                }
                None => f64::NAN,
            };
        }
        if !last {
            alive.retain(|p| !p.2.is_nan());
            alive.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
            alive.truncate(alive.len().div_ceil(reduction));
        }
    }
    let mut best: Option<(f64, Matrix4<f64>)> = None;
    alive.sort_by_key(|p| p.0);
    for (_, t, rms) in alive {
        // A run without pairs (NaN) is never better; ties keep the earlier pose.
        if rms.is_nan() {
            continue;
        }
        if best.is_none_or(|(b, _)| rms < b) {
            best = Some((rms, t));
        }
    }
    if !progress.report(total - 1, total) {
        return Err(RegisterError::Cancelled);
    }
    Ok((best.ok_or(RegisterError::NoPairs)?.1, total))
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
    let target = FixedSurface::new(fixed).target(usize::MAX);
    let samples = sample_vertices(moving, params.max_samples.max(1));
    let r = icp(
        &target,
        &samples,
        *init,
        params.max_iterations,
        params.coarse_samples,
        params,
        Some(params.overlap_distance_mm),
    )
    .ok_or(RegisterError::NoPairs)?;
    Ok(Registration {
        fixed_from_moving: r.t,
        rms_mm: r.rms,
        overlap: r.overlap,
        iterations: r.iterations,
        coarse_iterations: r.coarse_iterations,
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
    every_nth(&used_vertices(mesh), max)
}

/// Positions of the vertices used by triangles, in vertex order.
fn used_vertices(mesh: &Mesh) -> Vec<V3> {
    let mut used = vec![false; mesh.positions_mm.len()];
    for t in &mesh.triangles {
        for &v in t {
            used[v as usize] = true;
        }
    }
    mesh.positions_mm
        .iter()
        .zip(&used)
        .filter(|(_, &u)| u)
        .map(|(p, _)| *p)
        .collect()
}

/// Every n-th point of `pts` so that at most `max` (at least 1) are taken.
fn every_nth(pts: &[V3], max: usize) -> Vec<V3> {
    let step = pts.len().div_ceil(max.max(1)).max(1);
    pts.iter().step_by(step).copied().collect()
}

/// Area-weighted centroid and principal axes (columns, descending moments, right-handed)
/// of the surface, from the exact second moments of each triangle.
fn principal_frame(mesh: &Mesh) -> (Vector3<f64>, Matrix3<f64>) {
    let p = &mesh.positions_mm;
    let areas: Vec<f64> = mesh
        .triangles
        .iter()
        .map(|&t| {
            let n = tri_normal2(p, t);
            0.5 * dot(n, n).sqrt()
        })
        .collect();
    let mut area = 0.0;
    let mut c = Vector3::zeros();
    for (&t, &a) in mesh.triangles.iter().zip(&areas) {
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
    let centre = [c.x, c.y, c.z];
    // Upper triangle of Σ A/12 (Σ vi viᵀ + (Σ vi)(Σ vi)ᵀ), each entry summed in the same
    // order as the matrix expression (the lower triangle is the same products).
    const UPPER: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    let mut upper = [0.0; 6];
    for (&t, &a) in mesh.triangles.iter().zip(&areas) {
        let v = t.map(|i| sub(p[i as usize], centre));
        let s = [0, 1, 2].map(|k| v[0][k] + v[1][k] + v[2][k]);
        let w = a / 12.0;
        for (e, &(i, j)) in upper.iter_mut().zip(&UPPER) {
            *e += (v[0][i] * v[0][j] + v[1][i] * v[1][j] + v[2][i] * v[2][j] + s[i] * s[j]) * w;
        }
    }
    let mut cov = Matrix3::zeros();
    for (&e, &(i, j)) in upper.iter().zip(&UPPER) {
        cov[(i, j)] = e;
        cov[(j, i)] = e;
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

/// The fixed surface as ICP sees it: points in kd-tree order with their unit normals.
struct Target {
    tree: KdTree,
    /// `normals[slot]` for `tree.points()[slot]`.
    normals: Vec<V3>,
}

/// The fixed mesh with what every [`Target`] over it needs, computed once.
struct FixedSurface<'a> {
    positions: &'a [V3],
    /// Vertex normals of the mesh.
    normals: Vec<V3>,
    /// Vertices that take part: those used by triangles (with a normal).
    usable: Vec<usize>,
}

impl<'a> FixedSurface<'a> {
    fn new(m: &'a Mesh) -> Self {
        let normals = vertex_normals(&m.positions_mm, &m.triangles);
        let usable = (0..m.positions_mm.len())
            .filter(|&i| dot(normals[i], normals[i]) > 0.0)
            .collect();
        FixedSurface {
            positions: &m.positions_mm,
            normals,
            usable,
        }
    }

    /// At most `max_points` of the usable vertices (every n-th), with their normals.
    fn target(&self, max_points: usize) -> Target {
        let step = self.usable.len().div_ceil(max_points.max(1)).max(1);
        let keep: Vec<usize> = self.usable.iter().step_by(step).copied().collect();
        let pts: Vec<V3> = keep.iter().map(|&i| self.positions[i]).collect();
        let tree = KdTree::new(&pts);
        let normals = tree
            .ids()
            .iter()
            .map(|&k| self.normals[keep[k as usize]])
            .collect();
        Target { tree, normals }
    }
}

/// Nearest points kept per ICP sample, plus one: see [`Candidates`].
const KNN: usize = 5;

/// A sample's `KNN − 1` nearest target points at the position `at` where they were last
/// searched, and the distance `next_mm` of the next nearest. Every other target point is
/// at least `next_mm` from `at`, so after the sample moves by δ it is at least
/// `next_mm − δ` away; when the best candidate is nearer than that, it is the exact
/// nearest point (same tie-break) and the tree is not searched. ICP's steps shrink fast,
/// so most queries after the first few iterations are answered this way.
#[derive(Clone, Copy)]
struct Candidates {
    at: V3,
    next_mm: f64,
    slots: [u32; KNN - 1],
    len: usize,
}

/// Margin (mm) for rounding in the distance comparison that skips a search; far above
/// the rounding of squared distances of mm coordinates, far below any real gap.
const SKIP_MARGIN_MM: f64 = 1e-9;

/// Samples that moved more than this in the last ICP step (mm) are searched for their
/// nearest point only; slower ones keep candidates for the next iterations. Only the
/// speed depends on it (both searches are exact): at 0.1 mm the first passes on all
/// samples after the coarse phase searched most samples twice (nearest, then the
/// candidates), ~10 % more work for untrimmed ICP on the bench's talus.
const STEP_FOR_CANDIDATES_MM: f64 = 0.5;

/// Per-sample search state reused across ICP iterations (no allocation per iteration).
struct Matcher {
    cands: Vec<Candidates>,
    knn: Knn<KNN>,
}

impl Matcher {
    fn new(n: usize) -> Self {
        Matcher {
            cands: vec![
                Candidates {
                    at: [0.0; 3],
                    next_mm: f64::NEG_INFINITY,
                    slots: [u32::MAX; KNN - 1],
                    len: 0,
                };
                n
            ],
            knn: Knn::default(),
        }
    }

    /// Slot and squared distance of the nearest target point to `p`, sample `i`, which
    /// moved by `step_mm` since the previous iteration.
    #[inline]
    fn nearest(&mut self, tree: &KdTree, i: usize, p: V3, step_mm: f64) -> Option<(u32, f64)> {
        let c = self.cands.get_mut(i)?;
        if c.len > 0 {
            let pts = tree.points();
            let mut best = (u32::MAX, f64::INFINITY);
            for &s in &c.slots[..c.len] {
                let d = dist2(p, pts[s as usize]);
                if tree.before(d, s, best.1, best.0) {
                    best = (s, d);
                }
            }
            let moved = dist2(p, c.at).sqrt();
            let scale = p.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            if best.1.sqrt() + moved + SKIP_MARGIN_MM * scale < c.next_mm {
                return Some(best);
            }
        }
        if step_mm > STEP_FOR_CANDIDATES_MM {
            // Still moving fast: candidates would not last; one nearest search is cheaper.
            c.len = 0;
            return tree.nearest(p).map(|(s, d2)| (s as u32, d2));
        }
        tree.nearest_k(p, &mut self.knn);
        let k = &self.knn;
        if k.len == 0 {
            return None;
        }
        c.at = p;
        c.len = k.len.min(KNN - 1);
        c.slots.copy_from_slice(&k.slots[..KNN - 1]);
        c.next_mm = if k.len == KNN {
            k.d2[KNN - 1].sqrt()
        } else {
            f64::INFINITY
        };
        Some((k.slots[0], k.d2[0]))
    }
}

/// Result of [`icp`].
struct Icp {
    t: Matrix4<f64>,
    /// RMS of the kept point-to-plane residuals, mm.
    rms: f64,
    /// Pose updates, both phases.
    iterations: usize,
    /// Of which on the coarse subset of the samples.
    coarse_iterations: usize,
    /// Fraction of samples whose nearest target point lies within the `overlap_mm` asked
    /// for (0 when not asked).
    overlap: f64,
}

/// Stride of the coarse phase: every n-th sample so that at most `coarse_samples` are
/// used (all of them when that would not leave at most half); `None` for no coarse phase.
fn coarse_stride(samples: usize, coarse_samples: usize) -> Option<usize> {
    match coarse_samples {
        0 => None,
        c if samples <= 2 * c => Some(1),
        c => Some(samples.div_ceil(c)),
    }
}

/// Point-to-plane ICP from `init`: first on every n-th sample (`coarse_samples`, see
/// [`RegisterParams::coarse_samples`]; 0 = no such phase) untrimmed and then trimmed, each
/// until it converges, then trimmed on all samples, with at most `max_iter` pose updates
/// in all; with `overlap_mm`, also the overlap of the result.
fn icp(
    target: &Target,
    samples: &[V3],
    init: Matrix4<f64>,
    max_iter: usize,
    coarse_samples: usize,
    params: &RegisterParams,
    overlap_mm: Option<f64>,
) -> Option<Icp> {
    let mut run = IcpRun::new(target, samples);
    let (mut t, mut coarse_iterations) = (init, 0);
    if let Some(stride) = coarse_stride(samples.len(), coarse_samples) {
        // Untrimmed, then (when the subset is not all samples) trimmed on the subset.
        let trims: &[f64] = if stride > 1 {
            &[0.0, params.trim_fraction]
        } else {
            &[0.0]
        };
        for &trim in trims {
            let coarse = run.phase(stride, trim, t, max_iter - coarse_iterations, params)?;
            t = coarse.t;
            coarse_iterations += coarse.updates;
        }
    }
    let fine = run.phase(
        1,
        params.trim_fraction,
        t,
        max_iter - coarse_iterations,
        params,
    )?;
    let mut t = fine.t;
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
    let overlap = overlap_mm.map_or(0.0, |limit| {
        // Exact nearest points at the final pose; the matcher's candidates answer most.
        run.match_samples(&t, 1);
        let lim2 = limit * limit;
        let within = run
            .dist_bits
            .iter()
            .filter(|&&b| b != u64::MAX && f64::from_bits(b) <= lim2)
            .count();
        within as f64 / samples.len().max(1) as f64
    });
    Some(Icp {
        t,
        rms: fine.rms,
        iterations: coarse_iterations + fine.updates,
        coarse_iterations,
        overlap,
    })
}

/// Result of one [`IcpRun::phase`].
struct Phase {
    t: Matrix4<f64>,
    rms: f64,
    updates: usize,
}

/// Per-sample state of one ICP run, kept across its iterations and phases (no
/// allocation per iteration).
struct IcpRun<'a> {
    target: &'a Target,
    samples: &'a [V3],
    /// Each sample moved by the last pose (all samples, also those a phase skips).
    moved: Vec<V3>,
    /// Nearest target slot of each sample when it was last matched.
    nearest: Vec<u32>,
    matcher: Matcher,
    /// Trim keys: (squared distance bits, sample). Distances are ≥ 0, so their bit
    /// patterns order like the numbers and ties fall back to the sample index.
    order: Vec<(u64, u32)>,
    dist_bits: Vec<u64>,
    /// Whether `moved` holds positions yet.
    placed: bool,
}

impl<'a> IcpRun<'a> {
    fn new(target: &'a Target, samples: &'a [V3]) -> Self {
        IcpRun {
            target,
            samples,
            moved: vec![[0.0; 3]; samples.len()],
            nearest: vec![u32::MAX; samples.len()],
            matcher: Matcher::new(samples.len()),
            order: Vec::with_capacity(samples.len()),
            dist_bits: vec![u64::MAX; samples.len()],
            placed: false,
        }
    }

    /// Moves every sample by `t` and matches every `stride`-th one to its nearest target
    /// point; the matched ones are in `order`.
    fn match_samples(&mut self, t: &Matrix4<f64>, stride: usize) {
        self.order.clear();
        for (i, &s) in self.samples.iter().enumerate() {
            let p = apply(t, s);
            let step = if self.placed {
                dist2(p, self.moved[i]).sqrt()
            } else {
                f64::INFINITY
            };
            self.moved[i] = p;
            if i % stride != 0 {
                continue;
            }
            if let Some((j, d2)) = self.matcher.nearest(&self.target.tree, i, p, step) {
                self.nearest[i] = j;
                self.dist_bits[i] = (d2 + 0.0).to_bits();
                self.order.push((self.dist_bits[i], i as u32));
            } else {
                self.dist_bits[i] = u64::MAX;
            }
        }
        self.placed = true;
    }

    /// ICP iterations on every `stride`-th sample from `init`, dropping the `trim`
    /// fraction of farthest pairs, at most `max_iter` pose updates; `None` when fewer than
    /// 6 pairs are found.
    fn phase(
        &mut self,
        stride: usize,
        trim: f64,
        init: Matrix4<f64>,
        max_iter: usize,
        params: &RegisterParams,
    ) -> Option<Phase> {
        let mut t = init;
        // The pose before the last update, with its RMS.
        let mut previous_t = init;
        let mut rms = f64::INFINITY;
        let mut updates = 0;
        for it in 0..=max_iter {
            self.match_samples(&t, stride);
            if self.order.len() < 6 {
                return None;
            }
            let keep = (((1.0 - trim) * self.order.len() as f64).round() as usize)
                .clamp(6, self.order.len());
            // The `keep` nearest pairs: everything up to the keep-th smallest key. Sums run
            // in sample order, so they do not depend on how the selection permutes `order`.
            let (_, &mut last, _) = self.order.select_nth_unstable(keep - 1);
            let dist_bits = &self.dist_bits;
            let kept = |i: usize| (dist_bits[i], i as u32) <= last;
            let pts = self.target.tree.points();
            let normals = &self.target.normals;
            let active = || (0..self.samples.len()).step_by(stride).filter(|&i| kept(i));
            let mut ss = 0.0;
            let mut centre = [0.0; 3];
            for i in active() {
                let p = self.moved[i];
                let j = self.nearest[i] as usize;
                let r = dot(sub(p, pts[j]), normals[j]);
                ss += r * r;
                for k in 0..3 {
                    centre[k] += p[k];
                }
            }
            let previous_rms = rms;
            let new_rms = (ss / keep as f64).sqrt();
            if params.stop_when_rms_rises && new_rms > previous_rms {
                // Every exact trimmed-ICP iteration lowers the trimmed RMS; a rise means
                // that what is left is pairs trading places at the trim boundary and
                // matches jumping between neighbouring vertices. Keep the better pose.
                return Some(Phase {
                    t: previous_t,
                    rms: previous_rms,
                    updates,
                });
            }
            rms = new_rms;
            if it == max_iter || (previous_rms - rms).abs() <= params.min_relative_rms_change * rms
            {
                break;
            }
            let centre = centre.map(|c| c / keep as f64);
            // Linearised point-to-plane: minimise Σ ((p' + ω × p' + τ - q) · n)², p' = p - centre.
            // Normal equations JᵀJ x = −Jᵀr, upper triangle accumulated.
            let mut ata = [0.0; 21];
            let mut atb = [0.0; 6];
            for i in active() {
                let p = self.moved[i];
                let j = self.nearest[i] as usize;
                let (q, n) = (pts[j], normals[j]);
                let c = cross(sub(p, centre), n);
                let jr = [c[0], c[1], c[2], n[0], n[1], n[2]];
                let r = dot(sub(p, q), n);
                let mut e = 0;
                for u in 0..6 {
                    for v in u..6 {
                        ata[e] += jr[u] * jr[v];
                        e += 1;
                    }
                    atb[u] += jr[u] * r;
                }
            }
            let Some((w, tau)) = solve_point_to_plane(&ata, &atb) else {
                break;
            };
            let rot = Rotation3::new(w).into_inner();
            let c = Vector3::from(centre);
            // p ↦ R (p - c) + c + τ
            previous_t = t;
            t = rigid(rot, c + tau - rot * c) * t;
            updates = it + 1;
            if w.norm() < params.min_rotation_rad && tau.norm() < params.min_translation_mm {
                break;
            }
        }
        Some(Phase { t, rms, updates })
    }
}

/// Solves the 6×6 normal equations (upper triangle `ata`, right side `atb`) of the
/// linearised point-to-plane step for (rotation vector ω, translation τ).
fn solve_point_to_plane(ata: &[f64; 21], atb: &[f64; 6]) -> Option<(Vector3<f64>, Vector3<f64>)> {
    let mut a = Matrix6::<f64>::zeros();
    let mut e = 0;
    for u in 0..6 {
        for v in u..6 {
            a[(u, v)] = ata[e];
            a[(v, u)] = ata[e];
            e += 1;
        }
    }
    let b = Vector6::from(*atb);
    let x = match a.cholesky() {
        Some(ch) => ch.solve(&(-b)),
        None => a.try_inverse()? * (-b),
    };
    Some((
        Vector3::new(x[0], x[1], x[2]),
        Vector3::new(x[3], x[4], x[5]),
    ))
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
