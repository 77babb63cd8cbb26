//! Mesh checks and repair.
//!
//! [`check`] reports what is wrong (boundary and non-manifold edges, non-manifold
//! vertices, degenerate and duplicate triangles, components, watertightness,
//! orientation, genus, self-intersections) without changing anything. [`repair`] fixes
//! what can be fixed safely and says what it did. Every pass is a sort or an ordered
//! traversal, so results are deterministic.
//!
//! Definitions: a triangle is *degenerate* when two corner indices are equal or its
//! area is at most `1e-12 ×` (longest edge)²; two triangles are *duplicates* when they
//! use the same three vertices in any order; a vertex is *non-manifold* when its
//! triangles form more than one fan (joined through edges at the vertex); *genus* is
//! `(2 − χ) / 2` with `χ = V − E + F` for each closed component.

use super::adjacency::{triangle_components, vertex_triangles, Adjacency};
use super::bvh::{self, cross, dot, ray_triangle, sub};
use super::io::{validate, MeshError};
use super::Mesh;
use std::collections::{BTreeMap, VecDeque};

/// Options of [`check_with_params`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckParams {
    /// Look for self-intersecting triangle pairs (BVH + triangle–triangle tests). Default true.
    pub self_intersections: bool,
    /// Stop counting self-intersections after this many pairs. Default 1000.
    pub self_intersection_cap: usize,
}

impl Default for CheckParams {
    fn default() -> Self {
        CheckParams {
            self_intersections: true,
            self_intersection_cap: 1000,
        }
    }
}

/// What [`check`] found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MeshReport {
    /// Vertex count.
    pub vertices: usize,
    /// Triangle count.
    pub triangles: usize,
    /// Vertices used by no triangle.
    pub unreferenced_vertices: usize,
    /// Edges with exactly one triangle.
    pub boundary_edges: usize,
    /// Edges with three or more triangles.
    pub non_manifold_edges: usize,
    /// Vertices whose triangles form more than one fan.
    pub non_manifold_vertices: usize,
    /// Triangles with a repeated corner or (near-)zero area.
    pub degenerate_triangles: usize,
    /// Extra copies of triangles on the same three vertices.
    pub duplicate_triangles: usize,
    /// Edge-connected components.
    pub components: usize,
    /// Every edge has exactly two triangles (and there is at least one triangle).
    pub watertight: bool,
    /// Every two-triangle edge is used in opposite directions.
    pub consistently_oriented: bool,
    /// Signed volume > 0.
    pub outward: bool,
    /// Signed volume (mm³); meaningful when watertight.
    pub signed_volume_mm3: f64,
    /// Genus of each closed component, in component order (open components are left out).
    pub genus: Vec<i64>,
    /// Crossing triangle pairs found (0 when not checked).
    pub self_intersections: usize,
    /// True when counting stopped at the cap.
    pub self_intersections_capped: bool,
}

impl MeshReport {
    /// True when the mesh is a clean closed, outward, manifold surface without
    /// degenerate or duplicate triangles and without self-intersections.
    pub fn is_clean_solid(&self) -> bool {
        self.watertight
            && self.consistently_oriented
            && self.outward
            && self.non_manifold_vertices == 0
            && self.degenerate_triangles == 0
            && self.duplicate_triangles == 0
            && self.self_intersections == 0
    }
}

fn is_degenerate(mesh: &Mesh, t: &[u32; 3]) -> bool {
    if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] {
        return true;
    }
    let c = t.map(|v| mesh.positions_mm[v as usize]);
    let n = cross(sub(c[1], c[0]), sub(c[2], c[0]));
    let l2 = (0..3).map(|k| {
        let e = sub(c[(k + 1) % 3], c[k]);
        dot(e, e)
    });
    let longest2 = l2.fold(0.0f64, f64::max);
    dot(n, n).sqrt() <= 1e-12 * longest2
}

fn sorted(t: &[u32; 3]) -> [u32; 3] {
    let mut s = *t;
    s.sort_unstable();
    s
}

fn signed_volume(mesh: &Mesh, tris: impl Iterator<Item = usize>, o: [f64; 3]) -> f64 {
    let mut six = 0.0;
    for t in tris {
        let c = mesh.triangles[t].map(|v| sub(mesh.positions_mm[v as usize], o));
        six += dot(c[0], cross(c[1], c[2]));
    }
    six / 6.0
}

