//! Real-data tier of "Auto bones" (issue 4, "How well"): the head CT and the
//! TotalSegmentator example in ../shared/data (see SOURCES.md there). Skipped with
//! "skipped: no shared data" when the folder is absent.

use std::path::{Path, PathBuf};

use osteon::dicom::{read_series, scan, FileBytes, LoadedSeries, ReadOptions};
use osteon::progress::NoProgress;
use osteon::segment::auto::{auto_bones, AutoParams};
use osteon::segment::components::label_components;
use osteon::segment::threshold::{threshold, ThresholdParams};
use osteon::segment::{BitMask, Connectivity};
use osteon::volume::Volume;

#[path = "common/nifti.rs"]
mod nifti;

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if d.is_dir() {
        Some(d)
    } else {
        println!("skipped: no shared data");
        None
    }
}

/// Every file under `dir` (sorted), except notes.
fn load_folder(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            load_folder(&p, out);
        } else if p.extension().is_some_and(|e| e != "md" && e != "gz") || p.extension().is_none() {
            if let Ok(b) = std::fs::read(&p) {
                out.push((p.display().to_string(), b));
            }
        }
    }
}

fn load_series(dir: &Path) -> LoadedSeries {
    let mut files = Vec::new();
    load_folder(dir, &mut files);
    let fb: Vec<FileBytes<'_>> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let s = scan(&fb);
    let id = s.volume_series().next().expect("one CT series").id;
    read_series(&fb, &s, id, &ReadOptions::default(), &mut NoProgress).expect("series reads")
}

/// Voxels of the 226 HU window in 6-connected components of at least `min_mm3` without
/// any voxel above 800 HU: uniform non-bone material (the head holder).
fn holder_voxels(ct: &Volume<i16>, min_mm3: f64) -> (BitMask, Vec<[[f64; 3]; 2]>) {
    let m = threshold(ct, &ThresholdParams::default()).unwrap();
    let cc = label_components(&m, Connectivity::Six);
    let voxel_mm3 = ct.spacing_mm.iter().product::<f64>();
    let mut max_hu = vec![i16::MIN; cc.count() + 1];
    for r in &cc.runs {
        for n in r.start..r.end {
            max_hu[r.label as usize] = max_hu[r.label as usize].max(ct.data[n]);
        }
    }
    let is_holder =
        |l: u32| cc.sizes[l as usize - 1] as f64 * voxel_mm3 >= min_mm3 && max_hu[l as usize] < 800;
    let boxes = (1..=cc.count() as u32)
        .filter(|&l| is_holder(l))
        .map(|l| {
            let b = cc.bboxes[l as usize - 1];
            let lo = ct.patient_mm(b.min.map(|v| v as f64));
            let hi = ct.patient_mm(b.max.map(|v| v as f64));
            [[lo.x, lo.y, lo.z], [hi.x, hi.y, hi.z]]
        })
        .collect();
    (cc.mask_where(is_holder), boxes)
}

