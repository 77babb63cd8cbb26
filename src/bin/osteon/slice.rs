//! `osteon slice <mesh.stl|mesh.obj|plate.3mf> --out DIR ...`: slice a part (or a whole
//! plate: every object of a 3MF) for metal powder-bed fusion and write G-code, CLI
//! (ASCII and binary) and per-layer SVG previews, with the build estimate. Every file is
//! made in memory first and written under a temporary name, then renamed, so a failure
//! leaves no half-written file with a final name; a failure after some renames says
//! which files were already written. The part is moved in z so its lowest point stands
//! on the plate (z = 0); x and y are kept.

use crate::{flag_value, positionals};
use osteon::mesh::{self, Mesh};
use osteon::print::estimate::{estimate, EstimateParams, MachineProfile};
use osteon::print::export::{cli_ascii, cli_binary, gcode, svg_layer, ExportInfo};
use osteon::print::hatch::{hatch_all, HatchParams, HatchPattern};
use osteon::print::simplify::{simplify_layers, simplify_slices, SimplifyParams};
use osteon::print::slice::{slice, slice_at_heights, SliceParams};
use serde_json::json;
use std::path::{Path, PathBuf};

const USAGE: &str = "usage:
  osteon slice <mesh.stl|mesh.obj|plate.3mf> --out DIR [--layer-um 30] [--hatch-um 110]
               [--power-w 200] [--speed-mm-s 1000] [--contours 2] [--beam-offset-um 50]
               [--pattern stripes|chessboard] [--rotation-deg 67] [--outline-tolerance-um 5]
               [--supports SUPPORTS.stl] [--format gcode,cli,svg] [--json]
  Writes job.gcode, job.cli (ASCII), job_binary.cli and svg/layer_NNNNN.svg in DIR;
  prints layers, scan length, build time, masses, powder and file sizes. The layer
  outlines are simplified within --outline-tolerance-um before contouring (0: as sliced).";

const VALUE_FLAGS: &[&str] = &[
    "--out",
    "--layer-um",
    "--hatch-um",
    "--power-w",
    "--speed-mm-s",
    "--contours",
    "--beam-offset-um",
    "--pattern",
    "--rotation-deg",
    "--outline-tolerance-um",
    "--supports",
    "--format",
];

/// Reads a mesh by extension; a 3MF gives all its objects as one plate.
fn read_mesh(path: &str) -> Result<Mesh, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let m = match ext.as_str() {
        "obj" => mesh::io::read_obj(&bytes),
        "3mf" => mesh::io::read_3mf(&bytes).map(|objects| {
            let parts: Vec<&Mesh> = objects.iter().map(|(_, m)| m).collect();
            mesh::shapes::concat(&parts)
        }),
        "stl" => mesh::io::read_stl(&bytes),
        other => {
            return Err(format!(
                "{path}: cannot read '.{other}' files; use .stl, .obj or .3mf"
            ))
        }
    };
    m.map_err(|e| format!("{path}: {e}"))
}

fn number<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T, String> {
    match flag_value(args, flag) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("{flag} needs a number, not '{v}'\n{USAGE}")),
        None => Ok(default),
    }
}

