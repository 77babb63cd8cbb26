//! Private helpers shared by `register`, `smooth`, `remesh` and `decimate`: small vector
//! maths, vertex adjacency (CSR), boundary flags, a kd-tree over points, a uniform grid
//! over triangles for closest-point queries, and a mutable triangle soup with
//! vertex→triangle incidence for local edits (split / collapse / flip).
//!
//! All containers are vectors or sorted lists; nothing iterates a `HashMap`, so every
//! result is deterministic. Positions are in the mesh's own coordinate space (mm).

use super::Mesh;

pub(crate) type V3 = [f64; 3];

#[inline]
pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline]
pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
#[inline]
pub(crate) fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
#[inline]
pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
#[inline]
pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline]
pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}
#[inline]
pub(crate) fn dist2(a: V3, b: V3) -> f64 {
    let d = sub(a, b);
    dot(d, d)
}
#[inline]
pub(crate) fn normalize(a: V3) -> V3 {
    let n = norm(a);
    if n > 0.0 {
        scale(a, 1.0 / n)
    } else {
        [0.0; 3]
    }
}

/// Twice-area-weighted normal `(b - a) × (c - a)` of a triangle.
#[inline]
pub(crate) fn tri_normal2(p: &[V3], t: [u32; 3]) -> V3 {
    let a = p[t[0] as usize];
    cross(sub(p[t[1] as usize], a), sub(p[t[2] as usize], a))
}

/// True when every index of every triangle is in range and every position is finite.
pub(crate) fn mesh_is_valid(mesh: &Mesh) -> bool {
    let n = mesh.positions_mm.len();
    mesh.positions_mm
        .iter()
        .all(|p| p.iter().all(|c| c.is_finite()))
        && mesh
            .triangles
            .iter()
            .all(|t| t.iter().all(|&v| (v as usize) < n))
}

/// Area-weighted unit vertex normals (zero for isolated vertices).
pub(crate) fn vertex_normals(p: &[V3], tris: &[[u32; 3]]) -> Vec<V3> {
    let mut n = vec![[0.0; 3]; p.len()];
    for &t in tris {
        let f = tri_normal2(p, t);
        for &v in &t {
            n[v as usize] = add(n[v as usize], f);
        }
    }
    n.into_iter().map(normalize).collect()
}

/// Signed volume (mm³) enclosed by a closed, outward-oriented mesh.
#[cfg(test)]
pub(crate) fn signed_volume(p: &[V3], tris: &[[u32; 3]]) -> f64 {
    tris.iter()
        .map(|t| dot(p[t[0] as usize], cross(p[t[1] as usize], p[t[2] as usize])))
        .sum::<f64>()
        / 6.0
}

/// Compressed vertex adjacency: `nbr[off[v]..off[v + 1]]` are the sorted, unique
/// neighbours of `v`.
pub(crate) struct Adjacency {
    pub off: Vec<usize>,
    pub nbr: Vec<u32>,
}

impl Adjacency {
    pub fn new(n_vertices: usize, tris: &[[u32; 3]]) -> Self {
        let (mut off, mut nbr) = sorted_pairs(n_vertices, |push| {
            for t in tris {
                for k in 0..3 {
                    let (a, b) = (t[k], t[(k + 1) % 3]);
                    push(a, b);
                    push(b, a);
                }
            }
        });
        // Drop repeated neighbours in place, run by run.
        let mut w = 0;
        let mut start = 0;
        for v in 0..n_vertices {
            let end = off[v + 1];
            off[v] = w;
            for k in start..end {
                if k == start || nbr[k] != nbr[k - 1] {
                    nbr[w] = nbr[k];
                    w += 1;
                }
            }
            start = end;
        }
        off[n_vertices] = w;
        nbr.truncate(w);
        Adjacency { off, nbr }
    }
    #[inline]
    pub fn of(&self, v: usize) -> &[u32] {
        &self.nbr[self.off[v]..self.off[v + 1]]
    }
}

