//! Compact voxel masks and label-volume helpers.
//!
//! A [`BitMask`] holds one bit per voxel (1/16 of an i16 CT volume) in `u64` words:
//! voxel `n` (linear index `i + nx * (j + ny * k)`) is bit `n % 64` of word `n / 64`.
//! A label volume is a [`Volume<u8>`]: 0 = background, 1..=255 = parts.

use crate::volume::Volume;

/// Words tested at once for "all empty" by [`BitMask::bbox`] (2 KiB of mask, 16 rows of
/// 512 voxels).
const EMPTY_RUN: usize = 128;

/// Inclusive voxel bounding box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VoxelBox {
    /// Smallest (i, j, k).
    pub min: [usize; 3],
    /// Largest (i, j, k), inclusive.
    pub max: [usize; 3],
}

impl VoxelBox {
    /// A box holding one voxel.
    pub fn point(p: [usize; 3]) -> Self {
        VoxelBox { min: p, max: p }
    }

    /// Grow to include `p`.
    #[inline]
    pub fn include(&mut self, p: [usize; 3]) {
        for ((lo, hi), v) in self.min.iter_mut().zip(self.max.iter_mut()).zip(p) {
            *lo = (*lo).min(v);
            *hi = (*hi).max(v);
        }
    }

    /// Union of two boxes.
    pub fn union(mut self, o: VoxelBox) -> VoxelBox {
        self.include(o.min);
        self.include(o.max);
        self
    }

    /// Grown by `by` voxels per axis, clamped to `dims`.
    pub fn grown(&self, by: [usize; 3], dims: [usize; 3]) -> VoxelBox {
        VoxelBox {
            min: [0, 1, 2].map(|a| self.min[a].saturating_sub(by[a])),
            max: [0, 1, 2].map(|a| (self.max[a] + by[a]).min(dims[a] - 1)),
        }
    }

    /// Voxel counts along i, j, k.
    pub fn dims(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.max[a] + 1 - self.min[a])
    }
}

/// One bit per voxel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitMask {
    dims: [usize; 3],
    words: Vec<u64>,
}

impl BitMask {
    /// An empty mask on a grid of `dims`.
    pub fn new(dims: [usize; 3]) -> Self {
        let n = dims[0] * dims[1] * dims[2];
        BitMask {
            dims,
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// A mask with `f(index)` for every voxel.
    pub fn from_fn(dims: [usize; 3], mut f: impl FnMut(usize) -> bool) -> Self {
        let mut m = BitMask::new(dims);
        let n = m.len();
        for (w, word) in m.words.iter_mut().enumerate() {
            let base = w * 64;
            let mut bits = 0u64;
            for b in 0..64.min(n - base) {
                bits |= (f(base + b) as u64) << b;
            }
            *word = bits;
        }
        m
    }

    /// Voxels of `labels` equal to `label`.
    pub fn from_label(labels: &Volume<u8>, label: u8) -> Self {
        BitMask::from_fn(labels.dims, |n| labels.data[n] == label)
    }

    /// Voxels of `labels` that are not background.
    pub fn from_nonzero(labels: &Volume<u8>) -> Self {
        BitMask::from_fn(labels.dims, |n| labels.data[n] != 0)
    }

    /// Grid size (i, j, k).
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Number of voxels of the grid (set or not).
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// True when the grid has no voxel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Linear index of (i, j, k).
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] * (j + self.dims[1] * k)
    }

    /// (i, j, k) of a linear index.
    #[inline]
    pub fn ijk(&self, n: usize) -> [usize; 3] {
        let nx = self.dims[0];
        let ny = self.dims[1];
        [n % nx, (n / nx) % ny, n / (nx * ny)]
    }

    /// Is voxel `n` set?
    #[inline]
    pub fn get(&self, n: usize) -> bool {
        (self.words[n >> 6] >> (n & 63)) & 1 == 1
    }

    /// Is voxel (i, j, k) set? `false` outside the grid.
    pub fn get_ijk(&self, i: i64, j: i64, k: i64) -> bool {
        let d = self.dims;
        if i < 0 || j < 0 || k < 0 || i as usize >= d[0] || j as usize >= d[1] || k as usize >= d[2]
        {
            return false;
        }
        self.get(self.index(i as usize, j as usize, k as usize))
    }

    /// Set or clear voxel `n`.
    #[inline]
    pub fn set(&mut self, n: usize, on: bool) {
        let bit = 1u64 << (n & 63);
        if on {
            self.words[n >> 6] |= bit;
        } else {
            self.words[n >> 6] &= !bit;
        }
    }

