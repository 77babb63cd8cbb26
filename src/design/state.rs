//! `DesignState`: everything needed to replay a design on another copy of the same
//! study. It holds parameters, voxel coordinates and settings only — never names, IDs,
//! dates, UIDs or any header text — so it can travel in a URL.

use crate::mesh::register::RegisterParams;
use crate::print::block_supports::BlockParams;
use crate::print::supports::SupportStyle;
use serde::{Deserialize, Serialize};

/// Current schema of [`DesignState`]. Bump it when the meaning of a field changes or a
/// design can hold something an older reader refuses, and add a migration in
/// `link::migrate`. Schema 2 adds the articular-mark ops and supports on the build plate;
/// schema 3 the pinned registration settings, the other smoothing modes, repair and the
/// deviation map; schema 4 the outline tolerance of the scan settings. A design is written
/// with the oldest schema that holds it (`link::schema_needed`), so older apps open what
/// they can replay.
pub const SCHEMA_VERSION: u16 = 4;

/// A design: the study it belongs to, the operations applied to it, and what is on screen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignState {
    /// SHA-256 (hex) of the study's HU volume and geometry (`volume::sha256_hex`).
    pub study_fingerprint: String,
    /// Version of the Osteon that made the design.
    pub app_version: String,
    /// Operations in the order they were applied.
    pub ops: Vec<Op>,
    /// What the author was looking at.
    pub view: ViewState,
}

