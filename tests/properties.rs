//! Property tests (proptest, native only): invariants that must hold for every input of
//! a family, not just the examples in the unit tests.
//!
//! - rigid motions (rotation + translation) keep a closed mesh's volume and area;
//! - mirroring twice across the same plane gives the mesh back;
//! - a design link round-trips any valid `DesignState`, and random, truncated or
//!   bit-flipped links are refused with an error, never a panic or a wrong design;
//! - STL binary write → read keeps the set of triangles (corners as f32, as STL stores).
//!
//! Units: millimetres, degrees for the view angles. Case counts are kept modest so the
//! suite stays quick in a debug build on a shared machine.
#![cfg(not(target_arch = "wasm32"))]

use nalgebra::{Rotation3, Unit, Vector3};
use proptest::prelude::*;

use osteon::design::{
    decode_link, encode_link, ClipPlane, DesignState, Measurement, MeshRef, MirrorPlane, Morph, Op,
    ScanSettings, Smoothing, ViewState,
};
use osteon::mesh::io::{read_stl, write_stl_binary};
use osteon::mesh::measure::volume_and_area;
use osteon::mesh::mirror::{mirror, Plane};
use osteon::mesh::register::RegisterParams;
use osteon::mesh::{shapes, Mesh};
use osteon::print::block_supports::BlockParams;
use osteon::print::supports::SupportStyle;

// ---------------------------------------------------------------- meshes

/// Closed, outward meshes from `shapes` with random sizes (mm).
fn closed_mesh() -> impl Strategy<Value = Mesh> {
    prop_oneof![
        (1.0..80.0f64, 0u32..3).prop_map(|(r, s)| shapes::ico_sphere(r, s)),
        (1.0..50.0f64, 3usize..12, 3usize..16).prop_map(|(r, st, sl)| shapes::uv_sphere(r, st, sl)),
        (1.0..40.0f64, 1.0..40.0f64, 1.0..40.0f64, 0u32..2)
            .prop_map(|(a, b, c, s)| shapes::ellipsoid(a, b, c, s)),
        (10.0..40.0f64, 1.0..9.0f64, 3usize..16, 3usize..12)
            .prop_map(|(big, r, u, v)| shapes::torus(big, r, u, v)),
        (
            prop::array::uniform3(-50.0..50.0f64),
            prop::array::uniform3(0.5..60.0f64)
        )
            .prop_map(|(lo, size)| shapes::box_mesh(
                lo,
                [lo[0] + size[0], lo[1] + size[1], lo[2] + size[2]]
            )),
        (20.0..60.0f64, 0.1..0.8f64, 2.0..30.0f64).prop_map(|(outer, f, h)| shapes::box_with_hole(
            outer,
            outer * f,
            h
        )),
    ]
}

/// A rotation about a random axis and a translation (mm).
fn rigid() -> impl Strategy<Value = (Rotation3<f64>, Vector3<f64>)> {
    (
        prop::array::uniform3(-1.0..1.0f64),
        -std::f64::consts::PI..std::f64::consts::PI,
        prop::array::uniform3(-500.0..500.0f64),
    )
        .prop_filter("axis must not be zero", |(a, _, _)| {
            a.iter().map(|x| x * x).sum::<f64>() > 1e-6
        })
        .prop_map(|(a, angle, t)| {
            let axis = Unit::new_normalize(Vector3::from(a));
            (Rotation3::from_axis_angle(&axis, angle), Vector3::from(t))
        })
}