/// The pairs `fill` pushes (every `a < n`; it is called twice and must push the same
/// pairs both times), in sorted order as compressed rows: the `b`s of `a` are
/// `second[off[a]..off[a + 1]]`, ascending. A counting sort on `a` and a sort of each
/// (short) row — the order `sort_unstable` would give, in linear time for mesh edges
/// (1.3 M triangles: 7.8 M pairs, the bulk of Taubin smoothing's set-up before).
fn sorted_pairs(n: usize, fill: impl Fn(&mut dyn FnMut(u32, u32))) -> (Vec<usize>, Vec<u32>) {
    let mut off = vec![0usize; n + 1];
    fill(&mut |a, _| off[a as usize + 1] += 1);
    for i in 0..n {
        off[i + 1] += off[i];
    }
    let mut next = off.clone();
    let mut second = vec![0u32; off[n]];
    fill(&mut |a, b| {
        second[next[a as usize]] = b;
        next[a as usize] += 1;
    });
    for a in 0..n {
        second[off[a]..off[a + 1]].sort_unstable();
    }
    (off, second)
}

/// `true` for vertices on an edge used by exactly one triangle (or by more than two:
/// non-manifold edges are treated like boundaries, i.e. kept fixed).
pub(crate) fn boundary_vertices(n_vertices: usize, tris: &[[u32; 3]]) -> Vec<bool> {
    let (off, second) = sorted_pairs(n_vertices, |push| {
        for t in tris {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                push(a.min(b), a.max(b));
            }
        }
    });
    let mut flag = vec![false; n_vertices];
    for a in 0..n_vertices {
        let row = &second[off[a]..off[a + 1]];
        let mut i = 0;
        while i < row.len() {
            let mut j = i + 1;
            while j < row.len() && row[j] == row[i] {
                j += 1;
            }
            if j - i != 2 {
                flag[a] = true;
                flag[row[i] as usize] = true;
            }
            i = j;
        }
    }
    flag
}

/// Closest point on triangle `abc` to `p` (Ericson, Real-Time Collision Detection 5.1.5).
pub(crate) fn closest_point_on_triangle(p: V3, a: V3, b: V3, c: V3) -> V3 {
    let ab = sub(b, a);
    let ac = sub(c, a);
    let ap = sub(p, a);
    let d1 = dot(ab, ap);
    let d2 = dot(ac, ap);
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = sub(p, b);
    let d3 = dot(ab, bp);
    let d4 = dot(ac, bp);
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        let v = d1 / (d1 - d3);
        return add(a, scale(ab, v));
    }
    let cp = sub(p, c);
    let d5 = dot(ab, cp);
    let d6 = dot(ac, cp);
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        let w = d2 / (d2 - d6);
        return add(a, scale(ac, w));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        return add(b, scale(sub(c, b), w));
    }
    let denom = va + vb + vc;
    if denom.abs() < 1e-300 {
        return a;
    }
    let v = vb / denom;
    let w = vc / denom;
    add(a, add(scale(ab, v), scale(ac, w)))
}

/// Uniform grid over the triangles of a fixed surface, for closest-point queries.
pub(crate) struct TriangleGrid {
    pts: Vec<V3>,
    tris: Vec<[u32; 3]>,
    origin: V3,
    cell: f64,
    dims: [usize; 3],
    /// CSR: triangles overlapping cell `c` are `items[start[c]..start[c + 1]]`.
    start: Vec<usize>,
    items: Vec<u32>,
}