    /// Set voxels `start..end` (linear indices).
    pub fn set_range(&mut self, start: usize, end: usize) {
        let mut n = start;
        while n < end {
            let (w, b) = (n >> 6, n & 63);
            let take = (64 - b).min(end - n);
            let bits = if take == 64 {
                u64::MAX
            } else {
                ((1u64 << take) - 1) << b
            };
            self.words[w] |= bits;
            n += take;
        }
    }

    /// Up to 64 voxels from `start` as the low bits of a word (bit `b` = voxel
    /// `start + b`); voxels past the end read as unset.
    #[inline]
    pub fn bits_at(&self, start: usize, len: usize) -> u64 {
        let (w, b) = (start >> 6, start & 63);
        let mut v = self.words.get(w).copied().unwrap_or(0) >> b;
        if b != 0 && b + len > 64 {
            v |= self.words.get(w + 1).copied().unwrap_or(0) << (64 - b);
        }
        if len >= 64 {
            v
        } else {
            v & ((1u64 << len) - 1)
        }
    }

    /// Set the voxels `start + b` for every set bit `b` of `bits` (none past the end).
    #[inline]
    pub fn or_bits(&mut self, start: usize, bits: u64) {
        let (w, b) = (start >> 6, start & 63);
        self.words[w] |= bits << b;
        if b != 0 {
            let high = bits >> (64 - b);
            if high != 0 {
                self.words[w + 1] |= high;
            }
        }
    }

    /// Replace voxels `start..start + len` (len ≤ 64, none past the end) by the low bits
    /// of `bits`.
    #[inline]
    pub fn put_bits(&mut self, start: usize, len: usize, bits: u64) {
        let keep = if len >= 64 {
            u64::MAX
        } else {
            (1u64 << len) - 1
        };
        let bits = bits & keep;
        let (w, b) = (start >> 6, start & 63);
        self.words[w] = (self.words[w] & !(keep << b)) | (bits << b);
        if b != 0 && b + len > 64 {
            let (k, v) = (keep >> (64 - b), bits >> (64 - b));
            self.words[w + 1] = (self.words[w + 1] & !k) | v;
        }
    }

