//! Real-data tier: public DICOM files in ../shared/data (see SOURCES.md there).
//! Skipped with a message when the folder is absent.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use osteon::dicom::{qa, read_series, scan, FileBytes, QaStatus, ReadOptions};
use osteon::progress::NoProgress;
use osteon::volume::sha256_hex;

#[path = "common/golden.rs"]
mod golden;

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if d.is_dir() {
        Some(d)
    } else {
        println!("skipped: no shared data");
        None
    }
}

fn read_dir_recursive(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_dir_recursive(&p, out);
        } else if p.file_name().is_some_and(|n| n != "FILES.md") {
            if let Ok(b) = std::fs::read(&p) {
                out.push((p.display().to_string(), b));
            }
        }
    }
}

fn load_folder(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    read_dir_recursive(dir, &mut v);
    v
}

fn views(files: &[(String, Vec<u8>)]) -> Vec<FileBytes<'_>> {
    files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect()
}

#[test]
fn invesalius_head_loads_with_plausible_hu_and_qa() {
    let Some(d) = data_dir() else { return };
    let files = load_folder(&d.join("ct_head_invesalius_0051"));
    let fb = views(&files);
    let s = scan(&fb);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let ct: Vec<_> = s.volume_series().collect();
    assert_eq!(ct.len(), 1, "{:?}", s.series);
    let id = ct[0].id;
    let l = read_series(&fb, &s, id, &ReadOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(l.volume.dims, [512, 512, 108]);
    assert_eq!(sha256_hex(&l.volume), golden::HEAD_CT_SHA256);
    assert!(
        (l.volume.spacing_mm[0] - 0.4785).abs() < 1e-3,
        "{:?}",
        l.volume.spacing_mm
    );
    let (lo, hi) = l.volume.min_max().unwrap();
    assert!(lo <= -1000 && hi >= 3000, "HU range {lo}..{hi}");
    assert!(l.geometry.uneven);
    assert!((l.geometry.slice_spacing_mm - 1.5).abs() < 0.01);
    assert!((l.geometry.min_gap_mm - 1.0).abs() < 0.01);
    assert_eq!(l.qa.line(qa::SPACING).unwrap().status, QaStatus::Fail);
    assert_eq!(l.qa.line(qa::UNEVEN).unwrap().status, QaStatus::Warn);
    assert_eq!(l.qa.line(qa::PIXEL).unwrap().status, QaStatus::Pass);
    assert_eq!(
        l.qa.line(qa::BOTH_SIDES).unwrap().status,
        QaStatus::Fail,
        "{:?}",
        l.qa.line(qa::BOTH_SIDES)
    );
    assert!(l.file_errors.is_empty());
}

#[test]
fn ge_tilted_head_is_detected_and_resampled() {
    let Some(d) = data_dir() else { return };
    let files = load_folder(&d.join("ct_ge_tilted_head"));
    let fb = views(&files);
    let s = scan(&fb);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.series.len(), 1);
    let l = read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).unwrap();
    assert!(
        (l.geometry.tilt_deg - 18.5).abs() < 0.2,
        "tilt {}",
        l.geometry.tilt_deg
    );
    assert!(l.geometry.resampled);
    assert!(l.geometry.uneven);
    // The affine is orthonormal after correction: k axis parallel to row × col.
    let a = l.volume.patient_from_voxel;
    let col = |c: usize| nalgebra::Vector3::new(a[(0, c)], a[(1, c)], a[(2, c)]);
    let n = col(0).cross(&col(1)).normalize();
    assert!(col(2).normalize().dot(&n) > 0.999_999);
    let (lo, hi) = l.volume.min_max().unwrap();
    assert!(
        lo >= -1100 && hi > 1500,
        "HU range {lo}..{hi} (padding -1500 must become -1024)"
    );
    assert_eq!(l.qa.line(qa::TILT).unwrap().status, QaStatus::Warn);
}

