//! Block supports (perforated walls with teeth, issue 6): a floating slab against closed
//! forms (volume, contact and plate area), a bridge whose walls land on the part, a
//! sphere, articular faces kept clear, every support layer slicing into closed polygons,
//! and the real talus tier (../shared/data/meshes_tlem_talus, skipped when absent).

use osteon::mesh::bvh::{triangles_intersect, Bvh};
use osteon::mesh::io::read_stl;
use osteon::mesh::repair::check;
use osteon::mesh::shapes::{box_mesh, box_with_hole, ico_sphere, translated};
use osteon::mesh::Mesh;
use osteon::print::block_supports::{BlockParams, SupportWall, HOLE_MARGIN_MM};
use osteon::print::orient::{orient, pose_with_rotation, rotation_to_z, OrientParams};
use osteon::print::overhang::{
    overhang_map_with_params, ArticularMarks, OverhangParams, CLASS_OVERHANG,
};
use osteon::print::slice::{slice, twice_area, SliceParams};
use osteon::print::supports::{generate, SupportParams, SupportResult, SupportStyle};
use std::path::PathBuf;

fn block(plate: Option<f64>) -> SupportParams {
    SupportParams {
        style: SupportStyle::Block,
        overhang: OverhangParams {
            plate_height_mm: plate,
            ..Default::default()
        },
        ..SupportParams::default()
    }
}

fn none(m: &Mesh) -> ArticularMarks {
    ArticularMarks::none(m.triangle_count())
}

/// The support mesh is clean, one body per wall, its volume the reported one, and every
/// layer slices into closed polygons whose summed area gives the volume back.
fn assert_clean_and_sliceable(r: &SupportResult, what: &str) {
    let rep = check(&r.mesh).unwrap();
    assert!(rep.is_clean_solid(), "{what}: {rep:?}");
    assert_eq!(rep.components, r.walls.len(), "{what}");
    assert!((rep.signed_volume_mm3 - r.volume_mm3).abs() <= 1e-9 * r.volume_mm3.max(1.0));
    let s = slice(&r.mesh, &SliceParams { layer_um: 30.0 }).unwrap();
    assert!(!s.layers.is_empty());
    for l in &s.layers {
        for p in &l.polygons {
            let n = p.points.len();
            assert!(n >= 3, "{what} layer {}: {n} points", l.index);
            for k in 0..n {
                assert_ne!(p.points[k], p.points[(k + 1) % n], "{what}: repeated point");
            }
            assert!(twice_area(&p.points) != 0, "{what}: zero-area polygon");
            // Walls are disjoint bodies: no polygon is a hole (no window is cut
            // horizontally, and bodies never nest).
            assert!(!p.is_hole, "{what} layer {}: a hole", l.index);
        }
    }
    let from_layers: f64 = s.layers.iter().map(|l| l.area_mm2).sum::<f64>() * 0.03;
    assert!(
        (from_layers / r.volume_mm3 - 1.0).abs() < 0.02,
        "{what}: layers {from_layers} vs mesh {}",
        r.volume_mm3
    );
}

