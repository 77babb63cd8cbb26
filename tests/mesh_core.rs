//! Mesh core: formats, checks and repair, measurement, mirror, BVH and distance, over
//! classes of meshes (closed, open, non-manifold, degenerate, inverted, multi-component)
//! and analytic shapes with closed-form volume and area.

use osteon::mesh::bvh::{self, Bvh};
use osteon::mesh::distance::{deviation, SignedDistance};
use osteon::mesh::io::{self, MeshError, StlFormat};
use osteon::mesh::measure::{self, area_mm2, mass_properties, principal_axes, volume_mm3};
use osteon::mesh::mirror::{mirror, mirror_sagittal, Plane};
use osteon::mesh::repair::{check, check_with_params, repair, CheckParams, RepairParams};
use osteon::mesh::shapes::{
    box_mesh, box_with_hole, concat, ellipsoid, ico_sphere, torus, translated, uv_sphere,
};
use osteon::mesh::Mesh;
use std::f64::consts::PI;
use std::io::Write;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn unit_box() -> Mesh {
    box_mesh([0.0; 3], [2.0, 3.0, 4.0])
}

fn flipped(m: &Mesh) -> Mesh {
    Mesh::new(
        m.positions_mm.clone(),
        m.triangles.iter().map(|t| [t[0], t[2], t[1]]).collect(),
    )
}

/// Rotation about a unit axis by `deg`, then translation.
fn rigid(m: &Mesh, axis: [f64; 3], deg: f64, t: [f64; 3]) -> Mesh {
    let l = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
    let [x, y, z] = axis.map(|c| c / l);
    let (s, c) = deg.to_radians().sin_cos();
    let k = 1.0 - c;
    let r = [
        [c + x * x * k, x * y * k - z * s, x * z * k + y * s],
        [y * x * k + z * s, c + y * y * k, y * z * k - x * s],
        [z * x * k - y * s, z * y * k + x * s, c + z * z * k],
    ];
    let mut out = m.clone();
    for p in out.positions_mm.iter_mut() {
        let q = *p;
        *p = [0, 1, 2].map(|i| r[i][0] * q[0] + r[i][1] * q[1] + r[i][2] * q[2] + t[i]);
    }
    out
}

fn f32_exact(m: &Mesh) -> Mesh {
    let mut o = m.clone();
    for p in o.positions_mm.iter_mut() {
        *p = p.map(|c| c as f32 as f64);
    }
    o
}

