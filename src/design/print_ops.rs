//! Print preparation of a design: the print operations of the op log (orient, supports,
//! slice, build plate) applied to a part's surface or a mesh object, with the kernels of
//! [`crate::print`].
//!
//! Spaces and units: the source surface is in patient LPS mm; everything made here is in
//! build space (mm, +z up from the plate, the oriented part resting on it at z = 0 and
//! centred on x = y = 0; the plate's objects at their plate positions). Layer settings
//! in µm, laser power in W, speeds in mm/s.
//!
//! Every parameter that shapes a result is written in the op (kernel defaults are only
//! used for fields the op cannot change, through `..Default::default()`), so a later
//! change of a default does not change how an old link replays. Each op replaces the
//! state it makes and clears what depended on the old state: a new orientation drops the
//! supports, the slicing and the plate; new supports drop the slicing.
//!
//! Outlines: the layers are simplified within the op's `outline_tolerance_um`
//! ([`crate::print::simplify`]) right after slicing, and the simplified polygons are the
//! ones kept: the contours and hatches, the estimate, the layer viewer and every export
//! (G-code, CLI, SVG) all use the outline that is scanned.
//!
//! Memory: the layer polygons are kept (for the layer viewer and the exports), the scan
//! paths are not: a 30 µm talus has ~1,400 layers and millions of hatch vectors, so the
//! paths are made again for the layer shown ([`layer_scan`]) and for an export
//! ([`scans`]); only their lengths are kept for the estimate.
//!
//! Articular surfaces: the marks of the surface being oriented (`design::marks`, one per
//! triangle) go with it into build space; orientation keeps them facing up, supports
//! (cones and block walls, on the part and on every implant size of the build plate) keep
//! clear of them, and the report gives their count and area.
//!
//! Errors leave the store as it was: results are computed first and committed last.

use super::history::file_stem;
use super::meshes::{MeshStore, STL_HEADER as MESH_STL_HEADER};
use super::replay::PartInfo;
use super::state::{MeshRef, Op, ScanSettings};
use crate::mesh::measure::bounding_box;
use crate::mesh::repair::{check_with_params, CheckParams};
use crate::mesh::Mesh;
use crate::parallel::try_map_range_with_progress;
use crate::print::estimate::{estimate, Estimate, EstimateParams, MachineProfile};
use crate::print::export::{cli_ascii, cli_binary, gcode, svg_layer, ExportInfo};
use crate::print::hatch::{hatch_layer_in, HatchParams, HatchPattern, HatchWork, LayerScan};
use crate::print::orient::{
    orient, pose_with_rotation, rotation_from_euler_deg, rotation_to_z, Candidate, OrientParams,
};
use crate::print::overhang::{ArticularMarks, OverhangMap, OverhangParams};
use crate::print::plate::{build_plate_with_supports, BuildPlate, PlateParams};
use crate::print::simplify::{simplify_layers, simplify_slices, SimplifyParams};
use crate::print::slice::{slice, slice_at_heights, Layer, SliceParams, Slices};
use crate::print::supports::{generate, SupportParams, SupportResult, SupportStyle};
use crate::progress::Progress;
use crate::surface::mc::{label_surface, McParams};
use crate::volume::Volume;
use nalgebra::Matrix3;
use serde::Serialize;

/// Header of the support STL (build space).
pub const SUPPORT_STL_HEADER: &str = "Osteon supports (mm, build space)";
/// Candidates kept for the ranking shown to the user.
pub const RANKING_SHOWN: usize = 10;
/// The machine every print op checks against (250 × 250 × 300 mm).
pub fn machine() -> MachineProfile {
    MachineProfile::default()
}

/// Why a print operation cannot be applied. Nothing is changed.
#[derive(thiserror::Error, Debug)]
pub enum PrintOpError {
    #[error("there is no part with label {0}; it may have been removed already")]
    NoSuchPart(u8),
    #[error("there is no mesh object {0}; it may have been deleted already")]
    NoSuchMesh(u32),
    #[error("\"{name}\" gives no surface: {reason}")]
    NoSurface { name: String, reason: String },
    #[error("\"{name}\" is not watertight ({open} open edge(s), {non_manifold} non-manifold edge(s){at}); it cannot be printed as it is: remesh it in the Meshes panel or recalculate the part")]
    NotWatertight {
        name: String,
        open: usize,
        non_manifold: usize,
        at: String,
    },
    #[error("orient the part first (Print panel: Orient)")]
    NotOriented,
    #[error("the build job was asked to carry supports but the part has none: press Supports first, or build the job without supports")]
    NoSupports,
    #[error("rank {rank} is not among the {have} candidates shown; pick one of the list")]
    BadRank { rank: u32, have: usize },
    #[error("the hand rotation must be three finite angles in degrees (got {0:?})")]
    BadRotation([f64; 3]),
    #[error("{0}")]
    Kernel(String),
    #[error("{what} are all empty: the part has no cross-section to print; check the part and its orientation")]
    Empty { what: &'static str },
    #[error("cancelled")]
    Cancelled,
}

/// The oriented part.
#[derive(Clone, Debug, PartialEq)]
pub struct Oriented {
    /// Name of the source surface ("left talus (mirrored)").
    pub name: String,
    /// The surface it was made from.
    pub target: MeshRef,
    /// The surface as read (patient mm), kept for the hand-rotation preview.
    pub source_mesh: Mesh,
    /// The part in build space.
    pub mesh: Mesh,
    /// Overhang map of the part in build space (+z up).
    pub map: OverhangMap,
    /// Best candidates of the search, best first (at most [`RANKING_SHOWN`]).
    pub ranked: Vec<Candidate>,
    /// The part as it came, scored the same way.
    pub as_given: Candidate,
    pub rank: u32,
    pub rotate_deg: [f64; 3],
    pub critical_angle_deg: f64,
    /// Directions searched.
    pub searched: usize,
    /// Articular marks, one per triangle of `mesh` (and of `source_mesh`).
    pub marks: ArticularMarks,
}

/// The supports of the oriented part.
#[derive(Clone, Debug, PartialEq)]
pub struct Supported {
    pub result: SupportResult,
    pub style: SupportStyle,
    /// The settings they were made with (the build plate makes each size's with them).
    pub params: SupportParams,
}

/// A sliced job: layer polygons (part, and supports at the same heights), the settings,
/// the estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct SlicedJob {
    /// File-name stem of the job ("left_talus", "plate").
    pub name: String,
    pub slices: Slices,
    /// Support sections at the part's layer heights, when there are supports.
    pub support_layers: Option<Vec<Layer>>,
    pub scan: ScanSettings,
    pub estimate: Estimate,
    /// Plate region shown by the layer viewer and the SVG (x0, y0, x1, y1 mm).
    pub view_mm: [f64; 4],
}

/// The build plate and its slicing.
#[derive(Clone, Debug, PartialEq)]
pub struct Plated {
    pub plate: BuildPlate,
    pub job: SlicedJob,
    /// Whether the implant sizes carry supports (`Op::BuildPlate::supports`).
    pub with_supports: bool,
    /// Supports (cones or walls) per implant size, in plate order.
    pub support_counts: Vec<usize>,
}

/// The print preparation of a design.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrintStore {
    pub oriented: Option<Oriented>,
    pub supports: Option<Supported>,
    pub sliced: Option<SlicedJob>,
    pub plate: Option<Plated>,
}

/// What a print operation reads besides the store.
pub struct Inputs<'a> {
    pub ct: &'a Volume<i16>,
    pub labels: &'a Volume<u8>,
    pub parts: &'a [PartInfo],
    pub meshes: &'a MeshStore,
}

