//! Manual edits: 2-D circle and 3-D sphere brushes, lasso on a slice, with undo records.
//!
//! Edits work on anything implementing [`VoxelStore`]: a [`BitMask`] (values 0/1) or a
//! label volume `Volume<u8>`. [`BrushMode::Paint`] writes its value only into background
//! voxels (0) — painting never takes voxels from another part; [`BrushMode::Erase`]
//! clears only voxels holding its value. Every edit returns an [`UndoRecord`] of the
//! voxels it changed, in ascending index order, to revert ([`undo`]) or replay ([`redo`]).
//!
//! # Slices
//! A [`Slice`] is a plane of constant index along `axis` (2 = axial, 1 = coronal,
//! 0 = sagittal). Pixel coordinates (u, v) on it are (i, j) on axial, (i, k) on coronal
//! and (j, k) on sagittal slices; pixel centres are at integer (u, v).

use super::{BitMask, SegmentError};
use crate::volume::Volume;

/// A voxel container the editors can change.
pub trait VoxelStore {
    /// Grid size (i, j, k).
    fn store_dims(&self) -> [usize; 3];
    /// Value of voxel `n`.
    fn read(&self, n: usize) -> u8;
    /// Set voxel `n`.
    fn write(&mut self, n: usize, v: u8);
}

impl VoxelStore for BitMask {
    fn store_dims(&self) -> [usize; 3] {
        self.dims()
    }
    fn read(&self, n: usize) -> u8 {
        self.get(n) as u8
    }
    fn write(&mut self, n: usize, v: u8) {
        self.set(n, v != 0)
    }
}

impl VoxelStore for Volume<u8> {
    fn store_dims(&self) -> [usize; 3] {
        self.dims
    }
    fn read(&self, n: usize) -> u8 {
        self.data[n]
    }
    fn write(&mut self, n: usize, v: u8) {
        self.data[n] = v
    }
}

/// What a brush or lasso does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BrushMode {
    /// Write this value into background voxels (use 1 for a [`BitMask`]).
    Paint(u8),
    /// Clear voxels holding this value (use 1 for a [`BitMask`]).
    Erase(u8),
}

/// A plane of constant index `index` along `axis` (0 = sagittal, 1 = coronal, 2 = axial).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slice {
    pub axis: usize,
    pub index: usize,
}

/// The changes of one edit: voxel indices (ascending) with their old and new values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UndoRecord {
    pub indices: Vec<u32>,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

impl UndoRecord {
    /// Number of voxels the edit changed.
    pub fn len(&self) -> usize {
        self.indices.len()
    }
    /// True when the edit changed nothing.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Revert an edit.
pub fn undo<S: VoxelStore + ?Sized>(target: &mut S, record: &UndoRecord) {
    for (n, v) in record.indices.iter().zip(&record.old) {
        target.write(*n as usize, *v);
    }
}

/// Apply an edit again after [`undo`].
pub fn redo<S: VoxelStore + ?Sized>(target: &mut S, record: &UndoRecord) {
    for (n, v) in record.indices.iter().zip(&record.new) {
        target.write(*n as usize, *v);
    }
}

fn apply<S: VoxelStore + ?Sized>(
    target: &mut S,
    mode: BrushMode,
    voxels: impl Iterator<Item = usize>,
    rec: &mut UndoRecord,
) {
    for n in voxels {
        let old = target.read(n);
        let new = match mode {
            BrushMode::Paint(v) if old == 0 => v,
            BrushMode::Erase(v) if old == v => 0,
            _ => old,
        };
        if new != old {
            target.write(n, new);
            rec.indices.push(n as u32);
            rec.old.push(old);
            rec.new.push(new);
        }
    }
}

fn slice_axes(axis: usize) -> (usize, usize) {
    match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    }
}

fn check_slice(dims: [usize; 3], slice: Slice) -> Result<(), SegmentError> {
    if slice.axis > 2 || slice.index >= dims[slice.axis.min(2)] {
        return Err(SegmentError::InvalidParameter(format!(
            "slice {} along axis {} is outside the volume of {} × {} × {} voxels",
            slice.index, slice.axis, dims[0], dims[1], dims[2]
        )));
    }
    Ok(())
}

fn check_radius(r: f64) -> Result<(), SegmentError> {
    if r.is_finite() && r >= 0.0 {
        Ok(())
    } else {
        Err(SegmentError::InvalidParameter(format!(
            "the brush radius must be a non-negative number of mm, got {r}"
        )))
    }
}

fn linear(dims: [usize; 3], p: [usize; 3]) -> usize {
    p[0] + dims[0] * (p[1] + dims[1] * p[2])
}

