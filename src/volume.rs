//! A regular 3-D voxel grid in DICOM patient space (LPS, millimetres).
//!
//! Layout: `data[i + nx * (j + ny * k)]`, where `i` runs along a row (DICOM column
//! index), `j` down the rows, and `k` along the slice stack. `patient_from_voxel` maps
//! voxel centres `(i, j, k, 1)` to patient millimetres; its columns are the row
//! direction × spacing, the column direction × spacing, the slice direction × spacing
//! and the position of voxel (0,0,0).

use nalgebra::{Matrix4, Point3, Vector3};

/// A voxel volume with its geometry. `T` is `i16` for CT in Hounsfield units and `u8`
/// for label volumes.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume<T> {
    /// Voxel counts along i, j, k.
    pub dims: [usize; 3],
    /// Voxel size along i, j, k in millimetres.
    pub spacing_mm: [f64; 3],
    /// Affine from voxel indices to patient LPS millimetres.
    pub patient_from_voxel: Matrix4<f64>,
    /// Voxel values, `i` fastest.
    pub data: Vec<T>,
}

impl<T: Copy> Volume<T> {
    /// A volume filled with `value`, axis-aligned with origin `origin_mm`.
    pub fn filled(dims: [usize; 3], spacing_mm: [f64; 3], origin_mm: [f64; 3], value: T) -> Self {
        let n = dims[0] * dims[1] * dims[2];
        Volume {
            dims,
            spacing_mm,
            patient_from_voxel: axis_aligned_affine(spacing_mm, origin_mm),
            data: vec![value; n],
        }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the volume holds no voxel.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Linear index of voxel (i, j, k); the caller guarantees it is inside.
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] * (j + self.dims[1] * k)
    }

    /// Value at (i, j, k), or `None` outside the grid.
    pub fn get(&self, i: i64, j: i64, k: i64) -> Option<T> {
        let [nx, ny, nz] = self.dims;
        if i < 0 || j < 0 || k < 0 || i as usize >= nx || j as usize >= ny || k as usize >= nz {
            return None;
        }
        Some(self.data[self.index(i as usize, j as usize, k as usize)])
    }

    /// Patient-space position (mm) of a voxel centre, fractional indices allowed.
    pub fn patient_mm(&self, ijk: [f64; 3]) -> Point3<f64> {
        self.patient_from_voxel
            .transform_point(&Point3::new(ijk[0], ijk[1], ijk[2]))
    }

    /// Fractional voxel indices of a patient-space point, or `None` if the affine is singular.
    pub fn voxel_of(&self, p_mm: Point3<f64>) -> Option<Point3<f64>> {
        let voxel_from_patient = self.patient_from_voxel.try_inverse()?;
        Some(voxel_from_patient.transform_point(&p_mm))
    }

    /// Unit direction in patient space of voxel axis `axis` (0 = i, 1 = j, 2 = k).
    pub fn axis_direction(&self, axis: usize) -> Vector3<f64> {
        let c = self.patient_from_voxel.column(axis);
        Vector3::new(c[0], c[1], c[2]).normalize()
    }

    /// Extent of the grid in millimetres along each axis (centre of first to centre of last voxel plus one voxel).
    pub fn extent_mm(&self) -> [f64; 3] {
        [0, 1, 2].map(|a| self.dims[a] as f64 * self.spacing_mm[a])
    }
}

/// Affine for a grid whose axes are patient x, y, z.
pub fn axis_aligned_affine(spacing_mm: [f64; 3], origin_mm: [f64; 3]) -> Matrix4<f64> {
    let mut m = Matrix4::identity();
    for a in 0..3 {
        m[(a, a)] = spacing_mm[a];
        m[(a, 3)] = origin_mm[a];
    }
    m
}

/// Affine from DICOM geometry: row direction (along i), column direction (along j),
/// slice direction (along k, not necessarily their cross product when the gantry is tilted).
pub fn affine_from_directions(
    row_dir: Vector3<f64>,
    col_dir: Vector3<f64>,
    slice_step_mm: Vector3<f64>,
    pixel_spacing_mm: [f64; 2],
    origin_mm: Point3<f64>,
) -> Matrix4<f64> {
    let mut m = Matrix4::identity();
    let cols = [
        row_dir * pixel_spacing_mm[0],
        col_dir * pixel_spacing_mm[1],
        slice_step_mm,
    ];
    for (c, v) in cols.iter().enumerate() {
        for r in 0..3 {
            m[(r, c)] = v[r];
        }
    }
    for r in 0..3 {
        m[(r, 3)] = origin_mm[r];
    }
    m
}

impl Volume<i16> {
    /// Minimum and maximum value, `None` for an empty volume.
    pub fn min_max(&self) -> Option<(i16, i16)> {
        let first = *self.data.first()?;
        Some(
            self.data
                .iter()
                .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))),
        )
    }
}

/// SHA-256 over a volume's geometry and voxel values (little-endian), as lowercase hex.
///
/// Covers dims, spacing, the affine and every voxel — no header text — so two copies of
/// the same study give the same digest natively and in the browser.
pub fn sha256_hex(volume: &Volume<i16>) -> String {
    grid_sha256_hex(volume, volume.data.iter().copied())
}

/// SHA-256 of a label volume, computed as [`sha256_hex`] of the labels widened to i16, so
/// a label digest is comparable across the CLI, the browser and the tests.
pub fn labels_sha256_hex(labels: &Volume<u8>) -> String {
    grid_sha256_hex(labels, labels.data.iter().map(|&l| i16::from(l)))
}

/// [`sha256_hex`] of `values` on the grid of `volume`, fed in small chunks: a copy of a
/// whole 512 × 512 × 1000 volume as bytes would cost 500 MiB of wasm memory.
fn grid_sha256_hex<T>(volume: &Volume<T>, values: impl Iterator<Item = i16>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for d in volume.dims {
        h.update((d as u64).to_le_bytes());
    }
    for s in volume.spacing_mm {
        h.update(s.to_le_bytes());
    }
    for v in volume.patient_from_voxel.iter() {
        h.update(v.to_le_bytes());
    }
    let mut buf = Vec::with_capacity(1 << 16);
    for v in values {
        buf.extend_from_slice(&v.to_le_bytes());
        if buf.len() >= 1 << 16 {
            h.update(&buf);
            buf.clear();
        }
    }
    h.update(&buf);
    hex(&h.finalize())
}

/// SHA-256 of a byte string (e.g. an exported file), as lowercase hex.
pub fn bytes_sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voxel_and_patient_coordinates_round_trip() {
        let v = Volume::filled([4, 5, 6], [0.5, 0.5, 1.25], [-10.0, 20.0, 30.0], 0i16);
        let p = v.patient_mm([2.0, 3.0, 4.0]);
        assert_eq!(p, Point3::new(-9.0, 21.5, 35.0));
        let back = v.voxel_of(p).unwrap();
        assert!((back - Point3::new(2.0, 3.0, 4.0)).norm() < 1e-12);
    }

    #[test]
    fn get_outside_the_grid_is_none() {
        let v = Volume::filled([2, 2, 2], [1.0; 3], [0.0; 3], 7i16);
        assert_eq!(v.get(1, 1, 1), Some(7));
        assert_eq!(v.get(2, 0, 0), None);
        assert_eq!(v.get(-1, 0, 0), None);
    }
}
