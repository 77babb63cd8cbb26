//! Edge and vertex adjacency of an indexed triangle mesh, built by sorting (no hashing),
//! so every order below is deterministic.
//!
//! Local edge `k` of triangle `t = [a, b, c]` runs from corner `k` to corner `(k+1) % 3`:
//! edge 0 = a→b, edge 1 = b→c, edge 2 = c→a.

use super::io::MeshError;
use super::Mesh;

/// One use of an undirected edge by a triangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EdgeUse {
    /// Triangle index.
    pub triangle: u32,
    /// Local edge index 0..3 in that triangle.
    pub local: u8,
    /// True when the triangle runs the edge from `edge[0]` to `edge[1]` (low → high index).
    pub forward: bool,
}

/// Undirected edges and the triangles using each.
#[derive(Clone, Debug, Default)]
pub struct Adjacency {
    /// Unique undirected edges `[low, high]`, sorted.
    pub edges: Vec<[u32; 2]>,
    /// `uses[edge_offsets[e]..edge_offsets[e + 1]]` are the uses of edge `e`, by triangle.
    pub edge_offsets: Vec<u32>,
    /// Edge uses grouped by edge.
    pub uses: Vec<EdgeUse>,
    /// `triangle_edges[t][k]` = index into `edges` of local edge `k` of triangle `t`.
    pub triangle_edges: Vec<[u32; 3]>,
}

impl Adjacency {
    /// Builds the edge map. Fails when a triangle refers to a missing vertex.
    pub fn build(mesh: &Mesh) -> Result<Adjacency, MeshError> {
        let n = mesh.positions_mm.len();
        if mesh.triangles.len() > (u32::MAX / 3) as usize {
            return Err(MeshError::TooLarge {
                count: mesh.triangles.len(),
            });
        }
        // Key: low vertex (32 bits) | high vertex (32) | 3·triangle + local edge (32),
        // packed in a u128 so one integer sort orders edges, then triangles.
        let mut keyed: Vec<u128> = Vec::with_capacity(mesh.triangles.len() * 3);
        for (t, tri) in mesh.triangles.iter().enumerate() {
            for k in 0..3 {
                let (a, b) = (tri[k], tri[(k + 1) % 3]);
                if a as usize >= n {
                    return Err(MeshError::InvalidIndex {
                        triangle: t,
                        index: a as i64,
                        vertex_count: n,
                    });
                }
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                keyed.push(((lo as u128) << 64) | ((hi as u128) << 32) | (3 * t + k) as u128);
            }
        }
        keyed.sort_unstable();
        let mut adj = Adjacency {
            triangle_edges: vec![[0; 3]; mesh.triangles.len()],
            uses: Vec::with_capacity(keyed.len()),
            ..Default::default()
        };
        for x in keyed {
            let key = [(x >> 64) as u32, (x >> 32) as u32];
            let tk = x as u32;
            let (t, k) = (tk / 3, (tk % 3) as usize);
            let tri = mesh.triangles[t as usize];
            let u = EdgeUse {
                triangle: t,
                local: k as u8,
                forward: tri[k] < tri[(k + 1) % 3],
            };
            if adj.edges.last() != Some(&key) {
                adj.edge_offsets.push(adj.uses.len() as u32);
                adj.edges.push(key);
            }
            adj.triangle_edges[t as usize][k] = (adj.edges.len() - 1) as u32;
            adj.uses.push(u);
        }
        adj.edge_offsets.push(adj.uses.len() as u32);
        Ok(adj)
    }

    /// Uses of edge `e`.
    pub fn edge_uses(&self, e: usize) -> &[EdgeUse] {
        &self.uses[self.edge_offsets[e] as usize..self.edge_offsets[e + 1] as usize]
    }

    /// Number of triangles on edge `e` (1 = boundary, 2 = manifold, more = non-manifold).
    pub fn valence(&self, e: usize) -> usize {
        (self.edge_offsets[e + 1] - self.edge_offsets[e]) as usize
    }

    /// Index of the undirected edge `{a, b}`, if present (binary search).
    pub fn find_edge(&self, a: u32, b: u32) -> Option<usize> {
        let key = if a <= b { [a, b] } else { [b, a] };
        self.edges.binary_search(&key).ok()
    }

