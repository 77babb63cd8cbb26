//! `osteon info` and `osteon demo`.

use crate::files::read_inputs;
use crate::{flag_value, positionals};
use osteon::demo::{self, DemoParams};
use osteon::dicom::{self, FileBytes, QaStatus, ReadOptions, WriteMeta};
use osteon::nrrd;
use osteon::progress::NoProgress;
use osteon::volume::sha256_hex;
use serde_json::json;
use std::path::Path;

/// `osteon info <dir-or-files>... [--json]`
pub fn run(args: &[String]) -> Result<(), String> {
    let paths = positionals(args, &["--pixel-spacing"]);
    let opts = ReadOptions {
        assume_pixel_spacing_mm: pixel_spacing(args)?,
        ..ReadOptions::default()
    };
    if paths.is_empty() {
        return Err("osteon info needs at least one folder or file".into());
    }
    let as_json = args.iter().any(|a| a == "--json");
    let (files, mut errors) = dicom::expand_archives(read_inputs(&paths)?);
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    errors.extend(scan.errors.iter().cloned());
    let mut reports = Vec::new();
    for s in &scan.series {
        if s.is_localizer {
            reports.push(json!({ "summary": s, "skipped": "localizer / scout" }));
            continue;
        }
        match dicom::read_series(&bytes, &scan, s.id, &opts, &mut NoProgress) {
            Ok(loaded) => reports.push(json!({
                "summary": loaded.summary,
                "geometry": loaded.geometry,
                "dims": loaded.volume.dims,
                "spacing_mm": loaded.volume.spacing_mm,
                "hu_range": loaded.volume.min_max(),
                "sha256": sha256_hex(&loaded.volume),
                "qa": loaded.qa,
                "file_errors": loaded.file_errors,
            })),
            Err(e) => reports.push(json!({ "summary": s, "error": e.to_string() })),
        }
    }
    if as_json {
        let out = json!({ "series": reports, "file_errors": errors });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!(
        "{} file(s), {} series, {} file(s) not used",
        files.len(),
        scan.series.len(),
        errors.len()
    );
    for r in &reports {
        print_series(r);
    }
    for e in &errors {
        println!("  not used: {}: {}", e.name, e.reason);
    }
    Ok(())
}

fn print_series(r: &serde_json::Value) {
    let s = &r["summary"];
    println!(
        "\nseries {}: {} [{}] {}x{}x{}",
        s["id"],
        s["description"].as_str().unwrap_or(""),
        s["modality"].as_str().unwrap_or(""),
        s["cols"],
        s["rows"],
        s["slices"]
    );
    if let Some(why) = r["skipped"].as_str().or(r["error"].as_str()) {
        println!("  {why}");
        return;
    }
    println!(
        "  dims {}  spacing {} mm  HU {}  sha256 {}",
        r["dims"],
        r["spacing_mm"],
        r["hu_range"],
        r["sha256"].as_str().unwrap_or("")
    );
    if let Some(lines) = r["qa"]["lines"].as_array() {
        println!("  {:<28} {:<22} {:<18} status", "check", "value", "limit");
        for l in lines {
            println!(
                "  {:<28} {:<22} {:<18} {}",
                l["check"].as_str().unwrap_or(""),
                l["value"].as_str().unwrap_or(""),
                l["limit"].as_str().unwrap_or(""),
                l["status"].as_str().unwrap_or("").to_uppercase()
            );
        }
    }
}

/// `--pixel-spacing ROW,COL` (mm), used only for files without PixelSpacing.
fn pixel_spacing(args: &[String]) -> Result<Option<[f64; 2]>, String> {
    let Some(text) = flag_value(args, "--pixel-spacing") else {
        return Ok(None);
    };
    let values: Vec<f64> = text
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    match values[..] {
        [r, c] if r > 0.0 && c > 0.0 => Ok(Some([r, c])),
        _ => Err(format!(
            "--pixel-spacing takes two positive numbers in mm, like 0.5,0.5 (got '{text}')"
        )),
    }
}

/// `osteon demo --out DIR [--seed N]`
pub fn run_demo(args: &[String]) -> Result<(), String> {
    let out = flag_value(args, "--out").ok_or("osteon demo needs --out DIR")?;
    let seed = match flag_value(args, "--seed") {
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("--seed must be a whole number, not '{s}'"))?,
        None => DemoParams::default().seed,
    };
    let study = demo::generate(&DemoParams {
        seed,
        ..DemoParams::default()
    });
    let dir = Path::new(out);
    let dicom_dir = dir.join("dicom");
    std::fs::create_dir_all(&dicom_dir)
        .map_err(|e| format!("cannot create {}: {e}", dicom_dir.display()))?;
    let meta = WriteMeta {
        description: demo::DEMO_DESCRIPTION.to_string(),
        kvp: demo::DEMO_KVP,
        seed_uid_root: format!("2.25.{seed}"),
    };
    let files = dicom::write_ct_series(&study.ct, &meta).map_err(|e| e.to_string())?;
    for (name, bytes) in &files {
        write(&dicom_dir.join(name), bytes)?;
    }
    write(
        &dir.join("labels.nrrd"),
        &nrrd::write_nrrd_u8(&study.labels),
    )?;
    let bones = serde_json::to_string_pretty(&study.bones).map_err(|e| e.to_string())?;
    write(&dir.join("bones.json"), bones.as_bytes())?;
    let qa = demo::loaded_series(study.ct.clone()).qa;
    let failing: Vec<_> = qa
        .lines
        .iter()
        .filter(|l| l.status == QaStatus::Fail)
        .map(|l| l.check.clone())
        .collect();
    println!(
        "wrote {} slices to {}, labels.nrrd ({} bones), bones.json; CT sha256 {}{}",
        files.len(),
        dicom_dir.display(),
        study.bones.len(),
        sha256_hex(&study.ct),
        if failing.is_empty() {
            String::new()
        } else {
            format!("; QA fails: {}", failing.join(", "))
        }
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
