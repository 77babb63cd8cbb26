//! Applying design operations to a study: the same code runs in the browser worker, in
//! the native CLI and in tests, so the same op log on the same study gives the same
//! label volume bit for bit.

use super::edit_ops;
use super::label_delta::{full_box, replaces_labels, Delta};
use super::state::Op;
use crate::progress::{NoProgress, Progress};
use crate::segment::auto::{auto_bones, AutoParams};
use crate::segment::grow::{grow_within, GrowParams};
use crate::segment::mask::{label_counts, set_label, voxel_volume_mm3, BitMask};
use crate::segment::split::{split_by_seeds, SplitParams};
use crate::segment::SegmentError;
use crate::volume::Volume;
use serde::Serialize;

/// Colours of parts by label (cycled), chosen to stay distinct on grey CT.
pub const PART_COLOURS: [[u8; 3]; 12] = [
    [230, 80, 70],
    [70, 160, 230],
    [240, 190, 60],
    [120, 200, 90],
    [190, 110, 220],
    [60, 200, 190],
    [245, 130, 40],
    [150, 150, 250],
    [220, 90, 160],
    [170, 210, 60],
    [90, 120, 200],
    [200, 160, 120],
];

/// A named part of the label volume.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartInfo {
    pub label: u8,
    pub name: String,
    pub colour: [u8; 3],
    pub voxels: usize,
    pub volume_mm3: f64,
}

/// Bone threshold in HU (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Threshold {
    pub lower_hu: i16,
    pub upper_hu: i16,
}

/// The segmentation a design has built so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Segmentation {
    /// One label per voxel; 0 is background.
    pub labels: Volume<u8>,
    pub parts: Vec<PartInfo>,
    pub threshold: Threshold,
    /// Mesh objects made by the mesh operations (`design::meshes`).
    pub meshes: super::meshes::MeshStore,
    /// Print preparation made by the print operations (`design::print_ops`).
    pub print: super::print_ops::PrintStore,
}