fn bbox_center(mesh: &Mesh) -> [f64; 3] {
    super::measure::bounding_box(mesh)
        .map(|b| b.center_mm())
        .unwrap_or([0.0; 3])
}

/// Checks `mesh` with default parameters.
pub fn check(mesh: &Mesh) -> Result<MeshReport, MeshError> {
    check_with_params(mesh, &CheckParams::default())
}

/// Checks `mesh`. Fails only when a triangle refers to a missing vertex or a position
/// is not finite (run [`repair`] first in that case).
pub fn check_with_params(mesh: &Mesh, params: &CheckParams) -> Result<MeshReport, MeshError> {
    validate(mesh)?;
    let adj = Adjacency::build(mesh)?;
    let mut boundary_edges = 0;
    let mut non_manifold_edges = 0;
    let mut consistently_oriented = true;
    for e in 0..adj.edges.len() {
        match adj.valence(e) {
            1 => boundary_edges += 1,
            2 => {
                let u = adj.edge_uses(e);
                if u[0].forward == u[1].forward {
                    consistently_oriented = false;
                }
            }
            _ => non_manifold_edges += 1,
        }
    }
    let degenerate_triangles = mesh
        .triangles
        .iter()
        .filter(|t| is_degenerate(mesh, t))
        .count();
    let mut keys: Vec<[u32; 3]> = mesh.triangles.iter().map(sorted).collect();
    keys.sort_unstable();
    let duplicate_triangles = keys.windows(2).filter(|w| w[0] == w[1]).count();

    let (offsets, vt) = vertex_triangles(mesh)?;
    let unreferenced_vertices = (0..mesh.positions_mm.len())
        .filter(|&v| offsets[v] == offsets[v + 1])
        .count();
    let non_manifold_vertices = (0..mesh.positions_mm.len())
        .filter(|&v| {
            fan_count(
                mesh,
                v as u32,
                &vt[offsets[v] as usize..offsets[v + 1] as usize],
            ) > 1
        })
        .count();

    let (label, components) = triangle_components(mesh, &adj);
    let genus = closed_component_genus(mesh, &adj, &label, components);
    let signed_volume_mm3 = signed_volume(mesh, 0..mesh.triangles.len(), bbox_center(mesh));
    let (self_intersections, self_intersections_capped) =
        if params.self_intersections && params.self_intersection_cap > 0 {
            bvh::self_intersections(mesh, params.self_intersection_cap)?
        } else {
            (0, false)
        };
    Ok(MeshReport {
        vertices: mesh.positions_mm.len(),
        triangles: mesh.triangles.len(),
        unreferenced_vertices,
        boundary_edges,
        non_manifold_edges,
        non_manifold_vertices,
        degenerate_triangles,
        duplicate_triangles,
        components,
        watertight: !mesh.triangles.is_empty() && boundary_edges == 0 && non_manifold_edges == 0,
        consistently_oriented,
        outward: signed_volume_mm3 > 0.0,
        signed_volume_mm3,
        genus,
        self_intersections,
        self_intersections_capped,
    })
}

/// Number of triangle fans around vertex `v` (triangles joined through edges at `v`).
fn fan_count(mesh: &Mesh, v: u32, tris: &[u32]) -> usize {
    if tris.len() <= 1 {
        return tris.len();
    }
    let mut pairs: Vec<(u32, usize)> = Vec::with_capacity(2 * tris.len());
    let mut valid = vec![false; tris.len()];
    for (i, &t) in tris.iter().enumerate() {
        let tri = mesh.triangles[t as usize];
        if tri.iter().filter(|&&x| x == v).count() != 1 {
            continue;
        }
        valid[i] = true;
        for &o in tri.iter().filter(|&&x| x != v) {
            pairs.push((o, i));
        }
    }
    pairs.sort_unstable();
    let mut uf = super::adjacency::UnionFind::new(tris.len());
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 {
            uf.union(w[0].1 as u32, w[1].1 as u32);
        }
    }
    let mut roots: Vec<u32> = (0..tris.len())
        .filter(|&i| valid[i])
        .map(|i| uf.find(i as u32))
        .collect();
    roots.sort_unstable();
    roots.dedup();
    roots.len()
}

