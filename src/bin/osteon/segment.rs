//! `osteon segment <study> --out DIR [--auto] [--seed i,j,k[:name] ...] [--threshold LO[,HI]] [--iso HU]`

use crate::files::{load_study, write_files};
use crate::{flag_value, positionals};
use osteon::design::outputs::{output_files, part_meshes, stl_file_names, PART_ISO_HU};
use osteon::design::replay::replay;
use osteon::design::Op;
use osteon::mesh::measure::{bounding_box, volume_and_area};
use serde_json::json;
use std::path::Path;

fn parse_i16(text: &str, what: &str) -> Result<i16, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what} must be a whole number of HU, not '{text}'"))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let out = flag_value(args, "--out").ok_or("osteon segment needs --out DIR")?;
    let study = positionals(args, &["--out", "--seed", "--threshold", "--iso"]);
    if study.is_empty() {
        return Err("osteon segment needs a study: a DICOM folder/files, or 'demo'".into());
    }
    let (mut lower_hu, mut upper_hu) = (226i16, 3071i16);
    if let Some(t) = flag_value(args, "--threshold") {
        let mut it = t.split(',');
        lower_hu = parse_i16(it.next().unwrap_or(""), "the lower threshold")?;
        if let Some(hi) = it.next() {
            upper_hu = parse_i16(hi, "the upper threshold")?;
        }
    }
    let iso_hu: f64 = match flag_value(args, "--iso") {
        Some(v) => v
            .parse()
            .map_err(|_| format!("--iso must be a number of HU, not '{v}'"))?,
        None => PART_ISO_HU,
    };
    let mut ops = vec![Op::SetThreshold { lower_hu, upper_hu }];
    if args.iter().any(|a| a == "--auto") {
        ops.push(Op::AutoBones { lower_hu, upper_hu });
    }
    for (n, a) in args.iter().enumerate() {
        if a != "--seed" {
            continue;
        }
        let spec = args.get(n + 1).ok_or("--seed needs i,j,k[:name]")?;
        let (ijk, name) = spec.split_once(':').unwrap_or((spec, ""));
        let v: Vec<u32> = ijk
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        let [i, j, k] = v[..] else {
            return Err(format!(
                "--seed takes voxel indices i,j,k[:name], not '{spec}'"
            ));
        };
        ops.push(Op::Grow {
            seed: [i, j, k],
            lower_hu,
            upper_hu,
            name: name.to_string(),
        });
    }
    if ops.len() == 1 {
        return Err("nothing to segment: pass --auto and/or --seed i,j,k[:name]".into());
    }
    let ct = load_study(&study)?;
    let seg = replay(&ct, &ops).map_err(|(n, e)| format!("step {} failed: {e}", n + 1))?;
    let meshes = part_meshes(&ct, &seg, iso_hu)?;
    let files = output_files(&seg, &meshes)?;
    let mut parts = Vec::new();
    for ((p, m), file) in seg.parts.iter().zip(&meshes).zip(stl_file_names(&meshes)) {
        let (volume_mm3, area_mm2) =
            volume_and_area(&m.mesh).map_err(|e| format!("{}: {e}", p.name))?;
        let side = ["left", "right"]
            .into_iter()
            .find(|s| p.name.starts_with(s));
        parts.push(json!({
            "label": p.label, "name": p.name, "side": side, "file": file, "voxels": p.voxels,
            "volume_mm3": volume_mm3, "mask_volume_mm3": p.volume_mm3, "area_mm2": area_mm2,
            "triangles": m.mesh.triangles.len(), "bbox_mm": bounding_box(&m.mesh),
        }));
    }
    let text = serde_json::to_string_pretty(&json!({ "iso_hu": iso_hu, "parts": parts }))
        .map_err(|e| e.to_string())?;
    write_files(Path::new(out), &files)?;
    std::fs::write(Path::new(out).join("parts.json"), text)
        .map_err(|e| format!("cannot write parts.json: {e}"))?;
    println!(
        "{} part(s) written to {out}: labels.nrrd, parts.json, parts.3mf and one STL each",
        seg.parts.len()
    );
    Ok(())
}
