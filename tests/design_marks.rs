//! Articular marks of a design on the demo phantom, replayed natively: Auto bones →
//! suggest the joint surfaces of the left talus (its tibia, fibula, calcaneus and
//! navicular lie 2–2.5 mm away) → mirror it → register the copy onto the right talus → orient it →
//! supports. The marks follow the copy, orientation keeps them facing up, supports keep
//! clear of them, and the op log survives a link round trip to the same marks.

use osteon::demo::{self, DemoParams};
use osteon::design::replay::{replay, Segmentation};
use osteon::design::{decode_link, encode_link, DesignState, MeshRef, MirrorPlane, Op, ViewState};
use osteon::mesh::bvh::Bvh;
use osteon::mesh::Mesh;
use osteon::print::articular::lifted_patch;
use osteon::print::supports::SupportStyle;

fn auto_label(study: &demo::DemoStudy, seg: &Segmentation, name: &str) -> u8 {
    let c = demo::bone_centre_voxel(study, name).expect("the phantom has this bone");
    let [nx, ny, _] = seg.labels.dims;
    seg.labels.data[c[0] + nx * (c[1] + ny * c[2])]
}

fn auto() -> Op {
    Op::AutoBones {
        lower_hu: 226,
        upper_hu: 3071,
    }
}

/// Centroids of the marked faces of `mesh`.
fn marked_centroids(mesh: &Mesh, mask: &[bool]) -> Vec<[f64; 3]> {
    (0..mesh.triangle_count())
        .filter(|&t| mask[t])
        .map(|t| {
            let c = mesh.corners(t);
            [0, 1, 2].map(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0)
        })
        .collect()
}