fn moved(mesh: &Mesh, r: &Rotation3<f64>, t: &Vector3<f64>) -> Mesh {
    let positions_mm = mesh
        .positions_mm
        .iter()
        .map(|p| {
            let q = r * Vector3::from(*p) + t;
            [q.x, q.y, q.z]
        })
        .collect();
    Mesh::new(positions_mm, mesh.triangles.clone())
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn rigid_motion_keeps_volume_and_area(mesh in closed_mesh(), (r, t) in rigid()) {
        let (v0, a0) = volume_and_area(&mesh).unwrap();
        prop_assert!(v0 > 0.0, "a closed outward shape has positive volume, got {}", v0);
        let (v1, a1) = volume_and_area(&moved(&mesh, &r, &t)).unwrap();
        // Translation far from the origin costs digits in the signed-volume sum; 1e-8
        // relative is far below any clinical meaning and far above round-off.
        prop_assert!(close(v0, v1, 1e-8), "volume {} -> {}", v0, v1);
        prop_assert!(close(a0, a1, 1e-8), "area {} -> {}", a0, a1);
    }

    #[test]
    fn mirror_twice_is_identity(
        mesh in closed_mesh(),
        point in prop::array::uniform3(-100.0..100.0f64),
        normal in prop::array::uniform3(-1.0..1.0f64),
    ) {
        // The sagittal mid-plane is exact: every coordinate comes back bit for bit.
        let sag = Plane::sagittal(0.0);
        let back = mirror(&mirror(&mesh, &sag).unwrap(), &sag).unwrap();
        prop_assert_eq!(&back, &mesh);
        // Any other plane: same triangles, positions back to round-off, and the mirror
        // image in between has the same volume (winding reversed, so still positive).
        prop_assume!(normal.iter().map(|x| x * x).sum::<f64>() > 1e-4);
        let plane = Plane { point_mm: point, normal };
        let once = mirror(&mesh, &plane).unwrap();
        let (v0, _) = volume_and_area(&mesh).unwrap();
        let (v1, _) = volume_and_area(&once).unwrap();
        prop_assert!(close(v0, v1, 1e-8), "mirrored volume {} vs {}", v1, v0);
        let back = mirror(&once, &plane).unwrap();
        prop_assert_eq!(&back.triangles, &mesh.triangles);
        for (p, q) in mesh.positions_mm.iter().zip(&back.positions_mm) {
            for k in 0..3 {
                prop_assert!((p[k] - q[k]).abs() <= 1e-9 * (1.0 + p[k].abs() + point[k].abs()),
                    "{:?} came back as {:?}", p, q);
            }
        }
    }

    #[test]
    fn stl_binary_write_read_keeps_the_triangle_set(
        tris in prop::collection::vec(prop::array::uniform3(prop::array::uniform3(-1.0e4..1.0e4f32)), 1..60),
    ) {
        // STL stores f32 corners, so the property is stated for f32-representable input.
        let positions_mm: Vec<[f64; 3]> =
            tris.iter().flatten().map(|p| p.map(|c| c as f64)).collect();
        let triangles: Vec<[u32; 3]> =
            (0..tris.len() as u32).map(|t| [3 * t, 3 * t + 1, 3 * t + 2]).collect();
        let mesh = Mesh::new(positions_mm, triangles);
        let back = read_stl(&write_stl_binary(&mesh, "property test").unwrap()).unwrap();
        let corners = |m: &Mesh| -> Vec<[[u64; 3]; 3]> {
            // -0.0 and 0.0 weld to the same vertex on read: compare them as equal.
            let mut v: Vec<_> = (0..m.triangle_count())
                .map(|t| m.corners(t).map(|p| p.map(|c| (c + 0.0).to_bits())))
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(corners(&back), corners(&mesh));
    }
}

// ---------------------------------------------------------------- design links

/// Text a user might type as a part name, including non-ASCII and quotes.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}",
        ".{0,16}",
        Just("talus \"L\" / Ferse #1 & <ok>".to_string()),
    ]
}

fn voxel() -> impl Strategy<Value = [u32; 3]> {
    prop::array::uniform3(any::<u32>())
}

