//! Print preparation, first half: overhang maps against closed forms, orientation of
//! shapes whose best pose is known, cone supports (closed, outward, grounded, clear of
//! articular faces) and the three-size build plate. The last tier uses the real talus in
//! ../shared/data (skipped when absent).

use osteon::mesh::bvh::{triangles_intersect, Bvh};
use osteon::mesh::io::{read_3mf, read_stl};
use osteon::mesh::measure::{bounding_box, volume_mm3};
use osteon::mesh::repair::check;
use osteon::mesh::shapes::{box_mesh, box_with_hole, ellipsoid};
use osteon::mesh::Mesh;
use osteon::print::orient::{
    orient, pose_with_rotation, rotation_from_euler_deg, rotation_to_z, OrientParams,
};
use osteon::print::overhang::{
    overhang_map, overhang_map_with_params, ArticularMarks, OverhangParams,
    CLASS_ARTICULAR_OVERHANG, CLASS_OVERHANG,
};
use osteon::print::plate::{build_plate, PlateError, PlateParams};
use osteon::print::supports::{generate, SupportParams, SupportResult};
use std::f64::consts::PI;

/// Closed hemisphere of radius `r`: dome over z ≥ 0, flat disk at z = 0 (normal −z).
/// `stacks` bands from the pole to the equator, `slices` around.
fn hemisphere(r: f64, stacks: usize, slices: usize) -> Mesh {
    let mut p = vec![[0.0, 0.0, r]];
    for i in 1..=stacks {
        let th = 0.5 * PI * i as f64 / stacks as f64;
        for j in 0..slices {
            let ph = 2.0 * PI * j as f64 / slices as f64;
            p.push([
                r * th.sin() * ph.cos(),
                r * th.sin() * ph.sin(),
                r * th.cos(),
            ]);
        }
    }
    p.push([0.0, 0.0, 0.0]);
    let centre = (p.len() - 1) as u32;
    let ring = |i: usize, j: usize| (1 + (i - 1) * slices + j % slices) as u32;
    let mut t = Vec::new();
    for j in 0..slices {
        t.push([0, ring(1, j), ring(1, j + 1)]);
    }
    for i in 1..stacks {
        for j in 0..slices {
            let (a, b, c, d) = (
                ring(i, j),
                ring(i, j + 1),
                ring(i + 1, j),
                ring(i + 1, j + 1),
            );
            t.push([a, c, d]);
            t.push([a, d, b]);
        }
    }
    for j in 0..slices {
        t.push([centre, ring(stacks, j + 1), ring(stacks, j)]);
    }
    Mesh::new(p, t)
}

/// Closed cylinder around the z axis from z = 0 to `h`, `n` sides.
fn cylinder(r: f64, h: f64, n: usize) -> Mesh {
    let mut p = vec![[0.0, 0.0, 0.0], [0.0, 0.0, h]];
    for z in [0.0, h] {
        for j in 0..n {
            let a = 2.0 * PI * j as f64 / n as f64;
            p.push([r * a.cos(), r * a.sin(), z]);
        }
    }
    let (b0, t0) = (2u32, 2 + n as u32);
    let n32 = n as u32;
    let mut t = Vec::new();
    for k in 0..n32 {
        let k1 = (k + 1) % n32;
        t.push([0, b0 + k1, b0 + k]);
        t.push([1, t0 + k, t0 + k1]);
        t.push([b0 + k, b0 + k1, t0 + k1]);
        t.push([b0 + k, t0 + k1, t0 + k]);
    }
    Mesh::new(p, t)
}