impl TriangleGrid {
    /// Builds a grid with roughly `per_cell` triangles per occupied cell.
    pub fn new(mesh: &Mesh) -> Self {
        let pts = mesh.positions_mm.clone();
        let tris = mesh.triangles.clone();
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for t in &tris {
            for &v in t {
                let p = pts[v as usize];
                for k in 0..3 {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
            }
        }
        if tris.is_empty() {
            lo = [0.0; 3];
            hi = [0.0; 3];
        }
        // Cell about twice the mean edge length.
        let mut sum_e = 0.0;
        for t in &tris {
            sum_e += norm(sub(pts[t[1] as usize], pts[t[0] as usize]));
        }
        let mean_e = if tris.is_empty() {
            1.0
        } else {
            sum_e / tris.len() as f64
        };
        let ext = sub(hi, lo);
        let max_ext = ext[0].max(ext[1]).max(ext[2]).max(1e-9);
        // At most ~2^21 cells.
        let mut cell = (2.0 * mean_e).max(max_ext / 128.0).max(1e-9);
        let vol_cells = |c: f64| (0..3).map(|k| (ext[k] / c).floor() + 1.0).product::<f64>();
        while vol_cells(cell) > 2.0e6 {
            cell *= 1.25;
        }
        let dims = [0, 1, 2].map(|k| ((ext[k] / cell).floor() as usize + 1).max(1));
        let ncell = dims[0] * dims[1] * dims[2];
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (ti, t) in tris.iter().enumerate() {
            let mut tlo = [f64::INFINITY; 3];
            let mut thi = [f64::NEG_INFINITY; 3];
            for &v in t {
                let p = pts[v as usize];
                for k in 0..3 {
                    tlo[k] = tlo[k].min(p[k]);
                    thi[k] = thi[k].max(p[k]);
                }
            }
            let c0 = [0, 1, 2]
                .map(|k| (((tlo[k] - lo[k]) / cell).floor().max(0.0) as usize).min(dims[k] - 1));
            let c1 = [0, 1, 2]
                .map(|k| (((thi[k] - lo[k]) / cell).floor().max(0.0) as usize).min(dims[k] - 1));
            for z in c0[2]..=c1[2] {
                for y in c0[1]..=c1[1] {
                    for x in c0[0]..=c1[0] {
                        pairs.push((((z * dims[1] + y) * dims[0] + x) as u32, ti as u32));
                    }
                }
            }
        }
        pairs.sort_unstable();
        let mut start = vec![0usize; ncell + 1];
        for &(c, _) in &pairs {
            start[c as usize + 1] += 1;
        }
        for i in 0..ncell {
            start[i + 1] += start[i];
        }
        let items = pairs.into_iter().map(|(_, t)| t).collect();
        TriangleGrid {
            pts,
            tris,
            origin: lo,
            cell,
            dims,
            start,
            items,
        }
    }

    /// Closest point on the surface to `q`: `(point, squared distance, triangle)`.
    pub fn closest(&self, q: V3) -> Option<(V3, f64, usize)> {
        if self.tris.is_empty() {
            return None;
        }
        // Query cell (clamped far outside the grid so the integer maths cannot overflow).
        let lim = 1i64 << 40;
        let qc = [0, 1, 2]
            .map(|k| (((q[k] - self.origin[k]) / self.cell).floor() as i64).clamp(-lim, lim));
        let mut best: Option<(V3, f64, usize)> = None;
        // Rings closer than the grid box are empty: start at its Chebyshev distance.
        let r0 = (0..3)
            .map(|k| (-qc[k]).max(qc[k] - (self.dims[k] as i64 - 1)).max(0))
            .max()
            .unwrap_or(0);
        let maxr = r0 + self.dims.iter().copied().max().unwrap_or(1) as i64 + 1;
        for r in r0..=maxr {
            // Visit the shell of cells at Chebyshev distance r (clipped to the grid).
            let lo = [0, 1, 2].map(|k| (qc[k] - r).max(0));
            let hi = [0, 1, 2].map(|k| (qc[k] + r).min(self.dims[k] as i64 - 1));
            if lo.iter().zip(hi.iter()).all(|(a, b)| a <= b) {
                for z in lo[2]..=hi[2] {
                    for y in lo[1]..=hi[1] {
                        for x in lo[0]..=hi[0] {
                            let on_shell = (x - qc[0]).abs() == r
                                || (y - qc[1]).abs() == r
                                || (z - qc[2]).abs() == r;
                            if !on_shell {
                                continue;
                            }
                            let c = ((z as usize * self.dims[1] + y as usize) * self.dims[0])
                                + x as usize;
                            for &ti in &self.items[self.start[c]..self.start[c + 1]] {
                                let t = self.tris[ti as usize];
                                let p = closest_point_on_triangle(
                                    q,
                                    self.pts[t[0] as usize],
                                    self.pts[t[1] as usize],
                                    self.pts[t[2] as usize],
                                );
                                let d = dist2(p, q);
                                let better = match best {
                                    None => true,
                                    Some((_, bd, bt)) => d < bd || (d == bd && (ti as usize) < bt),
                                };
                                if better {
                                    best = Some((p, d, ti as usize));
                                }
                            }
                        }
                    }
                }
            }
            if let Some((_, bd, _)) = best {
                // Everything not yet visited is at least this far from q.
                let mut bound = f64::INFINITY;
                for k in 0..3 {
                    let cube_lo = self.origin[k] + (qc[k] - r) as f64 * self.cell;
                    let cube_hi = self.origin[k] + (qc[k] + r + 1) as f64 * self.cell;
                    bound = bound.min(q[k] - cube_lo).min(cube_hi - q[k]);
                }
                let covers_all =
                    (0..3).all(|k| qc[k] - r <= 0 && qc[k] + r >= self.dims[k] as i64 - 1);
                if covers_all || (bound > 0.0 && bd <= bound * bound) {
                    return best;
                }
            }
        }
        best
    }
}

/// A triangle soup with vertex→triangle incidence, for local edits. Dead triangles keep
/// their slot (flag `alive`) until [`DynMesh::into_mesh`] compacts the arrays.
pub(crate) struct DynMesh {
    pub pos: Vec<V3>,
    pub tris: Vec<[u32; 3]>,
    pub alive: Vec<bool>,
    /// Triangles incident to each vertex (alive ones only).
    pub vt: Vec<Vec<u32>>,
    /// Fixed (boundary or non-manifold) vertices.
    pub boundary: Vec<bool>,
    pub vertex_alive: Vec<bool>,
}

impl DynMesh {
    pub fn new(mesh: &Mesh) -> Self {
        let n = mesh.positions_mm.len();
        let mut vt = vec![Vec::new(); n];
        for (i, t) in mesh.triangles.iter().enumerate() {
            for &v in t {
                vt[v as usize].push(i as u32);
            }
        }
        let boundary = boundary_vertices(n, &mesh.triangles);
        let vertex_alive = vt.iter().map(|l| !l.is_empty()).collect();
        DynMesh {
            pos: mesh.positions_mm.clone(),
            tris: mesh.triangles.clone(),
            alive: vec![true; mesh.triangles.len()],
            vt,
            boundary,
            vertex_alive,
        }
    }