    /// Number of set voxels.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Linear indices of set voxels, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + b)
            })
        })
    }

    /// The raw words (bit `n % 64` of word `n / 64` is voxel `n`; bits past the end are 0).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Mutable raw words; keep bits past the end at 0.
    pub fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// First set voxel at index ≥ `from` and < `to`, if any.
    #[inline]
    pub fn next_set(&self, from: usize, to: usize) -> Option<usize> {
        self.next_with(from, to, false)
    }

    /// First clear voxel at index ≥ `from` and < `to`, if any.
    #[inline]
    pub fn next_clear(&self, from: usize, to: usize) -> Option<usize> {
        self.next_with(from, to, true)
    }

    #[inline]
    fn next_with(&self, from: usize, to: usize, invert: bool) -> Option<usize> {
        if from >= to {
            return None;
        }
        let mut w = from >> 6;
        let flip = if invert { u64::MAX } else { 0 };
        let mut word = (self.words[w] ^ flip) & (u64::MAX << (from & 63));
        loop {
            if word != 0 {
                let n = w * 64 + word.trailing_zeros() as usize;
                return if n < to { Some(n) } else { None };
            }
            w += 1;
            if w * 64 >= to {
                return None;
            }
            word = self.words[w] ^ flip;
        }
    }

    /// Voxels set in both.
    pub fn and(&self, o: &BitMask) -> BitMask {
        self.zip(o, |a, b| a & b)
    }

    /// Voxels set in either.
    pub fn or(&self, o: &BitMask) -> BitMask {
        self.zip(o, |a, b| a | b)
    }

    /// Voxels set in `self` but not in `o`.
    pub fn and_not(&self, o: &BitMask) -> BitMask {
        self.zip(o, |a, b| a & !b)
    }

    /// The complement.
    pub fn not(&self) -> BitMask {
        let mut out = self.clone();
        for w in &mut out.words {
            *w = !*w;
        }
        out.clear_tail();
        out
    }

    fn zip(&self, o: &BitMask, f: impl Fn(u64, u64) -> u64) -> BitMask {
        assert_eq!(self.dims, o.dims, "masks on different grids");
        BitMask {
            dims: self.dims,
            words: self
                .words
                .iter()
                .zip(&o.words)
                .map(|(a, b)| f(*a, *b))
                .collect(),
        }
    }

    fn clear_tail(&mut self) {
        let n = self.len();
        if !n.is_multiple_of(64) {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u64 << (n % 64)) - 1;
            }
        }
    }

    /// Bounding box of the set voxels, `None` when empty.
    ///
    /// Runs of empty words (most of a whole-grid mask of one part) are passed over 128
    /// words at a time by one OR (vectorised); the rows that meet a run with a set bit
    /// add their first and last set voxel, found word by word from either end.
    pub fn bbox(&self) -> Option<VoxelBox> {
        let [nx, ny, _] = self.dims;
        let n = self.len();
        let mut b: Option<VoxelBox> = None;
        // Rows before `next_row` have been looked at.
        let mut next_row = 0;
        for (r, run) in self.words.chunks(EMPTY_RUN).enumerate() {
            if n == 0 || run.iter().fold(0, |a, &w| a | w) == 0 {
                continue;
            }
            let start = r * EMPTY_RUN * 64;
            let end = (start + 64 * run.len()).min(n);
            let last_row = (end - 1) / nx;
            for row in (start / nx).max(next_row)..=last_row {
                let from = row * nx;
                let Some(first) = self.next_set(from, from + nx) else {
                    continue;
                };
                let last = self.last_set(from, from + nx).unwrap_or(first);
                let (j, k) = (row % ny, row / ny);
                let span = VoxelBox {
                    min: [first - from, j, k],
                    max: [last - from, j, k],
                };
                b = Some(b.map_or(span, |x| x.union(span)));
            }
            next_row = last_row + 1;
        }
        b
    }

    /// Last set voxel at index ≥ `from` and < `to`, if any.
    fn last_set(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let mut w = (to - 1) >> 6;
        let mut word = self.words[w] & (u64::MAX >> (63 - ((to - 1) & 63)));
        loop {
            if word != 0 {
                let n = w * 64 + 63 - word.leading_zeros() as usize;
                return (n >= from).then_some(n);
            }
            if w * 64 <= from {
                return None;
            }
            w -= 1;
            word = self.words[w];
        }
    }

    /// The sub-grid `bx` as its own mask (copied 64 voxels at a time).
    pub fn crop(&self, bx: &VoxelBox) -> BitMask {
        let d = bx.dims();
        let mut out = BitMask::new(d);
        for k in 0..d[2] {
            for j in 0..d[1] {
                let src = self.index(bx.min[0], bx.min[1] + j, bx.min[2] + k);
                let dst = out.index(0, j, k);
                for i in (0..d[0]).step_by(64) {
                    let bits = self.bits_at(src + i, (d[0] - i).min(64));
                    if bits != 0 {
                        out.or_bits(dst + i, bits);
                    }
                }
            }
        }
        out
    }

    /// Write `part` (a crop at `bx`) back into this mask, replacing that sub-grid.
    pub fn paste(&mut self, part: &BitMask, bx: &VoxelBox) {
        let d = bx.dims();
        assert_eq!(d, part.dims, "paste box and part differ in size");
        for k in 0..d[2] {
            for j in 0..d[1] {
                let dst = self.index(bx.min[0], bx.min[1] + j, bx.min[2] + k);
                let src = part.index(0, j, k);
                for i in (0..d[0]).step_by(64) {
                    let len = (d[0] - i).min(64);
                    self.put_bits(dst + i, len, part.bits_at(src + i, len));
                }
            }
        }
    }
}

/// Voxel count of every label value (index = label).
pub fn label_counts(labels: &Volume<u8>) -> [usize; 256] {
    let mut c = [0usize; 256];
    for &v in &labels.data {
        c[v as usize] += 1;
    }
    c
}

