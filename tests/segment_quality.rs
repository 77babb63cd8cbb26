//! Quality of "Auto bones" on the demo phantom against its truth labels (issue 4, "How
//! well"): per bone Dice ≥ 0.97, volume error ≤ 2 %, symmetric mean surface distance
//! below half a voxel, and the anatomical name of every bone. The per-bone figures are
//! printed (`cargo test --test segment_quality -- --nocapture`).
//!
//! Surfaces are extracted as "Calculate parts" does (`label_surface` at the part
//! iso-level, 720 HU) for both the part and the truth label, on the same CT.

use osteon::demo::{self, DemoParams, DemoStudy};
use osteon::mesh::distance::deviation;
use osteon::progress::NoProgress;
use osteon::segment::auto::{auto_bones, AutoBones, AutoParams};
use osteon::segment::SegmentError;
use osteon::surface::mc::{label_surface, McParams};
use osteon::volume::{sha256_hex, Volume};

#[path = "common/golden.rs"]
mod golden;

/// Iso-level of "Calculate parts" (www/app.js PART_ISO_HU).
const PART_ISO_HU: f64 = 720.0;

struct Score {
    truth: String,
    part: u8,
    dice: f64,
    volume_error: f64,
}

/// Match each truth bone to the part it overlaps most; Dice and relative volume error.
fn score(study: &DemoStudy, auto: &AutoBones) -> Vec<Score> {
    let n_parts = auto.parts.len();
    let mut overlap = vec![vec![0usize; n_parts + 1]; 256];
    let mut truth_count = [0usize; 256];
    let mut part_count = vec![0usize; n_parts + 1];
    for (t, p) in study.labels.data.iter().zip(&auto.labels.data) {
        overlap[*t as usize][*p as usize] += 1;
        truth_count[*t as usize] += 1;
        part_count[*p as usize] += 1;
    }
    study
        .bones
        .iter()
        .map(|b| {
            let t = b.label as usize;
            let (p, ov) = (1..=n_parts)
                .map(|p| (p, overlap[t][p]))
                .max_by_key(|x| (x.1, std::cmp::Reverse(x.0)))
                .unwrap_or((0, 0));
            Score {
                truth: b.name.clone(),
                part: p as u8,
                dice: 2.0 * ov as f64 / (truth_count[t] + part_count[p]) as f64,
                volume_error: part_count[p] as f64 / truth_count[t] as f64 - 1.0,
            }
        })
        .collect()
}

fn name_of(auto: &AutoBones, label: u8) -> &str {
    auto.parts
        .iter()
        .find(|p| p.label == label)
        .map_or("(none)", |p| p.name.as_str())
}

fn labels_sha(labels: &Volume<u8>) -> String {
    sha256_hex(&Volume {
        dims: labels.dims,
        spacing_mm: labels.spacing_mm,
        patient_from_voxel: labels.patient_from_voxel,
        data: labels.data.iter().map(|&v| v as i16).collect(),
    })
}