    /// Unique undirected edges `(min, max)` of alive triangles, sorted.
    pub fn edges(&self) -> Vec<(u32, u32)> {
        let mut e = Vec::with_capacity(self.tris.len() * 3);
        for (i, t) in self.tris.iter().enumerate() {
            if !self.alive[i] {
                continue;
            }
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                e.push((a.min(b), a.max(b)));
            }
        }
        e.sort_unstable();
        e.dedup();
        e
    }

    /// Alive triangles containing both `a` and `b`.
    pub fn edge_tris(&self, a: u32, b: u32) -> Vec<u32> {
        self.vt[a as usize]
            .iter()
            .copied()
            .filter(|&t| self.tris[t as usize].contains(&b))
            .collect()
    }

    /// Sorted unique neighbours of `v`.
    pub fn neighbours(&self, v: u32) -> Vec<u32> {
        let mut n: Vec<u32> = Vec::with_capacity(self.vt[v as usize].len() * 2);
        for &t in &self.vt[v as usize] {
            for &w in &self.tris[t as usize] {
                if w != v {
                    n.push(w);
                }
            }
        }
        n.sort_unstable();
        n.dedup();
        n
    }

    /// Third vertex of triangle `t` given the edge `(a, b)`, and whether the triangle
    /// runs `a → b` (true) or `b → a`.
    fn third(&self, t: u32, a: u32, b: u32) -> (u32, bool) {
        let tri = self.tris[t as usize];
        let mut c = tri[0];
        for &v in &tri {
            if v != a && v != b {
                c = v;
            }
        }
        let ia = tri.iter().position(|&v| v == a).unwrap_or(0);
        (c, tri[(ia + 1) % 3] == b)
    }

    fn add_tri(&mut self, t: [u32; 3]) -> u32 {
        let id = self.tris.len() as u32;
        self.tris.push(t);
        self.alive.push(true);
        for &v in &t {
            self.vt[v as usize].push(id);
        }
        id
    }

    fn remove_from_vt(&mut self, v: u32, t: u32) {
        let l = &mut self.vt[v as usize];
        if let Some(i) = l.iter().position(|&x| x == t) {
            l.swap_remove(i);
        }
    }

    /// Splits edge `(a, b)` at `p`; returns the new vertex.
    pub fn split(&mut self, a: u32, b: u32, p: V3) -> u32 {
        let m = self.pos.len() as u32;
        let ts = self.edge_tris(a, b);
        self.pos.push(p);
        self.vt.push(Vec::new());
        self.vertex_alive.push(true);
        self.boundary.push(ts.len() != 2);
        for t in ts {
            let (c, fwd) = self.third(t, a, b);
            let y = if fwd { b } else { a }; // triangle is x → y → c (x the other end)
                                             // Old triangle becomes x → m → c, new triangle m → y → c.
            let tri = &mut self.tris[t as usize];
            for v in tri.iter_mut() {
                if *v == y {
                    *v = m;
                }
            }
            self.remove_from_vt(y, t);
            self.vt[m as usize].push(t);
            self.add_tri([m, y, c]);
        }
        m
    }

