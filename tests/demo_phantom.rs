//! Properties of the demo phantom: determinism, anatomy, HU ranges, joint gaps, table,
//! protocol QA geometry and NRRD export. Heavy checks run on a 1 mm grid of the same field
//! of view; the joint-gap check runs at the default 0.5 × 0.5 × 1 mm resolution.

use osteon::demo::{bone_infos, generate, generate_with_progress, DemoParams, DemoStudy, Side};
use osteon::nrrd::{read_nrrd_u8, write_nrrd_u8};
use osteon::volume::sha256_hex;
use std::sync::OnceLock;

fn coarse() -> &'static DemoStudy {
    static S: OnceLock<DemoStudy> = OnceLock::new();
    S.get_or_init(|| generate(&DemoParams::coarse(1.0)))
}

fn full() -> &'static DemoStudy {
    static S: OnceLock<DemoStudy> = OnceLock::new();
    S.get_or_init(|| generate(&DemoParams::default()))
}

/// Patient mm of voxel centre (i, j, k) on an axis-aligned grid.
fn centre_mm(s: &DemoStudy, i: usize, j: usize, k: usize) -> [f64; 3] {
    let p = s.ct.patient_mm([i as f64, j as f64, k as f64]);
    [p.x, p.y, p.z]
}

struct LabelStats {
    count: usize,
    sum: [f64; 3],
    min: [f64; 3],
    max: [f64; 3],
    hu: Vec<i16>,
}

fn label_stats(s: &DemoStudy) -> Vec<LabelStats> {
    let mut out: Vec<LabelStats> = (0..13)
        .map(|_| LabelStats {
            count: 0,
            sum: [0.0; 3],
            min: [f64::INFINITY; 3],
            max: [f64::NEG_INFINITY; 3],
            hu: Vec::new(),
        })
        .collect();
    let [nx, ny, nz] = s.labels.dims;
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let n = s.labels.index(i, j, k);
                let l = s.labels.data[n] as usize;
                if l == 0 {
                    continue;
                }
                let p = centre_mm(s, i, j, k);
                let st = &mut out[l];
                st.count += 1;
                for (a, &v) in p.iter().enumerate() {
                    st.sum[a] += v;
                    st.min[a] = st.min[a].min(v);
                    st.max[a] = st.max[a].max(v);
                }
                st.hu.push(s.ct.data[n]);
            }
        }
    }
    out
}

fn median(v: &mut [i16]) -> i16 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn voxel_mm3(s: &DemoStudy) -> f64 {
    s.labels.spacing_mm.iter().product()
}

#[test]
fn same_seed_gives_the_same_study_and_another_seed_does_not() {
    let p = DemoParams::coarse(2.0);
    let a = generate(&p);
    let b = generate(&p);
    assert_eq!(sha256_hex(&a.ct), sha256_hex(&b.ct));
    assert_eq!(a.labels, b.labels);
    let c = generate(&DemoParams { seed: 2, ..p });
    assert_ne!(sha256_hex(&a.ct), sha256_hex(&c.ct));
}

#[test]
fn label_table_names_twelve_bones_right_then_left() {
    let bones = bone_infos();
    assert_eq!(bones.len(), 12);
    for (n, b) in bones.iter().enumerate() {
        assert_eq!(b.label as usize, n + 1);
        assert_eq!(b.name, format!("{} {}", b.side.as_str(), b.bone));
        assert_eq!(b.side, if n < 6 { Side::Right } else { Side::Left });
    }
    assert_eq!(bones[2].name, "right talus");
    assert_eq!(bones[9].name, "left calcaneus");
    let json = serde_json::to_string(&bones[8]).unwrap();
    assert_eq!(
        json,
        r#"{"label":9,"name":"left talus","side":"left","bone":"talus"}"#
    );
    assert_eq!(coarse().bones, bones);
}

