//! Surface smoothing: Laplacian, Taubin λ/μ, brush-local, prominence flattening and
//! Gaussian. All functions take a mesh in mm (any space; positions move within it),
//! return a new mesh with the same triangles and vertex order, and keep boundary
//! vertices of open meshes (and vertices of non-manifold edges) fixed.
//!
//! Umbrella operator: `Δxᵢ = Σⱼ wᵢⱼ (xⱼ − xᵢ) / Σⱼ wᵢⱼ` over the one-ring, with
//! `wᵢⱼ = 1` (uniform) or `(cot α + cot β) / 2` clamped to ≥ 1e-3 (cotangent).
//! One step moves `xᵢ ← xᵢ + f Δxᵢ` with all vertices updated simultaneously.

use super::kdtree::KdTree;
use super::topology::{
    add, boundary_vertices, cross, dist2, dot, norm, scale, sub, vertex_normals, Adjacency, V3,
};
use super::Mesh;

/// Neighbour weights of the umbrella operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Weights {
    /// Every one-ring neighbour counts equally (fast; also evens out triangle sizes).
    Uniform,
    /// Cotangent weights (moves vertices along the normal mostly; keeps triangle layout).
    Cotangent,
}

/// Parameters of [`laplacian`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LaplacianParams {
    /// Number of steps. Default 10.
    pub iterations: usize,
    /// Step factor λ (0 < λ ≤ 1). Default 0.5.
    pub lambda: f64,
    /// Default `Uniform`.
    pub weights: Weights,
}
impl Default for LaplacianParams {
    fn default() -> Self {
        LaplacianParams {
            iterations: 10,
            lambda: 0.5,
            weights: Weights::Uniform,
        }
    }
}

/// Parameters of [`taubin`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaubinParams {
    /// Number of λ/μ pairs. Default 20.
    pub iterations: usize,
    /// Shrinking step. Default 0.5.
    pub lambda: f64,
    /// Inflating step, negative with |μ| > λ. Default −0.53.
    pub mu: f64,
    /// Default `Uniform`.
    pub weights: Weights,
    /// For closed meshes, scale the result about its vertex centroid so that the
    /// enclosed volume equals the input's. Taubin's filter slightly amplifies the
    /// lowest frequencies (its pass band), which inflates a coarse sphere by up to a
    /// few per cent over 20 iterations; this removes that drift. Ignored for open
    /// meshes. Default true.
    pub preserve_volume: bool,
}
impl Default for TaubinParams {
    fn default() -> Self {
        TaubinParams {
            iterations: 20,
            lambda: 0.5,
            mu: -0.53,
            weights: Weights::Uniform,
            preserve_volume: true,
        }
    }
}

/// Parameters of [`smooth_brush`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BrushParams {
    /// Brush centre in the mesh's space, mm.
    pub centre_mm: [f64; 3],
    /// Brush radius, mm. Vertices at distance ≥ radius never move. Default 5.
    pub radius_mm: f64,
    /// Taubin λ/μ pairs applied with the falloff. Default 10.
    pub iterations: usize,
    /// Default 0.5.
    pub lambda: f64,
    /// Default −0.53.
    pub mu: f64,
}
impl Default for BrushParams {
    fn default() -> Self {
        BrushParams {
            centre_mm: [0.0; 3],
            radius_mm: 5.0,
            iterations: 10,
            lambda: 0.5,
            mu: -0.53,
        }
    }
}