/// One user operation. Coordinates are voxel indices of the study; HU are Hounsfield units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// The study is the embedded demo phantom generated with this seed.
    OpenDemo { seed: u64 },
    /// The study is a DICOM series the user loads from their own copy.
    LoadSeries,
    /// Bone threshold shown on the slices and used by growing (HU, inclusive).
    SetThreshold { lower_hu: i16, upper_hu: i16 },
    /// Replace all parts by one part per separate bone ("Auto bones").
    AutoBones { lower_hu: i16, upper_hu: i16 },
    /// Region growing from a seed voxel (i, j, k) through unlabelled voxels in the HU range.
    Grow {
        seed: [u32; 3],
        lower_hu: i16,
        upper_hu: i16,
        name: String,
    },
    /// Divide a part in two along the joint between two seeds (watershed on the distance
    /// transform): the first seed's side keeps the label, the second becomes a new part.
    SplitPart { label: u8, seeds: [[u32; 3]; 2] },
    /// Remove a part (its voxels become background).
    DeletePart { label: u8 },
    /// Give a part a new name, e.g. "left talus".
    RenamePart { label: u8, name: String },
    // Manual edits (design::edit_ops). Slice pixels (u, v) are (i, j) on axis 2 (axial),
    // (i, k) on axis 1 (coronal) and (j, k) on axis 0 (sagittal), as in segment::edit.
    /// Paint one brush stroke into part `label` (a new part when `None`): a 2-D circle on
    /// the slice of each stroke point perpendicular to `axis` (0 = i, 1 = j, 2 = k), or a
    /// 3-D sphere when `axis` is `None`; radius in mm. Painting fills background only.
    Paint {
        label: Option<u8>,
        axis: Option<u8>,
        radius_mm: f64,
        stroke: Vec<[u32; 3]>,
    },
    /// Erase one brush stroke from part `label` (same brush as [`Op::Paint`]).
    Erase {
        label: u8,
        axis: Option<u8>,
        radius_mm: f64,
        stroke: Vec<[u32; 3]>,
    },
    /// Fill the inside of a polygon (slice pixels) on slice `index` along `axis` into part
    /// `label` (a new part when `None`); background voxels only.
    LassoFill {
        label: Option<u8>,
        axis: u8,
        index: u32,
        polygon: Vec<[u32; 2]>,
    },
    /// Erase the inside of a polygon on one slice from part `label`.
    LassoErase {
        label: u8,
        axis: u8,
        index: u32,
        polygon: Vec<[u32; 2]>,
    },
    /// Morphological open / close / dilate / erode of part `label` by a ball of `radius_mm`.
    Morphology {
        label: u8,
        kind: Morph,
        radius_mm: f64,
    },
    /// Fill the enclosed cavities of part `label`.
    FillCavities { label: u8 },
    /// Cut part `label` by the plane through `line` (two slice pixels on slice `index`
    /// along `axis`) perpendicular to that slice: the side of pixel `keep` keeps the label,
    /// the other side becomes a new part.
    CutPart {
        label: u8,
        axis: u8,
        index: u32,
        keep: [u32; 2],
        line: [[u32; 2]; 2],
    },
    // Mesh objects (applied by `design::meshes`). A `MeshRef::Part` stands for the part's
    // watertight surface at `iso_hu` (as "Calculate parts" makes it); an op on a part
    // creates a new mesh object, an op on a mesh object changes it in place.
    /// Mirror a surface across the patient's sagittal plane or the fitted symmetry plane,
    /// creating a new mesh object named "<source> (mirrored)".
    MirrorMesh {
        source: MeshRef,
        plane: MirrorPlane,
        iso_hu: f64,
        /// Registration settings of the fitted plane, pinned when the op was made
        /// (`meshes::fitted_plane_settings`); only with [`MirrorPlane::Fitted`]. Links
        /// written before they were pinned carry none and replay with the settings of
        /// that time (`meshes::legacy_register_params`, 20 000 samples).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registration: Option<RegisterParams>,
    },
    /// Rigidly register `moving` onto `fixed` (trimmed point-to-plane ICP); the mesh
    /// objects in `follow` get the same transform (the mirrored talus follows the mirrored
    /// calcaneus onto the affected calcaneus).
    RegisterMesh {
        moving: MeshRef,
        fixed: MeshRef,
        follow: Vec<u32>,
        iso_hu: f64,
        /// Registration settings, pinned when the op was made
        /// (`meshes::register_settings`). Links written before they were pinned carry
        /// none and replay with the settings of that time
        /// (`meshes::legacy_register_params`: trimmed ICP throughout, 60 iterations,
        /// every initial pose searched in full).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registration: Option<RegisterParams>,
    },
    /// Taubin λ/μ smoothing, `iterations` pairs of steps.
    SmoothMesh {
        target: MeshRef,
        iterations: u32,
        lambda: f64,
        mu: f64,
        iso_hu: f64,
    },
    /// Isotropic remesh to a target edge length (mm), refused when the result deviates
    /// more than `max_deviation_mm` from the input.
    RemeshMesh {
        target: MeshRef,
        target_edge_mm: f64,
        max_deviation_mm: f64,
        iso_hu: f64,
    },
    /// Quadric decimation down to `target_triangles`, each collapse within
    /// `max_deviation_mm` of the input surface.
    DecimateMesh {
        target: MeshRef,
        target_triangles: u32,
        max_deviation_mm: f64,
        iso_hu: f64,
    },
    /// Remove a mesh object.
    DeleteMesh { id: u32 },
    /// Smoothing other than Taubin's whole-surface filter ([`Smoothing`], `mesh::smooth`).
    SmoothMeshBy {
        target: MeshRef,
        iso_hu: f64,
        method: Smoothing,
    },
    /// Check and repair a surface (`mesh::repair`): weld vertices closer than
    /// `weld_tolerance_mm`, drop degenerate and duplicate triangles, make the winding
    /// consistent and outward, fill holes of at most `max_hole_edges` edges, drop unused
    /// vertices. The report keeps the check before and after.
    RepairMesh {
        target: MeshRef,
        iso_hu: f64,
        weld_tolerance_mm: f64,
        max_hole_edges: u32,
    },
    /// Deviation map: the signed distance of every vertex of `measured` to `reference`
    /// (mm; + outside), with mean, RMS and maximum (`mesh::distance`). Changes no
    /// surface; the design keeps the last comparison (shown in the 3-D view, written
    /// as `deviation.csv`).
    CompareMeshes {
        measured: MeshRef,
        reference: MeshRef,
        iso_hu: f64,
    },
    // Articular-surface marks (applied by `design::marks`): the faces of a part's surface
    // or of a mesh object that belong to a joint surface, which printing keeps facing up
    // and free of supports. Marks belong to the surface's faces: they move with a mesh
    // object (register) and are carried onto what is made from it (mirror, smooth, remesh,
    // decimate, orient).
    /// Mark (or, with `erase`, unmark) the faces a brush of `radius_mm` touches along
    /// `stroke_mm`: points on the surface in patient mm, where the surface was when the
    /// stroke was made (`print::articular::brush_stroke`).
    MarkArticular {
        target: MeshRef,
        iso_hu: f64,
        stroke_mm: Vec<[f64; 3]>,
        radius_mm: f64,
        erase: bool,
        /// Lengths of the stroke's runs: the points of a run are joined by segments the
        /// brush sweeps along; a run ends where the drag left the surface. Links written
        /// before polylines carry none: each point is a dab of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        runs: Option<Vec<u32>>,
    },
    /// Add marks where the surface looks at another part or mesh object across at most
    /// `max_gap_mm`: the joint contact areas (`print::articular::contact`).
    SuggestArticular {
        target: MeshRef,
        iso_hu: f64,
        max_gap_mm: f64,
    },
    /// Remove every articular mark of a surface.
    ClearArticular { target: MeshRef },
    // Print preparation (applied by `design::print_ops`). Every parameter that shapes a
    // result is written in the op, so a later change of a default does not change how an
    // existing link replays. Build space: mm, +z up from the plate.
    /// Orient a part's surface or a mesh object for printing: search `directions` build
    /// directions (`print::orient`), take the candidate at `rank` (0 = best), then turn the
    /// part by `rotate_deg` about the build x, y, z axes (the user's hand rotation).
    /// Replaces any earlier print preparation.
    OrientPrint {
        target: MeshRef,
        iso_hu: f64,
        critical_angle_deg: f64,
        directions: u32,
        /// Weights of supported area, height and articular area (`print::orient`).
        weights: [f64; 3],
        rank: u32,
        rotate_deg: [f64; 3],
    },
    /// Cone supports (`print::supports`) under the oriented part.
    PrintSupports {
        critical_angle_deg: f64,
        spacing_mm: f64,
        tip_radius_mm: f64,
        base_fraction: f64,
        sides: u32,
        penetration_mm: f64,
        articular_clearance_mm: f64,
        min_gap_mm: f64,
        /// Cone or block supports; links written before block supports carry none (cone).
        #[serde(default)]
        style: SupportStyle,
        /// Block-support options, pinned when `style` is block.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block: Option<BlockParams>,
    },
    /// Slice and hatch the oriented part (and its supports, when made).
    SlicePrint { scan: ScanSettings },
    /// Build job: the oriented part in `sizes_percent` (by volume) plus `coupons` tensile
    /// coupons on one plate (`print::plate`), sliced with `scan`.
    BuildPlate {
        sizes_percent: Vec<f64>,
        coupons: u32,
        spacing_mm: f64,
        margin_mm: f64,
        machine_mm: [f64; 3],
        scan: ScanSettings,
        /// Each implant size carries its own supports, made with the settings of the
        /// supports op on the placed size. Links written before this carry none.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        supports: bool,
    },
}