#[test]
fn every_bone_is_present_with_a_plausible_volume() {
    let s = coarse();
    let stats = label_stats(s);
    let vox = voxel_mm3(s);
    // cm³ ranges: tibia and fibula only as much as the field of view holds.
    let ranges = [
        (20.0, 80.0),
        (5.0, 25.0),
        (25.0, 45.0),
        (40.0, 80.0),
        (4.0, 15.0),
        (5.0, 18.0),
    ];
    for b in bone_infos() {
        let cm3 = stats[b.label as usize].count as f64 * vox / 1000.0;
        let (lo, hi) = ranges[(b.label as usize - 1) % 6];
        assert!(
            cm3 >= lo && cm3 <= hi,
            "{} has {cm3:.1} cm³, expected {lo}–{hi}",
            b.name
        );
    }
}

#[test]
fn bones_sit_on_their_side_in_anatomical_order() {
    let s = coarse();
    let stats = label_stats(s);
    let c = |l: usize| stats[l].sum.map(|v| v / stats[l].count as f64);
    for side in 0..2 {
        let o = side * 6;
        let sign = if side == 0 { -1.0 } else { 1.0 }; // right foot at −x
        for b in 1..=6 {
            assert!(
                c(o + b)[0] * sign > 20.0,
                "label {} centroid {:?}",
                o + b,
                c(o + b)
            );
        }
        let (tibia, fibula, talus, calc, nav, cub) =
            (c(o + 1), c(o + 2), c(o + 3), c(o + 4), c(o + 5), c(o + 6));
        // Fibula lateral (away from the midline) of the tibia.
        assert!(fibula[0].abs() > tibia[0].abs() + 10.0);
        // Talus below the tibia, above the calcaneus; calcaneus reaches furthest posterior.
        assert!(tibia[2] > talus[2] && talus[2] > calc[2]);
        assert!(stats[o + 4].max[1] > stats[o + 3].max[1] + 15.0);
        // Navicular and cuboid anterior (−y) of talus and calcaneus; cuboid lateral of navicular.
        assert!(nav[1] < talus[1] - 20.0 && cub[1] < calc[1] - 30.0);
        assert!(cub[0].abs() > nav[0].abs());
        // Lateral malleolus reaches lower than the medial one.
        assert!(stats[o + 2].min[2] < stats[o + 1].min[2] - 2.0);
        // Sizes: talus ≈ 55 mm long, calcaneus ≈ 75–85 mm.
        let talus_len = stats[o + 3].max[1] - stats[o + 3].min[1];
        let calc_len = stats[o + 4].max[1] - stats[o + 4].min[1];
        assert!(
            (48.0..62.0).contains(&talus_len),
            "talus length {talus_len}"
        );
        assert!(
            (72.0..88.0).contains(&calc_len),
            "calcaneus length {calc_len}"
        );
    }
}

#[test]
fn left_side_is_a_mirror_with_small_asymmetries() {
    let s = coarse();
    let stats = label_stats(s);
    let vox = voxel_mm3(s);
    for b in 1..=6 {
        let (r, l) = (&stats[b], &stats[b + 6]);
        let rc = r.sum.map(|v| v / r.count as f64);
        let lc = l.sum.map(|v| v / l.count as f64);
        let mirrored_dx = (rc[0] + lc[0]).abs();
        let dist =
            ((rc[0] + lc[0]).powi(2) + (rc[1] - lc[1]).powi(2) + (rc[2] - lc[2]).powi(2)).sqrt();
        assert!(
            dist < 12.0,
            "label {b}: mirrored centroids {dist:.1} mm apart"
        );
        let ratio = l.count as f64 * vox / (r.count as f64 * vox);
        assert!(
            (0.85..1.15).contains(&ratio),
            "label {b}: volume ratio {ratio}"
        );
        let _ = mirrored_dx;
    }
    // Not an exact mirror: the tali differ in volume and position.
    let (rt, lt) = (&stats[3], &stats[9]);
    assert!((lt.count as f64 / rt.count as f64 - 1.0).abs() > 0.03);
}

