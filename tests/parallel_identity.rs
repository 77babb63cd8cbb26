//! With the `parallel` feature the kernels that run one unit per thread (src/parallel.rs:
//! one DICOM file run, one Auto bones component, one part surface, one print layer) give
//! the same bits as the serial loops — checked on a pool of 4 threads (more threads than
//! this machine's cores, so units finish out of order) against `parallel::serial`.
//! `bash scripts/test.sh` runs the native suite with the feature.
#![cfg(feature = "parallel")]

use osteon::demo::{self, DemoParams};
use osteon::design::outputs::{output_files, part_meshes, PART_ISO_HU};
use osteon::design::replay::replay;
use osteon::design::Op;
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::parallel;
use osteon::progress::NoProgress;
use osteon::volume::{labels_sha256_hex, sha256_hex};

#[path = "common/golden.rs"]
mod golden;

const THREADS: usize = 4;

/// `f` serially and on a 4-thread pool; fails unless both give the same value.
fn same_both_ways<R: PartialEq + std::fmt::Debug + Send>(
    what: &str,
    f: impl Fn() -> R + Send + Sync,
) -> R {
    let serial = parallel::serial(|| {
        assert_eq!(parallel::threads(), 1);
        f()
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .unwrap();
    let threaded = pool.install(|| {
        assert_eq!(
            parallel::threads(),
            THREADS,
            "the maps must run on the pool"
        );
        f()
    });
    assert!(
        threaded == serial,
        "{what}: the parallel result differs from the serial one"
    );
    threaded
}

fn short_pixel_data(bytes: &[u8]) -> Vec<u8> {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let mut obj = dicom_object::from_reader(&bytes[128..]).unwrap();
    obj.put(DataElement::new(
        dicom_dictionary_std::tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(vec![1024u16; 7].into()),
    ));
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

fn read(files: &[(String, Vec<u8>)]) -> Result<dicom::LoadedSeries, String> {
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    let id = scan.series.first().ok_or("no series")?.id;
    dicom::read_series(&bytes, &scan, id, &ReadOptions::default(), &mut NoProgress)
        .map_err(|e| e.to_string())
}

#[test]
fn a_series_decodes_to_the_same_volume_and_file_errors_on_threads() {
    let mut files = golden::small_demo_series();
    let loaded = same_both_ways("series", || {
        let l = read(&files).unwrap();
        (sha256_hex(&l.volume), l.volume.dims, l.file_errors.len())
    });
    assert_eq!(loaded.0, golden::SMALL_DEMO_SERIES_SHA256);
    // Two slices whose pixel data holds fewer samples than Rows × Columns: their files
    // fail, in slice order, and the gaps are interpolated the same way.
    for n in [3, files.len() / 2] {
        files[n].1 = short_pixel_data(&files[n].1);
    }
    let damaged = same_both_ways("damaged series", || {
        let l = read(&files).unwrap();
        let errors: Vec<String> = l
            .file_errors
            .iter()
            .map(|e| format!("{}: {}", e.name, e.reason))
            .collect();
        (sha256_hex(&l.volume), l.geometry.missing_slices, errors)
    });
    assert_eq!(damaged.2.len(), 2, "{:?}", damaged.2);
    assert_ne!(damaged.0, loaded.0);
}

#[test]
fn a_design_with_print_outputs_replays_to_the_same_bits_on_threads() {
    let study = demo::generate(&DemoParams::default());
    let auto = Op::AutoBones {
        lower_hu: 226,
        upper_hu: 3071,
    };
    let bones = same_both_ways("auto bones", || {
        replay(&study.ct, std::slice::from_ref(&auto)).unwrap()
    });
    assert_eq!(
        labels_sha256_hex(&bones.labels),
        golden::DEMO_AUTO_BONES_LABELS_SHA256
    );
    let talus = bones
        .parts
        .iter()
        .find(|p| p.name == "left talus")
        .unwrap()
        .label;
    let scan = r#""scan": {"layer_um": 100, "hatch_spacing_um": 110, "laser_power_w": 200,
        "scan_speed_mm_s": 1000, "contour_count": 2, "beam_offset_um": 50, "chessboard": false,
        "size_mm": 10, "rotation_deg": 67, "outline_tolerance_um": 5}"#;
    let print_ops: Vec<Op> = [
        format!(
            r#"{{"op": "orient_print", "target": {{"part": {talus}}}, "iso_hu": 720,
            "critical_angle_deg": 45, "directions": 1000, "weights": [1, 0.5, 100], "rank": 0,
            "rotate_deg": [0, 0, 0]}}"#
        ),
        r#"{"op": "print_supports", "critical_angle_deg": 45, "spacing_mm": 2, "tip_radius_mm": 0.25,
            "base_fraction": 0.4, "sides": 8, "penetration_mm": 0.1, "articular_clearance_mm": 0.5,
            "min_gap_mm": 0.2}"#
            .to_string(),
        format!(r#"{{"op": "slice_print", {scan}}}"#),
        format!(
            r#"{{"op": "build_plate", "sizes_percent": [95, 100, 105], "coupons": 0, "spacing_mm": 10,
            "margin_mm": 5, "machine_mm": [250, 250, 300], {scan}}}"#
        ),
    ]
    .iter()
    .map(|json| serde_json::from_str(json).unwrap())
    .collect();
    let ops: Vec<Op> = std::iter::once(auto).chain(print_ops).collect();
    let files = same_both_ways("design outputs", || {
        let seg = replay(&study.ct, &ops).unwrap();
        let meshes = part_meshes(&study.ct, &seg, PART_ISO_HU).unwrap();
        output_files(&seg, &meshes).unwrap()
    });
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"print_left_talus.gcode"), "{names:?}");
    assert!(names.contains(&"print_plate.cli"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".stl")).count(),
        12 + 2,
        "{names:?}"
    );
}

#[test]
fn the_whole_build_pipeline_hatches_the_same_layers_on_threads() {
    use osteon::print::hatch::{hatch_all, HatchParams};
    use osteon::print::slice::{slice, SliceParams};
    let study = demo::generate(&DemoParams::coarse(1.0));
    let talus = osteon::bench::bone_surface(&study, "right talus").unwrap();
    let slices = slice(&talus, &SliceParams { layer_um: 50.0 }).unwrap();
    assert!(slices.layers.len() > 100);
    same_both_ways("hatching", || {
        hatch_all(&slices, &HatchParams::default()).unwrap()
    });
}
