//! Label-volume deltas of single design operations, so an edit costs time in proportion
//! to the voxels it can touch, not to the study: the browser worker sends only the
//! changed box of the labels to the page, and undoes an op by writing back the box's old
//! contents instead of replaying the whole op log.
//!
//! Units and spaces: boxes are inclusive voxel index boxes ([`VoxelBox`]) of the study's
//! label grid (`i` fastest); brush and morphology radii are mm on the study's spacing.
//!
//! [`write_bounds`] says, before an op runs, where it may write: a box that contains every
//! voxel the op can change (conservative, from the op's parameters and the extent of the
//! part it works on). [`Delta::capture`] keeps that box's contents, [`Delta::finish`]
//! shrinks it to the voxels that really changed after the op, and [`Delta::revert`] writes
//! the old contents back. `replay::apply_tracked` runs the op through the same code as
//! `replay::apply`, so the labels are bit-identical to a replay of the same op log.

use super::replay::{PartInfo, Segmentation, Threshold};
use super::state::{Morph, Op};
use crate::segment::mask::{label_bbox, VoxelBox};
use crate::volume::Volume;

/// Where an op may write into the label volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bounds {
    /// The op writes no label (rename, threshold, mesh objects).
    Nothing,
    /// Every changed voxel lies in this box.
    Within(VoxelBox),
    /// Anywhere (auto bones, region growing).
    Anywhere,
}

/// True for an op that replaces the whole label volume without reading it (Auto bones):
/// its undo record can take the old volume instead of a copy ([`Delta::capture_by_move`]).
pub fn replaces_labels(op: &Op) -> bool {
    matches!(op, Op::AutoBones { .. })
}

/// The whole grid as a box (`None` for an empty grid).
pub fn full_box(dims: [usize; 3]) -> Option<VoxelBox> {
    (dims.iter().all(|&n| n > 0)).then(|| VoxelBox {
        min: [0; 3],
        max: dims.map(|n| n - 1),
    })
}

/// Number of voxels in `b`.
pub fn box_len(b: &VoxelBox) -> usize {
    b.dims().iter().product()
}

/// Voxels each way a ball of `radius_mm` reaches on `spacing_mm`, plus one for rounding.
fn reach(radius_mm: f64, spacing_mm: [f64; 3]) -> [usize; 3] {
    spacing_mm.map(|s| {
        let r = if s > 0.0 && radius_mm.is_finite() {
            (radius_mm.max(0.0) / s).ceil()
        } else {
            f64::INFINITY
        };
        // A non-finite or huge reach is clamped by `grown` to the grid.
        if r < 1e9 {
            r as usize + 1
        } else {
            usize::MAX / 4
        }
    })
}

/// A box from corner points clamped to the grid, grown by `by`.
fn points_box(
    points: impl Iterator<Item = [usize; 3]>,
    by: [usize; 3],
    dims: [usize; 3],
) -> Bounds {
    let Some(full) = full_box(dims) else {
        return Bounds::Nothing;
    };
    let mut b: Option<VoxelBox> = None;
    for p in points {
        let p = [0, 1, 2].map(|a| p[a].min(full.max[a]));
        match &mut b {
            Some(b) => b.include(p),
            None => b = Some(VoxelBox::point(p)),
        }
    }
    b.map_or(Bounds::Nothing, |b| Bounds::Within(b.grown(by, dims)))
}