fn hms(s: f64) -> String {
    let t = s.round() as u64;
    format!("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60)
}

/// Writes every file under a temporary name, then renames them all. On failure removes
/// the temporary files and says what was already written.
fn write_all(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), String> {
    let tmp = |p: &Path| {
        let mut s = p.as_os_str().to_owned();
        s.push(".partial");
        PathBuf::from(s)
    };
    let cleanup = |upto: usize| {
        for (p, _) in &files[..upto] {
            let _ = std::fs::remove_file(tmp(&dir.join(p)));
        }
    };
    for (i, (p, bytes)) in files.iter().enumerate() {
        let full = dir.join(p);
        if let Some(parent) = full.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                cleanup(i);
                return Err(format!(
                    "cannot create {}: {e}; nothing was written",
                    parent.display()
                ));
            }
        }
        if let Err(e) = std::fs::write(tmp(&full), bytes) {
            cleanup(i + 1);
            return Err(format!(
                "cannot write {}: {e}; nothing was written (temporary files removed)",
                full.display()
            ));
        }
    }
    for (i, (p, _)) in files.iter().enumerate() {
        let full = dir.join(p);
        if let Err(e) = std::fs::rename(tmp(&full), &full) {
            let done: Vec<String> = files[..i]
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            for (p, _) in &files[i..] {
                let _ = std::fs::remove_file(tmp(&dir.join(p)));
            }
            return Err(format!(
                "cannot move {} into place: {e}; written half-way: {} of {} files are in {} ({}), the rest were not written",
                full.display(),
                i,
                files.len(),
                dir.display(),
                if done.is_empty() { "none".into() } else { done.join(", ") }
            ));
        }
    }
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    let files = positionals(args, VALUE_FLAGS);
    let [input] = files.as_slice() else {
        return Err(USAGE.to_string());
    };
    let out = flag_value(args, "--out").ok_or_else(|| format!("--out DIR is required\n{USAGE}"))?;
    let formats: Vec<String> = flag_value(args, "--format")
        .unwrap_or("gcode,cli,svg")
        .split(',')
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = formats
        .iter()
        .find(|f| !["gcode", "cli", "svg"].contains(&f.as_str()))
    {
        return Err(format!(
            "unknown format '{bad}': use gcode, cli, svg (comma-separated)"
        ));
    }
    let slice_params = SliceParams {
        layer_um: number(args, "--layer-um", 30.0)?,
    };
    let pattern = match flag_value(args, "--pattern").unwrap_or("stripes") {
        "stripes" => HatchPattern::Stripes { width_mm: 10.0 },
        "chessboard" => HatchPattern::Chessboard { square_mm: 5.0 },
        other => {
            return Err(format!(
                "unknown pattern '{other}': use stripes or chessboard"
            ))
        }
    };
    let defaults = HatchParams::default();
    let hatch = HatchParams {
        laser_power_w: number(args, "--power-w", defaults.laser_power_w)?,
        scan_speed_mm_s: number(args, "--speed-mm-s", defaults.scan_speed_mm_s)?,
        contour_count: number(args, "--contours", defaults.contour_count)?,
        beam_offset_um: number(args, "--beam-offset-um", defaults.beam_offset_um)?,
        hatch_spacing_um: number(args, "--hatch-um", defaults.hatch_spacing_um)?,
        pattern,
        rotation_deg: number(args, "--rotation-deg", defaults.rotation_deg)?,
    };
    let simplify = SimplifyParams {
        tolerance_um: number(
            args,
            "--outline-tolerance-um",
            osteon::design::print_ops::DEFAULT_OUTLINE_TOLERANCE_UM,
        )?,
    };
    // Check every parameter before any heavy work.
    slice_params.validate().map_err(|e| e.to_string())?;
    simplify.validate().map_err(|e| e.to_string())?;
    hatch.validate().map_err(|e| e.to_string())?;
    let machine = MachineProfile::default();

    let part = read_mesh(input)?;
    machine.check_mesh_fits(&part).map_err(|e| e.to_string())?;
    // Stand the part on the plate (lowest point at z = 0); supports move with it.
    let lift_mm = -mesh::measure::bounding_box(&part)
        .ok_or_else(|| format!("{input}: the mesh has no vertices"))?
        .min_mm[2];
    let part = mesh::shapes::translated(&part, [0.0, 0.0, lift_mm]);
    let supports = match flag_value(args, "--supports") {
        Some(p) => Some(mesh::shapes::translated(
            &read_mesh(p)?,
            [0.0, 0.0, lift_mm],
        )),
        None => None,
    };
    let mut slices = slice(&part, &slice_params).map_err(|e| format!("{input}: {e}"))?;
    simplify_slices(&mut slices, &simplify).map_err(|e| e.to_string())?;
    let scans = hatch_all(&slices, &hatch).map_err(|e| e.to_string())?;
    let est = estimate(
        &part,
        supports.as_ref(),
        &scans,
        slice_params.layer_um,
        &hatch,
        &machine,
        &EstimateParams::default(),
    )
    .map_err(|e| e.to_string())?;

    let name = Path::new(input)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("part")
        .to_string();
    let info = ExportInfo {
        name,
        layer_um: slice_params.layer_um,
        hatch: hatch.clone(),
        outline_tolerance_um: simplify.tolerance_um,
    };
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if formats.iter().any(|f| f == "gcode") {
        outputs.push(("job.gcode".into(), gcode(&scans, &info)));
    }
    if formats.iter().any(|f| f == "cli") {
        outputs.push(("job.cli".into(), cli_ascii(&scans, &info)));
        outputs.push(("job_binary.cli".into(), cli_binary(&scans, &info)));
    }
    if formats.iter().any(|f| f == "svg") {
        let support_layers = match &supports {
            Some(s) => {
                let z: Vec<f64> = slices.layers.iter().map(|l| l.z_mm).collect();
                let mut layers = slice_at_heights(s, &z).map_err(|e| format!("supports: {e}"))?;
                simplify_layers(&mut layers, &simplify).map_err(|e| e.to_string())?;
                Some(layers)
            }
            None => None,
        };
        let mut bb = mesh::measure::bounding_box(&part).ok_or("the part has no vertices")?;
        if let Some(b) = supports.as_ref().and_then(mesh::measure::bounding_box) {
            for i in 0..3 {
                bb.min_mm[i] = bb.min_mm[i].min(b.min_mm[i]);
                bb.max_mm[i] = bb.max_mm[i].max(b.max_mm[i]);
            }
        }
        let view = [
            bb.min_mm[0] - 1.0,
            bb.min_mm[1] - 1.0,
            bb.max_mm[0] + 1.0,
            bb.max_mm[1] + 1.0,
        ];
        for (k, (scan, layer)) in scans.iter().zip(&slices.layers).enumerate() {
            let sup = support_layers.as_ref().and_then(|s| s.get(k));
            outputs.push((
                PathBuf::from("svg").join(format!("layer_{k:05}.svg")),
                svg_layer(scan, layer, sup, view),
            ));
        }
    }
    let dir = PathBuf::from(out);
    write_all(&dir, &outputs)?;

    let mut sizes: Vec<(String, usize)> = Vec::new();
    let mut svg_bytes = 0usize;
    for (p, b) in &outputs {
        if p.starts_with("svg") {
            svg_bytes += b.len();
        } else {
            sizes.push((p.display().to_string(), b.len()));
        }
    }
    let svg_count = outputs.iter().filter(|(p, _)| p.starts_with("svg")).count();
    if svg_count > 0 {
        sizes.push((format!("svg/ ({svg_count} files)"), svg_bytes));
    }
    if args.iter().any(|a| a == "--json") {
        let value = json!({
            "input": input,
            "out": out,
            "slice": slice_params,
            "hatch": hatch,
            "machine": machine,
            "lift_mm": lift_mm,
            "zero_area_layers": slices.zero_area_layers,
            "estimate": est,
            "files": sizes.iter().map(|(n, b)| json!({"name": n, "bytes": b})).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?
        );
    } else {
        if lift_mm != 0.0 {
            println!("part moved {lift_mm:.3} mm in z to stand on the build plate");
        }
        println!(
            "{} layers of {} µm (build height {:.2} mm)",
            est.layers, slice_params.layer_um, est.build_height_mm
        );
        println!(
            "scan length {:.1} m: contours {:.1} m, hatches {:.1} m; jumps {:.1} m",
            (est.contour_length_mm + est.hatch_length_mm) / 1000.0,
            est.contour_length_mm / 1000.0,
            est.hatch_length_mm / 1000.0,
            est.jump_length_mm / 1000.0
        );
        println!(
            "estimated build time {} (scan {}, jumps {}, recoat {})",
            hms(est.build_time_s),
            hms(est.scan_time_s),
            hms(est.jump_time_s),
            hms(est.recoat_time_s)
        );
        print!(
            "part {:.1} cm³, {:.1} g Ti-6Al-4V",
            est.part_volume_mm3 / 1000.0,
            est.part_mass_g
        );
        if let Some(m) = est.support_mass_g {
            print!("; supports {m:.1} g");
        }
        println!(
            "; powder needed {:.2} kg (full plate {:.2} kg)",
            est.powder_needed_g / 1000.0,
            est.powder_full_plate_g / 1000.0
        );
        if !slices.zero_area_layers.is_empty() {
            println!(
                "note: {} layer(s) with zero area (first: {})",
                slices.zero_area_layers.len(),
                slices.zero_area_layers[0]
            );
        }
        for w in &est.warnings {
            println!("warning: {w}");
        }
        for (n, b) in &sizes {
            println!("wrote {}/{n}: {b} bytes", dir.display());
        }
    }
    Ok(())
}