/// Parameters of [`flatten_prominences`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlattenParams {
    /// Uniform-Laplacian steps (λ = 0.5) that build the reference surface; more steps
    /// flatten wider prominences (the reference forgets features narrower than about
    /// √steps edge lengths). Default 60.
    pub reference_iterations: usize,
    /// A vertex is a prominence when its outward height above the reference surface,
    /// minus the median height over the mesh, exceeds this (mm). Default 0.5.
    pub threshold_mm: f64,
    /// Vertices that are not prominences move at most this far (mm). Default 0.05.
    pub tolerance_mm: f64,
    /// Rounds of (detect, move towards the reference). Cost: rounds × reference_iterations
    /// umbrella passes over the whole mesh. Default 10.
    pub rounds: usize,
    /// Fraction of the way to the reference moved per round (0–1]. Default 0.7.
    pub step: f64,
}
impl Default for FlattenParams {
    fn default() -> Self {
        FlattenParams {
            reference_iterations: 60,
            threshold_mm: 0.5,
            tolerance_mm: 0.05,
            rounds: 10,
            step: 0.7,
        }
    }
}

/// What [`flatten_prominences`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct FlattenReport {
    /// Vertices flagged as prominences in any round.
    pub prominent_vertices: usize,
    /// Largest displacement of a prominent vertex, mm.
    pub max_prominent_move_mm: f64,
    /// Largest displacement of any other vertex (≤ tolerance), mm.
    pub max_other_move_mm: f64,
}

/// Parameters of [`gaussian`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaussianParams {
    /// Standard deviation of the distance weight, mm. Neighbours within 2σ (Euclidean)
    /// contribute with weight exp(−d²/2σ²). Default 1.
    pub sigma_mm: f64,
    /// Number of passes. Default 1.
    pub iterations: usize,
}
impl Default for GaussianParams {
    fn default() -> Self {
        GaussianParams {
            sigma_mm: 1.0,
            iterations: 1,
        }
    }
}

struct Ctx {
    adj: Adjacency,
    fixed: Vec<bool>,
}

impl Ctx {
    fn new(mesh: &Mesh) -> Self {
        let n = mesh.positions_mm.len();
        let valid = mesh
            .triangles
            .iter()
            .all(|t| t.iter().all(|&v| (v as usize) < n));
        let tris: &[[u32; 3]] = if valid { &mesh.triangles } else { &[] };
        Ctx {
            adj: Adjacency::new(n, tris),
            fixed: boundary_vertices(n, tris),
        }
    }
}

/// Cotangent weights aligned with `adj.nbr`.
fn cot_weights(p: &[V3], tris: &[[u32; 3]], adj: &Adjacency) -> Vec<f64> {
    let mut w = vec![0.0; adj.nbr.len()];
    for t in tris {
        for k in 0..3 {
            let (i, j, o) = (
                t[k] as usize,
                t[(k + 1) % 3] as usize,
                t[(k + 2) % 3] as usize,
            );
            let u = sub(p[i], p[o]);
            let v = sub(p[j], p[o]);
            let c = norm(cross(u, v));
            let cot = if c > 1e-300 { dot(u, v) / c } else { 0.0 };
            for (a, b) in [(i, j), (j, i)] {
                if let Ok(s) = adj.of(a).binary_search(&(b as u32)) {
                    w[adj.off[a] + s] += 0.5 * cot;
                }
            }
        }
    }
    for x in &mut w {
        *x = x.max(1e-3);
    }
    w
}

/// One umbrella step `x ← x + f·g(i)·Δx` into `out` (g = per-vertex gain or 1).
fn umbrella_step(
    p: &[V3],
    out: &mut [V3],
    ctx: &Ctx,
    f: f64,
    gain: Option<&[f64]>,
    w: Option<&[f64]>,
) {
    for i in 0..p.len() {
        let g = gain.map_or(1.0, |g| g[i]);
        if ctx.fixed[i] || g == 0.0 {
            out[i] = p[i];
            continue;
        }
        let (lo, hi) = (ctx.adj.off[i], ctx.adj.off[i + 1]);
        if lo == hi {
            out[i] = p[i];
            continue;
        }
        let mut acc = [0.0; 3];
        let mut ws = 0.0;
        for k in lo..hi {
            let wk = w.map_or(1.0, |w| w[k]);
            let q = p[ctx.adj.nbr[k] as usize];
            acc = add(acc, scale(q, wk));
            ws += wk;
        }
        let d = sub(scale(acc, 1.0 / ws), p[i]);
        out[i] = add(p[i], scale(d, f * g));
    }
}

