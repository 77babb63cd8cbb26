//! Manual mask edits as design operations: brush strokes, lasso, morphology, cavity fill
//! and the cut-line split. `replay::apply` calls one function here per [`Op`] variant.
//!
//! Units and spaces: stroke points, slices and polygons are voxel indices of the study
//! (slice pixels (u, v) as in [`crate::segment::edit`]: (i, j) on axis 2, (i, k) on
//! axis 1, (j, k) on axis 0); radii are patient millimetres on the study's anisotropic
//! voxel spacing. Each function either applies the whole edit or returns an error and
//! leaves the segmentation exactly as it was (brush and lasso changes are reverted with
//! their [`UndoRecord`]s; the others compute the result before writing anything).
//!
//! Edits never take voxels from another part: painting, lasso fill, dilation, closing and
//! cavity fill write into background only, erasing clears only the target part.
//!
//! [`Op`]: super::Op

use super::replay::{colour_of, next_label, PartInfo, ReplayError, Segmentation};
use super::state::Morph;
use crate::segment::edit::{self, BrushMode, Slice, UndoRecord};
use crate::segment::fill::fill_cavities as fill_mask_cavities;
use crate::segment::mask::{label_bbox, label_crop, label_crop_where, set_label, BitMask};
use crate::segment::morphology;
use crate::segment::split::split_by_plane;
use crate::segment::{Connectivity, VoxelBox};

/// Largest brush or morphology radius accepted, mm: larger is not an edit but a new
/// segmentation, and would take long on a full study.
pub const MAX_RADIUS_MM: f64 = 50.0;
/// Most brush stamps one stroke may need (points plus interpolated centres).
pub const MAX_STAMPS: usize = 100_000;

/// Why an edit cannot be applied, in words for the user. Nothing was changed.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum EditError {
    #[error("the {what} radius must be more than 0 and at most {max} mm, got {radius_mm} mm")]
    Radius {
        what: &'static str,
        radius_mm: f64,
        max: f64,
    },
    #[error("the stroke has no points: drag on a slice to paint or erase")]
    EmptyStroke,
    #[error(
        "the stroke is too long ({0} brush stamps, at most {MAX_STAMPS}): draw shorter strokes"
    )]
    StrokeTooLong(usize),
    #[error("the stroke point ({}, {}, {}) is outside the volume of {} × {} × {} voxels: draw inside the image", point[0], point[1], point[2], dims[0], dims[1], dims[2])]
    OutsideVolume { point: [u32; 3], dims: [usize; 3] },
    #[error("the axis must be 0 (sagittal), 1 (coronal) or 2 (axial), got {0}")]
    BadAxis(u8),
    #[error("a 2-D brush stroke must stay on one slice: draw it on a single view")]
    StrokeLeavesSlice,
    #[error("slice {index} along axis {axis} is outside the volume ({count} slices)")]
    SliceOutside { axis: u8, index: u32, count: usize },
    #[error("the point ({}, {}) is outside the {} × {} slice: draw inside the image", pixel[0], pixel[1], size[0], size[1])]
    PixelOutside { pixel: [u32; 2], size: [usize; 2] },
    #[error("the lasso encloses no pixel: draw a loop of at least three points around the area")]
    EmptyLasso,
    #[error(
        "the {0} changed nothing: those voxels already have that state or belong to another part"
    )]
    NothingChanged(&'static str),
    #[error("that would remove every voxel of {0}: remove the part with × instead")]
    WouldEmpty(String),
    #[error("{0} has no enclosed cavity to fill")]
    NoCavity(String),
    #[error("the two ends of the cut line are the same pixel: draw a longer line")]
    ShortCutLine,
    #[error(
        "the click that chooses the side to keep lies on the cut line: click on one side of it"
    )]
    KeepOnLine,
    #[error("the cut line leaves one side of {0} empty: draw it across the part")]
    CutMissesPart(String),
}

fn check_radius(what: &'static str, radius_mm: f64) -> Result<(), EditError> {
    if radius_mm.is_finite() && radius_mm > 0.0 && radius_mm <= MAX_RADIUS_MM {
        Ok(())
    } else {
        Err(EditError::Radius {
            what,
            radius_mm,
            max: MAX_RADIUS_MM,
        })
    }
}

fn check_axis(axis: u8) -> Result<usize, EditError> {
    if axis <= 2 {
        Ok(axis as usize)
    } else {
        Err(EditError::BadAxis(axis))
    }
}

/// Slice pixel axes (u, v) of a slice perpendicular to `axis`.
fn slice_axes(axis: usize) -> (usize, usize) {
    match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    }
}

fn part_index(seg: &Segmentation, label: u8) -> Result<usize, ReplayError> {
    seg.parts
        .iter()
        .position(|p| p.label == label)
        .ok_or(ReplayError::NoSuchPart(label))
}

/// The label to write into: an existing part, or the label a new part would get.
fn target_label(seg: &Segmentation, label: Option<u8>) -> Result<(u8, bool), ReplayError> {
    match label {
        Some(l) => part_index(seg, l).map(|_| (l, false)),
        None => next_label(seg).map(|l| (l, true)),
    }
}

fn add_part(seg: &mut Segmentation, label: u8) {
    seg.parts.push(PartInfo {
        label,
        name: format!("part {label}"),
        colour: colour_of(label),
        voxels: 0,
        volume_mm3: 0.0,
    });
}