/// Triangles as sorted lists of corner coordinates (independent of vertex numbering).
fn geometric_triangles(m: &Mesh) -> Vec<[[u64; 3]; 3]> {
    let mut v: Vec<[[u64; 3]; 3]> = m
        .triangles
        .iter()
        .map(|t| {
            // keep the cyclic order, start at the smallest corner
            let c = t.map(|i| m.positions_mm[i as usize].map(|x| x.to_bits()));
            let k = (0..3).min_by_key(|&k| c[k]).unwrap();
            [c[k], c[(k + 1) % 3], c[(k + 2) % 3]]
        })
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------- closed shapes

#[test]
fn sphere_volume_and_area_match_closed_form() {
    let r = 10.0;
    let m = ico_sphere(r, 6);
    let (v, a) = measure::volume_and_area(&m).unwrap();
    assert!(rel(v, 4.0 / 3.0 * PI * r.powi(3)) < 0.005, "volume {v}");
    assert!(rel(a, 4.0 * PI * r * r) < 0.005, "area {a}");
    let uv = uv_sphere(r, 200, 400);
    assert!(rel(volume_mm3(&uv).unwrap(), 4.0 / 3.0 * PI * r.powi(3)) < 0.005);
    assert!(rel(area_mm2(&uv).unwrap(), 4.0 * PI * r * r) < 0.005);
    let rep = check(&uv).unwrap();
    assert!(rep.is_clean_solid(), "{rep:?}");
    assert_eq!(rep.genus, vec![0]);
}

#[test]
fn torus_volume_area_match_closed_form_and_genus_is_one() {
    let (big_r, r) = (30.0, 10.0);
    let m = torus(big_r, r, 400, 200);
    let (v, a) = measure::volume_and_area(&m).unwrap();
    assert!(rel(v, 2.0 * PI * PI * big_r * r * r) < 0.005, "volume {v}");
    assert!(rel(a, 4.0 * PI * PI * big_r * r) < 0.005, "area {a}");
    let rep = check(&torus(big_r, r, 48, 24)).unwrap();
    assert!(rep.is_clean_solid(), "{rep:?}");
    assert_eq!(rep.genus, vec![1]);
}

#[test]
fn box_with_hole_is_exact_and_genus_one() {
    let (o, h, z) = (40.0, 16.0, 10.0);
    let m = box_with_hole(o, h, z);
    let mp = mass_properties(&m).unwrap();
    assert!(rel(mp.volume_mm3, z * (o * o - h * h)) < 1e-12);
    assert!(rel(mp.area_mm2, 2.0 * (o * o - h * h) + 4.0 * z * (o + h)) < 1e-12);
    assert!(mp
        .centroid_mm
        .iter()
        .zip([0.0, 0.0, z / 2.0])
        .all(|(a, b)| (a - b).abs() < 1e-9));
    let rep = check(&m).unwrap();
    assert!(rep.is_clean_solid(), "{rep:?}");
    assert_eq!(rep.genus, vec![1]);
}

#[test]
fn box_measures_exactly() {
    let m = unit_box();
    let mp = mass_properties(&m).unwrap();
    assert_eq!(mp.volume_mm3, 24.0);
    assert_eq!(mp.area_mm2, 2.0 * (6.0 + 8.0 + 12.0));
    assert_eq!(mp.centroid_mm, [1.0, 1.5, 2.0]);
    assert_eq!(mp.bbox.extent_mm(), [2.0, 3.0, 4.0]);
    assert!(mp.closed);
    let rep = check(&m).unwrap();
    assert!(rep.is_clean_solid());
    assert_eq!(
        (rep.components, rep.boundary_edges, rep.genus.clone()),
        (1, 0, vec![0])
    );
}

#[test]
#[allow(clippy::needless_range_loop)]
fn principal_axes_follow_the_long_axes_and_box_moments_match() {
    let e = ellipsoid(30.0, 20.0, 10.0, 4);
    let e = rigid(&e, [0.0, 0.0, 1.0], 0.0, [5.0, -3.0, 2.0]);
    let pa = principal_axes(&e).unwrap();
    assert!(pa.solid);
    let expect = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for k in 0..3 {
        for i in 0..3 {
            assert!(
                (pa.axes[k][i] - expect[k][i]).abs() < 1e-6,
                "axis {k}: {:?}",
                pa.axes[k]
            );
        }
    }
    assert!(pa
        .centroid_mm
        .iter()
        .zip([5.0, -3.0, 2.0])
        .all(|(a, b)| (a - b).abs() < 1e-9));
    // Box a×b×c: ∫x² dV about the centroid = V a² / 12.
    let b = box_mesh([-1.0, 2.0, 0.0], [5.0, 6.0, 2.0]);
    let pa = principal_axes(&b).unwrap();
    let v = 6.0 * 4.0 * 2.0;
    for (m, d) in pa.second_moments.iter().zip([6.0f64, 4.0, 2.0]) {
        assert!(rel(*m, v * d * d / 12.0) < 1e-12, "{:?}", pa.second_moments);
    }
    // Inverted mesh: same axes.
    assert_eq!(principal_axes(&flipped(&b)).unwrap().axes, pa.axes);
}

#[test]
fn volume_and_area_are_invariant_under_rigid_transforms() {
    for m in [
        torus(30.0, 10.0, 64, 32),
        box_with_hole(40.0, 16.0, 10.0),
        ico_sphere(12.0, 3),
    ] {
        let (v0, a0) = measure::volume_and_area(&m).unwrap();
        let moved = rigid(&m, [0.3, -0.5, 0.8], 37.0, [120.0, -85.0, 310.0]);
        let (v1, a1) = measure::volume_and_area(&moved).unwrap();
        assert!(rel(v1, v0) < 1e-9, "{v0} {v1}");
        assert!(rel(a1, a0) < 1e-9, "{a0} {a1}");
    }
}

// ---------------------------------------------------------------- open meshes

fn open_box() -> Mesh {
    let mut m = unit_box();
    m.triangles
        .retain(|t| !(t == &[4, 5, 6] || t == &[4, 6, 7]));
    m
}

#[test]
fn open_box_reports_its_boundary_and_repair_closes_it() {
    let m = open_box();
    let rep = check(&m).unwrap();
    assert_eq!(rep.boundary_edges, 4);
    assert!(!rep.watertight);
    assert!(rep.genus.is_empty(), "open components have no genus");
    let mp = mass_properties(&m).unwrap();
    assert!(!mp.closed);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!(
        (rr.holes_filled, rr.hole_triangles_added, rr.holes_left_open),
        (1, 4, 0)
    );
    let rep = check(&fixed).unwrap();
    assert!(rep.is_clean_solid(), "{rep:?}");
    assert!(rel(volume_mm3(&fixed).unwrap(), 24.0) < 1e-12);
    assert!(
        rr.notes.iter().any(|n| n.contains("filled 1 holes")),
        "{:?}",
        rr.notes
    );
}

#[test]
fn holes_larger_than_the_limit_stay_open_and_are_reported() {
    let params = RepairParams {
        max_hole_edges: 3,
        ..Default::default()
    };
    let (fixed, rr) = repair(&open_box(), &params);
    assert_eq!((rr.holes_filled, rr.holes_left_open), (0, 1));
    assert_eq!(check(&fixed).unwrap().boundary_edges, 4);
}

#[test]
fn triangular_hole_is_closed_with_one_triangle() {
    let mut m = ico_sphere(5.0, 2);
    m.triangles.remove(7);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!((rr.holes_filled, rr.hole_triangles_added), (1, 1));
    assert!(check(&fixed).unwrap().is_clean_solid());
    assert_eq!(fixed.triangle_count(), ico_sphere(5.0, 2).triangle_count());
}

// ---------------------------------------------------------------- non-manifold

fn welded(m: &Mesh) -> Mesh {
    io::read_stl(&io::write_stl_binary(m, "t").unwrap()).unwrap()
}

#[test]
fn two_boxes_sharing_an_edge_report_a_non_manifold_edge() {
    let a = box_mesh([0.0; 3], [1.0, 1.0, 1.0]);
    let b = box_mesh([1.0, 1.0, 0.0], [2.0, 2.0, 1.0]);
    let m = welded(&concat(&[&a, &b]));
    let rep = check(&m).unwrap();
    assert_eq!(rep.non_manifold_edges, 1, "{rep:?}");
    assert!(!rep.watertight);
    assert_eq!(rep.boundary_edges, 0);
    // Repair never panics and keeps the volume.
    let (fixed, _) = repair(&m, &RepairParams::default());
    assert!(rel(volume_mm3(&fixed).unwrap(), 2.0) < 1e-12);
}

#[test]
fn three_triangles_on_one_edge_are_non_manifold() {
    let p = vec![
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.5, 1.0, 0.0],
        [0.5, 0.0, 1.0],
        [0.5, -1.0, 0.2],
    ];
    let m = Mesh::new(p, vec![[0, 1, 2], [1, 0, 3], [0, 1, 4]]);
    let rep = check(&m).unwrap();
    assert_eq!((rep.non_manifold_edges, rep.boundary_edges), (1, 6));
    let (_, rr) = repair(&m, &RepairParams::default());
    let _ = rr; // must not panic
}

