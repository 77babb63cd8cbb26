//! Benchmark kernels shared by `osteon bench` (native) and the browser bench page
//! (wasm), so both time exactly the same work on the same generated inputs.
//!
//! The kernel list lives here once ([`KERNELS`]); the CLI, the bench page, the peer data
//! files and `scripts/bench.sh` all read it from here.
//!
//! Inputs: *volume kernels* run on a demo phantom of the requested size with the default
//! field of view (224 × 160 × 128 mm), so a finer grid means more voxels over the same
//! anatomy — e.g. 512 × 512 × 300 is 0.44 × 0.31 × 0.43 mm voxels. *Mesh kernels* use
//! fixed meshes whatever the size (an icosphere of 1.3 M triangles; the talus surfaces of
//! the [`MESH_STUDY_SIZE`] study, ≈ 120 k triangles and ≈ 60 k vertices, the scale of a
//! clinical CT talus), so their figures compare across sizes and with the peers.
//!
//! The clock is passed in (`now_ms`): this layer stays free of `std::time`, which does
//! not exist on wasm32.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use crate::demo::{self, DemoParams, DemoStudy};
use crate::dicom::{self, FileBytes, ReadOptions, WriteMeta};
use crate::mesh::Mesh;
use crate::mpr::{self, Plane};
use crate::progress::NoProgress;
use crate::surface::mc::{label_surface, label_surfaces, mask_surface, McParams};
use crate::surface::preview::{iso_surface_preview, PreviewParams};
use serde::Serialize;

/// One benchmark kernel.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Kernel {
    pub name: &'static str,
    /// What one run does, for tables.
    pub what: &'static str,
    /// True when the work scales with the volume size (reported in the growth study).
    pub volume: bool,
}

const fn k(name: &'static str, what: &'static str, volume: bool) -> Kernel {
    Kernel { name, what, volume }
}

/// Every kernel, in the order they run.
pub const KERNELS: &[Kernel] = &[
    k("demo_generate", "phantom CT + truth labels", true),
    k(
        "dicom_read",
        "series decode: DICOM files -> HU volume + QA",
        true,
    ),
    k("surface_preview", "3-D preview iso-surface (step 2)", true),
    k("mpr_slice", "one axial RGBA slice", false),
    k(
        "threshold_components",
        "226 HU threshold + 6-connected components",
        true,
    ),
    k(
        "region_grow",
        "grow from a right talus seed (6-conn.)",
        true,
    ),
    k("auto_bones", "Auto bones: every bone its own part", true),
    k(
        "mc_one_bone",
        "marching cubes of the right talus at 720 HU",
        true,
    ),
    k("talus_pipeline", "CT files -> grow -> talus mesh", true),
    k(
        "pipeline_bones_meshed",
        "CT drop -> all bones meshed: decode, Auto bones, marching cubes of every bone",
        true,
    ),
    k(
        "pipeline_build",
        "CT drop -> sliced three-size build: bones meshed, mirror the left talus, \
         95/100/105 % plate, slice at 30 µm, hatch",
        true,
    ),
    k(
        "volume_area",
        "volume + area of a 1.3 M-triangle sphere",
        false,
    ),
    k("taubin_20", "Taubin 20 iterations, 1.3 M triangles", false),
    k("remesh_iso", "isotropic remesh of the talus surface", false),
    k("decimate_qem", "QEM decimation of the talus to 10 %", false),
    k(
        "icp_mirrored_talus",
        "register mirrored left talus (pose search + ICP)",
        false,
    ),
    k(
        "icp_refine",
        "point-to-plane ICP of the mirrored talus from identity (no pose search)",
        false,
    ),
    k(
        "icp_refine_untrimmed",
        "icp_refine with nothing trimmed (open3d's objective: every pair is within its 5 mm)",
        false,
    ),
    k(
        "link_roundtrip",
        "design link encode + decode, 200 ops",
        false,
    ),
    k(
        "slice_multiplane",
        "sweep-plane slicing of the talus at 50 µm (closed polygons)",
        false,
    ),
    k(
        "hatch_all",
        "contours + stripe hatches of every 50 µm talus layer",
        false,
    ),
    k(
        "orient_search",
        "build-orientation search of the talus (2,000 directions)",
        false,
    ),
    k(
        "articular_contact",
        "joint surfaces of the talus: faces within 3 mm of its tibia, fibula, calcaneus, navicular",
        false,
    ),
];