#[test]
fn bone_is_bright_and_air_is_minus_1000() {
    let s = coarse();
    let mut stats = label_stats(s);
    for (l, st) in stats.iter_mut().enumerate().skip(1) {
        let m = median(&mut st.hu);
        assert!(m > 200 && m < 800, "label {l} median {m} HU");
    }
    // Air: lateral strips beyond both feet, above the table.
    let [nx, ny, nz] = s.ct.dims;
    let mut air = Vec::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in (0..8).chain(nx - 8..nx) {
                if centre_mm(s, i, j, k)[1] < 40.0 {
                    air.push(s.ct.data[s.ct.index(i, j, k)]);
                }
            }
        }
    }
    let m = median(&mut air);
    let mean = air.iter().map(|&v| v as f64).sum::<f64>() / air.len() as f64;
    assert!((m + 1000).abs() <= 3, "air median {m}");
    assert!((mean + 1000.0).abs() < 2.0, "air mean {mean}");
    let sd =
        (air.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / air.len() as f64).sqrt();
    assert!((15.0..25.0).contains(&sd), "noise sd {sd}");
}

#[test]
fn soft_tissue_and_fat_surround_the_bones() {
    let s = coarse();
    // A horizontal line through the right heel at calcaneus height, from lateral air to
    // the calcaneus: air, fat, soft tissue, then bone.
    let k = ((30.0 - s.ct.patient_mm([0.0, 0.0, 0.0]).z) / s.ct.spacing_mm[2]).round() as usize;
    let j = ((20.0 - s.ct.patient_mm([0.0, 0.0, 0.0]).y) / s.ct.spacing_mm[1]).round() as usize;
    let row: Vec<i16> = (0..s.ct.dims[0] / 2)
        .map(|i| s.ct.data[s.ct.index(i, j, k)])
        .collect();
    assert!(row[0] < -900);
    let first_body = row.iter().position(|&v| v > -500).unwrap();
    let first_bone = row.iter().position(|&v| v > 600).unwrap();
    assert!(
        first_bone > first_body + 5,
        "soft tissue between skin and bone"
    );
    let tissue: Vec<i16> = row[first_body + 1..first_bone - 1].to_vec();
    assert!(
        tissue.iter().any(|&v| v < -50),
        "fat under the skin: {tissue:?}"
    );
    assert!(
        tissue.iter().any(|&v| (0..100).contains(&v)),
        "soft tissue: {tissue:?}"
    );
}

#[test]
fn table_is_bright_unlabelled_and_separate_from_the_heels() {
    let s = coarse();
    let [nx, ny, nz] = s.ct.dims;
    let mut table = Vec::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let p = centre_mm(s, i, j, k);
                let top = 70.0 - 0.0005 * p[0] * p[0];
                let n = s.ct.index(i, j, k);
                if p[1] > top + 1.5 && p[1] < top + 3.5 {
                    table.push(s.ct.data[n]);
                }
                if p[1] > top - 0.5 {
                    assert_eq!(s.labels.data[n], 0, "table labelled at {p:?}");
                }
            }
        }
    }
    let m = median(&mut table);
    assert!(m > 200, "table median {m} HU");
    // Along y through each heel centre there is air between the body and the table.
    let stats = label_stats(s);
    for calc in [4usize, 10] {
        let c = stats[calc].sum.map(|v| v / stats[calc].count as f64);
        let o = s.ct.patient_mm([0.0, 0.0, 0.0]);
        let i = ((c[0] - o.x) / s.ct.spacing_mm[0]).round() as usize;
        let k = ((c[2] - o.z) / s.ct.spacing_mm[2]).round() as usize;
        let top = 70.0 - 0.0005 * c[0] * c[0];
        let heel_j = (0..ny)
            .filter(|&j| s.labels.data[s.labels.index(i, j, k)] as usize == calc)
            .max()
            .unwrap();
        let table_j = (0..ny)
            .find(|&j| centre_mm(s, i, j, k)[1] > top - 1.0)
            .unwrap();
        let between: Vec<i16> = (heel_j..table_j)
            .map(|j| s.ct.data[s.ct.index(i, j, k)])
            .collect();
        assert!(
            between.iter().any(|&v| v > -200),
            "soft tissue behind calcaneus {calc}"
        );
        assert!(
            between.windows(2).any(|w| w.iter().all(|&v| v < -900)),
            "air gap behind calcaneus {calc}: {between:?}"
        );
    }
}