/// [`umbrella_step`] with uniform weights and no gain, `iterations` × `factors` times,
/// with the same arithmetic in the same order (so the same bits). Hand-written because
/// it is Taubin's whole cost on large meshes: vertices are visited in breadth-first
/// order of the mesh graph, so a vertex's neighbours lie close in memory (on a 1.3 M-
/// triangle sphere the input order puts them megabytes apart), and moving vertices are
/// listed once instead of testing every vertex in every pass.
fn uniform_steps(positions: &[V3], ctx: &Ctx, factors: &[f64], iterations: usize) -> Vec<V3> {
    let n = positions.len();
    let adj = &ctx.adj;
    // Breadth-first order from the lowest-numbered unvisited vertex, component by
    // component; `rank[v]` is v's place in it.
    let mut order: Vec<u32> = Vec::with_capacity(n);
    let mut rank = vec![u32::MAX; n];
    for start in 0..n {
        if rank[start] != u32::MAX {
            continue;
        }
        rank[start] = order.len() as u32;
        order.push(start as u32);
        let mut head = order.len() - 1;
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            for &u in adj.of(v) {
                if rank[u as usize] == u32::MAX {
                    rank[u as usize] = order.len() as u32;
                    order.push(u);
                }
            }
        }
    }
    // Moving vertices (in the new order) with their neighbours renumbered, each row in
    // its original order so the sums add up as in `umbrella_step`.
    let mut moving: Vec<u32> = Vec::new();
    let mut off: Vec<usize> = vec![0];
    let mut nbr: Vec<u32> = Vec::with_capacity(adj.nbr.len());
    for (r, &v) in order.iter().enumerate() {
        let v = v as usize;
        if ctx.fixed[v] || adj.of(v).is_empty() {
            continue;
        }
        moving.push(r as u32);
        nbr.extend(adj.of(v).iter().map(|&u| rank[u as usize]));
        off.push(nbr.len());
    }
    let mut p: Vec<V3> = order.iter().map(|&v| positions[v as usize]).collect();
    let mut q = p.clone();
    for _ in 0..iterations {
        for &f in factors {
            for (k, &r) in moving.iter().enumerate() {
                let row = &nbr[off[k]..off[k + 1]];
                let mut acc = [0.0; 3];
                for &u in row {
                    acc = add(acc, p[u as usize]);
                }
                let r = r as usize;
                let d = sub(scale(acc, 1.0 / row.len() as f64), p[r]);
                q[r] = add(p[r], scale(d, f));
            }
            std::mem::swap(&mut p, &mut q);
        }
    }
    let mut out = vec![[0.0; 3]; n];
    for (r, &v) in order.iter().enumerate() {
        out[v as usize] = p[r];
    }
    out
}

fn run_steps(
    mesh: &Mesh,
    ctx: &Ctx,
    factors: &[f64],
    iterations: usize,
    weights: Weights,
    gain: Option<&[f64]>,
) -> Mesh {
    if matches!(weights, Weights::Uniform) && gain.is_none() {
        return Mesh {
            positions_mm: uniform_steps(&mesh.positions_mm, ctx, factors, iterations),
            triangles: mesh.triangles.clone(),
        };
    }
    let mut p = mesh.positions_mm.clone();
    let mut q = p.clone();
    for _ in 0..iterations {
        for &f in factors {
            let w = match weights {
                Weights::Uniform => None,
                Weights::Cotangent => Some(cot_weights(&p, &mesh.triangles, &ctx.adj)),
            };
            umbrella_step(&p, &mut q, ctx, f, gain, w.as_deref());
            std::mem::swap(&mut p, &mut q);
        }
    }
    Mesh {
        positions_mm: p,
        triangles: mesh.triangles.clone(),
    }
}