fn none(m: &Mesh) -> ArticularMarks {
    ArticularMarks::none(m.triangle_count())
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn test_shapes_are_closed_outward_solids() {
    for m in [hemisphere(10.0, 30, 60), cylinder(5.0, 20.0, 64)] {
        assert!(check(&m).unwrap().is_clean_solid());
    }
}

// ---------------------------------------------------------------- overhang

#[test]
fn tilted_box_supports_its_bottom_below_45_degrees_and_its_side_above() {
    let m = box_mesh([0.0; 3], [10.0, 20.0, 5.0]);
    let tilt = |deg: f64| [0.0, deg.to_radians().sin(), deg.to_radians().cos()];
    // 30° tilt: the 10 × 20 bottom is 30° from horizontal → supported; the y-min side
    // is 60° → fine.
    let a = overhang_map(&m, tilt(30.0), &none(&m)).unwrap();
    assert!(
        (a.supported_area_mm2 - 200.0).abs() < 1e-9,
        "{}",
        a.supported_area_mm2
    );
    // 60° tilt: the bottom is 60° (fine), the 10 × 5 y-min side 30° (supported).
    let b = overhang_map(&m, tilt(60.0), &none(&m)).unwrap();
    assert!(
        (b.supported_area_mm2 - 50.0).abs() < 1e-9,
        "{}",
        b.supported_area_mm2
    );
    // A steeper critical angle of 70° supports both the bottom and the side at 60°/30°.
    let p = OverhangParams {
        critical_angle_deg: 70.0,
        ..Default::default()
    };
    let c = overhang_map_with_params(&m, tilt(60.0), &none(&m), &p).unwrap();
    assert!((c.supported_area_mm2 - 250.0).abs() < 1e-9);
    // Height along the 30° direction: 20 sin 30 + 5 cos 30.
    let h = 20.0 * 0.5 + 5.0 * 30f64.to_radians().cos();
    assert!((a.height_mm - h).abs() < 1e-9);
}

#[test]
fn cylinder_on_its_side_supports_a_quarter_of_its_mantle() {
    let (r, h) = (5.0, 20.0);
    let m = cylinder(r, h, 720);
    // No plate tolerance: with the default one-layer tolerance the facets within 30 µm of
    // the lowest line would count as resting on the plate.
    let exact = OverhangParams {
        plate_tolerance_mm: 0.0,
        ..Default::default()
    };
    let side = overhang_map_with_params(&m, [1.0, 0.0, 0.0], &none(&m), &exact).unwrap();
    let want = 0.25 * 2.0 * PI * r * h;
    assert!(
        rel(side.supported_area_mm2, want) < 1e-3,
        "{} vs {want}",
        side.supported_area_mm2
    );
    let upright = overhang_map(&m, [0.0, 0.0, 1.0], &none(&m)).unwrap();
    assert_eq!(upright.supported_area_mm2, 0.0);
    // Upside down: the top disc rests on the plate now.
    let flipped = overhang_map(&m, [0.0, 0.0, -1.0], &none(&m)).unwrap();
    assert_eq!(flipped.supported_area_mm2, 0.0);
}

#[test]
fn hemisphere_dome_down_supports_the_45_degree_cap() {
    let r = 10.0;
    let m = hemisphere(r, 90, 180);
    let exact = OverhangParams {
        plate_tolerance_mm: 0.0,
        ..Default::default()
    };
    let dome_down = overhang_map_with_params(&m, [0.0, 0.0, -1.0], &none(&m), &exact).unwrap();
    let cap = 2.0 * PI * r * r * (1.0 - 45f64.to_radians().cos());
    assert!(
        rel(dome_down.supported_area_mm2, cap) < 5e-3,
        "{} vs {cap}",
        dome_down.supported_area_mm2
    );
    let flat_down = overhang_map(&m, [0.0, 0.0, 1.0], &none(&m)).unwrap();
    assert_eq!(flat_down.supported_area_mm2, 0.0);
    assert!((flat_down.height_mm - r).abs() < 1e-9);
    // Marked flat face looking down: reported as articular, not as supportable.
    let flat = ArticularMarks::from_normal_cone(&m, [0.0, 0.0, -1.0], 1.0).unwrap();
    assert_eq!(flat.count(), 180);
    let lifted = OverhangParams {
        plate_height_mm: Some(-1.0),
        ..Default::default()
    };
    let map = overhang_map_with_params(&m, [0.0, 0.0, 1.0], &flat, &lifted).unwrap();
    assert!(rel(map.articular_overhang_area_mm2, PI * r * r) < 2e-3);
    assert_eq!(map.articular_down_faces.len(), 180);
    assert_eq!(
        map.class
            .iter()
            .filter(|c| **c == CLASS_ARTICULAR_OVERHANG)
            .count(),
        180
    );
    assert!(map
        .overhang_angle_deg
        .iter()
        .all(|a| (0.0..=180.0).contains(a)));
}

// ---------------------------------------------------------------- orientation

#[test]
fn hemisphere_is_built_flat_face_down_unless_that_face_is_articular() {
    let m = hemisphere(10.0, 30, 60);
    let params = OrientParams::default();
    let free = orient(&m, &none(&m), &params).unwrap();
    assert!(free.best.up[2] > 0.999, "{:?}", free.best);
    assert_eq!(free.best.supported_area_mm2, 0.0);
    assert!(free.ranked.len() >= 1000);
    assert!(free.ranked.windows(2).all(|w| w[0].score <= w[1].score));

    let flat = ArticularMarks::from_normal_cone(&m, [0.0, 0.0, -1.0], 1.0).unwrap();
    let marked = orient(&m, &flat, &params).unwrap();
    assert!(marked.best.up[2] < -0.98, "{:?}", marked.best);
    assert_eq!(marked.best.articular_down_area_mm2, 0.0);
    // The rotation takes the chosen direction to +z: the flat face now looks up.
    let posed = pose_with_rotation(
        &m,
        &flat,
        &marked.build_from_mesh_rotation,
        &Default::default(),
    )
    .unwrap();
    assert!(posed.map.articular_down_faces.is_empty());
    let bb = bounding_box(&posed.mesh).unwrap();
    assert!(bb.min_mm[2].abs() < 1e-9);
    assert!(rel(posed.map.supported_area_mm2, marked.best.supported_area_mm2) < 1e-9);
}

#[test]
fn elongated_part_is_laid_flat_when_height_costs() {
    // A 40 × 10 × 10 bar standing on end: lying it down lowers the build, no supports.
    let m = box_mesh([0.0; 3], [10.0, 10.0, 40.0]);
    let o = orient(&m, &none(&m), &OrientParams::default()).unwrap();
    assert!(o.best.up[2].abs() < 1e-9, "{:?}", o.best);
    assert!((o.best.height_mm - 10.0).abs() < 1e-9);
    assert!((o.as_given.height_mm - 40.0).abs() < 1e-9);
}

#[test]
fn manual_rotation_updates_the_map_and_bad_matrices_are_refused() {
    let m = box_mesh([0.0; 3], [10.0, 20.0, 5.0]);
    let r = rotation_from_euler_deg(30.0, 0.0, 0.0);
    let posed = pose_with_rotation(&m, &none(&m), &r, &Default::default()).unwrap();
    // Rotating by +30° about x tilts the bottom (normal −z) to 30° from horizontal.
    assert!(
        (posed.map.supported_area_mm2 - 200.0).abs() < 1e-6,
        "{}",
        posed.map.supported_area_mm2
    );
    let mut bad = r;
    bad[(0, 0)] = 2.0;
    let e = pose_with_rotation(&m, &none(&m), &bad, &Default::default()).unwrap_err();
    assert!(e.to_string().contains("not a rotation"));
    let too_few = OrientParams {
        directions: 10,
        ..Default::default()
    };
    assert!(orient(&m, &none(&m), &too_few).is_err());
}

// ---------------------------------------------------------------- supports

/// Checks that every support is a clean solid standing on the plate or the part, with
/// its tip in the part.
fn assert_grounded(part: &Mesh, r: &SupportResult, params: &SupportParams, plate_z: f64) {
    let rep = check(&r.mesh).unwrap();
    assert!(rep.is_clean_solid(), "{rep:?}");
    assert_eq!(rep.components, r.supports.len());
    assert!(rel(rep.signed_volume_mm3, r.volume_mm3) < 1e-9);
    let bvh = Bvh::build(part).unwrap();
    let pen = params.penetration_mm;
    for s in &r.supports {
        let [x, y] = s.xy_mm;
        let top = bvh.closest_point([x, y, s.top_z_mm - pen]).unwrap();
        assert!(
            top.distance_mm < 1e-6 || s.top_z_mm - s.bottom_z_mm < 2.0 * pen + params.min_gap_mm,
            "{s:?}"
        );
        if s.on_plate {
            assert_eq!(s.bottom_z_mm, plate_z);
        } else {
            // The landing is the highest of five rays within the tip radius of the axis.
            let foot = bvh.closest_point([x, y, s.bottom_z_mm + pen]).unwrap();
            assert!(
                foot.distance_mm < params.tip_radius_mm + 1e-6,
                "{s:?} {foot:?}"
            );
        }
    }
}

fn placed(m: &Mesh, rotation: nalgebra::Matrix3<f64>) -> Mesh {
    pose_with_rotation(m, &none(m), &rotation, &Default::default())
        .unwrap()
        .mesh
}

#[test]
fn dome_down_hemisphere_gets_closed_grounded_cones() {
    let m = placed(&hemisphere(10.0, 30, 60), rotation_to_z([0.0, 0.0, -1.0]));
    let params = SupportParams::default();
    let r = generate(&m, &none(&m), &params).unwrap();
    assert!(r.supports.len() > 50, "{}", r.supports.len());
    assert!(r.supports.iter().all(|s| s.on_plate));
    assert_grounded(&m, &r, &params, 0.0);
    assert!(r.contact_area_mm2 > 0.0 && r.volume_mm3 > 0.0);
    assert!(r.unsupported_regions.is_empty() && r.warnings().is_empty());
}

#[test]
fn supports_in_a_horizontal_hole_land_on_the_part() {
    // A 20 mm frame with a 10 mm hole, turned so the hole runs along y: its ceiling is a
    // 10 × 10 mm overhang over the hole's floor.
    let m = placed(
        &box_with_hole(20.0, 10.0, 10.0),
        rotation_from_euler_deg(90.0, 0.0, 0.0),
    );
    let params = SupportParams {
        spacing_mm: 1.0,
        ..Default::default()
    };
    let r = generate(&m, &none(&m), &params).unwrap();
    assert!(
        (r.supported_area_mm2 - 100.0).abs() < 1e-6,
        "{}",
        r.supported_area_mm2
    );
    assert!(!r.supports.is_empty());
    let on_plate: Vec<_> = r.supports.iter().filter(|s| s.on_plate).collect();
    assert!(on_plate.is_empty(), "{on_plate:?}");
    assert!(r
        .supports
        .iter()
        .all(|s| (s.top_z_mm - s.bottom_z_mm - 10.2).abs() < 1e-6));
    assert_grounded(&m, &r, &params, 0.0);
}

#[test]
fn supports_never_touch_articular_faces_and_articular_overhangs_are_reported() {
    let m = placed(&hemisphere(10.0, 30, 60), rotation_to_z([0.0, 0.0, -1.0]));
    // A 4 mm patch of the dome's underside, off-centre, is a joint surface.
    let marks = ArticularMarks::from_ball(&m, [3.0, 0.0, 0.5], 4.0).unwrap();
    assert!(marks.count() > 10);
    let params = SupportParams::default();
    let r = generate(&m, &marks, &params).unwrap();
    assert!(!r.supports.is_empty());
    assert_grounded(&m, &r, &params, 0.0);
    let regions: Vec<_> = r
        .unsupported_regions
        .iter()
        .filter(|u| u.reason == "articular")
        .collect();
    assert_eq!(regions.len(), 1, "{:?}", r.unsupported_regions);
    assert!(regions[0].area_mm2 > 1.0);
    assert!(r.warnings().iter().any(|w| w.contains("articular")));
    // No support vertex near an articular face, no support triangle crossing one.
    let art_tris: Vec<[u32; 3]> = m
        .triangles
        .iter()
        .zip(&marks.mask)
        .filter(|(_, k)| **k)
        .map(|(t, _)| *t)
        .collect();
    let art = Mesh::new(m.positions_mm.clone(), art_tris);
    let art_bvh = Bvh::build(&art).unwrap();
    for p in &r.mesh.positions_mm {
        let d = art_bvh.closest_point(*p).unwrap().distance_mm;
        assert!(
            d > 0.5 * params.articular_clearance_mm,
            "support vertex {p:?} is {d} mm from an articular face"
        );
    }
    let sup_bvh = Bvh::build(&r.mesh).unwrap();
    let mut cand = Vec::new();
    for t in 0..art.triangle_count() {
        let c = art.corners(t);
        let lo = [0, 1, 2].map(|k| c[0][k].min(c[1][k]).min(c[2][k]));
        let hi = [0, 1, 2].map(|k| c[0][k].max(c[1][k]).max(c[2][k]));
        sup_bvh.query_box(lo, hi, &mut cand);
        for &s in &cand {
            assert!(!triangles_intersect(&c, &r.mesh.corners(s as usize)));
        }
    }
    // Without marks the same patch gets supports: the marks are what kept them away.
    let free = generate(&m, &none(&m), &params).unwrap();
    assert!(free.supports.len() > r.supports.len());
}

// ---------------------------------------------------------------- plate

#[test]
fn three_sizes_and_coupons_fit_on_the_plate_without_overlap() {
    let implant = ellipsoid(25.0, 18.0, 12.0, 3);
    let params = PlateParams::default();
    let plate = build_plate(&implant, &params).unwrap();
    let names: Vec<&str> = plate.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "implant 95 %",
            "implant 100 %",
            "implant 105 %",
            "coupon 1",
            "coupon 2"
        ]
    );
    let v0 = volume_mm3(&implant).unwrap();
    for (o, want) in plate.objects.iter().zip([0.95, 1.0, 1.05]) {
        let v = volume_mm3(&o.mesh).unwrap();
        assert!(
            ((v / v0) - want).abs() < 1e-3 * want,
            "{}: {}",
            o.name,
            v / v0
        );
    }
    let [mx, my, mz] = params.machine_mm;
    for (i, a) in plate.objects.iter().enumerate() {
        let bb = bounding_box(&a.mesh).unwrap();
        assert!(
            bb.min_mm[2].abs() < 1e-9,
            "{} does not rest on the plate",
            a.name
        );
        assert!(bb.min_mm[0] >= 0.0 && bb.min_mm[1] >= 0.0);
        assert!(bb.max_mm[0] <= mx && bb.max_mm[1] <= my && bb.max_mm[2] <= mz);
        for b in &plate.objects[i + 1..] {
            let bb2 = bounding_box(&b.mesh).unwrap();
            let apart =
                (0..2).any(|k| bb.max_mm[k] <= bb2.min_mm[k] || bb2.max_mm[k] <= bb.min_mm[k]);
            assert!(apart, "{} overlaps {}", a.name, b.name);
        }
    }
    // Coupons stand vertically (the pull axis is the build direction).
    let coupon = bounding_box(&plate.objects[3].mesh).unwrap().extent_mm();
    assert!(coupon[2] > 100.0 && coupon[0] == 10.0 && coupon[1] == 6.0);
    // The plate round-trips through 3MF with its names.
    let bytes = plate.write_3mf().unwrap();
    let back = read_3mf(&bytes).unwrap();
    assert_eq!(
        back.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        names
    );
}

