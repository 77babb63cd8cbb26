//! Golden values shared by the native and the browser tests: both must reach the same
//! SHA-256 from the same inputs, which is how bit-identical replay is checked.
#![allow(dead_code)]

use osteon::demo::{self, DemoParams};
use osteon::dicom::{self, WriteMeta};

/// A coarse demo phantom, small enough for a debug-build test in the browser.
pub fn small_demo_params() -> DemoParams {
    DemoParams::coarse(2.0)
}

/// The small phantom written as a DICOM CT series (one file per slice).
pub fn small_demo_series() -> Vec<(String, Vec<u8>)> {
    let study = demo::generate(&small_demo_params());
    let meta = WriteMeta {
        description: demo::DEMO_DESCRIPTION.to_string(),
        kvp: demo::DEMO_KVP,
        seed_uid_root: "2.25.1".to_string(),
    };
    dicom::write_ct_series(&study.ct, &meta).expect("demo series writes")
}

/// SHA-256 of `small_demo_params()`'s CT volume.
pub const SMALL_DEMO_CT_SHA256: &str =
    "57eddf591b1ad62257a0c6ce057d3d71de0273d4142e5e4be6991d56517e79f4";
/// SHA-256 of the HU volume read back from `small_demo_series()`.
pub const SMALL_DEMO_SERIES_SHA256: &str =
    "57eddf591b1ad62257a0c6ce057d3d71de0273d4142e5e4be6991d56517e79f4";

/// SHA-256 of the HU volume of ../shared/data/ct_totalsegmentator_example/example_ct_dicom
/// (JPEG 2000). The e2e test asserts the same digest for the series loaded in the browser.
pub const TOTALSEG_J2K_SHA256: &str =
    "bc64ae971ee73b3d9c7c8bc49b516fcf0f3a1a65e358a90d98fb2c0252f6bbed";
/// SHA-256 of the HU volume of ../shared/data/ct_head_invesalius_0051.
pub const HEAD_CT_SHA256: &str = "bc9272e7567a4b24d677ba5becf6911b8cc661dad468f1e652116a201b3493f5";
/// SHA-256 (as i16 volume) of the labels Auto bones makes on the default demo study.
pub const DEMO_AUTO_BONES_LABELS_SHA256: &str =
    "5f704aeed0693fe6680e8bcc749747d602ec44bf775c01d04e73b33d6e6fed6b";
