//! "Auto bones" on the demo phantom against its truth labels, the split / grow / surface
//! kernels on real-looking anatomy, and timings (ignored tests, run in release).

use std::time::Instant;

use osteon::demo::{self, DemoParams, DemoStudy};
use osteon::progress::NoProgress;
use osteon::segment::auto::{auto_bones, AutoBones, AutoParams, Side};
use osteon::segment::components::label_components;
use osteon::segment::grow::{grow, GrowParams};
use osteon::segment::threshold::{threshold, ThresholdParams};
use osteon::segment::{BitMask, Connectivity};
use osteon::surface::mc::{label_surface, volume_and_area, McParams};
use osteon::volume::Volume;

struct Score {
    name: String,
    dice: f64,
    volume_error: f64,
    part: u8,
    side_ok: bool,
}

/// Match every truth bone to the part with the largest overlap; Dice and relative volume error.
fn score(study: &DemoStudy, auto: &AutoBones) -> Vec<Score> {
    let n_parts = auto.parts.len();
    // overlap[truth][part]
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
            let dice = 2.0 * ov as f64 / (truth_count[t] + part_count[p]) as f64;
            let volume_error = part_count[p] as f64 / truth_count[t] as f64 - 1.0;
            let side = auto.parts.get(p.wrapping_sub(1)).map(|x| x.side);
            let want = if b.side == demo::Side::Left {
                Side::Left
            } else {
                Side::Right
            };
            Score {
                name: b.name.clone(),
                dice,
                volume_error,
                part: p as u8,
                side_ok: side == Some(want),
            }
        })
        .collect()
}

fn report(title: &str, study: &DemoStudy, auto: &AutoBones) -> Vec<Score> {
    let s = score(study, auto);
    println!("{title}: {} parts", auto.parts.len());
    println!("| bone | part | Dice | volume error |");
    println!("|---|---|---|---|");
    for x in &s {
        println!(
            "| {} | {} ({}) | {:.4} | {:+.2} % |",
            x.name,
            x.part,
            auto.parts[x.part as usize - 1].name,
            x.dice,
            x.volume_error * 100.0
        );
    }
    s
}

#[test]
fn auto_bones_finds_every_phantom_bone_at_1_mm() {
    let study = demo::generate(&DemoParams::coarse(1.0));
    let auto = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    let s = report("coarse 1 mm", &study, &auto);
    assert_eq!(
        auto.parts.len(),
        12,
        "one part per bone, table and islands removed"
    );
    let mut parts: Vec<u8> = s.iter().map(|x| x.part).collect();
    parts.sort_unstable();
    parts.dedup();
    assert_eq!(parts.len(), 12, "every bone matched to its own part");
    for x in &s {
        assert!(x.dice >= 0.95, "{}: Dice {:.4}", x.name, x.dice);
        assert!(x.side_ok, "{}: wrong side", x.name);
    }
    // Each part's voxel count and box are those of its label in the volume (the design
    // layer takes the counts without a recount).
    let counts = osteon::segment::mask::label_counts(&auto.labels);
    let boxes = osteon::segment::mask::label_bboxes(&auto.labels);
    for p in &auto.parts {
        assert_eq!(
            p.voxels, counts[p.label as usize],
            "{}: voxel count",
            p.name
        );
        assert_eq!(Some(p.bbox), boxes[p.label as usize], "{}: box", p.name);
    }
    // Sorted by size, labels 1..=n.
    assert!(auto.parts.windows(2).all(|w| w[0].voxels >= w[1].voxels));
    assert!(auto
        .parts
        .iter()
        .enumerate()
        .all(|(n, p)| p.label as usize == n + 1));
}

#[test]
fn auto_bones_is_deterministic_and_cancellable() {
    let study = demo::generate(&DemoParams::coarse(2.0));
    let a = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    let b = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.parts, b.parts);
    let mut stop = |done: usize, _total: usize| done < 3;
    assert!(auto_bones(&study.ct, &AutoParams::default(), &mut stop).is_err());
}

#[test]
fn grown_phantom_talus_is_one_bone_and_its_surface_is_closed() {
    let study = demo::generate(&DemoParams::coarse(1.0));
    let seed = demo::bone_centre_voxel(&study, "left talus").expect("talus centre");
    let seed = seed.map(|v| v as i64);
    let m = grow(&study.ct, seed, &GrowParams::default()).unwrap();
    let talus_label =
        study.labels.data[study
            .ct
            .index(seed[0] as usize, seed[1] as usize, seed[2] as usize)];
    let truth_talus = BitMask::from_label(&study.labels, talus_label);
    let covered = m.and(&truth_talus).count() as f64 / truth_talus.count() as f64;
    let other_bones = BitMask::from_fn(study.ct.dims, |n| {
        study.labels.data[n] != 0 && study.labels.data[n] != talus_label
    });
    let leaked = m.and(&other_bones).count() as f64 / truth_talus.count() as f64;
    println!("grow from the left talus at 1 mm, 226 HU, 6-connected: covers {:.1} % of it, leaks {:.1} % (of its size) into other bones", covered * 100.0, leaked * 100.0);
    assert!(covered > 0.9);
    let auto = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    let p = auto.labels.data[study
        .ct
        .index(seed[0] as usize, seed[1] as usize, seed[2] as usize)];
    let mesh = label_surface(&study.ct, &auto.labels, p, &McParams { iso_hu: 720.0 }).unwrap();
    let (v, a) = volume_and_area(&mesh);
    let truth_mm3 = truth_talus.count() as f64;
    println!("left talus at 1 mm: surface volume {v:.0} mm³ (truth voxels {truth_mm3:.0} mm³), area {a:.0} mm²");
    assert!((v / truth_mm3 - 1.0).abs() < 0.05);
}