#[test]
fn two_boxes_sharing_a_vertex_report_a_non_manifold_vertex() {
    let a = box_mesh([0.0; 3], [1.0, 1.0, 1.0]);
    let b = box_mesh([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]);
    let rep = check(&welded(&concat(&[&a, &b]))).unwrap();
    assert_eq!(
        (rep.non_manifold_vertices, rep.non_manifold_edges),
        (1, 0),
        "{rep:?}"
    );
    assert!(rep.watertight);
    assert!(!rep.is_clean_solid());
}

// ---------------------------------------------------------------- degenerate

#[test]
fn zero_area_and_duplicate_triangles_are_reported_and_removed() {
    let mut m = unit_box();
    m.positions_mm.push([1.0, 0.0, 0.0]); // collinear with 0 and 1
    m.positions_mm.push([0.5, 0.0, 0.0]);
    let n = m.positions_mm.len() as u32;
    m.triangles.push([0, 1, n - 1]); // zero area
    m.triangles.push([3, 3, 2]); // repeated corner
    m.triangles.push(m.triangles[0]); // duplicate
    m.triangles
        .push([m.triangles[1][0], m.triangles[1][2], m.triangles[1][1]]); // reversed duplicate
    let rep = check(&m).unwrap();
    assert_eq!(rep.degenerate_triangles, 2);
    assert_eq!(rep.duplicate_triangles, 2);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!(
        (
            rr.removed_degenerate_triangles,
            rr.removed_duplicate_triangles
        ),
        (2, 2)
    );
    assert_eq!(rr.removed_unreferenced_vertices, 2);
    let rep = check(&fixed).unwrap();
    assert!(rep.is_clean_solid(), "{rep:?} {:?}", rr.notes);
    assert_eq!(volume_mm3(&fixed).unwrap(), 24.0);
}

#[test]
fn close_vertices_are_welded_within_tolerance() {
    let mut m = unit_box();
    // Split vertex 6 into a near copy used by one triangle.
    m.positions_mm.push([2.0 + 1e-8, 3.0, 4.0]);
    let t = m.triangles.iter().position(|t| t.contains(&6)).unwrap();
    m.triangles[t] = m.triangles[t].map(|v| if v == 6 { 8 } else { v });
    assert!(!check(&m).unwrap().watertight);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!(
        (rr.welded_vertices, rr.removed_unreferenced_vertices),
        (1, 1)
    );
    assert!(check(&fixed).unwrap().is_clean_solid());
    assert_eq!(fixed, unit_box());
}

