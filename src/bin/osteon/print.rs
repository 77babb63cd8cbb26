//! `osteon orient|supports|plate`: print preparation on files (orientation search,
//! cone or block supports, three-size build plate). Meshes by extension: .stl, .obj, .3mf (first
//! object); coordinates in mm.

use crate::{flag_value, positionals};
use osteon::mesh::{self, Mesh};
use osteon::print::articular::{contact, marked_area_mm2};
use osteon::print::block_supports::BlockParams;
use osteon::print::orient::{orient, pose_with_rotation, OrientParams};
use osteon::print::overhang::{ArticularMarks, OverhangParams};
use osteon::print::plate::{build_plate, PlateParams};
use osteon::print::supports::{generate, SupportParams, SupportStyle};
use serde_json::{json, Value};
use std::path::Path;

pub const ORIENT_USAGE: &str = "usage: osteon orient <mesh> [--critical-deg 45] [--directions 2000] [MARKS] [--out oriented.stl] [--json]";
pub const SUPPORTS_USAGE: &str = "usage: osteon supports <mesh in build space> [--style cone|block] [--spacing-mm 1.5 (cones) / 1 (block walls)] [--critical-deg 45] [MARKS] [--out supports.stl] [--json]";
/// The articular-mark options of `orient` and `supports`.
pub const MARKS_USAGE: &str =
    "MARKS (joint surfaces, kept facing up and free of supports; any mix):
  --marks-from-contact N.stl[,M.stl]  faces looking at neighbouring bones (same coordinates) across
                                      at most --gap-mm (3); repeat or list with commas
  --marks faces.json                  faces written by --marks-out (the oriented copy of a part has
                                      the part's faces)
  --articular X,Y,Z:R                 faces within a ball (mm); repeat for more
  --marks-out faces.json              write the marked faces";
pub const PLATE_USAGE: &str = "usage: osteon plate <implant mesh in build space> --out plate.3mf [--sizes 95,100,105] [--coupons 2] [--spacing-mm 10] [--machine 250,250,300] [--lift-mm 0] [--json]";

const VALUE_FLAGS: &[&str] = &[
    "--critical-deg",
    "--articular",
    "--directions",
    "--out",
    "--spacing-mm",
    "--sizes",
    "--coupons",
    "--machine",
    "--lift-mm",
    "--style",
    "--marks",
    "--marks-from-contact",
    "--gap-mm",
    "--marks-out",
];

fn write(path: &str, m: &Mesh, name: &str) -> Result<(), String> {
    let bytes = match extension(path).as_str() {
        "obj" => mesh::io::write_obj(m),
        "3mf" => mesh::io::write_3mf(&[(name, m)]),
        "stl" => mesh::io::write_stl_binary(m, &format!("Osteon {name} (mm, build space)")),
        other => return Err(format!("cannot write '.{other}': use .stl, .obj or .3mf")),
    }
    .map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {path}: {e}"))
}

fn extension(path: &str) -> String {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn number<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T, String> {
    match flag_value(args, flag) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("{flag} needs a number, not '{v}'")),
        None => Ok(default),
    }
}

fn numbers(text: &str, flag: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| format!("{flag}: '{s}' is not a number"))
        })
        .collect()
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

fn input<'a>(args: &'a [String], usage: &str) -> Result<&'a str, String> {
    let given = positionals(args, VALUE_FLAGS);
    if let Some(extra) = given.get(1) {
        return Err(format!(
            "unexpected argument '{extra}': give one mesh; list several neighbours as --marks-from-contact a.stl,b.stl\n{usage}"
        ));
    }
    given
        .first()
        .copied()
        .ok_or_else(|| format!("{usage}\n{MARKS_USAGE}"))
}

fn overhang_params(args: &[String]) -> Result<OverhangParams, String> {
    Ok(OverhangParams {
        critical_angle_deg: number(args, "--critical-deg", 45.0)?,
        ..Default::default()
    })
}

