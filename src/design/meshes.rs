//! Mesh objects of a design: surfaces derived from the parts by the mesh operations of
//! the op log (mirror, register, smooth, remesh, decimate, delete).
//!
//! A part becomes a surface the way "Calculate parts" makes it: marching cubes of its
//! label at the op's `iso_hu` ([`crate::surface::mc::label_surface`]). An operation on a
//! part creates a new mesh object ("left talus (mirrored)"); an operation on a mesh object
//! changes it in place. Objects keep their id for the life of the design (ids are never
//! reused), so later ops and links can refer to them.
//!
//! Coordinate space: patient LPS mm throughout. Every parameter that shapes a result is
//! written in the op (kernel defaults are not used), so changing a default later does
//! not change how an existing design link replays. Determinism: every kernel used is
//! deterministic and single-threaded; the report carries the SHA-256 of each object's
//! binary STL bytes so both ends of a design call can compare them.
//!
//! Articular marks (`design::marks`) belong to the faces of a surface: an object made
//! from a marked surface takes its marks (mirror, register and smooth keep the faces; a
//! remesh or decimation carries them to the nearest new faces), and a registered object
//! keeps them as it moves.
//!
//! Errors leave the store as it was: all results are computed first and committed last.

use serde::Serialize;

use super::replay::PartInfo;
use super::state::{MeshRef, MirrorPlane, Op};
use crate::mesh::decimate::{decimate_with_progress, DecimateError, DecimateParams};
use crate::mesh::io::{write_stl_binary, MeshError};
use crate::mesh::measure::{bounding_box, volume_and_area};
use crate::mesh::mirror::{mirror, Plane};
use crate::mesh::register::{
    register_with_progress, transform_mesh, RegisterError, RegisterParams,
};
use crate::mesh::remesh::{remesh_with_progress, RemeshError, RemeshParams};
use crate::mesh::smooth::{taubin, TaubinParams, Weights};
use crate::mesh::symmetry::{fit_symmetry_plane, SymmetryError, SymmetryParams};
use crate::mesh::Mesh;
use crate::print::articular::{transfer, ArticularError};
use crate::print::overhang::ArticularMarks;
use crate::progress::Progress;
use crate::segment::SegmentError;
use crate::surface::mc::{label_surface, McParams};
use crate::volume::Volume;

/// Header of the binary STL written for export and hashed for [`MeshReport::stl_sha256`].
pub const STL_HEADER: &str = "Osteon mesh object (patient mm)";

/// Colours of mesh objects by id (cycled): lighter than the part colours so a mirrored
/// copy stands out against the part it is registered onto.
pub const MESH_COLOURS: [[u8; 3]; 6] = [
    [250, 235, 200],
    [180, 220, 255],
    [255, 190, 200],
    [200, 245, 200],
    [230, 200, 255],
    [255, 225, 150],
];

/// Smallest share of the moved surface that must land within 1 mm of the target for a
/// registration to count as converged.
pub const MIN_OVERLAP: f64 = 0.5;
/// Range of remesh target edge lengths (mm).
pub const REMESH_EDGE_MM: (f64, f64) = (0.2, 20.0);
/// Largest surface a remesh may produce (triangles): beyond this the browser tab runs
/// out of memory.
pub const MAX_REMESH_TRIANGLES: f64 = 2_000_000.0;
/// Largest Taubin iteration count.
pub const MAX_SMOOTH_ITERATIONS: u32 = 500;
/// Largest deviation bound accepted for remesh and decimate (mm).
pub const MAX_DEVIATION_MM: f64 = 5.0;

/// Registration of a mesh object (or the registration it followed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegistrationReport {
    /// Name of the surface it was registered onto.
    pub onto: String,
    /// Name of the mesh object whose registration moved this one (`None` when it was
    /// registered itself).
    pub followed: Option<String>,
    /// RMS of the point-to-plane residuals, mm.
    pub rms_mm: f64,
    /// Share (0–1) of the moved surface within 1 mm of the target.
    pub overlap: f64,
    pub iterations: usize,
    /// `fixed_from_moving`, 4×4 column-major, mm.
    pub fixed_from_moving: [f64; 16],
}

/// The plane a mirrored object was made with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlaneReport {
    pub fitted: bool,
    /// A point of the plane, patient mm.
    pub point_mm: [f64; 3],
    /// Unit normal.
    pub normal: [f64; 3],
    /// Fitted planes only: registration RMS (mm), overlap (0–1), and the rotation the
    /// reflection leaves unexplained (degrees).
    pub rms_mm: Option<f64>,
    pub overlap: Option<f64>,
    pub asymmetry_deg: Option<f64>,
}

/// Measurements of a mesh object, recomputed after every change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeshReport {
    pub triangles: usize,
    pub vertices: usize,
    /// Enclosed volume, mm³ (positive for an outward closed surface).
    pub volume_mm3: f64,
    pub area_mm2: f64,
    /// SHA-256 (hex) of the binary STL bytes with header [`STL_HEADER`]: the file
    /// exported for this object, equal on both ends of a design call.
    pub stl_sha256: String,
    pub plane: Option<PlaneReport>,
    pub registration: Option<RegistrationReport>,
    /// One line per operation that made or changed the object.
    pub history: Vec<String>,
}

