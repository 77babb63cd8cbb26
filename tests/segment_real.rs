//! Real-data tier of "Auto bones" (issue 4, "How well"): the head CT and the
//! TotalSegmentator example in ../shared/data (see SOURCES.md there). Skipped with
//! "skipped: no shared data" when the folder is absent.

use std::path::{Path, PathBuf};

use osteon::dicom::{read_series, scan, FileBytes, LoadedSeries, ReadOptions};
use osteon::progress::NoProgress;
use osteon::segment::auto::{auto_bones, AutoParams};
use osteon::volume::Volume;

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

#[test]
fn head_ct_explore() {
    let Some(d) = data_dir() else { return };
    let ct = load_series(&d.join("ct_head_invesalius_0051")).volume;
    eprintln!(
        "dims {:?} spacing {:?} affine {}",
        ct.dims, ct.spacing_mm, ct.patient_from_voxel
    );
    let metal = ct.data.iter().filter(|v| **v > 3071).count();
    eprintln!("voxels > 3071 HU: {metal}");
    let table = osteon::segment::table::table_footprint(&ct, 226);
    let [nx, ny, _] = ct.dims;
    let tn: Vec<usize> = (0..nx * ny).filter(|&p| table[p]).collect();
    if !tn.is_empty() {
        let (mut jl, mut jh, mut il, mut ih) = (usize::MAX, 0, usize::MAX, 0);
        for &p in &tn {
            jl = jl.min(p / nx);
            jh = jh.max(p / nx);
            il = il.min(p % nx);
            ih = ih.max(p % nx);
        }
        eprintln!(
            "table footprint {} px, i {il}..{ih}, j {jl}..{jh}",
            tn.len()
        );
    }
    let auto = auto_bones(&ct, &AutoParams::default(), &mut NoProgress).unwrap();
    for p in &auto.parts {
        eprintln!(
            "{} {} vox {} {:.0} mm3 c {:?} bbox {:?} vbox {:?}",
            p.label,
            p.name,
            p.voxels,
            p.volume_mm3,
            p.centroid_mm.map(|v| v.round()),
            p.bbox_mm.map(|b| b.map(|v| v.round())),
            p.bbox
        );
    }
    for p in &auto.parts {
        let mut hu: Vec<i16> = auto
            .labels
            .data
            .iter()
            .zip(&ct.data)
            .filter(|(l, _)| **l == p.label)
            .map(|(_, h)| *h)
            .collect();
        hu.sort_unstable();
        let q = |f: f64| hu[((hu.len() - 1) as f64 * f) as usize];
        eprintln!(
            "{}: HU p1 {} p50 {} p90 {} p99 {} max {}, >=2000: {}",
            p.name,
            q(0.01),
            q(0.5),
            q(0.9),
            q(0.99),
            q(1.0),
            hu.iter().filter(|h| **h >= 2000).count()
        );
    }
    let mut all: Vec<i16> = ct.data.clone();
    all.sort_unstable();
    eprintln!(
        "max HU {} ; >= 2500: {}",
        all[all.len() - 1],
        all.iter().filter(|h| **h >= 2500).count()
    );
    let _ = Volume::<u8>::filled([1, 1, 1], [1.0; 3], [0.0; 3], 0);
}