/// Articular marks of the command line and where they came from.
struct CliMarks {
    marks: ArticularMarks,
    /// What each `--marks-from-contact` neighbour gave.
    contact: Vec<ContactRow>,
}

/// One `--marks-from-contact` neighbour's share of the marks.
#[derive(serde::Serialize)]
struct ContactRow {
    file: String,
    /// Faces looking at it across the gap, and their area (mm²).
    faces: usize,
    area_mm2: f64,
    /// It lay over most of the part (the same bone) and was skipped.
    same_bone: bool,
}

impl CliMarks {
    /// Marked area (mm²; +0 when none: an empty sum is −0).
    fn area_mm2(&self, m: &Mesh) -> f64 {
        marked_area_mm2(m, &self.marks) + 0.0
    }

    /// The `articular` object of `--json` output: marked faces and area, and per contact
    /// neighbour its faces and area.
    fn json(&self, m: &Mesh) -> Value {
        json!({
            "faces": self.marks.count(),
            "area_mm2": self.area_mm2(m),
            "contact": self.contact,
        })
    }

    /// The marks in words: "N articular faces (A mm²; joint contact: f 12 faces 3.4 mm², …)".
    fn text(&self, m: &Mesh) -> String {
        let mut t = format!(
            "{} articular faces ({:.1} mm²",
            self.marks.count(),
            self.area_mm2(m)
        );
        let rows: Vec<String> = self
            .contact
            .iter()
            .map(|c| {
                if c.same_bone {
                    format!("{} skipped, the same bone", c.file)
                } else {
                    format!("{} {} faces {:.1} mm²", c.file, c.faces, c.area_mm2)
                }
            })
            .collect();
        if !rows.is_empty() {
            t.push_str(&format!("; joint contact: {}", rows.join(", ")));
        }
        t + ")"
    }
}