#[test]
fn neighbouring_bones_never_touch_at_full_resolution() {
    let s = full();
    let [nx, ny, nz] = s.labels.dims;
    let lab = &s.labels.data;
    let mut touching = std::collections::BTreeSet::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let a = lab[s.labels.index(i, j, k)];
                if a == 0 {
                    continue;
                }
                // Half of the 26-neighbourhood suffices (each pair is seen from one side).
                for (di, dj, dk) in [(1i64, 0i64, 0i64), (-1, 1, 0), (0, 1, 0), (1, 1, 0)]
                    .into_iter()
                    .chain((-1..=1).flat_map(|dj| (-1..=1).map(move |di| (di, dj, 1))))
                {
                    if let Some(b) = s.labels.get(i as i64 + di, j as i64 + dj, k as i64 + dk) {
                        if b != 0 && b != a {
                            touching.insert((a.min(b), a.max(b)));
                        }
                    }
                }
            }
        }
    }
    assert!(
        touching.is_empty(),
        "labels touching (26-connected): {touching:?}"
    );
}

/// Smallest distance (mm) between voxel centres of labels `a` and `b`, searched up to
/// `reach` voxels away in-plane and `reach_k` slices away.
fn min_gap_mm(s: &DemoStudy, a: u8, b: u8, reach: i64, reach_k: i64) -> f64 {
    let [nx, ny, nz] = s.labels.dims;
    let [sx, sy, sz] = s.labels.spacing_mm;
    let mut best = f64::INFINITY;
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                if s.labels.data[s.labels.index(i, j, k)] != a {
                    continue;
                }
                for dk in -reach_k..=reach_k {
                    for dj in -reach..=reach {
                        for di in -reach..=reach {
                            if s.labels.get(i as i64 + di, j as i64 + dj, k as i64 + dk) == Some(b)
                            {
                                let d2 = (di as f64 * sx).powi(2)
                                    + (dj as f64 * sy).powi(2)
                                    + (dk as f64 * sz).powi(2);
                                best = best.min(d2.sqrt());
                            }
                        }
                    }
                }
            }
        }
    }
    best
}

#[test]
fn narrow_joints_exist_for_the_split_step_and_the_subtalar_joint_stays_open() {
    let s = full();
    for o in [0u8, 6] {
        // Syndesmosis (tibia–fibula) and navicular–cuboid: about 1 mm.
        for (a, b) in [(2, 1), (5, 6)] {
            let gap = min_gap_mm(s, o + a, o + b, 4, 2);
            assert!(
                (1.0..=2.0).contains(&gap),
                "labels {} and {}: {gap:.2} mm",
                o + a,
                o + b
            );
        }
        // Talus–calcaneus: at least 1.5 mm everywhere.
        let gap = min_gap_mm(s, o + 3, o + 4, 4, 2);
        assert!((1.5..=2.5).contains(&gap), "talus–calcaneus {gap:.2} mm");
    }
}

#[test]
fn default_study_passes_protocol_geometry_with_a_bone_free_gap() {
    let p = DemoParams::default();
    assert!(p.spacing_mm[0] <= 0.5 && p.spacing_mm[1] <= 0.5 && p.spacing_mm[2] <= 1.25);
    let s = full();
    let stats = label_stats(s);
    let right_max_x = (1..=6)
        .map(|l| stats[l].max[0])
        .fold(f64::NEG_INFINITY, f64::max);
    let left_min_x = (7..=12)
        .map(|l| stats[l].min[0])
        .fold(f64::INFINITY, f64::min);
    assert!(
        left_min_x - right_max_x >= 15.0,
        "bone-free gap {:.1} mm",
        left_min_x - right_max_x
    );
    // Every bone is inside the field of view with air/tissue around it on x and y.
    let o = s.ct.patient_mm([0.0, 0.0, 0.0]);
    let e =
        s.ct.patient_mm([(s.ct.dims[0] - 1) as f64, (s.ct.dims[1] - 1) as f64, 0.0]);
    for st in &stats[1..] {
        assert!(st.count > 0);
        assert!(st.min[0] > o.x + 5.0 && st.max[0] < e.x - 5.0);
        assert!(st.min[1] > o.y + 5.0 && st.max[1] < e.y - 5.0);
    }
    // No bone column between the feet (bone-free along x on every row).
    let [nx, ny, nz] = s.labels.dims;
    let i_mid = nx / 2;
    for k in 0..nz {
        for j in 0..ny {
            assert_eq!(s.labels.data[s.labels.index(i_mid, j, k)], 0);
        }
    }
}