    /// Whether collapsing `a` into `b` keeps the mesh manifold (link condition, no
    /// valence-3 opposite vertices, interior edge with two triangles).
    pub fn collapse_ok_topology(&self, a: u32, b: u32) -> bool {
        let ts = self.edge_tris(a, b);
        if ts.len() != 2 {
            return false;
        }
        let na = self.neighbours(a);
        let nb = self.neighbours(b);
        let common: Vec<u32> = na
            .iter()
            .copied()
            .filter(|v| nb.binary_search(v).is_ok())
            .collect();
        if common.len() != 2 {
            return false;
        }
        for &c in &common {
            if self.vt[c as usize].len() <= 3 {
                return false;
            }
        }
        // Avoid collapsing a tetrahedron-like pocket.
        na.len() + nb.len() > 6
    }

    /// Whether moving `a` and `b` to `p` (collapse) keeps each surviving triangle's
    /// normal within ~90° of its old direction and non-degenerate.
    pub fn collapse_ok_geometry(&self, a: u32, b: u32, p: V3, min_cos: f64) -> bool {
        for &v in &[a, b] {
            for &t in &self.vt[v as usize] {
                let tri = self.tris[t as usize];
                if tri.contains(&a) && tri.contains(&b) {
                    continue;
                }
                let before = tri_normal2(&self.pos, tri);
                let q = tri.map(|w| {
                    if w == a || w == b {
                        p
                    } else {
                        self.pos[w as usize]
                    }
                });
                let after = cross(sub(q[1], q[0]), sub(q[2], q[0]));
                let (nb, na) = (norm(before), norm(after));
                if na <= 1e-12 * (1.0 + nb) || nb <= 0.0 {
                    return false;
                }
                if dot(before, after) < min_cos * nb * na {
                    return false;
                }
            }
        }
        true
    }

    /// Collapses `a` into `b`, placing `b` at `p`.
    pub fn collapse(&mut self, a: u32, b: u32, p: V3) {
        let ts = self.edge_tris(a, b);
        for &t in &ts {
            self.alive[t as usize] = false;
            for v in self.tris[t as usize] {
                self.remove_from_vt(v, t);
            }
        }
        let rest = std::mem::take(&mut self.vt[a as usize]);
        for &t in &rest {
            for v in self.tris[t as usize].iter_mut() {
                if *v == a {
                    *v = b;
                }
            }
            self.vt[b as usize].push(t);
        }
        self.vertex_alive[a as usize] = false;
        self.pos[b as usize] = p;
    }

    /// Flips the interior edge `(a, b)` if the result is manifold; returns success.
    pub fn flip(&mut self, a: u32, b: u32) -> bool {
        let ts = self.edge_tris(a, b);
        if ts.len() != 2 {
            return false;
        }
        let (c0, f0) = self.third(ts[0], a, b);
        let (c1, _) = self.third(ts[1], a, b);
        // Orient: t1 runs x → y → c, t2 runs y → x → d.
        let (t1, t2, c, d) = if f0 {
            (ts[0], ts[1], c0, c1)
        } else {
            (ts[1], ts[0], c1, c0)
        };
        let (x, y) = (a, b);
        if c == d || self.neighbours(c).binary_search(&d).is_ok() {
            return false;
        }
        // New triangles (x, d, c) and (d, y, c).
        self.remove_from_vt(y, t1);
        self.remove_from_vt(x, t2);
        self.tris[t1 as usize] = [x, d, c];
        self.tris[t2 as usize] = [d, y, c];
        self.vt[d as usize].push(t1);
        self.vt[c as usize].push(t2);
        true
    }

    /// Compacts into a `Mesh` (dead triangles and unused vertices dropped, order kept).
    pub fn into_mesh(self) -> Mesh {
        let mut remap = vec![u32::MAX; self.pos.len()];
        let mut positions = Vec::new();
        let mut tris = Vec::new();
        for (i, t) in self.tris.iter().enumerate() {
            if !self.alive[i] {
                continue;
            }
            let mut nt = [0u32; 3];
            for k in 0..3 {
                let v = t[k] as usize;
                if remap[v] == u32::MAX {
                    remap[v] = positions.len() as u32;
                    positions.push(self.pos[v]);
                }
                nt[k] = remap[v];
            }
            tris.push(nt);
        }
        Mesh::new(positions, tris)
    }
}

