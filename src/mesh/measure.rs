//! Volume, area, centroid, principal axes and bounding box of a triangle mesh.
//!
//! All sums run in triangle order in f64 on one thread, so results are bit-identical
//! natively and in wasm. Volume uses the divergence theorem (sum of signed tetrahedra
//! from a reference point: the bounding-box centre, which keeps the sums well
//! conditioned far from the origin); for a closed mesh the result does not depend on the
//! reference point, for an open mesh it does (and is reported as such by `closed`).

use super::adjacency::Adjacency;
use super::io::{validate, MeshError};
use super::Mesh;

/// Axis-aligned bounding box in mm.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct BoundingBox {
    /// Minimum corner (mm).
    pub min_mm: [f64; 3],
    /// Maximum corner (mm).
    pub max_mm: [f64; 3],
}

impl BoundingBox {
    /// Edge lengths (mm).
    pub fn extent_mm(&self) -> [f64; 3] {
        [0, 1, 2].map(|i| self.max_mm[i] - self.min_mm[i])
    }
    /// Centre (mm).
    pub fn center_mm(&self) -> [f64; 3] {
        [0, 1, 2].map(|i| 0.5 * (self.max_mm[i] + self.min_mm[i]))
    }
}

/// Principal axes of the mass distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrincipalAxes {
    /// Centre of mass (mm).
    pub centroid_mm: [f64; 3],
    /// Unit axes, largest spread first (smallest moment of inertia first). Sign rule:
    /// the component of largest magnitude of axes 0 and 1 is positive (lowest coordinate
    /// index wins a tie); axis 2 = axis 0 × axis 1 (right-handed).
    pub axes: [[f64; 3]; 3],
    /// Second moments about the centroid along each axis: ∫ (x·axis)² dV in mm⁵ for a
    /// solid, ∫ (x·axis)² dA in mm⁴ for a surface.
    pub second_moments: [f64; 3],
    /// True when computed for the enclosed solid, false for the surface (open mesh).
    pub solid: bool,
}

/// Everything measured in one pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MassProperties {
    /// Signed enclosed volume (mm³); positive for a closed outward mesh.
    pub volume_mm3: f64,
    /// Surface area (mm²).
    pub area_mm2: f64,
    /// Volume centroid for a closed mesh, area centroid otherwise (mm).
    pub centroid_mm: [f64; 3],
    /// True when every edge has exactly two triangles.
    pub closed: bool,
    /// Bounding box of the referenced vertices.
    pub bbox: BoundingBox,
}

#[inline]
fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Bounding box of all vertices; `None` for a mesh without vertices.
pub fn bounding_box(mesh: &Mesh) -> Option<BoundingBox> {
    let first = *mesh.positions_mm.first()?;
    let (mut lo, mut hi) = (first, first);
    for p in &mesh.positions_mm {
        for i in 0..3 {
            lo[i] = lo[i].min(p[i]);
            hi[i] = hi[i].max(p[i]);
        }
    }
    Some(BoundingBox {
        min_mm: lo,
        max_mm: hi,
    })
}

fn reference(mesh: &Mesh) -> [f64; 3] {
    bounding_box(mesh)
        .map(|b| b.center_mm())
        .unwrap_or([0.0; 3])
}

/// Signed volume (mm³): positive when a closed mesh is wound outward.
pub fn volume_mm3(mesh: &Mesh) -> Result<f64, MeshError> {
    validate(mesh)?;
    let o = reference(mesh);
    let p = &mesh.positions_mm;
    let mut six_v = 0.0;
    for t in &mesh.triangles {
        let a = sub(p[t[0] as usize], o);
        let b = sub(p[t[1] as usize], o);
        let c = sub(p[t[2] as usize], o);
        six_v += dot(a, cross(b, c));
    }
    Ok(six_v / 6.0)
}