/// Where `op` may write into `seg.labels` (see the module docs). An op that will fail
/// anyway may get any answer: it changes nothing.
pub fn write_bounds(seg: &Segmentation, op: &Op) -> Bounds {
    let dims = seg.labels.dims;
    let spacing = seg.labels.spacing_mm;
    let part = |label: u8, by: [usize; 3]| {
        label_bbox(&seg.labels, label)
            .map_or(Bounds::Nothing, |b| Bounds::Within(b.grown(by, dims)))
    };
    match op {
        Op::OpenDemo { .. } | Op::LoadSeries | Op::SetThreshold { .. } | Op::RenamePart { .. } => {
            Bounds::Nothing
        }
        Op::AutoBones { .. } | Op::Grow { .. } => Bounds::Anywhere,
        // These relabel or clear voxels of the part only.
        Op::SplitPart { label, .. } | Op::DeletePart { label } | Op::CutPart { label, .. } => {
            part(*label, [0; 3])
        }
        // Cavities lie inside the part's box.
        Op::FillCavities { label } => part(*label, [1; 3]),
        Op::Morphology {
            label,
            kind,
            radius_mm,
        } => match kind {
            Morph::Erode | Morph::Open => part(*label, [0; 3]),
            Morph::Dilate | Morph::Close => part(*label, reach(*radius_mm, spacing)),
        },
        // Every brush centre lies between two stroke points, so the points' box grown by
        // the brush reach holds every stamp.
        Op::Paint {
            radius_mm, stroke, ..
        }
        | Op::Erase {
            radius_mm, stroke, ..
        } => points_box(
            stroke.iter().map(|p| p.map(|c| c as usize)),
            reach(*radius_mm, spacing),
            dims,
        ),
        Op::LassoFill {
            axis,
            index,
            polygon,
            ..
        }
        | Op::LassoErase {
            axis,
            index,
            polygon,
            ..
        } => {
            let a = (*axis).min(2) as usize;
            let (au, av) = match a {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            let mut by = [1; 3];
            by[a] = 0;
            points_box(
                polygon.iter().map(|p| {
                    let mut q = [0; 3];
                    q[a] = *index as usize;
                    q[au] = p[0] as usize;
                    q[av] = p[1] as usize;
                    q
                }),
                by,
                dims,
            )
        }
        Op::MirrorMesh { .. }
        | Op::RegisterMesh { .. }
        | Op::SmoothMesh { .. }
        | Op::RemeshMesh { .. }
        | Op::DecimateMesh { .. }
        | Op::DeleteMesh { .. }
        | Op::SmoothMeshBy { .. }
        | Op::RepairMesh { .. }
        | Op::CompareMeshes { .. }
        | Op::MarkArticular { .. }
        | Op::SuggestArticular { .. }
        | Op::ClearArticular { .. } => Bounds::Nothing,
        // Print preparation works on meshes only.
        Op::OrientPrint { .. }
        | Op::PrintSupports { .. }
        | Op::SlicePrint { .. }
        | Op::BuildPlate { .. } => Bounds::Nothing,
    }
}

/// Copies box `b` of `labels` (`i` fastest within the box).
pub fn extract(labels: &Volume<u8>, b: &VoxelBox) -> Vec<u8> {
    let [nx, ny, _] = labels.dims;
    let w = b.max[0] + 1 - b.min[0];
    let mut out = Vec::with_capacity(box_len(b));
    for k in b.min[2]..=b.max[2] {
        for j in b.min[1]..=b.max[1] {
            let at = b.min[0] + nx * (j + ny * k);
            out.extend_from_slice(&labels.data[at..at + w]);
        }
    }
    out
}

/// Writes `data` (as made by [`extract`]) into box `b` of `labels`.
pub fn write(labels: &mut Volume<u8>, b: &VoxelBox, data: &[u8]) {
    let [nx, ny, _] = labels.dims;
    let w = b.max[0] + 1 - b.min[0];
    let mut rows = data.chunks_exact(w);
    for k in b.min[2]..=b.max[2] {
        for j in b.min[1]..=b.max[1] {
            let at = b.min[0] + nx * (j + ny * k);
            if let Some(row) = rows.next() {
                labels.data[at..at + w].copy_from_slice(row);
            }
        }
    }
}

/// The box of voxels in `b` where `labels` differs from `before` (`extract` of `b`).
fn changed_within(labels: &Volume<u8>, b: &VoxelBox, before: &[u8]) -> Option<VoxelBox> {
    let [nx, ny, _] = labels.dims;
    let w = b.max[0] + 1 - b.min[0];
    let mut out: Option<VoxelBox> = None;
    let mut rows = before.chunks_exact(w);
    for k in b.min[2]..=b.max[2] {
        for j in b.min[1]..=b.max[1] {
            let at = b.min[0] + nx * (j + ny * k);
            let (Some(old), Some(now)) = (rows.next(), labels.data.get(at..at + w)) else {
                continue;
            };
            if old == now {
                continue;
            }
            let first = old.iter().zip(now).position(|(a, b)| a != b).unwrap_or(0);
            let last = old
                .iter()
                .zip(now)
                .rposition(|(a, b)| a != b)
                .unwrap_or(first);
            let rb = VoxelBox {
                min: [b.min[0] + first, j, k],
                max: [b.min[0] + last, j, k],
            };
            out = Some(out.map_or(rb, |o| o.union(rb)));
        }
    }
    out
}

/// Sub-box `inner` of `data`, extracted from box `outer`, made in place: each row of
/// `inner` moves to the front (never past where it was), then the rest is released. The
/// whole volume before Auto bones is cut down this way without a second copy.
fn sub_box(outer: &VoxelBox, mut data: Vec<u8>, inner: &VoxelBox) -> Vec<u8> {
    let [w, h, _] = outer.dims();
    let iw = inner.max[0] + 1 - inner.min[0];
    let mut len = 0;
    for k in inner.min[2]..=inner.max[2] {
        for j in inner.min[1]..=inner.max[1] {
            let at =
                (inner.min[0] - outer.min[0]) + w * ((j - outer.min[1]) + h * (k - outer.min[2]));
            data.copy_within(at..at + iw, len);
            len += iw;
        }
    }
    data.truncate(len);
    data.shrink_to_fit();
    data
}

/// Everything one op changed, to undo it without a replay.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    /// The labels of a box before the op (the changed voxels' box after [`Delta::finish`]).
    pub region: Option<(VoxelBox, Vec<u8>)>,
    pub parts: Vec<PartInfo>,
    pub threshold: Threshold,
    /// The mesh objects and part marks before a mesh op, or before an op that drops part
    /// marks (unchanged by the other ops, so not kept).
    pub meshes: Option<super::meshes::MeshStore>,
    /// The print preparation before a print op (oriented part, supports, slices, plate).
    pub print: Option<super::print_ops::PrintStore>,
}