/// Every value of a flag that may be given more than once; each value may list several
/// items separated by commas.
fn repeated<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|w| w[0] == flag)
        .flat_map(|w| w[1].split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The union of the articular marks the command line asks for, on `m` (mesh space, mm):
/// `--articular X,Y,Z:R` balls, `--marks FILE.json` faces (as `--marks-out` writes them)
/// and `--marks-from-contact NEIGHBOUR` faces that look at a neighbouring bone (a mesh
/// in the same coordinates) across at most `--gap-mm` (3 mm).
fn articular(args: &[String], m: &Mesh) -> Result<CliMarks, String> {
    let mut marks = ArticularMarks::none(m.triangle_count());
    for (i, a) in args.iter().enumerate() {
        if a != "--articular" {
            continue;
        }
        let spec = args
            .get(i + 1)
            .ok_or("--articular needs X,Y,Z:R (centre and radius in mm)")?;
        let (centre, radius) = spec
            .split_once(':')
            .ok_or_else(|| format!("--articular '{spec}': write X,Y,Z:R, e.g. 10,0,5:8"))?;
        let c = numbers(centre, "--articular")?;
        let r: f64 = radius
            .trim()
            .parse()
            .map_err(|_| format!("--articular '{spec}': the radius '{radius}' is not a number"))?;
        let [x, y, z] = c[..] else {
            return Err(format!(
                "--articular '{spec}': the centre needs three numbers X,Y,Z"
            ));
        };
        let ball = ArticularMarks::from_ball(m, [x, y, z], r).map_err(|e| e.to_string())?;
        marks.union(&ball).map_err(|e| e.to_string())?;
    }
    for path in repeated(args, "--marks") {
        let file = read_marks(path, m.triangle_count())?;
        marks.union(&file).map_err(|e| e.to_string())?;
    }
    let neighbours = repeated(args, "--marks-from-contact");
    let mut contact_rows = Vec::new();
    if !neighbours.is_empty() {
        let gap_mm = number(args, "--gap-mm", 3.0)?;
        let meshes = neighbours
            .iter()
            .map(|p| crate::mesh::read(p))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&Mesh> = meshes.iter().collect();
        let found = contact(m, &refs, gap_mm).map_err(|e| e.to_string())?;
        for (i, path) in neighbours.iter().enumerate() {
            let p = found.partners.iter().find(|p| p.neighbour == i);
            let same_bone = p.is_some_and(|p| p.same_bone);
            let (faces, area_mm2) = match p {
                Some(p) if !same_bone => (p.faces, p.area_mm2),
                _ => (0, 0.0),
            };
            contact_rows.push(ContactRow {
                file: path.to_string(),
                faces,
                area_mm2,
                same_bone,
            });
        }
        if found.marks.count() == 0 {
            return Err(format!(
                "no face looks at {} across at most {gap_mm} mm, so no joint surface was found; the neighbours must be in the same coordinates as the part (patient mm, as osteon segment writes them){}; or try a larger --gap-mm",
                neighbours.join(", "),
                if found.partners.iter().any(|p| p.same_bone) {
                    " and be other bones (a neighbour lying over most of the part is the same bone, and is skipped)"
                } else {
                    ""
                }
            ));
        }
        marks.union(&found.marks).map_err(|e| e.to_string())?;
    }
    if let Some(out) = flag_value(args, "--marks-out") {
        write_marks(out, m, &marks)?;
    }
    Ok(CliMarks {
        marks,
        contact: contact_rows,
    })
}

/// Marked faces as JSON: `{"triangles": N, "faces": [t, …], "area_mm2": A}` (triangle
/// indices of the mesh, ascending). Orienting keeps the triangles in order, so the file
/// of a part fits its oriented copy too.
fn write_marks(path: &str, m: &Mesh, marks: &ArticularMarks) -> Result<(), String> {
    let faces: Vec<usize> = (0..marks.mask.len()).filter(|&t| marks.mask[t]).collect();
    let text = serde_json::to_string(&json!({
        "triangles": m.triangle_count(),
        "faces": faces,
        "area_mm2": marked_area_mm2(m, marks) + 0.0,
    }))
    .map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {path}: {e}"))
}

/// The marks of a `--marks` file (see [`write_marks`]) on a mesh of `triangles` faces.
fn read_marks(path: &str, triangles: usize) -> Result<ArticularMarks, String> {
    #[derive(serde::Deserialize)]
    struct MarksFile {
        triangles: usize,
        faces: Vec<usize>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let file: MarksFile = serde_json::from_str(&text).map_err(|e| {
        format!("{path}: not a marks file ({e}); write one with --marks-out, as {{\"triangles\": N, \"faces\": [0, 5, …]}}")
    })?;
    if file.triangles != triangles {
        return Err(format!(
            "{path} marks faces of a mesh with {} triangles, but this one has {triangles}: use the marks written for this mesh (or for the part it was oriented from)",
            file.triangles
        ));
    }
    let mut marks = ArticularMarks::none(triangles);
    for &t in &file.faces {
        let slot = marks.mask.get_mut(t).ok_or_else(|| {
            format!("{path}: face {t} does not exist (the mesh has {triangles} triangles)")
        })?;
        *slot = true;
    }
    Ok(marks)
}

/// `osteon orient`.
pub fn run_orient(args: &[String]) -> Result<(), String> {
    let path = input(args, ORIENT_USAGE)?;
    let m = crate::mesh::read(path)?;
    let cli_marks = articular(args, &m)?;
    let marks = &cli_marks.marks;
    let params = OrientParams {
        overhang: overhang_params(args)?,
        directions: number(args, "--directions", 2000)?,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let o = orient(&m, marks, &params).map_err(|e| e.to_string())?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(out) = flag_value(args, "--out") {
        let posed = pose_with_rotation(&m, marks, &o.build_from_mesh_rotation, &params.overhang)
            .map_err(|e| e.to_string())?;
        write(out, &posed.mesh, "oriented part")?;
    }
    let top: Vec<_> = o.ranked.iter().take(5).collect();
    let mut text = format!(
        "{} triangles, {}; searched {} directions in {ms:.0} ms\nbest build direction (mesh space) [{:.4}, {:.4}, {:.4}]\nsupported area: {:.1} mm² as given -> {:.1} mm² oriented; height {:.1} -> {:.1} mm; articular area looking down {:.1} -> {:.1} mm²\ntop candidates:",
        m.triangle_count(), cli_marks.text(&m), o.ranked.len(),
        o.best.up[0], o.best.up[1], o.best.up[2],
        o.as_given.supported_area_mm2, o.best.supported_area_mm2,
        o.as_given.height_mm, o.best.height_mm,
        o.as_given.articular_down_area_mm2, o.best.articular_down_area_mm2,
    );
    for (i, c) in top.iter().enumerate() {
        text.push_str(&format!(
            "\n  {}. up [{:.3}, {:.3}, {:.3}] score {:.4}, supported {:.1} mm², height {:.1} mm, articular down {:.1} mm²",
            i + 1, c.up[0], c.up[1], c.up[2], c.score, c.supported_area_mm2, c.height_mm, c.articular_down_area_mm2
        ));
    }
    let r = o.build_from_mesh;
    let matrix: Vec<Vec<f64>> = (0..4)
        .map(|i| (0..4).map(|j| r[(i, j)]).collect())
        .collect();
    emit(
        args,
        json!({
            "triangles": m.triangle_count(),
            "articular_triangles": marks.count(),
            "articular": cli_marks.json(&m),
            "directions": o.ranked.len(),
            "search_ms": ms,
            "best": o.best,
            "as_given": o.as_given,
            "top": top,
            "build_from_mesh": matrix,
        }),
        text,
    )
}

/// `osteon supports`.
pub fn run_supports(args: &[String]) -> Result<(), String> {
    let path = input(args, SUPPORTS_USAGE)?;
    let m = crate::mesh::read(path)?;
    let cli_marks = articular(args, &m)?;
    let marks = &cli_marks.marks;
    let style = match flag_value(args, "--style").map(|s| s.to_ascii_lowercase()) {
        None => SupportStyle::Cone,
        Some(s) if s == "cone" || s == "cones" => SupportStyle::Cone,
        Some(s) if s == "block" || s == "blocks" => SupportStyle::Block,
        Some(s) => {
            return Err(format!(
                "--style {s}: use cone (cone supports) or block (perforated walls with teeth)"
            ))
        }
    };
    let defaults = SupportParams::default();
    let params = match style {
        SupportStyle::Cone => SupportParams {
            overhang: overhang_params(args)?,
            spacing_mm: number(args, "--spacing-mm", defaults.spacing_mm)?,
            ..defaults
        },
        SupportStyle::Block => SupportParams {
            overhang: overhang_params(args)?,
            style,
            block: BlockParams {
                spacing_mm: number(args, "--spacing-mm", BlockParams::default().spacing_mm)?,
                ..BlockParams::default()
            },
            ..defaults
        },
    };
    let r = generate(&m, marks, &params).map_err(|e| e.to_string())?;
    if let Some(out) = flag_value(args, "--out") {
        if r.mesh.triangles.is_empty() {
            return Err(format!(
                "the part needs no supports at a {}° critical angle; nothing written to {out}",
                params.overhang.critical_angle_deg
            ));
        }
        write(out, &r.mesh, "supports")?;
    }
    let warnings = r.warnings();
    let summary = r.warning_summary();
    let what = match style {
        SupportStyle::Cone => format!(
            "{} supports (cones, {} mm spacing)",
            r.supports.len(),
            params.spacing_mm
        ),
        SupportStyle::Block => format!(
            "{} support walls ({} teeth, {} windows; {} mm spacing, {} mm thick)",
            r.walls.len(),
            r.walls.iter().map(|w| w.teeth).sum::<usize>(),
            r.walls.iter().map(|w| w.windows).sum::<usize>(),
            params.block.spacing_mm,
            params.block.wall_mm
        ),
    };
    let mut text = format!(
        "{what} under {:.1} mm² of overhang; volume {:.1} mm³, contact on the part {:.2} mm², on the plate {:.2} mm²",
        r.supported_area_mm2, r.volume_mm3, r.contact_area_mm2, r.plate_area_mm2
    );
    if marks.count() > 0 {
        text.push_str(&format!(
            "\njoint surfaces kept free of supports: {}",
            cli_marks.text(&m)
        ));
    }
    // One line per kind of warning; `--json` lists each region.
    for w in &summary {
        text.push_str(&format!("\nwarning: {w}"));
    }
    emit(
        args,
        json!({
            "style": style,
            "articular": cli_marks.json(&m),
            "supports": r.supports.len(),
            "on_plate": r.supports.iter().filter(|s| s.on_plate).count(),
            "walls": r.walls.len(),
            "walls_on_plate": r.walls.iter().filter(|w| w.on_plate).count(),
            "supported_area_mm2": r.supported_area_mm2,
            "volume_mm3": r.volume_mm3,
            "contact_area_mm2": r.contact_area_mm2,
            "plate_area_mm2": r.plate_area_mm2,
            "unsupported_regions": r.unsupported_regions,
            "warning_summary": summary,
            "warnings": warnings,
        }),
        text,
    )
}

/// `osteon plate`.
pub fn run_plate(args: &[String]) -> Result<(), String> {
    let path = input(args, PLATE_USAGE)?;
    let out = flag_value(args, "--out")
        .ok_or_else(|| format!("--out FILE.3mf is required\n{PLATE_USAGE}"))?;
    if extension(out) != "3mf" {
        return Err(format!(
            "--out {out}: the plate is written as 3MF (one object per part); name it .3mf"
        ));
    }
    let m = crate::mesh::read(path)?;
    let defaults = PlateParams::default();
    let machine = match flag_value(args, "--machine") {
        Some(t) => match numbers(t, "--machine")?[..] {
            [x, y, z] => [x, y, z],
            _ => return Err("--machine needs X,Y,Z in mm, e.g. 250,250,300".into()),
        },
        None => defaults.machine_mm,
    };
    let params = PlateParams {
        sizes_percent: match flag_value(args, "--sizes") {
            Some(t) => numbers(t, "--sizes")?,
            None => defaults.sizes_percent.clone(),
        },
        coupons: number(args, "--coupons", defaults.coupons)?,
        spacing_mm: number(args, "--spacing-mm", defaults.spacing_mm)?,
        lift_mm: number(args, "--lift-mm", defaults.lift_mm)?,
        machine_mm: machine,
        ..defaults
    };
    let plate = build_plate(&m, &params).map_err(|e| e.to_string())?;
    let bytes = plate.write_3mf().map_err(|e| e.to_string())?;
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    let mut text = format!(
        "{} objects on a {} × {} × {} mm plate -> {out} ({} bytes)",
        plate.objects.len(),
        machine[0],
        machine[1],
        machine[2],
        bytes.len()
    );
    let mut rows = Vec::new();
    for o in &plate.objects {
        let v = mesh::measure::volume_mm3(&o.mesh).map_err(|e| e.to_string())?;
        text.push_str(&format!(
            "\n  {:<14} scale {:.5}, volume {:.1} mm³, box [{:.1}, {:.1}, {:.1}] – [{:.1}, {:.1}, {:.1}] mm",
            o.name, o.linear_scale, v, o.min_mm[0], o.min_mm[1], o.min_mm[2], o.max_mm[0], o.max_mm[1], o.max_mm[2]
        ));
        rows.push(json!({ "name": o.name, "kind": o.kind, "linear_scale": o.linear_scale, "volume_mm3": v, "min_mm": o.min_mm, "max_mm": o.max_mm }));
    }
    emit(
        args,
        json!({ "out": out, "bytes": bytes.len(), "machine_mm": machine, "objects": rows }),
        text,
    )
}