/// Any operation. One line per `Op` variant: a new variant needs one new line here.
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u64>().prop_map(|seed| Op::OpenDemo { seed }),
        Just(Op::LoadSeries),
        (any::<i16>(), any::<i16>())
            .prop_map(|(lower_hu, upper_hu)| Op::SetThreshold { lower_hu, upper_hu }),
        (any::<i16>(), any::<i16>())
            .prop_map(|(lower_hu, upper_hu)| Op::AutoBones { lower_hu, upper_hu }),
        (voxel(), any::<i16>(), any::<i16>(), name()).prop_map(
            |(seed, lower_hu, upper_hu, name)| Op::Grow {
                seed,
                lower_hu,
                upper_hu,
                name
            }
        ),
        (any::<u8>(), voxel(), voxel()).prop_map(|(label, a, b)| Op::SplitPart {
            label,
            seeds: [a, b]
        }),
        any::<u8>().prop_map(|label| Op::DeletePart { label }),
        (any::<u8>(), name()).prop_map(|(label, name)| Op::RenamePart { label, name }),
        (
            any::<Option<u8>>(),
            any::<Option<u8>>(),
            finite(),
            prop::collection::vec(voxel(), 0..6)
        )
            .prop_map(|(label, axis, radius_mm, stroke)| Op::Paint {
                label,
                axis,
                radius_mm,
                stroke
            }),
        (
            any::<u8>(),
            any::<Option<u8>>(),
            finite(),
            prop::collection::vec(voxel(), 0..6)
        )
            .prop_map(|(label, axis, radius_mm, stroke)| Op::Erase {
                label,
                axis,
                radius_mm,
                stroke
            }),
        (
            any::<Option<u8>>(),
            any::<u8>(),
            any::<u32>(),
            prop::collection::vec(pixel(), 0..6)
        )
            .prop_map(|(label, axis, index, polygon)| Op::LassoFill {
                label,
                axis,
                index,
                polygon
            }),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u32>(),
            prop::collection::vec(pixel(), 0..6)
        )
            .prop_map(|(label, axis, index, polygon)| Op::LassoErase {
                label,
                axis,
                index,
                polygon
            }),
        (any::<u8>(), morph(), finite()).prop_map(|(label, kind, radius_mm)| Op::Morphology {
            label,
            kind,
            radius_mm
        }),
        any::<u8>().prop_map(|label| Op::FillCavities { label }),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u32>(),
            pixel(),
            pixel(),
            pixel()
        )
            .prop_map(|(label, axis, index, keep, a, b)| Op::CutPart {
                label,
                axis,
                index,
                keep,
                line: [a, b]
            }),
        (mesh_ref(), mirror_plane(), finite(), registration()).prop_map(
            |(source, plane, iso_hu, registration)| Op::MirrorMesh {
                source,
                plane,
                iso_hu,
                registration
            }
        ),
        (
            mesh_ref(),
            mesh_ref(),
            prop::collection::vec(any::<u32>(), 0..3),
            finite(),
            registration()
        )
            .prop_map(
                |(moving, fixed, follow, iso_hu, registration)| Op::RegisterMesh {
                    moving,
                    fixed,
                    follow,
                    iso_hu,
                    registration
                }
            ),
        (mesh_ref(), finite(), smoothing()).prop_map(|(target, iso_hu, method)| {
            Op::SmoothMeshBy {
                target,
                iso_hu,
                method,
            }
        }),
        (mesh_ref(), finite(), finite(), any::<u32>()).prop_map(
            |(target, iso_hu, weld_tolerance_mm, max_hole_edges)| Op::RepairMesh {
                target,
                iso_hu,
                weld_tolerance_mm,
                max_hole_edges
            }
        ),
        (mesh_ref(), mesh_ref(), finite()).prop_map(|(measured, reference, iso_hu)| {
            Op::CompareMeshes {
                measured,
                reference,
                iso_hu,
            }
        }),
        (mesh_ref(), any::<u32>(), finite(), finite(), finite()).prop_map(
            |(target, iterations, lambda, mu, iso_hu)| Op::SmoothMesh {
                target,
                iterations,
                lambda,
                mu,
                iso_hu
            }
        ),
        (mesh_ref(), finite(), finite(), finite()).prop_map(
            |(target, target_edge_mm, max_deviation_mm, iso_hu)| Op::RemeshMesh {
                target,
                target_edge_mm,
                max_deviation_mm,
                iso_hu
            }
        ),
        (mesh_ref(), any::<u32>(), finite(), finite()).prop_map(
            |(target, target_triangles, max_deviation_mm, iso_hu)| Op::DecimateMesh {
                target,
                target_triangles,
                max_deviation_mm,
                iso_hu
            }
        ),
        any::<u32>().prop_map(|id| Op::DeleteMesh { id }),
        (
            mesh_ref(),
            finite(),
            prop::collection::vec(prop::array::uniform3(finite()), 0..6),
            finite(),
            any::<bool>(),
            prop::option::of(prop::collection::vec(any::<u32>(), 0..4))
        )
            .prop_map(|(target, iso_hu, stroke_mm, radius_mm, erase, runs)| {
                Op::MarkArticular {
                    target,
                    iso_hu,
                    stroke_mm,
                    radius_mm,
                    erase,
                    runs,
                }
            }),
        (mesh_ref(), finite(), finite()).prop_map(|(target, iso_hu, max_gap_mm)| {
            Op::SuggestArticular {
                target,
                iso_hu,
                max_gap_mm,
            }
        }),
        mesh_ref().prop_map(|target| Op::ClearArticular { target }),
        (
            mesh_ref(),
            finite(),
            prop::array::uniform3(finite()),
            any::<u32>(),
            prop::array::uniform3(finite())
        )
            .prop_map(|(target, critical_angle_deg, weights, rank, rotate_deg)| {
                Op::OrientPrint {
                    target,
                    iso_hu: 720.0,
                    critical_angle_deg,
                    directions: 2000,
                    weights,
                    rank,
                    rotate_deg,
                }
            }),
        (finite(), any::<bool>()).prop_map(|(spacing_mm, block)| Op::PrintSupports {
            critical_angle_deg: 45.0,
            spacing_mm,
            tip_radius_mm: 0.25,
            base_fraction: 0.4,
            sides: 8,
            penetration_mm: 0.1,
            articular_clearance_mm: 0.5,
            min_gap_mm: 0.2,
            style: if block {
                SupportStyle::Block
            } else {
                SupportStyle::Cone
            },
            block: block.then(BlockParams::default),
        }),
        scan().prop_map(|scan| Op::SlicePrint { scan }),
        (
            prop::collection::vec(finite(), 0..4),
            any::<u32>(),
            scan(),
            any::<bool>()
        )
            .prop_map(|(sizes_percent, coupons, scan, supports)| Op::BuildPlate {
                sizes_percent,
                coupons,
                spacing_mm: 10.0,
                margin_mm: 5.0,
                machine_mm: [250.0, 250.0, 300.0],
                scan,
                supports,
            }),
    ]
}