#[test]
fn every_edge_file_loads_or_gives_a_named_error_without_panicking() {
    let Some(d) = data_dir() else { return };
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("edge_"))
        })
        .collect();
    folders.sort();
    assert!(!folders.is_empty());
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        eprintln!("caught panic: {info}");
    }));
    for dir in folders {
        let files = load_folder(&dir);
        let fb = views(&files);
        let s = catch_unwind(AssertUnwindSafe(|| scan(&fb)))
            .unwrap_or_else(|_| panic!("scan panicked in {}", dir.display()));
        let mut accounted = vec![false; files.len()];
        for e in &s.errors {
            assert!(!e.reason.is_empty());
            let i = files
                .iter()
                .position(|f| f.0 == e.name)
                .expect("error names a file");
            accounted[i] = true;
        }
        for sum in &s.series {
            let r = catch_unwind(AssertUnwindSafe(|| {
                read_series(&fb, &s, sum.id, &ReadOptions::default(), &mut NoProgress)
            }))
            .unwrap_or_else(|_| {
                panic!(
                    "read_series panicked on series {} in {}",
                    sum.id,
                    dir.display()
                )
            });
            match r {
                Ok(l) => {
                    println!(
                        "  ok   {} {}x{}x{} {} errors={:?}",
                        sum.description,
                        l.volume.dims[0],
                        l.volume.dims[1],
                        l.volume.dims[2],
                        sum.transfer_syntax,
                        l.file_errors
                    );
                    assert_eq!(l.volume.data.len(), l.volume.dims.iter().product::<usize>());
                }
                Err(e) => {
                    println!("  err  {} ({}): {e}", sum.description, sum.transfer_syntax);
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        // Files not in the error list must belong to some series.
        let in_series: usize = s.series.iter().map(|x| x.file_count).sum();
        let errored = accounted.iter().filter(|a| **a).count();
        assert!(
            in_series + errored >= files.len(),
            "{}: {} files, {} in series, {} errors",
            dir.display(),
            files.len(),
            in_series,
            errored
        );
        for e in &s.errors {
            println!("  file {}: {}", e.name, e.reason);
        }
        // Each file alone too, so files that are duplicates inside a folder still get decoded.
        for f in &fb {
            let one = [*f];
            let s = catch_unwind(AssertUnwindSafe(|| scan(&one)))
                .unwrap_or_else(|_| panic!("scan panicked on {}", f.name));
            assert_eq!(
                s.errors.len() + s.series.len().min(1),
                1,
                "{}: {:?}",
                f.name,
                s.errors
            );
            for sum in &s.series {
                let r = catch_unwind(AssertUnwindSafe(|| {
                    read_series(&one, &s, sum.id, &ReadOptions::default(), &mut NoProgress)
                }))
                .unwrap_or_else(|_| panic!("read_series panicked on {}", f.name));
                match r {
                    Ok(l) => {
                        let (lo, hi) = l.volume.min_max().unwrap_or((0, 0));
                        println!(
                            "  alone ok  {} {:?} HU {lo}..{hi} {:?}",
                            f.name, l.volume.dims, l.file_errors
                        )
                    }
                    Err(e) => println!("  alone err {}: {e}", f.name),
                }
            }
        }
    }
    std::panic::set_hook(prev);
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "a dependency panicked (caught natively, fatal on wasm32)"
    );
}

#[test]
fn enhanced_multiframe_ct_loads_per_frame_geometry() {
    let Some(d) = data_dir() else { return };
    let p = d.join("edge_pydicom/eCT_Supplemental.dcm");
    let Ok(bytes) = std::fs::read(&p) else { return };
    let fb = [FileBytes {
        name: "eCT",
        bytes: &bytes,
    }];
    let s = scan(&fb);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.series.len(), 1);
    let l = read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(l.volume.dims[2], 2);
    assert!(l.geometry.slice_spacing_mm > 0.0);
}