/// Surface area (mm²).
pub fn area_mm2(mesh: &Mesh) -> Result<f64, MeshError> {
    validate(mesh)?;
    let p = &mesh.positions_mm;
    let mut two_a = 0.0;
    for t in &mesh.triangles {
        let a = p[t[0] as usize];
        let n = cross(sub(p[t[1] as usize], a), sub(p[t[2] as usize], a));
        two_a += dot(n, n).sqrt();
    }
    Ok(two_a / 2.0)
}

/// Volume and area in one pass (mm³, mm²).
pub fn volume_and_area(mesh: &Mesh) -> Result<(f64, f64), MeshError> {
    validate(mesh)?;
    let o = reference(mesh);
    let p = &mesh.positions_mm;
    let (mut six_v, mut two_a) = (0.0, 0.0);
    for t in &mesh.triangles {
        let a = sub(p[t[0] as usize], o);
        let b = sub(p[t[1] as usize], o);
        let c = sub(p[t[2] as usize], o);
        six_v += dot(a, cross(b, c));
        let n = cross(sub(b, a), sub(c, a));
        two_a += dot(n, n).sqrt();
    }
    Ok((six_v / 6.0, two_a / 2.0))
}

fn is_closed(mesh: &Mesh) -> Result<bool, MeshError> {
    let adj = Adjacency::build(mesh)?;
    Ok(!mesh.triangles.is_empty() && (0..adj.edges.len()).all(|e| adj.valence(e) == 2))
}

/// Volume, area, centroid and bounding box. Fails on invalid indices or non-finite
/// positions, and on a mesh without triangles.
pub fn mass_properties(mesh: &Mesh) -> Result<MassProperties, MeshError> {
    validate(mesh)?;
    let bbox = bounding_box(mesh).ok_or(MeshError::Empty {
        format: "mesh",
        detail: "no vertices".into(),
    })?;
    if mesh.triangles.is_empty() {
        return Err(MeshError::Empty {
            format: "mesh",
            detail: "no triangles".into(),
        });
    }
    let closed = is_closed(mesh)?;
    let o = bbox.center_mm();
    let p = &mesh.positions_mm;
    let (mut six_v, mut two_a) = (0.0, 0.0);
    let (mut mv, mut ma) = ([0.0; 3], [0.0; 3]);
    for t in &mesh.triangles {
        let a = sub(p[t[0] as usize], o);
        let b = sub(p[t[1] as usize], o);
        let c = sub(p[t[2] as usize], o);
        let d = dot(a, cross(b, c));
        six_v += d;
        let n = cross(sub(b, a), sub(c, a));
        let w = dot(n, n).sqrt();
        two_a += w;
        for i in 0..3 {
            let s = a[i] + b[i] + c[i];
            mv[i] += d * s; // tetra centroid (o,a,b,c) = s/4, weight d/6
            ma[i] += w * s; // triangle centroid = s/3, weight w/2
        }
    }
    let volume = six_v / 6.0;
    let area = two_a / 2.0;
    let use_volume = closed && six_v.abs() > 0.0;
    let centroid = if use_volume {
        [0, 1, 2].map(|i| o[i] + mv[i] / (4.0 * six_v))
    } else if two_a > 0.0 {
        [0, 1, 2].map(|i| o[i] + ma[i] / (3.0 * two_a))
    } else {
        o
    };
    Ok(MassProperties {
        volume_mm3: volume,
        area_mm2: area,
        centroid_mm: centroid,
        closed,
        bbox,
    })
}

