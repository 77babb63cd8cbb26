//! Benchmark kernels shared by `osteon bench` (native) and the browser bench page
//! (wasm), so both time exactly the same work on the same generated inputs.
//!
//! The clock is passed in (`now_ms`): this layer stays free of `std::time`, which does
//! not exist on wasm32.

use crate::demo::{self, DemoParams};
use crate::dicom::{self, FileBytes, ReadOptions, WriteMeta};
use crate::mpr::{self, Plane};
use crate::progress::NoProgress;
use crate::surface::preview::{iso_surface_preview, PreviewParams};
use serde::Serialize;

/// Kernel names in the order they run.
pub const KERNELS: &[&str] = &[
    "demo_generate",
    "dicom_read",
    "surface_preview",
    "mpr_slice",
    "threshold_components",
    "region_grow",
    "auto_bones",
    "mc_one_bone",
    "volume_area",
    "taubin_20",
    "icp_mirrored_talus",
    "link_roundtrip",
];

/// Voxel inside the right talus of the bench study: the seed of `region_grow`, also
/// written for the peer script by `osteon bench --write-series`.
pub fn talus_seed(study: &demo::DemoStudy) -> [usize; 3] {
    demo::bone_centre_voxel(study, "right talus").unwrap_or(study.ct.dims.map(|n| n / 2))
}

/// Surfaces of the right and left talus of the bench study (truth labels, marching cubes).
fn talus_meshes(study: &demo::DemoStudy) -> Result<(crate::mesh::Mesh, crate::mesh::Mesh), String> {
    let surface = |name: &str| {
        let label = study
            .bones
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.label)
            .ok_or("no talus")?;
        let params = crate::surface::mc::McParams { iso_hu: 720.0 };
        crate::surface::mc::label_surface(&study.ct, &study.labels, label, &params)
            .map_err(|e| e.to_string())
    };
    Ok((surface("right talus")?, surface("left talus")?))
}

/// Timing of one kernel.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub kernel: String,
    pub median_ms: f64,
    pub min_ms: f64,
    pub reps: usize,
    /// Voxels (or pixels) processed per run.
    pub items: u64,
    /// Millions of items per second at the median.
    pub mitems_per_s: f64,
    pub input: String,
}

/// Study size used by every kernel: the default demo phantom.
pub fn bench_params() -> DemoParams {
    DemoParams::default()
}

/// The demo phantom written as an in-memory DICOM series: the input of `dicom_read`.
/// Also written to disk by `osteon bench --write-series DIR` so peers read the same files.
pub fn bench_series() -> Result<Vec<(String, Vec<u8>)>, String> {
    let study = demo::generate(&bench_params());
    let meta = WriteMeta {
        description: demo::DEMO_DESCRIPTION.into(),
        kvp: demo::DEMO_KVP,
        seed_uid_root: "2.25.7".into(),
    };
    dicom::write_ct_series(&study.ct, &meta).map_err(|e| e.to_string())
}

