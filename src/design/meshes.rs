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
use super::state::{MeshRef, MirrorPlane, Op, Smoothing};
use crate::mesh::decimate::{decimate_with_progress, DecimateError, DecimateParams};
use crate::mesh::distance::deviation;
use crate::mesh::io::{write_stl_binary, MeshError};
use crate::mesh::measure::{bounding_box, volume_and_area};
use crate::mesh::mirror::{mirror, Plane};
use crate::mesh::register::{
    register_with_progress, transform_mesh, RegisterError, RegisterParams,
};
use crate::mesh::remesh::{remesh_with_progress, RemeshError, RemeshParams};
use crate::mesh::repair::{
    check, check_with_params, repair, CheckParams, MeshReport as CheckReport, RepairParams,
};
use crate::mesh::smooth::{
    flatten_prominences, gaussian, laplacian, smooth_stroke, taubin, FlattenParams, GaussianParams,
    LaplacianParams, StrokeParams, TaubinParams, Weights,
};
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
/// Range of the Gaussian smoothing σ (mm): each vertex averages the vertices within 2σ,
/// so the cost grows with σ².
pub const GAUSSIAN_SIGMA_MM: (f64, f64) = (0.05, 5.0);
/// Largest number of Gaussian smoothing passes.
pub const MAX_GAUSSIAN_PASSES: u32 = 20;
/// Range of the smoothing brush radius (mm).
pub const BRUSH_RADIUS_MM: (f64, f64) = (0.5, 50.0);
/// Most points in one brush stroke.
pub const MAX_STROKE_POINTS: usize = 10_000;
/// Largest vertex weld distance of a repair (mm): more would merge real detail.
pub const MAX_WELD_MM: f64 = 0.1;
/// Largest hole (boundary edges) a repair may be asked to fill.
pub const MAX_HOLE_EDGES: u32 = 100_000;

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
    /// The check before and after the repair that made or last changed the object.
    pub repair: Option<RepairSummary>,
    /// One line per operation that made or changed the object.
    pub history: Vec<String>,
}

/// What [`Op::RepairMesh`] found and did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RepairSummary {
    /// The check of the surface it was given.
    pub before: CheckReport,
    /// The check of the result.
    pub after: CheckReport,
    /// One plain-language line per action taken (empty: nothing needed repair).
    pub notes: Vec<String>,
}

/// The last comparison of the design ([`Op::CompareMeshes`]): the signed distance of
/// each vertex of the measured surface to the reference (mm, + outside the reference),
/// sampled at the vertices as `mesh::distance::deviation` does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviationMap {
    pub measured: MeshRef,
    pub reference: MeshRef,
    pub measured_name: String,
    pub reference_name: String,
    /// SHA-256 of the measured surface's STL ([`stl_sha256`]) when compared: the
    /// per-vertex values belong to that surface's vertices.
    pub measured_sha256: String,
    pub vertices: usize,
    /// Mean unsigned, mean signed and RMS distance, mm.
    pub mean_mm: f64,
    pub mean_signed_mm: f64,
    pub rms_mm: f64,
    /// Largest distance from the measured surface to the reference (one-sided
    /// Hausdorff), mm, and the symmetric Hausdorff distance (both ways), mm.
    pub max_mm: f64,
    pub hausdorff_mm: f64,
    /// Whether the reference is watertight: only then is the sign (inside/outside)
    /// meaningful.
    pub reference_closed: bool,
    /// The measured surface (patient mm) and its signed distance per vertex.
    #[serde(skip)]
    pub surface: Mesh,
    #[serde(skip)]
    pub per_vertex_mm: Vec<f64>,
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
    /// The last deviation map ([`Op::CompareMeshes`]).
    pub deviation: Option<DeviationMap>,
}