/// Principal axes: of the enclosed solid (tetrahedra from the reference point) when the
/// mesh is closed, of the surface otherwise. An inverted closed mesh gives the same axes
/// (moments are divided by the signed volume's sign).
pub fn principal_axes(mesh: &Mesh) -> Result<PrincipalAxes, MeshError> {
    let mp = mass_properties(mesh)?;
    let o = mp.bbox.center_mm();
    let p = &mesh.positions_mm;
    let solid = mp.closed && mp.volume_mm3 != 0.0;
    // Second-moment matrix about o, then shifted to the centroid.
    let mut c = [[0.0f64; 3]; 3];
    let mut mass = 0.0;
    for t in &mesh.triangles {
        let a = sub(p[t[0] as usize], o);
        let b = sub(p[t[1] as usize], o);
        let cc = sub(p[t[2] as usize], o);
        let s = [
            a[0] + b[0] + cc[0],
            a[1] + b[1] + cc[1],
            a[2] + b[2] + cc[2],
        ];
        // ∫ x xᵀ over tetra (0,a,b,c) = det/120 (Σ vᵢvᵢᵀ + s sᵀ);
        // over triangle (a,b,c)        = area/12 (Σ vᵢvᵢᵀ + s sᵀ).
        let w = if solid {
            let d = dot(a, cross(b, cc));
            mass += d / 6.0;
            d / 120.0
        } else {
            let n = cross(sub(b, a), sub(cc, a));
            let ar = 0.5 * dot(n, n).sqrt();
            mass += ar;
            ar / 12.0
        };
        for i in 0..3 {
            for j in 0..3 {
                c[i][j] += w * (a[i] * a[j] + b[i] * b[j] + cc[i] * cc[j] + s[i] * s[j]);
            }
        }
    }
    let m = sub(mp.centroid_mm, o);
    let sign = if mass < 0.0 { -1.0 } else { 1.0 };
    let mut cm = nalgebra::Matrix3::<f64>::zeros();
    for i in 0..3 {
        for j in 0..3 {
            cm[(i, j)] = sign * (c[i][j] - mass * m[i] * m[j]);
        }
    }
    let cm = (cm + cm.transpose()) * 0.5;
    let eig = nalgebra::SymmetricEigen::new(cm);
    let mut order = [0usize, 1, 2];
    order.sort_by(|&i, &j| {
        eig.eigenvalues[j]
            .total_cmp(&eig.eigenvalues[i])
            .then(i.cmp(&j))
    });
    let mut axes = [[0.0; 3]; 3];
    let mut moments = [0.0; 3];
    for (k, &i) in order.iter().enumerate() {
        let v = eig.eigenvectors.column(i);
        let mut ax = [v[0], v[1], v[2]];
        let l = dot(ax, ax).sqrt();
        if l > 0.0 {
            ax = ax.map(|x| x / l);
        }
        axes[k] = ax;
        moments[k] = eig.eigenvalues[i];
    }
    for ax in axes.iter_mut().take(2) {
        let mut best = 0;
        for i in 1..3 {
            if ax[i].abs() > ax[best].abs() {
                best = i;
            }
        }
        if ax[best] < 0.0 {
            *ax = ax.map(|x| -x);
        }
    }
    axes[2] = cross(axes[0], axes[1]);
    Ok(PrincipalAxes {
        centroid_mm: mp.centroid_mm,
        axes,
        second_moments: moments,
        solid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::box_mesh;

    #[test]
    fn empty_mesh_is_an_error_and_has_no_box() {
        assert!(bounding_box(&Mesh::default()).is_none());
        assert!(matches!(
            mass_properties(&Mesh::default()),
            Err(MeshError::Empty { .. })
        ));
        assert_eq!(volume_mm3(&Mesh::default()).unwrap(), 0.0);
    }

    #[test]
    fn open_mesh_uses_the_area_centroid() {
        let mut m = box_mesh([0.0; 3], [2.0, 2.0, 2.0]);
        m.triangles.truncate(2); // the z = 0 face only
        let mp = mass_properties(&m).unwrap();
        assert!(!mp.closed);
        assert_eq!(mp.centroid_mm, [1.0, 1.0, 0.0]);
        let pa = principal_axes(&m).unwrap();
        assert!(!pa.solid);
        assert!(
            pa.axes[2][2].abs() > 0.999_999,
            "the normal has the least spread: {:?}",
            pa.axes
        );
    }
}
