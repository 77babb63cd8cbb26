//! `osteon mesh info|mirror|register|smooth|remesh|decimate|distance ...`: the mesh
//! toolkit on files. Formats by extension: .stl, .obj, .3mf (first object).

use crate::{flag_value, positionals};
use osteon::mesh::{self, Mesh};
use serde_json::{json, Value};
use std::path::Path;

const USAGE: &str = "usage:
  osteon mesh info <mesh> [--json]
  osteon mesh mirror <mesh> --out FILE [--plane-x MM]
  osteon mesh register <fixed> <moving> [--out FILE] [--json]
  osteon mesh smooth <mesh> --out FILE [--iterations N]
  osteon mesh remesh <mesh> --out FILE --edge MM [--max-deviation MM]
  osteon mesh decimate <mesh> --out FILE --triangles N [--max-deviation MM]
  osteon mesh distance <a> <b> [--json]";

const VALUE_FLAGS: &[&str] = &[
    "--out",
    "--plane-x",
    "--iterations",
    "--edge",
    "--max-deviation",
    "--triangles",
];

pub(crate) fn read(path: &str) -> Result<Mesh, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mesh = match ext.as_str() {
        "obj" => mesh::io::read_obj(&bytes),
        "3mf" => mesh::io::read_3mf(&bytes).and_then(|objects| {
            objects.into_iter().next().map(|(_, m)| m).ok_or(
                mesh::io::MeshError::MissingModelPart {
                    detail: "the 3MF holds no object".into(),
                },
            )
        }),
        _ => mesh::io::read_stl(&bytes),
    };
    mesh.map_err(|e| format!("{path}: {e}"))
}

pub(crate) fn write(path: &str, m: &Mesh) -> Result<(), String> {
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = match ext.as_str() {
        "obj" => mesh::io::write_obj(m),
        "3mf" => mesh::io::write_3mf(&[("part", m)]),
        "stl" => mesh::io::write_stl_binary(m, "Osteon mesh (mm)"),
        other => return Err(format!("cannot write '.{other}': use .stl, .obj or .3mf")),
    }
    .map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {path}: {e}"))
}

fn number<T: std::str::FromStr>(
    args: &[String],
    flag: &str,
    default: Option<T>,
) -> Result<T, String> {
    match flag_value(args, flag) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("{flag} needs a number, not '{v}'")),
        None => default.ok_or_else(|| format!("{flag} is required\n{USAGE}")),
    }
}