/// A mesh object of the design.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeshObject {
    /// Stable id, never reused within a design.
    pub id: u32,
    pub name: String,
    pub colour: [u8; 3],
    /// The operation that created it.
    pub source: Op,
    #[serde(skip)]
    pub mesh: Mesh,
    /// Articular marks, one per triangle of `mesh` (empty: none marked).
    #[serde(skip)]
    pub articular: ArticularMarks,
    pub report: MeshReport,
}

/// Articular marks on a part's surface: the surface they were made on (patient mm) and
/// one bool per triangle of it. A part's surface changes with edits of its label; the
/// marks then follow to the new surface within [`MARK_TRANSFER_MM`].
#[derive(Clone, Debug, PartialEq)]
pub struct PartMarks {
    pub label: u8,
    /// Surface level of the op that made them (HU).
    pub iso_hu: f64,
    pub surface: Mesh,
    pub marks: ArticularMarks,
}

/// Distance within which marks follow a surface that changed in place (an edited part,
/// a remeshed object), mm.
pub const MARK_TRANSFER_MM: f64 = 2.0;

/// All mesh objects of a design, in creation order, and the articular marks of parts.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshStore {
    pub objects: Vec<MeshObject>,
    /// Id the next object gets.
    pub next_id: u32,
    /// Articular marks of parts, by label (ascending).
    pub part_marks: Vec<PartMarks>,
    /// What the last articular-mark op did, in words (for the page).
    pub mark_note: String,
}

impl Default for MeshStore {
    fn default() -> Self {
        MeshStore {
            objects: Vec::new(),
            next_id: 1,
            part_marks: Vec::new(),
            mark_note: String::new(),
        }
    }
}

impl MeshStore {
    /// The object with `id`.
    pub fn get(&self, id: u32) -> Option<&MeshObject> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// The articular marks of `r` on `surface`, its current surface (a part's surface
    /// at the level the caller made it; a mesh object's mesh). A part's marks are
    /// carried over when its surface changed since they were made.
    pub fn marks_on(&self, r: MeshRef, surface: &Mesh) -> Result<ArticularMarks, ArticularError> {
        let none = ArticularMarks::none(surface.triangle_count());
        match r {
            MeshRef::Part(label) => match self.part_marks.iter().find(|m| m.label == label) {
                Some(pm) => transfer(&pm.surface, &pm.marks, surface, MARK_TRANSFER_MM),
                None => Ok(none),
            },
            MeshRef::Mesh(id) => Ok(self
                .get(id)
                .filter(|o| o.articular.mask.len() == surface.triangle_count())
                .map_or(none, |o| o.articular.clone())),
        }
    }
}