/// Names of every kernel.
pub fn kernel_names() -> Vec<&'static str> {
    KERNELS.iter().map(|k| k.name).collect()
}

/// Sizes of the cost-growth study (voxels along x, y, z).
/// The last is the pipeline targets' study size, so the growth ends at the table's size.
pub const GROWTH_SIZES: &[[usize; 3]] = &[[128, 128, 128], [256, 256, 256], [512, 512, 400]];

/// The size `osteon bench` and `scripts/bench.sh` use unless told otherwise (the
/// pipeline targets are set for a 512 × 512 × 400 study).
pub const DEFAULT_SIZE: [usize; 3] = [512, 512, 400];

/// Study whose talus surfaces are the fixed inputs of the mesh kernels (kept at 300
/// slices whatever the bench size, so mesh figures compare across runs).
pub const MESH_STUDY_SIZE: [usize; 3] = [512, 512, 300];

/// Layer thickness of `pipeline_build`, µm.
pub const BUILD_LAYER_UM: f64 = 30.0;

/// Iso-level of the bone surfaces (half-way soft tissue → cortex), HU.
pub const BONE_ISO_HU: f64 = 720.0;
/// Target of `decimate_qem`, as a fraction of the input triangles.
pub const DECIMATE_FRACTION: f64 = 0.1;
/// Rounds of `remesh_iso` (also given to the peer).
pub const REMESH_ITERATIONS: usize = 5;

/// Deviation bound of `remesh_iso` (mm): generous, so the bound never stops the run.
pub const REMESH_MAX_DEVIATION_MM: f64 = 1.0;

/// Parses "512x512x300" (also "512×512×300").
pub fn parse_size(s: &str) -> Result<[usize; 3], String> {
    let parts: Vec<&str> = s.split(['x', '×', 'X']).collect();
    let bad = || format!("size '{s}' must be three whole numbers like 512x512x300");
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut d = [0usize; 3];
    for (a, p) in parts.iter().enumerate() {
        d[a] = p.trim().parse().map_err(|_| bad())?;
        if !(2..=4096).contains(&d[a]) {
            return Err(format!("size '{s}': each dimension must be 2…4096"));
        }
    }
    Ok(d)
}

/// Phantom parameters for `dims`: the default study when `dims` is its size, otherwise
/// the same field of view on a `dims` grid.
pub fn study_params(dims: [usize; 3]) -> DemoParams {
    let d = DemoParams::default();
    if dims == d.dims {
        return d;
    }
    let spacing_mm = [0, 1, 2].map(|a| d.dims[a] as f64 * d.spacing_mm[a] / dims[a] as f64);
    DemoParams {
        dims,
        spacing_mm,
        ..d
    }
}

/// Timing of one kernel.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub kernel: String,
    pub median_ms: f64,
    pub min_ms: f64,
    pub runs: usize,
    /// Voxels, triangles or points processed per run.
    pub items: u64,
    /// Millions of items per second at the median.
    pub mitems_per_s: f64,
    pub input: String,
    /// Per-step medians of a pipeline kernel (empty for the others).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepTime>,
}

/// Median time of one step of a pipeline kernel over the timed runs.
#[derive(Clone, Debug, Serialize)]
pub struct StepTime {
    pub step: String,
    pub median_ms: f64,
}

/// Fixed meshes of the mesh kernels (see the module docs).
pub struct MeshInputs {
    /// Icosphere, r = 50 mm, 8 subdivisions (1 310 720 triangles).
    pub sphere: Mesh,
    /// Right talus of the [`MESH_STUDY_SIZE`] study at [`BONE_ISO_HU`].
    pub talus: Mesh,
    /// Left talus of the [`MESH_STUDY_SIZE`] study mirrored across the sagittal mid-plane.
    pub mirrored_talus: Mesh,
    /// The right talus's joint partners (tibia, fibula, calcaneus, navicular).
    pub talus_neighbours: Vec<Mesh>,
}

/// Inputs of every kernel for one size, made on first use and kept.
pub struct Bench {
    params: DemoParams,
    study: Option<DemoStudy>,
    series: Option<Vec<(String, Vec<u8>)>>,
    meshes: Option<MeshInputs>,
}

