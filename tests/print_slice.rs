//! Slicing, hatching, export and estimates (issue 6, slicing half): analytic shapes with
//! closed-form sections, plane-through-vertex cases, golden G-code/CLI text, the binary
//! CLI read back, and the real-data tier (../shared/data/meshes_tlem_talus).

use osteon::mesh::shapes::{box_mesh, box_with_hole, ico_sphere, torus, uv_sphere};
use osteon::mesh::{io, measure, Mesh};
use osteon::print::estimate::{estimate, EstimateParams, MachineProfile};
use osteon::print::export::{cli_ascii, cli_binary, cli_header, gcode, gcode_header, ExportInfo};
use osteon::print::hatch::{hatch_all, hatch_layer, HatchParams, HatchPattern, LayerScan};
use osteon::print::slice::{
    locate, slice, slice_at_heights, twice_area, Layer, Location, SliceParams, Slices, UNITS_PER_MM,
};
use std::f64::consts::PI;
use std::path::PathBuf;

/// Every polygon closed and simple in the ways the slicer promises: ≥ 3 distinct
/// consecutive points (also across the wrap), non-zero area, hole ⇔ clockwise, nesting
/// depth parity matching the hole flag, parents pointing at real polygons.
fn assert_well_formed(layer: &Layer, what: &str) {
    assert_well_formed_with(layer, what, true)
}

/// As [`assert_well_formed`]; `nesting` = false skips the depth-parity check (for meshes
/// whose shells overlap, where an outer contour can lie inside another).
fn assert_well_formed_with(layer: &Layer, what: &str, nesting: bool) {
    for (i, p) in layer.polygons.iter().enumerate() {
        let n = p.points.len();
        assert!(
            n >= 3,
            "{what} layer {} polygon {i}: {n} points",
            layer.index
        );
        for k in 0..n {
            assert_ne!(
                p.points[k],
                p.points[(k + 1) % n],
                "{what} layer {} polygon {i}: repeated point",
                layer.index
            );
        }
        let a2 = twice_area(&p.points);
        assert!(a2 != 0, "{what}: zero-area polygon");
        assert_eq!(p.is_hole, a2 < 0, "{what}: hole flag vs orientation");
        let mut depth = 0;
        let mut at = p.parent;
        while let Some(q) = at {
            assert!(q < layer.polygons.len());
            depth += 1;
            assert!(depth <= layer.polygons.len(), "{what}: parent cycle");
            at = layer.polygons[q].parent;
        }
        assert!(
            !nesting || p.is_hole == (depth % 2 == 1),
            "{what} layer {} polygon {i}: nesting depth {depth} vs hole {}",
            layer.index,
            p.is_hole
        );
    }
}

fn volume_from_layers(s: &Slices) -> f64 {
    s.layers.iter().map(|l| l.area_mm2).sum::<f64>() * s.layer_um / 1000.0
}

/// Area of a regular `n`-gon with circumradius `rho`.
fn ngon_area(n: usize, rho: f64) -> f64 {
    0.5 * n as f64 * (2.0 * PI / n as f64).sin() * rho * rho
}

/// Radius at height `z` of the polyline through `(z_i, rho_i)` samples, crossing chosen
/// by the slicer's own rule (lower end strictly below, upper end at or above).
fn crossings(rings: &[(f64, f64)], closed: bool, z: f64) -> Vec<f64> {
    let n = rings.len();
    let edges = if closed { n } else { n - 1 };
    let mut out = Vec::new();
    for i in 0..edges {
        let (a, b) = (rings[i], rings[(i + 1) % n]);
        let (lo, hi) = if a.0 < b.0 { (a, b) } else { (b, a) };
        if lo.0 < z && hi.0 >= z {
            let t = (z - lo.0) / (hi.0 - lo.0);
            out.push(lo.1 + t * (hi.1 - lo.1));
        }
    }
    out
}