/// Largest distance between two surfaces, mm, estimated from samples: vertices and
/// triangle centroids of `out` against the `input` surface, and vertices of `input`
/// against `out`.
pub(crate) fn two_sided_deviation(input: &Mesh, input_grid: &TriangleGrid, out: &Mesh) -> f64 {
    let mut worst2: f64 = 0.0;
    let p = &out.positions_mm;
    let mut used = vec![false; p.len()];
    for t in &out.triangles {
        for &v in t {
            used[v as usize] = true;
        }
        let c = scale(
            add(add(p[t[0] as usize], p[t[1] as usize]), p[t[2] as usize]),
            1.0 / 3.0,
        );
        if let Some((_, d2, _)) = input_grid.closest(c) {
            worst2 = worst2.max(d2);
        }
    }
    for (i, &q) in p.iter().enumerate() {
        if used[i] {
            if let Some((_, d2, _)) = input_grid.closest(q) {
                worst2 = worst2.max(d2);
            }
        }
    }
    let out_grid = TriangleGrid::new(out);
    let mut used_in = vec![false; input.positions_mm.len()];
    for t in &input.triangles {
        for &v in t {
            used_in[v as usize] = true;
        }
    }
    for (i, &q) in input.positions_mm.iter().enumerate() {
        if used_in[i] {
            if let Some((_, d2, _)) = out_grid.closest(q) {
                worst2 = worst2.max(d2);
            }
        }
    }
    worst2.sqrt()
}

/// Every edge used exactly once in each direction (closed, consistently oriented, manifold).
#[cfg(test)]
pub(crate) fn is_closed_oriented(tris: &[[u32; 3]]) -> bool {
    let mut e: Vec<(u32, u32)> = Vec::new();
    for t in tris {
        for k in 0..3 {
            e.push((t[k], t[(k + 1) % 3]));
        }
    }
    e.sort_unstable();
    if e.windows(2).any(|w| w[0] == w[1]) {
        return false;
    }
    e.iter().all(|&(a, b)| e.binary_search(&(b, a)).is_ok())
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Icosphere of radius `r` (mm) centred at the origin, `level` subdivisions.
    pub fn icosphere(r: f64, level: u32) -> Mesh {
        crate::mesh::shapes::ico_sphere(r, level)
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::icosphere;
    use super::*;

    fn lcg(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn grid_and_kdtree_match_brute_force_near_and_far() {
        let m = icosphere(10.0, 3);
        let grid = TriangleGrid::new(&m);
        let tree = crate::mesh::kdtree::KdTree::new(&m.positions_mm);
        let mut s = 1u64;
        for i in 0..300 {
            let spread = if i % 3 == 0 { 200.0 } else { 25.0 };
            let q = [0, 1, 2].map(|_| (lcg(&mut s) - 0.5) * spread);
            let brute_tri = m
                .triangles
                .iter()
                .map(|t| {
                    let c = t.map(|v| m.positions_mm[v as usize]);
                    dist2(q, closest_point_on_triangle(q, c[0], c[1], c[2]))
                })
                .fold(f64::INFINITY, f64::min);
            let (_, d2, _) = grid.closest(q).expect("non-empty");
            assert!(
                (d2 - brute_tri).abs() <= 1e-9 * (1.0 + brute_tri),
                "{q:?}: {d2} vs {brute_tri}"
            );
            let brute_v = m
                .positions_mm
                .iter()
                .map(|&p| dist2(p, q))
                .fold(f64::INFINITY, f64::min);
            let (_, kd2) = tree.nearest(q).expect("non-empty");
            assert_eq!(kd2, brute_v);
        }
        // A far-away, huge coordinate does not overflow.
        assert!(grid.closest([1e300, 0.0, 0.0]).is_some());
    }

    #[test]
    fn icosphere_is_closed_and_outward() {
        let m = icosphere(5.0, 2);
        assert!(is_closed_oriented(&m.triangles));
        assert!(signed_volume(&m.positions_mm, &m.triangles) > 0.0);
    }
}