fn revert(seg: &mut Segmentation, records: &[UndoRecord]) {
    for r in records.iter().rev() {
        edit::undo(&mut seg.labels, r);
    }
}

/// After an erase of `label` (changes in `records`): refuse it when it changed nothing or
/// emptied the part, reverting it.
fn finish_erase(
    seg: &mut Segmentation,
    label: u8,
    records: &[UndoRecord],
    what: &'static str,
) -> Result<(), ReplayError> {
    if records.iter().all(|r| r.is_empty()) {
        return Err(EditError::NothingChanged(what).into());
    }
    if !seg.labels.data.contains(&label) {
        revert(seg, records);
        let name = seg.parts[part_index(seg, label)?].name.clone();
        return Err(EditError::WouldEmpty(name).into());
    }
    Ok(())
}

/// Brush centres of a stroke (voxel coordinates): every point, and centres in between so
/// the swept brush leaves no gap. Balls `s` apart cover the stroke's tube up to a band of
/// about `s² / 8r` at its edge: for brushes up to 4 voxels the step is half the smaller of
/// radius and finest spacing `f`; for larger ones `sqrt(r f / 2)` keeps that band at
/// f / 16 with far fewer stamps.
fn stamps(
    stroke: &[[u32; 3]],
    spacing_mm: [f64; 3],
    radius_mm: f64,
) -> Result<Vec<[f64; 3]>, EditError> {
    let finest = spacing_mm.iter().copied().fold(f64::INFINITY, f64::min);
    let step_mm = if radius_mm <= 4.0 * finest {
        0.5 * radius_mm.min(finest)
    } else {
        (radius_mm * finest / 2.0).sqrt()
    };
    let mut out = Vec::new();
    let mut prev: Option<[f64; 3]> = None;
    for p in stroke {
        let p = p.map(f64::from);
        if let Some(a) = prev {
            let len_mm = (0..3)
                .map(|d| ((p[d] - a[d]) * spacing_mm[d]).powi(2))
                .sum::<f64>()
                .sqrt();
            let n = (len_mm / step_mm).ceil().max(1.0);
            if out.len() as f64 + n > MAX_STAMPS as f64 {
                return Err(EditError::StrokeTooLong(out.len() + n as usize));
            }
            for t in 1..=n as usize {
                let f = t as f64 / n;
                out.push([0, 1, 2].map(|d| a[d] + (p[d] - a[d]) * f));
            }
        } else {
            out.push(p);
        }
        prev = Some(p);
    }
    Ok(out)
}

/// Applies one brush stroke with `mode`; returns the undo records (reverted already on error).
fn stroke(
    seg: &mut Segmentation,
    axis: Option<u8>,
    radius_mm: f64,
    points: &[[u32; 3]],
    mode: BrushMode,
) -> Result<Vec<UndoRecord>, ReplayError> {
    check_radius("brush", radius_mm)?;
    let dims = seg.labels.dims;
    let first = *points.first().ok_or(EditError::EmptyStroke)?;
    for p in points {
        if (0..3).any(|a| p[a] as usize >= dims[a]) {
            return Err(EditError::OutsideVolume { point: *p, dims }.into());
        }
    }
    let axis = axis.map(check_axis).transpose()?;
    if let Some(a) = axis {
        if points.iter().any(|p| p[a] != first[a]) {
            return Err(EditError::StrokeLeavesSlice.into());
        }
    }
    let spacing = seg.labels.spacing_mm;
    let centres = stamps(points, spacing, radius_mm)?;
    let mut records = Vec::with_capacity(centres.len());
    for c in centres {
        let r = match axis {
            Some(a) => {
                let (au, av) = slice_axes(a);
                let slice = Slice {
                    axis: a,
                    index: first[a] as usize,
                };
                edit::circle(
                    &mut seg.labels,
                    spacing,
                    slice,
                    [c[au], c[av]],
                    radius_mm,
                    mode,
                )
            }
            None => edit::sphere(&mut seg.labels, spacing, c, radius_mm, mode),
        };
        match r {
            Ok(rec) => records.push(rec),
            Err(e) => {
                revert(seg, &records);
                return Err(e.into());
            }
        }
    }
    Ok(records)
}

/// [`super::Op::Paint`]: paints a stroke into part `label`, or into a new part.
pub fn paint_stroke(
    seg: &mut Segmentation,
    label: Option<u8>,
    axis: Option<u8>,
    radius_mm: f64,
    points: &[[u32; 3]],
) -> Result<(), ReplayError> {
    let (target, new) = target_label(seg, label)?;
    let records = stroke(seg, axis, radius_mm, points, BrushMode::Paint(target))?;
    if records.iter().all(|r| r.is_empty()) {
        return Err(EditError::NothingChanged("stroke").into());
    }
    if new {
        add_part(seg, target);
    }
    Ok(())
}

/// [`super::Op::Erase`]: erases a stroke from part `label`.
pub fn erase_stroke(
    seg: &mut Segmentation,
    label: u8,
    axis: Option<u8>,
    radius_mm: f64,
    points: &[[u32; 3]],
) -> Result<(), ReplayError> {
    part_index(seg, label)?;
    let records = stroke(seg, axis, radius_mm, points, BrushMode::Erase(label))?;
    finish_erase(seg, label, &records, "stroke")
}

