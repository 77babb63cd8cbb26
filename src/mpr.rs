//! Multiplanar reformat (MPR): axis-aligned slices of the voxel grid as RGBA images.
//!
//! Orientation (image x to the right, image y downwards, pixel (0, 0) top-left):
//!
//! | plane | fixed | columns (x) | rows (y) |
//! |---|---|---|---|
//! | axial | `k` | `i` | `j` |
//! | coronal | `j` | `i` | `k`, flipped: row 0 is the last slice |
//! | sagittal | `i` | `j` | `k`, flipped: row 0 is the last slice |
//!
//! "Superior up" in the coronal and sagittal views assumes that `k` increases towards the
//! head, as it does for an axial series sorted by increasing position along the slice
//! normal (+z is superior in LPS). In an axial DICOM image `i` runs to the patient's
//! left and `j` to posterior, so the axial view is the usual radiological view.
//!
//! Windowing maps HU to grey with a linear ramp
//! `round(clamp((hu − (c − w/2)) / w, 0, 1) · 255)`, through a 64 K lookup table over all
//! `i16` values built once per call (no division per pixel).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use crate::volume::Volume;

/// A slice orientation, aligned to the voxel grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plane {
    /// Fixed `k`; columns = `i`, rows = `j`.
    Axial,
    /// Fixed `j`; columns = `i`, rows = `k` flipped (superior up).
    Coronal,
    /// Fixed `i`; columns = `j`, rows = `k` flipped (superior up).
    Sagittal,
}

/// A display window in Hounsfield units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Window centre (level), HU.
    pub center_hu: f64,
    /// Window width, HU.
    pub width_hu: f64,
}

/// Bone window: centre 400, width 1800.
pub const BONE: Window = Window {
    center_hu: 400.0,
    width_hu: 1800.0,
};
/// Soft-tissue window: centre 40, width 400.
pub const SOFT_TISSUE: Window = Window {
    center_hu: 40.0,
    width_hu: 400.0,
};
/// Lung window: centre −600, width 1500.
pub const LUNG: Window = Window {
    center_hu: -600.0,
    width_hu: 1500.0,
};

impl Window {
    /// Grey level (0–255) of `hu` in this window. A width ≤ 0 is a hard threshold at the centre.
    pub fn grey(&self, hu: f64) -> u8 {
        let lo = self.center_hu - self.width_hu * 0.5;
        if self.width_hu.is_nan() || self.width_hu <= 0.0 {
            return if hu >= self.center_hu { 255 } else { 0 };
        }
        let scale = 1.0 / self.width_hu;
        (((hu - lo) * scale).clamp(0.0, 1.0) * 255.0).round() as u8
    }

    /// Lookup table over every `i16`: entry `hu as u16` (i.e. `hu + 65536` for negatives,
    /// use [`lut_index`]) holds the grey level.
    pub fn lut(&self) -> Vec<u8> {
        let mut lut = vec![0u8; 1 << 16];
        if self.width_hu.is_nan() || self.width_hu <= 0.0 {
            for hu in i16::MIN..=i16::MAX {
                lut[lut_index(hu)] = self.grey(hu as f64);
            }
            return lut;
        }
        let lo = self.center_hu - self.width_hu * 0.5;
        let scale = 1.0 / self.width_hu;
        // Only the ramp needs arithmetic: below it is 0, above it 255.
        let first = lo.floor().clamp(i16::MIN as f64, i16::MAX as f64) as i16;
        let last = (lo + self.width_hu)
            .ceil()
            .clamp(i16::MIN as f64, i16::MAX as f64) as i16;
        for hu in first..=last {
            lut[lut_index(hu)] = (((hu as f64 - lo) * scale).clamp(0.0, 1.0) * 255.0).round() as u8;
        }
        if last < i16::MAX {
            for hu in last + 1..=i16::MAX {
                lut[lut_index(hu)] = 255;
            }
        }
        lut
    }
}

/// Index of `hu` in [`Window::lut`].
#[inline]
pub fn lut_index(hu: i16) -> usize {
    hu as u16 as usize
}

/// Number of slices of `plane` in a volume of `dims`.
pub fn slice_count(dims: [usize; 3], plane: Plane) -> usize {
    match plane {
        Plane::Axial => dims[2],
        Plane::Coronal => dims[1],
        Plane::Sagittal => dims[0],
    }
}