/// Surface of the named bone of `study` at [`BONE_ISO_HU`] (truth labels).
pub fn bone_surface(study: &DemoStudy, name: &str) -> Result<Mesh, String> {
    let label = study
        .bones
        .iter()
        .find(|b| b.name == name)
        .map(|b| b.label)
        .ok_or_else(|| format!("the demo study has no bone named '{name}'"))?;
    label_surface(
        &study.ct,
        &study.labels,
        label,
        &McParams {
            iso_hu: BONE_ISO_HU,
        },
    )
    .map_err(|e| e.to_string())
}

/// Voxel inside the right talus: the seed of `region_grow` and `talus_pipeline`.
pub fn talus_seed(study: &DemoStudy) -> [usize; 3] {
    demo::bone_centre_voxel(study, "right talus").unwrap_or(study.ct.dims.map(|n| n / 2))
}

/// Mean edge length of a mesh (mm): the target of `remesh_iso`, so the result keeps
/// about the input's triangle count.
pub fn mean_edge_mm(mesh: &Mesh) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for t in &mesh.triangles {
        for e in 0..3 {
            let (a, b) = (
                mesh.positions_mm[t[e] as usize],
                mesh.positions_mm[t[(e + 1) % 3] as usize],
            );
            sum += ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

fn series_of(ct: &crate::volume::Volume<i16>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let meta = WriteMeta {
        description: demo::DEMO_DESCRIPTION.into(),
        kvp: demo::DEMO_KVP,
        seed_uid_root: "2.25.7".into(),
    };
    dicom::write_ct_series(ct, &meta).map_err(|e| e.to_string())
}

fn file_bytes(files: &[(String, Vec<u8>)]) -> Vec<FileBytes<'_>> {
    files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect()
}

/// Decodes the first series of a scan.
fn read_scanned(
    bytes: &[FileBytes],
    scan: &dicom::Scan,
) -> Result<crate::volume::Volume<i16>, String> {
    dicom::read_series(bytes, scan, 0, &ReadOptions::default(), &mut NoProgress)
        .map(|s| s.volume)
        .map_err(|e| e.to_string())
}

fn read(files: &[(String, Vec<u8>)]) -> Result<crate::volume::Volume<i16>, String> {
    let bytes = file_bytes(files);
    read_scanned(&bytes, &dicom::scan(&bytes))
}

impl Bench {
    /// Inputs for a study of `dims` voxels (nothing is generated yet).
    pub fn new(dims: [usize; 3]) -> Bench {
        Bench {
            params: study_params(dims),
            study: None,
            series: None,
            meshes: None,
        }
    }

    pub fn params(&self) -> &DemoParams {
        &self.params
    }

    /// The phantom of this size.
    pub fn study(&mut self) -> &DemoStudy {
        let p = &self.params;
        self.study.get_or_insert_with(|| demo::generate(p))
    }

    /// The phantom written as an in-memory DICOM series (input of `dicom_read`).
    pub fn series(&mut self) -> Result<&[(String, Vec<u8>)], String> {
        if self.series.is_none() {
            let files = series_of(&self.study().ct)?;
            self.series = Some(files);
        }
        Ok(self.series.as_deref().unwrap_or_default())
    }

    /// The fixed meshes of the mesh kernels.
    pub fn meshes(&mut self) -> Result<&MeshInputs, String> {
        if self.meshes.is_none() {
            let default = study_params(MESH_STUDY_SIZE);
            let owned;
            let study = if self.params == default {
                self.study()
            } else {
                owned = demo::generate(&default);
                &owned
            };
            let talus = bone_surface(study, "right talus")?;
            let left = bone_surface(study, "left talus")?;
            let talus_neighbours = ["tibia", "fibula", "calcaneus", "navicular"]
                .iter()
                .map(|b| bone_surface(study, &format!("right {b}")))
                .collect::<Result<Vec<_>, _>>()?;
            self.meshes = Some(MeshInputs {
                sphere: crate::mesh::shapes::ico_sphere(50.0, 8),
                talus,
                mirrored_talus: crate::mesh::mirror::mirror_sagittal(&left),
                talus_neighbours,
            });
        }
        self.meshes
            .as_ref()
            .ok_or_else(|| "mesh inputs missing".to_string())
    }

    /// Runs `kernel` `runs` times after one warm-up, timing each run with `now_ms`.
    pub fn run(
        &mut self,
        kernel: &str,
        runs: usize,
        now_ms: &mut dyn FnMut() -> f64,
    ) -> Result<BenchResult, String> {
        let runs = runs.max(1);
        if let Some(build) = match kernel {
            "pipeline_bones_meshed" => Some(false),
            "pipeline_build" => Some(true),
            _ => None,
        } {
            return self.run_pipeline(kernel, build, runs, now_ms);
        }
        let p = self.params.clone();
        let voxels = (p.dims[0] * p.dims[1] * p.dims[2]) as u64;
        let vol_input = format!(
            "{}x{}x{} phantom ({:.3}x{:.3}x{:.3} mm)",
            p.dims[0], p.dims[1], p.dims[2], p.spacing_mm[0], p.spacing_mm[1], p.spacing_mm[2]
        );
        let mut times = Vec::with_capacity(runs);
        let mut failure: Option<String> = None;
        // Runs `f` once to warm up, then `runs` timed times; the first error stops it.
        let mut time = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<(), String> {
            f()?;
            for _ in 0..runs {
                let t0 = now_ms();
                f()?;
                times.push(now_ms() - t0);
            }
            Ok(())
        };
        let (items, input) = match kernel {
            "demo_generate" => {
                time(&mut || {
                    std::hint::black_box(demo::generate(&p));
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "dicom_read" => {
                let files = self.series()?;
                time(&mut || read(files).map(|v| drop(std::hint::black_box(v))))?;
                (voxels, format!("{} files of the {vol_input}", files.len()))
            }
            "surface_preview" => {
                let study = self.study();
                time(&mut || {
                    std::hint::black_box(iso_surface_preview(&study.ct, &PreviewParams::default()));
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "mpr_slice" => {
                let study = self.study();
                let mut out = Vec::new();
                let kz = p.dims[2] / 2;
                time(&mut || {
                    mpr::render_slice_rgba(&study.ct, Plane::Axial, kz, mpr::BONE, None, &mut out);
                    std::hint::black_box(&out);
                    Ok(())
                })?;
                ((p.dims[0] * p.dims[1]) as u64, vol_input)
            }
            "threshold_components" => {
                use crate::segment::components::label_components;
                use crate::segment::threshold::{threshold, ThresholdParams};
                let study = self.study();
                time(&mut || {
                    let mask = threshold(&study.ct, &ThresholdParams::default())
                        .map_err(|e| e.to_string())?;
                    std::hint::black_box(label_components(
                        &mask,
                        crate::segment::Connectivity::Six,
                    ));
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "region_grow" => {
                use crate::segment::grow::{grow, GrowParams};
                let study = self.study();
                let seed = talus_seed(study).map(|c| c as i64);
                time(&mut || {
                    let m =
                        grow(&study.ct, seed, &GrowParams::default()).map_err(|e| e.to_string())?;
                    std::hint::black_box(m);
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "auto_bones" => {
                use crate::segment::auto::{auto_bones, AutoParams};
                let study = self.study();
                time(&mut || {
                    let a = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress)
                        .map_err(|e| e.to_string())?;
                    std::hint::black_box(a);
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "mc_one_bone" => {
                let study = self.study();
                let label = study
                    .bones
                    .iter()
                    .find(|b| b.name == "right talus")
                    .map(|b| b.label)
                    .unwrap_or(1);
                let params = McParams {
                    iso_hu: BONE_ISO_HU,
                };
                // The bone's mask is made outside the timing, as the peer's crop is.
                let mask = crate::segment::BitMask::from_label(&study.labels, label);
                time(&mut || {
                    let m = mask_surface(&study.ct, &mask, &params).map_err(|e| e.to_string())?;
                    std::hint::black_box(m);
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "talus_pipeline" => {
                use crate::segment::grow::{grow, GrowParams};
                let seed = talus_seed(self.study()).map(|c| c as i64);
                let files = self.series()?;
                let params = McParams {
                    iso_hu: BONE_ISO_HU,
                };
                time(&mut || {
                    let ct = read(files)?;
                    let mask =
                        grow(&ct, seed, &GrowParams::default()).map_err(|e| e.to_string())?;
                    let mesh = mask_surface(&ct, &mask, &params).map_err(|e| e.to_string())?;
                    std::hint::black_box(mesh);
                    Ok(())
                })?;
                (voxels, vol_input)
            }
            "slice_multiplane" => {
                let mesh = &self.meshes()?.talus;
                let params = crate::print::slice::SliceParams { layer_um: 50.0 };
                time(&mut || {
                    let slices =
                        crate::print::slice::slice(mesh, &params).map_err(|e| e.to_string())?;
                    std::hint::black_box(slices);
                    Ok(())
                })?;
                (mesh.triangles.len() as u64, tri_input("talus", mesh))
            }
            "hatch_all" => {
                let mesh = &self.meshes()?.talus;
                let slices = crate::print::slice::slice(
                    mesh,
                    &crate::print::slice::SliceParams { layer_um: 50.0 },
                )
                .map_err(|e| e.to_string())?;
                let params = crate::print::hatch::HatchParams::default();
                time(&mut || {
                    let scans = crate::print::hatch::hatch_all(&slices, &params)
                        .map_err(|e| e.to_string())?;
                    std::hint::black_box(scans);
                    Ok(())
                })?;
                (
                    slices.layers.len() as u64,
                    format!("{} talus layers at 50 µm", slices.layers.len()),
                )
            }
            "orient_search" => {
                use crate::print::orient::{orient, OrientParams};
                use crate::print::overhang::ArticularMarks;
                let mesh = &self.meshes()?.talus;
                let marks = ArticularMarks::none(mesh.triangle_count());
                time(&mut || {
                    let o = orient(mesh, &marks, &OrientParams::default())
                        .map_err(|e| e.to_string())?;
                    std::hint::black_box(o);
                    Ok(())
                })?;
                (mesh.triangles.len() as u64, tri_input("talus", mesh))
            }
            "articular_contact" => {
                let m = self.meshes()?;
                let neighbours: Vec<&Mesh> = m.talus_neighbours.iter().collect();
                time(&mut || {
                    let c = crate::print::articular::contact(&m.talus, &neighbours, 3.0)
                        .map_err(|e| e.to_string())?;
                    std::hint::black_box(c);
                    Ok(())
                })?;
                (m.talus.triangles.len() as u64, tri_input("talus", &m.talus))
            }
            "volume_area" => {
                let mesh = &self.meshes()?.sphere;
                time(&mut || {
                    let va =
                        crate::mesh::measure::volume_and_area(mesh).map_err(|e| e.to_string())?;
                    std::hint::black_box(va);
                    Ok(())
                })?;
                (mesh.triangles.len() as u64, tri_input("icosphere", mesh))
            }
            "taubin_20" => {
                let mesh = &self.meshes()?.sphere;
                let params = crate::mesh::smooth::TaubinParams::default();
                time(&mut || {
                    std::hint::black_box(crate::mesh::smooth::taubin(mesh, &params));
                    Ok(())
                })?;
                (mesh.triangles.len() as u64, tri_input("icosphere", mesh))
            }
            "remesh_iso" => {
                use crate::mesh::remesh::{remesh, RemeshParams};
                let mesh = &self.meshes()?.talus;
                let params = RemeshParams {
                    target_edge_mm: mean_edge_mm(mesh),
                    iterations: REMESH_ITERATIONS,
                    max_deviation_mm: REMESH_MAX_DEVIATION_MM,
                    ..RemeshParams::default()
                };
                time(&mut || {
                    let r = remesh(mesh, &params).map_err(|e| e.to_string())?;
                    std::hint::black_box(r);
                    Ok(())
                })?;
                (
                    mesh.triangles.len() as u64,
                    format!(
                        "{}, target edge {:.3} mm",
                        tri_input("talus", mesh),
                        params.target_edge_mm
                    ),
                )
            }
            "decimate_qem" => {
                use crate::mesh::decimate::{decimate, DecimateParams};
                let mesh = &self.meshes()?.talus;
                let params = DecimateParams {
                    target_triangles: (mesh.triangles.len() as f64 * DECIMATE_FRACTION) as usize,
                    ..DecimateParams::default()
                };
                time(&mut || {
                    let r = decimate(mesh, &params).map_err(|e| e.to_string())?;
                    std::hint::black_box(r);
                    Ok(())
                })?;
                (mesh.triangles.len() as u64, tri_input("talus", mesh))
            }
            "icp_mirrored_talus" => {
                use crate::mesh::register::{register, RegisterParams};
                let m = self.meshes()?;
                let params = RegisterParams::default();
                let mut last = None;
                time(&mut || {
                    let r = register(&m.talus, &m.mirrored_talus, &params)
                        .map_err(|e| e.to_string())?;
                    last = Some(r);
                    Ok(())
                })?;
                let n = every_nth(&m.mirrored_talus.positions_mm, params.max_samples).len();
                (
                    n as u64,
                    format!(
                        "{n} moving samples onto {} fixed vertices; {}",
                        m.talus.positions_mm.len(),
                        icp_summary(last.as_ref())
                    ),
                )
            }
            "icp_refine" | "icp_refine_untrimmed" => {
                let m = self.meshes()?;
                let params = icp_refine_params(kernel == "icp_refine_untrimmed");
                let mut last = None;
                time(&mut || {
                    last = Some(icp_refine(m, &params)?);
                    Ok(())
                })?;
                let n = every_nth(&m.mirrored_talus.positions_mm, params.max_samples).len();
                (
                    n as u64,
                    format!(
                        "{n} moving samples onto {} fixed vertices, from identity, trim {}; {}",
                        m.talus.positions_mm.len(),
                        params.trim_fraction,
                        icp_summary(last.as_ref())
                    ),
                )
            }
            "link_roundtrip" => {
                use crate::design::{decode_link, encode_link, DesignState, Op, ViewState};
                let state = DesignState {
                    study_fingerprint: "0".repeat(64),
                    app_version: "bench".into(),
                    ops: (0..200)
                        .map(|n| Op::Grow {
                            seed: [n, n, n],
                            lower_hu: 226,
                            upper_hu: 3071,
                            name: format!("part {n}"),
                        })
                        .collect(),
                    view: ViewState::default(),
                };
                time(&mut || {
                    let link = encode_link(&state).map_err(|e| e.to_string())?;
                    let back = decode_link(&link).map_err(|e| e.to_string())?;
                    std::hint::black_box(back);
                    Ok(())
                })?;
                (200, "200 grow ops".to_string())
            }
            other => {
                failure = Some(format!(
                    "unknown kernel '{other}'; kernels are: {}",
                    kernel_names().join(", ")
                ));
                (0, String::new())
            }
        };
        if let Some(e) = failure {
            return Err(e);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let median_ms = times.get(times.len() / 2).copied().unwrap_or(0.0);
        Ok(BenchResult {
            kernel: kernel.to_string(),
            median_ms,
            min_ms: times.first().copied().unwrap_or(0.0),
            runs,
            items,
            mitems_per_s: if median_ms > 0.0 {
                items as f64 / median_ms / 1000.0
            } else {
                0.0
            },
            input,
            steps: Vec::new(),
        })
    }

    /// The end-to-end kernels, timed step by step: one warm-up, then `runs` timed runs;
    /// the kernel's median is that of the whole chain, each step's the median of its own
    /// times.
    fn run_pipeline(
        &mut self,
        kernel: &str,
        build: bool,
        runs: usize,
        now_ms: &mut dyn FnMut() -> f64,
    ) -> Result<BenchResult, String> {
        let p = self.params.clone();
        let files = self.series()?;
        let mut totals = Vec::with_capacity(runs);
        let mut steps: Vec<(&'static str, Vec<f64>)> = Vec::new();
        let mut summary = String::new();
        for run in 0..=runs {
            let mut times = Vec::new();
            let t0 = now_ms();
            summary = pipeline(files, build, &mut |step| {
                times.push((step, now_ms()));
            })?;
            // The chain ends at its last step (the summary text is not timed).
            let t_end = times.last().map(|x| x.1).unwrap_or(t0);
            if run == 0 {
                continue; // warm-up
            }
            totals.push(t_end - t0);
            let mut prev = t0;
            for (n, (step, t)) in times.into_iter().enumerate() {
                if steps.len() <= n {
                    steps.push((step, Vec::new()));
                }
                if let Some(s) = steps.get_mut(n) {
                    s.1.push(t - prev);
                }
                prev = t;
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let median_ms = median(&mut totals);
        let voxels = (p.dims[0] * p.dims[1] * p.dims[2]) as u64;
        Ok(BenchResult {
            kernel: kernel.to_string(),
            median_ms,
            min_ms: totals.first().copied().unwrap_or(0.0),
            runs,
            items: voxels,
            mitems_per_s: if median_ms > 0.0 {
                voxels as f64 / median_ms / 1000.0
            } else {
                0.0
            },
            input: format!(
                "{} files of the {}x{}x{} phantom; {summary}",
                files.len(),
                p.dims[0],
                p.dims[1],
                p.dims[2]
            ),
            steps: steps
                .into_iter()
                .map(|(step, mut t)| StepTime {
                    step: step.to_string(),
                    median_ms: median(&mut t),
                })
                .collect(),
        })
    }
}

/// The chain from dropped CT files to every bone meshed and, with `build`, on to a
/// sliced and hatched three-size build of the mirrored left talus. `mark(step)` is called
/// at the end of each step. Returns a one-line summary of what was made.
pub fn pipeline(
    files: &[(String, Vec<u8>)],
    build: bool,
    mark: &mut dyn FnMut(&'static str),
) -> Result<String, String> {
    use crate::segment::auto::{auto_bones, AutoParams};
    let bytes = file_bytes(files);
    let scan = dicom::scan(&bytes);
    mark("scan_headers");
    let ct = read_scanned(&bytes, &scan)?;
    mark("decode");
    let bones =
        auto_bones(&ct, &AutoParams::default(), &mut NoProgress).map_err(|e| e.to_string())?;
    mark("auto_bones");
    let params = McParams {
        iso_hu: BONE_ISO_HU,
    };
    let wanted: Vec<u8> = bones.parts.iter().map(|p| p.label).collect();
    let mut meshes = Vec::with_capacity(bones.parts.len());
    for (part, mesh) in bones
        .parts
        .iter()
        .zip(label_surfaces(&ct, &bones.labels, &wanted, &params))
    {
        let mesh = mesh.map_err(|e| format!("{}: {e}", part.name))?;
        meshes.push((part.name.clone(), mesh));
    }
    mark("marching_cubes_all");
    let triangles: usize = meshes.iter().map(|(_, m)| m.triangles.len()).sum();
    let mut summary = format!("{} bones, {triangles} triangles", meshes.len());
    if !build {
        return Ok(summary);
    }
    drop(ct);
    drop(bones);
    let left = meshes
        .iter()
        .find(|(n, _)| n == "left talus")
        .map(|(_, m)| m)
        .ok_or_else(|| {
            let names: Vec<&str> = meshes.iter().map(|(n, _)| n.as_str()).collect();
            format!(
                "Auto bones found no left talus to mirror (parts: {})",
                names.join(", ")
            )
        })?;
    let implant = crate::mesh::mirror::mirror_sagittal(left);
    mark("mirror_talus");
    let plate =
        crate::print::plate::build_plate(&implant, &crate::print::plate::PlateParams::default())
            .map_err(|e| e.to_string())?;
    let objects: Vec<&Mesh> = plate.objects.iter().map(|o| &o.mesh).collect();
    let all = crate::mesh::shapes::concat(&objects);
    // Stand the plate on z = 0 as `osteon slice` does.
    let z0 = crate::mesh::measure::bounding_box(&all)
        .map(|b| b.min_mm[2])
        .unwrap_or(0.0);
    let all = crate::mesh::shapes::translated(&all, [0.0, 0.0, -z0]);
    mark("plate_95_100_105");
    let mut slices = crate::print::slice::slice(
        &all,
        &crate::print::slice::SliceParams {
            layer_um: BUILD_LAYER_UM,
        },
    )
    .map_err(|e| e.to_string())?;
    mark("slice_30um");
    // As the Build plate op simplifies the outlines and measures the layers for its
    // estimate (paths made and dropped in runs of layers).
    let scan = crate::design::print_ops::default_scan();
    crate::print::simplify::simplify_slices(
        &mut slices,
        &crate::design::print_ops::simplify_params(&scan),
    )
    .map_err(|e| e.to_string())?;
    mark("simplify_outlines");
    let scans = crate::design::print_ops::scan_lengths(&slices, None, &scan, &mut NoProgress)
        .map_err(|e| e.to_string())?;
    mark("hatch");
    let hatch_mm: f64 = scans.iter().map(|s| s.hatch_length_mm).sum();
    summary += &format!(
        "; plate of {} objects ({} triangles), {} layers, {:.0} m of hatch",
        plate.objects.len(),
        all.triangles.len(),
        scans.len(),
        hatch_mm / 1000.0
    );
    Ok(summary)
}

fn tri_input(what: &str, mesh: &Mesh) -> String {
    format!(
        "{what}, {} triangles / {} vertices",
        mesh.triangles.len(),
        mesh.positions_mm.len()
    )
}

/// Settings of the `icp_refine` kernels: the registration defaults, with nothing trimmed
/// for `icp_refine_untrimmed`.
pub fn icp_refine_params(untrimmed: bool) -> crate::mesh::register::RegisterParams {
    crate::mesh::register::RegisterParams {
        trim_fraction: if untrimmed { 0.0 } else { 0.1 },
        ..Default::default()
    }
}

/// One run of the `icp_refine` kernels: ICP of the mirrored left talus onto the right
/// talus from the identity (also written out for the ICP peer's agreement check).
pub fn icp_refine(
    m: &MeshInputs,
    params: &crate::mesh::register::RegisterParams,
) -> Result<crate::mesh::register::Registration, String> {
    let identity = nalgebra::Matrix4::identity();
    crate::mesh::register::refine(&m.talus, &m.mirrored_talus, &identity, params)
        .map_err(|e| e.to_string())
}

fn icp_summary(r: Option<&crate::mesh::register::Registration>) -> String {
    r.map_or_else(String::new, |r| {
        format!(
            "{} iterations ({} coarse), RMS {:.4} mm, overlap {:.3}",
            r.iterations, r.coarse_iterations, r.rms_mm, r.overlap
        )
    })
}

/// Every-n-th vertex sample of at most `max` points, as [`crate::mesh::register`] takes
/// its ICP samples (written for the ICP peer so both use the same points).
pub fn every_nth(points: &[[f64; 3]], max: usize) -> Vec<[f64; 3]> {
    let step = points.len().div_ceil(max.max(1)).max(1);
    points.iter().step_by(step).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_sizes_are_refused() {
        assert_eq!(parse_size("512x512x300"), Ok([512, 512, 300]));
        assert_eq!(parse_size("128×64×32"), Ok([128, 64, 32]));
        assert!(parse_size("512x512").is_err());
        assert!(parse_size("0x4x4").is_err());
        assert!(parse_size("ax4x4").is_err());
    }

    #[test]
    fn study_params_keep_the_field_of_view() {
        let d = DemoParams::default();
        assert_eq!(study_params(d.dims), d);
        let p = study_params([512, 512, 300]);
        for a in 0..3 {
            let fov = p.dims[a] as f64 * p.spacing_mm[a];
            assert!((fov - d.dims[a] as f64 * d.spacing_mm[a]).abs() < 1e-9);
        }
    }

    #[test]
    fn unknown_kernel_is_an_error_naming_the_kernels() {
        let mut b = Bench::new([8, 8, 8]);
        let e = b.run("nope", 1, &mut || 0.0).unwrap_err();
        assert!(e.contains("region_grow"), "{e}");
    }

    #[test]
    fn the_pipeline_meshes_bones_and_slices_a_build_with_a_time_per_step() {
        // A coarse study (the default field of view at 1 mm voxels) keeps this quick.
        let mut b = Bench::new([224, 160, 128]);
        let mut t = 0.0;
        let r = b
            .run("pipeline_build", 1, &mut || {
                t += 1.0;
                t
            })
            .unwrap();
        let names: Vec<&str> = r.steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(
            names,
            [
                "scan_headers",
                "decode",
                "auto_bones",
                "marching_cubes_all",
                "mirror_talus",
                "plate_95_100_105",
                "slice_30um",
                "simplify_outlines",
                "hatch"
            ]
        );
        // The clock ticks once per call: the chain's time is the sum of its steps.
        let sum: f64 = r.steps.iter().map(|s| s.median_ms).sum();
        assert_eq!(r.median_ms, sum);
        assert!(r.input.contains("12 bones"), "{}", r.input);
        assert!(r.input.contains("plate of 5 objects"), "{}", r.input);
    }

    #[test]
    fn a_small_volume_kernel_runs() {
        let mut b = Bench::new([56, 40, 32]);
        let mut t = 0.0;
        let r = b
            .run("threshold_components", 3, &mut || {
                t += 1.0;
                t
            })
            .unwrap();
        assert_eq!(r.items, 56 * 40 * 32);
        assert_eq!(r.runs, 3);
        assert_eq!(r.median_ms, 1.0);
    }
}
