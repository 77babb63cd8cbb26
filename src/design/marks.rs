//! Articular-surface marks of a design: the mark operations of the op log (brush, erase,
//! suggest from joint contact, clear) applied to a part's surface or a mesh object with
//! the kernels of [`crate::print::articular`].
//!
//! The ops hold what the user did — stroke points in patient mm with a radius, or the
//! joint gap of a suggestion — never face indices, so they replay on any copy of the
//! study; each op is resolved here, when it is applied, to one bool per triangle of the
//! surface as it is at that point of the design. The result is kept with the surface
//! ([`MeshStore::part_marks`] for parts, [`super::meshes::MeshObject::articular`] for
//! mesh objects) and travels with it through the mesh and print ops.
//!
//! Suggest looks for joint partners among the other parts (surfaces at the op's
//! `iso_hu`) and mesh objects; only those whose bounding box comes within the gap are
//! meshed and searched.
//!
//! Space: patient LPS mm. Errors leave the store as it was.

use super::meshes::{part, part_surface, surface, Inputs, MeshOpError, MeshStore, PartMarks};
use super::state::{MeshRef, Op};
use crate::mesh::measure::bounding_box;
use crate::mesh::Mesh;
use crate::print::articular::{brush_stroke, contact, lifted_patch, marked_area_mm2, StrokeJoin};
use crate::print::overhang::ArticularMarks;
use crate::progress::Progress;
use crate::volume::Volume;
use serde::Serialize;

/// Applies one articular-mark op to `store`; other ops are ignored. On error `store` is
/// unchanged. `progress` follows the neighbours searched by a suggestion.
pub fn apply(
    inputs: &Inputs,
    store: &mut MeshStore,
    op: &Op,
    progress: &mut dyn Progress,
) -> Result<(), MeshOpError> {
    let (target, iso_hu, marks, surface_mesh, note) = match op {
        Op::MarkArticular {
            target,
            iso_hu,
            stroke_mm,
            radius_mm,
            erase,
            runs,
        } => {
            let src = surface(inputs, store, *target, *iso_hu)?;
            let mut marks = src.marks.clone();
            let join = match runs {
                Some(runs) => StrokeJoin::Runs(runs),
                None => StrokeJoin::Dabs,
            };
            let out = brush_stroke(&src.mesh, &mut marks, stroke_mm, join, *radius_mm, !*erase)?;
            if out.points_on_surface == 0 {
                return Err(MeshOpError::BrushMissed {
                    name: src.name,
                    radius_mm: *radius_mm,
                });
            }
            let note = format!(
                "{} {} face(s) of {} with a {radius_mm} mm brush",
                if *erase { "unmarked" } else { "marked" },
                out.faces_changed,
                src.name
            );
            (*target, *iso_hu, marks, src.mesh, note)
        }
        Op::SuggestArticular {
            target,
            iso_hu,
            max_gap_mm,
        } => {
            let src = surface(inputs, store, *target, *iso_hu)?;
            let (names, meshes) = neighbours(
                inputs,
                store,
                *target,
                &src.mesh,
                *iso_hu,
                *max_gap_mm,
                progress,
            )?;
            let refs: Vec<&Mesh> = meshes.iter().collect();
            let found = contact(&src.mesh, &refs, *max_gap_mm)?;
            let partners: Vec<String> = found
                .partners
                .iter()
                .filter(|p| !p.same_bone && p.faces > 0)
                .map(|p| format!("{} ({:.0} mm²)", names[p.neighbour], p.area_mm2))
                .collect();
            let same: Vec<&str> = found
                .partners
                .iter()
                .filter(|p| p.same_bone)
                .map(|p| names[p.neighbour].as_str())
                .collect();
            let skipped = if same.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} skipped: it lies over most of the surface, the same bone)",
                    same.join(", ")
                )
            };
            if partners.is_empty() {
                return Err(MeshOpError::NoJointPartner {
                    name: src.name,
                    gap_mm: *max_gap_mm,
                    skipped,
                });
            }
            let mut marks = src.marks.clone();
            for (m, f) in marks.mask.iter_mut().zip(&found.marks.mask) {
                *m |= *f;
            }
            let note = format!(
                "suggested {} face(s) of {} facing {} across at most {max_gap_mm} mm{skipped}",
                found.marks.count(),
                src.name,
                partners.join(", ")
            );
            (*target, *iso_hu, marks, src.mesh, note)
        }
        Op::ClearArticular { target } => {
            let name = match target {
                MeshRef::Part(label) => part(inputs, *label)?.name.clone(),
                MeshRef::Mesh(id) => store
                    .get(*id)
                    .ok_or(MeshOpError::NoSuchMesh(*id))?
                    .name
                    .clone(),
            };
            match target {
                MeshRef::Part(label) => store.part_marks.retain(|m| m.label != *label),
                MeshRef::Mesh(id) => {
                    if let Some(o) = store.objects.iter_mut().find(|o| o.id == *id) {
                        o.articular = ArticularMarks::none(o.mesh.triangle_count());
                    }
                }
            }
            store.mark_note = format!("cleared the articular marks of {name}");
            return Ok(());
        }
        _ => return Ok(()),
    };
    let area = marked_area_mm2(&surface_mesh, &marks);
    store.mark_note = format!(
        "{note}; {} face(s), {area:.0} mm² marked in all",
        marks.count()
    );
    match target {
        MeshRef::Part(label) => {
            store.part_marks.retain(|m| m.label != label);
            if marks.count() > 0 {
                let at = store.part_marks.partition_point(|m| m.label < label);
                store.part_marks.insert(
                    at,
                    PartMarks {
                        label,
                        iso_hu,
                        surface: surface_mesh,
                        marks,
                    },
                );
            }
        }
        MeshRef::Mesh(id) => {
            if let Some(o) = store.objects.iter_mut().find(|o| o.id == id) {
                o.report.history.push(store.mark_note.clone());
                o.articular = marks;
            }
        }
    }
    Ok(())
}