/// Image (width, height) in pixels of a `plane` slice.
pub fn slice_size(dims: [usize; 3], plane: Plane) -> (usize, usize) {
    match plane {
        Plane::Axial => (dims[0], dims[1]),
        Plane::Coronal => (dims[0], dims[2]),
        Plane::Sagittal => (dims[1], dims[2]),
    }
}

/// Pixel size (x, y) in millimetres of a `plane` slice, for the displayed aspect ratio.
pub fn slice_pixel_mm(spacing: [f64; 3], plane: Plane) -> (f64, f64) {
    match plane {
        Plane::Axial => (spacing[0], spacing[1]),
        Plane::Coronal => (spacing[0], spacing[2]),
        Plane::Sagittal => (spacing[1], spacing[2]),
    }
}

/// Voxel (i, j, k) shown at image pixel (px, py) of slice `index` of `plane`.
pub fn voxel_at(plane: Plane, index: usize, px: usize, py: usize, dims: [usize; 3]) -> [usize; 3] {
    let flip = |py: usize| dims[2] - 1 - py;
    match plane {
        Plane::Axial => [px, py, index],
        Plane::Coronal => [px, index, flip(py)],
        Plane::Sagittal => [index, px, flip(py)],
    }
}

/// Where voxel (i, j, k) appears: (slice index, px, py) in `plane`.
pub fn pixel_of(plane: Plane, voxel: [usize; 3], dims: [usize; 3]) -> (usize, usize, usize) {
    let [i, j, k] = voxel;
    let row = dims[2] - 1 - k;
    match plane {
        Plane::Axial => (k, i, j),
        Plane::Coronal => (j, i, row),
        Plane::Sagittal => (i, j, row),
    }
}

/// Renders slice `index` of `plane` into `out` as RGBA (row-major, top row first,
/// `width × height × 4` bytes, alpha 255), replacing its contents.
///
/// The grey level comes from `window`. With `overlay = Some((labels, colours))`, a voxel
/// with label `l > 0` and `l < colours.len()` is blended with `colours[l] = [r, g, b, a]`
/// at opacity `a / 255`: `round((grey · (255 − a) + colour · a) / 255)`. Label 0 and labels
/// without a colour are left grey. `labels` must have the same dims as `volume`.
///
/// `index` beyond the last slice is clamped to the last slice; an empty volume gives an
/// empty image.
pub fn render_slice_rgba(
    volume: &Volume<i16>,
    plane: Plane,
    index: usize,
    window: Window,
    overlay: Option<(&Volume<u8>, &[[u8; 4]])>,
    out: &mut Vec<u8>,
) {
    out.clear();
    let dims = volume.dims;
    let [nx, ny, _] = dims;
    let count = slice_count(dims, plane);
    let (w, h) = slice_size(dims, plane);
    if count == 0 || w == 0 || h == 0 {
        return;
    }
    assert_eq!(
        volume.data.len(),
        dims.iter().product::<usize>(),
        "volume data length"
    );
    if let Some((labels, _)) = overlay {
        assert_eq!(labels.dims, dims, "overlay dims differ from the volume's");
        assert_eq!(labels.data.len(), volume.data.len(), "overlay data length");
    }
    let index = index.min(count - 1);
    out.resize(w * h * 4, 0);
    let lut = window.lut();

    // Offset in `data` of pixel (0, py), and the stride between neighbouring pixels in x.
    let (x_stride, row_start): (usize, Box<dyn Fn(usize) -> usize>) = match plane {
        Plane::Axial => (1, Box::new(move |py| nx * (py + ny * index))),
        Plane::Coronal => (1, Box::new(move |py| nx * (index + ny * (h - 1 - py)))),
        Plane::Sagittal => (nx, Box::new(move |py| index + nx * ny * (h - 1 - py))),
    };

    // Premultiplied blend tables per label: out = (grey·(255−a) + c·a + 127) / 255.
    let blend: Vec<Option<([u32; 3], u32)>> = match overlay {
        Some((_, colours)) => colours
            .iter()
            .enumerate()
            .map(|(l, c)| {
                if l == 0 || c[3] == 0 {
                    None
                } else {
                    let a = c[3] as u32;
                    Some(([c[0] as u32 * a, c[1] as u32 * a, c[2] as u32 * a], 255 - a))
                }
            })
            .collect(),
        None => Vec::new(),
    };

    for (py, row) in out.chunks_exact_mut(w * 4).enumerate() {
        let start = row_start(py);
        let data = &volume.data;
        if x_stride == 1 {
            let src = &data[start..start + w];
            for (px, &hu) in row.chunks_exact_mut(4).zip(src) {
                let g = lut[lut_index(hu)];
                px.copy_from_slice(&[g, g, g, 255]);
            }
        } else {
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                let g = lut[lut_index(data[start + x * x_stride])];
                px.copy_from_slice(&[g, g, g, 255]);
            }
        }
        if let Some((labels, _)) = overlay {
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                let l = labels.data[start + x * x_stride] as usize;
                if l == 0 {
                    continue;
                }
                if let Some(Some((ca, inv_a))) = blend.get(l) {
                    for ch in 0..3 {
                        // Exact rounding of (grey·(255−a) + c·a) / 255 for values ≤ 65025.
                        let num = px[ch] as u32 * inv_a + ca[ch];
                        px[ch] = ((num + 127) / 255) as u8;
                    }
                }
            }
        }
    }
}