fn closed_component_genus(
    mesh: &Mesh,
    adj: &Adjacency,
    label: &[u32],
    components: usize,
) -> Vec<i64> {
    let mut faces = vec![0i64; components];
    let mut edges = vec![0i64; components];
    let mut closed = vec![true; components];
    for &l in label {
        faces[l as usize] += 1;
    }
    for e in 0..adj.edges.len() {
        let u = adj.edge_uses(e);
        let c = label[u[0].triangle as usize] as usize;
        edges[c] += 1;
        if u.len() != 2 {
            closed[c] = false;
        }
    }
    let mut cv: Vec<(u32, u32)> = Vec::with_capacity(3 * mesh.triangles.len());
    for (t, tri) in mesh.triangles.iter().enumerate() {
        for &v in tri {
            cv.push((label[t], v));
        }
    }
    cv.sort_unstable();
    cv.dedup();
    let mut verts = vec![0i64; components];
    for (c, _) in cv {
        verts[c as usize] += 1;
    }
    (0..components)
        .filter(|&c| closed[c])
        .map(|c| (2 - (verts[c] - edges[c] + faces[c])) / 2)
        .collect()
}

/// Options of [`repair`].
#[derive(Clone, Debug, PartialEq)]
pub struct RepairParams {
    /// Vertices closer than this are merged into the first of them (mm). 0 = exact
    /// matches only. Default 1e-6 mm.
    pub weld_tolerance_mm: f64,
    /// Remove triangles with a repeated corner or (near-)zero area. Default true.
    pub remove_degenerate: bool,
    /// Remove extra copies of triangles on the same three vertices. Default true.
    pub remove_duplicates: bool,
    /// Make the winding consistent within each component (BFS over manifold edges). Default true.
    pub unify_orientation: bool,
    /// Fill boundary loops of at most `max_hole_edges` edges (centroid fan). Default true.
    pub fill_holes: bool,
    /// Largest hole (edges in its boundary loop) that is filled. Default 1000.
    pub max_hole_edges: usize,
    /// Flip closed components so they enclose positive volume (cavity shells nested
    /// inside another shell are made inward instead). Default true.
    pub orient_outward: bool,
    /// Drop vertices no triangle uses. Default true.
    pub remove_unreferenced: bool,
}

impl Default for RepairParams {
    fn default() -> Self {
        RepairParams {
            weld_tolerance_mm: 1e-6,
            remove_degenerate: true,
            remove_duplicates: true,
            unify_orientation: true,
            fill_holes: true,
            max_hole_edges: 1000,
            orient_outward: true,
            remove_unreferenced: true,
        }
    }
}

/// What [`repair`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepairReport {
    /// Triangles dropped because they referred to a missing vertex or a non-finite position.
    pub removed_invalid_triangles: usize,
    /// Vertices merged into another within the weld tolerance.
    pub welded_vertices: usize,
    /// Degenerate triangles removed.
    pub removed_degenerate_triangles: usize,
    /// Duplicate triangles removed.
    pub removed_duplicate_triangles: usize,
    /// Triangles flipped to make the winding consistent.
    pub flipped_for_consistency: usize,
    /// Manifold edges whose triangles could not be made consistent (non-orientable or
    /// conflicting through non-manifold edges).
    pub non_orientable_edges: usize,
    /// Closed components flipped so they face outward.
    pub components_flipped_outward: usize,
    /// Boundary loops filled.
    pub holes_filled: usize,
    /// Triangles added by hole filling.
    pub hole_triangles_added: usize,
    /// Boundary loops left open (too long, or not simple).
    pub holes_left_open: usize,
    /// Vertices removed because no triangle used them.
    pub removed_unreferenced_vertices: usize,
    /// One plain-language line per action taken.
    pub notes: Vec<String>,
}

impl RepairReport {
    /// True when the mesh was changed.
    pub fn changed(&self) -> bool {
        !self.notes.is_empty()
    }
}