#[test]
fn progress_is_reported_per_slice_and_cancel_stops() {
    let p = DemoParams::coarse(4.0);
    let mut calls = Vec::new();
    let mut record = |done: usize, total: usize| {
        calls.push((done, total));
        true
    };
    let study = generate_with_progress(&p, &mut record).unwrap();
    assert_eq!(calls.len(), p.dims[2]);
    assert_eq!(calls.last(), Some(&(p.dims[2], p.dims[2])));
    assert_eq!(sha256_hex(&study.ct), sha256_hex(&generate(&p).ct));
    let mut n = 0;
    let mut cancel_at_3 = |_d: usize, _t: usize| {
        n += 1;
        n < 3
    };
    assert!(generate_with_progress(&p, &mut cancel_at_3).is_none());
    assert_eq!(n, 3);
}

#[test]
fn labels_survive_an_nrrd_round_trip() {
    let s = generate(&DemoParams::coarse(2.0));
    let bytes = write_nrrd_u8(&s.labels);
    let head = String::from_utf8_lossy(&bytes[..300]).to_string();
    assert!(head.starts_with("NRRD0004\n"));
    assert!(head.contains("space: left-posterior-superior"));
    assert!(head.contains("encoding: raw"));
    assert_eq!(read_nrrd_u8(&bytes).unwrap(), s.labels);
    let ct = osteon::nrrd::read_nrrd_i16(&osteon::nrrd::write_nrrd_i16(&s.ct)).unwrap();
    assert_eq!(sha256_hex(&ct), sha256_hex(&s.ct));
}

/// Timing and statistics of the default study: `cargo test --release --test demo_phantom -- --ignored --nocapture`.
#[test]
#[ignore]
fn default_study_timing_and_statistics() {
    let p = DemoParams::default();
    let t = std::time::Instant::now();
    let s = generate(&p);
    let dt = t.elapsed();
    println!(
        "generate {:?}: {:.3} s, sha256 {}",
        p.dims,
        dt.as_secs_f64(),
        sha256_hex(&s.ct)
    );
    let t = std::time::Instant::now();
    for _ in 0..3 {
        std::hint::black_box(generate(&p));
    }
    println!("mean of 3 more: {:.3} s", t.elapsed().as_secs_f64() / 3.0);
    if let Some(dir) = std::env::var_os("OSTEON_DEMO_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(
            dir.join("demo_ct.nrrd"),
            osteon::nrrd::write_nrrd_i16(&s.ct),
        )
        .unwrap();
        std::fs::write(dir.join("demo_labels.nrrd"), write_nrrd_u8(&s.labels)).unwrap();
    }
    let mut stats = label_stats(&s);
    let vox = voxel_mm3(&s);
    for b in bone_infos() {
        let st = &mut stats[b.label as usize];
        let m = median(&mut st.hu);
        println!(
            "{:>2} {:<16} {:6.1} cm³  x {:7.1}..{:7.1}  y {:7.1}..{:7.1}  z {:6.1}..{:6.1}  median {m} HU",
            b.label,
            b.name,
            st.count as f64 * vox / 1000.0,
            st.min[0],
            st.max[0],
            st.min[1],
            st.max[1],
            st.min[2],
            st.max[2]
        );
    }
}
