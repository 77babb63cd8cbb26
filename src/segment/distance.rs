//! Exact Euclidean distance transform on anisotropic voxels (Felzenszwalb & Huttenlocher,
//! "Distance Transforms of Sampled Functions", 2012): three separable passes of the 1-D
//! lower envelope of parabolas, one per axis, with the axis spacing in mm.
//!
//! Distances are between voxel centres, in mm, returned **squared** as `f32` (mm²) to
//! keep memory at 4 bytes per voxel. Voxels outside the grid are never sites.

use super::BitMask;

/// Squared distance (mm²) from every voxel to the nearest voxel whose mask bit equals
/// `sites_are_set` (0 on the sites themselves; `f32::INFINITY` when there is no site).
pub fn squared_distance_mm2(mask: &BitMask, spacing_mm: [f64; 3], sites_are_set: bool) -> Vec<f32> {
    let [nx, ny, nz] = mask.dims();
    let mut d: Vec<f32> = (0..mask.len())
        .map(|n| {
            if mask.get(n) == sites_are_set {
                0.0
            } else {
                f32::INFINITY
            }
        })
        .collect();
    let mut scratch = Scratch::default();
    // Along i: contiguous rows.
    for row in d.chunks_mut(nx) {
        scratch.line(row, 1, nx, spacing_mm[0]);
    }
    // Along j: stride nx inside each slice.
    for k in 0..nz {
        for i in 0..nx {
            let base = i + nx * ny * k;
            scratch.strided(&mut d, base, nx, ny, spacing_mm[1]);
        }
    }
    // Along k: stride nx*ny.
    for j in 0..ny {
        for i in 0..nx {
            scratch.strided(&mut d, i + nx * j, nx * ny, nz, spacing_mm[2]);
        }
    }
    d
}

/// Distance (mm) from each set voxel to the nearest unset voxel (0 on unset voxels).
pub fn inside_distance_mm(mask: &BitMask, spacing_mm: [f64; 3]) -> Vec<f32> {
    let mut d = squared_distance_mm2(mask, spacing_mm, false);
    for v in &mut d {
        *v = v.sqrt();
    }
    d
}

#[derive(Default)]
struct Scratch {
    f: Vec<f64>,
    out: Vec<f64>,
    v: Vec<usize>,
    z: Vec<f64>,
}

impl Scratch {
    fn strided(&mut self, d: &mut [f32], base: usize, stride: usize, n: usize, s: f64) {
        self.f.clear();
        self.f.extend((0..n).map(|q| d[base + q * stride] as f64));
        self.envelope(n, s);
        for q in 0..n {
            d[base + q * stride] = self.out[q] as f32;
        }
    }

    fn line(&mut self, row: &mut [f32], _stride: usize, n: usize, s: f64) {
        self.f.clear();
        self.f.extend(row.iter().map(|v| *v as f64));
        self.envelope(n, s);
        for (r, o) in row.iter_mut().zip(&self.out) {
            *r = *o as f32;
        }
    }

    /// 1-D transform of `self.f` (length n, sample spacing s mm) into `self.out`.
    fn envelope(&mut self, n: usize, s: f64) {
        self.out.clear();
        self.out.resize(n, f64::INFINITY);
        self.v.clear();
        self.z.clear();
        let f = &self.f;
        let pos = |q: usize| q as f64 * s;
        for q in 0..n {
            if !f[q].is_finite() {
                continue;
            }
            let (fq, xq) = (f[q], pos(q));
            loop {
                // `v` and `z` grow and shrink together.
                let (Some(&p), Some(&z_last)) = (self.v.last(), self.z.last()) else {
                    self.v.clear();
                    self.z.clear();
                    self.v.push(q);
                    self.z.push(f64::NEG_INFINITY);
                    break;
                };
                let xp = pos(p);
                let x = ((fq + xq * xq) - (f[p] + xp * xp)) / (2.0 * (xq - xp));
                if x <= z_last {
                    self.v.pop();
                    self.z.pop();
                } else {
                    self.v.push(q);
                    self.z.push(x);
                    break;
                }
            }
        }
        if self.v.is_empty() {
            return;
        }
        let mut k = 0;
        for q in 0..n {
            let x = pos(q);
            while k + 1 < self.v.len() && self.z[k + 1] < x {
                k += 1;
            }
            let p = self.v[k];
            let dx = x - pos(p);
            self.out[q] = dx * dx + f[p];
        }
    }
}