// Why two references: a UV sphere's section is a regular n-gon whose circumradius is
// interpolated linearly between latitude rings (each quad is a planar trapezoid). That
// is the exact section of the tessellated solid, and the slicer must match it to the
// 0.1 µm grid everywhere. The smooth sphere's π(r² − z²) is matched to 0.5 % only where
// the tessellation error is small: near the poles the linear interpolation of
// ρ = √(r² − z²), whose slope is infinite at the pole, is tens of percent off whatever
// the slicer does.
#[test]
fn sphere_layers_match_the_tessellated_section_and_the_closed_form_away_from_the_poles() {
    let (r, stacks, slices) = (10.0, 120, 240);
    let m = uv_sphere(r, stacks, slices);
    let s = slice(&m, &SliceParams { layer_um: 30.0 }).unwrap();
    let rings: Vec<(f64, f64)> = (0..=stacks)
        .map(|i| {
            let th = PI * i as f64 / stacks as f64;
            (r * th.cos(), r * th.sin())
        })
        .collect();
    let mut closed_form_checked = 0;
    for l in &s.layers {
        assert_well_formed(l, "sphere");
        assert_eq!(l.polygons.len(), 1);
        let rho = crossings(&rings, false, l.z_mm)[0];
        let exact = ngon_area(slices, rho);
        // Rounding every vertex to the 0.1 µm grid moves the area by at most about
        // perimeter × one grid unit.
        let tol = 2.0 * PI * rho / UNITS_PER_MM;
        assert!(
            (l.area_mm2 - exact).abs() <= tol,
            "z {}: {} vs tessellated {}",
            l.z_mm,
            l.area_mm2,
            exact
        );
        if l.z_mm.abs() <= 0.95 * r {
            let smooth = PI * (r * r - l.z_mm * l.z_mm);
            assert!(
                (l.area_mm2 / smooth - 1.0).abs() < 0.005,
                "z {}: {} vs π(r²−z²) {}",
                l.z_mm,
                l.area_mm2,
                smooth
            );
            closed_form_checked += 1;
        }
    }
    assert!(closed_form_checked > 600);
    let v = measure::volume_mm3(&m).unwrap();
    assert!((volume_from_layers(&s) / v - 1.0).abs() < 1e-3);
}

#[test]
fn torus_layers_are_annuli_matching_the_tessellated_section_and_4_pi_r_w() {
    let (big_r, r, nu, nv) = (20.0, 5.0, 360, 120);
    let m = torus(big_r, r, nu, nv);
    let s = slice(&m, &SliceParams { layer_um: 50.0 }).unwrap();
    let tube: Vec<(f64, f64)> = (0..nv)
        .map(|j| {
            let v = 2.0 * PI * j as f64 / nv as f64;
            (r * v.sin(), big_r + r * v.cos())
        })
        .collect();
    for l in &s.layers {
        assert_well_formed(l, "torus");
        assert_eq!(l.polygons.len(), 2, "z {}", l.z_mm);
        assert_eq!(l.polygons.iter().filter(|p| p.is_hole).count(), 1);
        let rho = crossings(&tube, true, l.z_mm);
        let (out, inn) = (rho[0].max(rho[1]), rho[0].min(rho[1]));
        let exact = ngon_area(nu, out) - ngon_area(nu, inn);
        let tol = 2.0 * PI * (out + inn) / UNITS_PER_MM;
        assert!((l.area_mm2 - exact).abs() <= tol, "z {}", l.z_mm);
        if l.z_mm.abs() <= 0.95 * r {
            let w = (r * r - l.z_mm * l.z_mm).sqrt();
            let smooth = 4.0 * PI * big_r * w;
            assert!((l.area_mm2 / smooth - 1.0).abs() < 0.005, "z {}", l.z_mm);
        }
    }
    let v = measure::volume_mm3(&m).unwrap();
    assert!((volume_from_layers(&s) / v - 1.0).abs() < 1e-3);
}

#[test]
fn box_with_hole_layers_are_exact_with_the_hole_nested() {
    let m = box_with_hole(20.0, 8.0, 3.0);
    let s = slice(&m, &SliceParams { layer_um: 40.0 }).unwrap();
    assert_eq!(s.layers.len(), 75);
    for l in &s.layers {
        assert_well_formed(l, "frame");
        assert!((l.area_mm2 - (400.0 - 64.0)).abs() < 1e-9);
    }
    assert!((volume_from_layers(&s) - 3.0 * 336.0).abs() < 1e-6);
}