/// Circle brush of `radius_mm` centred at pixel `centre` (u, v) on `slice`.
pub fn circle<S: VoxelStore + ?Sized>(
    target: &mut S,
    spacing_mm: [f64; 3],
    slice: Slice,
    centre: [f64; 2],
    radius_mm: f64,
    mode: BrushMode,
) -> Result<UndoRecord, SegmentError> {
    let dims = target.store_dims();
    check_slice(dims, slice)?;
    check_radius(radius_mm)?;
    let (au, av) = slice_axes(slice.axis);
    let (su, sv) = (spacing_mm[au], spacing_mm[av]);
    let r2 = radius_mm * radius_mm * (1.0 + 1e-9);
    let mut voxels = Vec::new();
    let (u0, u1) = span(centre[0], radius_mm / su, dims[au]);
    let (v0, v1) = span(centre[1], radius_mm / sv, dims[av]);
    for v in v0..v1 {
        for u in u0..u1 {
            let (du, dv) = ((u as f64 - centre[0]) * su, (v as f64 - centre[1]) * sv);
            if du * du + dv * dv <= r2 {
                let mut p = [0; 3];
                p[slice.axis] = slice.index;
                p[au] = u;
                p[av] = v;
                voxels.push(linear(dims, p));
            }
        }
    }
    voxels.sort_unstable();
    let mut rec = UndoRecord::default();
    apply(target, mode, voxels.into_iter(), &mut rec);
    Ok(rec)
}

fn span(c: f64, r: f64, n: usize) -> (usize, usize) {
    let lo = (c - r).ceil().max(0.0);
    let hi = (c + r).floor() + 1.0;
    let hi = hi.min(n as f64).max(0.0);
    (lo.min(hi) as usize, hi as usize)
}

/// Sphere brush of `radius_mm` centred at voxel coordinates `centre` (i, j, k).
pub fn sphere<S: VoxelStore + ?Sized>(
    target: &mut S,
    spacing_mm: [f64; 3],
    centre: [f64; 3],
    radius_mm: f64,
    mode: BrushMode,
) -> Result<UndoRecord, SegmentError> {
    let dims = target.store_dims();
    check_radius(radius_mm)?;
    let r2 = radius_mm * radius_mm * (1.0 + 1e-9);
    let [(i0, i1), (j0, j1), (k0, k1)] =
        [0, 1, 2].map(|a| span(centre[a], radius_mm / spacing_mm[a], dims[a]));
    let mut voxels = Vec::new();
    for k in k0..k1 {
        for j in j0..j1 {
            for i in i0..i1 {
                let d = [
                    i as f64 - centre[0],
                    j as f64 - centre[1],
                    k as f64 - centre[2],
                ];
                let d2: f64 = (0..3).map(|a| (d[a] * spacing_mm[a]).powi(2)).sum();
                if d2 <= r2 {
                    voxels.push(linear(dims, [i, j, k]));
                }
            }
        }
    }
    let mut rec = UndoRecord::default();
    apply(target, mode, voxels.into_iter(), &mut rec);
    Ok(rec)
}

/// Lasso: fill or erase the pixels of `slice` whose centres are inside `polygon`
/// (pixel coordinates u, v; closed implicitly) by the even-odd rule. A pixel row `v`
/// crosses an edge when `v` lies in [min(y), max(y)) of the edge, and pixel `u` is
/// inside when it lies in [x_a, x_b) between a pair of crossings — so a pixel centre on
/// a left or bottom edge is inside and one on a right or top edge is not.
pub fn lasso<S: VoxelStore + ?Sized>(
    target: &mut S,
    slice: Slice,
    polygon: &[[f64; 2]],
    mode: BrushMode,
) -> Result<UndoRecord, SegmentError> {
    let dims = target.store_dims();
    check_slice(dims, slice)?;
    if polygon.len() < 3 || polygon.iter().flatten().any(|v| !v.is_finite()) {
        return Err(SegmentError::InvalidParameter(
            "a lasso needs at least three finite points".into(),
        ));
    }
    let (au, av) = slice_axes(slice.axis);
    let vmin = polygon.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
    let vmax = polygon
        .iter()
        .map(|p| p[1])
        .fold(f64::NEG_INFINITY, f64::max);
    let (v0, v1) = (
        vmin.ceil().max(0.0) as usize,
        ((vmax.ceil()).max(0.0) as usize).min(dims[av]),
    );
    let mut voxels = Vec::new();
    let mut xs = Vec::new();
    for v in v0..v1 {
        let y = v as f64;
        xs.clear();
        for e in 0..polygon.len() {
            let (a, b) = (polygon[e], polygon[(e + 1) % polygon.len()]);
            let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
            if y >= lo[1] && y < hi[1] {
                xs.push(lo[0] + (y - lo[1]) / (hi[1] - lo[1]) * (hi[0] - lo[0]));
            }
        }
        xs.sort_by(|a, b| a.total_cmp(b));
        for pair in xs.chunks_exact(2) {
            let u0 = pair[0].ceil().max(0.0) as usize;
            let u1 = (pair[1].ceil().max(0.0) as usize).min(dims[au]);
            for u in u0..u1 {
                let mut p = [0; 3];
                p[slice.axis] = slice.index;
                p[au] = u;
                p[av] = v;
                voxels.push(linear(dims, p));
            }
        }
    }
    voxels.sort_unstable();
    voxels.dedup();
    let mut rec = UndoRecord::default();
    apply(target, mode, voxels.into_iter(), &mut rec);
    Ok(rec)
}