    /// The triangle across local edge `k` of triangle `t` when that edge is manifold.
    pub fn neighbour(&self, t: usize, k: usize) -> Option<u32> {
        let e = self.triangle_edges[t][k] as usize;
        let u = self.edge_uses(e);
        if u.len() != 2 {
            return None;
        }
        Some(if u[0].triangle as usize == t {
            u[1].triangle
        } else {
            u[0].triangle
        })
    }
}

/// Triangles around each vertex as compressed rows: the triangles of vertex `v` are
/// `triangles[offsets[v]..offsets[v + 1]]`, ascending. Indices must be in range.
pub fn vertex_triangles(mesh: &Mesh) -> Result<(Vec<u32>, Vec<u32>), MeshError> {
    let n = mesh.positions_mm.len();
    let mut offsets = vec![0u32; n + 1];
    for (t, tri) in mesh.triangles.iter().enumerate() {
        for &v in tri {
            if v as usize >= n {
                return Err(MeshError::InvalidIndex {
                    triangle: t,
                    index: v as i64,
                    vertex_count: n,
                });
            }
            offsets[v as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut tris = vec![0u32; offsets[n] as usize];
    for (t, tri) in mesh.triangles.iter().enumerate() {
        for &v in tri {
            tris[fill[v as usize] as usize] = t as u32;
            fill[v as usize] += 1;
        }
    }
    Ok((offsets, tris))
}

/// Union–find with path halving; deterministic (the smaller root wins).
#[derive(Clone, Debug)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }
    /// Root of `x`.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = p;
            x = p;
        }
        x
    }
    /// Joins the sets of `a` and `b`.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// Triangle components (triangles joined through shared edges): `(label per triangle,
/// component count)`, labels numbered in order of each component's lowest triangle.
pub fn triangle_components(mesh: &Mesh, adj: &Adjacency) -> (Vec<u32>, usize) {
    let mut uf = UnionFind::new(mesh.triangles.len());
    for e in 0..adj.edges.len() {
        let u = adj.edge_uses(e);
        for w in u.windows(2) {
            uf.union(w[0].triangle, w[1].triangle);
        }
    }
    let mut label = vec![u32::MAX; mesh.triangles.len()];
    let mut root_label = vec![u32::MAX; mesh.triangles.len()];
    let mut count = 0u32;
    for (t, l) in label.iter_mut().enumerate() {
        let r = uf.find(t as u32) as usize;
        if root_label[r] == u32::MAX {
            root_label[r] = count;
            count += 1;
        }
        *l = root_label[r];
    }
    (label, count as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::{box_mesh, box_with_hole};

    #[test]
    fn box_has_eighteen_manifold_edges_and_symmetric_neighbours() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        let adj = Adjacency::build(&m).unwrap();
        assert_eq!(adj.edges.len(), 18);
        assert!((0..18).all(|e| adj.valence(e) == 2));
        for t in 0..12 {
            for k in 0..3 {
                let n = adj.neighbour(t, k).unwrap() as usize;
                assert!((0..3).any(|j| adj.neighbour(n, j) == Some(t as u32)));
            }
        }
        assert_eq!(adj.find_edge(6, 2), adj.find_edge(2, 6));
        let (off, tris) = vertex_triangles(&m).unwrap();
        assert_eq!(off[8] as usize, tris.len());
        assert_eq!(triangle_components(&m, &adj).1, 1);
    }

    #[test]
    fn frame_has_euler_characteristic_zero() {
        let m = box_with_hole(10.0, 4.0, 2.0);
        let adj = Adjacency::build(&m).unwrap();
        let chi = m.positions_mm.len() as i64 - adj.edges.len() as i64 + m.triangles.len() as i64;
        assert_eq!(chi, 0);
    }

    #[test]
    fn out_of_range_index_is_an_error_not_a_panic() {
        let m = Mesh::new(vec![[0.0; 3]], vec![[0, 0, 5]]);
        assert!(Adjacency::build(&m).is_err());
        assert!(vertex_triangles(&m).is_err());
    }
}