#[test]
fn closed_polygons_on_every_analytic_shape() {
    let shapes: Vec<(&str, Mesh)> = vec![
        ("ico_sphere", ico_sphere(7.0, 4)),
        ("uv_sphere_coarse", uv_sphere(5.0, 7, 9)),
        ("torus_coarse", torus(6.0, 2.0, 7, 5)),
        (
            "ellipsoid",
            osteon::mesh::shapes::ellipsoid(8.0, 5.0, 3.0, 3),
        ),
        ("box", box_mesh([-1.0, -2.0, -3.0], [4.0, 5.0, 6.0])),
        ("frame", box_with_hole(5.0, 2.0, 1.0)),
    ];
    for (name, m) in shapes {
        let s = slice(&m, &SliceParams { layer_um: 20.0 }).unwrap();
        assert!(!s.layers.is_empty());
        for l in &s.layers {
            assert_well_formed(l, name);
        }
        let v = measure::volume_mm3(&m).unwrap();
        assert!(
            (volume_from_layers(&s) / v - 1.0).abs() < 2e-3,
            "{name}: {} vs {v}",
            volume_from_layers(&s)
        );
    }
}

fn octahedron() -> Mesh {
    let p = vec![
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ];
    let mut t = Vec::new();
    for i in 0..4u32 {
        let j = (i + 1) % 4;
        t.push([i, j, 4]);
        t.push([j, i, 5]);
    }
    Mesh::new(p, t)
}

#[test]
fn octahedron_cut_through_its_equator_vertices_gives_the_square_once() {
    let m = octahedron();
    assert!(measure::volume_mm3(&m).unwrap() > 0.0);
    let layers = slice_at_heights(&m, &[0.0, 0.5, 1.0]).unwrap();
    let eq = &layers[0];
    assert_eq!(eq.polygons.len(), 1);
    assert_eq!(
        eq.polygons[0].points,
        vec![[0, -10_000], [10_000, 0], [0, 10_000], [-10_000, 0]]
    );
    assert!((eq.area_mm2 - 2.0).abs() < 1e-12);
    assert!((layers[1].area_mm2 - 0.5).abs() < 1e-12);
    // The apex is on the plane: it counts as above, so the section is a single point
    // and no polygon is made.
    assert!(layers[2].polygons.is_empty());
}