/// Bounding box of every label value (index = label), `None` for absent labels (and for
/// 0, the background).
///
/// One pass, row by row: an all-background row is skipped after an OR over its bytes
/// (vectorised), and a row with labels widens each label's box once per row.
pub fn label_bboxes(labels: &Volume<u8>) -> Vec<Option<VoxelBox>> {
    let mut out: Vec<Option<VoxelBox>> = vec![None; 256];
    let [nx, ny, _] = labels.dims;
    if nx == 0 {
        return out;
    }
    // Per label: first and last i in the current row (first > last: absent).
    let mut first = [usize::MAX; 256];
    let mut last = [0usize; 256];
    let mut seen: Vec<u8> = Vec::with_capacity(16);
    for (r, row) in labels.data.chunks_exact(nx).enumerate() {
        for (c, chunk) in row.chunks(32).enumerate() {
            if chunk.iter().fold(0u8, |a, &v| a | v) == 0 {
                continue; // 32 background voxels
            }
            for (b, &v) in chunk.iter().enumerate() {
                if v == 0 {
                    continue;
                }
                let l = v as usize;
                if first[l] == usize::MAX {
                    first[l] = 32 * c + b;
                    seen.push(v);
                }
                last[l] = 32 * c + b;
            }
        }
        if seen.is_empty() {
            continue;
        }
        let (j, k) = (r % ny, r / ny);
        for &v in &seen {
            let l = v as usize;
            let (a, b) = ([first[l], j, k], [last[l], j, k]);
            match &mut out[l] {
                Some(bx) => {
                    bx.include(a);
                    bx.include(b);
                }
                slot => *slot = Some(VoxelBox::point(a).union(VoxelBox::point(b))),
            }
            first[l] = usize::MAX;
        }
        seen.clear();
    }
    out
}

/// Bounding box of the voxels of `labels` equal to `label`, `None` when there are none.
/// Chunks of 32 voxels without the label are skipped by one (vectorised) test.
pub fn label_bbox(labels: &Volume<u8>, label: u8) -> Option<VoxelBox> {
    let [nx, ny, _] = labels.dims;
    if nx == 0 {
        return None;
    }
    let mut out: Option<VoxelBox> = None;
    for (r, row) in labels.data.chunks_exact(nx).enumerate() {
        let mut span: Option<(usize, usize)> = None;
        for (c, chunk) in row.chunks(32).enumerate() {
            if !chunk.iter().fold(false, |a, &v| a | (v == label)) {
                continue;
            }
            for (b, &v) in chunk.iter().enumerate() {
                if v == label {
                    let i = 32 * c + b;
                    span = Some(span.map_or((i, i), |(f, _)| (f, i)));
                }
            }
        }
        if let Some((first, last)) = span {
            let (j, k) = (r % ny, r / ny);
            let row_box = VoxelBox::point([first, j, k]).union(VoxelBox::point([last, j, k]));
            out = Some(out.map_or(row_box, |b| b.union(row_box)));
        }
    }
    out
}

/// The voxels of `labels` inside `bx` whose label satisfies `keep`, as a mask of the box.
pub fn label_crop_where(labels: &Volume<u8>, bx: &VoxelBox, keep: impl Fn(u8) -> bool) -> BitMask {
    let d = bx.dims();
    let [nx, ny, _] = labels.dims;
    let mut m = BitMask::new(d);
    for k in 0..d[2] {
        for j in 0..d[1] {
            let src = bx.min[0] + nx * (bx.min[1] + j + ny * (bx.min[2] + k));
            let dst = m.index(0, j, k);
            for (c, chunk) in labels.data[src..src + d[0]].chunks(64).enumerate() {
                let mut bits = 0u64;
                for (b, &v) in chunk.iter().enumerate() {
                    bits |= (keep(v) as u64) << b;
                }
                if bits != 0 {
                    m.or_bits(dst + 64 * c, bits);
                }
            }
        }
    }
    m
}

/// The voxels of `labels` equal to `label` inside `bx`, as a mask of the box.
pub fn label_crop(labels: &Volume<u8>, label: u8, bx: &VoxelBox) -> BitMask {
    label_crop_where(labels, bx, |v| v == label)
}

/// Volume of one voxel in mm³ (|det| of the affine's linear part, so tilted grids count right).
pub fn voxel_volume_mm3<T>(volume: &Volume<T>) -> f64 {
    volume
        .patient_from_voxel
        .fixed_view::<3, 3>(0, 0)
        .determinant()
        .abs()
}

/// Volume of label `label` in mm³.
pub fn label_volume_mm3(labels: &Volume<u8>, label: u8) -> f64 {
    let n = labels.data.iter().filter(|v| **v == label).count();
    n as f64 * voxel_volume_mm3(labels)
}