impl Delta {
    /// Keeps what `op` may change in `seg` before it runs.
    pub fn capture(seg: &Segmentation, op: &Op) -> Delta {
        let region = match write_bounds(seg, op) {
            Bounds::Nothing => None,
            Bounds::Within(b) => Some(b),
            Bounds::Anywhere => full_box(seg.labels.dims),
        }
        .map(|b| (b, extract(&seg.labels, &b)));
        Delta::with_region(seg, op, region)
    }

    /// [`Delta::capture`] for an op that [`replaces_labels`]: the label volume is moved
    /// into the delta, not copied, so while the op runs the labels are held twice (before
    /// and after), not three times — a whole label volume less at the op's peak memory
    /// (wasm memory never shrinks). `seg.labels` has no data until the op writes its new
    /// volume, or [`Delta::restore_labels`] puts the old one back when the op failed.
    pub fn capture_by_move(seg: &mut Segmentation, op: &Op) -> Delta {
        let region = full_box(seg.labels.dims).map(|b| (b, std::mem::take(&mut seg.labels.data)));
        Delta::with_region(seg, op, region)
    }

    /// Gives back the labels [`Delta::capture_by_move`] took (the op failed: nothing
    /// changes).
    pub fn restore_labels(&mut self, seg: &mut Segmentation) {
        if let Some((_, before)) = self.region.take() {
            seg.labels.data = before;
        }
    }