/// Head CT (512 × 512 × 108, dental fillings up to ≈ 3033 HU, a plastic head holder).
#[test]
fn head_ct_skull_is_the_largest_part_apart_from_the_holder_and_the_fillings() {
    let Some(d) = data_dir() else { return };
    let ct = load_series(&d.join("ct_head_invesalius_0051")).volume;
    let auto = auto_bones(&ct, &AutoParams::default(), &mut NoProgress).unwrap();
    for p in &auto.parts {
        eprintln!(
            "head CT part {} \"{}\": {:.0} cm³, centroid {:?} mm",
            p.label,
            p.name,
            p.volume_mm3 / 1000.0,
            p.centroid_mm.map(|v| v.round())
        );
    }
    let skull = &auto.parts[0];
    assert_eq!(skull.name, "skull", "the largest part is the skull");
    let total: usize = auto.parts.iter().map(|p| p.voxels).sum();
    assert!(skull.voxels as f64 >= 0.9 * total as f64);
    // The holder: found on its own, never labelled, not touching the skull.
    let (holder, boxes) = holder_voxels(&ct, 5000.0);
    eprintln!(
        "head holder: {} voxels in {} piece(s) at {boxes:?} mm (LPS)",
        holder.count(),
        boxes.len()
    );
    assert!(!boxes.is_empty(), "the study's head holder was not found");
    for b in &boxes {
        // Posterior-lateral, beside the skull: the holder's side walls.
        assert!(b[0][1] > -60.0, "holder expected behind the face: {b:?}");
    }
    let [nx, ny, nz] = ct.dims;
    let mut labelled_holder = 0usize;
    let mut skull_touches = 0usize;
    for n in holder.iter() {
        if auto.labels.data[n] != 0 {
            labelled_holder += 1;
        }
        let (i, j, k) = (n % nx, (n / nx) % ny, n / (nx * ny));
        let near = [
            (i > 0).then(|| n - 1),
            (i + 1 < nx).then(|| n + 1),
            (j > 0).then(|| n - nx),
            (j + 1 < ny).then(|| n + nx),
            (k > 0).then(|| n - nx * ny),
            (k + 1 < nz).then(|| n + nx * ny),
        ];
        if near
            .iter()
            .flatten()
            .any(|&q| auto.labels.data[q] == skull.label)
        {
            skull_touches += 1;
        }
    }
    assert_eq!(labelled_holder, 0, "holder voxels labelled as bone");
    assert_eq!(skull_touches, 0, "the skull touches the holder");
    // Dental metal (≥ 2500 HU) at or below the 3071 HU upper bound joins the skull; no part
    // is made of metal.
    let metal = |l: u8| {
        let (mut m, mut all) = (0usize, 0usize);
        for (x, h) in auto.labels.data.iter().zip(&ct.data) {
            if *x == l {
                all += 1;
                m += (*h >= 2500) as usize;
            }
        }
        (m, all)
    };
    let metal_total = ct.data.iter().filter(|h| **h >= 2500).count();
    let (in_skull, _) = metal(skull.label);
    eprintln!("dental metal: {metal_total} voxels ≥ 2500 HU, {in_skull} of them in the skull");
    assert!(metal_total > 100, "the study's fillings were not found");
    for p in &auto.parts {
        let (m, all) = metal(p.label);
        assert!(2 * m < all, "{} is mostly metal", p.name);
    }
    // Metal above the upper bound: left out of the mask, the skull stays whole.
    let low = AutoParams {
        upper_hu: 2500,
        ..AutoParams::default()
    };
    let cut = auto_bones(&ct, &low, &mut NoProgress).unwrap();
    let kept = cut
        .labels
        .data
        .iter()
        .zip(&ct.data)
        .filter(|(l, h)| **l != 0 && **h > 2500)
        .count();
    eprintln!(
        "upper bound 2500 HU: {} part(s), largest \"{}\" {:.0} cm³ (default: {:.0} cm³); {kept} metal voxels filled back inside bone",
        cut.parts.len(),
        cut.parts[0].name,
        cut.parts[0].volume_mm3 / 1000.0,
        skull.volume_mm3 / 1000.0
    );
    assert_eq!(cut.parts[0].name, "skull");
    assert!((cut.parts[0].volume_mm3 / skull.volume_mm3 - 1.0).abs() < 0.02);
}

/// TotalSegmentator "total" task label ids that are bone: sacrum and vertebrae (25–50),
/// humeri, scapulae, claviculae, femora, hips (69–78), skull, ribs, sternum (91–116).
/// Costal cartilage (117) is not bone and is left out.
fn is_ts_bone(id: i32) -> bool {
    (25..=50).contains(&id) || (69..=78).contains(&id) || (91..=116).contains(&id)
}

fn dice(a: impl Iterator<Item = (bool, bool)>) -> f64 {
    let (mut both, mut na, mut nb) = (0usize, 0usize, 0usize);
    for (x, y) in a {
        both += (x && y) as usize;
        na += x as usize;
        nb += y as usize;
    }
    2.0 * both as f64 / (na + nb).max(1) as f64
}

/// Dice of the 226 HU bone mask and of the Auto bones union against the union of
/// TotalSegmentator's bone labels, on `ct`'s grid.
fn bone_dice(ct: &Volume<i16>, ts: &[i32]) -> (f64, f64, usize) {
    let truth: Vec<bool> = ts.iter().map(|&l| is_ts_bone(l)).collect();
    let mask = threshold(ct, &ThresholdParams::default()).unwrap();
    let d_threshold = dice((0..ct.len()).map(|n| (mask.get(n), truth[n])));
    let auto = auto_bones(ct, &AutoParams::default(), &mut NoProgress).unwrap();
    let d_auto = dice(
        auto.labels
            .data
            .iter()
            .zip(&truth)
            .map(|(l, t)| (*l != 0, *t)),
    );
    (d_threshold, d_auto, auto.parts.len())
}

