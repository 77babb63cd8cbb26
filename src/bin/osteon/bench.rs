//! `osteon bench`: times the hot kernels natively (see `osteon::bench`), writes the same
//! inputs for the Python peers, and measures how volume kernels grow with size.

use crate::flag_value;
use osteon::bench::{self, Bench, BenchResult, GROWTH_SIZES, KERNELS};
use std::path::Path;
use std::time::Instant;

/// `osteon bench [--json] [--size NXxNYxNZ] [--only K1,K2] [--runs N] [--threads N]
///               [--growth] [--write-data DIR [--series-only]]`
///
/// `--threads N` runs the kernels' independent units on N threads (`osteon::parallel`;
/// needs a build with `--features parallel`); the default, 1, is the peers' condition.
pub fn run(args: &[String]) -> Result<(), String> {
    let threads = match flag_value(args, "--threads") {
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--threads must be a whole number ≥ 1, not '{t}'"))?,
        None => 1,
    };
    on_threads(threads, || run_kernels(args))
}

/// Runs `f` with the kernels' parallel maps on `threads` threads (1: serially).
fn on_threads(threads: usize, f: impl FnOnce() -> Result<(), String> + Send) -> Result<(), String> {
    if threads == 1 {
        return osteon::parallel::serial(f);
    }
    #[cfg(feature = "parallel")]
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        pool.install(f)
    }
    #[cfg(not(feature = "parallel"))]
    {
        Err(format!(
            "--threads {threads} needs a build with threads: cargo build --release --features parallel"
        ))
    }
}