fn lasso(
    seg: &mut Segmentation,
    axis: u8,
    index: u32,
    polygon: &[[u32; 2]],
    mode: BrushMode,
) -> Result<UndoRecord, ReplayError> {
    let a = check_axis(axis)?;
    let dims = seg.labels.dims;
    if index as usize >= dims[a] {
        return Err(EditError::SliceOutside {
            axis,
            index,
            count: dims[a],
        }
        .into());
    }
    let (au, av) = slice_axes(a);
    let size = [dims[au], dims[av]];
    // A vertex may sit on the far edge (coordinate == size) so the last row and column
    // can be enclosed: pixels inside are those in [x_a, x_b) between edge crossings.
    if let Some(p) = polygon
        .iter()
        .find(|p| p[0] as usize > size[0] || p[1] as usize > size[1])
    {
        return Err(EditError::PixelOutside { pixel: *p, size }.into());
    }
    if polygon.len() < 3 {
        return Err(EditError::EmptyLasso.into());
    }
    let poly: Vec<[f64; 2]> = polygon.iter().map(|p| p.map(f64::from)).collect();
    let slice = Slice {
        axis: a,
        index: index as usize,
    };
    Ok(edit::lasso(&mut seg.labels, slice, &poly, mode)?)
}

/// True when the polygon's pixel-centre interior is empty (checked on a scratch slice, so
/// an empty lasso is told apart from one whose pixels all belong to other parts).
fn lasso_is_empty(polygon: &[[u32; 2]], size: [usize; 2]) -> bool {
    let mut scratch = BitMask::new([size[0], size[1], 1]);
    let poly: Vec<[f64; 2]> = polygon.iter().map(|p| p.map(f64::from)).collect();
    let slice = Slice { axis: 2, index: 0 };
    edit::lasso(&mut scratch, slice, &poly, BrushMode::Paint(1)).map_or(true, |r| r.is_empty())
}

/// [`super::Op::LassoFill`]: fills a polygon on one slice into part `label` or a new part.
pub fn lasso_fill(
    seg: &mut Segmentation,
    label: Option<u8>,
    axis: u8,
    index: u32,
    polygon: &[[u32; 2]],
) -> Result<(), ReplayError> {
    let (target, new) = target_label(seg, label)?;
    let rec = lasso(seg, axis, index, polygon, BrushMode::Paint(target))?;
    if rec.is_empty() {
        let (au, av) = slice_axes(axis as usize);
        let size = [seg.labels.dims[au], seg.labels.dims[av]];
        return Err(if lasso_is_empty(polygon, size) {
            EditError::EmptyLasso
        } else {
            EditError::NothingChanged("lasso")
        }
        .into());
    }
    if new {
        add_part(seg, target);
    }
    Ok(())
}

/// [`super::Op::LassoErase`]: erases a polygon on one slice from part `label`.
pub fn lasso_erase(
    seg: &mut Segmentation,
    label: u8,
    axis: u8,
    index: u32,
    polygon: &[[u32; 2]],
) -> Result<(), ReplayError> {
    part_index(seg, label)?;
    let rec = lasso(seg, axis, index, polygon, BrushMode::Erase(label))?;
    if rec.is_empty() {
        let (au, av) = slice_axes(axis as usize);
        let size = [seg.labels.dims[au], seg.labels.dims[av]];
        if lasso_is_empty(polygon, size) {
            return Err(EditError::EmptyLasso.into());
        }
    }
    finish_erase(seg, label, &[rec], "lasso")
}

/// [`super::Op::Morphology`]: open / close / dilate / erode part `label` by `radius_mm`.
/// Growth is limited to background so a dilated part never swallows its neighbour.
///
/// Works in the part's box grown by the radius plus one voxel, which holds every voxel
/// the operation can set and the background it erodes from (the same result as on the
/// whole grid, without full-volume passes).
pub fn morphology(
    seg: &mut Segmentation,
    label: u8,
    kind: Morph,
    radius_mm: f64,
) -> Result<(), ReplayError> {
    check_radius("morphology", radius_mm)?;
    let at = part_index(seg, label)?;
    let spacing = seg.labels.spacing_mm;
    let dims = seg.labels.dims;
    let Some(bb) = label_bbox(&seg.labels, label) else {
        return Err(EditError::WouldEmpty(seg.parts[at].name.clone()).into());
    };
    let reach = [0, 1, 2].map(|a| ((radius_mm / spacing[a]).floor() as usize + 2).min(dims[a]));
    let bx = bb.grown(reach, dims);
    let before = label_crop(&seg.labels, label, &bx);
    let result = match kind {
        Morph::Open => morphology::open(&before, radius_mm, spacing)?,
        Morph::Close => morphology::close(&before, radius_mm, spacing)?,
        Morph::Dilate => morphology::dilate(&before, radius_mm, spacing)?,
        Morph::Erode => morphology::erode(&before, radius_mm, spacing)?,
    };
    let allowed = label_crop_where(&seg.labels, &bx, |l| l == 0 || l == label);
    let result = result.and(&allowed);
    if result.count() == 0 {
        return Err(EditError::WouldEmpty(seg.parts[at].name.clone()).into());
    }
    if result == before {
        return Err(EditError::NothingChanged(match kind {
            Morph::Open => "opening",
            Morph::Close => "closing",
            Morph::Dilate => "dilation",
            Morph::Erode => "erosion",
        })
        .into());
    }
    write_box(seg, label, &bx, &before, &result);
    Ok(())
}

