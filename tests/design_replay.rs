//! Replaying a design's op log natively gives the same label volume as in the browser:
//! the e2e test asserts the same digest for Auto bones on the demo study.

use osteon::demo::{self, DemoParams};
use osteon::design::replay::{replay, Segmentation};
use osteon::design::Op;
use osteon::volume::{labels_sha256_hex, Volume};

#[path = "common/golden.rs"]
mod golden;

fn labels_sha(seg: &Segmentation) -> String {
    labels_sha256_hex(&seg.labels)
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

/// Two 1000 HU balls of radius 8 voxels whose centres are 14 voxels apart: joined by a neck.
fn two_touching_balls() -> Volume<i16> {
    let mut ct = Volume::filled([48, 32, 32], [1.0; 3], [0.0; 3], -1000i16);
    for k in 0..32 {
        for j in 0..32 {
            for i in 0..48 {
                let d = |c: f64| {
                    ((i as f64 - c).powi(2) + (j as f64 - 16.0).powi(2) + (k as f64 - 16.0).powi(2))
                        .sqrt()
                };
                if d(17.0) <= 8.0 || d(31.0) <= 8.0 {
                    let n = ct.index(i, j, k);
                    ct.data[n] = 1000;
                }
            }
        }
    }
    ct
}

#[test]
fn splitting_two_joined_bones_keeps_every_voxel_and_names_the_new_part() {
    let ct = two_touching_balls();
    let grow = Op::Grow {
        seed: [17, 16, 16],
        lower_hu: 226,
        upper_hu: 3071,
        name: "pair".into(),
    };
    let before = replay(&ct, std::slice::from_ref(&grow)).unwrap();
    assert_eq!(before.parts.len(), 1, "the balls must start as one part");
    let split = Op::SplitPart {
        label: 1,
        seeds: [[17, 16, 16], [31, 16, 16]],
    };
    let after = replay(&ct, &[grow.clone(), split]).unwrap();
    assert_eq!(after.parts.len(), 2);
    assert_eq!(after.parts[1].name, "pair (2)");
    let (a, b) = (after.parts[0].voxels, after.parts[1].voxels);
    assert_eq!(a + b, before.parts[0].voxels);
    assert!(
        (a as f64 / b as f64 - 1.0).abs() < 0.1,
        "halves {a} and {b} should be nearly equal"
    );
    // Seeds inside one ball only: no joint between them.
    let no_joint = Op::SplitPart {
        label: 1,
        seeds: [[12, 16, 16], [20, 16, 16]],
    };
    let err = replay(&ct, &[grow.clone(), no_joint]).unwrap_err();
    assert!(err.1.to_string().contains("no joint"), "{}", err.1);
    let outside = Op::SplitPart {
        label: 1,
        seeds: [[0, 0, 0], [31, 16, 16]],
    };
    assert_eq!(replay(&ct, &[grow, outside]).unwrap_err().0, 1);
}