/// The support surface crosses the part's surface only through non-articular overhang
/// faces (teeth) and up-facing faces (landings), and no support vertex is near an
/// articular face.
fn assert_touches_only_overhangs(
    part: &Mesh,
    marks: &ArticularMarks,
    r: &SupportResult,
    p: &SupportParams,
) {
    let map = overhang_map_with_params(part, [0.0, 0.0, 1.0], marks, &p.overhang).unwrap();
    let sup = Bvh::build(&r.mesh).unwrap();
    let mut cand = Vec::new();
    let mut touched = 0;
    for t in 0..part.triangle_count() {
        let c = part.corners(t);
        let lo = [0, 1, 2].map(|k| c[0][k].min(c[1][k]).min(c[2][k]));
        let hi = [0, 1, 2].map(|k| c[0][k].max(c[1][k]).max(c[2][k]));
        sup.query_box(lo, hi, &mut cand);
        let hit = cand
            .iter()
            .any(|&s| triangles_intersect(&c, &r.mesh.corners(s as usize)));
        if !hit {
            continue;
        }
        touched += 1;
        let e1 = [0, 1, 2].map(|k| c[1][k] - c[0][k]);
        let e2 = [0, 1, 2].map(|k| c[2][k] - c[0][k]);
        let nz = e1[0] * e2[1] - e1[1] * e2[0];
        assert!(!marks.mask[t], "supports cross articular face {t}");
        assert!(
            map.class[t] == CLASS_OVERHANG || nz > 0.0,
            "supports cross face {t} (class {}, normal z {nz})",
            map.class[t]
        );
    }
    assert!(touched > 0);
    if marks.count() > 0 {
        let tris: Vec<[u32; 3]> = part
            .triangles
            .iter()
            .zip(&marks.mask)
            .filter(|(_, k)| **k)
            .map(|(t, _)| *t)
            .collect();
        let art = Bvh::build(&Mesh::new(part.positions_mm.clone(), tris)).unwrap();
        for v in &r.mesh.positions_mm {
            let d = art.closest_point(*v).unwrap().distance_mm;
            assert!(
                d > 0.5 * p.articular_clearance_mm,
                "support vertex {v:?} is {d} mm from an articular face"
            );
        }
    }
}

#[test]
fn a_floating_slab_gets_perforated_walls_of_the_closed_form_volume() {
    // Underside at z = 5, 6 × 3 mm, off the lattice's round numbers.
    let slab = box_mesh([0.1, 0.1, 5.0], [6.1, 3.1, 6.0]);
    let p = block(Some(0.0));
    let r = generate(&slab, &none(&slab), &p).unwrap();
    assert!(r.supports.is_empty());
    // x-walls at y = 0.5137, 1.5137, 2.5137; y-walls at x = 0.5137 … 5.5137, each in the
    // two segments between x-walls that lie under the slab.
    let along_x = r.walls.iter().filter(|w| w.along_x).count();
    assert_eq!(along_x, 3, "{:?}", r.walls);
    assert_eq!(r.walls.len() - along_x, 12, "{:?}", r.walls);
    assert!(r.walls.iter().all(|w| w.on_plate && w.bottom_z_mm == 0.0));
    assert!(r.walls.iter().all(|w| (w.top_z_mm - 5.1).abs() < 1e-12));
    assert_clean_and_sliceable(&r, "slab");
    assert_touches_only_overhangs(&slab, &none(&slab), &r, &p);
    assert!(r.unsupported_regions.is_empty());
    // Closed form per cell of length L (surface 5, plate 0, valley 0.4 below, tip 0.1
    // above): profile 4.9·L, minus windows 0.6·L × 0.6 at z = 0.5, 1.7, 2.9 (the row at
    // 4.1 would end above 4.85 − margin).
    assert_eq!(HOLE_MARGIN_MM, 0.3);
    let b = BlockParams::default();
    let length: f64 = r.walls.iter().map(|w| w.to_mm - w.from_mm).sum();
    let teeth: usize = r.walls.iter().map(|w| w.teeth).sum();
    let windows: usize = r.walls.iter().map(|w| w.windows).sum();
    assert_eq!(windows, 3 * teeth);
    let want_volume = b.wall_mm * (4.9 - 3.0 * 0.36) * length;
    assert!(
        (r.volume_mm3 - want_volume).abs() < 1e-6,
        "{} vs {want_volume}",
        r.volume_mm3
    );
    assert!((r.contact_area_mm2 - 0.2 * b.wall_mm * length).abs() < 1e-9);
    assert!((r.plate_area_mm2 - b.wall_mm * length).abs() < 1e-9);
    // x-walls run over 11 cells of 0.5 mm from 0.11855, inside the slab.
    let w: &SupportWall = r.walls.iter().find(|w| w.along_x).unwrap();
    assert_eq!(w.teeth, 11);
    assert!((w.from_mm - 0.11855).abs() < 1e-9 && (w.to_mm - 5.61855).abs() < 1e-9);
    println!(
        "slab: {} walls, {teeth} teeth, {windows} windows, volume {:.3} mm³, contact {:.3} mm², plate {:.3} mm²",
        r.walls.len(),
        r.volume_mm3,
        r.contact_area_mm2,
        r.plate_area_mm2
    );
}

