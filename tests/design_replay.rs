//! Replaying a design's op log natively gives the same label volume as in the browser:
//! the e2e test asserts the same digest for Auto bones on the demo study.

use osteon::demo::{self, DemoParams};
use osteon::design::replay::{replay, Segmentation};
use osteon::design::Op;
use osteon::volume::{sha256_hex, Volume};

#[path = "common/golden.rs"]
mod golden;

fn labels_sha(seg: &Segmentation) -> String {
    let l = &seg.labels;
    sha256_hex(&Volume {
        dims: l.dims,
        spacing_mm: l.spacing_mm,
        patient_from_voxel: l.patient_from_voxel,
        data: l.data.iter().map(|&v| v as i16).collect(),
    })
}

#[test]
fn auto_bones_on_the_demo_matches_the_browser_digest() {
    let study = demo::generate(&DemoParams::default());
    let seg = replay(
        &study.ct,
        &[Op::AutoBones {
            lower_hu: 226,
            upper_hu: 3071,
        }],
    )
    .unwrap();
    assert_eq!(seg.parts.len(), 12);
    assert_eq!(labels_sha(&seg), golden::DEMO_AUTO_BONES_LABELS_SHA256);
}

#[test]
fn grow_then_rename_then_delete_replays_deterministically() {
    let study = demo::generate(&DemoParams::coarse(1.0));
    let seed = demo::bone_centre_voxel(&study, "left talus")
        .unwrap()
        .map(|c| c as u32);
    let ops = vec![
        Op::Grow {
            seed,
            lower_hu: 226,
            upper_hu: 3071,
            name: String::new(),
        },
        Op::RenamePart {
            label: 1,
            name: "left talus".into(),
        },
    ];
    let a = replay(&study.ct, &ops).unwrap();
    let b = replay(&study.ct, &ops).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.parts[0].name, "left talus");
    let talus = study
        .bones
        .iter()
        .find(|b| b.name == "left talus")
        .unwrap()
        .label;
    let truth = study.labels.data.iter().filter(|&&l| l == talus).count() as f64;
    let grown = a.parts[0].voxels as f64;
    assert!(
        (grown / truth - 1.0).abs() < 0.15,
        "grown {grown} vs truth {truth} voxels"
    );
    let mut more = ops.clone();
    more.push(Op::DeletePart { label: 1 });
    let c = replay(&study.ct, &more).unwrap();
    assert!(c.parts.is_empty() && c.labels.data.iter().all(|&l| l == 0));
}

#[test]
fn a_seed_in_air_fails_with_its_position_and_nothing_is_created() {
    let study = demo::generate(&DemoParams::coarse(2.0));
    let err = replay(
        &study.ct,
        &[Op::Grow {
            seed: [0, 0, 0],
            lower_hu: 226,
            upper_hu: 3071,
            name: "x".into(),
        }],
    )
    .unwrap_err();
    assert_eq!(err.0, 0);
    assert!(err.1.to_string().contains("(0, 0, 0)"), "{}", err.1);
}