/// Write `value` into `labels` wherever `mask` is set.
pub fn set_label(labels: &mut Volume<u8>, mask: &BitMask, value: u8) {
    for n in mask.iter() {
        labels.data[n] = value;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bbox_equals_brute_force() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..60 {
            let dims = [
                1 + (r() % 140) as usize,
                1 + (r() % 6) as usize,
                1 + (r() % 5) as usize,
            ];
            let density = r() % 200;
            let m = BitMask::from_fn(dims, |_| r() % 1000 < density);
            let mut want: Option<VoxelBox> = None;
            for n in m.iter() {
                let p = m.ijk(n);
                want = Some(match want {
                    Some(b) => b.union(VoxelBox::point(p)),
                    None => VoxelBox::point(p),
                });
            }
            assert_eq!(m.bbox(), want, "case {case}, dims {dims:?}");
        }
        // Larger, mostly empty grids (whole runs of empty words are skipped): a few
        // voxels anywhere, none at all, or a full row.
        for case in 0..40 {
            let dims = [
                1 + (r() % 300) as usize,
                1 + (r() % 40) as usize,
                1 + (r() % 20) as usize,
            ];
            let mut m = BitMask::new(dims);
            let mut want: Option<VoxelBox> = None;
            for _ in 0..case % 5 {
                let p = dims.map(|d| (r() % d as u64) as usize);
                m.set(m.index(p[0], p[1], p[2]), true);
                want = Some(want.map_or(VoxelBox::point(p), |b| b.union(VoxelBox::point(p))));
            }
            if case % 7 == 6 {
                let (j, k) = (
                    (r() % dims[1] as u64) as usize,
                    (r() % dims[2] as u64) as usize,
                );
                m.set_range(m.index(0, j, k), m.index(0, j, k) + dims[0]);
                let row = VoxelBox {
                    min: [0, j, k],
                    max: [dims[0] - 1, j, k],
                };
                want = Some(want.map_or(row, |b| b.union(row)));
            }
            assert_eq!(m.bbox(), want, "sparse case {case}, dims {dims:?}");
        }
    }

    #[test]
    fn label_box_and_crop_equal_the_full_grid_mask() {
        let mut s = 0x7f4a_7c15_9e37_79b9u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..40 {
            let dims = [
                1 + (r() % 150) as usize,
                1 + (r() % 6) as usize,
                1 + (r() % 5) as usize,
            ];
            let mut labels = Volume::filled(dims, [1.0; 3], [0.0; 3], 0u8);
            for v in labels.data.iter_mut() {
                *v = if r().is_multiple_of(9) {
                    (r() % 4) as u8
                } else {
                    0
                };
            }
            for label in 0..5u8 {
                let full = BitMask::from_label(&labels, label);
                assert_eq!(
                    label_bbox(&labels, label),
                    full.bbox(),
                    "case {case}, {label}"
                );
                if let Some(bb) = full.bbox() {
                    let bx = bb.grown([2, 1, 1], dims);
                    assert_eq!(
                        label_crop(&labels, label, &bx),
                        full.crop(&bx),
                        "case {case}"
                    );
                }
            }
        }
    }

    #[test]
    fn crop_and_paste_equal_voxel_by_voxel_copies() {
        let mut s = 0x0123_4567_89ab_cdefu64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..80 {
            let dims = [
                1 + (r() % 200) as usize,
                1 + (r() % 5) as usize,
                1 + (r() % 4) as usize,
            ];
            let m = BitMask::from_fn(dims, |_| r().is_multiple_of(3));
            let lo = dims.map(|d| (r() % d as u64) as usize);
            let hi = [0, 1, 2].map(|a| lo[a] + (r() % (dims[a] - lo[a]) as u64) as usize);
            let bx = VoxelBox { min: lo, max: hi };
            let c = m.crop(&bx);
            let bd = bx.dims();
            let want = BitMask::from_fn(bd, |n| {
                let (i, j, k) = (n % bd[0], (n / bd[0]) % bd[1], n / (bd[0] * bd[1]));
                m.get(m.index(i + lo[0], j + lo[1], k + lo[2]))
            });
            assert_eq!(c, want, "crop, case {case}");
            let part = BitMask::from_fn(bd, |_| r().is_multiple_of(2));
            let mut pasted = m.clone();
            pasted.paste(&part, &bx);
            let want = BitMask::from_fn(dims, |n| {
                let p = m.ijk(n);
                if (0..3).all(|a| p[a] >= lo[a] && p[a] <= hi[a]) {
                    part.get(part.index(p[0] - lo[0], p[1] - lo[1], p[2] - lo[2]))
                } else {
                    m.get(n)
                }
            });
            assert_eq!(pasted, want, "paste, case {case}");
        }
    }
}