#[test]
fn invalid_indices_and_nan_vertices_are_errors_for_check_and_dropped_by_repair() {
    let mut m = unit_box();
    m.triangles.push([0, 1, 99]);
    let e = check(&m).unwrap_err();
    assert!(
        matches!(
            e,
            MeshError::InvalidIndex {
                triangle: 12,
                index: 99,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("repair"), "{e}");
    assert!(volume_mm3(&m).is_err() && Bvh::build(&m).is_err());
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!(rr.removed_invalid_triangles, 1);
    assert!(check(&fixed).unwrap().is_clean_solid());
    let mut m = unit_box();
    m.positions_mm[0][1] = f64::NAN;
    assert!(matches!(
        check(&m),
        Err(MeshError::NonFiniteVertex { vertex: 0 })
    ));
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert!(rr.removed_invalid_triangles > 0 && check(&fixed).is_ok());
}

// ---------------------------------------------------------------- inverted

#[test]
fn inverted_mesh_is_reported_and_turned_outward() {
    let m = flipped(&torus(30.0, 10.0, 48, 24));
    let rep = check(&m).unwrap();
    assert!(rep.consistently_oriented && rep.watertight && !rep.outward);
    assert!(rep.signed_volume_mm3 < 0.0);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!(rr.components_flipped_outward, 1);
    assert_eq!(fixed, torus(30.0, 10.0, 48, 24));
}

#[test]
fn mixed_windings_are_unified_and_volume_restored() {
    let good = ico_sphere(10.0, 3);
    let mut m = good.clone();
    for (i, t) in m.triangles.iter_mut().enumerate() {
        if i % 3 == 0 || i < 100 {
            *t = [t[0], t[2], t[1]];
        }
    }
    let rep = check(&m).unwrap();
    assert!(!rep.consistently_oriented);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert!(
        rr.flipped_for_consistency > 0 && rr.non_orientable_edges == 0,
        "{rr:?}"
    );
    assert!(check(&fixed).unwrap().is_clean_solid());
    assert_eq!(volume_mm3(&fixed).unwrap(), volume_mm3(&good).unwrap());
}

// ---------------------------------------------------------------- multi-component

#[test]
fn multi_component_mesh_reports_each_component_and_flips_only_the_inverted_one() {
    let s = ico_sphere(10.0, 3);
    let t = translated(&torus(30.0, 8.0, 48, 24), [100.0, 0.0, 0.0]);
    let b = translated(&flipped(&unit_box()), [0.0, 100.0, 0.0]);
    let m = concat(&[&s, &t, &b]);
    let rep = check(&m).unwrap();
    assert_eq!(rep.components, 3);
    assert_eq!(rep.genus, vec![0, 1, 0]);
    let (fixed, rr) = repair(&m, &RepairParams::default());
    assert_eq!(rr.components_flipped_outward, 1);
    let expect = concat(&[&s, &t, &translated(&unit_box(), [0.0, 100.0, 0.0])]);
    assert_eq!(fixed, expect);
}

#[test]
fn cavity_shell_nested_inside_stays_inward() {
    let outer = ico_sphere(20.0, 3);
    let cavity_in = flipped(&ico_sphere(5.0, 2));
    let hollow = concat(&[&outer, &cavity_in]);
    let v = volume_mm3(&hollow).unwrap();
    let (fixed, rr) = repair(&hollow, &RepairParams::default());
    assert_eq!(rr.components_flipped_outward, 0, "{:?}", rr.notes);
    assert_eq!(volume_mm3(&fixed).unwrap(), v);
    // A cavity wound outward is turned inward.
    let wrong = concat(&[&outer, &ico_sphere(5.0, 2)]);
    let (fixed, rr) = repair(&wrong, &RepairParams::default());
    assert_eq!(rr.components_flipped_outward, 1);
    assert!(rel(volume_mm3(&fixed).unwrap(), v) < 1e-12);
}

#[test]
fn overlapping_boxes_are_reported_as_self_intersecting() {
    let a = box_mesh([0.0; 3], [2.0, 2.0, 2.0]);
    let b = box_mesh([1.0, 1.3, 0.7], [3.0, 3.3, 2.7]);
    let rep = check(&concat(&[&a, &b])).unwrap();
    assert!(rep.self_intersections > 0, "{rep:?}");
    let capped = check_with_params(
        &concat(&[&a, &b]),
        &CheckParams {
            self_intersection_cap: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(capped.self_intersections == 1 && capped.self_intersections_capped);
    assert_eq!(
        check(&torus(30.0, 10.0, 64, 32))
            .unwrap()
            .self_intersections,
        0
    );
    assert_eq!(
        check(&box_with_hole(10.0, 4.0, 3.0))
            .unwrap()
            .self_intersections,
        0
    );
}

// ---------------------------------------------------------------- formats

#[test]
fn stl_binary_round_trip_is_exact() {
    let m = f32_exact(&rigid(
        &ico_sphere(10.0, 3),
        [1.0, 2.0, 3.0],
        20.0,
        [3.0, 4.0, 5.0],
    ));
    let bytes = io::write_stl_binary(&m, "osteon").unwrap();
    assert_eq!(bytes.len(), 84 + 50 * m.triangle_count());
    let (back, rep) = io::read_stl_with_report(&bytes).unwrap();
    assert_eq!(rep.format, StlFormat::Binary);
    assert_eq!(rep.header_count_mismatch, None);
    assert_eq!(back.vertex_count(), m.vertex_count());
    assert_eq!(geometric_triangles(&back), geometric_triangles(&m));
    assert_eq!(volume_mm3(&back).unwrap(), volume_mm3(&m).unwrap());
    assert_eq!(io::write_stl_binary(&back, "osteon").unwrap(), bytes);
}

#[test]
fn stl_ascii_round_trip_is_exact_in_f64() {
    let m = rigid(
        &torus(20.0, 5.0, 24, 12),
        [1.0, 0.0, 1.0],
        33.0,
        [0.1, 0.2, 0.3],
    );
    let bytes = io::write_stl_ascii(&m, "torus").unwrap();
    let (back, rep) = io::read_stl_with_report(&bytes).unwrap();
    assert_eq!(rep.format, StlFormat::Ascii);
    assert_eq!(geometric_triangles(&back), geometric_triangles(&m));
    assert_eq!(volume_mm3(&back).unwrap(), volume_mm3(&m).unwrap());
}

#[test]
fn obj_round_trip_is_identical() {
    let m = rigid(
        &box_with_hole(40.0, 16.0, 10.0),
        [0.2, 1.0, 0.1],
        71.0,
        [-3.5, 1e-7, 42.0],
    );
    let back = io::read_obj(&io::write_obj(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

#[test]
fn obj_polygons_and_negative_indices_are_read() {
    let text = b"# quad and triangle\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf -4//1 -3//1 -2//1 -1//1\nv 0 0 1\nf 1/1/1 2/2/2 5/5/5\n";
    let m = io::read_obj(text).unwrap();
    assert_eq!(m.triangles, vec![[0, 1, 2], [0, 2, 3], [0, 1, 4]]);
    let e = io::read_obj(b"v 0 0 0\nf 1 2 3\n").unwrap_err();
    assert!(matches!(e, MeshError::InvalidIndex { index: 2, .. }), "{e}");
    assert!(matches!(
        io::read_obj(b"v 0 0 nan\n"),
        Err(MeshError::Parse { line: 1, .. })
    ));
    assert!(matches!(
        io::read_obj(b"v 0 0 0\n"),
        Err(MeshError::Empty { .. })
    ));
}

#[test]
fn threemf_round_trip_keeps_named_objects_exactly() {
    let a = rigid(&ico_sphere(10.0, 2), [1.0, 1.0, 0.0], 10.0, [1.0, 2.0, 3.0]);
    let b = box_with_hole(40.0, 16.0, 10.0);
    let bytes = io::write_3mf(&[("talus <R> & co", &a), ("cage", &b)]).unwrap();
    assert_eq!(
        bytes,
        io::write_3mf(&[("talus <R> & co", &a), ("cage", &b)]).unwrap(),
        "deterministic bytes"
    );
    let back = io::read_3mf(&bytes).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[0], ("talus <R> & co".to_string(), a));
    assert_eq!(back[1], ("cage".to_string(), b));
}

fn zip_of(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in parts {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

#[test]
fn threemf_reader_accepts_prefixes_units_transforms_and_components() {
    let model = r#"<?xml version="1.0"?>
<!-- exported by some tool -->
<m:model unit="centimeter" xmlns:m="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <m:resources>
  <m:object id="7" type="model">
   <m:mesh><m:vertices>
     <m:vertex x="0" y="0" z="0"/><m:vertex x='1' y="0" z="0"/>
     <m:vertex x="0" y="1" z="0"/><m:vertex x="0" y="0" z="1"/>
   </m:vertices><m:triangles>
     <m:triangle v1="0" v2="2" v3="1"/><m:triangle v1="0" v2="1" v3="3"/>
     <m:triangle v1="0" v2="3" v3="2"/><m:triangle v1="1" v2="2" v3="3"/>
   </m:triangles></m:mesh>
  </m:object>
  <m:object id="8" name="pair"><m:components>
   <m:component objectid="7"/>
   <m:component objectid="7" transform="1 0 0 0 1 0 0 0 1 5 0 0"/>
  </m:components></m:object>
 </m:resources>
 <m:build><m:item objectid="7" transform="-1 0 0 0 1 0 0 0 1 0 0 0"/><m:item objectid="8"/></m:build>
</m:model>"#;
    let bytes = zip_of(&[("3D/model.model", model)]);
    let objs = io::read_3mf(&bytes).unwrap();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0].0, "object 7");
    let tet_cm3 = 1000.0 / 6.0; // 1 cm edge tetra in mm³
                                // Mirroring transform: winding flipped, volume stays positive.
    assert!(rel(volume_mm3(&objs[0].1).unwrap(), tet_cm3) < 1e-12);
    assert_eq!(objs[0].1.positions_mm[1], [-10.0, 0.0, 0.0]);
    assert_eq!(objs[1].0, "pair");
    assert_eq!(objs[1].1.triangle_count(), 8);
    assert_eq!(objs[1].1.positions_mm[5], [60.0, 0.0, 0.0]);
}

#[test]
fn threemf_without_model_part_is_a_clear_error() {
    let bytes = zip_of(&[
        ("[Content_Types].xml", "<Types/>"),
        ("Metadata/thumbnail.png", "x"),
    ]);
    let e = io::read_3mf(&bytes).unwrap_err();
    assert!(matches!(e, MeshError::MissingModelPart { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("3D/3dmodel.model") && msg.contains("re-export"),
        "{msg}"
    );
    assert!(matches!(
        io::read_3mf(b"not a zip at all"),
        Err(MeshError::Zip { .. })
    ));
    assert!(matches!(io::read_3mf(b""), Err(MeshError::Empty { .. })));
    let bad = zip_of(&[(
        "3D/3dmodel.model",
        "<model><resources><object id=\"1\"><mesh><vertices><vertex x=\"1\" y=\"oops\" z=\"0\"/>",
    )]);
    let e = io::read_3mf(&bad).unwrap_err();
    assert!(e.to_string().contains("oops"), "{e}");
    let bad_index = zip_of(&[("3D/3dmodel.model", "<model><resources><object id=\"1\"><mesh><vertices><vertex x=\"1\" y=\"0\" z=\"0\"/></vertices><triangles><triangle v1=\"0\" v2=\"1\" v3=\"2\"/></triangles></mesh></object></resources></model>")]);
    assert!(matches!(
        io::read_3mf(&bad_index),
        Err(MeshError::InvalidIndex { .. })
    ));
}

// ---------------------------------------------------------------- bad STL input

#[test]
fn empty_and_truncated_stl_are_clear_errors() {
    let e = io::read_stl(b"").unwrap_err();
    assert!(
        matches!(e, MeshError::Empty { .. }) && e.to_string().contains("empty"),
        "{e}"
    );
    let e = io::read_stl(&[0u8; 40]).unwrap_err();
    assert!(matches!(e, MeshError::Truncated { .. }), "{e}");
    let full = io::write_stl_binary(&unit_box(), "box").unwrap();
    let e = io::read_stl(&full[..full.len() - 7]).unwrap_err();
    assert!(matches!(e, MeshError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("declares 12 triangles"), "{e}");
    let mut zero = full[..84].to_vec();
    zero[80..84].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(io::read_stl(&zero), Err(MeshError::Empty { .. })));
}

#[test]
fn wrong_header_count_is_tolerated_and_reported() {
    let mut bytes = io::write_stl_binary(&unit_box(), "box").unwrap();
    bytes[80..84].copy_from_slice(&0u32.to_le_bytes());
    let (m, rep) = io::read_stl_with_report(&bytes).unwrap();
    assert_eq!(rep.header_count_mismatch, Some(0));
    assert_eq!(m.triangle_count(), 12);
    assert!(rep.warnings[0].contains("declares 0"), "{:?}", rep.warnings);
    assert_eq!(volume_mm3(&m).unwrap(), 24.0);
    // Header larger than the data, data length consistent with 12 records.
    bytes[80..84].copy_from_slice(&1000u32.to_le_bytes());
    let (m, rep) = io::read_stl_with_report(&bytes).unwrap();
    assert_eq!(
        (m.triangle_count(), rep.header_count_mismatch),
        (12, Some(1000))
    );
    // Count 0 and a partial record at the end: the whole records are read.
    let mut partial = bytes.clone();
    partial[80..84].copy_from_slice(&0u32.to_le_bytes());
    partial.extend_from_slice(&[1, 2, 3, 4, 5]);
    let (m, rep) = io::read_stl_with_report(&partial).unwrap();
    assert_eq!(
        (
            m.triangle_count(),
            rep.header_count_mismatch,
            rep.trailing_bytes
        ),
        (12, Some(0), 5)
    );
    // Trailing junk after the declared triangles.
    bytes[80..84].copy_from_slice(&12u32.to_le_bytes());
    bytes.extend_from_slice(b"xyz");
    let (m, rep) = io::read_stl_with_report(&bytes).unwrap();
    assert_eq!((m.triangle_count(), rep.trailing_bytes), (12, 3));
}

#[test]
fn nan_coordinates_are_refused_naming_the_triangle() {
    let mut bytes = io::write_stl_binary(&unit_box(), "box").unwrap();
    let o = 84 + 50 * 5 + 12 + 4;
    bytes[o..o + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = io::read_stl(&bytes).unwrap_err();
    assert_eq!(
        e,
        MeshError::NonFinite {
            format: "STL",
            triangle: 5
        }
    );
    assert!(e.to_string().contains("triangle 5"), "{e}");
    let ascii = b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 inf\nvertex 0 1 0\nendloop\nendfacet\nendsolid\n";
    assert_eq!(
        io::read_stl(ascii).unwrap_err(),
        MeshError::NonFinite {
            format: "STL",
            triangle: 0
        }
    );
}

#[test]
fn ascii_stl_with_garbage_names_the_line() {
    let text = b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 zero\nendloop\nendfacet\nendsolid\n";
    let e = io::read_stl(text).unwrap_err();
    assert!(matches!(e, MeshError::Parse { line: 6, .. }), "{e}");
    assert!(e.to_string().contains("'zero' is not a number"), "{e}");
    let e = io::read_stl(b"solid x\nhello world\nendsolid\n").unwrap_err();
    assert!(matches!(e, MeshError::Parse { line: 2, .. }), "{e}");
    let e = io::read_stl(b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\n").unwrap_err();
    assert!(matches!(e, MeshError::Truncated { .. }), "{e}");
    assert!(matches!(
        io::read_stl(b"solid empty\nendsolid empty\n"),
        Err(MeshError::Empty { .. })
    ));
}

#[test]
fn binary_stl_whose_header_starts_with_solid_is_read_as_binary() {
    let mut bytes = io::write_stl_binary(&unit_box(), "box").unwrap();
    bytes[..5].copy_from_slice(b"solid");
    bytes[80..84].copy_from_slice(&99u32.to_le_bytes()); // and a wrong count
    let (m, rep) = io::read_stl_with_report(&bytes).unwrap();
    assert_eq!((rep.format, m.triangle_count()), (StlFormat::Binary, 12));
    let written = io::write_stl_binary(&unit_box(), "solid box").unwrap();
    assert!(written.starts_with(b"binary solid"));
}

// ---------------------------------------------------------------- mirror

#[test]
fn mirroring_twice_is_the_identity_and_keeps_volume_positive() {
    let m = rigid(
        &box_with_hole(40.0, 16.0, 10.0),
        [1.0, 2.0, 0.5],
        25.0,
        [30.0, -10.0, 5.0],
    );
    let once = mirror(&m, &Plane::default()).unwrap();
    assert_eq!(once, mirror_sagittal(&m));
    assert_eq!(mirror(&once, &Plane::default()).unwrap(), m);
    let (v0, v1) = (volume_mm3(&m).unwrap(), volume_mm3(&once).unwrap());
    assert!(v1 > 0.0 && rel(v1, v0) < 1e-12);
    assert!(check(&once).unwrap().is_clean_solid());
    assert!(once
        .positions_mm
        .iter()
        .zip(&m.positions_mm)
        .all(|(a, b)| a[0] == -b[0]));
    // Oblique plane: identity to rounding.
    let plane = Plane {
        point_mm: [3.0, 1.0, -2.0],
        normal: [1.0, 1.0, 0.3],
    };
    let twice = mirror(&mirror(&m, &plane).unwrap(), &plane).unwrap();
    assert_eq!(twice.triangles, m.triangles);
    for (a, b) in twice.positions_mm.iter().zip(&m.positions_mm) {
        assert!((0..3).all(|i| (a[i] - b[i]).abs() < 1e-9));
    }
    assert!(rel(volume_mm3(&mirror(&m, &plane).unwrap()).unwrap(), v0) < 1e-12);
    let bad = Plane {
        point_mm: [0.0; 3],
        normal: [0.0; 3],
    };
    assert!(matches!(
        mirror(&m, &bad),
        Err(MeshError::InvalidParameter { .. })
    ));
}

// ---------------------------------------------------------------- BVH and distance

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn point(&mut self, s: f64) -> [f64; 3] {
        [
            self.next() * 2.0 * s - s,
            self.next() * 2.0 * s - s,
            self.next() * 2.0 * s - s,
        ]
    }
}

#[test]
fn bvh_closest_point_matches_brute_force() {
    let m = torus(20.0, 6.0, 40, 20);
    let bvh = Bvh::build(&m).unwrap();
    let mut rng = Lcg(7);
    for _ in 0..300 {
        let p = rng.point(35.0);
        let hit = bvh.closest_point(p).unwrap();
        let brute = (0..m.triangle_count())
            .map(|t| {
                let (q, _) = bvh::closest_point_on_triangle(p, &m.corners(t));
                ((0..3).map(|i| (q[i] - p[i]).powi(2)).sum::<f64>()).sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert_eq!(hit.distance_mm, brute);
    }
    assert!(bvh.closest_point([f64::NAN, 0.0, 0.0]).is_none());
    assert!(Bvh::build(&Mesh::default())
        .unwrap()
        .closest_point([0.0; 3])
        .is_none());
}

#[test]
fn ray_cast_finds_the_first_hit() {
    let m = unit_box();
    let bvh = Bvh::build(&m).unwrap();
    let hit = bvh
        .ray_cast([1.0, 1.5, -10.0], [0.0, 0.0, 1.0], f64::INFINITY)
        .unwrap();
    assert_eq!(hit.t, 10.0);
    assert_eq!(hit.point_mm, [1.0, 1.5, 0.0]);
    let hit = bvh
        .ray_cast([1.0, 1.5, 2.0], [0.0, 0.0, -1.0], f64::INFINITY)
        .unwrap();
    assert_eq!(hit.t, 2.0);
    assert!(bvh
        .ray_cast([5.0, 5.0, -10.0], [0.0, 0.0, 1.0], f64::INFINITY)
        .is_none());
    assert!(bvh
        .ray_cast([1.0, 1.5, -10.0], [0.0, 0.0, 1.0], 5.0)
        .is_none());
    let s = ico_sphere(10.0, 4);
    let hit = Bvh::build(&s)
        .unwrap()
        .ray_cast([0.0; 3], [0.6, 0.0, 0.8], f64::INFINITY)
        .unwrap();
    assert!(hit.t > 9.9 && hit.t <= 10.0, "{}", hit.t);
}

#[test]
fn deviation_of_a_mesh_to_itself_is_zero() {
    let m = box_with_hole(40.0, 16.0, 10.0);
    let d = deviation(&m, &m).unwrap();
    assert_eq!(
        (d.mean_mm, d.rms_mm, d.max_mm, d.symmetric_hausdorff_mm),
        (0.0, 0.0, 0.0, 0.0)
    );
    assert!(d.per_vertex_mm.iter().all(|&x| x == 0.0));
}

#[test]
fn deviation_between_concentric_spheres_is_half_a_millimetre() {
    let a = ico_sphere(10.0, 5);
    let b = ico_sphere(10.5, 5);
    let d = deviation(&a, &b).unwrap();
    assert!((d.mean_mm - 0.5).abs() < 0.01, "{}", d.mean_mm);
    assert!(
        (d.mean_signed_mm + 0.5).abs() < 0.01,
        "inside is negative: {}",
        d.mean_signed_mm
    );
    assert!((d.max_mm - 0.5).abs() < 0.01 && (d.rms_mm - 0.5).abs() < 0.01);
    assert!(d.per_vertex_mm.iter().all(|&x| x < 0.0));
    let d = deviation(&b, &a).unwrap();
    assert!(d
        .per_vertex_mm
        .iter()
        .all(|&x| x > 0.0 && (x - 0.5).abs() < 0.01));
    assert!((d.symmetric_hausdorff_mm - 0.5).abs() < 0.01);
}

#[test]
fn signed_distance_sign_is_right_at_edges_and_corners_of_a_box() {
    let sd = SignedDistance::new(&unit_box()).unwrap();
    let cases = [
        ([1.0, 1.5, 2.0], -1.0),           // centre: inside, 1 mm to the x faces
        ([-1.0, -1.0, -1.0], 3f64.sqrt()), // outside a corner
        ([-1.0, -1.0, 2.0], 2f64.sqrt()),  // outside an edge
        ([0.1, 0.1, 0.1], -0.1),           // inside near a corner
        ([3.0, 1.5, 2.0], 1.0),
    ];
    for (p, want) in cases {
        let (d, _) = sd.query(p).unwrap();
        assert!((d - want).abs() < 1e-12, "{p:?}: {d} vs {want}");
    }
}

// ---------------------------------------------------------------- real data

#[test]
fn real_talus_and_foot_stl_are_closed_outward_and_plausible() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/meshes_tlem_talus");
    if !dir.exists() {
        println!("skipped: no shared data");
        return;
    }
    for (file, lo_cm3, hi_cm3) in [("talus_r.stl", 20.0, 60.0), ("foot_r.stl", 100.0, 250.0)] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let (m, srep) = io::read_stl_with_report(&bytes).unwrap();
        let rep = check(&m).unwrap();
        let mp = mass_properties(&m).unwrap();
        let v_cm3 = mp.volume_mm3 / 1000.0;
        println!(
            "{file}: {} triangles, {} vertices, {} components, genus {:?}, volume {:.3} cm³, area {:.1} mm², extent {:?} mm, self-intersections {}",
            m.triangle_count(), m.vertex_count(), rep.components, rep.genus, v_cm3, mp.area_mm2, mp.bbox.extent_mm(), rep.self_intersections
        );
        assert_eq!(srep.header_count_mismatch, None);
        assert!(
            rep.watertight && rep.consistently_oriented && rep.outward,
            "{rep:?}"
        );
        assert!(v_cm3 > lo_cm3 && v_cm3 < hi_cm3, "{v_cm3}");
        // Round trip through every format keeps the volume.
        let v = volume_mm3(&m).unwrap();
        let back = io::read_stl(&io::write_stl_binary(&m, "rt").unwrap()).unwrap();
        assert_eq!(volume_mm3(&back).unwrap(), v);
        assert_eq!(io::read_obj(&io::write_obj(&m).unwrap()).unwrap(), m);
        assert_eq!(
            io::read_3mf(&io::write_3mf(&[(file, &m)]).unwrap()).unwrap()[0].1,
            m
        );
        // Mirrored talus stays outward with the same volume.
        let mir = mirror_sagittal(&m);
        assert!(rel(volume_mm3(&mir).unwrap(), v) < 1e-12);
    }
    // The foot's crossings are between neighbouring bones, not within one bone.
    let foot = io::read_stl(&std::fs::read(dir.join("foot_r.stl")).unwrap()).unwrap();
    let adj = osteon::mesh::adjacency::Adjacency::build(&foot).unwrap();
    let (label, count) = osteon::mesh::adjacency::triangle_components(&foot, &adj);
    let mut within = 0;
    for c in 0..count as u32 {
        let part = Mesh::new(
            foot.positions_mm.clone(),
            foot.triangles
                .iter()
                .zip(&label)
                .filter(|(_, &l)| l == c)
                .map(|(t, _)| *t)
                .collect(),
        );
        within += check(&part).unwrap().self_intersections;
    }
    println!("foot_r.stl: {within} crossing pairs within single bones");
    assert_eq!(within, 0);
    let talus = io::read_stl(&std::fs::read(dir.join("talus_r.stl")).unwrap()).unwrap();
    assert_eq!((talus.triangle_count(), talus.vertex_count()), (558, 281));
    assert!((volume_mm3(&talus).unwrap() - 32425.0).abs() < 1.0);
}

// ---------------------------------------------------------------- determinism

#[test]
fn check_and_repair_are_deterministic() {
    let mut m = concat(&[
        &open_box(),
        &translated(&flipped(&torus(10.0, 3.0, 24, 12)), [50.0, 0.0, 0.0]),
    ]);
    m.triangles.push(m.triangles[3]);
    let a = (check(&m).unwrap(), repair(&m, &RepairParams::default()));
    let b = (check(&m).unwrap(), repair(&m, &RepairParams::default()));
    assert_eq!(a, b);
}

// ---------------------------------------------------------------- speed (run with --release --ignored)

#[test]
#[ignore]
fn speed_volume_area_and_bvh_queries() {
    use std::time::Instant;
    let m = uv_sphere(50.0, 500, 1001); // ≈ 1 M triangles
    println!("sphere: {} triangles", m.triangle_count());
    let t0 = Instant::now();
    let mut acc = 0.0;
    let reps = 10;
    for _ in 0..reps {
        let (v, a) = measure::volume_and_area(&m).unwrap();
        acc += v + a;
    }
    println!(
        "volume+area: {:.2} ms per call ({acc:.0})",
        t0.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    let t0 = Instant::now();
    let mp = mass_properties(&m).unwrap();
    println!(
        "mass_properties (incl. closedness check): {:.2} ms ({:.0})",
        t0.elapsed().as_secs_f64() * 1e3,
        mp.volume_mm3
    );
    let t0 = Instant::now();
    let bvh = Bvh::build(&m).unwrap();
    println!("BVH build 1M: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    let mut rng = Lcg(1);
    let pts: Vec<[f64; 3]> = (0..100_000).map(|_| rng.point(60.0)).collect();
    let t0 = Instant::now();
    let mut s = 0.0;
    for p in &pts {
        s += bvh.closest_point(*p).unwrap().distance_mm;
    }
    println!("100k closest-point queries, uniform in the ±60 mm cube (many deep inside the r=50 sphere, the worst case): {:.1} ms (mean {:.3} mm)", t0.elapsed().as_secs_f64() * 1e3, s / 1e5);
    let near: Vec<[f64; 3]> = (0..100_000)
        .map(|_| {
            let d = rng.point(1.0);
            let l = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-9);
            let r = 50.0 + 4.0 * (rng.next() - 0.5);
            d.map(|c| c / l * r)
        })
        .collect();
    let t0 = Instant::now();
    let mut s = 0.0;
    for p in &near {
        s += bvh.closest_point(*p).unwrap().distance_mm;
    }
    println!("100k closest-point queries within ±2 mm of the surface (ICP/deviation case): {:.1} ms (mean {:.3} mm)", t0.elapsed().as_secs_f64() * 1e3, s / 1e5);
    let t0 = Instant::now();
    let rep = check(&m).unwrap();
    println!(
        "check incl. self-intersections: {:.1} ms ({:?})",
        t0.elapsed().as_secs_f64() * 1e3,
        rep.self_intersections
    );
    let t0 = Instant::now();
    let (_, rr) = repair(&m, &RepairParams::default());
    println!(
        "repair: {:.1} ms ({:?})",
        t0.elapsed().as_secs_f64() * 1e3,
        rr.notes
    );
    let t0 = Instant::now();
    let bytes = io::write_stl_binary(&m, "s").unwrap();
    let w = t0.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let back = io::read_stl(&bytes).unwrap();
    println!(
        "STL write {w:.1} ms, read+weld {:.1} ms ({} v)",
        t0.elapsed().as_secs_f64() * 1e3,
        back.vertex_count()
    );
}