/// Plain Laplacian smoothing. Shrinks closed surfaces: on a sphere of radius R with
/// uniform weights every step pulls vertices inwards by about λ·ℓ²/(2R)·(valence
/// factor) (ℓ = edge length); use [`taubin`] when volume matters.
pub fn laplacian(mesh: &Mesh, params: &LaplacianParams) -> Mesh {
    let ctx = Ctx::new(mesh);
    run_steps(
        mesh,
        &ctx,
        &[params.lambda],
        params.iterations,
        params.weights,
        None,
    )
}

/// Taubin λ/μ smoothing (low-pass filter; nearly volume-preserving).
pub fn taubin(mesh: &Mesh, params: &TaubinParams) -> Mesh {
    let ctx = Ctx::new(mesh);
    let mut out = run_steps(
        mesh,
        &ctx,
        &[params.lambda, params.mu],
        params.iterations,
        params.weights,
        None,
    );
    let closed = !mesh.triangles.is_empty() && !ctx.fixed.iter().any(|&f| f);
    if params.preserve_volume && closed {
        let v0 = enclosed_volume(&mesh.positions_mm, &mesh.triangles);
        let v1 = enclosed_volume(&out.positions_mm, &out.triangles);
        if v0 * v1 > 0.0 && v0.is_finite() && v1.is_finite() {
            // libm's cbrt: the same bits natively and in wasm (std's is the platform's).
            let s = libm::cbrt(v0 / v1);
            let used: Vec<usize> = (0..out.positions_mm.len())
                .filter(|&i| ctx.adj.off[i + 1] > ctx.adj.off[i])
                .collect();
            let mut c = [0.0; 3];
            for &i in &used {
                c = add(c, out.positions_mm[i]);
            }
            c = scale(c, 1.0 / used.len().max(1) as f64);
            for &i in &used {
                out.positions_mm[i] = add(c, scale(sub(out.positions_mm[i], c), s));
            }
        }
    }
    out
}

fn enclosed_volume(p: &[V3], tris: &[[u32; 3]]) -> f64 {
    tris.iter()
        .map(|t| dot(p[t[0] as usize], cross(p[t[1] as usize], p[t[2] as usize])))
        .sum::<f64>()
        / 6.0
}

/// Taubin smoothing weighted by a brush falloff `g(d) = (1 − (d/r)²)²` for `d < r`,
/// 0 outside (d = distance of the vertex's original position to the centre). Vertices
/// outside the brush keep their exact coordinates.
pub fn smooth_brush(mesh: &Mesh, params: &BrushParams) -> Mesh {
    smooth_stroke(
        mesh,
        &StrokeParams {
            stroke_mm: vec![params.centre_mm],
            radius_mm: params.radius_mm,
            iterations: params.iterations,
            lambda: params.lambda,
            mu: params.mu,
        },
    )
}

/// Parameters of [`smooth_stroke`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StrokeParams {
    /// Brush centres along the stroke, in the mesh's space (mm).
    pub stroke_mm: Vec<[f64; 3]>,
    /// Brush radius, mm. Vertices at distance ≥ radius from every centre never move.
    pub radius_mm: f64,
    /// Taubin λ/μ pairs applied with the falloff.
    pub iterations: usize,
    pub lambda: f64,
    pub mu: f64,
}

/// [`smooth_brush`] along a stroke: each vertex takes the strongest falloff of any
/// centre, `g = max_c (1 − (d_c/r)²)²` (d_c = distance of its original position to centre
/// c), so a stroke smooths a band as wide as the brush, evenly along its length. The
/// distance is straight-line: a brush wider than a thin wall reaches through it.
pub fn smooth_stroke(mesh: &Mesh, params: &StrokeParams) -> Mesh {
    let ctx = Ctx::new(mesh);
    let r = params.radius_mm.max(0.0);
    let gain: Vec<f64> = mesh
        .positions_mm
        .iter()
        .map(|&p| {
            params.stroke_mm.iter().fold(0.0f64, |g, &c| {
                let d = dist2(p, c).sqrt();
                if r > 0.0 && d < r {
                    let s = 1.0 - (d / r) * (d / r);
                    g.max(s * s)
                } else {
                    g
                }
            })
        })
        .collect();
    run_steps(
        mesh,
        &ctx,
        &[params.lambda, params.mu],
        params.iterations,
        Weights::Uniform,
        Some(&gain),
    )
}