/// Writes `result` as the new extent of part `label` (which was `before`), both masks of
/// the box `bx`: voxels only in `result` get the label (they are background), voxels only
/// in `before` become background.
fn write_box(seg: &mut Segmentation, label: u8, bx: &VoxelBox, before: &BitMask, result: &BitMask) {
    let [nx, ny, _] = seg.labels.dims;
    for n in result.and_not(before).iter() {
        let [i, j, k] = result.ijk(n);
        seg.labels.data[bx.min[0] + i + nx * (bx.min[1] + j + ny * (bx.min[2] + k))] = label;
    }
    for n in before.and_not(result).iter() {
        let [i, j, k] = before.ijk(n);
        seg.labels.data[bx.min[0] + i + nx * (bx.min[1] + j + ny * (bx.min[2] + k))] = 0;
    }
}

/// [`super::Op::FillCavities`]: fills the background enclosed by part `label` (6-connected
/// background, so a cavity open only through an edge or corner counts as enclosed).
pub fn fill_cavities(seg: &mut Segmentation, label: u8) -> Result<(), ReplayError> {
    let at = part_index(seg, label)?;
    let Some(bb) = label_bbox(&seg.labels, label) else {
        return Err(EditError::NoCavity(seg.parts[at].name.clone()).into());
    };
    // The fill runs on the part's box grown by one voxel: its border is outside the part,
    // so it reaches everything the full-grid flood would.
    let bx = bb.grown([1, 1, 1], seg.labels.dims);
    let before = label_crop(&seg.labels, label, &bx);
    let filled = fill_mask_cavities(&before, Connectivity::Six);
    let free = label_crop(&seg.labels, 0, &bx);
    let added = filled.and_not(&before).and(&free);
    if added.count() == 0 {
        return Err(EditError::NoCavity(seg.parts[at].name.clone()).into());
    }
    write_box(seg, label, &bx, &before, &before.or(&added));
    Ok(())
}