#[test]
fn joint_surfaces_of_the_demo_talus_are_suggested_and_follow_the_mirrored_copy() {
    let study = demo::generate(&DemoParams::default());
    let first = replay(&study.ct, &[auto()]).unwrap();
    let left = auto_label(&study, &first, "left talus");
    let right = auto_label(&study, &first, "right talus");
    let suggest = |target| Op::SuggestArticular {
        target,
        iso_hu: 720.0,
        max_gap_mm: 3.0,
    };
    let mut ops = vec![
        auto(),
        suggest(MeshRef::Part(left)),
        suggest(MeshRef::Part(right)),
    ];
    let seg = replay(&study.ct, &ops).unwrap();
    // The right talus's note names its joint partners.
    let note = &seg.meshes.mark_note;
    println!("{note}");
    for partner in ["right tibia", "right calcaneus", "right navicular"] {
        assert!(note.contains(partner), "{partner} in: {note}");
    }
    // The lateral malleolus meets the talus too (the talofibular joint); nothing of the
    // other leg does.
    assert!(
        note.contains("right fibula") && !note.contains("left "),
        "{note}"
    );
    assert_eq!(seg.meshes.part_marks.len(), 2);
    let marks_of = |label: u8| {
        seg.meshes
            .part_marks
            .iter()
            .find(|m| m.label == label)
            .unwrap()
    };
    let (lm, rm) = (marks_of(left), marks_of(right));
    let share = lm.marks.count() as f64 / lm.surface.triangle_count() as f64;
    println!(
        "left talus: {} of {} faces marked ({:.1} %)",
        lm.marks.count(),
        lm.surface.triangle_count(),
        100.0 * share
    );
    // Joint surfaces cover a good part of a talus, not all of it.
    assert!((0.1..0.7).contains(&share), "{share}");

    // Mirror the left talus and register it onto the right one: its marks go with it
    // and land on the right talus's own joint surfaces.
    ops.extend([
        Op::MirrorMesh {
            source: MeshRef::Part(left),
            plane: MirrorPlane::Sagittal { x_mm: 0.0 },
            iso_hu: 720.0,
            registration: None,
        },
        Op::RegisterMesh {
            moving: MeshRef::Mesh(1),
            fixed: MeshRef::Part(right),
            follow: vec![],
            iso_hu: 720.0,
            registration: None,
        },
    ]);
    let seg = replay(&study.ct, &ops).unwrap();
    let copy = seg.meshes.get(1).unwrap();
    assert_eq!(
        copy.articular, lm.marks,
        "same faces as the left talus's marks"
    );
    let rb = Bvh::build(&lifted_patch(&rm.surface, &rm.marks, 0.0)).unwrap();
    let moved = marked_centroids(&copy.mesh, &copy.articular.mask);
    let near = moved
        .iter()
        .filter(|&&p| rb.closest_point(p).unwrap().distance_mm < 2.0)
        .count();
    println!(
        "{near} of {} moved marks within 2 mm of the right talus's",
        moved.len()
    );
    assert!(near * 10 >= moved.len() * 8, "{near} of {}", moved.len());

    // Suggest on the registered copy: the right talus under it is the same bone and is
    // skipped; its partners are the right tibia, calcaneus and navicular.
    ops.push(Op::ClearArticular {
        target: MeshRef::Mesh(1),
    });
    ops.push(suggest(MeshRef::Mesh(1)));
    let seg = replay(&study.ct, &ops).unwrap();
    let note = &seg.meshes.mark_note;
    println!("{note}");
    assert!(note.contains("right talus skipped"), "{note}");
    assert!(note.contains("right tibia"), "{note}");

    // Orient and support the copy: its joint surfaces face up, supports keep clear.
    ops.push(Op::OrientPrint {
        target: MeshRef::Mesh(1),
        iso_hu: 720.0,
        critical_angle_deg: 45.0,
        directions: 1000,
        weights: [1.0, 0.5, 100.0],
        rank: 0,
        rotate_deg: [0.0; 3],
    });
    for style in [SupportStyle::Cone, SupportStyle::Block] {
        ops.push(Op::PrintSupports {
            critical_angle_deg: 45.0,
            spacing_mm: 1.5,
            tip_radius_mm: 0.25,
            base_fraction: 0.4,
            sides: 8,
            penetration_mm: 0.1,
            articular_clearance_mm: 0.5,
            min_gap_mm: 0.2,
            style,
            block: (style == SupportStyle::Block)
                .then(osteon::print::block_supports::BlockParams::default),
        });
        let seg = replay(&study.ct, &ops).unwrap();
        let o = seg.print.oriented.as_ref().unwrap();
        let marked_area = osteon::print::articular::marked_area_mm2(&o.mesh, &o.marks);
        println!(
            "{style:?}: {} marked faces ({marked_area:.0} mm²), {:.0} mm² of them looking down, {:.0} mm² needing support",
            o.marks.count(),
            o.map.articular_down_area_mm2,
            o.map.articular_overhang_area_mm2
        );
        assert_eq!(o.marks, seg.meshes.get(1).unwrap().articular);
        // Joint surfaces wrap round a talus, so some look down whatever the direction;
        // the search keeps that to a small share.
        assert!(o.map.articular_overhang_area_mm2 < 0.1 * marked_area);
        let s = &seg.print.supports.as_ref().unwrap().result;
        assert!(!s.mesh.triangles.is_empty());
        let patch = Bvh::build(&lifted_patch(&o.mesh, &o.marks, 0.0)).unwrap();
        let closest = s
            .mesh
            .positions_mm
            .iter()
            .map(|&p| patch.closest_point(p).unwrap().distance_mm)
            .fold(f64::INFINITY, f64::min);
        assert!(
            closest >= 0.5 - 1e-9,
            "{style:?}: support {closest} mm from a joint surface"
        );
        ops.pop();
    }

    // The op log through a link replays to the same marks.
    let design = DesignState {
        study_fingerprint: "00".repeat(32),
        app_version: "test".into(),
        ops: ops.clone(),
        view: ViewState::default(),
    };
    let link = encode_link(&design).unwrap();
    assert!(link.starts_with("#d=2."));
    let back = decode_link(&link).unwrap();
    assert_eq!(back.ops, ops);
    let again = replay(&study.ct, &back.ops).unwrap();
    let seg = replay(&study.ct, &ops).unwrap();
    assert_eq!(again.meshes, seg.meshes);
    assert_eq!(again.print, seg.print);
}

#[test]
fn deleting_a_part_or_running_auto_bones_again_drops_its_marks() {
    let study = demo::generate(&DemoParams::default());
    let first = replay(&study.ct, &[auto()]).unwrap();
    let talus = auto_label(&study, &first, "right talus");
    let suggest = Op::SuggestArticular {
        target: MeshRef::Part(talus),
        iso_hu: 720.0,
        max_gap_mm: 3.0,
    };
    let seg = replay(&study.ct, &[auto(), suggest.clone()]).unwrap();
    assert_eq!(seg.meshes.part_marks.len(), 1);
    let seg = replay(&study.ct, &[auto(), suggest.clone(), auto()]).unwrap();
    assert!(seg.meshes.part_marks.is_empty());
    let seg = replay(
        &study.ct,
        &[auto(), suggest, Op::DeletePart { label: talus }],
    )
    .unwrap();
    assert!(seg.meshes.part_marks.is_empty());
}