/// Flattens outward prominences (osteophyte-like bumps) and leaves the rest of the
/// surface within `tolerance_mm`.
///
/// Rule, per round: build a reference surface `s` by `reference_iterations` uniform
/// Laplacian steps (λ = 0.5). The height of vertex i is `hᵢ = (xᵢ − sᵢ)·nᵢ` (nᵢ outward
/// normal); `h₀` is the median height over all movable vertices (the reference's
/// uniform shrinkage). Vertex i is a *prominence* when `hᵢ − h₀ > threshold_mm`; it
/// and its one-ring move `step` of the way towards `sᵢ + h₀·nᵢ`. Vertices that have
/// never been flagged as prominences are kept within `tolerance_mm` of their original
/// position (their displacement is clamped). Concave regions (negative height) are
/// never flagged. Boundary vertices stay fixed.
pub fn flatten_prominences(mesh: &Mesh, params: &FlattenParams) -> (Mesh, FlattenReport) {
    let ctx = Ctx::new(mesh);
    let n = mesh.positions_mm.len();
    let orig = mesh.positions_mm.clone();
    let mut cur = mesh.clone();
    let mut prominent = vec![false; n];
    for _ in 0..params.rounds {
        let reference = run_steps(
            &cur,
            &ctx,
            &[0.5],
            params.reference_iterations,
            Weights::Uniform,
            None,
        );
        let normals = vertex_normals(&cur.positions_mm, &cur.triangles);
        let h: Vec<f64> = (0..n)
            .map(|i| {
                dot(
                    sub(cur.positions_mm[i], reference.positions_mm[i]),
                    normals[i],
                )
            })
            .collect();
        let mut hs: Vec<f64> = (0..n)
            .filter(|&i| !ctx.fixed[i] && ctx.adj.off[i + 1] > ctx.adj.off[i])
            .map(|i| h[i])
            .collect();
        if hs.is_empty() {
            break;
        }
        hs.sort_by(|a, b| a.total_cmp(b));
        let h0 = hs[hs.len() / 2];
        let flagged: Vec<bool> = (0..n)
            .map(|i| !ctx.fixed[i] && h[i] - h0 > params.threshold_mm)
            .collect();
        if !flagged.iter().any(|&f| f) {
            break;
        }
        let mut region = flagged.clone();
        for (i, _) in flagged.iter().enumerate().filter(|(_, &f)| f) {
            for &j in ctx.adj.of(i) {
                region[j as usize] = true;
            }
        }
        for i in 0..n {
            if flagged[i] {
                prominent[i] = true;
            }
            if !region[i] || ctx.fixed[i] {
                continue;
            }
            let target = add(reference.positions_mm[i], scale(normals[i], h0));
            let p = cur.positions_mm[i];
            let mut np = add(p, scale(sub(target, p), params.step));
            if !prominent[i] {
                let d = sub(np, orig[i]);
                let l = norm(d);
                if l > params.tolerance_mm && l > 0.0 {
                    np = add(orig[i], scale(d, params.tolerance_mm / l));
                }
            }
            cur.positions_mm[i] = np;
        }
    }
    let mut rep = FlattenReport {
        prominent_vertices: 0,
        max_prominent_move_mm: 0.0,
        max_other_move_mm: 0.0,
    };
    for i in 0..n {
        let d = dist2(cur.positions_mm[i], orig[i]).sqrt();
        if prominent[i] {
            rep.prominent_vertices += 1;
            rep.max_prominent_move_mm = rep.max_prominent_move_mm.max(d);
        } else {
            rep.max_other_move_mm = rep.max_other_move_mm.max(d);
        }
    }
    (cur, rep)
}