fn run_kernels(args: &[String]) -> Result<(), String> {
    let json = args.iter().any(|a| a == "--json");
    let size = match flag_value(args, "--size") {
        Some(s) => bench::parse_size(s)?,
        None => bench::DEFAULT_SIZE,
    };
    if let Some(dir) = flag_value(args, "--write-data") {
        if args.iter().any(|a| a == "--series-only") {
            return write_series(Path::new(dir), size);
        }
        return write_data(Path::new(dir), size);
    }
    let runs_flag = flag_value(args, "--runs").or_else(|| flag_value(args, "--reps"));
    let runs = match runs_flag {
        Some(r) => r
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--runs must be a whole number ≥ 1, not '{r}'"))?,
        None => 5,
    };
    let names = bench::kernel_names();
    let only: Vec<&str> = match flag_value(args, "--only") {
        Some(s) => {
            let list: Vec<&str> = s.split(',').filter(|k| !k.is_empty()).collect();
            if let Some(bad) = list.iter().find(|k| !names.contains(k)) {
                return Err(format!(
                    "unknown kernel '{bad}'; kernels are: {}",
                    names.join(", ")
                ));
            }
            list
        }
        None => names.clone(),
    };
    let start = Instant::now();
    let mut now_ms = || start.elapsed().as_secs_f64() * 1000.0;
    if args.iter().any(|a| a == "--growth") {
        return growth(&only, runs, json, &mut now_ms);
    }
    let mut b = Bench::new(size);
    let mut results = Vec::new();
    for k in only {
        // A failing kernel is reported and the others still run.
        match b.run(k, runs, &mut now_ms) {
            Ok(r) => {
                if !json {
                    print_row(&r);
                }
                results.push(serde_json::to_value(&r).map_err(|e| e.to_string())?);
            }
            Err(e) => {
                if !json {
                    println!("{k:<22} failed: {e}");
                }
                results.push(serde_json::json!({ "kernel": k, "error": e }));
            }
        }
    }
    if json {
        let out = serde_json::json!({
            "target": "native",
            "size": size,
            "kernels": KERNELS,
            "results": results,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}

fn print_row(r: &BenchResult) {
    println!(
        "{:<22} median {:>9.2} ms  min {:>9.2} ms  {:>8.1} M items/s  ({})",
        r.kernel, r.median_ms, r.min_ms, r.mitems_per_s, r.input
    );
}

/// Volume kernels at every size of [`GROWTH_SIZES`]: time, ns per voxel, and the
/// exponent of time against voxel count between consecutive sizes (1 = linear).
fn growth(
    only: &[&str],
    runs: usize,
    json: bool,
    now_ms: &mut dyn FnMut() -> f64,
) -> Result<(), String> {
    let kernels: Vec<&str> = KERNELS
        .iter()
        .filter(|k| k.volume && only.contains(&k.name))
        .map(|k| k.name)
        .collect();
    let mut rows = Vec::new();
    for &dims in GROWTH_SIZES {
        let mut b = Bench::new(dims);
        for &k in &kernels {
            let r = b.run(k, runs, now_ms)?;
            rows.push((dims, r));
        }
    }
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|(d, r)| serde_json::json!({ "size": d, "result": r }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "target": "native", "growth": out }))
                .map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!(
        "{:<22}{:>16}{:>12}{:>10}{:>10}",
        "kernel", "size", "ms", "ns/voxel", "exponent"
    );
    for &k in &kernels {
        let mut prev: Option<(f64, f64)> = None;
        for (d, r) in rows.iter().filter(|(_, r)| r.kernel == k) {
            let n = (d[0] * d[1] * d[2]) as f64;
            let exponent = prev
                .filter(|&(pn, pt)| pt > 0.0 && r.median_ms > 0.0 && n > pn)
                .map(|(pn, pt)| format!("{:.2}", (r.median_ms / pt).ln() / (n / pn).ln()))
                .unwrap_or_else(|| "–".into());
            println!(
                "{:<22}{:>16}{:>12.1}{:>10.2}{:>10}",
                k,
                format!("{}x{}x{}", d[0], d[1], d[2]),
                r.median_ms,
                r.median_ms * 1e6 / n,
                exponent
            );
            prev = Some((n, r.median_ms));
        }
    }
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(dir.join(name), bytes).map_err(|e| format!("cannot write {name}: {e}"))
}

fn f64_bytes(rows: impl Iterator<Item = f64>) -> Vec<u8> {
    rows.flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes a mesh as binary STL plus its exact indexed form (`NAME.vertices.f64`,
/// little-endian f64 x y z per vertex; `NAME.triangles.u32`, three u32 per triangle).
fn write_mesh(dir: &Path, name: &str, mesh: &osteon::mesh::Mesh) -> Result<(), String> {
    let stl = osteon::mesh::io::write_stl_binary(mesh, name).map_err(|e| e.to_string())?;
    write(dir, &format!("{name}.stl"), &stl)?;
    let v = f64_bytes(mesh.positions_mm.iter().flatten().copied());
    write(dir, &format!("{name}.vertices.f64"), &v)?;
    let t: Vec<u8> = mesh
        .triangles
        .iter()
        .flatten()
        .flat_map(|i| i.to_le_bytes())
        .collect();
    write(dir, &format!("{name}.triangles.u32"), &t)
}

/// Only the DICOM series of the phantom, straight into `dir` (the large-study check).
fn write_series(dir: &Path, size: [usize; 3]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut b = Bench::new(size);
    for (name, bytes) in b.series()? {
        write(dir, name, bytes)?;
    }
    Ok(())
}

/// The inputs of every kernel that has a peer, for `benches/peers.py`: the DICOM series
/// (`series/`), the raw CT (`ct.i16`, x fastest) and truth labels (`labels.u8`), the
/// meshes, the ICP point sets and `meta.json` describing them.
fn write_data(dir: &Path, size: [usize; 3]) -> Result<(), String> {
    let series_dir = dir.join("series");
    std::fs::create_dir_all(&series_dir)
        .map_err(|e| format!("cannot create {}: {e}", series_dir.display()))?;
    let mut b = Bench::new(size);
    for (name, bytes) in b.series()? {
        write(&series_dir, name, bytes)?;
    }
    let study = b.study();
    let ct: Vec<u8> = study.ct.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write(dir, "ct.i16", &ct)?;
    write(dir, "labels.u8", &study.labels.data)?;
    let seed = bench::talus_seed(study);
    let talus_label = study
        .bones
        .iter()
        .find(|x| x.name == "right talus")
        .map(|x| x.label)
        .unwrap_or(0);
    let talus_bbox = osteon::segment::BitMask::from_label(&study.labels, talus_label)
        .bbox()
        .map(|bb| [bb.min, bb.max]);
    let spacing = study.ct.spacing_mm;
    let m = b.meshes()?;
    write_mesh(dir, "sphere", &m.sphere)?;
    write_mesh(dir, "talus", &m.talus)?;
    write_mesh(dir, "mirrored_talus", &m.mirrored_talus)?;
    // ICP: the fixed vertices with their normals, and the moving samples.
    let params = osteon::mesh::register::RegisterParams::default();
    let moving = bench::every_nth(&m.mirrored_talus.positions_mm, params.max_samples);
    write(
        dir,
        "icp_moving.f64",
        &f64_bytes(moving.iter().flatten().copied()),
    )?;
    // Osteon's own ICP results, for the peer's agreement check (same samples, same start).
    let mut osteon_icp = serde_json::Map::new();
    for (kernel, untrimmed) in [("icp_refine", false), ("icp_refine_untrimmed", true)] {
        let r = bench::icp_refine(m, &bench::icp_refine_params(untrimmed))?;
        let t = r.fixed_from_moving;
        osteon_icp.insert(
            kernel.into(),
            serde_json::json!({
                "fixed_from_moving": (0..4).map(|i| (0..4).map(|j| t[(i, j)]).collect::<Vec<f64>>()).collect::<Vec<_>>(),
                "rms_mm": r.rms_mm,
                "overlap": r.overlap,
                "iterations": r.iterations,
                "coarse_iterations": r.coarse_iterations,
                "trim_fraction": bench::icp_refine_params(untrimmed).trim_fraction,
            }),
        );
    }
    let meta = serde_json::json!({
        "dims_xyz": size,
        "spacing_mm": spacing,
        "talus_seed_ijk": seed,
        "talus_label": talus_label,
        "talus_bbox_ijk": talus_bbox,
        "threshold_hu": [226, 3071],
        "iso_hu": bench::BONE_ISO_HU,
        "remesh_target_edge_mm": bench::mean_edge_mm(&m.talus),
        "remesh_iterations": bench::REMESH_ITERATIONS,
        "decimate_target_triangles": (m.talus.triangles.len() as f64 * bench::DECIMATE_FRACTION) as usize,
        "taubin": { "iterations": 20, "lambda": 0.5, "mu": -0.53 },
        "icp": {
            "moving_points": moving.len(),
            "max_iterations": params.max_iterations,
            "trim_fraction": params.trim_fraction,
            "min_relative_rms_change": params.min_relative_rms_change,
            "osteon": osteon_icp,
        },
        "slice_layer_mm": 0.05,
    });
    write(dir, "meta.json", meta.to_string().as_bytes())
}