/// Why a mesh operation cannot be applied. Nothing is changed.
#[derive(thiserror::Error, Debug)]
pub enum MeshOpError {
    #[error("there is no part with label {0}; it may have been removed already")]
    NoSuchPart(u8),
    #[error("there is no mesh object {0}; it may have been deleted already")]
    NoSuchMesh(u32),
    #[error(
        "part \"{name}\" gives no surface: it has no voxels left; grow or auto-segment it again"
    )]
    NoSurface { name: String },
    #[error("the surface level {0} HU is not a finite number; use e.g. 720 HU (half-way between soft tissue and cortex)")]
    BadIso(f64),
    #[error("the sagittal plane position {0} mm is not a finite number")]
    BadPlane(f64),
    #[error("a fitted symmetry plane needs parts on both sides; run Auto bones first")]
    NoPartsForPlane,
    #[error("{what} cannot be registered onto itself; pick the bone on the other side")]
    OntoItself { what: String },
    #[error("mesh object {0} is listed twice (as the moved object or among those that follow it)")]
    FollowerTwice(u32),
    #[error("the registration of \"{moving}\" onto \"{fixed}\" did not converge: only {percent:.0} % of it lies within 1 mm of the target (RMS {rms_mm:.2} mm); check that both are the same bone and that the mirrored copy is of the other side")]
    NotConverged {
        moving: String,
        fixed: String,
        percent: f64,
        rms_mm: f64,
    },
    #[error("smoothing needs 1 to {max} iterations, 0 < λ ≤ 1 and −1 ≤ μ < −λ (got {iterations} iterations, λ = {lambda}, μ = {mu}); the usual values are 20, 0.5 and −0.53", max = MAX_SMOOTH_ITERATIONS)]
    BadSmooth {
        iterations: u32,
        lambda: f64,
        mu: f64,
    },
    #[error("remeshing needs a target edge length between {lo} and {hi} mm (got {0} mm)", lo = REMESH_EDGE_MM.0, hi = REMESH_EDGE_MM.1)]
    BadEdge(f64),
    #[error("a {edge_mm} mm edge length would make about {triangles:.0} triangles on \"{name}\", more than {max:.0}; use a longer edge", max = MAX_REMESH_TRIANGLES)]
    TooFine {
        name: String,
        edge_mm: f64,
        triangles: f64,
    },
    #[error("the deviation bound must be between 0 and {max} mm (got {0} mm)", max = MAX_DEVIATION_MM)]
    BadDeviation(f64),
    #[error("\"{name}\" has {have} triangles; the decimation target must be between 4 and {have_minus_one} (got {target})", have_minus_one = have.saturating_sub(1))]
    BadTarget {
        name: String,
        have: usize,
        target: u32,
    },
    #[error("{0}")]
    Surface(#[from] SegmentError),
    #[error("{0}")]
    Mesh(#[from] MeshError),
    #[error("{0}")]
    Register(#[from] RegisterError),
    #[error("{0}")]
    Remesh(#[from] RemeshError),
    #[error("{0}")]
    Decimate(#[from] DecimateError),
    #[error("{0}")]
    Symmetry(#[from] SymmetryError),
    #[error("{0}")]
    Articular(#[from] ArticularError),
    #[error("the brush missed \"{name}\": no stroke point lies within {radius_mm} mm of its surface; drag over the surface of the selected object in the 3-D view")]
    BrushMissed { name: String, radius_mm: f64 },
    #[error("nothing lies within {gap_mm} mm of \"{name}\"{skipped}, so no joint surface was found; mark it with the brush, or try a larger gap")]
    NoJointPartner {
        name: String,
        gap_mm: f64,
        skipped: String,
    },
}

/// What a mesh operation reads besides the store.
pub struct Inputs<'a> {
    pub ct: &'a Volume<i16>,
    pub labels: &'a Volume<u8>,
    pub parts: &'a [PartInfo],
}

/// A surface an op reads, with the name and the articular marks it passes on.
pub(super) struct Source {
    pub(super) mesh: Mesh,
    pub(super) name: String,
    /// The mesh object it is (`None` for a part).
    pub(super) id: Option<u32>,
    /// Its articular marks (one per triangle).
    pub(super) marks: ArticularMarks,
}

/// One result to commit: replace object `id` or add a new one.
enum Write {
    Replace(MeshObject),
    Add(MeshObject),
}

/// Applies one mesh operation to `store`; other ops are ignored. On error `store` is
/// unchanged. `progress` receives the progress of registration, plane fitting, remeshing
/// and decimation.
pub fn apply(
    inputs: &Inputs,
    store: &mut MeshStore,
    op: &Op,
    progress: &mut dyn Progress,
) -> Result<(), MeshOpError> {
    let mut next_id = store.next_id;
    let mut writes = Vec::new();
    match op {
        Op::MirrorMesh {
            source,
            plane,
            iso_hu,
        } => {
            let src = surface(inputs, store, *source, *iso_hu)?;
            let (plane, report) = match plane {
                MirrorPlane::Sagittal { x_mm } => {
                    if !x_mm.is_finite() {
                        return Err(MeshOpError::BadPlane(*x_mm));
                    }
                    let p = Plane::sagittal(*x_mm);
                    (p, plane_report(&p, false))
                }
                MirrorPlane::Fitted => fitted_plane(inputs, *iso_hu, progress)?,
            };
            let mirrored = mirror(&src.mesh, &plane)?;
            // A reflection keeps the triangles in order: the marks stay on their faces.
            let step = if report.fitted {
                format!(
                    "mirrored across the fitted symmetry plane (normal {:.3}, {:.3}, {:.3})",
                    report.normal[0], report.normal[1], report.normal[2]
                )
            } else {
                format!(
                    "mirrored across the sagittal plane x = {:.1} mm",
                    plane.point_mm[0]
                )
            };
            let mut obj = new_object(
                &mut next_id,
                format!("{} (mirrored)", src.name),
                op,
                mirrored,
                format!("{step} from {}", src.name),
            )?;
            obj.report.plane = Some(report);
            obj.articular = src.marks;
            writes.push(Write::Add(obj));
        }
        Op::RegisterMesh {
            moving,
            fixed,
            follow,
            iso_hu,
        } => {
            if moving == fixed {
                let what = surface_name(inputs, store, *moving)?;
                return Err(MeshOpError::OntoItself { what });
            }
            let mut seen: Vec<u32> = Vec::new();
            if let MeshRef::Mesh(id) = moving {
                seen.push(*id);
            }
            for &f in follow {
                if seen.contains(&f) {
                    return Err(MeshOpError::FollowerTwice(f));
                }
                store.get(f).ok_or(MeshOpError::NoSuchMesh(f))?;
                seen.push(f);
            }
            let target = surface(inputs, store, *fixed, *iso_hu)?;
            let src = surface(inputs, store, *moving, *iso_hu)?;
            let reg =
                register_with_progress(&target.mesh, &src.mesh, &register_params(), progress)?;
            if !(reg.overlap >= MIN_OVERLAP && reg.rms_mm.is_finite()) {
                return Err(MeshOpError::NotConverged {
                    moving: src.name,
                    fixed: target.name,
                    percent: 100.0 * reg.overlap,
                    rms_mm: reg.rms_mm,
                });
            }
            let matrix: [f64; 16] = reg
                .fixed_from_moving
                .as_slice()
                .try_into()
                .unwrap_or([0.0; 16]);
            let moved = transform_mesh(&src.mesh, &reg.fixed_from_moving);
            let line = format!(
                "registered onto {}: RMS {:.3} mm, overlap {:.1} %",
                target.name,
                reg.rms_mm,
                100.0 * reg.overlap
            );
            let registration = RegistrationReport {
                onto: target.name.clone(),
                followed: None,
                rms_mm: reg.rms_mm,
                overlap: reg.overlap,
                iterations: reg.iterations,
                fixed_from_moving: matrix,
            };
            let mut w = changed(
                store,
                &mut next_id,
                &src,
                "registered",
                op,
                (moved, src.marks.clone()),
                line.clone(),
            )?;
            write_registration(&mut w, registration.clone());
            writes.push(w);
            for &f in follow {
                let obj = store.get(f).ok_or(MeshOpError::NoSuchMesh(f))?;
                let mut o = obj.clone();
                o.mesh = transform_mesh(&obj.mesh, &reg.fixed_from_moving);
                o.report = measure(&o.mesh, o.report.history.clone())?;
                o.report.plane = obj.report.plane.clone();
                o.report
                    .history
                    .push(format!("followed {}: {line}", src.name));
                o.report.registration = Some(RegistrationReport {
                    followed: Some(src.name.clone()),
                    ..registration.clone()
                });
                writes.push(Write::Replace(o));
            }
        }
        Op::SmoothMesh {
            target,
            iterations,
            lambda,
            mu,
            iso_hu,
        } => {
            let ok = (1..=MAX_SMOOTH_ITERATIONS).contains(iterations)
                && *lambda > 0.0
                && *lambda <= 1.0
                && *mu >= -1.0
                && *mu < -*lambda;
            if !ok {
                return Err(MeshOpError::BadSmooth {
                    iterations: *iterations,
                    lambda: *lambda,
                    mu: *mu,
                });
            }
            let src = surface(inputs, store, *target, *iso_hu)?;
            let smoothed = taubin(
                &src.mesh,
                &TaubinParams {
                    iterations: *iterations as usize,
                    lambda: *lambda,
                    mu: *mu,
                    weights: Weights::Uniform,
                    preserve_volume: true,
                },
            );
            let line = format!("Taubin smoothing: {iterations} iterations, λ = {lambda}, μ = {mu}");
            writes.push(changed(
                store,
                &mut next_id,
                &src,
                "smoothed",
                op,
                (smoothed, src.marks.clone()),
                line,
            )?);
        }
        Op::RemeshMesh {
            target,
            target_edge_mm,
            max_deviation_mm,
            iso_hu,
        } => {
            let l = *target_edge_mm;
            if !(l >= REMESH_EDGE_MM.0 && l <= REMESH_EDGE_MM.1) {
                return Err(MeshOpError::BadEdge(l));
            }
            check_deviation(*max_deviation_mm)?;
            let src = surface(inputs, store, *target, *iso_hu)?;
            let (_, area) = volume_and_area(&src.mesh)?;
            // An equilateral triangle of side L covers √3/4 L².
            let triangles = area / (3f64.sqrt() / 4.0 * l * l);
            if triangles > MAX_REMESH_TRIANGLES {
                return Err(MeshOpError::TooFine {
                    name: src.name,
                    edge_mm: l,
                    triangles,
                });
            }
            let (out, rep) = remesh_with_progress(
                &src.mesh,
                &RemeshParams {
                    target_edge_mm: l,
                    iterations: 5,
                    max_deviation_mm: *max_deviation_mm,
                    feature_angle_deg: 45.0,
                },
                progress,
            )?;
            let line = format!(
                "isotropic remesh to {l} mm edges: {} → {} triangles, mean edge {:.2} mm, deviation {:.3} mm",
                rep.triangles_before, rep.triangles_after, rep.mean_edge_mm, rep.max_deviation_mm
            );
            let marks = carried(&src, &out, *max_deviation_mm)?;
            writes.push(changed(
                store,
                &mut next_id,
                &src,
                "remeshed",
                op,
                (out, marks),
                line,
            )?);
        }
        Op::DecimateMesh {
            target,
            target_triangles,
            max_deviation_mm,
            iso_hu,
        } => {
            check_deviation(*max_deviation_mm)?;
            let src = surface(inputs, store, *target, *iso_hu)?;
            let have = src.mesh.triangles.len();
            if *target_triangles < 4 || *target_triangles as usize >= have {
                return Err(MeshOpError::BadTarget {
                    name: src.name,
                    have,
                    target: *target_triangles,
                });
            }
            let (out, rep) = decimate_with_progress(
                &src.mesh,
                &DecimateParams {
                    target_triangles: *target_triangles as usize,
                    max_deviation_mm: *max_deviation_mm,
                },
                progress,
            )?;
            let stop = if rep.reached_target {
                String::new()
            } else {
                format!(" (stopped above the target by the {max_deviation_mm} mm deviation bound)")
            };
            let line = format!(
                "decimated: {} → {} triangles, deviation {:.3} mm{stop}",
                rep.triangles_before, rep.triangles_after, rep.max_deviation_mm
            );
            let marks = carried(&src, &out, *max_deviation_mm)?;
            writes.push(changed(
                store,
                &mut next_id,
                &src,
                "decimated",
                op,
                (out, marks),
                line,
            )?);
        }
        Op::DeleteMesh { id } => {
            store.get(*id).ok_or(MeshOpError::NoSuchMesh(*id))?;
            store.objects.retain(|o| o.id != *id);
            return Ok(());
        }
        _ => return Ok(()),
    }
    for w in writes {
        match w {
            Write::Add(o) => store.objects.push(o),
            Write::Replace(o) => {
                if let Some(slot) = store.objects.iter_mut().find(|x| x.id == o.id) {
                    *slot = o;
                }
            }
        }
    }
    store.next_id = next_id;
    Ok(())
}

/// Registration settings of [`Op::RegisterMesh`] (and, with the convergence limits of
/// the kernel defaults they were made with, of the fitted-plane mirror), written out so
/// that a change of the kernel's defaults does not change how existing designs replay.
fn register_params() -> RegisterParams {
    RegisterParams {
        max_samples: 50_000,
        init_samples: 1_500,
        init_iterations: 12,
        extra_rotations: true,
        max_iterations: 60,
        trim_fraction: 0.1,
        min_rotation_rad: 1e-9,
        min_translation_mm: 1e-7,
        min_relative_rms_change: 0.0,
        stop_when_rms_rises: false,
        coarse_samples: 0,
        overlap_distance_mm: 1.0,
    }
}

fn check_deviation(d: f64) -> Result<(), MeshOpError> {
    if d > 0.0 && d <= MAX_DEVIATION_MM {
        Ok(())
    } else {
        Err(MeshOpError::BadDeviation(d))
    }
}

fn check_iso(iso_hu: f64) -> Result<(), MeshOpError> {
    if iso_hu.is_finite() {
        Ok(())
    } else {
        Err(MeshOpError::BadIso(iso_hu))
    }
}

/// The marks of `src` on `out`, a new triangulation of it within `max_deviation_mm`.
fn carried(src: &Source, out: &Mesh, max_deviation_mm: f64) -> Result<ArticularMarks, MeshOpError> {
    Ok(transfer(
        &src.mesh,
        &src.marks,
        out,
        MARK_TRANSFER_MM.max(max_deviation_mm),
    )?)
}

pub(super) fn part<'a>(inputs: &'a Inputs, label: u8) -> Result<&'a PartInfo, MeshOpError> {
    inputs
        .parts
        .iter()
        .find(|p| p.label == label)
        .ok_or(MeshOpError::NoSuchPart(label))
}

fn surface_name(inputs: &Inputs, store: &MeshStore, r: MeshRef) -> Result<String, MeshOpError> {
    Ok(match r {
        MeshRef::Part(label) => part(inputs, label)?.name.clone(),
        MeshRef::Mesh(id) => store
            .get(id)
            .ok_or(MeshOpError::NoSuchMesh(id))?
            .name
            .clone(),
    })
}

/// The surface `r` stands for (a part's at `iso_hu`, or a copy of a mesh object's).
pub(super) fn surface(
    inputs: &Inputs,
    store: &MeshStore,
    r: MeshRef,
    iso_hu: f64,
) -> Result<Source, MeshOpError> {
    match r {
        MeshRef::Part(label) => {
            check_iso(iso_hu)?;
            let p = part(inputs, label)?;
            let mesh = part_surface(inputs, p, iso_hu)?;
            let marks = store.marks_on(r, &mesh)?;
            Ok(Source {
                mesh,
                name: p.name.clone(),
                id: None,
                marks,
            })
        }
        MeshRef::Mesh(id) => {
            let o = store.get(id).ok_or(MeshOpError::NoSuchMesh(id))?;
            Ok(Source {
                mesh: o.mesh.clone(),
                name: o.name.clone(),
                id: Some(id),
                marks: store.marks_on(r, &o.mesh)?,
            })
        }
    }
}

pub(super) fn part_surface(
    inputs: &Inputs,
    p: &PartInfo,
    iso_hu: f64,
) -> Result<Mesh, MeshOpError> {
    let no_surface = || MeshOpError::NoSurface {
        name: p.name.clone(),
    };
    let mesh = label_surface(inputs.ct, inputs.labels, p.label, &McParams { iso_hu }).map_err(
        |e| match e {
            SegmentError::NoSurface => no_surface(),
            other => MeshOpError::Surface(other),
        },
    )?;
    if mesh.triangles.is_empty() {
        return Err(no_surface());
    }
    Ok(mesh)
}

/// The mid-sagittal plane fitted to the parts' surfaces (see `mesh::symmetry`): parts
/// whose surface centroid lies left (+x) of the sagittal plane through the middle of
/// all parts form one side, the others the other side.
fn fitted_plane(
    inputs: &Inputs,
    iso_hu: f64,
    progress: &mut dyn Progress,
) -> Result<(Plane, PlaneReport), MeshOpError> {
    check_iso(iso_hu)?;
    let mut surfaces = Vec::new();
    for p in inputs.parts.iter().filter(|p| p.voxels > 0) {
        let m = part_surface(inputs, p, iso_hu)?;
        let bb = bounding_box(&m).ok_or(MeshOpError::NoPartsForPlane)?;
        surfaces.push((bb.center_mm()[0], m));
    }
    let lo = surfaces.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let hi = surfaces
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let mid = 0.5 * (lo + hi);
    let side = |left: bool| {
        let members: Vec<&Mesh> = surfaces
            .iter()
            .filter(|s| (s.0 > mid) == left)
            .map(|s| &s.1)
            .collect();
        crate::mesh::shapes::concat(&members)
    };
    let (left, right) = (side(true), side(false));
    if left.triangles.is_empty() || right.triangles.is_empty() || !mid.is_finite() {
        return Err(MeshOpError::NoPartsForPlane);
    }
    let initial = Plane::sagittal(mid);
    let fit = fit_symmetry_plane(
        &left,
        &right,
        &initial,
        &SymmetryParams {
            register: RegisterParams {
                max_samples: 20_000,
                min_rotation_rad: 1e-6,
                min_translation_mm: 1e-4,
                min_relative_rms_change: 1e-6,
                ..register_params()
            },
        },
        progress,
    )?;
    let mut report = plane_report(&fit.plane, true);
    report.rms_mm = Some(fit.rms_mm);
    report.overlap = Some(fit.overlap);
    report.asymmetry_deg = Some(fit.asymmetry_deg);
    Ok((fit.plane, report))
}

fn plane_report(p: &Plane, fitted: bool) -> PlaneReport {
    let n = p.normal;
    let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    PlaneReport {
        fitted,
        point_mm: p.point_mm,
        normal: n.map(|c| c / l),
        rms_mm: None,
        overlap: None,
        asymmetry_deg: None,
    }
}

/// Volume, area and STL digest of `mesh`.
fn measure(mesh: &Mesh, history: Vec<String>) -> Result<MeshReport, MeshOpError> {
    use sha2::{Digest, Sha256};
    let (volume_mm3, area_mm2) = volume_and_area(mesh)?;
    let stl = write_stl_binary(mesh, STL_HEADER)?;
    let stl_sha256 = Sha256::digest(&stl)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(MeshReport {
        triangles: mesh.triangles.len(),
        vertices: mesh.positions_mm.len(),
        volume_mm3,
        area_mm2,
        stl_sha256,
        plane: None,
        registration: None,
        history,
    })
}

fn new_object(
    next_id: &mut u32,
    name: String,
    op: &Op,
    mesh: Mesh,
    line: String,
) -> Result<MeshObject, MeshOpError> {
    let id = *next_id;
    *next_id = next_id.saturating_add(1);
    let report = measure(&mesh, vec![line])?;
    Ok(MeshObject {
        id,
        name,
        colour: MESH_COLOURS[(id as usize + MESH_COLOURS.len() - 1) % MESH_COLOURS.len()],
        source: op.clone(),
        articular: ArticularMarks::none(mesh.triangle_count()),
        mesh,
        report,
    })
}

/// The result of changing `src` into `mesh` with `marks` (one per triangle of `mesh`):
/// the mesh object itself in place, or a new object "<part> (<verb>)" when `src` is a
/// part.
fn changed(
    store: &MeshStore,
    next_id: &mut u32,
    src: &Source,
    verb: &str,
    op: &Op,
    (mesh, marks): (Mesh, ArticularMarks),
    line: String,
) -> Result<Write, MeshOpError> {
    match src.id.and_then(|id| store.get(id)) {
        Some(obj) => {
            let mut history = obj.report.history.clone();
            history.push(line);
            let mut o = obj.clone();
            o.report = measure(&mesh, history)?;
            o.report.plane = obj.report.plane.clone();
            o.report.registration = obj.report.registration.clone();
            o.mesh = mesh;
            o.articular = marks;
            Ok(Write::Replace(o))
        }
        None => {
            let mut o = new_object(next_id, format!("{} ({verb})", src.name), op, mesh, line)?;
            o.articular = marks;
            Ok(Write::Add(o))
        }
    }
}

fn write_registration(w: &mut Write, r: RegistrationReport) {
    match w {
        Write::Add(o) | Write::Replace(o) => o.report.registration = Some(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::ico_sphere;
    use crate::progress::NoProgress;
    use crate::segment::mask::{set_label, BitMask};

    /// A 40³ grid of 1 mm voxels with two "bones": an ellipsoid with a bump on the
    /// patient's right (label 1) and its mirror image across x = 0 (label 2), turned and
    /// shifted by a few voxels so that registration has work to do.
    fn study() -> (Volume<i16>, Volume<u8>, Vec<PartInfo>) {
        let dims = [48, 32, 32];
        let origin = [-23.5, -15.5, -15.5];
        let mut ct = Volume {
            dims,
            spacing_mm: [1.0; 3],
            patient_from_voxel: crate::volume::axis_aligned_affine([1.0; 3], origin),
            data: vec![-1000i16; dims[0] * dims[1] * dims[2]],
        };
        let inside = |p: [f64; 3]| {
            let e = (p[0] / 6.0).powi(2) + (p[1] / 9.0).powi(2) + (p[2] / 5.0).powi(2);
            let bump = ((p[0] - 2.0).powi(2) + (p[1] - 6.0).powi(2) + (p[2] - 4.0).powi(2)) < 9.0;
            e < 1.0 || bump
        };
        let mut right = BitMask::new(dims);
        let mut left = BitMask::new(dims);
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let p = [
                        origin[0] + i as f64,
                        origin[1] + j as f64,
                        origin[2] + k as f64,
                    ];
                    let idx = i + dims[0] * (j + dims[1] * k);
                    if inside([p[0] + 12.0, p[1], p[2]]) {
                        right.set(idx, true);
                        ct.data[idx] = 1200;
                    }
                    // Mirror image, shifted 1 mm in y.
                    if inside([12.0 - p[0], p[1] - 1.0, p[2]]) {
                        left.set(idx, true);
                        ct.data[idx] = 1200;
                    }
                }
            }
        }
        let mut labels = Volume {
            dims,
            spacing_mm: ct.spacing_mm,
            patient_from_voxel: ct.patient_from_voxel,
            data: vec![0u8; ct.data.len()],
        };
        set_label(&mut labels, &right, 1);
        set_label(&mut labels, &left, 2);
        let parts = vec![
            PartInfo {
                label: 1,
                name: "right bone".into(),
                colour: [0; 3],
                voxels: right.count(),
                volume_mm3: right.count() as f64,
            },
            PartInfo {
                label: 2,
                name: "left bone".into(),
                colour: [0; 3],
                voxels: left.count(),
                volume_mm3: left.count() as f64,
            },
        ];
        (ct, labels, parts)
    }

    fn run(ops: &[Op]) -> Result<MeshStore, (usize, MeshOpError)> {
        let (ct, labels, parts) = study();
        let inputs = Inputs {
            ct: &ct,
            labels: &labels,
            parts: &parts,
        };
        let mut store = MeshStore::default();
        for (n, op) in ops.iter().enumerate() {
            apply(&inputs, &mut store, op, &mut NoProgress).map_err(|e| (n, e))?;
        }
        Ok(store)
    }

    fn mirror_left() -> Op {
        Op::MirrorMesh {
            source: MeshRef::Part(2),
            plane: MirrorPlane::Sagittal { x_mm: 0.0 },
            iso_hu: 500.0,
        }
    }

    fn register_onto_right() -> Op {
        Op::RegisterMesh {
            moving: MeshRef::Mesh(1),
            fixed: MeshRef::Part(1),
            follow: vec![],
            iso_hu: 500.0,
        }
    }

    #[test]
    fn mirroring_a_part_creates_an_outward_named_copy_on_the_other_side() {
        let store = run(&[mirror_left()]).unwrap();
        let o = &store.objects[0];
        assert_eq!((o.id, o.name.as_str()), (1, "left bone (mirrored)"));
        assert!(
            o.report.volume_mm3 > 0.0,
            "mirror keeps the surface outward"
        );
        let bb = bounding_box(&o.mesh).unwrap();
        assert!(bb.center_mm()[0] < 0.0, "the copy lies on the right (−x)");
        assert_eq!(o.report.stl_sha256.len(), 64);
        assert_eq!(store.next_id, 2);
    }

    #[test]
    fn registration_of_the_mirrored_copy_finds_the_one_millimetre_shift() {
        let store = run(&[mirror_left(), register_onto_right()]).unwrap();
        let o = &store.objects[0];
        let r = o.report.registration.as_ref().unwrap();
        assert_eq!(r.onto, "right bone");
        assert!(r.rms_mm < 0.2, "rms {}", r.rms_mm);
        assert!(r.overlap > 0.9, "overlap {}", r.overlap);
        // Column-major: translation in 12..15; the copy was 1 mm too far along +y.
        assert!(
            (r.fixed_from_moving[13] + 1.0).abs() < 0.2,
            "{:?}",
            r.fixed_from_moving
        );
        assert_eq!(o.report.history.len(), 2);
    }

    #[test]
    fn a_follower_moves_with_the_registered_object() {
        let ops = [
            mirror_left(),
            mirror_left(),
            Op::RegisterMesh {
                moving: MeshRef::Mesh(1),
                fixed: MeshRef::Part(1),
                follow: vec![2],
                iso_hu: 500.0,
            },
        ];
        let store = run(&ops).unwrap();
        let (a, b) = (&store.objects[0], &store.objects[1]);
        assert_eq!(a.mesh, b.mesh);
        assert_eq!(
            b.report.registration.as_ref().unwrap().followed.as_deref(),
            Some("left bone (mirrored)")
        );
    }

    #[test]
    fn the_same_ops_give_the_same_stl_bytes() {
        let ops = [
            mirror_left(),
            register_onto_right(),
            Op::SmoothMesh {
                target: MeshRef::Mesh(1),
                iterations: 5,
                lambda: 0.5,
                mu: -0.53,
                iso_hu: 500.0,
            },
        ];
        let a = run(&ops).unwrap();
        let b = run(&ops).unwrap();
        assert_eq!(a, b);
        assert_ne!(
            a.objects[0].report.stl_sha256,
            run(&ops[..2]).unwrap().objects[0].report.stl_sha256,
            "smoothing changes the mesh"
        );
    }

    #[test]
    fn operations_on_a_part_make_new_objects_and_on_an_object_change_it() {
        let ops = [
            Op::SmoothMesh {
                target: MeshRef::Part(1),
                iterations: 10,
                lambda: 0.5,
                mu: -0.53,
                iso_hu: 500.0,
            },
            Op::RemeshMesh {
                target: MeshRef::Mesh(1),
                target_edge_mm: 1.5,
                max_deviation_mm: 0.5,
                iso_hu: 500.0,
            },
            Op::DecimateMesh {
                target: MeshRef::Part(2),
                target_triangles: 300,
                max_deviation_mm: 0.5,
                iso_hu: 500.0,
            },
        ];
        let store = run(&ops).unwrap();
        assert_eq!(store.objects.len(), 2);
        assert_eq!(store.objects[0].name, "right bone (smoothed)");
        assert_eq!(store.objects[0].report.history.len(), 2);
        assert_eq!(store.objects[1].name, "left bone (decimated)");
        assert!(
            store.objects[1].report.triangles <= 300
                || store.objects[1].report.history[0].contains("stopped")
        );
        let smoothed = run(&ops[..1]).unwrap();
        assert_ne!(smoothed.objects[0].mesh, store.objects[0].mesh);
    }

    #[test]
    fn delete_removes_the_object_and_its_id_is_not_reused() {
        let store = run(&[mirror_left(), Op::DeleteMesh { id: 1 }, mirror_left()]).unwrap();
        assert_eq!(store.objects.len(), 1);
        assert_eq!(store.objects[0].id, 2);
    }

    #[test]
    fn bad_input_is_refused_with_a_message_and_changes_nothing() {
        let cases: Vec<(Op, &str)> = vec![
            (
                Op::MirrorMesh {
                    source: MeshRef::Part(9),
                    plane: MirrorPlane::Sagittal { x_mm: 0.0 },
                    iso_hu: 500.0,
                },
                "no part with label 9",
            ),
            (Op::DeleteMesh { id: 7 }, "no mesh object 7"),
            (
                Op::MirrorMesh {
                    source: MeshRef::Part(1),
                    plane: MirrorPlane::Sagittal { x_mm: f64::NAN },
                    iso_hu: 500.0,
                },
                "not a finite number",
            ),
            (
                Op::RegisterMesh {
                    moving: MeshRef::Part(1),
                    fixed: MeshRef::Part(1),
                    follow: vec![],
                    iso_hu: 500.0,
                },
                "onto itself",
            ),
            (
                Op::RegisterMesh {
                    moving: MeshRef::Mesh(1),
                    fixed: MeshRef::Part(1),
                    follow: vec![1],
                    iso_hu: 500.0,
                },
                "listed twice",
            ),
            (
                Op::SmoothMesh {
                    target: MeshRef::Mesh(1),
                    iterations: 0,
                    lambda: 0.5,
                    mu: -0.53,
                    iso_hu: 500.0,
                },
                "1 to 500 iterations",
            ),
            (
                Op::SmoothMesh {
                    target: MeshRef::Mesh(1),
                    iterations: 5,
                    lambda: 0.5,
                    mu: -0.4,
                    iso_hu: 500.0,
                },
                "μ = -0.4",
            ),
            (
                Op::RemeshMesh {
                    target: MeshRef::Mesh(1),
                    target_edge_mm: 0.01,
                    max_deviation_mm: 0.25,
                    iso_hu: 500.0,
                },
                "between 0.2 and 20 mm",
            ),
            (
                Op::RemeshMesh {
                    target: MeshRef::Mesh(1),
                    target_edge_mm: 1.0,
                    max_deviation_mm: -1.0,
                    iso_hu: 500.0,
                },
                "deviation bound",
            ),
            (
                Op::DecimateMesh {
                    target: MeshRef::Mesh(1),
                    target_triangles: 2,
                    max_deviation_mm: 0.1,
                    iso_hu: 500.0,
                },
                "between 4 and",
            ),
            (
                Op::DecimateMesh {
                    target: MeshRef::Mesh(1),
                    target_triangles: 10_000_000,
                    max_deviation_mm: 0.1,
                    iso_hu: 500.0,
                },
                "between 4 and",
            ),
        ];
        let (ct, labels, parts) = study();
        let inputs = Inputs {
            ct: &ct,
            labels: &labels,
            parts: &parts,
        };
        let mut store = MeshStore::default();
        apply(&inputs, &mut store, &mirror_left(), &mut NoProgress).unwrap();
        let before = store.clone();
        for (op, expect) in cases {
            let e = apply(&inputs, &mut store, &op, &mut NoProgress).unwrap_err();
            assert!(e.to_string().contains(expect), "{op:?}: {e}");
            assert_eq!(store, before, "{op:?} changed the store");
        }
    }

    #[test]
    fn a_part_without_voxels_gives_no_surface() {
        let (ct, labels, mut parts) = study();
        parts.push(PartInfo {
            label: 3,
            name: "empty".into(),
            colour: [0; 3],
            voxels: 0,
            volume_mm3: 0.0,
        });
        let inputs = Inputs {
            ct: &ct,
            labels: &labels,
            parts: &parts,
        };
        let mut store = MeshStore::default();
        let op = Op::MirrorMesh {
            source: MeshRef::Part(3),
            plane: MirrorPlane::Sagittal { x_mm: 0.0 },
            iso_hu: 500.0,
        };
        let e = apply(&inputs, &mut store, &op, &mut NoProgress).unwrap_err();
        assert!(e.to_string().contains("gives no surface"), "{e}");
        assert!(store.objects.is_empty());
    }

    #[test]
    fn registering_different_shapes_does_not_converge() {
        // A small sphere far from the right bone: most of it cannot land on it.
        let (ct, labels, parts) = study();
        let inputs = Inputs {
            ct: &ct,
            labels: &labels,
            parts: &parts,
        };
        let mut store = MeshStore::default();
        let sphere = ico_sphere(20.0, 3);
        store.objects.push(MeshObject {
            id: 1,
            name: "sphere".into(),
            colour: [0; 3],
            source: Op::DeleteMesh { id: 0 },
            report: measure(&sphere, vec![]).unwrap(),
            articular: ArticularMarks::none(sphere.triangle_count()),
            mesh: sphere,
        });
        store.next_id = 2;
        let before = store.clone();
        let e = apply(&inputs, &mut store, &register_onto_right(), &mut NoProgress).unwrap_err();
        assert!(e.to_string().contains("did not converge"), "{e}");
        assert_eq!(store, before);
    }

    #[test]
    fn the_fitted_plane_of_the_mirror_pair_is_near_x_zero() {
        let op = Op::MirrorMesh {
            source: MeshRef::Part(2),
            plane: MirrorPlane::Fitted,
            iso_hu: 500.0,
        };
        let store = run(&[op]).unwrap();
        let plane = store.objects[0].report.plane.clone().unwrap();
        assert!(plane.fitted);
        // The left bone is the mirror image at x = 0 shifted 1 mm along y: the plane
        // is x = 0 (a shift within the plane does not move it).
        assert!(plane.normal[0] > 0.999, "{plane:?}");
        assert!(plane.point_mm[0].abs() < 0.3, "{plane:?}");
    }
}