#[test]
fn cube_with_a_layer_exactly_at_a_vertex_height_is_decided_by_the_above_rule() {
    // Two boxes stacked: the plane z = 1 passes through the shared level of 8 vertices.
    let lower = box_mesh([0.0, 0.0, 0.0], [2.0, 2.0, 1.0]);
    let upper = box_mesh([0.5, 0.5, 1.0], [1.5, 1.5, 2.0]);
    let m = osteon::mesh::shapes::concat(&[&lower, &upper]);
    let layers = slice_at_heights(&m, &[0.999_999, 1.0, 1.000_001, 2.0]).unwrap();
    // At z = 1 every vertex of that level counts as above the plane, so the section is
    // the one just below (z − ε): the lower box's full 2 × 2 square, not the upper box.
    let areas: Vec<f64> = layers.iter().map(|l| l.area_mm2).collect();
    assert_eq!(layers[1].polygons.len(), 1);
    for (a, want) in areas.iter().zip([4.0, 4.0, 1.0, 1.0]) {
        assert!((a - want).abs() < 1e-12, "{areas:?}");
    }
    assert_eq!(layers[0].polygons, layers[1].polygons);
    // A cube standing on a vertex, cut exactly through its three middle vertices.
    let c = 1.0 / 3f64.sqrt();
    let mut tilted = box_mesh([-0.5; 3], [0.5; 3]);
    // Rotate so the diagonal (1,1,1) points up: z' = (x + y + z)/√3.
    let (e1, e2) = (
        [1.0 / 2f64.sqrt(), -1.0 / 2f64.sqrt(), 0.0],
        [1.0 / 6f64.sqrt(), 1.0 / 6f64.sqrt(), -2.0 / 6f64.sqrt()],
    );
    for p in tilted.positions_mm.iter_mut() {
        let q = *p;
        let d = |a: [f64; 3]| a[0] * q[0] + a[1] * q[1] + a[2] * q[2];
        *p = [d(e1), d(e2), d([c, c, c])];
    }
    let zs: Vec<f64> = {
        let mut v: Vec<f64> = tilted.positions_mm.iter().map(|p| p[2]).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    // Rotation leaves the three middle vertices ~1e-16 mm apart: put them exactly on
    // one level so the plane really passes through all three.
    for p in tilted.positions_mm.iter_mut() {
        if (p[2] - zs[2]).abs() < 1e-9 {
            p[2] = zs[2];
        }
    }
    let l = slice_at_heights(&tilted, &[zs[2]]).unwrap().remove(0);
    // The three vertices, plus where face diagonals cross the plane on the triangle's
    // sides (collinear in exact arithmetic, kept when grid rounding bends them).
    assert!((3..=6).contains(&l.polygons[0].points.len()));
    assert_eq!(l.polygons.len(), 1);
    assert_well_formed(&l, "tilted cube");
    // The section through three vertices is a triangle of side √2: area √3/2 (vertices
    // rounded to the 0.1 µm grid: within perimeter × one grid unit).
    assert!(
        (l.area_mm2 - 3f64.sqrt() / 2.0).abs() < 5e-4,
        "{}",
        l.area_mm2
    );
}

// ------------------------------------------------------------------ exports

fn cube_job(rotation_deg: f64) -> (Vec<LayerScan>, ExportInfo) {
    let cube = box_mesh([0.0; 3], [1.0; 3]);
    // 0.25 mm layers (outside the machine range, so planes are given directly).
    let mut layers = slice_at_heights(&cube, &[0.125, 0.375, 0.625, 0.875]).unwrap();
    for (k, l) in layers.iter_mut().enumerate() {
        l.z_top_mm = 0.25 * (k + 1) as f64;
    }
    let hatch = HatchParams {
        rotation_deg,
        ..Default::default()
    };
    let scans = layers
        .iter()
        .map(|l| hatch_layer(l, &hatch).unwrap())
        .collect();
    (
        scans,
        ExportInfo {
            name: "cube".into(),
            layer_um: 250.0,
            hatch,
            outline_tolerance_um: 0.0,
        },
    )
}

#[test]
fn gcode_header_is_the_golden_text() {
    let (scans, info) = cube_job(67.0);
    let want = "\
; Osteon print job: metal powder-bed fusion, Ti-6Al-4V ELI
; part: cube
; units: mm, absolute, build-plate frame (z up)
; layers: 4
; layer thickness: 250.0 um
; laser power: 200.0 W
; scan speed: 1000.0 mm/s
; hatch spacing: 110.0 um
; contours: 2, beam offset: 50.0 um
; pattern: stripes 10.0000 mm, rotation 67.0 deg per layer
G21 ; millimetres
G90 ; absolute positioning
M5 ; laser off
";
    assert_eq!(gcode_header(&info, scans.len()), want);
    let g = String::from_utf8(gcode(&scans, &info)).unwrap();
    assert!(g.starts_with(want));
    assert!(g.contains("; layer 0 z=0.2500\nG0 Z0.2500 ; recoat\nG1 F60000.0\n"));
    assert!(g.contains("; layer 3 z=1.0000\n"));
    assert!(g.ends_with("; end of job\nM5\n"));
}

#[test]
fn cli_ascii_of_a_1_mm_cube_at_0_25_mm_is_the_golden_text() {
    // Rotation 0: every layer hatched along +x. Contours: squares inset 0.05 and
    // 0.16 mm; hatch region inset 0.27 mm = [0.27, 0.73]²; lines at (j + ½)·0.11 mm
    // inside it: y = 0.385, 0.495, 0.605, 0.715 (0.275 is inside too), in a meander.
    let (scans, info) = cube_job(0.0);
    let text = String::from_utf8(cli_ascii(&scans, &info)).unwrap();
    let mut want = String::from(
        "$$HEADERSTART\n$$ASCII\n$$UNITS/1.000000\n$$VERSION/200\n$$LABEL/1,cube\n\
         $$DIMENSION/0.0500,0.0500,0.0000,0.9500,0.9500,1.0000\n$$LAYERS/4\n$$HEADEREND\n\
         $$GEOMETRYSTART\n",
    );
    for k in 1..=4 {
        want.push_str(&format!("$$LAYER/{:.4}\n", 0.25 * k as f64));
        want.push_str("$$POLYLINE/1,1,5,0.0500,0.0500,0.9500,0.0500,0.9500,0.9500,0.0500,0.9500,0.0500,0.0500\n");
        want.push_str("$$POLYLINE/1,1,5,0.1600,0.1600,0.8400,0.1600,0.8400,0.8400,0.1600,0.8400,0.1600,0.1600\n");
        want.push_str("$$HATCHES/1,5,0.2700,0.2750,0.7300,0.2750,0.7300,0.3850,0.2700,0.3850,0.2700,0.4950,0.7300,0.4950,0.7300,0.6050,0.2700,0.6050,0.2700,0.7150,0.7300,0.7150\n");
    }
    want.push_str("$$GEOMETRYEND\n");
    assert_eq!(text, want);
    assert!(cli_header(&scans, &info, false).ends_with("$$LAYERS/4\n$$HEADEREND"));
}

/// A small reader of the binary CLI long commands.
#[allow(clippy::type_complexity)]
fn read_binary_cli(bytes: &[u8]) -> (String, Vec<(f32, Vec<(i32, Vec<f32>)>, Vec<f32>)>) {
    let marker = b"$$HEADEREND";
    let end = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("header end")
        + marker.len();
    let header = String::from_utf8(bytes[..end].to_vec()).unwrap();
    let mut at = end;
    let u16_ = |at: &mut usize| {
        let v = u16::from_le_bytes([bytes[*at], bytes[*at + 1]]);
        *at += 2;
        v
    };
    let i32_ = |at: &mut usize| {
        let v = i32::from_le_bytes(bytes[*at..*at + 4].try_into().unwrap());
        *at += 4;
        v
    };
    let f32_ = |at: &mut usize| {
        let v = f32::from_le_bytes(bytes[*at..*at + 4].try_into().unwrap());
        *at += 4;
        v
    };
    let mut layers: Vec<(f32, Vec<(i32, Vec<f32>)>, Vec<f32>)> = Vec::new();
    while at < bytes.len() {
        match u16_(&mut at) {
            127 => layers.push((f32_(&mut at), Vec::new(), Vec::new())),
            130 => {
                let _id = i32_(&mut at);
                let dir = i32_(&mut at);
                let n = i32_(&mut at) as usize;
                let pts = (0..2 * n).map(|_| f32_(&mut at)).collect();
                layers.last_mut().unwrap().1.push((dir, pts));
            }
            132 => {
                let _id = i32_(&mut at);
                let n = i32_(&mut at) as usize;
                let pts: Vec<f32> = (0..4 * n).map(|_| f32_(&mut at)).collect();
                layers.last_mut().unwrap().2.extend(pts);
            }
            other => panic!("unknown CLI command {other} at byte {at}"),
        }
    }
    (header, layers)
}

#[test]
fn binary_cli_reads_back_to_the_same_geometry_as_the_ascii() {
    let (scans, info) = cube_job(67.0);
    let (header, layers) = read_binary_cli(&cli_binary(&scans, &info));
    assert!(header.starts_with("$$HEADERSTART\n$$BINARY\n$$UNITS/1.000000\n$$VERSION/200\n"));
    assert!(header.contains("$$LAYERS/4\n"));
    assert_eq!(layers.len(), scans.len());
    for (l, s) in layers.iter().zip(&scans) {
        assert!((l.0 as f64 - s.z_top_mm).abs() < 1e-6);
        assert_eq!(l.1.len(), s.contours.len());
        for ((dir, pts), c) in l.1.iter().zip(&s.contours) {
            assert_eq!(*dir, 1);
            assert_eq!(pts.len(), 2 * (c.len() + 1));
            assert_eq!(pts[..2], pts[pts.len() - 2..]);
            for (k, p) in c.iter().enumerate() {
                assert!((pts[2 * k] as f64 - p[0]).abs() < 1e-6);
                assert!((pts[2 * k + 1] as f64 - p[1]).abs() < 1e-6);
            }
        }
        let flat: Vec<f64> = s.hatches.iter().flatten().flatten().copied().collect();
        assert_eq!(l.2.len(), flat.len());
        for (a, b) in l.2.iter().zip(&flat) {
            assert!((*a as f64 - b).abs() < 1e-6);
        }
    }
}

#[test]
fn hatches_of_a_torus_lie_inside_their_layer() {
    let m = torus(10.0, 3.0, 96, 48);
    let s = slice(&m, &SliceParams { layer_um: 60.0 }).unwrap();
    let scans = hatch_all(
        &s,
        &HatchParams {
            pattern: HatchPattern::Chessboard { square_mm: 4.0 },
            ..Default::default()
        },
    )
    .unwrap();
    let mut checked = 0;
    for (l, scan) in s.layers.iter().zip(&scans).step_by(7) {
        for h in &scan.hatches {
            for t in [0.0, 0.5, 1.0] {
                let q = [
                    h[0][0] + t * (h[1][0] - h[0][0]),
                    h[0][1] + t * (h[1][1] - h[0][1]),
                ];
                let g = [
                    (q[0] * UNITS_PER_MM).round() as i64,
                    (q[1] * UNITS_PER_MM).round() as i64,
                ];
                let inside = l
                    .polygons
                    .iter()
                    .filter(|p| locate(g, &p.points) == Location::Inside)
                    .count();
                assert_eq!(inside % 2, 1, "layer {} point {q:?}", l.index);
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}

// ------------------------------------------------------------------ bad input

#[test]
fn bad_inputs_get_clear_messages() {
    let cube = box_mesh([0.0; 3], [10.0; 3]);
    let msg = slice(&cube, &SliceParams { layer_um: 10.0 })
        .unwrap_err()
        .to_string();
    assert!(msg.contains("10 µm") && msg.contains("20–100 µm"), "{msg}");

    let mut open = cube.clone();
    open.triangles.remove(4);
    let msg = slice(&open, &SliceParams::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("not watertight") && msg.contains("3 open edge") && msg.contains("repair"),
        "{msg}"
    );
    assert!(msg.contains(" mm"), "{msg}");

    let big = box_mesh([0.0; 3], [260.0, 20.0, 20.0]);
    let msg = MachineProfile::default()
        .check_mesh_fits(&big)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("260.0 × 20.0 × 20.0 mm") && msg.contains("250.0 × 250.0 × 300.0 mm"));
    let s = slice(&big, &SliceParams { layer_um: 100.0 }).unwrap();
    let scans = hatch_all(&s, &HatchParams::default()).unwrap();
    assert!(estimate(
        &big,
        None,
        &scans,
        100.0,
        &HatchParams::default(),
        &MachineProfile::default(),
        &EstimateParams::default()
    )
    .is_err());
}

// ------------------------------------------------------------------ real data tier

fn shared_meshes() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/meshes_tlem_talus");
    if d.is_dir() {
        Some(d)
    } else {
        println!("skipped: no shared data");
        None
    }
}

#[test]
fn real_talus_and_foot_slice_into_closed_polygons_with_the_mesh_volume() {
    let Some(dir) = shared_meshes() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("stl")))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let m = io::read_stl(&std::fs::read(&f).unwrap()).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let s = slice(&m, &SliceParams { layer_um: 30.0 }).unwrap();
        // Shells that cross each other (foot bones touching) make overlapping outer
        // contours; nesting parity holds only for meshes without self-intersections.
        let crossing = osteon::mesh::repair::check(&m).unwrap().self_intersections;
        for l in &s.layers {
            assert_well_formed_with(l, &name, crossing == 0);
        }
        let v = measure::volume_mm3(&m).unwrap();
        let from_layers = volume_from_layers(&s);
        println!(
            "{name}: {crossing} self-intersections, {} layers, {} polygons, {} zero-area layers, {} dropped loops, volume {:.1} vs layers {:.1} mm³",
            s.layers.len(),
            s.layers.iter().map(|l| l.polygons.len()).sum::<usize>(),
            s.zero_area_layers.len(),
            s.dropped_loops,
            v,
            from_layers
        );
        assert!((from_layers / v - 1.0).abs() < 5e-3);
        // Hatch and estimate a sample of layers end to end.
        let scans = hatch_all(&s, &HatchParams::default()).unwrap();
        let e = estimate(
            &m,
            None,
            &scans,
            30.0,
            &HatchParams::default(),
            &MachineProfile::default(),
            &EstimateParams::default(),
        )
        .unwrap();
        assert!((e.part_mass_g - v * 4.43e-3).abs() < 1e-9);
        assert!(e.hatch_length_mm > 0.0 && e.build_time_s > e.recoat_time_s);
    }
}