/// Full resolution (448 × 320 × 128, 0.5 × 0.5 × 1 mm): run with
/// `cargo test --release --test segment_auto -- --ignored --nocapture`.
#[test]
#[ignore]
fn auto_bones_full_resolution_dice_and_volume() {
    let t = Instant::now();
    let study = demo::generate(&DemoParams::default());
    println!("phantom {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let auto = auto_bones(&study.ct, &AutoParams::default(), &mut NoProgress).unwrap();
    println!("auto bones {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let s = report("full resolution", &study, &auto);
    assert_eq!(auto.parts.len(), 12);
    for x in &s {
        assert!(x.dice >= 0.97, "{}: Dice {:.4}", x.name, x.dice);
        assert!(
            x.volume_error.abs() <= 0.02,
            "{}: volume error {:.2} %",
            x.name,
            x.volume_error * 100.0
        );
        assert!(x.side_ok);
    }
    // Surface of every part at the half-way iso-level, against the truth voxel volume.
    let t = Instant::now();
    for x in &s {
        let mesh =
            label_surface(&study.ct, &auto.labels, x.part, &McParams { iso_hu: 720.0 }).unwrap();
        let (v, a) = volume_and_area(&mesh);
        let truth_label = study.bones.iter().find(|b| b.name == x.name).unwrap().label;
        let truth_mm3 = study
            .labels
            .data
            .iter()
            .filter(|l| **l == truth_label)
            .count() as f64
            * 0.25;
        println!(
            "| {} | surface {:.0} mm³ ({:+.2} % vs truth voxels) | {:.0} mm² | {} triangles |",
            x.name,
            v,
            (v / truth_mm3 - 1.0) * 100.0,
            a,
            mesh.triangle_count()
        );
    }
    println!("12 surfaces {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
}

/// A 512 × 512 × 300 study tiled from the full-resolution phantom: timings in release.
#[test]
#[ignore]
fn bench_512x512x300() {
    let study = demo::generate(&DemoParams::default());
    let [sx, sy, sz] = study.ct.dims;
    let dims = [512, 512, 300];
    let mut ct = Volume::filled(dims, [0.5, 0.5, 1.0], [0.0; 3], -1000i16);
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            let src = sx * ((j % sy) + sy * (k % sz));
            let dst = dims[0] * (j + dims[1] * k);
            for i in 0..dims[0] {
                ct.data[dst + i] = study.ct.data[src + i % sx];
            }
        }
    }
    let time = |name: &str, f: &mut dyn FnMut() -> usize| {
        let mut best = f64::INFINITY;
        let mut out = 0;
        for _ in 0..3 {
            let t = Instant::now();
            out = f();
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("{name}: {best:.0} ms (best of 3) -> {out}");
    };
    time("threshold", &mut || {
        threshold(&ct, &ThresholdParams::default()).unwrap().count()
    });
    let m = threshold(&ct, &ThresholdParams::default()).unwrap();
    time("6-connected components", &mut || {
        label_components(&m, Connectivity::Six).count()
    });
    time("threshold + 6-connected components", &mut || {
        let m = threshold(&ct, &ThresholdParams::default()).unwrap();
        label_components(&m, Connectivity::Six).count()
    });
    time("26-connected components", &mut || {
        label_components(&m, Connectivity::TwentySix).count()
    });
    // Grow from the largest component's first voxel (a calcaneus-sized bone).
    let c = label_components(&m, Connectivity::Six);
    let seed = m.ijk(c.first_voxel[0]).map(|v| v as i64);
    time("region growing (largest bone)", &mut || {
        grow(&ct, seed, &GrowParams::default()).unwrap().count()
    });
    let mut labels = Volume::filled(dims, [0.5, 0.5, 1.0], [0.0; 3], 0u8);
    osteon::segment::mask::set_label(&mut labels, &c.mask_of(1), 1);
    time("marching cubes of that bone", &mut || {
        label_surface(&ct, &labels, 1, &McParams::default())
            .unwrap()
            .triangle_count()
    });
    let mask = BitMask::from_label(&labels, 1);
    time("marching cubes (mask ready)", &mut || {
        osteon::surface::mc::mask_surface(&ct, &mask, &McParams::default())
            .unwrap()
            .triangle_count()
    });
    time("auto bones", &mut || {
        auto_bones(&ct, &AutoParams::default(), &mut NoProgress)
            .unwrap()
            .parts
            .len()
    });
}

#[test]
fn automatic_split_separates_bones_joined_by_partial_volume() {
    // Without the rim trim the 226 HU mask is ≈ 0.3 mm fat and bones touch across the
    // narrow joints at 1 mm voxels; the erosion + watershed split must undo that.
    let study = demo::generate(&DemoParams::coarse(1.0));
    let no_trim = AutoParams {
        boundary_hu: None,
        ..Default::default()
    };
    let joined = auto_bones(
        &study.ct,
        &AutoParams {
            split_erosion_mm: None,
            ..no_trim.clone()
        },
        &mut NoProgress,
    )
    .unwrap();
    let split = auto_bones(&study.ct, &no_trim, &mut NoProgress).unwrap();
    println!(
        "without rim trim: {} parts unsplit, {} parts after the automatic split",
        joined.parts.len(),
        split.parts.len()
    );
    assert!(
        joined.parts.len() < 12,
        "bones should touch without the trim"
    );
    assert_eq!(split.parts.len(), 12);
    let s = report("coarse 1 mm, no rim trim, automatic split", &study, &split);
    for x in &s {
        assert!(x.dice >= 0.93, "{}: Dice {:.4}", x.name, x.dice);
    }
}