/// Slicing and laser settings of [`Op::SlicePrint`] and [`Op::BuildPlate`] (µm, W, mm/s,
/// degrees as named).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    pub layer_um: f64,
    pub hatch_spacing_um: f64,
    pub laser_power_w: f64,
    pub scan_speed_mm_s: f64,
    pub contour_count: u32,
    pub beam_offset_um: f64,
    /// Stripes `size_mm` wide, or a chessboard of `size_mm` squares.
    pub chessboard: bool,
    pub size_mm: f64,
    /// Turn of the hatch direction per layer (degrees).
    pub rotation_deg: f64,
    /// Douglas–Peucker tolerance of the layer outlines before contouring and hatching
    /// (µm, 0–20; `print::simplify`). Links written before it carry none: 0, the
    /// outlines as sliced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub outline_tolerance_um: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// A smoothing mode of [`Op::SmoothMeshBy`] (`mesh::smooth`). In JSON
/// `{"laplacian": {"iterations": 10, "lambda": 0.5}}` and so on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Smoothing {
    /// Uniform Laplacian steps (shrinks a closed surface; `mesh::smooth::laplacian`).
    Laplacian { iterations: u32, lambda: f64 },
    /// Each vertex becomes the exp(−d²/2σ²)-weighted mean of the vertices within 2σ
    /// (`mesh::smooth::gaussian`).
    Gaussian { sigma_mm: f64, iterations: u32 },
    /// Flatten osteophyte-like prominences higher than `threshold_mm` above a smoothed
    /// reference and keep every other vertex within `tolerance_mm` of where it was
    /// (`mesh::smooth::flatten_prominences`).
    Flatten {
        threshold_mm: f64,
        tolerance_mm: f64,
        reference_iterations: u32,
        rounds: u32,
        step: f64,
    },
    /// Taubin λ/μ smoothing inside a brush of `radius_mm` dragged along `stroke_mm`
    /// (points on the surface, patient mm), fading to nothing at the brush edge
    /// (`mesh::smooth::smooth_stroke`).
    Brush {
        stroke_mm: Vec<[f64; 3]>,
        radius_mm: f64,
        iterations: u32,
        lambda: f64,
        mu: f64,
    },
}