/// Timing on a ~190 k-triangle sphere (not a test of speed: run with
/// `cargo test --release --test print_slice -- --ignored --nocapture`).
#[test]
#[ignore]
fn time_slicing_a_190k_triangle_sphere_at_30_um() {
    let m = uv_sphere(20.0, 220, 432);
    println!("{} triangles", m.triangle_count());
    let t0 = std::time::Instant::now();
    let s = slice(&m, &SliceParams { layer_um: 30.0 }).unwrap();
    let dt = t0.elapsed();
    println!(
        "sliced into {} layers, {} points in {:.1} ms",
        s.layers.len(),
        s.layers
            .iter()
            .flat_map(|l| &l.polygons)
            .map(|p| p.points.len())
            .sum::<usize>(),
        dt.as_secs_f64() * 1000.0
    );
    let t0 = std::time::Instant::now();
    let scans = hatch_all(&s, &HatchParams::default()).unwrap();
    println!(
        "hatched in {:.1} ms ({} vectors)",
        t0.elapsed().as_secs_f64() * 1000.0,
        scans.iter().map(|l| l.hatches.len()).sum::<usize>()
    );
    let t0 = std::time::Instant::now();
    hatch_all(
        &s,
        &HatchParams {
            contour_count: 0,
            ..Default::default()
        },
    )
    .unwrap();
    println!(
        "hatched without contours (one offset per layer) in {:.1} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
}

/// Timing of hatching every layer and of the orientation search on the real talus (not a
/// test of speed: run with `cargo test --release --test print_slice -- --ignored --nocapture
/// time_real_talus`). Also prints checksums of the results so runs can be compared.
#[test]
#[ignore]
fn time_real_talus_hatching_and_orientation() {
    use osteon::print::orient::{orient, OrientParams};
    use osteon::print::overhang::ArticularMarks;
    let Some(dir) = shared_meshes() else { return };
    let m = io::read_stl(&std::fs::read(dir.join("talus_r.stl")).unwrap()).unwrap();
    let s = slice(&m, &SliceParams { layer_um: 30.0 }).unwrap();
    let p = HatchParams::default();
    let mut best = f64::INFINITY;
    let mut scans = Vec::new();
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        scans = hatch_all(&s, &p).unwrap();
        best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let (c, h, n) = scans.iter().fold((0.0, 0.0, 0), |a, l| {
        (
            a.0 + l.contour_length_mm,
            a.1 + l.hatch_length_mm,
            a.2 + l.hatches.len(),
        )
    });
    println!(
        "talus: {} triangles, {} layers; hatch_all best of 3: {best:.1} ms; contours {c:.3} mm, hatches {h:.3} mm, {n} vectors",
        m.triangle_count(),
        s.layers.len()
    );
    let marks = ArticularMarks::none(m.triangle_count());
    let mut best = f64::INFINITY;
    let mut o = None;
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        o = Some(orient(&m, &marks, &OrientParams::default()).unwrap());
        best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let o = o.unwrap();
    println!(
        "orient best of 3: {best:.1} ms; best up {:?} score {:.6} supported {:.3} mm² height {:.3} mm",
        o.best.up, o.best.score, o.best.supported_area_mm2, o.best.height_mm
    );
}

// ------------------------------------------------------------------ command line

#[test]
fn cli_slice_writes_every_format_and_reports_json_and_refuses_bad_thickness_without_files() {
    let dir = std::env::temp_dir().join(format!("osteon-print-slice-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stl = dir.join("cube.stl");
    let cube = box_mesh([0.0, 0.0, 5.0], [4.0, 4.0, 6.0]);
    std::fs::write(&stl, io::write_stl_binary(&cube, "cube").unwrap()).unwrap();
    let out = dir.join("job");
    let run = |extra: &[&str], out: &std::path::Path| {
        let mut args = vec![
            "slice".to_string(),
            stl.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        std::process::Command::new(env!("CARGO_BIN_EXE_osteon"))
            .args(&args)
            .output()
            .unwrap()
    };
    let o = run(&["--layer-um", "50", "--json"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["estimate"]["layers"], 20);
    assert_eq!(v["lift_mm"], -5.0);
    assert!((v["estimate"]["part_mass_g"].as_f64().unwrap() - 16.0 * 4.43e-3).abs() < 1e-9);
    for f in [
        "job.gcode",
        "job.cli",
        "job_binary.cli",
        "svg/layer_00019.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let cli = std::fs::read_to_string(out.join("job.cli")).unwrap();
    assert!(cli.contains("$$LAYERS/20\n") && cli.contains("$$LAYER/1.0000\n"));
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
        .unwrap()
        .path()
        .to_string_lossy()
        .ends_with(".partial")));

    let bad = dir.join("bad");
    let o = run(&["--layer-um", "10"], &bad);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("20–100 µm"), "{err}");
    assert!(!bad.exists(), "nothing may be written on error");
    let _ = std::fs::remove_dir_all(&dir);
}
