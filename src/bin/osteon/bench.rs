//! `osteon bench`: times the hot kernels natively (see `osteon::bench`).

use crate::flag_value;
use osteon::bench::{self, KERNELS};
use std::time::Instant;

/// `osteon bench [--json] [--reps N] [--only K1,K2] [--write-series DIR]`
pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(dir) = flag_value(args, "--write-series") {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
        for (name, bytes) in bench::bench_series()? {
            std::fs::write(std::path::Path::new(dir).join(&name), bytes)
                .map_err(|e| format!("cannot write {name}: {e}"))?;
        }
        let study = osteon::demo::generate(&bench::bench_params());
        let seeds = serde_json::json!({ "talus_seed_ijk": bench::talus_seed(&study) });
        std::fs::write(
            std::path::Path::new(dir).join("seeds.json"),
            seeds.to_string(),
        )
        .map_err(|e| format!("cannot write seeds.json: {e}"))?;
        return Ok(());
    }
    let reps = match flag_value(args, "--reps") {
        Some(r) => r
            .parse::<usize>()
            .map_err(|_| format!("--reps must be a whole number, not '{r}'"))?,
        None => 5,
    };
    let only: Vec<&str> = flag_value(args, "--only")
        .map(|s| s.split(',').collect())
        .unwrap_or_else(|| KERNELS.to_vec());
    let start = Instant::now();
    let mut now_ms = || start.elapsed().as_secs_f64() * 1000.0;
    let mut results = Vec::new();
    for k in only {
        let r = bench::run(k, reps, &mut now_ms)?;
        if !args.iter().any(|a| a == "--json") {
            println!(
                "{:<18} median {:>9.2} ms  min {:>9.2} ms  {:>8.1} M items/s  ({})",
                r.kernel, r.median_ms, r.min_ms, r.mitems_per_s, r.input
            );
        }
        results.push(r);
    }
    if args.iter().any(|a| a == "--json") {
        let out = serde_json::json!({ "target": "native", "results": results });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}
