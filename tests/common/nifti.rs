//! A tiny NIfTI-1 reader (gzip or plain) for test reference data: 3-D uint8 / int16 /
//! uint16 volumes with an sform (or, without one, a diagonal pixdim) affine. The volume
//! comes back in Osteon's frame: DICOM patient space (LPS mm), converted from NIfTI's RAS.
//! Only what the tests need; not a general reader.
#![allow(dead_code)]

use nalgebra::Matrix4;
use osteon::volume::Volume;

/// Inflate a gzip member (RFC 1952) with miniz_oxide; plain bytes pass through.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() < 18 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Ok(bytes.to_vec());
    }
    if bytes[2] != 8 {
        return Err("gzip: not deflate".into());
    }
    let flags = bytes[3];
    let mut p = 10usize;
    if flags & 4 != 0 {
        let xlen = u16::from_le_bytes([bytes[p], bytes[p + 1]]) as usize;
        p += 2 + xlen;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            while p < bytes.len() && bytes[p] != 0 {
                p += 1;
            }
            p += 1;
        }
    }
    if flags & 2 != 0 {
        p += 2;
    }
    let body = bytes.get(p..).ok_or("gzip: truncated header")?;
    miniz_oxide::inflate::decompress_to_vec(body).map_err(|e| format!("gzip: {e:?}"))
}

fn f32_at(h: &[u8], at: usize) -> f64 {
    f32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]) as f64
}

fn i16_at(h: &[u8], at: usize) -> i16 {
    i16::from_le_bytes([h[at], h[at + 1]])
}

/// A NIfTI-1 volume: voxel values as i32 (after scl_slope / scl_inter when set), on a grid
/// whose `patient_from_voxel` maps to LPS mm.
pub struct Nifti {
    pub dims: [usize; 3],
    pub spacing_mm: [f64; 3],
    /// Voxel (i, j, k, 1) → patient LPS mm.
    pub patient_from_voxel: Matrix4<f64>,
    pub data: Vec<i32>,
}

impl Nifti {
    pub fn read(bytes: &[u8]) -> Result<Nifti, String> {
        let d = gunzip(bytes)?;
        if d.len() < 352 || i32::from_le_bytes([d[0], d[1], d[2], d[3]]) != 348 {
            return Err("not a little-endian NIfTI-1 file".into());
        }
        let dim: Vec<i16> = (0..8).map(|n| i16_at(&d, 40 + 2 * n)).collect();
        if dim[0] < 3 || dim[4..=dim[0] as usize].iter().any(|&x| x > 1) {
            return Err(format!("only 3-D volumes: dim {dim:?}"));
        }
        let dims = [dim[1] as usize, dim[2] as usize, dim[3] as usize];
        let datatype = i16_at(&d, 70);
        let pixdim = [f32_at(&d, 80), f32_at(&d, 84), f32_at(&d, 88)];
        let vox_offset = f32_at(&d, 108) as usize;
        let (slope, inter) = (f32_at(&d, 112), f32_at(&d, 116));
        let sform_code = i16_at(&d, 254);
        let mut ras = Matrix4::identity();
        if sform_code > 0 {
            for r in 0..3 {
                for c in 0..4 {
                    ras[(r, c)] = f32_at(&d, 280 + 16 * r + 4 * c);
                }
            }
        } else {
            for a in 0..3 {
                ras[(a, a)] = pixdim[a];
            }
        }
        // RAS → LPS: negate x and y.
        let mut lps = ras;
        for c in 0..4 {
            lps[(0, c)] = -ras[(0, c)];
            lps[(1, c)] = -ras[(1, c)];
        }
        let n = dims[0] * dims[1] * dims[2];
        let size = match datatype {
            2 => 1,
            4 | 512 => 2,
            t => return Err(format!("unsupported NIfTI datatype {t}")),
        };
        let raw = d
            .get(vox_offset..vox_offset + n * size)
            .ok_or("NIfTI data shorter than its header says")?;
        let scale = |v: i32| {
            if slope != 0.0 && (slope != 1.0 || inter != 0.0) {
                (v as f64 * slope + inter).round() as i32
            } else {
                v
            }
        };
        let data: Vec<i32> = match datatype {
            2 => raw.iter().map(|&v| scale(v as i32)).collect(),
            4 => raw
                .chunks_exact(2)
                .map(|c| scale(i16::from_le_bytes([c[0], c[1]]) as i32))
                .collect(),
            _ => raw
                .chunks_exact(2)
                .map(|c| scale(u16::from_le_bytes([c[0], c[1]]) as i32))
                .collect(),
        };
        Ok(Nifti {
            dims,
            spacing_mm: pixdim.map(|v| v.abs()),
            patient_from_voxel: lps,
            data,
        })
    }

    /// As an Osteon CT volume (values clamped to i16).
    pub fn to_ct(&self) -> Volume<i16> {
        Volume {
            dims: self.dims,
            spacing_mm: self.spacing_mm,
            patient_from_voxel: self.patient_from_voxel,
            data: self
                .data
                .iter()
                .map(|&v| v.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
                .collect(),
        }
    }

    /// Value at the voxel nearest to each voxel centre of `grid` (0 outside this volume).
    pub fn resample_nearest<T>(&self, grid: &Volume<T>) -> Vec<i32> {
        let Some(inv) = self.patient_from_voxel.try_inverse() else {
            return vec![0; grid.dims.iter().product()];
        };
        let m = inv * grid.patient_from_voxel;
        let [nx, ny, nz] = grid.dims;
        let mut out = Vec::with_capacity(nx * ny * nz);
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let v = m * nalgebra::Vector4::new(i as f64, j as f64, k as f64, 1.0);
                    let q = [v[0].round(), v[1].round(), v[2].round()];
                    let inside = (0..3).all(|a| q[a] >= 0.0 && (q[a] as usize) < self.dims[a]);
                    out.push(if inside {
                        let [a, b, c] = q.map(|x| x as usize);
                        self.data[a + self.dims[0] * (b + self.dims[1] * c)]
                    } else {
                        0
                    });
                }
            }
        }
        out
    }
}