/// Repairs `mesh`: drops invalid, degenerate and duplicate triangles, welds close
/// vertices, unifies orientation, fills simple holes, turns closed components outward
/// and drops unused vertices. Never fails; the report says what was done.
pub fn repair(mesh: &Mesh, params: &RepairParams) -> (Mesh, RepairReport) {
    let mut r = RepairReport::default();
    let n = mesh.positions_mm.len();
    let finite: Vec<bool> = mesh
        .positions_mm
        .iter()
        .map(|p| p.iter().all(|c| c.is_finite()))
        .collect();
    let mut tris: Vec<[u32; 3]> = mesh
        .triangles
        .iter()
        .copied()
        .filter(|t| t.iter().all(|&v| (v as usize) < n && finite[v as usize]))
        .collect();
    r.removed_invalid_triangles = mesh.triangles.len() - tris.len();
    if r.removed_invalid_triangles > 0 {
        r.notes.push(format!(
            "removed {} triangles with missing or non-finite vertices",
            r.removed_invalid_triangles
        ));
    }
    let mut m = Mesh::new(
        mesh.positions_mm
            .iter()
            .map(|p| {
                if p.iter().all(|c| c.is_finite()) {
                    *p
                } else {
                    [0.0; 3]
                }
            })
            .collect(),
        Vec::new(),
    );

    // Weld.
    let remap = weld_map(&m.positions_mm, &finite, params.weld_tolerance_mm);
    r.welded_vertices = remap
        .iter()
        .enumerate()
        .filter(|&(i, &j)| i as u32 != j && finite[i])
        .count();
    if r.welded_vertices > 0 {
        r.notes.push(format!(
            "welded {} vertices within {} mm",
            r.welded_vertices, params.weld_tolerance_mm
        ));
        for t in tris.iter_mut() {
            *t = t.map(|v| remap[v as usize]);
        }
    }
    m.triangles = tris;

    if params.remove_degenerate {
        let before = m.triangles.len();
        let keep: Vec<bool> = m.triangles.iter().map(|t| !is_degenerate(&m, t)).collect();
        let mut i = 0;
        m.triangles.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        r.removed_degenerate_triangles = before - m.triangles.len();
        if r.removed_degenerate_triangles > 0 {
            r.notes.push(format!(
                "removed {} degenerate (zero-area) triangles",
                r.removed_degenerate_triangles
            ));
        }
    }
    if params.remove_duplicates {
        let mut keyed: Vec<([u32; 3], usize)> = m
            .triangles
            .iter()
            .enumerate()
            .map(|(i, t)| (sorted(t), i))
            .collect();
        keyed.sort_unstable();
        let mut drop = vec![false; m.triangles.len()];
        for w in keyed.windows(2) {
            if w[0].0 == w[1].0 {
                drop[w[1].1] = true;
            }
        }
        let before = m.triangles.len();
        let mut i = 0;
        m.triangles.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
        r.removed_duplicate_triangles = before - m.triangles.len();
        if r.removed_duplicate_triangles > 0 {
            r.notes.push(format!(
                "removed {} duplicate triangles",
                r.removed_duplicate_triangles
            ));
        }
    }
    if params.unify_orientation {
        unify_orientation(&mut m, &mut r);
    }
    if params.fill_holes {
        fill_holes(&mut m, params.max_hole_edges, &mut r);
    }
    if params.orient_outward {
        orient_outward(&mut m, &mut r);
    }
    if params.remove_unreferenced {
        let mut used = vec![false; m.positions_mm.len()];
        for t in &m.triangles {
            for &v in t {
                used[v as usize] = true;
            }
        }
        let mut new_index = vec![u32::MAX; used.len()];
        let mut pos = Vec::new();
        for (v, &u) in used.iter().enumerate() {
            if u {
                new_index[v] = pos.len() as u32;
                pos.push(m.positions_mm[v]);
            }
        }
        r.removed_unreferenced_vertices = used.len() - pos.len();
        if r.removed_unreferenced_vertices > 0 {
            r.notes.push(format!(
                "removed {} unused vertices",
                r.removed_unreferenced_vertices
            ));
            for t in m.triangles.iter_mut() {
                *t = t.map(|v| new_index[v as usize]);
            }
            m.positions_mm = pos;
        }
    }
    (m, r)
}