/// Lift of the drawn marks off the surface (mm): above depth-buffer noise at the scale of
/// an ankle, well below what the eye sees as a gap.
pub const MARK_LIFT_MM: f64 = 0.08;

/// The marks of one surface, for the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarkedSurface {
    pub target: MeshRef,
    pub name: String,
    /// Marked faces, faces of the surface, and the marked area (mm²).
    pub faces: usize,
    pub triangles: usize,
    pub area_mm2: f64,
    /// The marked faces lifted [`MARK_LIFT_MM`] off the surface, to draw over it.
    #[serde(skip)]
    pub patch: Mesh,
}

/// Every marked surface of the design (parts in label order, then mesh objects), on its
/// current surface: a part at the level it was marked at.
pub fn marked_surfaces(inputs: &Inputs, store: &MeshStore) -> Vec<MarkedSurface> {
    let mut out = Vec::new();
    for pm in &store.part_marks {
        let Ok(p) = part(inputs, pm.label) else {
            continue;
        };
        let Ok(mesh) = part_surface(inputs, p, pm.iso_hu) else {
            continue;
        };
        if let Ok(marks) = store.marks_on(MeshRef::Part(pm.label), &mesh) {
            out.push(marked(MeshRef::Part(pm.label), &p.name, &mesh, &marks));
        }
    }
    for o in store.objects.iter().filter(|o| o.articular.count() > 0) {
        out.push(marked(MeshRef::Mesh(o.id), &o.name, &o.mesh, &o.articular));
    }
    out.retain(|m| m.faces > 0);
    out
}

fn marked(target: MeshRef, name: &str, mesh: &Mesh, marks: &ArticularMarks) -> MarkedSurface {
    MarkedSurface {
        target,
        name: name.to_string(),
        faces: marks.count(),
        triangles: mesh.triangle_count(),
        area_mm2: marked_area_mm2(mesh, marks),
        patch: lifted_patch(mesh, marks, MARK_LIFT_MM),
    }
}

/// Box of points, patient mm.
type Aabb = ([f64; 3], [f64; 3]);

fn overlaps(a: &Aabb, b: &Aabb, gap_mm: f64) -> bool {
    (0..3).all(|k| a.0[k] - gap_mm <= b.1[k] && b.0[k] - gap_mm <= a.1[k])
}

/// Patient-mm boxes of every label's voxels (index = label), from one pass.
fn label_boxes(labels: &Volume<u8>) -> Vec<Option<Aabb>> {
    let [nx, ny, _] = labels.dims;
    let mut lo = vec![[usize::MAX; 3]; 256];
    let mut hi = vec![[0usize; 3]; 256];
    for (n, &l) in labels.data.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let ijk = [n % nx, (n / nx) % ny.max(1), n / (nx * ny).max(1)];
        let (a, b) = (&mut lo[l as usize], &mut hi[l as usize]);
        for k in 0..3 {
            a[k] = a[k].min(ijk[k]);
            b[k] = b[k].max(ijk[k]);
        }
    }
    (0..256)
        .map(|l| {
            if lo[l][0] == usize::MAX {
                return None;
            }
            // The eight corners of the voxel box, half a voxel out, in patient mm.
            let m = &labels.patient_from_voxel;
            let mut bmin = [f64::INFINITY; 3];
            let mut bmax = [f64::NEG_INFINITY; 3];
            for c in 0..8 {
                let v = [0, 1, 2].map(|k| {
                    if c & (1 << k) == 0 {
                        lo[l][k] as f64 - 0.5
                    } else {
                        hi[l][k] as f64 + 0.5
                    }
                });
                let p = m * nalgebra::Vector4::new(v[0], v[1], v[2], 1.0);
                for k in 0..3 {
                    bmin[k] = bmin[k].min(p[k]);
                    bmax[k] = bmax[k].max(p[k]);
                }
            }
            Some((bmin, bmax))
        })
        .collect()
}

/// Names and surfaces of the parts and mesh objects other than `target` whose boxes come
/// within `gap_mm` of `mesh` (the target's surface).
fn neighbours(
    inputs: &Inputs,
    store: &MeshStore,
    target: MeshRef,
    mesh: &Mesh,
    iso_hu: f64,
    gap_mm: f64,
    progress: &mut dyn Progress,
) -> Result<(Vec<String>, Vec<Mesh>), MeshOpError> {
    let Some(bb) = bounding_box(mesh) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let own = (bb.min_mm, bb.max_mm);
    let boxes = label_boxes(inputs.labels);
    let near_parts: Vec<_> = inputs
        .parts
        .iter()
        .filter(|p| target != MeshRef::Part(p.label))
        .filter(|p| {
            boxes
                .get(p.label as usize)
                .and_then(|b| b.as_ref())
                .is_some_and(|b| overlaps(&own, b, gap_mm))
        })
        .collect();
    let total = near_parts.len().max(1);
    let (mut names, mut meshes) = (Vec::new(), Vec::new());
    for (n, p) in near_parts.into_iter().enumerate() {
        progress.report(n, total);
        meshes.push(part_surface(inputs, p, iso_hu)?);
        names.push(p.name.clone());
    }
    for o in &store.objects {
        if target == MeshRef::Mesh(o.id) {
            continue;
        }
        let near =
            bounding_box(&o.mesh).is_some_and(|b| overlaps(&own, &(b.min_mm, b.max_mm), gap_mm));
        if near {
            meshes.push(o.mesh.clone());
            names.push(o.name.clone());
        }
    }
    progress.report(total, total);
    Ok((names, meshes))
}