#[test]
fn ankle_slice_without_pixel_spacing_asks_the_user() {
    let Some(d) = data_dir() else { return };
    let Ok(bytes) = std::fs::read(d.join("edge_fodicom/CT-MONO2-16-ankle")) else {
        return;
    };
    let fb = [FileBytes {
        name: "ankle",
        bytes: &bytes,
    }];
    let s = scan(&fb);
    assert_eq!(s.series.len(), 1, "{:?}", s.errors);
    let e = read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).unwrap_err();
    assert!(
        matches!(e, osteon::dicom::DicomError::MissingPixelSpacing { .. }),
        "{e}"
    );
    let opts = ReadOptions {
        assume_pixel_spacing_mm: Some([0.5, 0.5]),
        ..Default::default()
    };
    let l = read_series(&fb, &s, 0, &opts, &mut NoProgress).unwrap();
    let (lo, hi) = l.volume.min_max().unwrap();
    assert!(lo >= -1024 && hi > 2000, "{lo}..{hi}");
}

#[test]
fn jpeg_ls_gives_a_per_file_error_naming_the_transfer_syntax() {
    let Some(d) = data_dir() else { return };
    let Ok(bytes) = std::fs::read(d.join(
        "edge_dicomparser/encapsulated/single-frame/CT1_UNC.not_fragmented_bot_jpeg_ls.80.dcm",
    )) else {
        return;
    };
    let fb = [FileBytes {
        name: "jls",
        bytes: &bytes,
    }];
    let s = scan(&fb);
    assert_eq!(s.errors.len(), 1);
    assert!(
        s.errors[0].reason.contains("JPEG-LS")
            && s.errors[0].reason.contains("1.2.840.10008.1.2.4.80"),
        "{}",
        s.errors[0].reason
    );
}

#[test]
fn compressed_multiframe_variants_decode_identically_to_uncompressed() {
    let Some(d) = data_dir() else { return };
    let dir = d.join("edge_dicomparser/encapsulated/multi-frame");
    let load = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).ok()?;
        let fb = [FileBytes {
            name,
            bytes: &bytes,
        }];
        let s = scan(&fb);
        read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).ok()
    };
    let Some(reference) = load("CT0012.explicit_little_endian.dcm") else {
        return;
    };
    for name in [
        "CT0012.fragmented_no_bot_jpeg_lossless.57.dcm",
        "CT0012.fragmented_no_bot_jpeg_lossless.70.dcm",
        "CT0012.not_fragmented_bot_rle.dcm",
        "CT0012.not_fragmented_no_bot_rle.dcm",
    ] {
        let l = load(name).unwrap_or_else(|| panic!("{name} did not load"));
        assert_eq!(l.volume.dims, reference.volume.dims, "{name}");
        assert!(
            l.volume.data == reference.volume.data,
            "{name} differs from the uncompressed file"
        );
    }
}

#[test]
fn totalsegmentator_j2k_body_ct_loads() {
    let Some(d) = data_dir() else { return };
    let files = load_folder(&d.join("ct_totalsegmentator_example/example_ct_dicom"));
    let fb = views(&files);
    let s = scan(&fb);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.series.len(), 1);
    assert!(s.series[0]
        .transfer_syntax
        .contains("1.2.840.10008.1.2.4.90"));
    let l = read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(l.volume.dims, [512, 512, 20]);
    assert!((l.geometry.slice_spacing_mm - 2.0).abs() < 1e-6);
    // k = 0 is the lowest slice (z = -804.5).
    assert!((l.volume.patient_from_voxel[(2, 3)] + 804.5).abs() < 1e-6);
    let (lo, hi) = l.volume.min_max().unwrap();
    assert!(lo <= -1000 && hi >= 1000, "{lo}..{hi}");
    assert_eq!(l.qa.line(qa::SPACING).unwrap().status, QaStatus::Fail);
    assert_eq!(sha256_hex(&l.volume), golden::TOTALSEG_J2K_SHA256);
}

#[test]
fn three_slice_ct_with_padding_loads() {
    let Some(d) = data_dir() else { return };
    let files = load_folder(&d.join("ct3slice_dcmqi/ct-3slice"));
    let fb = views(&files);
    let s = scan(&fb);
    assert_eq!(s.series.len(), 1, "{:?}", s.errors);
    let l = read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(l.volume.dims, [512, 512, 3]);
    let (lo, _) = l.volume.min_max().unwrap();
    assert!(lo >= -1024, "padding must not leave -3024 HU: {lo}");
}