impl Default for MeshStore {
    fn default() -> Self {
        MeshStore {
            objects: Vec::new(),
            next_id: 1,
            part_marks: Vec::new(),
            mark_note: String::new(),
            deviation: None,
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
    #[error("{0}")]
    BadSmoothing(String),
    #[error("a repair needs a weld distance of 0 to {max_weld} mm and a largest hole of 3 to {max_hole} edges (got {weld_mm} mm and {edges} edges); the usual values are 0.000001 mm and 1000 edges", max_weld = MAX_WELD_MM, max_hole = MAX_HOLE_EDGES)]
    BadRepair { weld_mm: f64, edges: u32 },
    #[error("repairing \"{name}\" left no triangles: every triangle was degenerate or invalid")]
    NothingLeft { name: String },
    #[error("the registration settings of this design are out of range ({0}); make the registration again")]
    BadRegistration(String),
    #[error("a mirror across the sagittal plane takes no registration settings; only the fitted plane registers")]
    SettingsWithoutFit,
    #[error("{what} cannot be compared with itself; select a different object to compare it to")]
    ComparedWithItself { what: String },
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
            registration,
        } => {
            let src = surface(inputs, store, *source, *iso_hu)?;
            let (plane, report) = match plane {
                MirrorPlane::Sagittal { x_mm } => {
                    if !x_mm.is_finite() {
                        return Err(MeshOpError::BadPlane(*x_mm));
                    }
                    if registration.is_some() {
                        return Err(MeshOpError::SettingsWithoutFit);
                    }
                    let p = Plane::sagittal(*x_mm);
                    (p, plane_report(&p, false))
                }
                MirrorPlane::Fitted => {
                    let settings = match registration {
                        Some(r) => checked_registration(r)?.clone(),
                        None => legacy_fitted_plane_params(),
                    };
                    fitted_plane(inputs, *iso_hu, &settings, progress)?
                }
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
            registration,
        } => {
            let settings = match registration {
                Some(r) => checked_registration(r)?.clone(),
                None => legacy_register_params(),
            };
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
            let reg = register_with_progress(&target.mesh, &src.mesh, &settings, progress)?;
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
        Op::SmoothMeshBy {
            target,
            iso_hu,
            method,
        } => {
            check_smoothing(method)?;
            let src = surface(inputs, store, *target, *iso_hu)?;
            let (out, line) = smooth_by(&src, method)?;
            writes.push(changed(
                store,
                &mut next_id,
                &src,
                "smoothed",
                op,
                (out, src.marks.clone()),
                line,
            )?);
        }
        Op::RepairMesh {
            target,
            iso_hu,
            weld_tolerance_mm,
            max_hole_edges,
        } => {
            let (weld, edges) = (*weld_tolerance_mm, *max_hole_edges);
            if !((0.0..=MAX_WELD_MM).contains(&weld) && (3..=MAX_HOLE_EDGES).contains(&edges)) {
                return Err(MeshOpError::BadRepair {
                    weld_mm: weld,
                    edges,
                });
            }
            let src = surface(inputs, store, *target, *iso_hu)?;
            let before = check(&src.mesh)?;
            // Every repair step, written out: a later change of the kernel's defaults
            // must not change how this op replays.
            let params = RepairParams {
                weld_tolerance_mm: weld,
                remove_degenerate: true,
                remove_duplicates: true,
                unify_orientation: true,
                fill_holes: true,
                max_hole_edges: edges as usize,
                orient_outward: true,
                remove_unreferenced: true,
            };
            let (out, done) = repair(&src.mesh, &params);
            if out.triangles.is_empty() {
                return Err(MeshOpError::NothingLeft { name: src.name });
            }
            let after = check(&out)?;
            let line = if done.changed() {
                format!("repaired: {}", done.notes.join("; "))
            } else {
                "checked and repaired: nothing needed repair".to_string()
            };
            // Faces may be dropped, added or reordered: marks go to the nearest new face.
            let marks = carried(&src, &out, weld)?;
            let mut w = changed(
                store,
                &mut next_id,
                &src,
                "repaired",
                op,
                (out, marks),
                line,
            )?;
            match &mut w {
                Write::Add(o) | Write::Replace(o) => {
                    o.report.repair = Some(RepairSummary {
                        before,
                        after,
                        notes: done.notes,
                    })
                }
            }
            writes.push(w);
        }
        Op::CompareMeshes {
            measured,
            reference,
            iso_hu,
        } => {
            if measured == reference {
                let what = surface_name(inputs, store, *measured)?;
                return Err(MeshOpError::ComparedWithItself { what });
            }
            let a = surface(inputs, store, *measured, *iso_hu)?;
            let b = surface(inputs, store, *reference, *iso_hu)?;
            let dev = deviation(&a.mesh, &b.mesh)?;
            let reference_closed = check_with_params(
                &b.mesh,
                &CheckParams {
                    self_intersections: false,
                    self_intersection_cap: 0,
                },
            )?
            .watertight;
            store.deviation = Some(DeviationMap {
                measured: *measured,
                reference: *reference,
                measured_name: a.name,
                reference_name: b.name,
                measured_sha256: stl_sha256(&a.mesh)?,
                vertices: a.mesh.positions_mm.len(),
                mean_mm: dev.mean_mm,
                mean_signed_mm: dev.mean_signed_mm,
                rms_mm: dev.rms_mm,
                max_mm: dev.max_mm,
                hausdorff_mm: dev.symmetric_hausdorff_mm,
                reference_closed,
                surface: a.mesh,
                per_vertex_mm: dev.per_vertex_mm,
            });
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

/// Registration settings of [`Op::RegisterMesh`] made before the settings were pinned
/// in the op (and, with [`legacy_fitted_plane_params`], of the fitted-plane mirror):
/// trimmed ICP throughout, 60 iterations, every initial pose searched in full. Links
/// without settings replay with these, to the same bytes as when they were made.
pub fn legacy_register_params() -> RegisterParams {
    RegisterParams {
        max_samples: 50_000,
        init_samples: 1_500,
        init_iterations: 12,
        pose_rounds: 1,
        pose_reduction: 1,
        thin_pose_target: false,
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

/// Registration settings of the fitted-plane mirror made before they were pinned.
pub fn legacy_fitted_plane_params() -> RegisterParams {
    RegisterParams {
        max_samples: 20_000,
        min_rotation_rad: 1e-6,
        min_translation_mm: 1e-4,
        min_relative_rms_change: 1e-6,
        ..legacy_register_params()
    }
}

/// The registration settings a new [`Op::RegisterMesh`] records: the kernel's current
/// defaults (coarse-to-fine ICP, untrimmed then trimmed, stopping when the trimmed RMS
/// rises; the pose search pruned by successive halving in 4 rounds, each against the fixed
/// surface thinned to its samples).
pub fn register_settings() -> RegisterParams {
    RegisterParams::default()
}

/// The registration settings a new fitted-plane [`Op::MirrorMesh`] records: as
/// [`register_settings`], on at most 20 000 samples (a whole side of the skeleton).
pub fn fitted_plane_settings() -> RegisterParams {
    RegisterParams {
        max_samples: 20_000,
        ..register_settings()
    }
}

/// `p` when every registration setting is in a range that gives a result in reasonable
/// time (a link is input: a crafted one must not run for hours).
fn checked_registration(p: &RegisterParams) -> Result<&RegisterParams, MeshOpError> {
    let counts = [
        ("max_samples", p.max_samples, 1, 200_000),
        ("init_samples", p.init_samples, 1, 50_000),
        ("init_iterations", p.init_iterations, 0, 200),
        ("pose_rounds", p.pose_rounds, 1, 8),
        ("pose_reduction", p.pose_reduction, 1, 64),
        ("max_iterations", p.max_iterations, 0, 500),
        ("coarse_samples", p.coarse_samples, 0, 200_000),
    ];
    for (name, v, lo, hi) in counts {
        if !(lo..=hi).contains(&v) {
            return Err(MeshOpError::BadRegistration(format!(
                "{name} = {v}, allowed {lo} to {hi}"
            )));
        }
    }
    let limits = [
        ("min_rotation_rad", p.min_rotation_rad),
        ("min_translation_mm", p.min_translation_mm),
        ("min_relative_rms_change", p.min_relative_rms_change),
    ];
    for (name, v) in limits {
        if !(v.is_finite() && v >= 0.0) {
            return Err(MeshOpError::BadRegistration(format!(
                "{name} = {v}, must be a number ≥ 0"
            )));
        }
    }
    if !(0.0..1.0).contains(&p.trim_fraction) {
        return Err(MeshOpError::BadRegistration(format!(
            "trim_fraction = {}, must be at least 0 and below 1",
            p.trim_fraction
        )));
    }
    if !(p.overlap_distance_mm.is_finite() && p.overlap_distance_mm > 0.0) {
        return Err(MeshOpError::BadRegistration(format!(
            "overlap_distance_mm = {}, must be above 0",
            p.overlap_distance_mm
        )));
    }
    Ok(p)
}

/// Refuses a smoothing mode whose settings are out of range, with the usual values.
fn check_smoothing(method: &Smoothing) -> Result<(), MeshOpError> {
    let taubin_ok = |iterations: u32, lambda: f64, mu: f64| {
        (1..=MAX_SMOOTH_ITERATIONS).contains(&iterations)
            && lambda > 0.0
            && lambda <= 1.0
            && mu >= -1.0
            && mu < -lambda
    };
    let problem = match method {
        Smoothing::Laplacian { iterations, lambda } => {
            (!((1..=MAX_SMOOTH_ITERATIONS).contains(iterations) && *lambda > 0.0 && *lambda <= 1.0))
                .then(|| format!("Laplacian smoothing needs 1 to {MAX_SMOOTH_ITERATIONS} iterations and 0 < λ ≤ 1 (got {iterations} iterations, λ = {lambda}); the usual values are 10 and 0.5"))
        }
        Smoothing::Gaussian { sigma_mm, iterations } => {
            let (lo, hi) = GAUSSIAN_SIGMA_MM;
            (!(*sigma_mm >= lo && *sigma_mm <= hi && (1..=MAX_GAUSSIAN_PASSES).contains(iterations)))
                .then(|| format!("Gaussian smoothing needs σ between {lo} and {hi} mm and 1 to {MAX_GAUSSIAN_PASSES} passes (got σ = {sigma_mm} mm, {iterations} passes); the usual values are 1 mm and 1 pass"))
        }
        Smoothing::Flatten {
            threshold_mm,
            tolerance_mm,
            reference_iterations,
            rounds,
            step,
        } => {
            let ok = *threshold_mm >= 0.05
                && *threshold_mm <= 10.0
                && *tolerance_mm >= 0.0
                && *tolerance_mm <= 2.0
                && (1..=MAX_SMOOTH_ITERATIONS).contains(reference_iterations)
                && (1..=50).contains(rounds)
                && *step > 0.0
                && *step <= 1.0;
            (!ok).then(|| format!("flattening needs a prominence threshold of 0.05 to 10 mm, a tolerance of 0 to 2 mm, 1 to {MAX_SMOOTH_ITERATIONS} reference steps, 1 to 50 rounds and a step in (0, 1] (got {threshold_mm} mm, {tolerance_mm} mm, {reference_iterations}, {rounds}, {step}); the usual values are 0.5 mm, 0.05 mm, 60, 10 and 0.7"))
        }
        Smoothing::Brush {
            stroke_mm,
            radius_mm,
            iterations,
            lambda,
            mu,
        } => {
            let (lo, hi) = BRUSH_RADIUS_MM;
            if stroke_mm.is_empty() || stroke_mm.len() > MAX_STROKE_POINTS {
                Some(format!("a brush stroke needs 1 to {MAX_STROKE_POINTS} points (got {}); drag over the surface in the 3-D view", stroke_mm.len()))
            } else if stroke_mm.iter().flatten().any(|c| !c.is_finite()) {
                Some("a brush stroke point is not a finite number".to_string())
            } else if !(*radius_mm >= lo && *radius_mm <= hi && taubin_ok(*iterations, *lambda, *mu)) {
                Some(format!("brush smoothing needs a radius of {lo} to {hi} mm, 1 to {MAX_SMOOTH_ITERATIONS} iterations, 0 < λ ≤ 1 and −1 ≤ μ < −λ (got {radius_mm} mm, {iterations}, λ = {lambda}, μ = {mu}); the usual values are 5 mm, 10, 0.5 and −0.53"))
            } else {
                None
            }
        }
    };
    problem.map_or(Ok(()), |p| Err(MeshOpError::BadSmoothing(p)))
}

/// `src` smoothed by `method` (checked), with its history line.
fn smooth_by(src: &Source, method: &Smoothing) -> Result<(Mesh, String), MeshOpError> {
    Ok(match method {
        Smoothing::Laplacian { iterations, lambda } => (
            laplacian(
                &src.mesh,
                &LaplacianParams {
                    iterations: *iterations as usize,
                    lambda: *lambda,
                    weights: Weights::Uniform,
                },
            ),
            format!("Laplacian smoothing: {iterations} iterations, λ = {lambda}"),
        ),
        Smoothing::Gaussian {
            sigma_mm,
            iterations,
        } => (
            gaussian(
                &src.mesh,
                &GaussianParams {
                    sigma_mm: *sigma_mm,
                    iterations: *iterations as usize,
                },
            ),
            format!("Gaussian smoothing: σ = {sigma_mm} mm, {iterations} pass(es)"),
        ),
        Smoothing::Flatten {
            threshold_mm,
            tolerance_mm,
            reference_iterations,
            rounds,
            step,
        } => {
            let (out, rep) = flatten_prominences(
                &src.mesh,
                &FlattenParams {
                    reference_iterations: *reference_iterations as usize,
                    threshold_mm: *threshold_mm,
                    tolerance_mm: *tolerance_mm,
                    rounds: *rounds as usize,
                    step: *step,
                },
            );
            let line = format!(
                "flattened prominences above {threshold_mm} mm: {} vertices moved by up to {:.2} mm, every other vertex by at most {:.3} mm (tolerance {tolerance_mm} mm)",
                rep.prominent_vertices, rep.max_prominent_move_mm, rep.max_other_move_mm
            );
            (out, line)
        }
        Smoothing::Brush {
            stroke_mm,
            radius_mm,
            iterations,
            lambda,
            mu,
        } => {
            let r2 = radius_mm * radius_mm;
            let touched = src.mesh.positions_mm.iter().any(|p| {
                stroke_mm
                    .iter()
                    .any(|c| (0..3).map(|k| (p[k] - c[k]) * (p[k] - c[k])).sum::<f64>() < r2)
            });
            if !touched {
                return Err(MeshOpError::BrushMissed {
                    name: src.name.clone(),
                    radius_mm: *radius_mm,
                });
            }
            let out = smooth_stroke(
                &src.mesh,
                &StrokeParams {
                    stroke_mm: stroke_mm.clone(),
                    radius_mm: *radius_mm,
                    iterations: *iterations as usize,
                    lambda: *lambda,
                    mu: *mu,
                },
            );
            let line = format!(
                "brush smoothing along a stroke of {} points, radius {radius_mm} mm, {iterations} iterations, λ = {lambda}, μ = {mu}",
                stroke_mm.len()
            );
            (out, line)
        }
    })
}

/// `op` as the app makes it today: a registration or fitted-plane mirror from the page
/// carries no settings, and records the current ones ([`register_settings`],
/// [`fitted_plane_settings`]) so that its link replays the same way after the kernel's
/// defaults change. Every other op is returned as it is.
pub fn with_current_settings(op: Op) -> Op {
    match op {
        Op::RegisterMesh {
            moving,
            fixed,
            follow,
            iso_hu,
            registration: None,
        } => Op::RegisterMesh {
            moving,
            fixed,
            follow,
            iso_hu,
            registration: Some(register_settings()),
        },
        Op::MirrorMesh {
            source,
            plane: MirrorPlane::Fitted,
            iso_hu,
            registration: None,
        } => Op::MirrorMesh {
            source,
            plane: MirrorPlane::Fitted,
            iso_hu,
            registration: Some(fitted_plane_settings()),
        },
        other => other,
    }
}

/// Measurements of one surface for the page's readout (patient mm): volume, area,
/// centroid, principal axes, bounding box, and the topology check (watertight, genus).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SurfaceMeasurements {
    pub volume_mm3: f64,
    pub area_mm2: f64,
    /// Centroid of the enclosed solid when closed, of the surface otherwise.
    pub centroid_mm: [f64; 3],
    /// Unit principal axes, largest spread first, and the second moments along them.
    pub axes: [[f64; 3]; 3],
    pub second_moments: [f64; 3],
    pub bbox_min_mm: [f64; 3],
    pub bbox_max_mm: [f64; 3],
    pub check: CheckReport,
}

/// [`SurfaceMeasurements`] of `mesh`; the check leaves out self-intersections (a BVH
/// search the readout does not need to wait for).
pub fn measure_surface(mesh: &Mesh) -> Result<SurfaceMeasurements, MeshError> {
    let mass = crate::mesh::measure::mass_properties(mesh)?;
    let axes = crate::mesh::measure::principal_axes(mesh)?;
    let check = check_with_params(
        mesh,
        &CheckParams {
            self_intersections: false,
            self_intersection_cap: 0,
        },
    )?;
    Ok(SurfaceMeasurements {
        volume_mm3: mass.volume_mm3,
        area_mm2: mass.area_mm2,
        centroid_mm: mass.centroid_mm,
        axes: axes.axes,
        second_moments: axes.second_moments,
        bbox_min_mm: mass.bbox.min_mm,
        bbox_max_mm: mass.bbox.max_mm,
        check,
    })
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
    settings: &RegisterParams,
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
            register: settings.clone(),
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

/// SHA-256 (hex) of `mesh`'s binary STL with header [`STL_HEADER`].
pub fn stl_sha256(mesh: &Mesh) -> Result<String, MeshError> {
    use sha2::{Digest, Sha256};
    let stl = write_stl_binary(mesh, STL_HEADER)?;
    Ok(Sha256::digest(&stl)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Volume, area and STL digest of `mesh`.
fn measure(mesh: &Mesh, history: Vec<String>) -> Result<MeshReport, MeshOpError> {
    let (volume_mm3, area_mm2) = volume_and_area(mesh)?;
    let stl_sha256 = stl_sha256(mesh)?;
    Ok(MeshReport {
        triangles: mesh.triangles.len(),
        vertices: mesh.positions_mm.len(),
        volume_mm3,
        area_mm2,
        stl_sha256,
        plane: None,
        registration: None,
        repair: None,
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

    /// A store holding `mesh` as mesh object 1.
    fn store_with(name: &str, mesh: Mesh) -> MeshStore {
        let mut store = MeshStore::default();
        store.objects.push(MeshObject {
            id: 1,
            name: name.into(),
            colour: [0; 3],
            source: Op::DeleteMesh { id: 0 },
            report: measure(&mesh, vec![]).unwrap(),
            articular: ArticularMarks::none(mesh.triangle_count()),
            mesh,
        });
        store.next_id = 2;
        store
    }

    fn mirror_left() -> Op {
        Op::MirrorMesh {
            source: MeshRef::Part(2),
            plane: MirrorPlane::Sagittal { x_mm: 0.0 },
            iso_hu: 500.0,
            registration: None,
        }
    }

    fn register_onto_right() -> Op {
        Op::RegisterMesh {
            moving: MeshRef::Mesh(1),
            fixed: MeshRef::Part(1),
            follow: vec![],
            iso_hu: 500.0,
            registration: None,
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
                registration: None,
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
                    registration: None,
                },
                "no part with label 9",
            ),
            (Op::DeleteMesh { id: 7 }, "no mesh object 7"),
            (
                Op::MirrorMesh {
                    source: MeshRef::Part(1),
                    plane: MirrorPlane::Sagittal { x_mm: f64::NAN },
                    iso_hu: 500.0,
                    registration: None,
                },
                "not a finite number",
            ),
            (
                Op::RegisterMesh {
                    moving: MeshRef::Part(1),
                    fixed: MeshRef::Part(1),
                    follow: vec![],
                    iso_hu: 500.0,
                    registration: None,
                },
                "onto itself",
            ),
            (
                Op::RegisterMesh {
                    moving: MeshRef::Mesh(1),
                    fixed: MeshRef::Part(1),
                    follow: vec![1],
                    iso_hu: 500.0,
                    registration: None,
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
            (
                Op::RegisterMesh {
                    moving: MeshRef::Mesh(1),
                    fixed: MeshRef::Part(1),
                    follow: vec![],
                    iso_hu: 500.0,
                    registration: Some(RegisterParams {
                        max_iterations: 1_000_000,
                        ..register_settings()
                    }),
                },
                "max_iterations = 1000000, allowed 0 to 500",
            ),
            (
                Op::MirrorMesh {
                    source: MeshRef::Part(1),
                    plane: MirrorPlane::Sagittal { x_mm: 0.0 },
                    iso_hu: 500.0,
                    registration: Some(fitted_plane_settings()),
                },
                "takes no registration settings",
            ),
            (
                smooth_by_op(Smoothing::Laplacian {
                    iterations: 0,
                    lambda: 0.5,
                }),
                "Laplacian smoothing needs 1 to 500 iterations",
            ),
            (
                smooth_by_op(Smoothing::Gaussian {
                    sigma_mm: 50.0,
                    iterations: 1,
                }),
                "σ between 0.05 and 5 mm",
            ),
            (
                smooth_by_op(Smoothing::Flatten {
                    threshold_mm: 0.5,
                    tolerance_mm: -0.1,
                    reference_iterations: 60,
                    rounds: 10,
                    step: 0.7,
                }),
                "a tolerance of 0 to 2 mm",
            ),
            (
                smooth_by_op(Smoothing::Brush {
                    stroke_mm: vec![],
                    radius_mm: 5.0,
                    iterations: 10,
                    lambda: 0.5,
                    mu: -0.53,
                }),
                "1 to 10000 points",
            ),
            (
                smooth_by_op(Smoothing::Brush {
                    stroke_mm: vec![[500.0, 500.0, 500.0]],
                    radius_mm: 5.0,
                    iterations: 10,
                    lambda: 0.5,
                    mu: -0.53,
                }),
                "the brush missed",
            ),
            (
                Op::RepairMesh {
                    target: MeshRef::Mesh(1),
                    iso_hu: 500.0,
                    weld_tolerance_mm: 1.0,
                    max_hole_edges: 1000,
                },
                "weld distance of 0 to 0.1 mm",
            ),
            (
                Op::CompareMeshes {
                    measured: MeshRef::Mesh(1),
                    reference: MeshRef::Mesh(1),
                    iso_hu: 500.0,
                },
                "cannot be compared with itself",
            ),
            (
                Op::CompareMeshes {
                    measured: MeshRef::Mesh(1),
                    reference: MeshRef::Mesh(4),
                    iso_hu: 500.0,
                },
                "no mesh object 4",
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
            registration: None,
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
        let mut store = store_with("sphere", ico_sphere(20.0, 3));
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
            registration: None,
        };
        let store = run(&[op]).unwrap();
        let plane = store.objects[0].report.plane.clone().unwrap();
        assert!(plane.fitted);
        // The left bone is the mirror image at x = 0 shifted 1 mm along y: the plane
        // is x = 0 (a shift within the plane does not move it).
        assert!(plane.normal[0] > 0.999, "{plane:?}");
        assert!(plane.point_mm[0].abs() < 0.3, "{plane:?}");
    }

    fn smooth_by_op(method: Smoothing) -> Op {
        Op::SmoothMeshBy {
            target: MeshRef::Mesh(1),
            iso_hu: 500.0,
            method,
        }
    }

    fn moved_mm(a: &Mesh, b: &Mesh) -> Vec<f64> {
        a.positions_mm
            .iter()
            .zip(&b.positions_mm)
            .map(|(p, q)| (0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f64>().sqrt())
            .collect()
    }

    #[test]
    fn every_smoothing_mode_changes_the_surface_as_its_kernel_says() {
        let base = run(&[mirror_left()]).unwrap();
        let original = &base.objects[0].mesh;
        let volume = base.objects[0].report.volume_mm3;
        let smoothed = |method: Smoothing| {
            let store = run(&[mirror_left(), smooth_by_op(method)]).unwrap();
            assert_eq!(store.objects.len(), 1, "changes the object in place");
            let o = store.objects[0].clone();
            assert_eq!(o.report.history.len(), 2);
            assert_eq!(o.mesh.triangles, original.triangles);
            o
        };
        let lap = smoothed(Smoothing::Laplacian {
            iterations: 20,
            lambda: 0.5,
        });
        assert!(lap.report.volume_mm3 < 0.97 * volume, "Laplacian shrinks");
        assert!(lap.report.history[1].starts_with("Laplacian smoothing"));
        let gauss = smoothed(Smoothing::Gaussian {
            sigma_mm: 1.0,
            iterations: 1,
        });
        assert!(moved_mm(&gauss.mesh, original).iter().any(|&d| d > 0.05));
        let flat = smoothed(Smoothing::Flatten {
            threshold_mm: 0.3,
            tolerance_mm: 0.05,
            reference_iterations: 60,
            rounds: 10,
            step: 0.7,
        });
        // The bump is flattened (the prominent vertices move further than the tolerance);
        // the history says how far the rest moved, at most the tolerance.
        let moves = moved_mm(&flat.mesh, original);
        assert!(
            moves.iter().cloned().fold(0.0, f64::max) > 0.3,
            "{:?}",
            flat.report.history
        );
        assert!(flat.report.history[1].contains("tolerance 0.05 mm"));
        // The brush at the bump's top: vertices beyond its radius keep their bits.
        let bump = original
            .positions_mm
            .iter()
            .copied()
            .max_by(|a, b| a[2].total_cmp(&b[2]))
            .unwrap();
        let brush = smoothed(Smoothing::Brush {
            stroke_mm: vec![bump, [bump[0], bump[1] - 1.0, bump[2]]],
            radius_mm: 3.0,
            iterations: 10,
            lambda: 0.5,
            mu: -0.53,
        });
        let moves = moved_mm(&brush.mesh, original);
        let mut inside_moved = false;
        for (p, d) in original.positions_mm.iter().zip(&moves) {
            let far = [bump, [bump[0], bump[1] - 1.0, bump[2]]]
                .iter()
                .all(|c| (0..3).map(|k| (p[k] - c[k]).powi(2)).sum::<f64>().sqrt() >= 3.0);
            if far {
                assert_eq!(*d, 0.0, "a vertex outside the brush moved");
            } else {
                inside_moved |= *d > 0.0;
            }
        }
        assert!(inside_moved);
        // On a part, smoothing makes a new object.
        let store = run(&[Op::SmoothMeshBy {
            target: MeshRef::Part(1),
            iso_hu: 500.0,
            method: Smoothing::Laplacian {
                iterations: 2,
                lambda: 0.5,
            },
        }])
        .unwrap();
        assert_eq!(store.objects[0].name, "right bone (smoothed)");
    }

    #[test]
    fn repair_reports_a_clean_part_and_closes_a_hole_in_an_object() {
        let store = run(&[Op::RepairMesh {
            target: MeshRef::Part(1),
            iso_hu: 500.0,
            weld_tolerance_mm: 1e-6,
            max_hole_edges: 1000,
        }])
        .unwrap();
        let o = &store.objects[0];
        assert_eq!(o.name, "right bone (repaired)");
        let r = o.report.repair.as_ref().unwrap();
        assert!(r.before.watertight && r.after.watertight && r.notes.is_empty());
        assert_eq!(r.after.genus, vec![0]);
        assert!(o.report.history[0].contains("nothing needed repair"));

        // A sphere with a missing triangle: one hole of three edges, filled.
        let (ct, labels, parts) = study();
        let inputs = Inputs {
            ct: &ct,
            labels: &labels,
            parts: &parts,
        };
        let mut open = ico_sphere(10.0, 2);
        open.triangles.pop();
        let mut store = store_with("open sphere", open);
        let op = Op::RepairMesh {
            target: MeshRef::Mesh(1),
            iso_hu: 500.0,
            weld_tolerance_mm: 1e-6,
            max_hole_edges: 1000,
        };
        apply(&inputs, &mut store, &op, &mut NoProgress).unwrap();
        let o = &store.objects[0];
        let r = o.report.repair.as_ref().unwrap();
        assert_eq!((r.before.boundary_edges, r.before.watertight), (3, false));
        assert!(r.after.watertight && r.after.is_clean_solid(), "{r:?}");
        assert!(
            o.report.history[0].starts_with("repaired:"),
            "{:?}",
            o.report.history
        );
        assert!(o.report.volume_mm3 > 0.0);
    }

    #[test]
    fn compare_keeps_the_deviation_map_of_the_registered_copy() {
        let store = run(&[
            mirror_left(),
            register_onto_right(),
            Op::CompareMeshes {
                measured: MeshRef::Mesh(1),
                reference: MeshRef::Part(1),
                iso_hu: 500.0,
            },
        ])
        .unwrap();
        let d = store.deviation.as_ref().unwrap();
        let o = &store.objects[0];
        assert_eq!(
            (d.measured_name.as_str(), d.reference_name.as_str()),
            ("left bone (mirrored)", "right bone")
        );
        assert_eq!(d.vertices, o.mesh.positions_mm.len());
        assert_eq!(d.per_vertex_mm.len(), d.vertices);
        assert_eq!(d.measured_sha256, o.report.stl_sha256);
        assert!(d.reference_closed);
        // Registered mirror images of one shape on a 1 mm grid: well under a voxel.
        assert!(d.mean_mm < 0.3 && d.rms_mm < 0.4, "{d:?}");
        assert!(d.max_mm <= d.hausdorff_mm && d.max_mm < 1.5, "{d:?}");
        let max = d.per_vertex_mm.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert_eq!(max, d.max_mm);
        let csv = crate::design::outputs::deviation_csv(d);
        assert_eq!(csv.lines().count(), 3 + d.vertices);
        assert!(csv.lines().nth(3).unwrap().starts_with("0,"));
        // Nothing else changed, and the same ops give the same map.
        assert_eq!(
            store.objects,
            run(&[mirror_left(), register_onto_right()])
                .unwrap()
                .objects
        );
        assert_eq!(
            run(&[
                mirror_left(),
                register_onto_right(),
                Op::CompareMeshes {
                    measured: MeshRef::Mesh(1),
                    reference: MeshRef::Part(1),
                    iso_hu: 500.0,
                },
            ])
            .unwrap(),
            store
        );
    }
    #[test]
    fn ops_from_the_page_record_the_current_registration_settings() {
        let pinned = with_current_settings(register_onto_right());
        assert!(matches!(
            &pinned,
            Op::RegisterMesh { registration: Some(r), .. } if *r == register_settings()
        ));
        // Settings already there, a sagittal mirror and other ops are left as they are.
        assert_eq!(with_current_settings(pinned.clone()), pinned);
        assert_eq!(with_current_settings(mirror_left()), mirror_left());
        let fitted = Op::MirrorMesh {
            source: MeshRef::Part(2),
            plane: MirrorPlane::Fitted,
            iso_hu: 500.0,
            registration: None,
        };
        assert!(matches!(
            with_current_settings(fitted),
            Op::MirrorMesh { registration: Some(r), .. } if r == fitted_plane_settings()
        ));
        let delete = Op::DeleteMesh { id: 3 };
        assert_eq!(with_current_settings(delete.clone()), delete);
    }

    #[test]
    fn measurements_of_a_sphere_and_of_an_open_copy() {
        let sphere = ico_sphere(10.0, 3);
        let m = measure_surface(&sphere).unwrap();
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 1000.0;
        assert!((m.volume_mm3 - exact).abs() < 0.03 * exact, "{m:?}");
        assert!(m.centroid_mm.iter().all(|c| c.abs() < 1e-9), "{m:?}");
        assert!(m.check.watertight && m.check.genus == vec![0]);
        assert!(m.bbox_max_mm[0] <= 10.0 + 1e-9 && m.bbox_min_mm[0] >= -10.0 - 1e-9);
        let mut open = sphere.clone();
        open.triangles.pop();
        let o = measure_surface(&open).unwrap();
        assert!(!o.check.watertight && o.check.boundary_edges == 3 && o.check.genus.is_empty());
        assert!(measure_surface(&Mesh::default()).is_err());
    }
}
