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
];

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