    fn with_region(seg: &Segmentation, op: &Op, region: Option<(VoxelBox, Vec<u8>)>) -> Delta {
        Delta {
            region,
            parts: seg.parts.clone(),
            threshold: seg.threshold,
            // Auto bones and deleting a part drop the parts' articular marks.
            meshes: (op.is_mesh_op()
                || (matches!(op, Op::AutoBones { .. } | Op::DeletePart { .. })
                    && !seg.meshes.part_marks.is_empty()))
            .then(|| seg.meshes.clone()),
            print: op.is_print_op().then(|| seg.print.clone()),
        }
    }

    /// After the op ran on `seg`: shrinks the kept region to the changed voxels and
    /// returns their box (`None` when no label changed).
    pub fn finish(&mut self, seg: &Segmentation) -> Option<VoxelBox> {
        let (b, before) = self.region.take()?;
        let changed = changed_within(&seg.labels, &b, &before)?;
        let kept = if changed == b {
            before
        } else {
            sub_box(&b, before, &changed)
        };
        self.region = Some((changed, kept));
        Some(changed)
    }

    /// Puts `seg` back as it was before the op; returns the box of labels written.
    pub fn revert(&self, seg: &mut Segmentation) -> Option<VoxelBox> {
        seg.parts = self.parts.clone();
        seg.threshold = self.threshold;
        if let Some(m) = &self.meshes {
            seg.meshes = m.clone();
        }
        if let Some(p) = &self.print {
            seg.print = p.clone();
        }
        let (b, before) = self.region.as_ref()?;
        write(&mut seg.labels, b, before);
        Some(*b)
    }

    /// Per label, voxels gained minus voxels lost by the op (after [`Delta::finish`], with
    /// `labels` as the op left them).
    pub fn count_changes(&self, labels: &Volume<u8>) -> [isize; 256] {
        let mut c = [0isize; 256];
        if let Some((b, before)) = &self.region {
            for &v in before {
                c[v as usize] -= 1;
            }
            for &v in &extract(labels, b) {
                c[v as usize] += 1;
            }
        }
        c
    }

    /// True when the op this delta belongs to changed what the articular marks of parts
    /// show (`seg` as the op left it): the marks themselves (Auto bones, deleting a part),
    /// the name of a marked part, or a voxel of a marked part (its surface, and so the
    /// faces its marks are carried to, change).
    pub fn touches_part_marks(&self, seg: &Segmentation) -> bool {
        let before = self.meshes.as_ref().unwrap_or(&seg.meshes);
        if before.part_marks != seg.meshes.part_marks {
            return true;
        }
        let mut marked = [false; 256];
        for m in &before.part_marks {
            marked[m.label as usize] = true;
        }
        let name =
            |parts: &[PartInfo], l: u8| parts.iter().find(|p| p.label == l).map(|p| p.name.clone());
        if before
            .part_marks
            .iter()
            .any(|m| name(&self.parts, m.label) != name(&seg.parts, m.label))
        {
            return true;
        }
        let Some((b, old)) = &self.region else {
            return false;
        };
        let new = extract(&seg.labels, b);
        old.iter()
            .zip(&new)
            .any(|(&o, &n)| o != n && (marked[o as usize] || marked[n as usize]))
    }