/// The TotalSegmentator example (20-slice JPEG 2000 series, lower thorax) against its
/// `--fast --ml` prediction example_seg_dicom.nii.gz, and its 3 mm NIfTI CT against
/// example_seg.nii.gz. The references are predictions, not manual truth (FILES.md there).
#[test]
fn totalsegmentator_example_bone_dice() {
    let Some(d) = data_dir() else { return };
    let dir = d.join("ct_totalsegmentator_example");
    let ct = load_series(&dir.join("example_ct_dicom")).volume;
    let seg =
        nifti::Nifti::read(&std::fs::read(dir.join("example_seg_dicom.nii.gz")).unwrap()).unwrap();
    assert_eq!(seg.dims, ct.dims);
    let ts = seg.resample_nearest(&ct);
    // Orientation check: TotalSegmentator's bone must be bright in our CT.
    let (sum, n) = ts
        .iter()
        .zip(&ct.data)
        .filter(|(l, _)| is_ts_bone(**l))
        .fold((0i64, 0i64), |(s, n), (_, h)| (s + *h as i64, n + 1));
    let mean_hu = sum as f64 / n.max(1) as f64;
    let (d_thr, d_auto, parts) = bone_dice(&ct, &ts);
    eprintln!(
        "TotalSegmentator DICOM example {:?}: {n} bone voxels (mean {mean_hu:.0} HU); Dice vs bone labels: 226 HU threshold {d_thr:.3}, Auto bones union {d_auto:.3} ({parts} parts)",
        ct.dims
    );
    assert!(
        mean_hu > 300.0,
        "labels look misaligned: mean HU {mean_hu:.0}"
    );
    assert!(
        d_thr >= DICOM_THRESHOLD_DICE_FLOOR,
        "threshold Dice {d_thr:.3}"
    );
    assert!(
        d_auto >= DICOM_AUTO_DICE_FLOOR,
        "Auto bones Dice {d_auto:.3}"
    );

    let sm = nifti::Nifti::read(&std::fs::read(dir.join("example_ct_sm.nii.gz")).unwrap())
        .unwrap()
        .to_ct();
    let seg = nifti::Nifti::read(&std::fs::read(dir.join("example_seg.nii.gz")).unwrap()).unwrap();
    let ts = seg.resample_nearest(&sm);
    let (d_thr, d_auto, parts) = bone_dice(&sm, &ts);
    eprintln!(
        "TotalSegmentator 3 mm NIfTI example {:?}: Dice vs bone labels: 226 HU threshold {d_thr:.3}, Auto bones union {d_auto:.3} ({parts} parts)",
        sm.dims
    );
    assert!(
        d_thr >= SM_THRESHOLD_DICE_FLOOR,
        "3 mm threshold Dice {d_thr:.3}"
    );
    assert!(
        d_auto >= SM_AUTO_DICE_FLOOR,
        "3 mm Auto bones Dice {d_auto:.3}"
    );
}

// Floors: the figures measured on 2026-11-25 (0.477, 0.417, 0.487) minus ≈ 0.03; the
// Auto bones figures since thin components keep their rim (2026-12-05: DICOM 0.623, 3 mm
// 0.258) minus ≈ 0.03.
// Why they are low: TotalSegmentator labels whole bones, and 37 % of its bone voxels
// here are trabecular bone or marrow below 226 HU; the 226 HU mask also holds costal
// cartilage and contrast-filled vessels. Auto bones trims the rim around the trabecular
// pockets of these 2 mm slices and drops fragments below 500 mm³. At 3 mm (the NIfTI
// pair) a one-voxel rim is most of a vertebra or rib: the trim used to shred the spine
// into fragments below 500 mm³ (Auto bones Dice 0.016, 3 parts of ~20 voxels); a
// component whose trim would take more than half of it now keeps its rim (2026-12-05:
// 0.258, the spine kept whole). What is still lost at 3 mm: rib fragments below 500 mm³
// (the 226 HU mask itself breaks the ribs apart at this voxel size) and rib pieces
// without cortex above 800 HU, which the uniform-material rule takes for plastic.
const DICOM_THRESHOLD_DICE_FLOOR: f64 = 0.45;
const DICOM_AUTO_DICE_FLOOR: f64 = 0.59;
const SM_THRESHOLD_DICE_FLOOR: f64 = 0.46;
const SM_AUTO_DICE_FLOOR: f64 = 0.23;