fn kernel<E: std::fmt::Display>(e: E) -> PrintOpError {
    PrintOpError::Kernel(e.to_string())
}

/// The surface of a part (marching cubes at `iso_hu`) or a mesh object, with its name.
fn surface(inputs: &Inputs, r: MeshRef, iso_hu: f64) -> Result<(String, Mesh), PrintOpError> {
    match r {
        MeshRef::Part(label) => {
            let part = inputs
                .parts
                .iter()
                .find(|p| p.label == label)
                .ok_or(PrintOpError::NoSuchPart(label))?;
            let mesh = label_surface(inputs.ct, inputs.labels, label, &McParams { iso_hu })
                .map_err(|e| PrintOpError::NoSurface {
                    name: part.name.clone(),
                    reason: e.to_string(),
                })?;
            Ok((part.name.clone(), mesh))
        }
        MeshRef::Mesh(id) => {
            let o = inputs.meshes.get(id).ok_or(PrintOpError::NoSuchMesh(id))?;
            Ok((o.name.clone(), o.mesh.clone()))
        }
    }
}

/// Refuses a surface that is not closed, saying where the first open edges are.
fn require_watertight(name: &str, mesh: &Mesh) -> Result<(), PrintOpError> {
    let params = CheckParams {
        self_intersections: false,
        ..CheckParams::default()
    };
    let report = check_with_params(mesh, &params).map_err(|e| PrintOpError::NoSurface {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    if report.watertight {
        return Ok(());
    }
    // The slicer names the first bad edges; use its wording for "where".
    let at = match slice(mesh, &SliceParams { layer_um: 100.0 }) {
        Err(crate::print::slice::SliceError::NotWatertight { locations, .. }) => {
            format!(", e.g. at {locations} mm")
        }
        _ => String::new(),
    };
    Err(PrintOpError::NotWatertight {
        name: name.to_string(),
        open: report.boundary_edges,
        non_manifold: report.non_manifold_edges,
        at,
    })
}

/// Build rotation of a candidate followed by the hand rotation.
pub fn build_rotation(candidate: &Candidate, rotate_deg: [f64; 3]) -> Matrix3<f64> {
    rotation_from_euler_deg(rotate_deg[0], rotate_deg[1], rotate_deg[2])
        * rotation_to_z(candidate.up)
}

fn check_rotation(rotate_deg: [f64; 3]) -> Result<(), PrintOpError> {
    if rotate_deg
        .iter()
        .all(|a| a.is_finite() && a.abs() <= 3600.0)
    {
        Ok(())
    } else {
        Err(PrintOpError::BadRotation(rotate_deg))
    }
}

/// The oriented part turned by another hand rotation (the preview while the user drags
/// the angle sliders; not an op).
pub fn preview(
    o: &Oriented,
    rank: u32,
    rotate_deg: [f64; 3],
) -> Result<crate::print::orient::Posed, PrintOpError> {
    check_rotation(rotate_deg)?;
    let c = o.ranked.get(rank as usize).ok_or(PrintOpError::BadRank {
        rank,
        have: o.ranked.len(),
    })?;
    pose_with_rotation(
        &o.source_mesh,
        &o.marks,
        &build_rotation(c, rotate_deg),
        &OverhangParams {
            critical_angle_deg: o.critical_angle_deg,
            ..OverhangParams::default()
        },
    )
    .map_err(kernel)
}

/// Hatch settings of a scan op.
pub fn hatch_params(s: &ScanSettings) -> HatchParams {
    HatchParams {
        laser_power_w: s.laser_power_w,
        scan_speed_mm_s: s.scan_speed_mm_s,
        contour_count: s.contour_count,
        beam_offset_um: s.beam_offset_um,
        hatch_spacing_um: s.hatch_spacing_um,
        pattern: if s.chessboard {
            HatchPattern::Chessboard {
                square_mm: s.size_mm,
            }
        } else {
            HatchPattern::Stripes {
                width_mm: s.size_mm,
            }
        },
        rotation_deg: s.rotation_deg,
    }
}

/// The settings the app starts with (30 µm, 110 µm, 200 W, 1000 mm/s, 2 contours, 50 µm
/// offset, 10 mm stripes turned 67° per layer, outlines simplified within
/// [`DEFAULT_OUTLINE_TOLERANCE_UM`]).
pub fn default_scan() -> ScanSettings {
    ScanSettings {
        layer_um: 30.0,
        hatch_spacing_um: 110.0,
        laser_power_w: 200.0,
        scan_speed_mm_s: 1000.0,
        contour_count: 2,
        beam_offset_um: 50.0,
        chessboard: false,
        size_mm: 10.0,
        rotation_deg: 67.0,
        outline_tolerance_um: DEFAULT_OUTLINE_TOLERANCE_UM,
    }
}

/// Outline tolerance new slice and build-plate ops record (µm): see
/// [`crate::print::simplify`] for the measurements behind it.
pub const DEFAULT_OUTLINE_TOLERANCE_UM: f64 = 5.0;

/// Outline simplification of a scan op.
pub fn simplify_params(s: &ScanSettings) -> SimplifyParams {
    SimplifyParams {
        tolerance_um: s.outline_tolerance_um,
    }
}

/// Layers hatched in a row with one workspace by [`scans`] and [`scan_lengths`]: the
/// unit of their parallel maps and of their progress.
const LAYER_RUN: usize = 16;

/// Scan paths of layer `k` of a job: the part's, then the supports'.
pub fn layer_scan(job: &SlicedJob, k: usize) -> Result<LayerScan, PrintOpError> {
    layer_scan_in(
        &job.slices,
        job.support_layers.as_deref(),
        &hatch_params(&job.scan),
        k,
        &mut HatchWork::new(),
    )
}

/// Scan paths of layer `k` of `slices` then of `supports` (the support sections at the
/// same heights), with the buffers of `work`.
fn layer_scan_in(
    slices: &Slices,
    supports: Option<&[Layer]>,
    hatch: &HatchParams,
    k: usize,
    work: &mut HatchWork,
) -> Result<LayerScan, PrintOpError> {
    let layer = slices.layers.get(k).ok_or_else(|| {
        PrintOpError::Kernel(format!(
            "there is no layer {k}; the job has {} layers",
            slices.layers.len()
        ))
    })?;
    let mut scan = hatch_layer_in(layer, hatch, work).map_err(kernel)?;
    if let Some(s) = supports.and_then(|s| s.get(k)) {
        let sup = hatch_layer_in(s, hatch, work).map_err(kernel)?;
        scan.contours.extend(sup.contours);
        scan.hatches.extend(sup.hatches);
        scan.contour_length_mm += sup.contour_length_mm;
        scan.hatch_length_mm += sup.hatch_length_mm;
        scan.jump_length_mm += sup.jump_length_mm;
    }
    Ok(scan)
}

/// `f(k, work)` for every layer `k < n` in order, in runs of [`LAYER_RUN`] layers that
/// share one hatch workspace (the runs in parallel); `progress` counts layers and can
/// cancel between batches of runs.
fn map_layer_runs<R: Send>(
    n: usize,
    progress: &mut dyn Progress,
    f: impl Fn(usize, &mut HatchWork) -> Result<R, PrintOpError> + Sync + Send,
) -> Result<Vec<R>, PrintOpError> {
    let mut by_layer = |run: usize, _runs: usize| progress.report((run * LAYER_RUN).min(n), n);
    let runs = try_map_range_with_progress(
        n.div_ceil(LAYER_RUN),
        1,
        &mut by_layer,
        || PrintOpError::Cancelled,
        |r| {
            let mut work = HatchWork::new();
            (r * LAYER_RUN..((r + 1) * LAYER_RUN).min(n))
                .map(|k| f(k, &mut work))
                .collect::<Result<Vec<R>, _>>()
        },
    )?;
    Ok(runs.into_iter().flatten().collect())
}

/// Scan paths of every layer (for an export); `progress` can cancel.
pub fn scans(job: &SlicedJob, progress: &mut dyn Progress) -> Result<Vec<LayerScan>, PrintOpError> {
    let hatch = hatch_params(&job.scan);
    let supports = job.support_layers.as_deref();
    map_layer_runs(job.slices.layers.len(), progress, |k, work| {
        layer_scan_in(&job.slices, supports, &hatch, k, work)
    })
}

/// The scan lengths of every layer of `slices` (part, then `supports` at the same
/// heights) with the settings of `scan`, as the Slice and Build plate ops measure them for
/// the estimate: the paths are made and dropped layer by layer (one empty contour and one
/// hatch vector kept, so the estimate can still tell empty layers from the others).
/// `progress` can cancel.
pub fn scan_lengths(
    slices: &Slices,
    supports: Option<&[Layer]>,
    scan: &ScanSettings,
    progress: &mut dyn Progress,
) -> Result<Vec<LayerScan>, PrintOpError> {
    let hatch = hatch_params(scan);
    hatch.validate().map_err(kernel)?;
    map_layer_runs(slices.layers.len(), progress, |k, work| {
        let mut s = layer_scan_in(slices, supports, &hatch, k, work)?;
        s.contours.truncate(1);
        if let Some(c) = s.contours.first_mut() {
            c.clear();
        }
        s.hatches.truncate(1);
        Ok(s)
    })
}

/// Slices `part` (and `supports` at the same heights), hatches every layer to measure
/// the scan lengths, and estimates the job.
fn slice_job(
    name: String,
    part: &Mesh,
    supports: Option<&Mesh>,
    scan: &ScanSettings,
    progress: &mut dyn Progress,
) -> Result<SlicedJob, PrintOpError> {
    let slice_params = SliceParams {
        layer_um: scan.layer_um,
    };
    slice_params.validate().map_err(kernel)?;
    let hatch = hatch_params(scan);
    hatch.validate().map_err(kernel)?;
    let simplify = simplify_params(scan);
    simplify.validate().map_err(kernel)?;
    let all = match supports {
        Some(s) => crate::mesh::shapes::concat(&[part, s]),
        None => part.clone(),
    };
    machine().check_mesh_fits(&all).map_err(kernel)?;
    let bb = bounding_box(&all).ok_or(PrintOpError::Empty { what: "the layers" })?;
    let mut slices = slice(part, &slice_params).map_err(kernel)?;
    simplify_slices(&mut slices, &simplify).map_err(kernel)?;
    if slices.layers.len() == slices.zero_area_layers.len() {
        return Err(PrintOpError::Empty { what: "the layers" });
    }
    let support_layers = match supports {
        Some(s) if !s.triangles.is_empty() => {
            let z: Vec<f64> = slices.layers.iter().map(|l| l.z_mm).collect();
            let mut layers =
                slice_at_heights(s, &z).map_err(|e| kernel(format!("supports: {e}")))?;
            simplify_layers(&mut layers, &simplify).map_err(kernel)?;
            Some(layers)
        }
        _ => None,
    };
    let mut job = SlicedJob {
        name,
        slices,
        support_layers,
        scan: scan.clone(),
        estimate: empty_estimate(),
        view_mm: [
            bb.min_mm[0] - 1.0,
            bb.min_mm[1] - 1.0,
            bb.max_mm[0] + 1.0,
            bb.max_mm[1] + 1.0,
        ],
    };
    let lengths = scan_lengths(&job.slices, job.support_layers.as_deref(), scan, progress)?;
    job.estimate = estimate(
        part,
        supports.filter(|s| !s.triangles.is_empty()),
        &lengths,
        scan.layer_um,
        &hatch,
        &machine(),
        &EstimateParams::default(),
    )
    .map_err(kernel)?;
    if !job.slices.zero_area_layers.is_empty() {
        job.estimate.warnings.push(format!(
            "{} layer(s) have zero area (first: layer {}); they are recoated but not scanned",
            job.slices.zero_area_layers.len(),
            job.slices.zero_area_layers[0]
        ));
    }
    Ok(job)
}

fn empty_estimate() -> Estimate {
    Estimate {
        layers: 0,
        build_height_mm: 0.0,
        contour_length_mm: 0.0,
        hatch_length_mm: 0.0,
        jump_length_mm: 0.0,
        scan_time_s: 0.0,
        jump_time_s: 0.0,
        recoat_time_s: 0.0,
        build_time_s: 0.0,
        part_volume_mm3: 0.0,
        part_mass_g: 0.0,
        support_volume_mm3: None,
        support_mass_g: None,
        powder_needed_g: 0.0,
        powder_full_plate_g: 0.0,
        enclosed_cavities: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Applies one print operation to `store`; other ops are ignored. On error `store` is
/// unchanged.
pub fn apply(
    inputs: &Inputs,
    store: &mut PrintStore,
    op: &Op,
    progress: &mut dyn Progress,
) -> Result<(), PrintOpError> {
    match op {
        Op::OrientPrint {
            target,
            iso_hu,
            critical_angle_deg,
            directions,
            weights,
            rank,
            rotate_deg,
        } => {
            check_rotation(*rotate_deg)?;
            let (name, mesh) = surface(inputs, *target, *iso_hu)?;
            require_watertight(&name, &mesh)?;
            let overhang = OverhangParams {
                critical_angle_deg: *critical_angle_deg,
                ..OverhangParams::default()
            };
            let params = OrientParams {
                overhang: overhang.clone(),
                directions: *directions as usize,
                weight_area: weights[0],
                weight_height: weights[1],
                weight_articular: weights[2],
            };
            let marks = inputs.meshes.marks_on(*target, &mesh).map_err(kernel)?;
            progress.report(0, 2);
            let o = orient(&mesh, &marks, &params).map_err(kernel)?;
            let searched = o.ranked.len();
            let ranked: Vec<Candidate> = o.ranked.into_iter().take(RANKING_SHOWN).collect();
            let c = ranked.get(*rank as usize).ok_or(PrintOpError::BadRank {
                rank: *rank,
                have: ranked.len(),
            })?;
            progress.report(1, 2);
            let posed =
                pose_with_rotation(&mesh, &marks, &build_rotation(c, *rotate_deg), &overhang)
                    .map_err(kernel)?;
            machine().check_mesh_fits(&posed.mesh).map_err(kernel)?;
            *store = PrintStore {
                oriented: Some(Oriented {
                    name,
                    target: *target,
                    source_mesh: mesh,
                    mesh: posed.mesh,
                    map: posed.map,
                    ranked,
                    as_given: o.as_given,
                    rank: *rank,
                    rotate_deg: *rotate_deg,
                    critical_angle_deg: *critical_angle_deg,
                    searched,
                    marks,
                }),
                ..PrintStore::default()
            };
        }
        Op::PrintSupports {
            critical_angle_deg,
            spacing_mm,
            tip_radius_mm,
            base_fraction,
            sides,
            penetration_mm,
            articular_clearance_mm,
            min_gap_mm,
            style,
            block,
        } => {
            let o = store.oriented.as_ref().ok_or(PrintOpError::NotOriented)?;
            let params = SupportParams {
                overhang: OverhangParams {
                    critical_angle_deg: *critical_angle_deg,
                    ..OverhangParams::default()
                },
                spacing_mm: *spacing_mm,
                tip_radius_mm: *tip_radius_mm,
                base_fraction: *base_fraction,
                sides: *sides as usize,
                penetration_mm: *penetration_mm,
                articular_clearance_mm: *articular_clearance_mm,
                min_gap_mm: *min_gap_mm,
                style: *style,
                block: block.clone().unwrap_or_default(),
            };
            let result = generate(&o.mesh, &o.marks, &params).map_err(kernel)?;
            store.supports = Some(Supported {
                result,
                style: *style,
                params,
            });
            store.sliced = None;
            // A plate whose sizes carry supports was made with the old ones.
            if store.plate.as_ref().is_some_and(|p| p.with_supports) {
                store.plate = None;
            }
        }
        Op::SlicePrint { scan } => {
            let o = store.oriented.as_ref().ok_or(PrintOpError::NotOriented)?;
            let supports = store.supports.as_ref().map(|s| &s.result.mesh);
            let job = slice_job(file_stem(&o.name), &o.mesh, supports, scan, progress)?;
            store.sliced = Some(job);
        }
        Op::BuildPlate {
            sizes_percent,
            coupons,
            spacing_mm,
            margin_mm,
            machine_mm,
            scan,
            supports,
        } => {
            let o = store.oriented.as_ref().ok_or(PrintOpError::NotOriented)?;
            let support_params = match (supports, &store.supports) {
                (false, _) => None,
                (true, Some(s)) => Some(&s.params),
                (true, None) => return Err(PrintOpError::NoSupports),
            };
            // Check the cheap settings before building and slicing the plate.
            SliceParams {
                layer_um: scan.layer_um,
            }
            .validate()
            .map_err(kernel)?;
            hatch_params(scan).validate().map_err(kernel)?;
            let params = PlateParams {
                sizes_percent: sizes_percent.clone(),
                coupons: *coupons as usize,
                spacing_mm: *spacing_mm,
                margin_mm: *margin_mm,
                machine_mm: *machine_mm,
                lift_mm: 0.0,
                ..PlateParams::default()
            };
            // Each size gets supports made on it with the part's settings and marks (the
            // scaled copies keep the triangles, so the marks apply unchanged).
            let mut support_counts = Vec::new();
            let mut make = |size: &Mesh| -> Result<Option<Mesh>, String> {
                let Some(p) = support_params else {
                    return Ok(None);
                };
                let r = generate(size, &o.marks, p).map_err(|e| e.to_string())?;
                support_counts.push(r.supports.len() + r.walls.len());
                Ok(Some(r.mesh))
            };
            let plate = build_plate_with_supports(&o.mesh, &params, &mut make).map_err(kernel)?;
            let meshes: Vec<&Mesh> = plate.objects.iter().map(|p| &p.mesh).collect();
            let all = crate::mesh::shapes::concat(&meshes);
            let support_meshes: Vec<&Mesh> = plate
                .objects
                .iter()
                .filter_map(|p| p.supports.as_ref())
                .collect();
            let all_supports = crate::mesh::shapes::concat(&support_meshes);
            let job = slice_job(
                "plate".into(),
                &all,
                (!all_supports.triangles.is_empty()).then_some(&all_supports),
                scan,
                progress,
            )?;
            store.plate = Some(Plated {
                plate,
                job,
                with_supports: *supports,
                support_counts,
            });
        }
        _ => {}
    }
    Ok(())
}

/// Machine-instruction bytes of a job.
pub fn export_info(job: &SlicedJob) -> ExportInfo {
    ExportInfo {
        name: job.name.clone(),
        layer_um: job.scan.layer_um,
        hatch: hatch_params(&job.scan),
        outline_tolerance_um: job.scan.outline_tolerance_um,
    }
}

/// Format of [`export_job`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobFormat {
    Gcode,
    CliAscii,
    CliBinary,
}

/// G-code or CLI bytes of a job.
pub fn export_job(
    job: &SlicedJob,
    format: JobFormat,
    progress: &mut dyn Progress,
) -> Result<Vec<u8>, PrintOpError> {
    let scans = scans(job, progress)?;
    let info = export_info(job);
    Ok(match format {
        JobFormat::Gcode => gcode(&scans, &info),
        JobFormat::CliAscii => cli_ascii(&scans, &info),
        JobFormat::CliBinary => cli_binary(&scans, &info),
    })
}

/// SVG of layer `k` of a job.
pub fn export_svg(job: &SlicedJob, k: usize) -> Result<Vec<u8>, PrintOpError> {
    let scan = layer_scan(job, k)?;
    let section = job
        .slices
        .layers
        .get(k)
        .ok_or(PrintOpError::Empty { what: "the layers" })?;
    let sup = job.support_layers.as_ref().and_then(|s| s.get(k));
    Ok(svg_layer(&scan, section, sup, job.view_mm))
}

/// Binary STL of the supports.
pub fn support_stl(s: &Supported) -> Result<Vec<u8>, PrintOpError> {
    crate::mesh::io::write_stl_binary(&s.result.mesh, SUPPORT_STL_HEADER).map_err(kernel)
}

/// The print outputs of a design, after the other outputs (`design::outputs`): the
/// oriented part and its supports (STL, build space), the sliced part's G-code and
/// binary CLI, the plate's 3MF and binary CLI. The G-code of the plate is left out: it
/// runs to hundreds of MB at 30 µm; export it from the Print panel.
pub fn output_files(store: &PrintStore) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let mut none = crate::progress::NoProgress;
    if let Some(o) = &store.oriented {
        let stem = file_stem(&o.name);
        files.push((
            format!("print_{stem}_oriented.stl"),
            crate::mesh::io::write_stl_binary(&o.mesh, MESH_STL_HEADER)
                .map_err(|e| e.to_string())?,
        ));
        if let Some(s) = &store.supports {
            if !s.result.mesh.triangles.is_empty() {
                files.push((
                    format!("print_{stem}_supports.stl"),
                    support_stl(s).map_err(|e| e.to_string())?,
                ));
            }
        }
    }
    if let Some(job) = &store.sliced {
        for (format, ext) in [(JobFormat::Gcode, "gcode"), (JobFormat::CliBinary, "cli")] {
            files.push((
                format!("print_{}.{ext}", job.name),
                export_job(job, format, &mut none).map_err(|e| e.to_string())?,
            ));
        }
    }
    if let Some(p) = &store.plate {
        files.push((
            "print_plate.3mf".into(),
            p.plate.write_3mf().map_err(|e| e.to_string())?,
        ));
        files.push((
            "print_plate.cli".into(),
            export_job(&p.job, JobFormat::CliBinary, &mut none).map_err(|e| e.to_string())?,
        ));
    }
    Ok(files)
}

/// Summary of the print state for the page (no meshes, no layers).
#[derive(Clone, Debug, Serialize)]
pub struct PrintReport {
    pub oriented: Option<OrientedReport>,
    pub supports: Option<SupportsReport>,
    pub sliced: Option<JobReport>,
    pub plate: Option<PlateReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrientedReport {
    pub name: String,
    pub target: MeshRef,
    pub triangles: usize,
    /// Marked articular faces and their area (mm²); the area of them that still looks
    /// down in this orientation, and of them that would need support (mm²).
    pub articular_triangles: usize,
    pub articular_area_mm2: f64,
    pub articular_down_area_mm2: f64,
    pub articular_overhang_area_mm2: f64,
    pub searched: usize,
    pub ranked: Vec<Candidate>,
    pub as_given: Candidate,
    pub rank: u32,
    pub rotate_deg: [f64; 3],
    pub critical_angle_deg: f64,
    pub supported_area_mm2: f64,
    pub height_mm: f64,
    pub size_mm: [f64; 3],
}

#[derive(Clone, Debug, Serialize)]
pub struct SupportsReport {
    pub style: SupportStyle,
    /// Cones, or walls of block supports.
    pub count: usize,
    pub on_plate: usize,
    pub volume_mm3: f64,
    pub contact_area_mm2: f64,
    pub plate_area_mm2: f64,
    pub supported_area_mm2: f64,
    pub triangles: usize,
    /// Contacts left out because they came too close to an articular face.
    pub dropped_near_articular: usize,
    /// The warnings grouped, one line per kind (`SupportResult::warning_summary`).
    pub warning_summary: Vec<String>,
    /// Every warning, one per unsupported region.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct JobReport {
    pub name: String,
    pub layers: usize,
    pub layer_um: f64,
    pub scan: ScanSettings,
    pub zero_area_layers: usize,
    pub estimate: Estimate,
    pub view_mm: [f64; 4],
}

#[derive(Clone, Debug, Serialize)]
pub struct PlateReport {
    pub objects: Vec<String>,
    /// Supports (cones or walls) under each implant size, in plate order (empty when the
    /// sizes carry none).
    pub supports: Vec<usize>,
    pub job: JobReport,
}

fn job_report(j: &SlicedJob) -> JobReport {
    JobReport {
        name: j.name.clone(),
        layers: j.slices.layers.len(),
        layer_um: j.scan.layer_um,
        scan: j.scan.clone(),
        zero_area_layers: j.slices.zero_area_layers.len(),
        estimate: j.estimate.clone(),
        view_mm: j.view_mm,
    }
}

/// The page's summary of `store`.
pub fn report(store: &PrintStore) -> PrintReport {
    PrintReport {
        oriented: store.oriented.as_ref().map(|o| OrientedReport {
            name: o.name.clone(),
            target: o.target,
            triangles: o.mesh.triangle_count(),
            articular_triangles: o.marks.count(),
            articular_area_mm2: crate::print::articular::marked_area_mm2(&o.mesh, &o.marks),
            articular_down_area_mm2: o.map.articular_down_area_mm2,
            articular_overhang_area_mm2: o.map.articular_overhang_area_mm2,
            searched: o.searched,
            ranked: o.ranked.clone(),
            as_given: o.as_given.clone(),
            rank: o.rank,
            rotate_deg: o.rotate_deg,
            critical_angle_deg: o.critical_angle_deg,
            supported_area_mm2: o.map.supported_area_mm2,
            height_mm: o.map.height_mm,
            size_mm: bounding_box(&o.mesh)
                .map(|b| b.extent_mm())
                .unwrap_or_default(),
        }),
        supports: store.supports.as_ref().map(|s| SupportsReport {
            style: s.style,
            count: s.result.supports.len() + s.result.walls.len(),
            on_plate: s.result.supports.iter().filter(|s| s.on_plate).count()
                + s.result.walls.iter().filter(|w| w.on_plate).count(),
            volume_mm3: s.result.volume_mm3,
            contact_area_mm2: s.result.contact_area_mm2,
            plate_area_mm2: s.result.plate_area_mm2,
            supported_area_mm2: s.result.supported_area_mm2,
            triangles: s.result.mesh.triangle_count(),
            dropped_near_articular: s.result.dropped_near_articular,
            warning_summary: s.result.warning_summary(),
            warnings: s.result.warnings(),
        }),
        sliced: store.sliced.as_ref().map(job_report),
        plate: store.plate.as_ref().map(|p| PlateReport {
            objects: p.plate.objects.iter().map(|o| o.name.clone()).collect(),
            supports: p.support_counts.clone(),
            job: job_report(&p.job),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::replay::{apply as replay_apply, Segmentation};
    use crate::design::MirrorPlane;
    use crate::mesh::shapes::{box_with_hole, translated, uv_sphere};
    use crate::progress::NoProgress;

    /// A study with one mesh object: a sphere of radius 6 mm plus a box, mirrored in so
    /// the store holds it (built directly: the op log is the thing under test).
    fn seg_with(mesh: Mesh) -> (Volume<i16>, Segmentation) {
        let ct = Volume {
            dims: [2, 2, 2],
            spacing_mm: [1.0; 3],
            patient_from_voxel: nalgebra::Matrix4::identity(),
            data: vec![0i16; 8],
        };
        let mut seg = Segmentation::empty(&ct);
        let obj = super::super::meshes::MeshObject {
            id: 1,
            name: "left talus (mirrored)".into(),
            colour: [1, 2, 3],
            source: Op::MirrorMesh {
                source: MeshRef::Part(1),
                plane: MirrorPlane::Fitted,
                iso_hu: 720.0,
                registration: None,
            },
            articular: ArticularMarks::none(mesh.triangle_count()),
            mesh,
            report: super::super::meshes::MeshReport {
                triangles: 0,
                vertices: 0,
                volume_mm3: 0.0,
                area_mm2: 0.0,
                stl_sha256: String::new(),
                plane: None,
                registration: None,
                repair: None,
                history: Vec::new(),
            },
        };
        seg.meshes.objects.push(obj);
        seg.meshes.next_id = 2;
        (ct, seg)
    }

    fn orient_op(rank: u32, rotate_deg: [f64; 3]) -> Op {
        Op::OrientPrint {
            target: MeshRef::Mesh(1),
            iso_hu: 720.0,
            critical_angle_deg: 45.0,
            directions: 1000,
            weights: [1.0, 0.5, 100.0],
            rank,
            rotate_deg,
        }
    }

    fn supports_op() -> Op {
        Op::PrintSupports {
            critical_angle_deg: 45.0,
            spacing_mm: 2.0,
            tip_radius_mm: 0.25,
            base_fraction: 0.4,
            sides: 8,
            penetration_mm: 0.1,
            articular_clearance_mm: 0.5,
            min_gap_mm: 0.2,
            style: SupportStyle::Cone,
            block: None,
        }
    }

    fn slice_op(layer_um: f64) -> Op {
        Op::SlicePrint {
            scan: ScanSettings {
                layer_um,
                ..default_scan()
            },
        }
    }

    fn run(ct: &Volume<i16>, seg: &mut Segmentation, ops: &[Op]) {
        for op in ops {
            replay_apply(ct, seg, op, &mut NoProgress).unwrap();
        }
    }

    fn part() -> Mesh {
        translated(&uv_sphere(6.0, 16, 32), [40.0, -10.0, 100.0])
    }

    #[test]
    fn the_print_ops_replay_to_the_same_outputs() {
        let ops = [orient_op(0, [0.0; 3]), supports_op(), slice_op(100.0)];
        let (ct, mut a) = seg_with(part());
        run(&ct, &mut a, &ops);
        let (_, mut b) = seg_with(part());
        run(&ct, &mut b, &ops);
        let fa = output_files(&a.print).unwrap();
        let fb = output_files(&b.print).unwrap();
        let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "print_left_talus__mirrored_oriented.stl",
                "print_left_talus__mirrored_supports.stl",
                "print_left_talus__mirrored.gcode",
                "print_left_talus__mirrored.cli"
            ]
        );
        assert_eq!(fa, fb);
        let r = report(&a.print);
        let s = r.sliced.unwrap();
        // A 12 mm sphere at 100 µm: about 120 layers; the mass is the sphere's.
        assert!((115..=125).contains(&s.layers), "{} layers", s.layers);
        let sphere_g = 4.0 / 3.0 * std::f64::consts::PI * 216.0 * 4.43e-3;
        assert!((s.estimate.part_mass_g - sphere_g).abs() / sphere_g < 0.02);
        assert!(s.estimate.support_mass_g.unwrap() > 0.0);
        assert!(r.supports.unwrap().count > 0);
        assert!(fa[2].1.starts_with(b";"), "G-code starts with a comment");
        assert!(fa[3].1.starts_with(b"$$HEADERSTART"));
    }

    #[test]
    fn layers_hatched_in_runs_are_the_layers_hatched_alone() {
        // Runs of LAYER_RUN layers share one workspace: nothing may carry over from one
        // layer (or the part's section to the supports') to the next.
        let ops = [orient_op(0, [0.0; 3]), supports_op(), slice_op(100.0)];
        let (ct, mut seg) = seg_with(part());
        run(&ct, &mut seg, &ops);
        let job = seg.print.sliced.as_ref().unwrap();
        let n = job.slices.layers.len();
        assert!(n > 3 * LAYER_RUN, "{n} layers");
        let alone: Vec<LayerScan> = (0..n).map(|k| layer_scan(job, k).unwrap()).collect();
        let mut seen = Vec::new();
        let mut progress = |done: usize, total: usize| {
            seen.push((done, total));
            true
        };
        assert_eq!(scans(job, &mut progress).unwrap(), alone);
        // Progress counts layers, one report per batch of runs.
        assert_eq!(seen.first(), Some(&(0, n)));
        assert!(seen
            .iter()
            .all(|&(done, total)| total == n && done < n && done % LAYER_RUN == 0));
        let lengths = scan_lengths(
            &job.slices,
            job.support_layers.as_deref(),
            &job.scan,
            &mut NoProgress,
        )
        .unwrap();
        assert_eq!(lengths.len(), n);
        for (l, a) in lengths.iter().zip(&alone) {
            assert_eq!(l.contour_length_mm.to_bits(), a.contour_length_mm.to_bits());
            assert_eq!(l.hatch_length_mm.to_bits(), a.hatch_length_mm.to_bits());
            assert_eq!(l.jump_length_mm.to_bits(), a.jump_length_mm.to_bits());
            assert!(l.hatches.len() <= 1 && l.contours.iter().all(|c| c.is_empty()));
        }
    }

    #[test]
    fn print_ops_travel_in_a_design_link() {
        use crate::design::{decode_link, encode_link, DesignState, ViewState};
        let design = DesignState {
            study_fingerprint: "ab".repeat(32),
            app_version: "0.1.0".into(),
            ops: vec![
                orient_op(2, [12.5, -90.0, 0.1]),
                supports_op(),
                slice_op(30.0),
                Op::BuildPlate {
                    sizes_percent: vec![95.0, 100.0, 105.0],
                    coupons: 2,
                    spacing_mm: 10.0,
                    margin_mm: 5.0,
                    machine_mm: [250.0, 250.0, 300.0],
                    scan: default_scan(),
                    supports: false,
                },
            ],
            view: ViewState::default(),
        };
        let link = encode_link(&design).unwrap();
        assert_eq!(decode_link(&link).unwrap(), design);
        let json = serde_json::to_string(&design.ops[2]).unwrap();
        assert!(json.contains("\"op\":\"slice_print\""), "{json}");
        // An unknown field is refused, as for every op.
        let bad = json.replace("\"layer_um\"", "\"layer_mm\"");
        assert!(serde_json::from_str::<Op>(&bad).is_err());
    }

    #[test]
    fn block_supports_are_a_pinned_style_of_the_supports_op() {
        let block = Op::PrintSupports {
            critical_angle_deg: 45.0,
            spacing_mm: 2.0,
            tip_radius_mm: 0.25,
            base_fraction: 0.4,
            sides: 8,
            penetration_mm: 0.1,
            articular_clearance_mm: 0.5,
            min_gap_mm: 0.2,
            style: SupportStyle::Block,
            block: Some(crate::print::block_supports::BlockParams::default()),
        };
        let (ct, mut seg) = seg_with(part());
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3]), block.clone()]);
        let r = report(&seg.print).supports.unwrap();
        assert_eq!(r.style, SupportStyle::Block);
        let made = &seg.print.supports.as_ref().unwrap().result;
        assert!(made.supports.is_empty() && !made.walls.is_empty());
        assert_eq!(r.count, made.walls.len());
        // The style and the wall options travel in the op; an op without them (a link
        // written before block supports) reads as cones.
        let json = serde_json::to_string(&block).unwrap();
        assert!(
            json.contains("\"style\":\"block\"") && json.contains("\"wall_mm\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), block);
        let old = serde_json::to_string(&supports_op())
            .unwrap()
            .replace(",\"style\":\"cone\"", "");
        assert!(!old.contains("style"), "{old}");
        assert_eq!(serde_json::from_str::<Op>(&old).unwrap(), supports_op());
    }

    #[test]
    fn a_hand_rotation_changes_the_part_and_a_new_orientation_clears_the_rest() {
        let (ct, mut seg) = seg_with(box_with_hole(20.0, 10.0, 6.0));
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3]), supports_op()]);
        let flat = seg.print.oriented.clone().unwrap();
        assert!(seg.print.supports.is_some());
        run(&ct, &mut seg, &[orient_op(0, [90.0, 0.0, 0.0])]);
        let turned = seg.print.oriented.clone().unwrap();
        assert!(
            seg.print.supports.is_none(),
            "supports of the old pose dropped"
        );
        let h = |o: &Oriented| bounding_box(&o.mesh).unwrap().extent_mm()[2];
        assert!((h(&flat) - h(&turned)).abs() > 1.0);
        let p = preview(&flat, 0, [90.0, 0.0, 0.0]).unwrap();
        assert_eq!(p.mesh, turned.mesh, "the preview is what the op records");
    }

    /// Every vertex of `a` within `tol_mm` of the closed ring `b` (mm).
    fn within(a: &[[f64; 2]], b: &[[f64; 2]], tol_mm: f64) -> bool {
        a.iter().all(|p| {
            (0..b.len()).any(|i| {
                let (u, v) = (b[i], b[(i + 1) % b.len()]);
                let (dx, dy) = (v[0] - u[0], v[1] - u[1]);
                let t = (((p[0] - u[0]) * dx + (p[1] - u[1]) * dy) / (dx * dx + dy * dy))
                    .clamp(0.0, 1.0);
                (p[0] - u[0] - t * dx).hypot(p[1] - u[1] - t * dy) <= tol_mm
            })
        })
    }

    #[test]
    fn the_slice_op_scans_and_exports_the_simplified_outlines() {
        // A finely tessellated sphere (1,200 vertices around): its outlines lose most
        // vertices within 5 µm; what is scanned and exported is the simplified outline.
        let fine = translated(&uv_sphere(6.0, 24, 1200), [40.0, -10.0, 100.0]);
        let sliced = |tol: f64| {
            let (ct, mut seg) = seg_with(fine.clone());
            let op = Op::SlicePrint {
                scan: ScanSettings {
                    layer_um: 100.0,
                    outline_tolerance_um: tol,
                    ..default_scan()
                },
            };
            run(&ct, &mut seg, &[orient_op(0, [0.0; 3]), op]);
            seg.print
        };
        let (raw, simple) = (sliced(0.0), sliced(default_scan().outline_tolerance_um));
        let (a, b) = (
            raw.sliced.as_ref().unwrap(),
            simple.sliced.as_ref().unwrap(),
        );
        assert_eq!(a.slices.layers.len(), b.slices.layers.len());
        let count = |j: &SlicedJob| -> usize {
            j.slices
                .layers
                .iter()
                .flat_map(|l| &l.polygons)
                .map(|p| p.points.len())
                .sum()
        };
        assert!(
            count(b) * 3 < count(a),
            "{} vs {} vertices",
            count(b),
            count(a)
        );
        let tol_mm = default_scan().outline_tolerance_um / 1000.0;
        let k = a.slices.layers.len() / 2;
        let (la, lb) = (&a.slices.layers[k], &b.slices.layers[k]);
        assert_eq!(la.polygons.len(), lb.polygons.len());
        for (pa, pb) in la.polygons.iter().zip(&lb.polygons) {
            assert!(within(&pa.points_mm(), &pb.points_mm(), tol_mm + 1e-9));
            assert!((pa.area_mm2 - pb.area_mm2).abs() <= tol_mm * pa.perimeter_mm());
        }
        // The layer viewer, the SVG and the G-code follow the kept polygons.
        let svg = export_svg(b, k).unwrap();
        assert!(svg.len() < export_svg(a, k).unwrap().len());
        let (ga, gb) = (output_files(&raw).unwrap(), output_files(&simple).unwrap());
        assert_ne!(ga, gb);
        let (ma, mb) = (a.estimate.part_mass_g, b.estimate.part_mass_g);
        assert!((ma - mb).abs() / ma < 1e-3, "{ma} g vs {mb} g");
    }

    #[test]
    fn a_scan_written_before_the_outline_tolerance_keeps_its_outlines_and_bytes() {
        let old = r#"{"layer_um":30.0,"hatch_spacing_um":110.0,"laser_power_w":200.0,"scan_speed_mm_s":1000.0,"contour_count":2,"beam_offset_um":50.0,"chessboard":false,"size_mm":10.0,"rotation_deg":67.0}"#;
        let scan: ScanSettings = serde_json::from_str(old).unwrap();
        assert_eq!(scan.outline_tolerance_um, 0.0);
        assert_eq!(serde_json::to_string(&scan).unwrap(), old);
        let new = serde_json::to_string(&default_scan()).unwrap();
        assert!(new.contains(r#""outline_tolerance_um":5.0"#), "{new}");
        let typo = old.replace("}", r#","outline_tolerance":5.0}"#);
        assert!(serde_json::from_str::<ScanSettings>(&typo).is_err());
    }

    #[test]
    fn bad_parameters_are_refused_and_change_nothing() {
        let (ct, mut seg) = seg_with(part());
        let err = replay_apply(&ct, &mut seg, &slice_op(30.0), &mut NoProgress).unwrap_err();
        assert!(err.to_string().contains("orient the part first"), "{err}");
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3])]);
        let before = seg.print.clone();
        for (op, words) in [
            (slice_op(10.0), "20–100 µm"),
            (slice_op(150.0), "20–100 µm"),
            (
                Op::SlicePrint {
                    scan: ScanSettings {
                        outline_tolerance_um: 25.0,
                        ..default_scan()
                    },
                },
                "outline tolerance 25 µm is outside 0–20 µm",
            ),
            (orient_op(99, [0.0; 3]), "not among"),
            (orient_op(0, [f64::NAN, 0.0, 0.0]), "finite"),
        ] {
            let err = replay_apply(&ct, &mut seg, &op, &mut NoProgress).unwrap_err();
            assert!(err.to_string().contains(words), "{err}");
            assert_eq!(seg.print, before);
        }
        let plate = Op::BuildPlate {
            sizes_percent: vec![95.0, 100.0, 105.0],
            coupons: 2,
            spacing_mm: 10.0,
            margin_mm: 5.0,
            machine_mm: [30.0, 30.0, 30.0],
            scan: default_scan(),
            supports: false,
        };
        assert!(replay_apply(&ct, &mut seg, &plate, &mut NoProgress).is_err());
        assert_eq!(seg.print, before);
    }

    #[test]
    fn an_open_mesh_is_refused_with_where() {
        let mut open = part();
        open.triangles.truncate(open.triangles.len() - 3);
        let (ct, mut seg) = seg_with(open);
        let err = replay_apply(&ct, &mut seg, &orient_op(0, [0.0; 3]), &mut NoProgress)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not watertight"), "{err}");
        assert!(err.contains("e.g. at"), "{err}");
        assert!(seg.print.oriented.is_none());
    }

    fn mark(stroke_mm: Vec<[f64; 3]>, radius_mm: f64, erase: bool) -> Op {
        Op::MarkArticular {
            target: MeshRef::Mesh(1),
            iso_hu: 720.0,
            stroke_mm,
            radius_mm,
            erase,
            runs: None,
        }
    }

    /// Unit normal of triangle `t`.
    fn normal(m: &Mesh, t: usize) -> [f64; 3] {
        crate::print::overhang::normal_and_double_area(&m.corners(t)).0
    }

    #[test]
    fn orient_turns_the_marked_side_of_a_slab_up() {
        // A 30 × 20 × 4 mm slab rests best on a large face. Unmarked, the search puts one
        // large face on the plate; with the bottom face (z = 0 in patient space) marked as
        // joint surface, that face must end up looking up.
        let slab = crate::mesh::shapes::box_mesh([0.0, 0.0, 0.0], [30.0, 20.0, 4.0]);
        let (ct, mut seg) = seg_with(slab);
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3])]);
        let plain = seg.print.oriented.clone().unwrap();
        assert_eq!(plain.marks.count(), 0);
        assert!(plain.ranked[0].height_mm < 4.5, "it lies flat");
        run(&ct, &mut seg, &[mark(vec![[15.0, 10.0, 0.0]], 3.0, false)]);
        let marked = seg.meshes.get(1).unwrap().articular.clone();
        // The brush floods the two triangles of the bottom face only.
        let bottom: Vec<usize> = (0..marked.mask.len()).filter(|&t| marked.mask[t]).collect();
        assert_eq!(bottom.len(), 2, "{bottom:?}");
        let src = &seg.meshes.get(1).unwrap().mesh;
        assert!(bottom.iter().all(|&t| normal(src, t)[2] < -0.99));
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3])]);
        let o = seg.print.oriented.clone().unwrap();
        assert_eq!(
            o.marks, marked,
            "the marks go with the faces into build space"
        );
        for &t in &bottom {
            assert!(normal(&o.mesh, t)[2] > 0.99, "marked face {t} looks up");
        }
        assert!(o.ranked[0].height_mm < 4.5, "still flat, the other way up");
        assert_eq!(o.map.articular_down_area_mm2, 0.0);
        let r = report(&seg.print).oriented.unwrap();
        assert_eq!(r.articular_triangles, 2);
        assert!((r.articular_area_mm2 - 600.0).abs() < 1e-9);
        // The hand-rotation preview keeps the marks too: turned over, they look down.
        let p = preview(&o, 0, [180.0, 0.0, 0.0]).unwrap();
        assert!(p.map.articular_down_area_mm2 > 599.0);
    }

    #[test]
    fn supports_keep_clear_of_marked_faces() {
        use crate::mesh::bvh::Bvh;
        // A sphere with a joint patch marked on its lower side: cone and block supports
        // both leave the patch (and the clearance around it) alone.
        let (ct, mut seg) = seg_with(part());
        let low = [40.0, -10.0 + 2.0, 100.0 - 5.6];
        run(
            &ct,
            &mut seg,
            &[mark(vec![low], 3.0, false), orient_op(0, [0.0; 3])],
        );
        // The search turns the patch up; turned over by hand it looks down at the plate.
        assert_eq!(
            seg.print
                .oriented
                .as_ref()
                .unwrap()
                .map
                .articular_down_area_mm2,
            0.0
        );
        run(&ct, &mut seg, &[orient_op(0, [180.0, 0.0, 0.0])]);
        let o = seg.print.oriented.clone().unwrap();
        assert!(o.map.articular_overhang_area_mm2 > 0.0);
        let n = o.marks.count();
        assert!(n > 0);
        let patch = Bvh::build(&crate::print::articular::lifted_patch(
            &o.mesh, &o.marks, 0.0,
        ))
        .unwrap();
        for style in [SupportStyle::Cone, SupportStyle::Block] {
            let op = Op::PrintSupports {
                critical_angle_deg: 45.0,
                spacing_mm: 1.0,
                tip_radius_mm: 0.25,
                base_fraction: 0.4,
                sides: 8,
                penetration_mm: 0.1,
                articular_clearance_mm: 0.5,
                min_gap_mm: 0.2,
                style,
                block: (style == SupportStyle::Block)
                    .then(crate::print::block_supports::BlockParams::default),
            };
            run(&ct, &mut seg, &[op]);
            let s = &seg.print.supports.as_ref().unwrap().result;
            assert!(!s.mesh.triangles.is_empty(), "{style:?}: supports made");
            let closest = s
                .mesh
                .positions_mm
                .iter()
                .map(|&p| patch.closest_point(p).unwrap().distance_mm)
                .fold(f64::INFINITY, f64::min);
            assert!(
                closest >= 0.5 - 1e-9,
                "{style:?}: a support comes {closest} mm from the marks"
            );
            assert!(s.dropped_near_articular > 0 || !s.unsupported_regions.is_empty());
        }
    }

    #[test]
    fn a_brush_that_misses_the_object_is_refused_and_erase_unmarks() {
        let (ct, mut seg) = seg_with(part());
        let before = seg.meshes.clone();
        let err = replay_apply(
            &ct,
            &mut seg,
            &mark(vec![[0.0, 0.0, 0.0]], 2.0, false),
            &mut NoProgress,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("the brush missed"), "{err}");
        assert_eq!(seg.meshes, before);
        let top = [40.0, -10.0, 106.0];
        run(&ct, &mut seg, &[mark(vec![top], 2.0, false)]);
        assert!(seg.meshes.get(1).unwrap().articular.count() > 0);
        assert!(
            seg.meshes.mark_note.contains("marked"),
            "{}",
            seg.meshes.mark_note
        );
        run(&ct, &mut seg, &[mark(vec![top], 2.5, true)]);
        assert_eq!(seg.meshes.get(1).unwrap().articular.count(), 0);
        run(
            &ct,
            &mut seg,
            &[
                mark(vec![top], 2.0, false),
                Op::ClearArticular {
                    target: MeshRef::Mesh(1),
                },
            ],
        );
        assert_eq!(seg.meshes.get(1).unwrap().articular.count(), 0);
        // Nothing near: a suggestion finds no joint partner and says so.
        let err = replay_apply(
            &ct,
            &mut seg,
            &Op::SuggestArticular {
                target: MeshRef::Mesh(1),
                iso_hu: 720.0,
                max_gap_mm: 3.0,
            },
            &mut NoProgress,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no joint surface"), "{err}");
    }

    #[test]
    fn every_size_on_the_plate_carries_its_supports() {
        let (ct, mut seg) = seg_with(part());
        let plate = |supports| Op::BuildPlate {
            sizes_percent: vec![95.0, 100.0, 105.0],
            coupons: 1,
            spacing_mm: 10.0,
            margin_mm: 5.0,
            machine_mm: [250.0, 250.0, 300.0],
            scan: ScanSettings {
                layer_um: 100.0,
                ..default_scan()
            },
            supports,
        };
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3])]);
        let err = replay_apply(&ct, &mut seg, &plate(true), &mut NoProgress).unwrap_err();
        assert!(err.to_string().contains("press Supports first"), "{err}");
        run(&ct, &mut seg, &[supports_op(), plate(true)]);
        let p = seg.print.plate.clone().unwrap();
        let implants: Vec<_> = p
            .plate
            .objects
            .iter()
            .filter(|o| o.name.starts_with("implant"))
            .collect();
        assert_eq!(implants.len(), 3);
        let part_supports = seg.print.supports.as_ref().unwrap().result.supports.len();
        for (o, &count) in implants.iter().zip(&p.support_counts) {
            let s = o.supports.as_ref().expect("supports under each size");
            let sb = bounding_box(s).unwrap();
            let ob = bounding_box(&o.mesh).unwrap();
            assert!(
                sb.min_mm[2].abs() < 1e-9,
                "{}: supports stand on the plate",
                o.name
            );
            assert!(ob.min_mm[2].abs() < 1e-9);
            // Within the part's footprint (cone feet reach a little past it).
            for k in 0..2 {
                assert!(sb.min_mm[k] > ob.min_mm[k] - 1.0 && sb.max_mm[k] < ob.max_mm[k] + 1.0);
            }
            assert!(
                count.abs_diff(part_supports) * 5 <= part_supports,
                "{count} vs {part_supports}"
            );
        }
        assert!(p
            .plate
            .objects
            .iter()
            .all(|o| o.name.starts_with("implant") == o.supports.is_some()));
        // The supports are sliced with the plate and named in its 3MF.
        let plain = {
            let (ct, mut s2) = seg_with(part());
            run(
                &ct,
                &mut s2,
                &[orient_op(0, [0.0; 3]), supports_op(), plate(false)],
            );
            s2.print.plate.unwrap()
        };
        assert!(plain.plate.objects.iter().all(|o| o.supports.is_none()));
        assert!(p.job.support_layers.is_some() && plain.job.support_layers.is_none());
        assert!(p.job.estimate.support_mass_g.unwrap() > 0.0);
        let r = report(&seg.print).plate.unwrap();
        assert_eq!(r.supports, p.support_counts);
        let threemf = p.plate.write_3mf().unwrap();
        let objects = crate::mesh::io::read_3mf(&threemf).unwrap();
        assert_eq!(
            objects.len(),
            3 + 3 + 1,
            "sizes, their supports and the coupon"
        );
        // New supports drop a plate that carries the old ones.
        run(&ct, &mut seg, &[supports_op()]);
        assert!(seg.print.plate.is_none());
    }

    #[test]
    fn a_plate_holds_three_sizes_and_coupons_and_is_sliced() {
        let (ct, mut seg) = seg_with(part());
        let plate = Op::BuildPlate {
            sizes_percent: vec![95.0, 100.0, 105.0],
            coupons: 2,
            spacing_mm: 10.0,
            margin_mm: 5.0,
            machine_mm: [250.0, 250.0, 300.0],
            scan: ScanSettings {
                layer_um: 100.0,
                ..default_scan()
            },
            supports: false,
        };
        run(&ct, &mut seg, &[orient_op(0, [0.0; 3]), plate]);
        let r = report(&seg.print).plate.unwrap();
        assert_eq!(r.objects.len(), 5);
        // The coupons (~101 mm) set the height.
        assert!(r.job.layers > 900, "{} layers", r.job.layers);
        let files = output_files(&seg.print).unwrap();
        assert!(files
            .iter()
            .any(|(n, b)| n == "print_plate.cli" && b.starts_with(b"$$HEADERSTART")));
    }
}
