//! Resampling a sorted, possibly irregular or sheared slice stack onto a regular grid.
//!
//! Source slice `s` lies at distance `d_mm[s]` along the slice normal from the first
//! slice and its origin is shifted in-plane by `offset_mm[s]` (mm along the row and
//! column directions). Target slice `k` lies at `k × spacing_mm` along the normal and is
//! shifted in-plane by `k × spacing_mm × shear` (zero shear = a grid orthogonal to the
//! slices: gantry-tilt correction). Values are bilinear in-plane and linear along the
//! normal; samples outside the source field are -1024 HU (air).

use super::decode::AIR_HU;
use super::series::SourceSlice;

/// The regular target grid along the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TargetGrid {
    /// Number of target slices.
    pub n: usize,
    /// Distance between target slices along the normal, mm.
    pub spacing_mm: f64,
    /// In-plane shift of the target slices per mm along the normal, (row, col) mm/mm.
    pub shear: [f64; 2],
}

/// Resample `stack` (`cols × rows × slices.len()`, `i` fastest) onto `grid`.
/// `pixel_mm` is the pixel size along (i, j).
pub(crate) fn resample_stack(
    stack: &[i16],
    cols: usize,
    rows: usize,
    pixel_mm: [f64; 2],
    slices: &[SourceSlice],
    grid: &TargetGrid,
) -> Vec<i16> {
    let plane = cols * rows;
    let mut out = vec![AIR_HU; plane * grid.n];
    if slices.is_empty() || plane == 0 || stack.len() < plane * slices.len() {
        return out;
    }
    let mut a_buf = vec![0f32; plane];
    let mut b_buf = vec![0f32; plane];
    let mut s = 0usize;
    for k in 0..grid.n {
        let z = k as f64 * grid.spacing_mm;
        while s + 1 < slices.len() && slices[s + 1].d_mm <= z {
            s += 1;
        }
        let a = s;
        let b = (s + 1).min(slices.len() - 1);
        let w = if b == a {
            0.0
        } else {
            ((z - slices[a].d_mm) / (slices[b].d_mm - slices[a].d_mm)).clamp(0.0, 1.0)
        };
        let t = [grid.shear[0] * z, grid.shear[1] * z];
        shifted_slice(stack, cols, rows, pixel_mm, &slices[a], a, t, &mut a_buf);
        if w > 0.0 {
            shifted_slice(stack, cols, rows, pixel_mm, &slices[b], b, t, &mut b_buf);
        }
        let dst = &mut out[k * plane..(k + 1) * plane];
        for p in 0..plane {
            let v = if w > 0.0 {
                a_buf[p] as f64 * (1.0 - w) + b_buf[p] as f64 * w
            } else {
                a_buf[p] as f64
            };
            dst[p] = v.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16;
        }
    }
    out
}

/// Sample source slice `idx` at target pixel positions shifted by `t_mm - offset`.
#[allow(clippy::too_many_arguments)]
fn shifted_slice(
    stack: &[i16],
    cols: usize,
    rows: usize,
    pixel_mm: [f64; 2],
    slice: &SourceSlice,
    idx: usize,
    t_mm: [f64; 2],
    out: &mut [f32],
) {
    let plane = cols * rows;
    let src = &stack[idx * plane..(idx + 1) * plane];
    let sx = (t_mm[0] - slice.offset_mm[0]) / pixel_mm[0];
    let sy = (t_mm[1] - slice.offset_mm[1]) / pixel_mm[1];
    if sx.abs() < 1e-6 && sy.abs() < 1e-6 {
        for (o, v) in out.iter_mut().zip(src) {
            *o = *v as f32;
        }
        return;
    }
    let fx = sx.floor();
    let fy = sy.floor();
    let wx = (sx - fx) as f32;
    let wy = (sy - fy) as f32;
    let (ox, oy) = (fx as i64, fy as i64);
    let get = |i: i64, j: i64| -> f32 {
        if i < 0 || j < 0 || i >= cols as i64 || j >= rows as i64 {
            AIR_HU as f32
        } else {
            src[i as usize + cols * j as usize] as f32
        }
    };
    for j in 0..rows {
        let y0 = j as i64 + oy;
        for i in 0..cols {
            let x0 = i as i64 + ox;
            let v00 = get(x0, y0);
            let v10 = get(x0 + 1, y0);
            let v01 = get(x0, y0 + 1);
            let v11 = get(x0 + 1, y0 + 1);
            let top = v00 + (v10 - v00) * wx;
            let bot = v01 + (v11 - v01) * wx;
            out[i + cols * j] = top + (bot - top) * wy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(d: f64, off: [f64; 2]) -> SourceSlice {
        SourceSlice {
            frame: (0, 0),
            d_mm: d,
            offset_mm: off,
        }
    }

    #[test]
    fn a_missing_slice_is_filled_by_linear_interpolation() {
        // 1×1 pixels at z = 0, 1, 3 with values 0, 100, 300 → target z = 2 gets 200.
        let stack = [0i16, 100, 300];
        let slices = [
            slice(0.0, [0.0; 2]),
            slice(1.0, [0.0; 2]),
            slice(3.0, [0.0; 2]),
        ];
        let grid = TargetGrid {
            n: 4,
            spacing_mm: 1.0,
            shear: [0.0; 2],
        };
        let out = resample_stack(&stack, 1, 1, [1.0, 1.0], &slices, &grid);
        assert_eq!(out, vec![0, 100, 200, 300]);
    }

    #[test]
    fn a_sheared_slice_is_shifted_back_in_plane() {
        // 4×1 slices; the second slice's origin is shifted by +1 pixel along the row.
        let stack = [0i16, 10, 20, 30, 0, 10, 20, 30];
        let slices = [slice(0.0, [0.0; 2]), slice(1.0, [1.0, 0.0])];
        let grid = TargetGrid {
            n: 2,
            spacing_mm: 1.0,
            shear: [0.0; 2],
        };
        let out = resample_stack(&stack, 4, 1, [1.0, 1.0], &slices, &grid);
        assert_eq!(&out[4..], &[AIR_HU, 0, 10, 20]);
    }
}