#[test]
fn walls_under_a_bridge_land_on_the_part_below() {
    // A square frame stood up: its hole (axis along y) has a ceiling at z = 8.5 and a
    // floor at z = 3.5 inside a 12 mm block resting on the plate.
    let frame = box_with_hole(12.0, 5.0, 4.0);
    let m = pose_with_rotation(
        &frame,
        &none(&frame),
        &osteon::print::orient::rotation_from_euler_deg(90.0, 0.0, 0.0),
        &Default::default(),
    )
    .unwrap()
    .mesh;
    let p = block(None);
    let r = generate(&m, &none(&m), &p).unwrap();
    assert!(!r.walls.is_empty());
    for w in &r.walls {
        assert!(!w.on_plate, "{w:?}");
        assert!(
            (w.bottom_z_mm - (3.5 - p.penetration_mm)).abs() < 1e-9,
            "{w:?}"
        );
        assert!(
            (w.top_z_mm - (8.5 + p.penetration_mm)).abs() < 1e-9,
            "{w:?}"
        );
    }
    assert_eq!(r.plate_area_mm2, 0.0);
    assert_clean_and_sliceable(&r, "bridge");
    assert_touches_only_overhangs(&m, &none(&m), &r, &p);
}

#[test]
fn a_sphere_is_supported_under_its_lower_cap_only() {
    let s = translated(&ico_sphere(8.0, 4), [0.3, -0.2, 8.0]);
    let p = block(None);
    let r = generate(&s, &none(&s), &p).unwrap();
    assert!(r.walls.len() > 20, "{}", r.walls.len());
    assert_clean_and_sliceable(&r, "sphere");
    assert_touches_only_overhangs(&s, &none(&s), &r, &p);
    // Tooth tips sit at most at the 45° line: z ≤ 8 − 8·cos 45° + penetration.
    let cap = 8.0 - 8.0 * 0.5f64.sqrt() + p.penetration_mm + 0.05;
    assert!(r.walls.iter().all(|w| w.top_z_mm <= cap), "{:?}", r.walls);
    // The supported cap's horizontal area is π(8 sin 45°)² ≈ 100 mm²; walls 1 mm apart
    // in two directions give about 2 × area / spacing of wall length.
    let length: f64 = r.walls.iter().map(|w| w.to_mm - w.from_mm).sum();
    assert!(length > 100.0 && length < 210.0, "{length}");
    assert!(r.volume_mm3 > 0.0 && r.contact_area_mm2 > 0.0);
}

#[test]
fn articular_faces_are_never_touched_and_are_reported() {
    let s = translated(&ico_sphere(8.0, 4), [0.0, 0.0, 8.0]);
    let marks = ArticularMarks::from_ball(&s, [3.0, 0.0, 1.0], 3.0).unwrap();
    assert!(marks.count() > 5);
    let p = block(None);
    let r = generate(&s, &marks, &p).unwrap();
    let free = generate(&s, &none(&s), &p).unwrap();
    assert!(r.volume_mm3 < free.volume_mm3);
    assert!(r
        .unsupported_regions
        .iter()
        .any(|u| u.reason == "articular"));
    assert_clean_and_sliceable(&r, "sphere with a joint patch");
    assert_touches_only_overhangs(&s, &marks, &r, &p);
}

#[test]
fn bad_block_parameters_are_refused() {
    let m = box_mesh([0.0, 0.0, 1.0], [2.0, 2.0, 2.0]);
    for (b, word) in [
        (
            BlockParams {
                wall_mm: 0.05,
                ..Default::default()
            },
            "wall thickness",
        ),
        (
            BlockParams {
                spacing_mm: 0.6,
                ..Default::default()
            },
            "no room",
        ),
        (
            BlockParams {
                hole_pitch_mm: 0.5,
                ..Default::default()
            },
            "window pitch",
        ),
    ] {
        let p = SupportParams {
            block: b,
            ..block(Some(0.0))
        };
        let e = generate(&m, &none(&m), &p).unwrap_err().to_string();
        assert!(e.contains(word), "{e}");
    }
}

// ------------------------------------------------------------------ real data tier