/// `remap[v]` = representative of `v` (the lowest-index vertex within `tol` found first).
fn weld_map(p: &[[f64; 3]], finite: &[bool], tol: f64) -> Vec<u32> {
    let mut remap: Vec<u32> = (0..p.len() as u32).collect();
    if !tol.is_finite() || tol < 0.0 {
        return remap;
    }
    if tol == 0.0 {
        let mut seen: BTreeMap<[u64; 3], u32> = BTreeMap::new();
        for (v, q) in p.iter().enumerate() {
            if finite[v] {
                remap[v] = *seen
                    .entry(q.map(|c| (c + 0.0).to_bits()))
                    .or_insert(v as u32);
            }
        }
        return remap;
    }
    let cell = |q: &[f64; 3]| q.map(|c| (c / tol).floor() as i64);
    let mut grid: BTreeMap<[i64; 3], Vec<u32>> = BTreeMap::new();
    for (v, q) in p.iter().enumerate() {
        if !finite[v] {
            continue;
        }
        let c = cell(q);
        let mut best: Option<u32> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    if let Some(list) = grid.get(&[c[0] + dx, c[1] + dy, c[2] + dz]) {
                        for &w in list {
                            let d = sub(p[w as usize], *q);
                            if dot(d, d) <= tol * tol && best.is_none_or(|b| w < b) {
                                best = Some(w);
                            }
                        }
                    }
                }
            }
        }
        match best {
            Some(w) => remap[v] = w,
            None => grid.entry(c).or_default().push(v as u32),
        }
    }
    remap
}

fn unify_orientation(m: &mut Mesh, r: &mut RepairReport) {
    let Ok(adj) = Adjacency::build(m) else { return };
    let nt = m.triangles.len();
    let mut flip = vec![false; nt];
    let mut seen = vec![false; nt];
    let mut conflicts = 0usize;
    let mut queue = VecDeque::new();
    let mut flipped_total = 0;
    for seed in 0..nt {
        if seen[seed] {
            continue;
        }
        seen[seed] = true;
        queue.push_back(seed);
        let mut comp = vec![seed];
        while let Some(t) = queue.pop_front() {
            for k in 0..3 {
                let e = adj.triangle_edges[t][k] as usize;
                let u = adj.edge_uses(e);
                if u.len() != 2 {
                    continue;
                }
                let (ut, un) = if u[0].triangle as usize == t {
                    (u[0], u[1])
                } else {
                    (u[1], u[0])
                };
                let nb = un.triangle as usize;
                let want = !(un.forward ^ ut.forward ^ flip[t]);
                if !seen[nb] {
                    seen[nb] = true;
                    flip[nb] = want;
                    comp.push(nb);
                    queue.push_back(nb);
                }
            }
        }
        // Keep the majority winding of the component.
        let flips = comp.iter().filter(|&&t| flip[t]).count();
        if 2 * flips > comp.len() {
            for &t in &comp {
                flip[t] = !flip[t];
            }
        }
        flipped_total += comp.iter().filter(|&&t| flip[t]).count();
    }
    for e in 0..adj.edges.len() {
        let u = adj.edge_uses(e);
        if u.len() == 2
            && (u[0].forward ^ flip[u[0].triangle as usize])
                == (u[1].forward ^ flip[u[1].triangle as usize])
        {
            conflicts += 1;
        }
    }
    for (t, tri) in m.triangles.iter_mut().enumerate() {
        if flip[t] {
            *tri = [tri[0], tri[2], tri[1]];
        }
    }
    r.flipped_for_consistency = flipped_total;
    r.non_orientable_edges = conflicts;
    if flipped_total > 0 {
        r.notes.push(format!(
            "flipped {flipped_total} triangles to make the winding consistent"
        ));
    }
    if conflicts > 0 {
        r.notes.push(format!(
            "{conflicts} edges could not be oriented consistently (non-orientable surface)"
        ));
    }
}