#[test]
fn auto_bones_on_the_demo_meets_dice_volume_and_surface_distance_and_names_every_bone() {
    let study = demo::generate(&DemoParams::default());
    let auto = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    assert_eq!(auto.parts.len(), 12, "one part per bone");
    let order: Vec<&str> = auto.parts.iter().map(|p| p.name.as_str()).collect();
    eprintln!("parts by label (largest first): {order:?}");
    let s = score(&study, &auto);
    let half_voxel_mm = 0.5 * study.ct.spacing_mm.iter().cloned().fold(f64::MAX, f64::min);
    eprintln!(
        "demo phantom {:?} voxels of {:?} mm, Auto bones vs truth; surfaces at {PART_ISO_HU} HU",
        study.ct.dims, study.ct.spacing_mm
    );
    eprintln!(
        "| truth bone | Auto bones name | Dice | volume error | mean surface distance (mm) |"
    );
    eprintln!("|---|---|---|---|---|");
    let mut failures = Vec::new();
    let mut matched: Vec<u8> = Vec::new();
    for x in &s {
        let truth_label = study
            .bones
            .iter()
            .find(|b| b.name == x.truth)
            .map(|b| b.label)
            .unwrap();
        let iso = McParams {
            iso_hu: PART_ISO_HU,
        };
        let part_mesh = label_surface(&study.ct, &auto.labels, x.part, &iso).unwrap();
        let truth_mesh = label_surface(&study.ct, &study.labels, truth_label, &iso).unwrap();
        let ab = deviation(&part_mesh, &truth_mesh).unwrap();
        let ba = deviation(&truth_mesh, &part_mesh).unwrap();
        let (na, nb) = (
            part_mesh.positions_mm.len() as f64,
            truth_mesh.positions_mm.len() as f64,
        );
        let msd = (ab.mean_mm * na + ba.mean_mm * nb) / (na + nb);
        let name = name_of(&auto, x.part);
        eprintln!(
            "| {} | {} | {:.4} | {:+.2} % | {:.3} (Hausdorff {:.2}) |",
            x.truth,
            name,
            x.dice,
            x.volume_error * 100.0,
            msd,
            ab.symmetric_hausdorff_mm.max(ba.symmetric_hausdorff_mm)
        );
        if x.dice < 0.97 {
            failures.push(format!("{}: Dice {:.4} < 0.97", x.truth, x.dice));
        }
        if x.volume_error.abs() > 0.02 {
            failures.push(format!(
                "{}: volume error {:+.2} %",
                x.truth,
                x.volume_error * 100.0
            ));
        }
        if msd >= half_voxel_mm {
            failures.push(format!(
                "{}: mean surface distance {msd:.3} mm ≥ half a voxel {half_voxel_mm} mm",
                x.truth
            ));
        }
        if name != x.truth {
            failures.push(format!("{}: named \"{name}\"", x.truth));
        }
        matched.push(x.part);
    }
    matched.sort_unstable();
    matched.dedup();
    assert_eq!(matched.len(), 12, "every bone matched to its own part");
    assert!(failures.is_empty(), "{failures:#?}");
    // Naming must not change a single label.
    assert_eq!(
        labels_sha(&auto.labels),
        golden::DEMO_AUTO_BONES_LABELS_SHA256
    );
}

/// Names must not depend on the grid or the seed's pose jitter of the left foot. At 2 mm
/// the joints are narrower than a voxel and bones merge: a merged part must keep a rank
/// name, never a wrong bone's name.
#[test]
fn every_demo_bone_is_named_at_coarser_grids_and_other_seeds() {
    for (spacing, seed) in [(1.0, 1), (1.0, 2), (1.0, 7), (2.0, 1)] {
        let study = demo::generate(&DemoParams {
            seed,
            ..DemoParams::coarse(spacing)
        });
        let auto = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
        let s = score(&study, &auto);
        let got: Vec<(String, String)> = s
            .iter()
            .map(|x| (x.truth.clone(), name_of(&auto, x.part).to_string()))
            .collect();
        eprintln!("{spacing} mm, seed {seed}: {got:?}");
        for (truth, name) in &got {
            if spacing <= 1.0 {
                assert_eq!(truth, name, "{spacing} mm grid, seed {seed}");
            } else {
                let side = truth.split(' ').next().unwrap_or_default();
                let rank = name
                    .strip_prefix(&format!("{side} bone "))
                    .is_some_and(|r| r.parse::<usize>().is_ok());
                assert!(
                    rank || truth == name,
                    "{spacing} mm, seed {seed}: {truth} named {name}"
                );
            }
        }
    }
}

/// A study without an ankle (one foot's bones shifted far apart, or a lone block) keeps
/// rank names: the rules name only what they are confident about.
#[test]
fn parts_that_are_not_an_ankle_keep_rank_names() {
    let mut ct = Volume::filled([60, 60, 60], [1.0; 3], [-30.0, -30.0, 0.0], 40i16);
    // Two separate blocks of cortical bone, on the patient's left.
    for k in 10..50 {
        for j in 10..25 {
            for i in 35..50 {
                let n = ct.index(i, j, k);
                ct.data[n] = 1400;
            }
            for i in 35..50 {
                let n = ct.index(i, j + 25, k);
                ct.data[n] = 1400;
            }
        }
    }
    let params = AutoParams {
        remove_table: false,
        ..AutoParams::default()
    };
    let auto = auto_bones(&ct, &params, &mut NoProgress).unwrap();
    let names: Vec<&str> = auto.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["left bone 1", "left bone 2"]);
}