/// Runs `kernel` `reps` times after one warm-up, timing each run with `now_ms`.
pub fn run(
    kernel: &str,
    reps: usize,
    now_ms: &mut dyn FnMut() -> f64,
) -> Result<BenchResult, String> {
    let reps = reps.max(1);
    let p = bench_params();
    let voxels = (p.dims[0] * p.dims[1] * p.dims[2]) as u64;
    let input = format!("{}x{}x{} demo phantom", p.dims[0], p.dims[1], p.dims[2]);
    let mut times = Vec::with_capacity(reps);
    let mut time = |f: &mut dyn FnMut()| {
        f();
        for _ in 0..reps {
            let t0 = now_ms();
            f();
            times.push(now_ms() - t0);
        }
    };
    let items = match kernel {
        "demo_generate" => {
            time(&mut || {
                std::hint::black_box(demo::generate(&p));
            });
            voxels
        }
        "dicom_read" => {
            let files = bench_series()?;
            let bytes: Vec<FileBytes> = files
                .iter()
                .map(|(n, b)| FileBytes { name: n, bytes: b })
                .collect();
            let mut failure = None;
            time(&mut || {
                let scan = dicom::scan(&bytes);
                match dicom::read_series(&bytes, &scan, 0, &ReadOptions::default(), &mut NoProgress)
                {
                    Ok(v) => {
                        std::hint::black_box(v);
                    }
                    Err(e) => failure = Some(e.to_string()),
                }
            });
            if let Some(e) = failure {
                return Err(format!("dicom_read failed: {e}"));
            }
            voxels
        }
        "surface_preview" => {
            let study = demo::generate(&p);
            time(&mut || {
                std::hint::black_box(iso_surface_preview(&study.ct, &PreviewParams::default()));
            });
            voxels
        }
        "mpr_slice" => {
            let study = demo::generate(&p);
            let mut out = Vec::new();
            let k = p.dims[2] / 2;
            time(&mut || {
                mpr::render_slice_rgba(&study.ct, Plane::Axial, k, mpr::BONE, None, &mut out);
                std::hint::black_box(&out);
            });
            (p.dims[0] * p.dims[1]) as u64
        }
        "threshold_components" => {
            use crate::segment::components::label_components;
            use crate::segment::threshold::{threshold, ThresholdParams};
            let study = demo::generate(&p);
            let mut failure = None;
            time(
                &mut || match threshold(&study.ct, &ThresholdParams::default()) {
                    Ok(mask) => {
                        std::hint::black_box(label_components(
                            &mask,
                            crate::segment::Connectivity::Six,
                        ));
                    }
                    Err(e) => failure = Some(e.to_string()),
                },
            );
            if let Some(e) = failure {
                return Err(e);
            }
            voxels
        }
        "region_grow" => {
            use crate::segment::grow::{grow, GrowParams};
            let study = demo::generate(&p);
            let seed = talus_seed(&study).map(|c| c as i64);
            let mut failure = None;
            time(
                &mut || match grow(&study.ct, seed, &GrowParams::default()) {
                    Ok(m) => {
                        std::hint::black_box(m);
                    }
                    Err(e) => failure = Some(e.to_string()),
                },
            );
            if let Some(e) = failure {
                return Err(e);
            }
            voxels
        }
        "auto_bones" => {
            use crate::segment::auto::{auto_bones, AutoParams};
            let study = demo::generate(&p);
            time(&mut || {
                std::hint::black_box(
                    auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).ok(),
                );
            });
            voxels
        }
        "mc_one_bone" => {
            let study = demo::generate(&p);
            let label = study
                .bones
                .iter()
                .find(|b| b.name == "right talus")
                .map(|b| b.label)
                .unwrap_or(1);
            let params = crate::surface::mc::McParams { iso_hu: 720.0 };
            time(&mut || {
                std::hint::black_box(
                    crate::surface::mc::label_surface(&study.ct, &study.labels, label, &params)
                        .ok(),
                );
            });
            voxels
        }
        "volume_area" => {
            let mesh = crate::mesh::shapes::ico_sphere(50.0, 8);
            time(&mut || {
                std::hint::black_box(crate::mesh::measure::volume_and_area(&mesh).ok());
            });
            mesh.triangles.len() as u64
        }
        "taubin_20" => {
            let mesh = crate::mesh::shapes::ico_sphere(50.0, 7);
            let params = crate::mesh::smooth::TaubinParams::default();
            time(&mut || {
                std::hint::black_box(crate::mesh::smooth::taubin(&mesh, &params));
            });
            mesh.triangles.len() as u64
        }
        "icp_mirrored_talus" => {
            use crate::mesh::register::{register, RegisterParams};
            let study = demo::generate(&p);
            let (right, left) = talus_meshes(&study)?;
            let mirrored = crate::mesh::mirror::mirror_sagittal(&left);
            time(&mut || {
                std::hint::black_box(register(&right, &mirrored, &RegisterParams::default()).ok());
            });
            mirrored.positions_mm.len() as u64
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
                let link = encode_link(&state).unwrap_or_default();
                std::hint::black_box(decode_link(&link).ok());
            });
            200
        }
        other => {
            return Err(format!(
                "unknown kernel '{other}'; kernels are: {}",
                KERNELS.join(", ")
            ))
        }
    };
    times.sort_by(|a, b| a.total_cmp(b));
    let median_ms = times[times.len() / 2];
    Ok(BenchResult {
        kernel: kernel.to_string(),
        median_ms,
        min_ms: times[0],
        reps,
        items,
        mitems_per_s: if median_ms > 0.0 {
            items as f64 / median_ms / 1000.0
        } else {
            0.0
        },
        input,
    })
}