/// Blends `colour = [r, g, b, a]` into an RGBA slice from [`render_slice_rgba`] wherever
/// the voxel's HU lies in `lower_hu..=upper_hu` and, when `labels` is given, the voxel
/// is unlabelled: the live threshold preview. `out` must hold the slice's pixels.
pub fn tint_hu_range(
    volume: &Volume<i16>,
    plane: Plane,
    index: usize,
    (lower_hu, upper_hu): (i16, i16),
    labels: Option<&Volume<u8>>,
    colour: [u8; 4],
    out: &mut [u8],
) {
    let (w, h) = slice_size(volume.dims, plane);
    let count = slice_count(volume.dims, plane);
    if count == 0 || out.len() < w * h * 4 {
        return;
    }
    let index = index.min(count - 1);
    let a = colour[3] as u32;
    for py in 0..h {
        for px in 0..w {
            let [i, j, k] = voxel_at(plane, index, px, py, volume.dims);
            let n = volume.index(i, j, k);
            let hu = volume.data[n];
            if hu < lower_hu || hu > upper_hu || labels.is_some_and(|l| l.data[n] != 0) {
                continue;
            }
            let p = &mut out[(py * w + px) * 4..(py * w + px) * 4 + 3];
            for (c, &t) in p.iter_mut().zip(&colour[..3]) {
                *c = ((*c as u32 * (255 - a) + t as u32 * a + 127) / 255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 × 2 × 4 volume whose value encodes its voxel: 100·k + 10·j + i.
    fn coded() -> Volume<i16> {
        let dims = [3, 2, 4];
        let mut v = Volume::filled(dims, [0.5, 0.6, 1.5], [0.0; 3], 0i16);
        for k in 0..4 {
            for j in 0..2 {
                for i in 0..3 {
                    let idx = v.index(i, j, k);
                    v.data[idx] = (100 * k + 10 * j + i) as i16;
                }
            }
        }
        v
    }

    /// Identity window over 0..=255: grey = hu for 0 ≤ hu ≤ 255.
    const IDENT: Window = Window {
        center_hu: 127.5,
        width_hu: 255.0,
    };

    fn greys(rgba: &[u8]) -> Vec<u8> {
        for px in rgba.chunks_exact(4) {
            assert_eq!(px[0], px[1]);
            assert_eq!(px[1], px[2]);
            assert_eq!(px[3], 255);
        }
        rgba.chunks_exact(4).map(|p| p[0]).collect()
    }

    #[test]
    fn identity_window_is_identity() {
        for hu in [-5i16, 0, 1, 100, 254, 255, 300] {
            assert_eq!(IDENT.grey(hu as f64), hu.clamp(0, 255) as u8);
        }
    }

    #[test]
    fn axial_slice_exact_bytes() {
        let v = coded();
        let mut out = Vec::new();
        render_slice_rgba(&v, Plane::Axial, 2, IDENT, None, &mut out);
        assert_eq!(slice_size(v.dims, Plane::Axial), (3, 2));
        assert_eq!(out.len(), 3 * 2 * 4);
        assert_eq!(&out[..8], &[200, 200, 200, 255, 201, 201, 201, 255]);
        assert_eq!(greys(&out), vec![200, 201, 202, 210, 211, 212]);
    }

    #[test]
    fn coronal_slice_superior_up() {
        let v = coded();
        let mut out = Vec::new();
        render_slice_rgba(&v, Plane::Coronal, 1, IDENT, None, &mut out);
        assert_eq!(slice_size(v.dims, Plane::Coronal), (3, 4));
        // Top row is the highest k (superior).
        assert_eq!(greys(&out), expected_coronal());
    }

    fn expected_coronal() -> Vec<u8> {
        // j = 1: value 100k + 10 + i, rows k = 3, 2, 1, 0; 310.. clamps to 255.
        vec![255, 255, 255, 210, 211, 212, 110, 111, 112, 10, 11, 12]
    }

    #[test]
    fn sagittal_slice_superior_up() {
        let v = coded();
        let mut out = Vec::new();
        render_slice_rgba(&v, Plane::Sagittal, 2, IDENT, None, &mut out);
        assert_eq!(slice_size(v.dims, Plane::Sagittal), (2, 4));
        // i = 2: columns j = 0, 1; rows k = 3, 2, 1, 0.
        assert_eq!(greys(&out), vec![255, 255, 202, 212, 102, 112, 2, 12]);
    }

    #[test]
    fn index_is_clamped_and_empty_volume_renders_nothing() {
        let v = coded();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        render_slice_rgba(&v, Plane::Sagittal, 99, IDENT, None, &mut a);
        render_slice_rgba(&v, Plane::Sagittal, 2, IDENT, None, &mut b);
        assert_eq!(a, b);
        let e = Volume::filled([0, 0, 0], [1.0; 3], [0.0; 3], 0i16);
        render_slice_rgba(&e, Plane::Axial, 0, BONE, None, &mut a);
        assert!(a.is_empty());
    }

    #[test]
    fn pixel_sizes() {
        let s = [0.4, 0.5, 1.25];
        assert_eq!(slice_pixel_mm(s, Plane::Axial), (0.4, 0.5));
        assert_eq!(slice_pixel_mm(s, Plane::Coronal), (0.4, 1.25));
        assert_eq!(slice_pixel_mm(s, Plane::Sagittal), (0.5, 1.25));
        assert_eq!(slice_size([5, 6, 7], Plane::Sagittal), (6, 7));
        assert_eq!(slice_count([5, 6, 7], Plane::Coronal), 6);
    }

    #[test]
    fn voxel_pixel_round_trip_and_agrees_with_rendering() {
        let v = coded();
        let dims = v.dims;
        for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
            let (w, h) = slice_size(dims, plane);
            let mut out = Vec::new();
            for s in 0..slice_count(dims, plane) {
                render_slice_rgba(&v, plane, s, IDENT, None, &mut out);
                for py in 0..h {
                    for px in 0..w {
                        let vox = voxel_at(plane, s, px, py, dims);
                        assert_eq!(pixel_of(plane, vox, dims), (s, px, py));
                        let hu = v.data[v.index(vox[0], vox[1], vox[2])];
                        assert_eq!(out[4 * (px + w * py)], IDENT.grey(hu as f64));
                    }
                }
            }
            for k in 0..dims[2] {
                for j in 0..dims[1] {
                    for i in 0..dims[0] {
                        let (s, px, py) = pixel_of(plane, [i, j, k], dims);
                        assert_eq!(voxel_at(plane, s, px, py, dims), [i, j, k]);
                    }
                }
            }
        }
    }

    #[test]
    fn window_presets() {
        assert_eq!(
            BONE,
            Window {
                center_hu: 400.0,
                width_hu: 1800.0
            }
        );
        assert_eq!(
            SOFT_TISSUE,
            Window {
                center_hu: 40.0,
                width_hu: 400.0
            }
        );
        assert_eq!(
            LUNG,
            Window {
                center_hu: -600.0,
                width_hu: 1500.0
            }
        );
        // Bone: -500 .. 1300.
        assert_eq!(BONE.grey(-500.0), 0);
        assert_eq!(BONE.grey(-1000.0), 0);
        assert_eq!(BONE.grey(400.0), 128); // 127.5 rounds half away from zero
        assert_eq!(BONE.grey(1300.0), 255);
        assert_eq!(BONE.grey(1000.0), 213); // 1500/1800·255 = 212.5 → 213
                                            // Soft tissue: -160 .. 240.
        assert_eq!(SOFT_TISSUE.grey(-160.0), 0);
        assert_eq!(SOFT_TISSUE.grey(0.0), 102); // 160/400·255 = 102
        assert_eq!(SOFT_TISSUE.grey(240.0), 255);
        // Lung: -1350 .. 150.
        assert_eq!(LUNG.grey(-1350.0), 0);
        assert_eq!(LUNG.grey(-1000.0), 60); // 350/1500·255 = 59.5 → 60
        assert_eq!(LUNG.grey(150.0), 255);
        // LUT agrees with the scalar formula everywhere.
        for w in [BONE, SOFT_TISSUE, LUNG, IDENT] {
            let lut = w.lut();
            for hu in (i16::MIN..=i16::MAX).step_by(7) {
                assert_eq!(lut[lut_index(hu)], w.grey(hu as f64));
            }
            assert_eq!(lut[lut_index(i16::MIN)], 0);
            assert_eq!(lut[lut_index(i16::MAX)], 255);
        }
    }

    #[test]
    fn overlay_blending() {
        let mut v = Volume::filled([2, 2, 1], [1.0; 3], [0.0; 3], 100i16);
        v.data[3] = 200;
        let mut labels = Volume::filled([2, 2, 1], [1.0; 3], [0.0; 3], 0u8);
        labels.data = vec![0, 1, 2, 3]; // 3 has no colour
        let colours = [[9, 9, 9, 255], [255, 0, 0, 255], [0, 255, 0, 128]];
        let mut out = Vec::new();
        render_slice_rgba(
            &v,
            Plane::Axial,
            0,
            IDENT,
            Some((&labels, &colours)),
            &mut out,
        );
        // (100·127 + 255·128) / 255 = 177.8 → 178; 100·127 / 255 = 49.8 → 50.
        assert_eq!(
            out,
            vec![100, 100, 100, 255, 255, 0, 0, 255, 50, 178, 50, 255, 200, 200, 200, 255]
        );
        // Transparent colour leaves grey.
        let clear = [[0, 0, 0, 0], [255, 0, 0, 0]];
        render_slice_rgba(
            &v,
            Plane::Axial,
            0,
            IDENT,
            Some((&labels, &clear)),
            &mut out,
        );
        assert_eq!(greys(&out), vec![100, 100, 100, 200]);
        // Blend rounding is exact against the real-valued formula.
        for g in 0..=255u32 {
            for a in [1u32, 77, 128, 254] {
                for c in [0u32, 13, 255] {
                    let exact = ((g * (255 - a) + c * a) as f64 / 255.0).round() as u32;
                    assert_eq!((g * (255 - a) + c * a + 127) / 255, exact);
                }
            }
        }
    }

    #[test]
    fn overlay_on_sagittal_follows_the_same_pixels() {
        let v = coded();
        let mut labels = Volume::filled(v.dims, v.spacing_mm, [0.0; 3], 0u8);
        let idx = labels.index(1, 1, 3); // superior-most row, column j = 1
        labels.data[idx] = 1;
        let mut out = Vec::new();
        render_slice_rgba(
            &v,
            Plane::Sagittal,
            1,
            IDENT,
            Some((&labels, &[[0; 4], [0, 0, 255, 255]])),
            &mut out,
        );
        let (_, px, py) = pixel_of(Plane::Sagittal, [1, 1, 3], v.dims);
        assert_eq!((px, py), (1, 0));
        assert_eq!(&out[4..8], &[0, 0, 255, 255]);
        assert_eq!(&out[0..4], &[255, 255, 255, 255]);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn timing_512_axial() {
        // Smoke test for speed; the figure is printed with --nocapture.
        let v = Volume::filled([512, 512, 4], [0.5, 0.5, 1.0], [0.0; 3], 40i16);
        let mut out = Vec::new();
        let t = std::time::Instant::now();
        for _ in 0..10 {
            render_slice_rgba(&v, Plane::Axial, 2, BONE, None, &mut out);
        }
        eprintln!(
            "512x512 axial: {:.3} ms/slice",
            t.elapsed().as_secs_f64() * 100.0
        );
        assert_eq!(out.len(), 512 * 512 * 4);
        let v = Volume::filled([448, 320, 128], [0.4, 0.4, 1.0], [0.0; 3], 40i16);
        let mut labels = Volume::filled(v.dims, v.spacing_mm, [0.0; 3], 0u8);
        labels
            .data
            .iter_mut()
            .enumerate()
            .for_each(|(n, l)| *l = (n % 3) as u8);
        let colours = [[0; 4], [255, 0, 0, 100], [0, 255, 0, 100]];
        for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
            for ov in [None, Some((&labels, &colours[..]))] {
                let t = std::time::Instant::now();
                for s in 0..10 {
                    render_slice_rgba(&v, plane, 60 + s, BONE, ov, &mut out);
                }
                eprintln!(
                    "448x320x128 {plane:?} overlay={}: {:.3} ms/slice",
                    ov.is_some(),
                    t.elapsed().as_secs_f64() * 100.0
                );
            }
        }
    }
}
