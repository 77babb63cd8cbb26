//! The contours and hatch region of `print::hatch` (exact erosion: `print::inset` and
//! `print::scanline`) against the general polygon offset of `i_overlay` they replaced,
//! layer by layer on a dense marching-cubes talus and on the real talus of
//! ../shared/data, plus the geometric promises themselves (contours at the inset from
//! the outline, hatch vectors inside the eroded region and covering it).

use osteon::mesh::io;
use osteon::print::hatch::{
    hatch_layer, offset_loops, offset_loops_by_overlay, scan_polygon_pieces, HatchParams,
};
use osteon::print::slice::{locate, slice, Layer, Location, SliceParams, UNITS_PER_MM};
use std::path::PathBuf;

fn ring_area(r: &[[f64; 2]]) -> f64 {
    (0..r.len())
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % r.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

fn perimeter(loops: &[Vec<[f64; 2]>]) -> f64 {
    loops
        .iter()
        .flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
        .map(|(a, b)| (b[0] - a[0]).hypot(b[1] - a[1]))
        .sum()
}

fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}

fn distance_to_loops(p: [f64; 2], loops: &[Vec<[f64; 2]>]) -> f64 {
    loops
        .iter()
        .flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
        .map(|(a, b)| segment_distance(p, a, b))
        .fold(f64::INFINITY, f64::min)
}

fn outline_mm(l: &Layer) -> Vec<Vec<[f64; 2]>> {
    l.polygons.iter().map(|p| p.points_mm()).collect()
}

fn inside(l: &Layer, q: [f64; 2]) -> bool {
    let g = [
        (q[0] * UNITS_PER_MM).round() as i64,
        (q[1] * UNITS_PER_MM).round() as i64,
    ];
    l.polygons
        .iter()
        .filter(|p| locate(g, &p.points) == Location::Inside)
        .count()
        % 2
        == 1
}

#[derive(Default)]
struct Tally {
    layers: usize,
    loops: usize,
    vertices_checked: usize,
    hatch_new_mm: f64,
    hatch_old_mm: f64,
    region_area_mm2: f64,
}

/// Compares one layer's contours with i_overlay's and checks its hatches.
fn check_layer(l: &Layer, p: &HatchParams, name: &str, t: &mut Tally) {
    let outline = outline_mm(l);
    let contour_insets: Vec<f64> = (0..p.contour_count)
        .map(|i| p.contour_inset_mm(i))
        .collect();
    let mut all = contour_insets.clone();
    all.push(p.hatch_inset_mm());
    let ours = offset_loops(l, &all).unwrap();
    for (d, new) in all.iter().zip(&ours) {
        let old = offset_loops_by_overlay(l, *d);
        let what = format!("{name} layer {} inset {d} mm", l.index);
        // Same loops (a loop thinner than the chords' sag may exist in one only).
        let big = |v: &Vec<Vec<[f64; 2]>>| v.iter().filter(|r| ring_area(r).abs() > 1e-4).count();
        assert_eq!(big(new), big(&old), "{what}: loop count");
        // Areas: the two differ by the chords of the round joins (both within 0.12 % of
        // d inside the arcs) and the 0.1 µm rounding.
        let (an, ao): (f64, f64) = (
            new.iter().map(|r| ring_area(r)).sum(),
            old.iter().map(|r| ring_area(r)).sum(),
        );
        assert!(
            (an - ao).abs() <= perimeter(&old) * 2e-3 * d + 1e-6,
            "{what}: area {an} vs {ao}"
        );
        // Every vertex of each within 1 µm of the other, and ours at d from the outline
        // (up to the grid rounding: chords' ends lie on the arcs).
        for r in new {
            for q in r.iter().step_by(5) {
                assert!(
                    distance_to_loops(*q, &old) < 1e-3,
                    "{what}: {q:?} far from i_overlay's"
                );
                let off = distance_to_loops(*q, &outline) - d;
                assert!(off.abs() < 1e-4, "{what}: {q:?} is {off} mm off the inset");
                t.vertices_checked += 1;
            }
            t.loops += 1;
        }
        for r in &old {
            for q in r.iter().step_by(5) {
                assert!(
                    distance_to_loops(*q, new) < 1e-3,
                    "{what}: {q:?} far from ours"
                );
            }
        }
    }
    // Hatches: inside the part, at least the inset from the outline, and the same lines
    // as the scan of i_overlay's region polygon.
    let inset = p.hatch_inset_mm();
    let scan = hatch_layer(l, p).unwrap();
    for h in &scan.hatches {
        for s in [0.0, 0.5, 1.0] {
            let q = [
                h[0][0] + s * (h[1][0] - h[0][0]),
                h[0][1] + s * (h[1][1] - h[0][1]),
            ];
            let dist = distance_to_loops(q, &outline);
            assert!(
                dist >= inset - 1e-6,
                "{name} layer {}: {q:?} at {dist} mm",
                l.index
            );
            if s == 0.5 {
                assert!(inside(l, q), "{name} layer {}: {q:?} outside", l.index);
            }
        }
    }
    let region = offset_loops_by_overlay(l, inset);
    let spacing = p.hatch_spacing_um / 1000.0;
    let old: f64 = scan_polygon_pieces(&region, p.hatch_angle_deg(l.index), spacing, 1e9)
        .iter()
        .map(|(_, _, s)| (s[1][0] - s[0][0]).hypot(s[1][1] - s[0][1]))
        .sum();
    t.hatch_new_mm += scan.hatch_length_mm;
    t.hatch_old_mm += old;
    t.region_area_mm2 += region.iter().map(|r| ring_area(r)).sum::<f64>();
    t.layers += 1;
}