#[test]
fn real_talus_gets_block_supports_clear_of_its_joint_surfaces() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/meshes_tlem_talus/talus_r.stl");
    if !path.is_file() {
        println!("skipped: no shared data");
        return;
    }
    let talus = read_stl(&std::fs::read(path).unwrap()).unwrap();
    let o = orient(&talus, &none(&talus), &OrientParams::default()).unwrap();
    // Joint surfaces: faces looking away from the chosen build direction within 40°
    // would be the worst case; mark faces looking along −x instead (a side of the bone).
    let marks = ArticularMarks::from_normal_cone(&talus, [-1.0, 0.0, 0.0], 50.0).unwrap();
    let posed = pose_with_rotation(
        &talus,
        &marks,
        &rotation_to_z(o.best.up),
        &Default::default(),
    )
    .unwrap();
    let part = posed.mesh;
    let p = block(None);
    let r = generate(&part, &marks, &p).unwrap();
    let free = generate(&part, &none(&part), &p).unwrap();
    println!(
        "talus ({} triangles): {} walls, {} teeth, {} windows, volume {:.1} mm³, contact {:.2} mm², plate {:.2} mm², supported {:.1} mm²; without marks {} walls, volume {:.1} mm³; warnings {:?}",
        part.triangle_count(),
        r.walls.len(),
        r.walls.iter().map(|w| w.teeth).sum::<usize>(),
        r.walls.iter().map(|w| w.windows).sum::<usize>(),
        r.volume_mm3,
        r.contact_area_mm2,
        r.plate_area_mm2,
        r.supported_area_mm2,
        free.walls.len(),
        free.volume_mm3,
        r.warnings()
    );
    assert!(!r.walls.is_empty());
    assert_clean_and_sliceable(&r, "talus");
    assert_clean_and_sliceable(&free, "talus without marks");
    assert_touches_only_overhangs(&part, &marks, &r, &p);
    // Plausible: tooth contact is a fifth of the wall length times the thickness, and
    // walls 1 mm apart in two directions under the supported area give about twice that
    // area in wall length.
    let length: f64 = free.walls.iter().map(|w| w.to_mm - w.from_mm).sum();
    assert!(
        length > 0.5 * free.supported_area_mm2 && length < 2.5 * free.supported_area_mm2,
        "{length} mm of wall under {} mm²",
        free.supported_area_mm2
    );
    assert!(free.volume_mm3 > 0.1 * length && free.volume_mm3 < 0.25 * 60.0 * length);
    assert!(r.volume_mm3 <= free.volume_mm3);
}

// ------------------------------------------------------------------ command line

#[test]
fn cli_writes_block_supports_and_refuses_an_unknown_style() {
    let dir = std::env::temp_dir().join(format!("osteon-print-block-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let part = dir.join("slab.stl");
    let slab = box_mesh([0.1, 0.1, 5.0], [6.1, 3.1, 6.0]);
    std::fs::write(
        &part,
        osteon::mesh::io::write_stl_binary(&slab, "slab").unwrap(),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_osteon"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let p = |f: &str| dir.join(f).to_string_lossy().to_string();
    // The plate is at the part's lowest point: a post beside the slab reaches z = 0.
    let stand =
        osteon::mesh::shapes::concat(&[&slab, &box_mesh([10.0, 0.0, 0.0], [11.0, 1.0, 6.0])]);
    std::fs::write(
        dir.join("table.stl"),
        osteon::mesh::io::write_stl_binary(&stand, "table").unwrap(),
    )
    .unwrap();
    let (ok, out, err) = run(&[
        "supports",
        &p("table.stl"),
        "--style",
        "block",
        "--out",
        &p("walls.stl"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["walls"].as_u64().unwrap(), 15, "{out}");
    assert_eq!(v["supports"].as_u64().unwrap(), 0);
    let walls = read_stl(&std::fs::read(dir.join("walls.stl")).unwrap()).unwrap();
    let rep = check(&walls).unwrap();
    assert!(rep.watertight && rep.components == 15, "{rep:?}");
    let (ok, _, err) = run(&["supports", &p("slab.stl"), "--style", "tree"]);
    assert!(
        !ok && err.contains("use cone") && err.contains("block"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