fn fill_holes(m: &mut Mesh, max_edges: usize, r: &mut RepairReport) {
    let Ok(adj) = Adjacency::build(m) else { return };
    // Half-edges of the fill, reversed from the boundary triangle's edge.
    let mut half: Vec<(u32, u32)> = Vec::new();
    for e in 0..adj.edges.len() {
        if adj.valence(e) == 1 {
            let u = adj.edge_uses(e)[0];
            let tri = m.triangles[u.triangle as usize];
            let (a, b) = (tri[u.local as usize], tri[(u.local as usize + 1) % 3]);
            half.push((b, a));
        }
    }
    if half.is_empty() {
        return;
    }
    half.sort_unstable();
    let mut used = vec![false; half.len()];
    let out_range = |v: u32| {
        let s = half.partition_point(|h| h.0 < v);
        let e = half.partition_point(|h| h.0 <= v);
        (s, e)
    };
    for start in 0..half.len() {
        if used[start] {
            continue;
        }
        let mut loop_v = vec![half[start].0];
        let mut cur = start;
        used[start] = true;
        let mut ok = true;
        loop {
            let to = half[cur].1;
            if to == loop_v[0] {
                break;
            }
            let (s, e) = out_range(to);
            if e - s != 1 || used[s] {
                ok = false;
                // Mark the rest of this walk used so it is not retried.
                if e - s == 1 {
                    used[s] = true;
                }
                break;
            }
            loop_v.push(to);
            used[s] = true;
            cur = s;
            if loop_v.len() > half.len() {
                ok = false;
                break;
            }
        }
        if !ok || loop_v.len() < 3 || loop_v.len() > max_edges {
            r.holes_left_open += 1;
            continue;
        }
        let k = loop_v.len();
        if k == 3 {
            m.triangles.push([loop_v[0], loop_v[1], loop_v[2]]);
            r.hole_triangles_added += 1;
        } else {
            let mut c = [0.0; 3];
            for &v in &loop_v {
                let p = m.positions_mm[v as usize];
                for i in 0..3 {
                    c[i] += p[i];
                }
            }
            let ci = m.positions_mm.len() as u32;
            m.positions_mm.push(c.map(|x| x / k as f64));
            for i in 0..k {
                m.triangles.push([loop_v[i], loop_v[(i + 1) % k], ci]);
            }
            r.hole_triangles_added += k;
        }
        r.holes_filled += 1;
    }
    if r.holes_filled > 0 {
        r.notes.push(format!(
            "filled {} holes with {} triangles",
            r.holes_filled, r.hole_triangles_added
        ));
    }
    if r.holes_left_open > 0 {
        r.notes.push(format!(
            "left {} holes open (longer than the limit or not simple loops)",
            r.holes_left_open
        ));
    }
}

fn orient_outward(m: &mut Mesh, r: &mut RepairReport) {
    let Ok(adj) = Adjacency::build(m) else { return };
    let (label, count) = triangle_components(m, &adj);
    let mut closed = vec![true; count];
    for e in 0..adj.edges.len() {
        let u = adj.edge_uses(e);
        if u.len() != 2 || u[0].forward == u[1].forward {
            closed[label[u[0].triangle as usize] as usize] = false;
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (t, &l) in label.iter().enumerate() {
        members[l as usize].push(t);
    }
    let o = bbox_center(m);
    let closed_ids: Vec<usize> = (0..count).filter(|&c| closed[c]).collect();
    let check_nesting = closed_ids.len() > 1 && closed_ids.len() <= 64;
    if closed_ids.len() > 64 {
        r.notes.push(format!(
            "{} closed components: nesting not checked, every shell made outward",
            closed_ids.len()
        ));
    }
    let dir = {
        let d = [1.0, 0.754_877_666_246_692_7, 0.569_840_290_998_053_3];
        let l = dot(d, d).sqrt();
        d.map(|x| x / l)
    };
    let mut flips = Vec::new();
    for &c in &closed_ids {
        let vol = signed_volume(m, members[c].iter().copied(), o);
        let mut inside = false;
        if check_nesting {
            let t0 = m.triangles[members[c][0]].map(|v| m.positions_mm[v as usize]);
            let p = [0, 1, 2].map(|i| (t0[0][i] + t0[1][i] + t0[2][i]) / 3.0);
            let mut crossings = 0usize;
            for &d in &closed_ids {
                if d == c {
                    continue;
                }
                for &t in &members[d] {
                    let tc = m.triangles[t].map(|v| m.positions_mm[v as usize]);
                    if let Some((tt, _, _)) = ray_triangle(p, dir, &tc) {
                        if tt > 0.0 {
                            crossings += 1;
                        }
                    }
                }
            }
            inside = crossings % 2 == 1;
        }
        let want_positive = !inside;
        if vol != 0.0 && (vol > 0.0) != want_positive {
            flips.push(c);
        }
    }
    for &c in &flips {
        for &t in &members[c] {
            let tri = m.triangles[t];
            m.triangles[t] = [tri[0], tri[2], tri[1]];
        }
    }
    r.components_flipped_outward = flips.len();
    if !flips.is_empty() {
        r.notes.push(format!(
            "turned {} closed components outward (they were inside-out)",
            flips.len()
        ));
    }
}