/// [`super::Op::CutPart`]: cuts part `label` by the plane through `line` perpendicular to
/// slice `index` along `axis`. The side of `keep` keeps the label; the other side becomes a
/// new part named after the old one. A voxel centre exactly on the plane goes to the
/// side [`split_by_plane`] calls front (`(c − p0) · n ≥ 0`).
pub fn cut_part(
    seg: &mut Segmentation,
    label: u8,
    axis: u8,
    index: u32,
    keep: [u32; 2],
    line: [[u32; 2]; 2],
) -> Result<(), ReplayError> {
    let at = part_index(seg, label)?;
    let a = check_axis(axis)?;
    let dims = seg.labels.dims;
    if index as usize >= dims[a] {
        return Err(EditError::SliceOutside {
            axis,
            index,
            count: dims[a],
        }
        .into());
    }
    let (au, av) = slice_axes(a);
    let size = [dims[au], dims[av]];
    for p in [keep, line[0], line[1]] {
        if p[0] as usize >= size[0] || p[1] as usize >= size[1] {
            return Err(EditError::PixelOutside { pixel: p, size }.into());
        }
    }
    if line[0] == line[1] {
        return Err(EditError::ShortCutLine.into());
    }
    let to_voxel = |p: [u32; 2]| {
        let mut v = [0.0; 3];
        v[a] = index as f64;
        v[au] = p[0] as f64;
        v[av] = p[1] as f64;
        v
    };
    let (p0, p1, k) = (to_voxel(line[0]), to_voxel(line[1]), to_voxel(keep));
    // The plane holds the line direction d and the slice normal e: its normal is d × e.
    // Planes map to planes under the voxel-to-patient affine, so voxel space is exact.
    let d = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]];
    let mut e = [0.0; 3];
    e[a] = 1.0;
    let normal = [
        d[1] * e[2] - d[2] * e[1],
        d[2] * e[0] - d[0] * e[2],
        d[0] * e[1] - d[1] * e[0],
    ];
    let side: f64 = (0..3).map(|c| (k[c] - p0[c]) * normal[c]).sum();
    if side == 0.0 {
        return Err(EditError::KeepOnLine.into());
    }
    let next = next_label(seg)?;
    let mask = BitMask::from_label(&seg.labels, label);
    let (front, back) = split_by_plane(&mask, p0, normal)?;
    let other = if side > 0.0 { back } else { front };
    let moved = other.count();
    if moved == 0 || moved == mask.count() {
        return Err(EditError::CutMissesPart(seg.parts[at].name.clone()).into());
    }
    set_label(&mut seg.labels, &other, next);
    let name = format!("{} (2)", seg.parts[at].name);
    seg.parts.push(PartInfo {
        label: next,
        name,
        colour: colour_of(next),
        voxels: 0,
        volume_mm3: 0.0,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::replay::{apply, replay};
    use crate::design::Op;
    use crate::progress::NoProgress;
    use crate::volume::{axis_aligned_affine, Volume};

    fn ct(dims: [usize; 3], spacing_mm: [f64; 3]) -> Volume<i16> {
        Volume {
            dims,
            spacing_mm,
            patient_from_voxel: axis_aligned_affine(spacing_mm, [0.0; 3]),
            data: vec![0; dims[0] * dims[1] * dims[2]],
        }
    }

    /// Applies `ops` one by one from an empty segmentation, panicking on a refused op.
    fn build(ct: &Volume<i16>, ops: &[Op]) -> Segmentation {
        let mut seg = Segmentation::empty(ct);
        for op in ops {
            apply(ct, &mut seg, op, &mut NoProgress).unwrap();
        }
        seg
    }

    /// Sorted (i, j, k) of the voxels holding `label`.
    fn voxels(seg: &Segmentation, label: u8) -> Vec<[usize; 3]> {
        let [nx, ny, _] = seg.labels.dims;
        let mut v: Vec<[usize; 3]> = (0..seg.labels.data.len())
            .filter(|&n| seg.labels.data[n] == label)
            .map(|n| [n % nx, (n / nx) % ny, n / (nx * ny)])
            .collect();
        v.sort();
        v
    }

    fn paint(label: Option<u8>, axis: Option<u8>, radius_mm: f64, stroke: &[[u32; 3]]) -> Op {
        Op::Paint {
            label,
            axis,
            radius_mm,
            stroke: stroke.to_vec(),
        }
    }

    /// A solid box part (label 1) covering `lo..hi` (exclusive) by lasso fills per slice.
    fn box_part(lo: [u32; 3], hi: [u32; 3]) -> Vec<Op> {
        let mut ops = vec![];
        for k in lo[2]..hi[2] {
            ops.push(Op::LassoFill {
                label: (k != lo[2]).then_some(1),
                axis: 2,
                index: k,
                polygon: vec![
                    [lo[0], lo[1]],
                    [hi[0], lo[1]],
                    [hi[0], hi[1]],
                    [lo[0], hi[1]],
                ],
            });
        }
        ops
    }

    #[test]
    fn a_circle_stroke_paints_a_disc_on_its_slice_into_a_new_part() {
        let ct = ct([9, 9, 3], [1.0; 3]);
        let seg = build(&ct, &[paint(None, Some(2), 1.0, &[[4, 4, 1]])]);
        assert_eq!(seg.parts.len(), 1);
        assert_eq!(seg.parts[0].label, 1);
        assert_eq!(seg.parts[0].voxels, 5);
        assert_eq!(
            voxels(&seg, 1),
            vec![[3, 4, 1], [4, 3, 1], [4, 4, 1], [4, 5, 1], [5, 4, 1]]
        );
    }

    #[test]
    fn a_stroke_between_distant_points_leaves_no_gap() {
        let ct = ct([9, 9, 3], [1.0; 3]);
        let seg = build(&ct, &[paint(None, Some(2), 0.4, &[[1, 4, 1], [7, 4, 1]])]);
        let expected: Vec<[usize; 3]> = (1..=7).map(|i| [i, 4, 1]).collect();
        assert_eq!(voxels(&seg, 1), expected);
    }

    #[test]
    fn a_wide_stroke_covers_the_whole_tube_between_its_points() {
        // 6 mm circle on 1 mm pixels (coarse stamps): every pixel within 6 mm of the
        // segment (2, 10)-(28, 10) is painted, and nothing farther.
        let ct = ct([31, 21, 1], [1.0; 3]);
        let seg = build(
            &ct,
            &[paint(None, Some(2), 6.0, &[[2, 10, 0], [28, 10, 0]])],
        );
        let painted = voxels(&seg, 1);
        for j in 0..21usize {
            for i in 0..31usize {
                let dx = (i as f64 - (i as f64).clamp(2.0, 28.0)).abs();
                let d = (dx * dx + (j as f64 - 10.0).powi(2)).sqrt();
                let inside = painted.contains(&[i, j, 0]);
                if d <= 5.9 {
                    assert!(inside, "({i}, {j}) at {d:.2} mm was missed");
                }
                if d > 6.0 {
                    assert!(!inside, "({i}, {j}) at {d:.2} mm was painted");
                }
            }
        }
    }

    #[test]
    fn a_sphere_brush_is_round_in_mm_on_anisotropic_voxels() {
        // k spacing 2 mm: a 2 mm sphere reaches only the centre column on the slices above
        // and below (13-voxel disc in plane + 2).
        let ct = ct([9, 9, 5], [1.0, 1.0, 2.0]);
        let seg = build(&ct, &[paint(None, None, 2.0, &[[4, 4, 2]])]);
        let v = voxels(&seg, 1);
        assert_eq!(v.len(), 15);
        assert!(v.contains(&[4, 4, 1]) && v.contains(&[4, 4, 3]));
        assert!(!v.contains(&[5, 4, 1]) && !v.contains(&[4, 4, 0]));
        assert!(v.contains(&[6, 4, 2]) && !v.contains(&[6, 5, 2]));
    }

    #[test]
    fn painting_never_takes_voxels_of_another_part() {
        let ct = ct([9, 9, 1], [1.0; 3]);
        let seg = build(
            &ct,
            &[
                paint(None, Some(2), 1.0, &[[4, 4, 0]]),
                paint(None, Some(2), 1.5, &[[5, 4, 0]]),
            ],
        );
        assert_eq!(seg.parts[0].voxels, 5);
        // The 1.5 mm disc at (5, 4) has 9 voxels; 4 of them were part 1's.
        assert_eq!(seg.parts[1].voxels, 5);
        assert_eq!(voxels(&seg, 1).len(), 5);
    }

    #[test]
    fn erase_removes_the_stroke_from_its_part_only() {
        let ct = ct([9, 9, 1], [1.0; 3]);
        let mut ops = vec![
            paint(None, Some(2), 0.4, &[[1, 4, 0], [7, 4, 0]]),
            paint(None, Some(2), 0.4, &[[1, 5, 0], [7, 5, 0]]),
        ];
        ops.push(Op::Erase {
            label: 1,
            axis: Some(2),
            radius_mm: 1.0,
            stroke: vec![[4, 4, 0]],
        });
        let seg = build(&ct, &ops);
        // The disc covers (3..=5, 4) and (4, 5): part 1 loses 3, part 2 keeps its 7.
        assert_eq!(seg.parts[0].voxels, 4);
        assert_eq!(seg.parts[1].voxels, 7);
        assert!(!voxels(&seg, 1).contains(&[4, 4, 0]));
    }

    #[test]
    fn lasso_fills_the_polygon_interior_on_that_slice_only() {
        let ct = ct([8, 8, 4], [1.0; 3]);
        let seg = build(
            &ct,
            &[Op::LassoFill {
                label: None,
                axis: 2,
                index: 1,
                polygon: vec![[2, 2], [6, 2], [6, 6], [2, 6]],
            }],
        );
        let expected: Vec<[usize; 3]> = (2..6)
            .flat_map(|j| (2..6).map(move |i| [i, j, 1]))
            .collect();
        let mut expected = expected;
        expected.sort();
        assert_eq!(voxels(&seg, 1), expected);
        // On a coronal slice (axis 1) the pixels are (i, k).
        let seg = build(
            &ct,
            &[Op::LassoFill {
                label: None,
                axis: 1,
                index: 5,
                polygon: vec![[0, 0], [3, 0], [0, 3]],
            }],
        );
        assert!(voxels(&seg, 1).iter().all(|v| v[1] == 5));
        assert_eq!(
            voxels(&seg, 1),
            vec![
                [0, 5, 0],
                [0, 5, 1],
                [0, 5, 2],
                [1, 5, 0],
                [1, 5, 1],
                [2, 5, 0]
            ]
        );
    }

    #[test]
    fn lasso_erase_clears_the_polygon_from_the_part() {
        let ct = ct([8, 8, 2], [1.0; 3]);
        let mut ops = box_part([1, 1, 0], [7, 7, 2]);
        ops.push(Op::LassoErase {
            label: 1,
            axis: 2,
            index: 0,
            polygon: vec![[1, 1], [4, 1], [4, 4], [1, 4]],
        });
        let seg = build(&ct, &ops);
        assert_eq!(seg.parts[0].voxels, 2 * 36 - 9);
        assert!(!voxels(&seg, 1).contains(&[2, 2, 0]));
        assert!(voxels(&seg, 1).contains(&[2, 2, 1]));
    }

    #[test]
    fn dilate_by_mm_on_anisotropic_spacing_and_erode_back() {
        let ct = ct([11, 11, 7], [1.0, 1.0, 2.0]);
        let seed = paint(None, None, 0.5, &[[5, 5, 3]]);
        let dilate = Op::Morphology {
            label: 1,
            kind: Morph::Dilate,
            radius_mm: 2.0,
        };
        let seg = build(&ct, &[seed.clone(), dilate.clone()]);
        // Within 2 mm of one voxel: a 13-voxel disc in plane and one voxel 2 mm above/below.
        assert_eq!(seg.parts[0].voxels, 15);
        assert!(voxels(&seg, 1).contains(&[5, 5, 4]));
        assert!(!voxels(&seg, 1).contains(&[5, 6, 4]));
        // A 3 × 3 × 3 block (3 × 3 × 6 mm) eroded by 1 mm keeps its centre column: along k
        // the nearest outside voxel is 2 mm away, so the column keeps all three slices.
        let mut ops = box_part([4, 4, 2], [7, 7, 5]);
        ops.push(Op::Morphology {
            label: 1,
            kind: Morph::Erode,
            radius_mm: 1.0,
        });
        let seg = build(&ct, &ops);
        assert_eq!(voxels(&seg, 1), vec![[5, 5, 2], [5, 5, 3], [5, 5, 4]]);
    }

    #[test]
    fn opening_removes_a_thin_spur_and_closing_fills_a_notch() {
        let ct = ct([16, 12, 1], [1.0; 3]);
        let mut ops = box_part([2, 2, 0], [9, 9, 1]);
        // A one-voxel spur sticking out to the right.
        ops.push(paint(Some(1), Some(2), 0.4, &[[9, 5, 0], [13, 5, 0]]));
        let spur = build(&ct, &ops);
        assert_eq!(spur.parts[0].voxels, 49 + 5);
        ops.push(Op::Morphology {
            label: 1,
            kind: Morph::Open,
            radius_mm: 1.0,
        });
        let opened = build(&ct, &ops);
        assert!(!voxels(&opened, 1).contains(&[12, 5, 0]));
        assert!(voxels(&opened, 1).contains(&[5, 5, 0]));
        // A notch one voxel wide in the block's top edge.
        let mut ops = box_part([2, 2, 0], [9, 9, 1]);
        ops.push(Op::Erase {
            label: 1,
            axis: Some(2),
            radius_mm: 0.4,
            stroke: vec![[5, 2, 0], [5, 4, 0]],
        });
        ops.push(Op::Morphology {
            label: 1,
            kind: Morph::Close,
            radius_mm: 1.0,
        });
        let closed = build(&ct, &ops);
        assert!(voxels(&closed, 1).contains(&[5, 3, 0]));
    }

    #[test]
    fn dilation_stops_at_a_neighbouring_part() {
        let ct = ct([12, 5, 1], [1.0; 3]);
        let ops = vec![
            paint(None, Some(2), 0.4, &[[2, 2, 0]]),
            paint(None, Some(2), 0.4, &[[4, 0, 0], [4, 4, 0]]),
            Op::Morphology {
                label: 1,
                kind: Morph::Dilate,
                radius_mm: 3.0,
            },
        ];
        let seg = build(&ct, &ops);
        assert_eq!(seg.parts[1].voxels, 5, "the neighbour keeps all its voxels");
        assert!(voxels(&seg, 1).iter().all(|v| v[0] != 4));
        assert!(voxels(&seg, 1).contains(&[1, 2, 0]));
    }

    #[test]
    fn fill_cavities_fills_an_enclosed_hole_only() {
        let ct = ct([7, 7, 5], [1.0; 3]);
        let mut ops = box_part([1, 1, 1], [6, 6, 4]);
        ops.push(Op::Erase {
            label: 1,
            axis: None,
            radius_mm: 0.5,
            stroke: vec![[3, 3, 2]],
        });
        let hollow = build(&ct, &ops);
        assert_eq!(hollow.parts[0].voxels, 75 - 1);
        ops.push(Op::FillCavities { label: 1 });
        let filled = build(&ct, &ops);
        assert_eq!(filled.parts[0].voxels, 75);
        // A solid part has nothing to fill: refused.
        let solid = build(&ct, &box_part([1, 1, 1], [6, 6, 4]));
        let mut seg = solid.clone();
        let e = apply(
            &ct,
            &mut seg,
            &Op::FillCavities { label: 1 },
            &mut NoProgress,
        );
        assert!(matches!(e, Err(ReplayError::Edit(EditError::NoCavity(_)))));
        assert_eq!(seg, solid);
    }

    #[test]
    fn a_cut_line_splits_a_part_in_two_and_the_clicked_side_keeps_the_label() {
        let ct = ct([8, 4, 2], [1.0; 3]);
        let part = box_part([0, 0, 0], [8, 4, 2]);
        let cut = |keep: [u32; 2]| Op::CutPart {
            label: 1,
            axis: 2,
            index: 1,
            keep,
            line: [[4, 0], [4, 3]],
        };
        let mut ops = part.clone();
        ops.push(cut([1, 1]));
        let seg = build(&ct, &ops);
        assert_eq!(seg.parts.len(), 2);
        assert_eq!(seg.parts[1].name, "part 1 (2)");
        // The plane i = 4 runs through both slices (it is perpendicular to the slice).
        assert!(voxels(&seg, 1).iter().all(|v| v[0] < 4));
        assert!(voxels(&seg, 2).iter().all(|v| v[0] >= 4));
        assert_eq!((seg.parts[0].voxels, seg.parts[1].voxels), (32, 32));
        let mut ops = part;
        ops.push(cut([6, 2]));
        let seg = build(&ct, &ops);
        assert!(voxels(&seg, 1).iter().all(|v| v[0] >= 4));
        assert!(voxels(&seg, 2).iter().all(|v| v[0] < 4));
    }

    #[test]
    fn an_oblique_cut_line_cuts_along_its_own_direction() {
        let ct = ct([6, 6, 1], [1.0; 3]);
        let mut ops = box_part([0, 0, 0], [6, 6, 1]);
        ops.push(Op::CutPart {
            label: 1,
            axis: 2,
            index: 0,
            keep: [0, 5],
            line: [[0, 0], [5, 5]],
        });
        let seg = build(&ct, &ops);
        // Kept side: below the diagonal (j > i); the diagonal itself lies on the plane.
        assert!(voxels(&seg, 1).iter().all(|v| v[1] > v[0]));
        assert_eq!(seg.parts[0].voxels, 15);
        assert_eq!(seg.parts[1].voxels, 21);
    }

    /// Every bad input is refused with an error and leaves the segmentation unchanged.
    #[test]
    fn bad_inputs_are_refused_and_change_nothing() {
        let ct = ct([8, 8, 3], [1.0, 1.0, 2.0]);
        let base = build(&ct, &box_part([2, 2, 0], [6, 6, 3]));
        let bad = [
            paint(Some(1), Some(2), 0.0, &[[1, 1, 1]]),
            paint(Some(1), Some(2), -1.0, &[[1, 1, 1]]),
            paint(Some(1), Some(2), f64::NAN, &[[1, 1, 1]]),
            paint(Some(1), None, 1e6, &[[1, 1, 1]]),
            paint(Some(1), Some(2), 1.0, &[]),
            paint(Some(1), Some(2), 1.0, &[[1, 1, 1], [8, 1, 1]]),
            paint(Some(1), Some(2), 1.0, &[[1, 1, 1], [1, 1, 2]]),
            paint(Some(1), Some(3), 1.0, &[[1, 1, 1]]),
            paint(Some(9), Some(2), 1.0, &[[1, 1, 1]]),
            // Inside the part already: changes nothing.
            paint(Some(1), Some(2), 1.0, &[[4, 4, 1]]),
            Op::Erase {
                label: 1,
                axis: None,
                radius_mm: 20.0,
                stroke: vec![[4, 4, 1]],
            },
            Op::Erase {
                label: 1,
                axis: Some(2),
                radius_mm: 1.0,
                stroke: vec![[0, 0, 0]],
            },
            Op::LassoFill {
                label: None,
                axis: 2,
                index: 0,
                polygon: vec![[0, 0], [3, 0]],
            },
            Op::LassoFill {
                label: None,
                axis: 2,
                index: 0,
                polygon: vec![[0, 0], [3, 0], [6, 0]],
            },
            Op::LassoFill {
                label: None,
                axis: 2,
                index: 3,
                polygon: vec![[0, 0], [3, 0], [3, 3]],
            },
            Op::LassoFill {
                label: None,
                axis: 2,
                index: 0,
                polygon: vec![[0, 0], [9, 0], [3, 3]],
            },
            Op::LassoErase {
                label: 1,
                axis: 0,
                index: 4,
                polygon: vec![[0, 0], [2, 2], [4, 4]],
            },
            Op::Morphology {
                label: 1,
                kind: Morph::Erode,
                radius_mm: 5.0,
            },
            Op::Morphology {
                label: 1,
                kind: Morph::Dilate,
                radius_mm: 0.0,
            },
            Op::Morphology {
                label: 1,
                kind: Morph::Dilate,
                radius_mm: 51.0,
            },
            Op::Morphology {
                label: 2,
                kind: Morph::Dilate,
                radius_mm: 1.0,
            },
            Op::CutPart {
                label: 1,
                axis: 2,
                index: 1,
                keep: [3, 3],
                line: [[0, 0], [0, 7]],
            },
            Op::CutPart {
                label: 1,
                axis: 2,
                index: 1,
                keep: [3, 3],
                line: [[4, 4], [4, 4]],
            },
            Op::CutPart {
                label: 1,
                axis: 2,
                index: 1,
                keep: [4, 3],
                line: [[4, 0], [4, 7]],
            },
        ];
        for op in &bad {
            let mut seg = base.clone();
            let e = apply(&ct, &mut seg, op, &mut NoProgress);
            assert!(e.is_err(), "{op:?} was accepted");
            assert!(!e.unwrap_err().to_string().is_empty());
            assert_eq!(seg, base, "{op:?} changed the segmentation");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let ct = ct([8, 8, 3], [1.0; 3]);
        let base = build(&ct, &box_part([2, 2, 0], [6, 6, 3]));
        let msg = |op: Op| {
            let mut seg = base.clone();
            apply(&ct, &mut seg, &op, &mut NoProgress)
                .unwrap_err()
                .to_string()
        };
        assert!(msg(paint(Some(1), Some(2), 0.0, &[[1, 1, 1]])).contains("more than 0"));
        assert!(msg(paint(Some(1), Some(2), 1.0, &[[9, 1, 1]])).contains("outside the volume"));
        let erase_all = Op::Erase {
            label: 1,
            axis: None,
            radius_mm: 20.0,
            stroke: vec![[4, 4, 1]],
        };
        assert!(msg(erase_all).contains("remove the part"));
    }

    /// Undo replays the log without its last op: that must give the state before the op.
    #[test]
    fn undo_equals_replay_without_the_last_op() {
        let ct = ct([10, 10, 4], [0.8, 0.8, 1.5]);
        let mut ops = box_part([2, 2, 0], [8, 8, 4]);
        ops.extend([
            paint(Some(1), None, 1.5, &[[1, 1, 1], [8, 8, 2]]),
            // A tunnel one voxel wide along k on coronal slice 5, closed again by 1 mm.
            Op::Erase {
                label: 1,
                axis: Some(1),
                radius_mm: 0.5,
                stroke: vec![[5, 5, 0], [5, 5, 3]],
            },
            Op::Morphology {
                label: 1,
                kind: Morph::Close,
                radius_mm: 1.0,
            },
            // One interior voxel erased, then filled as a cavity.
            Op::Erase {
                label: 1,
                axis: None,
                radius_mm: 0.5,
                stroke: vec![[4, 4, 2]],
            },
            Op::FillCavities { label: 1 },
            Op::CutPart {
                label: 1,
                axis: 0,
                index: 4,
                keep: [1, 1],
                line: [[5, 0], [5, 3]],
            },
        ]);
        let mut seg = Segmentation::empty(&ct);
        for n in 0..ops.len() {
            let before = seg.clone();
            apply(&ct, &mut seg, &ops[n], &mut NoProgress).unwrap();
            assert_eq!(replay(&ct, &ops[..n]).unwrap(), before, "undo of op {n}");
            assert_ne!(seg, before, "op {n} changed nothing");
        }
        assert_eq!(replay(&ct, &ops).unwrap(), seg);
    }
}