    /// Bytes held, for the undo memory budget.
    pub fn bytes(&self) -> usize {
        self.region.as_ref().map_or(0, |(_, d)| d.len())
            + self.parts.len() * std::mem::size_of::<PartInfo>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::replay::{apply_tracked, replay};
    use crate::progress::NoProgress;

    /// A CT of two bright boxes (bones) with a one-voxel gap, on anisotropic voxels.
    fn ct() -> Volume<i16> {
        let dims = [40, 32, 20];
        let mut v = Volume::filled(dims, [0.5, 0.6, 1.0], [0.0; 3], -1000i16);
        for k in 4..16 {
            for j in 6..26 {
                for i in 5..35 {
                    if i != 20 {
                        v.data[i + 40 * (j + 32 * k)] = if (12..18).contains(&i)
                            && (12..20).contains(&j)
                            && (8..12).contains(&k)
                        {
                            20
                        } else {
                            900
                        };
                    }
                }
            }
        }
        v
    }

    fn ops() -> Vec<Op> {
        vec![
            Op::AutoBones {
                lower_hu: 226,
                upper_hu: 3071,
            },
            Op::Paint {
                label: Some(1),
                axis: Some(2),
                radius_mm: 2.0,
                stroke: vec![[30, 16, 10], [38, 20, 10], [39, 31, 10]],
            },
            Op::Paint {
                label: None,
                axis: None,
                radius_mm: 1.5,
                stroke: vec![[2, 2, 1], [3, 29, 18]],
            },
            Op::FillCavities { label: 1 },
            Op::Erase {
                label: 2,
                axis: Some(1),
                radius_mm: 1.2,
                stroke: vec![[25, 15, 8], [30, 15, 12]],
            },
            Op::LassoFill {
                label: Some(2),
                axis: 0,
                index: 3,
                polygon: vec![[0, 0], [32, 0], [32, 20], [0, 20]],
            },
            Op::LassoErase {
                label: 1,
                axis: 2,
                index: 9,
                polygon: vec![[6, 7], [14, 7], [14, 25], [6, 25]],
            },
            Op::Morphology {
                label: 1,
                kind: Morph::Dilate,
                radius_mm: 1.5,
            },
            Op::Morphology {
                label: 2,
                kind: Morph::Close,
                radius_mm: 2.0,
            },
            Op::Morphology {
                label: 1,
                kind: Morph::Erode,
                radius_mm: 0.6,
            },
            Op::CutPart {
                label: 1,
                axis: 2,
                index: 10,
                keep: [22, 10],
                line: [[21, 16], [39, 16]],
            },
            Op::RenamePart {
                label: 1,
                name: "left talus".into(),
            },
            Op::DeletePart { label: 2 },
        ]
    }

    /// Box of every voxel where `a` and `b` differ.
    fn diff_box(a: &Volume<u8>, b: &Volume<u8>) -> Option<VoxelBox> {
        full_box(a.dims).and_then(|f| changed_within(b, &f, &a.data))
    }

    fn inside(inner: &VoxelBox, outer: &VoxelBox) -> bool {
        (0..3).all(|a| outer.min[a] <= inner.min[a] && inner.max[a] <= outer.max[a])
    }

    #[test]
    fn every_write_lies_in_the_bounds_and_undo_restores_the_segmentation() {
        let ct = ct();
        let mut seg = Segmentation::empty(&ct);
        let mut applied = Vec::new();
        for op in ops() {
            let before = seg.clone();
            let bounds = write_bounds(&seg, &op);
            let delta = match apply_tracked(&ct, &mut seg, &op, &mut NoProgress) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{op:?}: {e}");
                    assert_eq!(seg, before, "{op:?} failed but changed the segmentation");
                    continue;
                }
            };
            applied.push(op.clone());
            let changed = delta.region.as_ref().map(|r| r.0);
            let truth = diff_box(&before.labels, &seg.labels);
            assert_eq!(changed, truth, "{op:?}: changed box");
            match (bounds, truth) {
                (_, None) => {}
                (Bounds::Within(b), Some(t)) => {
                    assert!(inside(&t, &b), "{op:?}: {t:?} not in {b:?}")
                }
                (Bounds::Anywhere, Some(_)) => {}
                (Bounds::Nothing, Some(t)) => {
                    panic!("{op:?} wrote {t:?} but said it writes nothing")
                }
            }
            let after = seg.clone();
            let mut undone = seg.clone();
            delta.revert(&mut undone);
            assert_eq!(undone, before, "{op:?}: undo");
            seg = after;
        }
        let names: Vec<String> = applied
            .iter()
            .map(|o| format!("{o:?}")[..12].to_string())
            .collect();
        assert!(
            applied.len() >= 12,
            "only {names:?} applied: the fixture no longer exercises every op"
        );
        // The ops applied one by one (voxel counts updated from the deltas) give what a
        // replay of them gives, parts and counts included.
        let replayed = replay(&ct, &applied).map_err(|(n, e)| format!("op {n}: {e}"));
        assert_eq!(Ok(seg), replayed);
    }

    #[test]
    fn auto_bones_that_fails_gives_back_the_labels_it_took() {
        let ct = ct();
        let mut seg = Segmentation::empty(&ct);
        let auto = |lower_hu| Op::AutoBones {
            lower_hu,
            upper_hu: 3071,
        };
        assert!(replaces_labels(&auto(226)));
        let delta = apply_tracked(&ct, &mut seg, &auto(226), &mut NoProgress)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(delta.region.is_some() && !seg.parts.is_empty());
        let before = seg.clone();
        // No voxel of the fixture reaches 2000 HU: no bone, an error, nothing changes.
        assert!(apply_tracked(&ct, &mut seg, &auto(2000), &mut NoProgress).is_err());
        assert_eq!(seg, before);
    }

    #[test]
    fn edits_of_a_marked_part_touch_its_marks_and_edits_elsewhere_do_not() {
        use crate::design::state::MeshRef;
        let ct = ct();
        let mut seg = Segmentation::empty(&ct);
        let run = |seg: &mut Segmentation, op: Op| {
            apply_tracked(&ct, seg, &op, &mut NoProgress).unwrap_or_else(|e| panic!("{op:?}: {e}"))
        };
        run(&mut seg, ops()[0].clone());
        // The box at i < 20 is the marked part; the other box faces it across the gap.
        let at = |i: usize, j: usize, k: usize| seg.labels.data[i + 40 * (j + 32 * k)];
        let (marked, other) = (at(8, 10, 10), at(30, 10, 10));
        assert!(marked > 0 && other > 0 && marked != other);
        let delta = run(
            &mut seg,
            Op::SuggestArticular {
                target: MeshRef::Part(marked),
                iso_hu: 400.0,
                max_gap_mm: 3.0,
            },
        );
        assert!(
            !seg.meshes.part_marks.is_empty(),
            "the two boxes face each other"
        );
        assert!(delta.touches_part_marks(&seg), "the mark op made them");
        // Painting the other part outside its box leaves the marks as they were.
        let far = run(
            &mut seg,
            Op::Paint {
                label: Some(other),
                axis: Some(2),
                radius_mm: 1.0,
                stroke: vec![[30, 2, 10]],
            },
        );
        assert!(far.region.is_some() && !far.touches_part_marks(&seg));
        // Erasing from the marked part changes its surface; renaming it changes what the
        // marks report; deleting it drops them.
        let erase = Op::Erase {
            label: marked,
            axis: Some(2),
            radius_mm: 1.5,
            stroke: vec![[8, 10, 10]],
        };
        assert!(run(&mut seg, erase).touches_part_marks(&seg));
        let rename = Op::RenamePart {
            label: marked,
            name: "right talus".into(),
        };
        assert!(run(&mut seg, rename).touches_part_marks(&seg));
        assert!(run(&mut seg, Op::DeletePart { label: marked }).touches_part_marks(&seg));
    }

    #[test]
    fn extract_and_write_round_trip_a_box() {
        let mut v = Volume::filled([5, 4, 3], [1.0; 3], [0.0; 3], 0u8);
        for (n, x) in v.data.iter_mut().enumerate() {
            *x = n as u8;
        }
        let b = VoxelBox {
            min: [1, 1, 1],
            max: [3, 2, 2],
        };
        let d = extract(&v, &b);
        assert_eq!(d.len(), 12);
        assert_eq!(d[0], (1 + 5 * (1 + 4)) as u8);
        let mut w = Volume::filled([5, 4, 3], [1.0; 3], [0.0; 3], 0u8);
        write(&mut w, &b, &d);
        assert_eq!(label_bbox(&w, d[0]), Some(VoxelBox::point([1, 1, 1])));
        assert_eq!(extract(&w, &b), d);
        let inner = VoxelBox {
            min: [2, 2, 1],
            max: [3, 2, 2],
        };
        assert_eq!(sub_box(&b, d.clone(), &inner), extract(&v, &inner));
    }
}