/// A study with no bone at all is a clear error, not an empty silent result.
#[test]
fn a_study_without_bone_is_refused_with_a_clear_message() {
    let ct = Volume::filled([40, 40, 20], [1.0; 3], [0.0; 3], 40i16);
    let err = auto_bones(&ct, &AutoParams::default(), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SegmentError::NoBone(_)), "{err:?}");
    let msg = err.to_string();
    eprintln!("no bone: {msg}");
    assert!(msg.contains("226") && msg.contains("bone"), "{msg}");
}

/// A block of uniform 530 HU plastic (like the head CT's holder) beside a bone with a
/// cortex is not a part; the bone is.
#[test]
fn uniform_plastic_without_cortex_is_not_a_bone_part() {
    let mut ct = Volume::filled([60, 60, 40], [1.0; 3], [-30.0, -30.0, 0.0], 40i16);
    for k in 5..35 {
        for j in 10..30 {
            for i in 5..25 {
                // Bone: 2 mm cortex at 1400 HU around 300 HU trabecular bone.
                let shell =
                    !(7..=22).contains(&i) || !(12..=27).contains(&j) || !(7..=32).contains(&k);
                let n = ct.index(i, j, k);
                ct.data[n] = if shell { 1400 } else { 300 };
                // Plastic: a slab on the other side, never touching the bone.
                let n = ct.index(i + 32, j, k);
                ct.data[n] = 530 + ((i + j + k) % 3) as i16 * 10;
            }
        }
    }
    let params = AutoParams {
        remove_table: false,
        ..AutoParams::default()
    };
    let auto = auto_bones(&ct, &params, &mut NoProgress).unwrap();
    assert_eq!(auto.parts.len(), 1, "{:?}", auto.parts);
    assert!(auto.parts[0].centroid_mm[0] < 0.0, "the bone is kept");
    let kept = AutoParams {
        min_cortex_hu: None,
        ..params
    };
    assert_eq!(
        auto_bones(&ct, &kept, &mut NoProgress).unwrap().parts.len(),
        2
    );
}

/// Thick-slice CT (issue 4, part 3): the demo on 1.5 × 1.5 × 2 mm voxels, rasterised
/// with partial volume on that grid (the same as resampling the CT), against the truth
/// labels on the same grid. Prints Dice per bone and the names. Where a joint is
/// narrower than a voxel bones still merge or split wrongly (the calcaneus splits in
/// two on this grid), so the test holds what is reached today: at least
/// [`THICK_SLICE_MIN_GOOD`] bones with Dice ≥ 0.97, and no bone carrying another bone's
/// name (a rank name like "left bone 1" is allowed).
#[test]
fn auto_bones_on_thick_slices_separates_most_bones_and_never_misnames() {
    let d = DemoParams::default();
    let spacing = [1.5, 1.5, 2.0];
    let dims =
        [0, 1, 2].map(|a| (d.dims[a] as f64 * d.spacing_mm[a] / spacing[a]).round() as usize);
    let study = demo::generate(&DemoParams {
        dims,
        spacing_mm: spacing,
        ..d
    });
    let auto = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    let s = score(&study, &auto);
    eprintln!("demo on {dims:?} voxels of {spacing:?} mm: Auto bones vs truth on that grid");
    eprintln!("| truth bone | Auto bones name | Dice | volume error |");
    eprintln!("|---|---|---|---|");
    let mut good = 0;
    let mut misnamed = Vec::new();
    for x in &s {
        let name = name_of(&auto, x.part);
        eprintln!(
            "| {} | {} | {:.4} | {:+.2} % |",
            x.truth,
            name,
            x.dice,
            x.volume_error * 100.0
        );
        if x.dice >= 0.97 {
            good += 1;
        }
        let side = x.truth.split(' ').next().unwrap_or_default();
        let rank = name
            .strip_prefix(&format!("{side} bone "))
            .is_some_and(|r| r.parse::<usize>().is_ok());
        if !(rank || name == x.truth) {
            misnamed.push(format!("{} named \"{name}\"", x.truth));
        }
    }
    assert!(misnamed.is_empty(), "{misnamed:?}");
    assert!(
        good >= THICK_SLICE_MIN_GOOD,
        "{good} of {} bones with Dice ≥ 0.97",
        s.len()
    );
}

/// Bones (of 12) with Dice ≥ 0.97 on 1.5 × 1.5 × 2 mm voxels: 10 reached (5 before the
/// split erosion grew to at least one voxel).
const THICK_SLICE_MIN_GOOD: usize = 10;
