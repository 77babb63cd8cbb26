//! Native half of the bit-identity check: the browser tier (`tests/wasm_browser.rs`)
//! asserts the same golden digests from the same inputs.

use osteon::demo;
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::progress::NoProgress;
use osteon::volume::sha256_hex;

#[path = "common/golden.rs"]
mod golden;

#[test]
fn small_demo_phantom_matches_its_golden_digest() {
    let study = demo::generate(&golden::small_demo_params());
    assert_eq!(sha256_hex(&study.ct), golden::SMALL_DEMO_CT_SHA256);
}

#[test]
fn demo_series_written_as_dicom_reads_back_to_its_golden_digest() {
    let files = golden::small_demo_series();
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    assert_eq!(scan.series.len(), 1, "errors: {:?}", scan.errors);
    let loaded = dicom::read_series(
        &bytes,
        &scan,
        scan.series[0].id,
        &ReadOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(sha256_hex(&loaded.volume), golden::SMALL_DEMO_SERIES_SHA256);
}

#[test]
fn demo_series_round_trips_through_dicom_voxel_for_voxel() {
    let study = demo::generate(&golden::small_demo_params());
    let files = golden::small_demo_series();
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    let loaded = dicom::read_series(
        &bytes,
        &scan,
        scan.series[0].id,
        &ReadOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(loaded.volume.dims, study.ct.dims);
    let differing = loaded
        .volume
        .data
        .iter()
        .zip(&study.ct.data)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0, "HU values must survive the DICOM round trip");
    let d = (loaded.volume.patient_from_voxel - study.ct.patient_from_voxel)
        .abs()
        .max();
    assert!(d < 1e-6, "geometry differs by {d}");
}

#[test]
fn demo_study_passes_the_printing_protocol_qa() {
    let study = demo::generate(&demo::DemoParams::default());
    let qa = demo::loaded_series(study.ct).qa;
    for line in &qa.lines {
        assert_ne!(
            line.status,
            dicom::QaStatus::Fail,
            "{} fails: {} (limit {}) {}",
            line.check,
            line.value,
            line.limit,
            line.note
        );
    }
}