#[test]
fn too_large_part_is_refused_naming_its_size() {
    let big = box_mesh([0.0; 3], [242.0, 60.0, 30.0]);
    let e = build_plate(&big, &PlateParams::default()).unwrap_err();
    assert!(matches!(e, PlateError::DoesNotFit(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("implant 100 %") && msg.contains("250 × 250 × 300"),
        "{msg}"
    );
    // Fits alone, but five parts of this depth need more plate than there is.
    let deep = box_mesh([0.0; 3], [200.0, 70.0, 30.0]);
    let e = build_plate(&deep, &PlateParams::default()).unwrap_err();
    assert!(e.to_string().contains("95 / 100 / 105"), "{e}");
    // A smaller machine refuses a tall part naming its height.
    let tall = box_mesh([0.0; 3], [20.0, 20.0, 120.0]);
    let small = PlateParams {
        machine_mm: [100.0, 100.0, 100.0],
        coupons: 0,
        ..Default::default()
    };
    let e = build_plate(&tall, &small).unwrap_err();
    assert!(
        e.to_string().contains("implant 95 %") && e.to_string().contains("118.0"),
        "{e}"
    );
}

// ---------------------------------------------------------------- real talus

#[test]
fn real_talus_is_oriented_and_supported() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/meshes_tlem_talus/talus_r.stl");
    if !path.exists() {
        println!("skipped: no shared data");
        return;
    }
    let talus = read_stl(&std::fs::read(path).unwrap()).unwrap();
    let marks = none(&talus);
    let o = orient(&talus, &marks, &OrientParams::default()).unwrap();
    assert!(o.best.supported_area_mm2 <= o.as_given.supported_area_mm2);
    let posed = pose_with_rotation(
        &talus,
        &marks,
        &o.build_from_mesh_rotation,
        &Default::default(),
    )
    .unwrap();
    let params = SupportParams::default();
    let s = generate(&posed.mesh, &marks, &params).unwrap();
    assert_grounded(&posed.mesh, &s, &params, 0.0);
    assert_eq!(s.dropped_other, 0);
    // As given (resting on its lowest point), for the before/after comparison.
    let given = generate(&talus, &marks, &params).unwrap();
    let z0 = bounding_box(&talus).unwrap().min_mm[2];
    assert_grounded(&talus, &given, &params, z0);
    assert_eq!(given.dropped_other, 0, "{:?}", given.warnings());
    println!(
        "talus as given: {} supports, volume {:.1} mm³, contact {:.2} mm²",
        given.supports.len(),
        given.volume_mm3,
        given.contact_area_mm2
    );
    assert_eq!(
        posed
            .map
            .class
            .iter()
            .filter(|c| **c == CLASS_OVERHANG)
            .count()
            > 0,
        !s.supports.is_empty()
    );
    println!(
        "talus: supported area as given {:.1} mm² (height {:.1} mm), best {:.1} mm² (height {:.1} mm, up {:?}); {} supports, volume {:.1} mm³, contact {:.2} mm², plate {:.2} mm², warnings {:?}",
        o.as_given.supported_area_mm2, o.as_given.height_mm, o.best.supported_area_mm2, o.best.height_mm,
        o.best.up, s.supports.len(), s.volume_mm3, s.contact_area_mm2, s.plate_area_mm2, s.warnings()
    );
    // Mark the surface that looked down in the best pose as articular: the search must
    // turn it away from the plate.
    let art = ArticularMarks::from_normal_cone(&talus, o.best.up.map(|c| -c), 40.0).unwrap();
    let before = overhang_map(&talus, o.best.up, &art).unwrap();
    let o2 = orient(&talus, &art, &OrientParams::default()).unwrap();
    println!(
        "talus with {} articular faces ({:.1} mm² looking down in the old pose): best up {:?}, articular down {:.1} mm², supported {:.1} mm², height {:.1} mm",
        art.count(), before.articular_down_area_mm2, o2.best.up, o2.best.articular_down_area_mm2,
        o2.best.supported_area_mm2, o2.best.height_mm
    );
    assert!(before.articular_down_area_mm2 > 100.0);
    assert!(o2.best.articular_down_area_mm2 < 0.05 * before.articular_down_area_mm2);
    let posed2 = pose_with_rotation(
        &talus,
        &art,
        &o2.build_from_mesh_rotation,
        &Default::default(),
    )
    .unwrap();
    let s2 = generate(&posed2.mesh, &art, &params).unwrap();
    assert_grounded(&posed2.mesh, &s2, &params, 0.0);
}

// ---------------------------------------------------------------- CLI

#[test]
fn cli_orients_supports_and_plates_a_part() {
    let dir = std::env::temp_dir().join(format!("osteon-print-orient-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let part = dir.join("dome.stl");
    let m = hemisphere(10.0, 20, 40);
    std::fs::write(
        &part,
        osteon::mesh::io::write_stl_binary(&m, "dome").unwrap(),
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
    // Flat face articular (a ball around its centre): the dome goes down.
    let (ok, out, err) = run(&[
        "orient",
        &p("dome.stl"),
        "--articular",
        "0,0,0:9",
        "--out",
        &p("oriented.stl"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["best"]["up"][2].as_f64().unwrap() < -0.98, "{out}");
    assert!(v["directions"].as_u64().unwrap() >= 1000);
    let (ok, out, err) = run(&[
        "supports",
        &p("oriented.stl"),
        "--spacing-mm",
        "2",
        "--out",
        &p("supports.stl"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["supports"].as_u64().unwrap() > 10 && v["volume_mm3"].as_f64().unwrap() > 0.0);
    let sup = read_stl(&std::fs::read(dir.join("supports.stl")).unwrap()).unwrap();
    assert!(check(&sup).unwrap().watertight);
    let (ok, _, err) = run(&[
        "plate",
        &p("oriented.stl"),
        "--coupons",
        "1",
        "--out",
        &p("plate.3mf"),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        read_3mf(&std::fs::read(dir.join("plate.3mf")).unwrap())
            .unwrap()
            .len(),
        4
    );
    let (ok, _, err) = run(&[
        "plate",
        &p("oriented.stl"),
        "--machine",
        "20,20,20",
        "--out",
        &p("small.3mf"),
    ]);
    assert!(!ok && err.contains("does not fit"), "{err}");
    let (ok, _, err) = run(&["orient", &p("dome.stl"), "--articular", "1,2:3"]);
    assert!(!ok && err.contains("three numbers"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Speed figure for the report (no assertion on time): the talus subdivided to about
/// 143 k triangles. Run with `cargo test --release --test print_orient -- --ignored --nocapture`.
#[test]
#[ignore]
fn orient_speed_on_a_subdivided_talus() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/meshes_tlem_talus/talus_r.stl");
    if !path.exists() {
        println!("skipped: no shared data");
        return;
    }
    let mut m = read_stl(&std::fs::read(path).unwrap()).unwrap();
    while m.triangle_count() < 100_000 {
        m = subdivide(&m);
    }
    let marks = none(&m);
    let start = std::time::Instant::now();
    let o = orient(&m, &marks, &OrientParams::default()).unwrap();
    let orient_s = start.elapsed().as_secs_f64();
    let posed =
        pose_with_rotation(&m, &marks, &o.build_from_mesh_rotation, &Default::default()).unwrap();
    let start = std::time::Instant::now();
    let s = generate(&posed.mesh, &marks, &SupportParams::default()).unwrap();
    let sup_s = start.elapsed().as_secs_f64();
    println!(
        "{} triangles: orient {} directions in {:.3} s; {} supports in {:.3} s",
        m.triangle_count(),
        o.ranked.len(),
        orient_s,
        s.supports.len(),
        sup_s
    );
}

/// Midpoint subdivision (each triangle into four; the surface is unchanged).
fn subdivide(m: &Mesh) -> Mesh {
    let mut p = m.positions_mm.clone();
    let mut mid = std::collections::BTreeMap::new();
    let mut t = Vec::with_capacity(m.triangle_count() * 4);
    for tri in &m.triangles {
        let mut k = [0u32; 3];
        for e in 0..3 {
            let (a, b) = (tri[e], tri[(e + 1) % 3]);
            k[e] = *mid.entry((a.min(b), a.max(b))).or_insert_with(|| {
                let (x, y) = (p[a as usize], p[b as usize]);
                p.push([0, 1, 2].map(|i| 0.5 * (x[i] + y[i])));
                (p.len() - 1) as u32
            });
        }
        t.push([tri[0], k[0], k[2]]);
        t.push([tri[1], k[1], k[0]]);
        t.push([tri[2], k[2], k[1]]);
        t.push(k);
    }
    Mesh::new(p, t)
}