/// A surface a mesh operation reads: a part's surface (by label) or a mesh object (by id).
/// In JSON `{"part": 3}` or `{"mesh": 1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeshRef {
    Part(u8),
    Mesh(u32),
}

/// Plane of [`Op::MirrorMesh`]. In JSON `{"sagittal": {"x_mm": 0.0}}` or `"fitted"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorPlane {
    /// The sagittal plane x = `x_mm` (patient LPS mm).
    Sagittal { x_mm: f64 },
    /// The patient's mid-sagittal plane fitted to all parts' surfaces
    /// (`mesh::symmetry`).
    Fitted,
}

impl Op {
    /// True for the operations on mesh objects and the print operations: they never change
    /// the label volume.
    pub fn is_mesh_op(&self) -> bool {
        matches!(
            self,
            Op::MirrorMesh { .. }
                | Op::RegisterMesh { .. }
                | Op::SmoothMesh { .. }
                | Op::RemeshMesh { .. }
                | Op::DecimateMesh { .. }
                | Op::DeleteMesh { .. }
                | Op::SmoothMeshBy { .. }
                | Op::RepairMesh { .. }
                | Op::CompareMeshes { .. }
        ) || self.is_print_op()
            || self.is_mark_op()
    }

    /// True for the articular-mark operations (`design::marks`).
    pub fn is_mark_op(&self) -> bool {
        matches!(
            self,
            Op::MarkArticular { .. } | Op::SuggestArticular { .. } | Op::ClearArticular { .. }
        )
    }

    /// True for the print-preparation operations (`design::print_ops`).
    pub fn is_print_op(&self) -> bool {
        matches!(
            self,
            Op::OrientPrint { .. }
                | Op::PrintSupports { .. }
                | Op::SlicePrint { .. }
                | Op::BuildPlate { .. }
        )
    }
}

/// Morphological operation of [`Op::Morphology`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Morph {
    /// Erode then dilate: removes spurs and bridges thinner than about twice the radius.
    Open,
    /// Dilate then erode: closes gaps narrower than about twice the radius.
    Close,
    /// Grow into the background by the radius.
    Dilate,
    /// Shrink by the radius.
    Erode,
}

/// The view both parties of a design call should see.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewState {
    /// Crosshair voxel (i, j, k).
    pub cursor: [u32; 3],
    /// Window centre and width in HU.
    pub window_hu: [f64; 2],
    /// 3-D camera: yaw and pitch in degrees, zoom factor.
    pub orbit: [f64; 3],
    /// Opacity (0…1) of parts in the 3-D view, as (label, opacity); parts not listed are
    /// opaque. Absent in links made before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_opacity: Vec<(u8, f64)>,
    /// Clipping plane of the 3-D view, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<ClipPlane>,
    /// Distance annotations drawn on the slices, so both parties see the same marks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
    /// Presenter mode: large labels and controls for a design call on a shared screen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub presenter: bool,
}

/// A distance annotation between two voxels, drawn on slice `index` of `plane`
/// (0 axial, 1 coronal, 2 sagittal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub plane: u8,
    pub index: u32,
    pub a: [u32; 3],
    pub b: [u32; 3],
}

/// A clipping plane of the 3-D view, perpendicular to a patient axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipPlane {
    /// Patient axis of the plane's normal: 0 = L-R (x), 1 = A-P (y), 2 = S-I (z), LPS.
    pub axis: u8,
    /// Position of the plane along that axis, patient mm.
    pub position_mm: f64,
    /// False keeps the side towards +axis (left, posterior, superior); true the other.
    pub flip: bool,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            cursor: [0; 3],
            window_hu: [400.0, 1800.0],
            orbit: [25.0, 20.0, 1.0],
            part_opacity: Vec::new(),
            clip: None,
            measurements: Vec::new(),
            presenter: false,
        }
    }
}