fn check_mesh(mesh: &osteon::mesh::Mesh, every: usize, name: &str) -> Tally {
    let s = slice(mesh, &SliceParams { layer_um: 30.0 }).unwrap();
    let mut t = Tally::default();
    for params in [
        HatchParams::default(),
        HatchParams {
            contour_count: 3,
            beam_offset_um: 80.0,
            ..Default::default()
        },
    ] {
        for l in s.layers.iter().step_by(every) {
            check_layer(l, &params, name, &mut t);
        }
    }
    // Hatch length × spacing covers the eroded area (lines every 0.11 mm), and matches
    // the old polygon scan to within the chords' sag.
    let spacing = HatchParams::default().hatch_spacing_um / 1000.0;
    let covered = t.hatch_new_mm * spacing;
    println!(
        "{name}: {} layers, {} loops, {} vertices checked; hatch {:.3} vs {:.3} mm; covered {:.3} of {:.3} mm²",
        t.layers, t.loops, t.vertices_checked, t.hatch_new_mm, t.hatch_old_mm, covered, t.region_area_mm2
    );
    if t.region_area_mm2 > 1.0 {
        assert!((t.hatch_new_mm / t.hatch_old_mm - 1.0).abs() < 1e-3);
        assert!((covered / t.region_area_mm2 - 1.0).abs() < 0.01);
    } else {
        assert!(t.hatch_new_mm < 1e-9 && t.hatch_old_mm < 1e-9);
    }
    t
}

#[test]
fn contours_and_hatches_of_a_marching_cubes_talus_match_the_general_offset() {
    let study = osteon::demo::generate(&osteon::demo::DemoParams::default());
    let talus = osteon::bench::bone_surface(&study, "right talus").unwrap();
    let t = check_mesh(&talus, 23, "marching-cubes talus");
    assert!(
        t.layers > 60 && t.vertices_checked > 5_000,
        "{}",
        t.vertices_checked
    );
}

#[test]
fn contours_and_hatches_of_the_real_talus_match_the_general_offset() {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/meshes_tlem_talus");
    if !d.is_dir() {
        println!("skipped: no shared data");
        return;
    }
    let m = io::read_stl(&std::fs::read(d.join("talus_r.stl")).unwrap()).unwrap();
    let t = check_mesh(&m, 7, "real talus");
    assert!(t.layers > 300);
}

#[test]
fn thin_walls_and_touching_parts_inset_like_the_general_offset() {
    use osteon::mesh::shapes::{box_mesh, box_with_hole, concat, torus};
    // A frame whose wall (0.3 mm) is thinner than twice the hatch inset, two boxes 0.2 mm
    // apart, and a torus: contours split, vanish or merge where the erosion says so.
    let frame = box_with_hole(6.0, 5.4, 1.0);
    let a = box_mesh([0.0, 0.0, 0.0], [3.0, 2.0, 1.0]);
    let b = box_mesh([3.2, 0.0, 0.0], [6.0, 2.0, 1.0]);
    let ring = torus(4.0, 1.2, 64, 24);
    for (name, m) in [
        ("frame", frame),
        ("two boxes", concat(&[&a, &b])),
        ("torus", ring),
    ] {
        check_mesh(&m, 3, name);
    }
}