fn scan() -> impl Strategy<Value = ScanSettings> {
    (
        prop::array::uniform4(finite()),
        any::<u32>(),
        finite(),
        any::<bool>(),
        finite(),
        prop_oneof![Just(0.0), finite()],
    )
        .prop_map(
            |(f, contour_count, beam_offset_um, chessboard, size_mm, outline_tolerance_um)| {
                ScanSettings {
                    layer_um: f[0],
                    hatch_spacing_um: f[1],
                    laser_power_w: f[2],
                    scan_speed_mm_s: f[3],
                    contour_count,
                    beam_offset_um,
                    chessboard,
                    size_mm,
                    rotation_deg: 67.0,
                    outline_tolerance_um,
                }
            },
        )
}

fn pixel() -> impl Strategy<Value = [u32; 2]> {
    prop::array::uniform2(any::<u32>())
}

fn morph() -> impl Strategy<Value = Morph> {
    prop_oneof![
        Just(Morph::Open),
        Just(Morph::Close),
        Just(Morph::Dilate),
        Just(Morph::Erode)
    ]
}

fn mesh_ref() -> impl Strategy<Value = MeshRef> {
    prop_oneof![
        any::<u8>().prop_map(MeshRef::Part),
        any::<u32>().prop_map(MeshRef::Mesh)
    ]
}

/// Pinned registration settings, or none (a link made before they were pinned).
fn registration() -> impl Strategy<Value = Option<RegisterParams>> {
    let counts = prop::array::uniform8(any::<u32>().prop_map(|n| n as usize));
    let reals = prop::array::uniform5(finite());
    prop::option::of(
        (counts, reals, any::<[bool; 3]>()).prop_map(|(n, x, b)| RegisterParams {
            max_samples: n[0],
            init_samples: n[1],
            init_iterations: n[2],
            pose_rounds: n[3],
            pose_reduction: n[4],
            thin_pose_target: b[2],
            extra_rotations: b[0],
            max_iterations: n[5],
            trim_fraction: x[0],
            min_rotation_rad: x[1],
            min_translation_mm: x[2],
            min_relative_rms_change: x[3],
            stop_when_rms_rises: b[1],
            coarse_samples: n[6] ^ n[7],
            overlap_distance_mm: x[4],
        }),
    )
}