/// Gaussian smoothing: each movable vertex becomes the exp(−d²/2σ²)-weighted mean of
/// all vertices within 2σ (Euclidean, including itself). Shrinks curved surfaces by
/// about σ²/R (R = radius of curvature).
pub fn gaussian(mesh: &Mesh, params: &GaussianParams) -> Mesh {
    let ctx = Ctx::new(mesh);
    let sigma = params.sigma_mm;
    if sigma.is_nan() || sigma <= 0.0 || !sigma.is_finite() {
        return mesh.clone();
    }
    let mut p = mesh.positions_mm.clone();
    let used: Vec<bool> = (0..p.len())
        .map(|i| ctx.adj.off[i + 1] > ctx.adj.off[i])
        .collect();
    let mut buf = Vec::new();
    for _ in 0..params.iterations {
        let tree = KdTree::new(&p);
        let mut q = p.clone();
        for i in 0..p.len() {
            if ctx.fixed[i] || !used[i] {
                continue;
            }
            buf.clear();
            tree.within(p[i], 2.0 * sigma, &mut buf);
            buf.sort_unstable();
            let mut acc = [0.0; 3];
            let mut ws = 0.0;
            for &j in &buf {
                if !used[j as usize] {
                    continue;
                }
                // libm's exp, not std's: std calls the platform's, whose last bits differ
                // between native and wasm.
                let w = libm::exp(-dist2(p[i], p[j as usize]) / (2.0 * sigma * sigma));
                acc = add(acc, scale(p[j as usize], w));
                ws += w;
            }
            if ws > 0.0 {
                q[i] = scale(acc, 1.0 / ws);
            }
        }
        p = q;
    }
    Mesh {
        positions_mm: p,
        triangles: mesh.triangles.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::topology::{signed_volume, testutil::icosphere};

    #[test]
    fn laplacian_shrinks_sphere_and_taubin_does_not() {
        let m = icosphere(20.0, 3);
        let v0 = signed_volume(&m.positions_mm, &m.triangles);
        let l = laplacian(
            &m,
            &LaplacianParams {
                iterations: 20,
                ..Default::default()
            },
        );
        let t = taubin(&m, &TaubinParams::default());
        let raw = taubin(
            &m,
            &TaubinParams {
                preserve_volume: false,
                ..Default::default()
            },
        );
        let vr = signed_volume(&raw.positions_mm, &raw.triangles);
        assert!(
            vr > v0,
            "uncorrected Taubin inflates a coarse sphere slightly"
        );
        let vl = signed_volume(&l.positions_mm, &l.triangles);
        let vt = signed_volume(&t.positions_mm, &t.triangles);
        assert!(vl < 0.97 * v0, "laplacian {vl} vs {v0}");
        assert!(((vt - v0) / v0).abs() < 1e-9, "taubin {vt} vs {v0}");
    }

    #[test]
    fn open_mesh_boundary_stays_fixed() {
        let mut m = icosphere(10.0, 2);
        // Drop the triangles of the top cap.
        let keep: Vec<[u32; 3]> = m
            .triangles
            .iter()
            .copied()
            .filter(|t| t.iter().all(|&v| m.positions_mm[v as usize][2] < 7.0))
            .collect();
        m.triangles = keep;
        let b = boundary_vertices(m.positions_mm.len(), &m.triangles);
        assert!(b.iter().any(|&x| x));
        for w in [Weights::Uniform, Weights::Cotangent] {
            let s = laplacian(
                &m,
                &LaplacianParams {
                    weights: w,
                    ..Default::default()
                },
            );
            for (i, _) in b.iter().enumerate().filter(|(_, &fixed)| fixed) {
                assert_eq!(s.positions_mm[i], m.positions_mm[i]);
            }
        }
    }
}
