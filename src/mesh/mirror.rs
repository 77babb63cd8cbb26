//! Mirror a mesh across a plane, flipping the winding so the result stays outward.
//!
//! The default plane is the patient's sagittal mid-plane x = 0 in LPS coordinates
//! (normal along x). For a plane whose normal is a coordinate axis the reflection is
//! computed per coordinate (`x' = 2c − x`), so mirroring twice across x = 0 gives back
//! the identical bits; for an oblique plane it is exact to rounding.

use super::io::MeshError;
use super::Mesh;

/// A plane through `point_mm` with normal `normal` (any non-zero length).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plane {
    /// A point on the plane (patient mm).
    pub point_mm: [f64; 3],
    /// Plane normal (need not be unit length; must be finite and non-zero).
    pub normal: [f64; 3],
}

impl Default for Plane {
    /// The sagittal mid-plane x = 0 (LPS).
    fn default() -> Self {
        Plane {
            point_mm: [0.0; 3],
            normal: [1.0, 0.0, 0.0],
        }
    }
}

impl Plane {
    /// The sagittal plane x = `x_mm` (LPS).
    pub fn sagittal(x_mm: f64) -> Self {
        Plane {
            point_mm: [x_mm, 0.0, 0.0],
            normal: [1.0, 0.0, 0.0],
        }
    }

    /// Reflects one point across the plane.
    pub fn reflect(&self, p: [f64; 3]) -> Result<[f64; 3], MeshError> {
        let n = self.normal;
        let l2 = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
        if l2 <= 0.0 || !l2.is_finite() || !self.point_mm.iter().all(|c| c.is_finite()) {
            return Err(MeshError::InvalidParameter {
                detail: format!(
                    "mirror plane normal {:?} / point {:?} must be finite with a non-zero normal",
                    n, self.point_mm
                ),
            });
        }
        let axis = (0..3).find(|&i| n[i] != 0.0 && n[(i + 1) % 3] == 0.0 && n[(i + 2) % 3] == 0.0);
        if let Some(i) = axis {
            let mut q = p;
            let c = self.point_mm[i];
            q[i] = if c == 0.0 { -p[i] } else { 2.0 * c - p[i] };
            return Ok(q);
        }
        let d = ((p[0] - self.point_mm[0]) * n[0]
            + (p[1] - self.point_mm[1]) * n[1]
            + (p[2] - self.point_mm[2]) * n[2])
            / l2;
        Ok([
            p[0] - 2.0 * d * n[0],
            p[1] - 2.0 * d * n[1],
            p[2] - 2.0 * d * n[2],
        ])
    }
}

/// Mirrors `mesh` across `plane` and reverses every triangle's winding, so a closed
/// outward mesh stays outward (positive volume). Vertex order is kept.
pub fn mirror(mesh: &Mesh, plane: &Plane) -> Result<Mesh, MeshError> {
    plane.reflect([0.0; 3])?;
    let positions_mm = mesh
        .positions_mm
        .iter()
        .map(|&p| plane.reflect(p))
        .collect::<Result<Vec<_>, _>>()?;
    let triangles = mesh.triangles.iter().map(|t| [t[0], t[2], t[1]]).collect();
    Ok(Mesh {
        positions_mm,
        triangles,
    })
}

/// Mirrors across the sagittal mid-plane x = 0 (LPS).
pub fn mirror_sagittal(mesh: &Mesh) -> Mesh {
    Mesh {
        positions_mm: mesh
            .positions_mm
            .iter()
            .map(|p| [-p[0], p[1], p[2]])
            .collect(),
        triangles: mesh.triangles.iter().map(|t| [t[0], t[2], t[1]]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_sagittal_plane_reflects_about_its_position() {
        assert_eq!(
            Plane::sagittal(5.0).reflect([7.0, 1.0, 2.0]).unwrap(),
            [3.0, 1.0, 2.0]
        );
        let oblique = Plane {
            point_mm: [0.0; 3],
            normal: [1.0, 1.0, 0.0],
        };
        let q = oblique.reflect([1.0, 0.0, 0.0]).unwrap();
        assert!((q[0]).abs() < 1e-15 && (q[1] + 1.0).abs() < 1e-15);
        let nan = Plane {
            point_mm: [f64::NAN, 0.0, 0.0],
            normal: [1.0, 0.0, 0.0],
        };
        assert!(nan.reflect([0.0; 3]).is_err());
    }
}