fn emit(args: &[String], value: Value, text: String) -> Result<(), String> {
    if args.iter().any(|a| a == "--json") {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?
        );
    } else {
        println!("{text}");
    }
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    let command = args.first().map(String::as_str).ok_or(USAGE)?;
    let rest = &args[1..];
    let files = positionals(rest, VALUE_FLAGS);
    let file = |n: usize| files.get(n).copied().ok_or_else(|| USAGE.to_string());
    let out =
        || flag_value(rest, "--out").ok_or_else(|| format!("--out FILE is required\n{USAGE}"));
    match command {
        "info" => {
            let m = read(file(0)?)?;
            let report = mesh::repair::check(&m).map_err(|e| e.to_string())?;
            let (volume, area) = mesh::measure::volume_and_area(&m).map_err(|e| e.to_string())?;
            let bbox = mesh::measure::bounding_box(&m);
            // An open or non-manifold surface encloses no volume: never print a number
            // that looks like one.
            let (volume_text, volume) = if report.watertight {
                (format!("volume {volume:.1} mm³"), Some(volume))
            } else {
                (
                    "volume not defined: the mesh is not watertight (see the boundary and \
                     non-manifold edges; repair or close it first)"
                        .to_string(),
                    None,
                )
            };
            let text = format!(
                "{} vertices, {} triangles, {} component(s); watertight {}, outward {}, genus {:?}\n{volume_text}, area {:.1} mm², non-manifold edges {}, self-intersections {}",
                report.vertices, report.triangles, report.components, report.watertight, report.outward, report.genus,
                area, report.non_manifold_edges, report.self_intersections
            );
            emit(
                rest,
                json!({ "check": report, "volume_mm3": volume, "area_mm2": area, "bbox_mm": bbox }),
                text,
            )
        }
        "mirror" => {
            let x = number(rest, "--plane-x", Some(0.0))?;
            let m = mesh::mirror::mirror(&read(file(0)?)?, &mesh::mirror::Plane::sagittal(x))
                .map_err(|e| e.to_string())?;
            write(out()?, &m)
        }
        "register" => {
            let (fixed, moving) = (read(file(0)?)?, read(file(1)?)?);
            let r = mesh::register::register(&fixed, &moving, &Default::default())
                .map_err(|e| e.to_string())?;
            if let Some(path) = flag_value(rest, "--out") {
                write(
                    path,
                    &mesh::register::transform_mesh(&moving, &r.fixed_from_moving),
                )?;
            }
            let matrix: Vec<Vec<f64>> = (0..4)
                .map(|i| (0..4).map(|j| r.fixed_from_moving[(i, j)]).collect())
                .collect();
            let text = format!(
                "rms {:.3} mm, overlap {:.2}, {} iterations\nfixed_from_moving {:?}",
                r.rms_mm, r.overlap, r.iterations, matrix
            );
            emit(
                rest,
                json!({ "fixed_from_moving": matrix, "rms_mm": r.rms_mm, "overlap": r.overlap, "iterations": r.iterations }),
                text,
            )
        }
        "smooth" => {
            let params = mesh::smooth::TaubinParams {
                iterations: number(rest, "--iterations", Some(20))?,
                ..Default::default()
            };
            write(out()?, &mesh::smooth::taubin(&read(file(0)?)?, &params))
        }
        "remesh" => {
            let params = mesh::remesh::RemeshParams {
                target_edge_mm: number(rest, "--edge", None)?,
                max_deviation_mm: number(
                    rest,
                    "--max-deviation",
                    Some(mesh::remesh::RemeshParams::default().max_deviation_mm),
                )?,
                ..Default::default()
            };
            let (m, report) =
                mesh::remesh::remesh(&read(file(0)?)?, &params).map_err(|e| e.to_string())?;
            write(out()?, &m)?;
            emit(
                rest,
                json!(report),
                format!(
                    "{} → {} triangles, max deviation {:.3} mm",
                    report.triangles_before, report.triangles_after, report.max_deviation_mm
                ),
            )
        }
        "decimate" => {
            let params = mesh::decimate::DecimateParams {
                target_triangles: number(rest, "--triangles", None)?,
                max_deviation_mm: number(
                    rest,
                    "--max-deviation",
                    Some(mesh::decimate::DecimateParams::default().max_deviation_mm),
                )?,
            };
            let (m, report) =
                mesh::decimate::decimate(&read(file(0)?)?, &params).map_err(|e| e.to_string())?;
            write(out()?, &m)?;
            emit(
                rest,
                json!(report),
                format!(
                    "{} → {} triangles, max deviation {:.3} mm",
                    report.triangles_before, report.triangles_after, report.max_deviation_mm
                ),
            )
        }
        "distance" => {
            let d = mesh::distance::deviation(&read(file(0)?)?, &read(file(1)?)?)
                .map_err(|e| e.to_string())?;
            let text = format!(
                "mean {:.3} mm, rms {:.3} mm, max {:.3} mm, symmetric Hausdorff {:.3} mm",
                d.mean_mm, d.rms_mm, d.max_mm, d.symmetric_hausdorff_mm
            );
            emit(
                rest,
                json!({ "mean_mm": d.mean_mm, "mean_signed_mm": d.mean_signed_mm, "rms_mm": d.rms_mm, "max_mm": d.max_mm, "symmetric_hausdorff_mm": d.symmetric_hausdorff_mm }),
                text,
            )
        }
        _ => Err(USAGE.to_string()),
    }
}
