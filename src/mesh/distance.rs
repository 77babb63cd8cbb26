//! Signed distance to a mesh and the deviation map between two meshes.
//!
//! The sign comes from the angle-weighted pseudo-normal of the closest feature (face,
//! edge or vertex; Bærentzen & Aanæs 2005): positive outside, negative inside, correct
//! for closed, consistently outward-wound meshes. Distances are sampled at vertices
//! (the colour-map convention); the Hausdorff figures are therefore vertex-sampled.

use super::bvh::{cross, dot, sub, Bvh, ClosestHit, Feature};
use super::io::{validate, MeshError};
use super::Mesh;

/// A mesh prepared for signed-distance queries (BVH + pseudo-normals).
#[derive(Clone, Debug)]
pub struct SignedDistance {
    bvh: Bvh,
    triangles: Vec<[u32; 3]>,
    face_normals: Vec<[f64; 3]>,
    vertex_normals: Vec<[f64; 3]>,
    edge_keys: Vec<[u32; 2]>,
    edge_normals: Vec<[f64; 3]>,
}

fn normalize(v: [f64; 3]) -> [f64; 3] {
    let l = dot(v, v).sqrt();
    if l > 0.0 {
        v.map(|x| x / l)
    } else {
        [0.0; 3]
    }
}

impl SignedDistance {
    /// Prepares `mesh` (fails on invalid indices, non-finite positions or no triangles).
    pub fn new(mesh: &Mesh) -> Result<SignedDistance, MeshError> {
        validate(mesh)?;
        if mesh.triangles.is_empty() {
            return Err(MeshError::Empty {
                format: "mesh",
                detail: "the reference mesh has no triangles".into(),
            });
        }
        let p = &mesh.positions_mm;
        let mut face_normals = Vec::with_capacity(mesh.triangles.len());
        let mut vertex_normals = vec![[0.0; 3]; p.len()];
        let mut edges: Vec<([u32; 2], u32)> = Vec::with_capacity(3 * mesh.triangles.len());
        for (t, tri) in mesh.triangles.iter().enumerate() {
            let c = tri.map(|v| p[v as usize]);
            let n = normalize(cross(sub(c[1], c[0]), sub(c[2], c[0])));
            face_normals.push(n);
            for k in 0..3 {
                let e1 = normalize(sub(c[(k + 1) % 3], c[k]));
                let e2 = normalize(sub(c[(k + 2) % 3], c[k]));
                // libm's acos: the same bits natively and in wasm (std's is the platform's).
                let ang = libm::acos(dot(e1, e2).clamp(-1.0, 1.0));
                let vn = &mut vertex_normals[tri[k] as usize];
                for i in 0..3 {
                    vn[i] += ang * n[i];
                }
                let (a, b) = (tri[k], tri[(k + 1) % 3]);
                edges.push((if a < b { [a, b] } else { [b, a] }, t as u32));
            }
        }
        edges.sort_unstable();
        let mut edge_keys: Vec<[u32; 2]> = Vec::new();
        let mut edge_normals: Vec<[f64; 3]> = Vec::new();
        for (key, t) in edges {
            let n = face_normals[t as usize];
            if edge_keys.last() != Some(&key) {
                edge_keys.push(key);
                edge_normals.push([0.0; 3]);
            }
            if let Some(en) = edge_normals.last_mut() {
                for i in 0..3 {
                    en[i] += n[i];
                }
            }
        }
        Ok(SignedDistance {
            bvh: Bvh::build(mesh)?,
            triangles: mesh.triangles.clone(),
            face_normals,
            vertex_normals,
            edge_keys,
            edge_normals,
        })
    }

    /// The BVH of the reference mesh.
    pub fn bvh(&self) -> &Bvh {
        &self.bvh
    }

    /// Signed distance (mm; + outside, − inside) and the closest point.
    pub fn query(&self, p: [f64; 3]) -> Option<(f64, ClosestHit)> {
        let hit = self.bvh.closest_point(p)?;
        let tri = self.triangles[hit.triangle as usize];
        let n = match hit.feature {
            Feature::Face => self.face_normals[hit.triangle as usize],
            Feature::Vertex(k) => self.vertex_normals[tri[k as usize] as usize],
            Feature::Edge(k) => {
                let (a, b) = (tri[k as usize], tri[(k as usize + 1) % 3]);
                let key = if a < b { [a, b] } else { [b, a] };
                match self.edge_keys.binary_search(&key) {
                    Ok(e) => self.edge_normals[e],
                    Err(_) => self.face_normals[hit.triangle as usize],
                }
            }
        };
        let s = dot(sub(p, hit.point_mm), n);
        let d = if s < 0.0 {
            -hit.distance_mm
        } else {
            hit.distance_mm
        };
        Some((d, hit))
    }
}

/// Deviation of mesh `a` from reference mesh `b`, sampled at the vertices.
#[derive(Clone, Debug, PartialEq)]
pub struct Deviation {
    /// Mean unsigned distance a→b (mm).
    pub mean_mm: f64,
    /// Mean signed distance a→b (mm; + = a lies outside b on average).
    pub mean_signed_mm: f64,
    /// Root-mean-square distance a→b (mm).
    pub rms_mm: f64,
    /// Maximum unsigned distance a→b: the one-sided Hausdorff distance (mm).
    pub max_mm: f64,
    /// Signed distance of each vertex of `a` to `b` (mm; + outside b, − inside b).
    pub per_vertex_mm: Vec<f64>,
    /// max(a→b, b→a), vertex-sampled (mm).
    pub symmetric_hausdorff_mm: f64,
}

/// Deviation map of `a` against reference `b` (both in the same frame, mm).
pub fn deviation(a: &Mesh, b: &Mesh) -> Result<Deviation, MeshError> {
    validate(a)?;
    if a.positions_mm.is_empty() {
        return Err(MeshError::Empty {
            format: "mesh",
            detail: "the measured mesh has no vertices".into(),
        });
    }
    let sd = SignedDistance::new(b)?;
    let mut per_vertex_mm = Vec::with_capacity(a.positions_mm.len());
    let (mut sum, mut sum_s, mut sum2, mut max) = (0.0, 0.0, 0.0, 0.0f64);
    for &p in &a.positions_mm {
        let d = sd.query(p).map(|(d, _)| d).unwrap_or(f64::INFINITY);
        per_vertex_mm.push(d);
        sum += d.abs();
        sum_s += d;
        sum2 += d * d;
        max = max.max(d.abs());
    }
    let n = a.positions_mm.len() as f64;
    let mut back = 0.0f64;
    if !a.triangles.is_empty() {
        let bvh_a = Bvh::build(a)?;
        for &p in &b.positions_mm {
            if let Some(h) = bvh_a.closest_point(p) {
                back = back.max(h.distance_mm);
            }
        }
    } else {
        back = f64::INFINITY;
    }
    Ok(Deviation {
        mean_mm: sum / n,
        mean_signed_mm: sum_s / n,
        rms_mm: (sum2 / n).sqrt(),
        max_mm: max,
        per_vertex_mm,
        symmetric_hausdorff_mm: max.max(back),
    })
}

/// Signed distance from `p` to `mesh` (mm; + outside). Builds the acceleration
/// structure each call: for many queries use [`SignedDistance`].
pub fn signed_distance(mesh: &Mesh, p: [f64; 3]) -> Result<f64, MeshError> {
    let sd = SignedDistance::new(mesh)?;
    sd.query(p)
        .map(|(d, _)| d)
        .ok_or(MeshError::InvalidParameter {
            detail: format!("query point {p:?} is not finite"),
        })
}
