//! Triangle meshes in patient millimetres.
//!
//! Layout: `positions_mm[v] = [x, y, z]` (f64, patient LPS mm unless a function says
//! otherwise); `triangles[t] = [a, b, c]` (u32 vertex indices), counter-clockwise seen
//! from outside, so `(b - a) × (c - a)` points out of the solid. This rule is written
//! here once; every module relies on it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// Mesh core: formats, adjacency, checks and repair, measurement, mirror, BVH, distance
// (to a mesh, and from a segment to a triangle).
pub mod adjacency;
pub mod bvh;
pub mod distance;
pub mod io;
pub(crate) mod kdtree;
pub mod measure;
pub mod mirror;
pub mod pick;
pub mod repair;
pub mod segment_triangle;
pub mod shapes;
// Processing: registration, smoothing, remeshing, decimation.
pub mod decimate;
pub mod register;
pub mod remesh;
pub mod smooth;
pub mod symmetry;
pub(crate) mod topology;

/// An indexed triangle mesh.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions in mm.
    pub positions_mm: Vec<[f64; 3]>,
    /// Vertex indices of each triangle, counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
}

impl Mesh {
    /// A mesh from positions and triangles (not validated; see the repair module for checks).
    pub fn new(positions_mm: Vec<[f64; 3]>, triangles: Vec<[u32; 3]>) -> Self {
        Mesh {
            positions_mm,
            triangles,
        }
    }

    /// Number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.positions_mm.len()
    }

    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.triangles.len()
    }

    /// The three corner positions of triangle `t`.
    pub fn corners(&self, t: usize) -> [[f64; 3]; 3] {
        self.triangles[t].map(|v| self.positions_mm[v as usize])
    }
}