fn smoothing() -> impl Strategy<Value = Smoothing> {
    prop_oneof![
        (any::<u32>(), finite())
            .prop_map(|(iterations, lambda)| Smoothing::Laplacian { iterations, lambda }),
        (finite(), any::<u32>()).prop_map(|(sigma_mm, iterations)| Smoothing::Gaussian {
            sigma_mm,
            iterations
        }),
        (finite(), finite(), any::<u32>(), any::<u32>(), finite()).prop_map(
            |(threshold_mm, tolerance_mm, reference_iterations, rounds, step)| Smoothing::Flatten {
                threshold_mm,
                tolerance_mm,
                reference_iterations,
                rounds,
                step
            }
        ),
        (
            prop::collection::vec(prop::array::uniform3(finite()), 0..6),
            finite(),
            any::<u32>(),
            finite(),
            finite()
        )
            .prop_map(
                |(stroke_mm, radius_mm, iterations, lambda, mu)| Smoothing::Brush {
                    stroke_mm,
                    radius_mm,
                    iterations,
                    lambda,
                    mu
                }
            ),
    ]
}

fn mirror_plane() -> impl Strategy<Value = MirrorPlane> {
    prop_oneof![
        finite().prop_map(|x_mm| MirrorPlane::Sagittal { x_mm }),
        Just(MirrorPlane::Fitted)
    ]
}

/// Finite doubles of any magnitude (JSON cannot hold NaN or infinity).
fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0e4..1.0e4f64,
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
    ]
}

fn design() -> impl Strategy<Value = DesignState> {
    (
        "[0-9a-f]{64}",
        "[0-9]\\.[0-9]{1,2}\\.[0-9]{1,2}",
        prop::collection::vec(op(), 0..12),
        voxel(),
        prop::array::uniform2(finite()),
        prop::array::uniform3(finite()),
        (
            prop::collection::vec((any::<u8>(), finite()), 0..3),
            prop::option::of((0u8..3, finite(), any::<bool>())),
            prop::collection::vec((0u8..3, any::<u32>(), voxel(), voxel()), 0..3),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(study_fingerprint, app_version, ops, cursor, window_hu, orbit, extra)| {
                let (part_opacity, clip, measurements, presenter) = extra;
                DesignState {
                    study_fingerprint,
                    app_version,
                    ops,
                    view: ViewState {
                        cursor,
                        window_hu,
                        orbit,
                        part_opacity,
                        clip: clip.map(|(axis, position_mm, flip)| ClipPlane {
                            axis,
                            position_mm,
                            flip,
                        }),
                        measurements: measurements
                            .into_iter()
                            .map(|(plane, index, a, b)| Measurement { plane, index, a, b })
                            .collect(),
                        presenter,
                    },
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_valid_design_round_trips_through_its_link(state in design()) {
        let link = encode_link(&state).unwrap();
        prop_assert!(link.starts_with("#d="));
        prop_assert_eq!(decode_link(&link).unwrap(), state.clone());
        // Inside a whole URL too.
        let url = format!("https://osteon.example/app{link}");
        prop_assert_eq!(decode_link(&url).unwrap(), state);
    }

    #[test]
    fn random_text_is_refused_or_decoded_never_a_panic(text in ".{0,200}") {
        let _ = decode_link(&text);
        let _ = decode_link(&format!("#d=1.{text}"));
    }

    #[test]
    fn truncated_links_are_refused(state in design(), cut in 0.0..1.0f64) {
        let link = encode_link(&state).unwrap();
        let keep = ((link.len() as f64) * cut) as usize;
        // Base64url and the prefix are ASCII, so any byte index is a char boundary.
        let short = &link[..keep.min(link.len() - 1)];
        prop_assert!(decode_link(short).is_err(), "a truncated link decoded: {}", short);
    }

    #[test]
    fn bit_flipped_links_are_refused(state in design(), at in any::<prop::sample::Index>(), bit in 0u8..7) {
        let link = encode_link(&state).unwrap();
        let mut bytes = link.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // A flip may leave invalid UTF-8 (impossible here, bit 7 is never flipped) or a
        // character the URL layer would reject; the decoder must still answer.
        let flipped = String::from_utf8(bytes).unwrap();
        match decode_link(&flipped) {
            Err(_) => {}
            // The only harmless flips are outside the design: none exist in a bare
            // `#d=…` fragment, so any success is a wrong design.
            Ok(other) => prop_assert!(false, "flipped byte {} decoded to {:?}", i, other),
        }
    }
}