/// Why an operation cannot be applied. The design is left as it was.
#[derive(thiserror::Error, Debug)]
pub enum ReplayError {
    #[error("{0}")]
    Segment(#[from] SegmentError),
    #[error("there is no part with label {0}; it may have been removed already")]
    NoSuchPart(u8),
    #[error(
        "growing from that seed found no unlabelled bone: the voxel already belongs to a part"
    )]
    NothingGrown,
    #[error("there is no joint between the two seeds: the split would leave one side almost empty; place one seed in each of the two joined bones")]
    NoJoint,
    #[error("a design holds at most 255 parts; remove some before adding more")]
    TooManyParts,
    #[error("{0}")]
    Edit(#[from] super::edit_ops::EditError),
    #[error("{0}")]
    Mesh(#[from] super::meshes::MeshOpError),
    #[error("{0}")]
    Print(#[from] super::print_ops::PrintOpError),
}

impl Segmentation {
    /// No parts yet; the default bone threshold.
    pub fn empty(ct: &Volume<i16>) -> Self {
        Segmentation {
            labels: Volume {
                dims: ct.dims,
                spacing_mm: ct.spacing_mm,
                patient_from_voxel: ct.patient_from_voxel,
                data: vec![0; ct.data.len()],
            },
            parts: Vec::new(),
            threshold: Threshold {
                lower_hu: 226,
                upper_hu: 3071,
            },
            meshes: Default::default(),
            print: Default::default(),
        }
    }

    fn refresh_counts(&mut self) {
        let counts = label_counts(&self.labels);
        let voxel_mm3 = voxel_volume_mm3(&self.labels);
        for p in &mut self.parts {
            p.voxels = counts[p.label as usize];
            p.volume_mm3 = p.voxels as f64 * voxel_mm3;
        }
    }
}

/// The label a new part gets: one above the highest in use.
pub(super) fn next_label(seg: &Segmentation) -> Result<u8, ReplayError> {
    let highest = seg.parts.iter().map(|p| p.label).max().unwrap_or(0);
    highest.checked_add(1).ok_or(ReplayError::TooManyParts)
}

pub(super) fn colour_of(label: u8) -> [u8; 3] {
    PART_COLOURS[(label as usize + PART_COLOURS.len() - 1) % PART_COLOURS.len()]
}

/// Applies one operation. On error nothing changes.
pub fn apply(
    ct: &Volume<i16>,
    seg: &mut Segmentation,
    op: &Op,
    progress: &mut dyn Progress,
) -> Result<(), ReplayError> {
    if apply_op(ct, seg, op, progress)? {
        seg.refresh_counts();
    }
    Ok(())
}

/// [`apply`] that also returns what the op changed ([`Delta`], to undo it without a
/// replay and to send only the changed labels). The part voxel counts are updated from the
/// changed box alone, to the same values [`apply`] gives. On error nothing changes.
pub fn apply_tracked(
    ct: &Volume<i16>,
    seg: &mut Segmentation,
    op: &Op,
    progress: &mut dyn Progress,
) -> Result<Delta, ReplayError> {
    let moved = replaces_labels(op);
    let mut delta = if moved {
        Delta::capture_by_move(seg, op)
    } else {
        Delta::capture(seg, op)
    };
    let counts_stale = match apply_op(ct, seg, op, progress) {
        Ok(stale) => stale,
        Err(e) => {
            if moved {
                delta.restore_labels(seg);
            }
            return Err(e);
        }
    };
    let changed = delta.finish(seg);
    if counts_stale {
        if changed.is_some() && changed == full_box(seg.labels.dims) {
            seg.refresh_counts();
        } else {
            // Every label in the volume is a part's, so a part's count before the op is
            // the one it had in the parts list (0 for a new part).
            let change = delta.count_changes(&seg.labels);
            let voxel_mm3 = voxel_volume_mm3(&seg.labels);
            for p in &mut seg.parts {
                let old = delta
                    .parts
                    .iter()
                    .find(|q| q.label == p.label)
                    .map_or(0, |q| q.voxels);
                p.voxels = old.saturating_add_signed(change[p.label as usize]);
                p.volume_mm3 = p.voxels as f64 * voxel_mm3;
            }
        }
    }
    Ok(delta)
}

/// Applies one operation without counting voxels; returns whether the part voxel counts
/// need a refresh. On error nothing changes.
fn apply_op(
    ct: &Volume<i16>,
    seg: &mut Segmentation,
    op: &Op,
    progress: &mut dyn Progress,
) -> Result<bool, ReplayError> {
    match op {
        Op::OpenDemo { .. } | Op::LoadSeries => {}
        Op::SetThreshold { lower_hu, upper_hu } => {
            crate::segment::threshold::ThresholdParams {
                lower_hu: *lower_hu,
                upper_hu: *upper_hu,
            }
            .validate()?;
            seg.threshold = Threshold {
                lower_hu: *lower_hu,
                upper_hu: *upper_hu,
            };
        }
        Op::AutoBones { lower_hu, upper_hu } => {
            let params = AutoParams {
                lower_hu: *lower_hu,
                upper_hu: *upper_hu,
                ..AutoParams::default()
            };
            let auto = auto_bones(ct, &params, progress)?;
            // New parts: marks made on the old ones would land on whichever bone now
            // has their label.
            seg.meshes.part_marks.clear();
            seg.labels = auto.labels;
            seg.parts = auto
                .parts
                .iter()
                .map(|p| PartInfo {
                    label: p.label,
                    name: p.name.clone(),
                    colour: colour_of(p.label),
                    voxels: p.voxels,
                    volume_mm3: p.volume_mm3,
                })
                .collect();
            // Auto bones counts each part's voxels as it writes the labels: no recount
            // (a pass over the whole label volume, twice, in the app's undo tracking).
            return Ok(false);
        }
        Op::Grow {
            seed,
            lower_hu,
            upper_hu,
            name,
        } => {
            let next = next_label(seg)?;
            let free = BitMask::from_label(&seg.labels, 0);
            let params = GrowParams {
                lower_hu: *lower_hu,
                upper_hu: *upper_hu,
                ..GrowParams::default()
            };
            let seed = seed.map(i64::from);
            let grown = grow_within(ct, seed, &params, Some(&free)).map_err(|e| match e {
                SegmentError::SeedOutsideMask { .. } => ReplayError::NothingGrown,
                other => ReplayError::Segment(other),
            })?;
            if grown.count() == 0 {
                return Err(ReplayError::NothingGrown);
            }
            set_label(&mut seg.labels, &grown, next);
            let name = if name.trim().is_empty() {
                format!("part {next}")
            } else {
                name.clone()
            };
            seg.parts.push(PartInfo {
                label: next,
                name,
                colour: colour_of(next),
                voxels: 0,
                volume_mm3: 0.0,
            });
        }
        Op::SplitPart { label, seeds } => {
            let at = seg
                .parts
                .iter()
                .position(|p| p.label == *label)
                .ok_or(ReplayError::NoSuchPart(*label))?;
            let next = next_label(seg)?;
            let mask = BitMask::from_label(&seg.labels, *label);
            let params = SplitParams {
                spacing_mm: ct.spacing_mm,
                ..SplitParams::default()
            };
            let halves = split_by_seeds(&mask, &seeds.map(|s| s.map(i64::from)), &params)?;
            let (Some(first), Some(second)) = (halves.first(), halves.get(1)) else {
                return Err(ReplayError::NoJoint);
            };
            // A watershed on the distance transform only divides at a neck (a joint): inside
            // one convex bone nearly everything floods from the deeper seed.
            if first.count().min(second.count()) * 50 < mask.count() {
                return Err(ReplayError::NoJoint);
            }
            set_label(&mut seg.labels, second, next);
            let name = format!("{} (2)", seg.parts[at].name);
            seg.parts.push(PartInfo {
                label: next,
                name,
                colour: colour_of(next),
                voxels: 0,
                volume_mm3: 0.0,
            });
        }
        Op::DeletePart { label } => {
            let at = seg
                .parts
                .iter()
                .position(|p| p.label == *label)
                .ok_or(ReplayError::NoSuchPart(*label))?;
            seg.parts.remove(at);
            // The label may be given to a new part later: its marks go with it.
            seg.meshes.part_marks.retain(|m| m.label != *label);
            for l in seg.labels.data.iter_mut().filter(|l| **l == *label) {
                *l = 0;
            }
        }
        Op::RenamePart { label, name } => {
            let part = seg
                .parts
                .iter_mut()
                .find(|p| p.label == *label)
                .ok_or(ReplayError::NoSuchPart(*label))?;
            part.name = name.clone();
        }
        // Manual edits (design::edit_ops).
        Op::Paint {
            label,
            axis,
            radius_mm,
            stroke,
        } => edit_ops::paint_stroke(seg, *label, *axis, *radius_mm, stroke)?,
        Op::Erase {
            label,
            axis,
            radius_mm,
            stroke,
        } => edit_ops::erase_stroke(seg, *label, *axis, *radius_mm, stroke)?,
        Op::LassoFill {
            label,
            axis,
            index,
            polygon,
        } => edit_ops::lasso_fill(seg, *label, *axis, *index, polygon)?,
        Op::LassoErase {
            label,
            axis,
            index,
            polygon,
        } => edit_ops::lasso_erase(seg, *label, *axis, *index, polygon)?,
        Op::Morphology {
            label,
            kind,
            radius_mm,
        } => edit_ops::morphology(seg, *label, *kind, *radius_mm)?,
        Op::FillCavities { label } => edit_ops::fill_cavities(seg, *label)?,
        Op::CutPart {
            label,
            axis,
            index,
            keep,
            line,
        } => edit_ops::cut_part(seg, *label, *axis, *index, *keep, *line)?,
        // Print preparation: the label volume is not touched.
        Op::OrientPrint { .. }
        | Op::PrintSupports { .. }
        | Op::SlicePrint { .. }
        | Op::BuildPlate { .. } => {
            let inputs = super::print_ops::Inputs {
                ct,
                labels: &seg.labels,
                parts: &seg.parts,
                meshes: &seg.meshes,
            };
            super::print_ops::apply(&inputs, &mut seg.print, op, progress)?;
            return Ok(false);
        }
        // Articular marks: the label volume is not touched.
        Op::MarkArticular { .. } | Op::SuggestArticular { .. } | Op::ClearArticular { .. } => {
            let inputs = super::meshes::Inputs {
                ct,
                labels: &seg.labels,
                parts: &seg.parts,
            };
            super::marks::apply(&inputs, &mut seg.meshes, op, progress)?;
            return Ok(false);
        }
        // Mesh objects: the label volume is not touched.
        Op::MirrorMesh { .. }
        | Op::RegisterMesh { .. }
        | Op::SmoothMesh { .. }
        | Op::RemeshMesh { .. }
        | Op::DecimateMesh { .. }
        | Op::DeleteMesh { .. }
        | Op::SmoothMeshBy { .. }
        | Op::RepairMesh { .. }
        | Op::CompareMeshes { .. } => {
            let inputs = super::meshes::Inputs {
                ct,
                labels: &seg.labels,
                parts: &seg.parts,
            };
            super::meshes::apply(&inputs, &mut seg.meshes, op, progress)?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Replays a whole op log from an empty segmentation.
pub fn replay(ct: &Volume<i16>, ops: &[Op]) -> Result<Segmentation, (usize, ReplayError)> {
    let mut seg = Segmentation::empty(ct);
    for (n, op) in ops.iter().enumerate() {
        apply(ct, &mut seg, op, &mut NoProgress).map_err(|e| (n, e))?;
    }
    Ok(seg)
}
